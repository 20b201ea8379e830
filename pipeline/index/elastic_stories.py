"""Stories and sources in Elasticsearch: what the sink writes beside an article, and the story store.

Per document, beside the EnrichedArticle (fields only the index keeps, `INDEX_ONLY_FIELDS`):
`canonical_url` and `outlet`, `seen_at` (first stored), `story_id` / `story_seen_at` / `copies`,
`story_bands` (keyword, the LSH lookup) and `story_fingerprint` (stored, not indexed).

    plan_writes     read what is indexed under the batch's ids (one search through the alias, so across
                    every rolled-over index; an article found is written to the index it lives in), then per article:
                    new or from the owning source → the whole document (external version, as
                    before), keeping `sources`, `seen_at` and the count · another source → a
                    partial update adding it to `sources` (joined), or nothing if listed already
    ElasticStories  lookup (ids and canonical URLs: one search) · candidates (one `_msearch`, a
                    `bool.should` of band-key terms: the score is the keys shared) · merge and
                    recount, client-side (search, then bulk partial updates): the node needs no
                    reindex module and no scripting

Every write here waits for the refresh (`refresh=wait_for`), so what one sink wrote is visible
to another's next lookup: that is what lets two sinks racing on two copies converge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import InvalidArticle, ServiceError, ServiceUnavailable
from pipeline.index import Indexed, StoryCandidate, StoryMark, StoryStore
from pipeline.index.elastic_bulk import RETRY_STATUSES, describe_error
from pipeline.index.ownership import joined_sources, may_replace, outlet_of
from pipeline.urls import canonical_url

__all__ = ["INDEX_ONLY_FIELDS", "HIDDEN_FIELDS", "PlannedWrite", "plan_writes", "upgrade_document", "story_outlets", "ElasticStories"]

logger = logging.getLogger(__name__)

INDEX_ONLY_FIELDS = frozenset({"canonical_url", "outlet", "seen_at", "story_seen_at", "story_bands", "story_fingerprint"})
HIDDEN_FIELDS = ["story_bands", "story_fingerprint"]  # never sent back by a search or a get
_STATE = ["source", "sources", "seen_at", "story_id", "story_seen_at", "copies"]
_PAGE = 500
_MAX_ROUNDS = 20
_NEVER = datetime.max.replace(tzinfo=timezone.utc)

Guard = Callable[[str], AbstractContextManager[None]]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _moment(text: Any) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc) if text else _NEVER
    except (TypeError, ValueError):
        return _NEVER


def _hits(client: Elasticsearch, alias: str, query: dict[str, Any], source: list[str] | bool, size: int, **extra: Any) -> list[dict]:
    return client.search(index=alias, query=query, source=source, size=size, track_total_hits=False, **extra)["hits"]["hits"]


def _by_id(client: Elasticsearch, alias: str, ids: Sequence[str], source: list[str], **extra: Any) -> dict[str, dict]:
    found: dict[str, dict] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _PAGE):
        chunk = unique[start : start + _PAGE]
        for hit in _hits(client, alias, {"ids": {"values": chunk}}, source, len(chunk), **extra):
            found[hit["_id"]] = hit
    return found


# -- the write path: ownership, sources, and the story fields ------------------------------------------


class PlannedWrite:
    """One article's part of a bulk: the action to send (None: nothing to send) and whether it only joins."""

    __slots__ = ("action", "joins")

    def __init__(self, action: dict[str, Any] | None, joins: bool) -> None:
        self.action, self.joins = action, joins


def plan_writes(
    client: Elasticsearch, alias: str, articles: Sequence[EnrichedArticle], marks: Sequence[StoryMark | None], now: datetime,
) -> list[PlannedWrite]:
    """The bulk actions of a batch under the ownership rule (module docstring), in order.

    Articles of one batch with the same id are planned in turn, each seeing what the earlier
    ones will have written, as the bulk applies them.
    """
    hits = _by_id(client, alias, [a.id for a in articles], _STATE)
    state = {doc_id: hit["_source"] for doc_id, hit in hits.items()}
    home = {doc_id: hit["_index"] for doc_id, hit in hits.items()}  # an older index after a rollover: written there
    planned = []
    for article, mark in zip(articles, marks):
        stored = state.get(article.id)
        target = home.get(article.id, alias)
        sources = joined_sources((stored or {}).get("sources") or [], article.source)
        if stored is not None and not may_replace(article, stored.get("source")):
            if sources == stored.get("sources"):
                planned.append(PlannedWrite(None, joins=True))
                continue
            stored["sources"] = sources
            planned.append(PlannedWrite({"_op_type": "update", "_index": target, "_id": article.id, "doc": {"sources": sources}}, True))
            continue
        document = _document(article, mark, stored or {}, sources, now)
        state[article.id] = {key: document.get(key) for key in _STATE}
        planned.append(PlannedWrite({
            "_op_type": "index", "_index": target, "_id": article.id, "version": article.version,
            "version_type": "external_gte", "_source": document,
        }, False))
    return planned


