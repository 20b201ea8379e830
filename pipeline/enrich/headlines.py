"""Names in a headline written in title case ("Chipmaker Halvorsen To Close Ashby Plant").

Every word of such a headline is capitalised, so capitals do not say where a name ends there; the
body, written in sentence case, does. The `entities` step asks these two questions of the title.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from pipeline.enrich.mentions import Mention
from pipeline.enrich.segments import Segment

__all__ = ["headline_cased", "headline_mention"]

logger = logging.getLogger(__name__)


def headline_cased(title: str) -> bool:
    """A title in headline case ("Chipmaker Halvorsen To Close Ashby Plant"): its long words nearly all capitalised."""
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", title) if len(w) > 3]
    return len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def headline_mention(segment: Segment, mention: Mention, body: str) -> Mention | None:
    """A name in a headline written in title case, cut to the words the story itself names.

    In "Chipmaker Hanbit Rallies On Export Data" every word is capitalised, so capitals do not
    say where a name ends; the body, written in sentence case, does. The longest run of the
    mention's words that the body also writes is kept ("Hanbit Semiconductor Rallies" ->
    "Hanbit Semiconductor"); a mention the body never writes is dropped ("Wins Golden"), and so is
    a single word cut from a longer one (the body names it on its own terms).
    """
    doc = segment.doc
    first, last = mention.first_token, mention.last_token
    for size in range(last - first, 0 if last - first == 1 else 1, -1):
        for start in range(first, last - size + 1):
            words = doc[start:start + size]
            if not words[0].text[:1].isupper() or not words[-1].text[:1].isupper():
                continue
            if re.search(r"(?<!\w)" + re.escape(words.text) + r"(?!\w)", body) is None:
                continue
            if (start, start + size) == (first, last):
                return mention
            begin = segment.body_pos(words[0].idx)
            return replace(mention, start=begin, end=begin + len(words.text), text=words.text,
                           first_token=start, last_token=start + size)
    return None
