"""Whether an article is the same story as an earlier one, and which story it joins.

LSH band keys (`fingerprint.py`) find candidates; `same_story` verifies each one on the
exact shingle sets. The measure is the overlap coefficient (containment): shared shingles
over the shingles of the shorter body. Jaccard punishes a copy an outlet trimmed to half its
length as much as a different story; containment does not, while a follow-up that reuses
two background paragraphs of a story still shares only a small part of either body. The
threshold `SAME_STORY_THRESHOLD` was measured on the development half of eval/stories
(`python -m eval.stories --sweep`) and is reported on the held-out half.

`StoryBook` is the in-memory form of the lookup the indexes do (band key → earlier
articles; the indexes' own is pipeline.runtime.stories): the evaluation runs it. A story's id
is the id of its first copy seen: the earliest by (seen_at, id), `seen_at` being when newswire
first stored the copy. Two copies seen at once (two workers) are ordered by the same total
order everywhere, so whoever merges them picks the same story.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain

from pipeline.stories.fingerprint import Fingerprint

__all__ = ["SAME_STORY_THRESHOLD", "MAX_CANDIDATES", "containment", "jaccard", "same_story", "story_of", "StoryCopy", "StoryBook"]

SAME_STORY_THRESHOLD = 0.525
MAX_CANDIDATES = 20  # the candidates sharing the most band keys are checked; an index query asks for as many

_UNDATED = datetime.max.replace(tzinfo=timezone.utc)


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """Shared shingles over the shingles of the shorter body (1.0: one body is inside the other).

    Exact when both fingerprints carry their shingle sets; else estimated from the MinHash
    Jaccard estimate J and the two counts: shared = J * (|A| + |B|) / (1 + J).
    """
    smaller = min(a.shingle_count, b.shingle_count)
    if not smaller:
        return 0.0
    if a.shingles and b.shingles:
        return len(a.shingles & b.shingles) / smaller
    estimate = a.estimated_jaccard(b)
    return min(1.0, estimate * (a.shingle_count + b.shingle_count) / (1 + estimate) / smaller)


def jaccard(a: Fingerprint, b: Fingerprint) -> float:
    """Shared shingles over all shingles of both bodies (exact, or the MinHash estimate)."""
    if not (a.shingles and b.shingles):
        return a.estimated_jaccard(b)
    union = len(a.shingles | b.shingles)
    return len(a.shingles & b.shingles) / union if union else 0.0


def same_story(a: Fingerprint, b: Fingerprint, threshold: float = SAME_STORY_THRESHOLD) -> bool:
    """True when the two bodies are copies of one story (containment at or above the threshold)."""
    return containment(a, b) >= threshold


@dataclass(frozen=True)
class StoryCopy:
    """One article as the story lookup knows it."""

    id: str
    seen_at: datetime | None
    fingerprint: Fingerprint | None
    story_id: str = ""

    @property
    def order(self) -> tuple[datetime, str]:
        """Copies seen first come first: (seen_at, id); a copy without a time after the others."""
        return (self.seen_at or _UNDATED, self.id)


@dataclass
class StoryBook:
    """Articles seen so far, findable by band key; `add` returns the story an article joins."""

    threshold: float = SAME_STORY_THRESHOLD
    max_candidates: int = MAX_CANDIDATES
    copies: dict[str, StoryCopy] = field(default_factory=dict)
    by_band: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def candidates(self, fingerprint: Fingerprint) -> list[StoryCopy]:
        """Earlier articles sharing at least one band key: the MAX_CANDIDATES sharing the most.

        True copies share many band keys (a quarter of them at Jaccard 0.5), articles that only
        share stock phrases one or two, so the cap bounds the work without losing copies.
        """
        shared = Counter(chain.from_iterable(self.by_band.get(key, ()) for key in fingerprint.band_keys))
        return [self.copies[article_id] for article_id, _ in shared.most_common(self.max_candidates)]

    def matches(self, fingerprint: Fingerprint) -> list[StoryCopy]:
        """The candidates that verify as the same story."""
        return [c for c in self.candidates(fingerprint) if c.fingerprint and same_story(fingerprint, c.fingerprint, self.threshold)]

    def add(self, article_id: str, seen_at: datetime | None, fingerprint: Fingerprint | None) -> str:
        """Record an article and return its story id (its own id when no earlier copy verifies).

        When the article joins two stories, or is itself earlier than the story it joins, the
        stories merge under the earliest root: the same rule the indexes apply when two
        workers raced (see `story_of`).
        """
        if article_id in self.copies:
            return self.copies[article_id].story_id
        matched = self.matches(fingerprint) if fingerprint else []
        story_id = story_of(StoryCopy(article_id, seen_at, fingerprint), [self.copies[m.story_id] for m in matched])
        self.copies[article_id] = StoryCopy(article_id, seen_at, fingerprint, story_id)
        for key in fingerprint.band_keys if fingerprint else ():
            self.by_band[key].append(article_id)
        for root in {m.story_id for m in matched} - {story_id}:
            for member in self.members.pop(root):
                self.copies[member] = StoryCopy(**{**vars(self.copies[member]), "story_id": story_id})
                self.members[story_id].append(member)
        self.members[story_id].append(article_id)
        return story_id

    def story_ids(self) -> dict[str, str]:
        """Every article id with its story id."""
        return {article_id: copy.story_id for article_id, copy in self.copies.items()}


def story_of(article: StoryCopy, matched_roots: list[StoryCopy]) -> str:
    """The story id of an article that verified against copies with these story roots: the earliest root.

    Deterministic and order-free: whichever worker applies it, and in whichever order it saw
    the copies, the same set of copies gets the same story id.
    """
    return min([*matched_roots, article], key=lambda root: root.order).id