def _document(article: EnrichedArticle, mark: StoryMark | None, stored: dict[str, Any], sources: list, now: datetime) -> dict[str, Any]:
    document = article.model_copy(update={"copies": None}).to_dict()
    seen_at = stored.get("seen_at") or _iso(mark.seen_at if mark else now)
    story_id = article.story_id or stored.get("story_id") or article.id
    first = story_id == article.id
    document.update(
        sources=sources, canonical_url=canonical_url(article.url), outlet=outlet_of(article), seen_at=seen_at,
        story_id=story_id, story_seen_at=_iso(mark.story_seen_at) if mark else (stored.get("story_seen_at") or seen_at),
        copies=(stored.get("copies") or 1) if first else None,
    )
    if mark is not None:
        document["story_bands"] = list(mark.band_keys)
        document["story_fingerprint"] = mark.fingerprint
    return {key: value for key, value in document.items() if value is not None}


def upgrade_document(doc_id: str, source: dict[str, Any]) -> dict[str, Any]:
    """A document from an older mapping as this one keeps it: its own story, its canonical URL, its source listed.

    Used while `setup` copies documents to a new mapping version; a document that has the
    fields already is returned as it is.
    """
    if source.get("story_id"):
        return source
    upgraded = dict(source)
    seen_at = source.get("fetched_at") or source.get("published_at") or _iso(datetime.now(timezone.utc))
    first_source = source.get("source")
    upgraded.update(seen_at=seen_at, story_id=doc_id, story_seen_at=seen_at, copies=1)
    upgraded["sources"] = source.get("sources") or ([first_source] if isinstance(first_source, dict) else [])
    try:
        article = parse_enriched(source)
    except InvalidArticle:
        return upgraded
    upgraded.update({k: v for k, v in (("canonical_url", canonical_url(article.url)), ("outlet", outlet_of(article))) if v})
    return upgraded


def story_outlets(client: Elasticsearch, alias: str, story_ids: Sequence[str]) -> dict[str, tuple[int, list[str]]]:
    """Per story: its number of copies and its outlets, first seen first (one aggregation)."""
    wanted = list(dict.fromkeys(story_ids))
    if not wanted:
        return {}
    response = client.search(
        index=alias, size=0, query={"terms": {"story_id": wanted}},
        aggs={"stories": {"terms": {"field": "story_id", "size": len(wanted)}, "aggs": {
            "outlets": {"terms": {"field": "outlet", "size": 10, "order": {"first": "asc"}},
                        "aggs": {"first": {"min": {"field": "seen_at"}}}},
        }}},
    )
    return {
        bucket["key"]: (bucket["doc_count"], [outlet["key"] for outlet in bucket["outlets"]["buckets"]])
        for bucket in response["aggregations"]["stories"]["buckets"]
    }


# -- the story store -----------------------------------------------------------------------------------


