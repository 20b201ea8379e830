"""Cutting an article into the texts spaCy reads, and mapping offsets back to the body.

A normal article is one text: the title, a blank line, the body. A very long body is cut
at paragraph breaks into pieces of at most `MAX_SEGMENT_CHARS` characters, because the
parser's memory grows with the length of a text. Every segment knows the offset that
turns a character position in its doc into a position in the body (title characters get
negative positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["MAX_SEGMENT_CHARS", "MAX_BODY_CHARS", "Segment", "split_article"]

MAX_SEGMENT_CHARS = 50_000
# Only the first this many characters of a body are enriched; news articles are far shorter,
# and parsing grows with length, so a runaway body cannot stall a worker.
MAX_BODY_CHARS = 100_000
TITLE_SEPARATOR = "\n\n"


@dataclass
class Segment:
    """One spaCy doc of an article; `body_pos = doc_pos + offset`."""

    doc: Doc
    offset: int
    number: int
    text: str  # the doc's text, kept because Doc.text is rebuilt from the tokens on every access

    @property
    def length(self) -> int:
        return len(self.text)

    def body_pos(self, doc_pos: int) -> int:
        return doc_pos + self.offset

    def doc_pos(self, body_pos: int) -> int:
        return body_pos - self.offset

    def token_body_start(self, index: int) -> int:
        return self.doc[index].idx + self.offset


def _cut_points(body: str, limit: int) -> list[int]:
    """Positions where the body is cut so that no piece is longer than `limit`."""
    cuts = [0]
    while len(body) - cuts[-1] > limit:
        start = cuts[-1]
        window_end = start + limit
        cut = body.rfind("\n", start + limit // 2, window_end)
        if cut < 0:
            cut = body.rfind(" ", start + limit // 2, window_end)
        if cut < 0:
            cut = window_end
        cuts.append(cut + 1 if cut < window_end else cut)
    return cuts


def split_article(title: str, body: str, limit: int = MAX_SEGMENT_CHARS) -> list[tuple[str, int]]:
    """The (text, offset) pairs spaCy reads for one article, in order."""
    title = title.strip()
    head = title + TITLE_SEPARATOR if title else ""
    if len(head) > limit // 2:
        head = ""  # an absurd title is not worth a parse; its words are rarely new entities
    if len(head) + len(body) <= limit:
        return [(head + body, -len(head))]
    cuts = _cut_points(body, limit)
    pieces = []
    for number, start in enumerate(cuts):
        end = cuts[number + 1] if number + 1 < len(cuts) else len(body)
        if number == 0:
            pieces.append((head + body[start:end], -len(head)))
        else:
            pieces.append((body[start:end], start))
    return pieces
