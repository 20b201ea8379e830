"""Finding direct quotations in a body by its quote marks, without spaCy.

Double quotes (straight, curly, low-9, guillemets) and single quotes (British style)
are paired inside a paragraph. A mark opens when it is left-flanking (start or
whitespace before, a character after) and closes when it is right-flanking; an
apostrophe between two letters ("don't", "Israel's") is neither. Inside an open quote,
marks of the other kind are nested quotes and stay part of the text. A quote that runs
over several paragraphs (each paragraph opens with a mark, only the last one closes)
becomes one segment per paragraph, chained so they share a speaker. Quotes of fewer
than four words are scare quotes and are dropped. Unbalanced marks never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["QuoteSpan", "find_quotes", "MIN_QUOTE_WORDS"]

MIN_QUOTE_WORDS = 4

_DOUBLE_OPEN = "“„«‟"
_DOUBLE_CLOSE = "”»"
_DOUBLE_BOTH = '"'
_SINGLE_OPEN = "‘‚‹"
_SINGLE_CLOSE = "’›"
_SINGLE_BOTH = "'"
_ALL_MARKS = _DOUBLE_OPEN + _DOUBLE_CLOSE + _DOUBLE_BOTH + _SINGLE_OPEN + _SINGLE_CLOSE + _SINGLE_BOTH
# Two apostrophes or two backticks stand for a double mark in some wire copy (''like this'').
_DOUBLED = ("''", "``")
_MARK_RE = re.compile("''|``|[" + re.escape(_ALL_MARKS) + "]")
_OPEN_BEFORE = set("([{—–-/") | set(_ALL_MARKS)
_CLOSE_AFTER = set(".,;:!?)]}—–-…/") | set(_ALL_MARKS)
_WORD_RE = re.compile(r"\w+(?:['’]\w+)*")
_TRIM_END = " \t\r\n,;:"
_TRIM_START = " \t\r\n"


@dataclass(frozen=True)
class QuoteSpan:
    """One direct quotation: `body[start:end]` is its text, `open`/`close` its marks' span."""

    start: int
    end: int
    open: int
    close: int  # index just past the closing mark (or the paragraph end when unclosed)
    paragraph: int
    chain: int  # quotes with the same chain id are one quotation over several paragraphs
    closed: bool


@dataclass(frozen=True)
class _Mark:
    pos: int
    kind: str  # "d" double, "s" single
    can_open: bool
    can_close: bool
    possessive_like: bool
    width: int = 1


def _classify(text: str, pos: int, width: int = 1) -> _Mark | None:
    char = text[pos:pos + width]
    before = text[pos - 1] if pos > 0 else None
    after = text[pos + width] if pos + width < len(text) else None
    if char in _DOUBLED:
        char = '"'  # behaves as a straight double mark
    kind = "d" if char in _DOUBLE_OPEN + _DOUBLE_CLOSE + _DOUBLE_BOTH else "s"
    space_before = before is None or before.isspace()
    space_after = after is None or after.isspace()
    left = not space_after and (space_before or before in _OPEN_BEFORE)
    right = not space_before and (space_after or after in _CLOSE_AFTER)
    if kind == "s":
        if before is not None and after is not None and before.isalnum() and after.isalnum():
            return None  # apostrophe inside a word
        if left and after is not None and after.isdigit():
            return None  # '90s
    if char in _DOUBLE_OPEN + _SINGLE_OPEN:
        can_open, can_close = left or not right, right and not left
    elif char in _DOUBLE_CLOSE + _SINGLE_CLOSE:
        can_open, can_close = left and not right, right or not left
    else:
        can_open, can_close = left, right
    if not (can_open or can_close):
        return None
    possessive_like = (
        kind == "s" and can_close and before is not None and before in "sS" and after == " "
        and pos + 2 < len(text) and text[pos + 2].islower()
    )
    return _Mark(pos, kind, can_open, can_close, possessive_like, width)


def _paragraphs(body: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\n]+", body):
        if match.group().strip():
            spans.append((match.start(), match.end()))
    return spans


_ATTRIBUTION_RE = re.compile(
    r"[,.?!]\s+(?:(?:he|she|they|it)\s+|(?:[A-Z][\w'’-]+\s+){1,3})?"
    r"(?:said|says|told|added|asked|wrote|explained|insisted|warned)\b"
)


def _same_kind_mark(body: str, opening: int, end: int) -> bool:
    kind = _DOUBLE_OPEN + _DOUBLE_CLOSE + _DOUBLE_BOTH if body[opening] in _DOUBLE_OPEN + _DOUBLE_BOTH else None
    if kind is None:
        return False  # apostrophes make single marks too common to judge by
    return any(ch in kind for ch in body[opening + 1:end])


