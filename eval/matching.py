"""How predictions meet gold in eval/score.py: names, spans, one-to-one matching by overlap."""

from __future__ import annotations

__all__ = ["normalize_name", "trim", "locate", "overlap", "match_spans", "GoldNotFound"]

_EDGE = " \t\r\n.,;:!?…\"'“”‘’«»—–-"


class GoldNotFound(ValueError):
    """A gold quote's text is not in its article's body (the message names the article only)."""


def normalize_name(name: str | None) -> str | None:
    """Case, whitespace, curly apostrophes, a leading "the" and a trailing possessive do not count."""
    if name is None:
        return None
    text = " ".join(name.replace("’", "'").replace("‘", "'").split()).casefold()
    text = text[4:] if text.startswith("the ") else text
    for possessive in ("'s", "'"):
        text = text.removesuffix(possessive)
    return text


def trim(body: str, start: int, end: int) -> tuple[int, int]:
    """A span without surrounding whitespace, punctuation and quote marks."""
    while start < end and body[start] in _EDGE:
        start += 1
    while end > start and body[end - 1] in _EDGE:
        end -= 1
    return start, end


def locate(body: str, texts: list[str], name: str, title: str = "") -> list[tuple[int, int] | None]:
    """Trimmed spans of gold texts in the body, each searched from just after the previous one;
    None for a text that is in the title only (quotes index the body, so it cannot be predicted)."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for number, text in enumerate(texts):
        at = body.find(text, cursor)
        if at < 0:
            at = body.find(text)
        if at < 0:
            if text in title:
                spans.append(None)
                continue
            raise GoldNotFound(f"{name}: gold quote number {number + 1} is not in the body")
        spans.append(trim(body, at, at + len(text)))
        cursor = at + 1
    return spans


def overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Shared characters as a share of the longer span."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    longest = max(a[1] - a[0], b[1] - b[0])
    return shared / longest if shared > 0 and longest > 0 else 0.0


def match_spans(gold: list[tuple[int, int] | None], predicted: list[tuple[int, int]], threshold: float) -> dict[int, int]:
    """Gold index -> predicted index, one-to-one, best overlap first, at least `threshold`."""
    pairs = sorted(
        ((overlap(g, p), gi, pi) for gi, g in enumerate(gold) if g is not None for pi, p in enumerate(predicted)),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for ratio, gi, pi in pairs:
        if ratio < threshold:
            break
        if gi not in matched and pi not in used:
            matched[gi] = pi
            used.add(pi)
    return matched