class ElasticStories(StoryStore):
    """The StoryStore of an ElasticIndex; `guard` turns client errors into newswire's (one line each)."""

    def __init__(self, client: Callable[[], Elasticsearch], alias: str, guard: Guard) -> None:
        self._client = client
        self.alias = alias
        self.guard = guard

    @property
    def client(self) -> Elasticsearch:
        return self._client()

    def lookup(self, articles: Sequence[EnrichedArticle]) -> list[Indexed | None]:
        links = [canonical_url(a.url) for a in articles]
        wanted_links = sorted({link for link in links if link})
        with self.guard("look up articles"):
            by_id = _by_id(self.client, self.alias, [a.id for a in articles], ["seen_at", "story_id", "story_seen_at"])
            by_link: dict[str, dict] = {}
            for start in range(0, len(wanted_links), _PAGE):
                chunk = wanted_links[start : start + _PAGE]
                query = {"terms": {"canonical_url": chunk}}
                for hit in _hits(self.client, self.alias, query, ["canonical_url", "seen_at", "story_id", "story_seen_at"], 4 * len(chunk)):
                    link = hit["_source"].get("canonical_url")
                    earlier = by_link.get(link)
                    if earlier is None or (_moment(hit["_source"].get("seen_at")), hit["_id"]) < (_moment(earlier["_source"].get("seen_at")), earlier["_id"]):
                        by_link[link] = hit
        found: list[Indexed | None] = []
        for article, link in zip(articles, links):
            hit = by_id.get(article.id) or (by_link.get(link) if link else None)
            if hit is None:
                found.append(None)
                continue
            source = hit["_source"]
            seen_at = _moment(source.get("seen_at"))
            found.append(Indexed(hit["_id"], seen_at, source.get("story_id") or hit["_id"], _moment(source.get("story_seen_at")) if source.get("story_seen_at") else seen_at))
        return found

    def candidates(self, band_keys: Sequence[Sequence[str]], exclude: Sequence[str], size: int) -> list[list[StoryCandidate]]:
        asked = [p for p, keys in enumerate(band_keys) if keys]
        found: list[list[StoryCandidate]] = [[] for _ in band_keys]
        if not asked:
            return found
        searches: list[dict[str, Any]] = []
        for position in asked:
            should = [{"constant_score": {"filter": {"term": {"story_bands": key}}}} for key in sorted(set(band_keys[position]))]
            searches += [{"index": self.alias}, {
                "size": size, "track_total_hits": False, "_source": ["story_id", "story_seen_at", "story_fingerprint"],
                "query": {"bool": {"should": should, "minimum_should_match": 1, "must_not": [{"ids": {"values": [exclude[position]]}}]}},
            }]
        with self.guard("look up story candidates"):
            responses = self.client.msearch(searches=searches)["responses"]
        for position, response in zip(asked, responses):
            if "error" in response:
                status = response.get("status")
                problem = ServiceUnavailable if status in RETRY_STATUSES or not isinstance(status, int) else ServiceError
                raise problem(f"Elasticsearch refused a story lookup ({status}): {describe_error(response['error'])}")
            for hit in response["hits"]["hits"]:
                source = hit["_source"]
                found[position].append(StoryCandidate(
                    hit["_id"], source.get("story_id") or hit["_id"], _moment(source.get("story_seen_at")),
                    source.get("story_fingerprint"), int(round(hit.get("_score") or 0)),
                ))
        return found

    def merge(self, into: str, into_seen_at: datetime, stories: Sequence[str]) -> int:
        moving = [story for story in dict.fromkeys(stories) if story != into]
        moved = 0
        with self.guard("merge stories"):
            for _ in range(_MAX_ROUNDS):
                root = _by_id(self.client, self.alias, [into], ["story_id", "story_seen_at"]).get(into)
                now_in = (root or {}).get("_source", {}).get("story_id")
                if now_in and now_in != into:  # `into` joined an earlier story meanwhile: everything follows it there
                    moving.append(into)
                    into, into_seen_at = now_in, _moment(root["_source"].get("story_seen_at"))  # type: ignore[index]
                if not moving:
                    return moved
                moved += self._relabel(moving, into, into_seen_at)
                after = _by_id(self.client, self.alias, [into], ["story_id"]).get(into)
                if not after or after["_source"].get("story_id") in (None, into):
                    break
        logger.info("stories merged into=%s from=%s copies=%d", into, ",".join(moving), moved)
        return moved

    def _relabel(self, moving: list[str], into: str, into_seen_at: datetime) -> int:
        """Every copy of `moving` into `into`, until a search finds none left (a copy written meanwhile is caught)."""
        moved = 0
        change = {"story_id": into, "story_seen_at": _iso(into_seen_at), "copies": None}
        for _ in range(_MAX_ROUNDS):
            hits = _hits(self.client, self.alias, {"terms": {"story_id": moving}}, False, _PAGE)
            if not hits:
                return moved
            actions = [{"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"], "doc": change} for hit in hits]
            moved += self._bulk(actions)
        raise ServiceUnavailable(f"stories {','.join(moving)} kept gaining copies while being merged into {into}; retrying the batch")

    def recount(self, story_ids: Sequence[str]) -> dict[str, int]:
        """`copies` on each first copy, compare-and-set on its sequence number: a count made before another
        sink's write can never overwrite one made after it."""
        pending = list(dict.fromkeys(story_ids))
        counts: dict[str, int] = {}
        with self.guard("count the copies of stories"):
            for _ in range(_MAX_ROUNDS):
                roots = _by_id(self.client, self.alias, pending, ["story_id", "copies"], seq_no_primary_term=True)
                roots = {i: hit for i, hit in roots.items() if hit["_source"].get("story_id") in (None, i)}
                if not roots:
                    break
                told = story_outlets(self.client, self.alias, list(roots))
                actions = []
                for story, hit in roots.items():
                    counts[story] = told.get(story, (1, []))[0]
                    if hit["_source"].get("copies") != counts[story]:
                        actions.append({"_op_type": "update", "_index": hit["_index"], "_id": story, "doc": {"copies": counts[story]},
                                        "if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]})
                pending = list(self._conflicts(actions))
                if not pending:
                    break
        return counts

    def _bulk(self, actions: list[dict[str, Any]]) -> int:
        return len(actions) - len(list(self._conflicts(actions, conflicts_fail=True)))

    def _conflicts(self, actions: list[dict[str, Any]], conflicts_fail: bool = False) -> Iterator[str]:
        """Send updates (waiting for the refresh); yield the ids refused on a version conflict, raise on the rest."""
        if not actions:
            return
        for ok, wrapped in helpers.streaming_bulk(self.client, actions, raise_on_error=False, max_retries=3, refresh="wait_for"):
            if ok:
                continue
            item = next(iter(wrapped.values()))
            status = item.get("status")
            if status == 404:  # gone since the search (a rollback or a cleanup): nothing to change
                continue
            if status == 409 and not conflicts_fail:
                yield item["_id"]
                continue
            problem = ServiceUnavailable if status in RETRY_STATUSES or status == 409 else ServiceError
            raise problem(f"Elasticsearch refused a story update ({status}): {describe_error(item.get('error'))}")