def _word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))


def _looks_like_title(text: str) -> bool:
    """A capitalised name of a work or a slogan ("The Lord of the Rings"), not speech."""
    words = _WORD_RE.findall(text)
    long_words = [w for w in words if len(w) > 3]
    return bool(long_words) and len(words) <= 8 and all(w[0].isupper() for w in long_words) and not re.search(
        r"[.!?,]", text
    )


def _trimmed(body: str, start: int, end: int) -> tuple[int, int]:
    while start < end and body[start] in _TRIM_START:
        start += 1
    while end > start and body[end - 1] in _TRIM_END:
        end -= 1
    return start, end


def _pair_marks(body: str, para_start: int, para_end: int) -> tuple[list[tuple[int, int, bool, int]], int | None]:
    """Pairs of (open mark's last character, close mark, True, close mark's width) in one paragraph,
    and an unclosed open mark's last character."""
    found = _MARK_RE.finditer(body, para_start, para_end)
    marks = [m for m in (_classify(body, x.start(), len(x.group())) for x in found) if m]
    pairs: list[tuple[int, int, bool]] = []
    opened: _Mark | None = None
    for index, mark in enumerate(marks):
        if opened is None:
            if mark.can_open:
                opened = mark
            continue
        if mark.kind != opened.kind:
            continue  # a nested quote or an apostrophe inside the open quote
        if mark.can_close:
            if mark.possessive_like and _later_close(marks, index, opened.kind):
                continue
            pairs.append((opened.pos + opened.width - 1, mark.pos, True, mark.width))
            opened = None
        elif mark.can_open and mark.kind == "d":
            opened = mark  # the earlier mark was never closed; start again here
    return pairs, (opened.pos + opened.width - 1 if opened is not None else None)


def _later_close(marks: list[_Mark], index: int, kind: str) -> bool:
    for mark in marks[index + 1:]:
        if mark.kind != kind:
            continue
        if mark.can_close and not mark.possessive_like:
            return True
        if mark.can_open and not mark.can_close:
            return False
    return False


def _before_mark(body: str, para_start: int, mark_end: int) -> str:
    """The words of a paragraph before an opening mark (`mark_end` is its last character)."""
    return body[para_start:mark_end].strip().rstrip("'`")


def find_quotes(body: str, min_words: int = MIN_QUOTE_WORDS) -> list[QuoteSpan]:
    """All direct quotations of `min_words` words or more in `body`, in order."""
    paragraphs = _paragraphs(body)
    quotes: list[QuoteSpan] = []
    chain_id = 0
    carried_chain: int | None = None
    for number, (para_start, para_end) in enumerate(paragraphs):
        pairs, unclosed = _pair_marks(body, para_start, para_end)
        candidates: list[tuple[int, int, bool, int]] = list(pairs)
        continues = False
        if unclosed is not None:
            next_opens = False
            if number + 1 < len(paragraphs):
                first = body[paragraphs[number + 1][0]:paragraphs[number + 1][1]].lstrip()
                next_opens = bool(first) and first[0] in _DOUBLE_OPEN + _DOUBLE_BOTH + _SINGLE_OPEN + _SINGLE_BOTH
            at_start = not _before_mark(body, para_start, unclosed) and not _same_kind_mark(body, unclosed, para_end)
            if next_opens:
                candidates.append((unclosed, para_end, False, 0))
                continues = True
            elif at_start:
                # A closing mark was forgotten: the quote ends where its attribution starts.
                cut = _ATTRIBUTION_RE.search(body, unclosed + 1, para_end)
                candidates.append((unclosed, cut.start() if cut else para_end, False, 0))
        for open_pos, close_pos, closed, close_width in candidates:
            start, end = _trimmed(body, open_pos + 1, close_pos)
            text = body[start:end]
            is_chained = carried_chain is not None and open_pos == candidates[0][0] and not _before_mark(body, para_start, open_pos)
            if _word_count(text) < min_words or (_looks_like_title(text) and not is_chained):
                continue
            if is_chained:
                chain = carried_chain
            else:
                chain_id += 1
                chain = chain_id
            quotes.append(QuoteSpan(start, end, open_pos, close_pos + (close_width if closed else 0), number, chain, closed))
        if continues:
            last = quotes[-1] if quotes and quotes[-1].paragraph == number and not quotes[-1].closed else None
            carried_chain = last.chain if last else None
        else:
            carried_chain = None
    return quotes
