"""The story step: which story each article of a batch belongs to, decided against what is indexed.

    before the write   ids resolved (an article indexed under an older id, found by its canonical
                       URL, keeps that id) · every body fingerprinted · candidates from the index
                       (shared band keys) and from the batch · each verified (`same_story` on the
                       exact shingles) · the article joins the earliest of the verified stories,
                       or starts its own
    the write          the index keeps band keys, fingerprint, seen_at, story_id and story_seen_at
    after the write    candidates again (unless the index has a single writer): what other workers
                       wrote meanwhile is visible now; a verified copy in another story merges the
                       two toward the earlier one · the merges found before the write carried out ·
                       `copies` recounted on the first copy of every story the batch touched

Stories are ordered by (story_seen_at, story_id): the moment newswire first stored the story's
first copy, then its id. A story's id is its first copy seen (the contract), it never changes
as later copies arrive, and two workers that each started a story for two copies at the same
moment both merge toward the same one. Both indexes run this step (pipeline.runtime.steps);
the reasons are in docs/story-identity.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pipeline.article import EnrichedArticle
from pipeline.index import Index, StoryCandidate, StoryMark, WriteResult
from pipeline.stories.fingerprint import Fingerprint, fingerprint
from pipeline.stories.grouping import MAX_CANDIDATES, same_story

__all__ = ["StoryBatch", "assign_stories", "settle_stories"]

logger = logging.getLogger(__name__)

Story = tuple[datetime, str]  # (story_seen_at, story_id): the earlier wins a merge


class _Merges:
    """Stories to merge, each toward the earliest it was found to be: a small union-find over story ids."""

    def __init__(self) -> None:
        self.parent: dict[str, Story] = {}

    def find(self, story: Story) -> Story:
        while story[1] in self.parent:
            story = self.parent[story[1]]
        return story

    def join(self, stories: list[Story]) -> Story:
        roots = {self.find(story) for story in stories}
        winner = min(roots)
        for root in roots:
            if root[1] != winner[1]:  # one story read at two moments is still one story
                self.parent[root[1]] = winner
        return winner

    def moves(self) -> dict[Story, list[str]]:
        """Each final story with the story ids that move into it."""
        moving: dict[Story, list[str]] = {}
        for story_id in self.parent:
            winner = self.find(self.parent[story_id])
            moving.setdefault(winner, []).append(story_id)
        return moving


@dataclass
class StoryBatch:
    """A batch ready to write: ids resolved, story ids set, the marks for the index, and what was verified.

    `merges` holds the indexed stories the batch found to be one (an article that is a copy of
    both); they are carried out after the write, with what the second look finds.
    """

    articles: list[EnrichedArticle]
    marks: list[StoryMark | None]
    prints: list[Fingerprint | None]
    merges: _Merges
    verdicts: dict[tuple[str, str], bool] = field(default_factory=dict)  # (article id, candidate id) → same story


def _now() -> datetime:
    """Milliseconds, as Elasticsearch keeps dates: the order read back is the order written."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _verified(article_id: str, mine: Fingerprint, candidate: StoryCandidate, verdicts: dict[tuple[str, str], bool]) -> bool:
    key = (article_id, candidate.id)
    if key not in verdicts:
        theirs = Fingerprint.from_stored(candidate.fingerprint) if candidate.fingerprint else None
        verdicts[key] = theirs is not None and same_story(mine, theirs)
    return verdicts[key]


def assign_stories(index: Index, articles: Sequence[EnrichedArticle]) -> StoryBatch:
    """Resolve ids and give every article its story before the write (see the module docstring)."""
    store = index.stories
    now = _now()
    known = store.lookup(articles)
    resolved = []
    for article, indexed in zip(articles, known):
        if indexed is not None and indexed.id != article.id:
            logger.info("article indexed under an older id id=%s indexed_as=%s", article.id, indexed.id)
            article = article.model_copy(update={"id": indexed.id})
        resolved.append(article)
    prints = [fingerprint(article.body) for article in resolved]
    found = store.candidates([p.band_keys if p else () for p in prints], [a.id for a in resolved], MAX_CANDIDATES)
    seen = [indexed.seen_at if indexed else now for indexed in known]
    batch = StoryBatch(resolved, [None] * len(resolved), prints, _Merges())
    merges = batch.merges
    stories: dict[str, Story] = {}  # article id → its story, for the batch articles already placed
    by_band: dict[str, list[int]] = {}
    for position in sorted(range(len(resolved)), key=lambda p: (seen[p], resolved[p].id)):
        article, mine = resolved[position], prints[position]
        matched = [(c.story_seen_at, c.story_id) for c in found[position] if mine and _verified(article.id, mine, c, batch.verdicts)]
        earlier = {other for key in (mine.band_keys if mine else ()) for other in by_band.get(key, ())}
        matched += [
            stories[resolved[other].id] for other in sorted(earlier)
            if resolved[other].id != article.id and same_story(mine, prints[other])  # type: ignore[arg-type]
        ]
        story = merges.join([*matched, (seen[position], article.id)])
        stories[article.id] = story
        if mine:
            for key in mine.band_keys:
                by_band.setdefault(key, []).append(position)
    for position, article in enumerate(resolved):
        story_seen_at, story_id = merges.find(stories[article.id])
        mine = prints[position]
        batch.articles[position] = article.model_copy(update={"story_id": story_id})
        batch.marks[position] = StoryMark(
            band_keys=mine.band_keys if mine else (), fingerprint=_stored(mine),
            seen_at=seen[position], story_seen_at=story_seen_at,
        )
    return batch


def settle_stories(index: Index, batch: StoryBatch, results: Sequence[WriteResult]) -> None:
    """After the write: merge what other workers wrote meanwhile, and recount copies (see the module docstring)."""
    # A stale article is settled too: it is a re-delivery whose write already happened (its version moved on
    # with a partial update since), and the crash that re-delivered it may have come before this step.
    written = [p for p, result in enumerate(results) if result.status in ("indexed", "stale")]
    if not written:
        return
    articles = [batch.articles[p] for p in written]
    looked_up = [p for p in written if batch.prints[p] and not index.stories.single_writer]
    found = dict(zip(looked_up, index.stories.candidates(
        [batch.prints[p].band_keys for p in looked_up], [batch.articles[p].id for p in looked_up], MAX_CANDIDATES,  # type: ignore[union-attr]
    )))
    merges = batch.merges
    for position, article in zip(written, articles):
        candidates = found.get(position, [])
        mine, mark = batch.prints[position], batch.marks[position]
        own: Story = (mark.story_seen_at if mark else _now(), article.story_id or article.id)
        matched = [(c.story_seen_at, c.story_id) for c in candidates if mine and _verified(article.id, mine, c, batch.verdicts)]
        merges.join([own, *matched])
    _apply(index, merges, [a.story_id or a.id for a in articles])


def _apply(index: Index, merges: _Merges, touched: list[str]) -> None:
    """Carry out the merges found, then recount the copies of every story touched."""
    stories = set(touched)
    for (into_seen_at, into), moving in merges.moves().items():
        index.stories.merge(into, into_seen_at, moving)
        stories.add(into)
        stories.difference_update(moving)
    if stories:
        index.stories.recount(sorted(stories))


def _stored(found: Fingerprint | None) -> dict | None:
    if found is None:
        return None
    stored = found.to_stored()
    del stored["band_keys"], stored["signature"]  # the keys are indexed on their own; candidates are verified on the shingles
    return stored
