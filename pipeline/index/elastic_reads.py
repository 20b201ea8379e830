"""Elasticsearch reads beyond one page of hits: field and date filters, facet counts, full scans.

`ElasticIndex` builds the query clause (`elastic.build_search`) and hands it here:

- `field_filters(query)`: the source, language and date-range filters of a SearchQuery;
- `facets(...)`: one `terms` aggregation per facet option, `size: 0` (no hits);
- `scan(...)`: every match through a point in time and `search_after` on `_shard_doc`, one
  page in memory at a time; the point in time is closed when the scan ends or is closed.

All of it is core Elasticsearch (no x-pack, no scripts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import InvalidArticle
from pipeline.index.elastic_stories import HIDDEN_FIELDS
from pipeline.search import FACET_OPTIONS, FACETS, FIELD_FILTERS, FacetCount, Facets, SearchQuery

__all__ = ["FACET_FIELDS", "field_filters", "facets", "scan", "empty_facets"]

logger = logging.getLogger(__name__)

# facet option → the keyword field its counts come from
FACET_FIELDS = {**FACETS, **FIELD_FILTERS}

KEEP_ALIVE = "2m"  # how long the point in time lives between two pages of a scan

Guard = Callable[[str], AbstractContextManager[None]]  # ElasticIndex's error translation around one request


def _date_range(query: SearchQuery) -> dict[str, str]:
    bounds = {}
    if query.since:
        bounds["gte"] = query.since.isoformat()
    if query.until:
        bounds["lt"] = (query.until + timedelta(days=1)).isoformat()
    return bounds


def field_filters(query: SearchQuery) -> list[dict[str, Any]]:
    """The source and language filters (whole value, any case) and the date range, as filter clauses.

    An article's date is `published_at`, else `fetched_at` (as the newest-first order reads it).
    """
    chosen = query.filters()
    filters: list[dict[str, Any]] = [
        {"term": {field: {"value": chosen[option], "case_insensitive": True}}}
        for option, field in FIELD_FILTERS.items()
        if option in chosen
    ]
    bounds = _date_range(query)
    if bounds:
        dated = {"format": "strict_date", "time_zone": "UTC", **bounds}
        filters.append(
            {
                "bool": {
                    "should": [
                        {"range": {"published_at": dated}},
                        {
                            "bool": {
                                "must_not": [{"exists": {"field": "published_at"}}],
                                "filter": [{"range": {"fetched_at": dated}}],
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    return filters


def empty_facets() -> Facets:
    return {option: [] for option in FACET_OPTIONS}


def facets(client: Elasticsearch, alias: str, query_clause: dict[str, Any], size: int) -> Facets:
    """The `size` most frequent values of every facet among the articles `query_clause` matches."""
    aggregations = {
        option: {"terms": {"field": field, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        for option, field in FACET_FIELDS.items()
    }
    response = client.search(index=alias, query=query_clause, size=0, track_total_hits=False, aggregations=aggregations)
    found = empty_facets()
    for option in FACET_OPTIONS:
        buckets = (response.get("aggregations") or {}).get(option, {}).get("buckets", [])
        found[option] = [FacetCount(str(bucket["key"]), int(bucket["doc_count"])) for bucket in buckets]
    return found


def _unguarded(doing: str) -> AbstractContextManager[None]:
    return nullcontext()


def scan(
    client: Elasticsearch, alias: str, query_clause: dict[str, Any], page_size: int, guard: Guard = _unguarded
) -> Iterator[EnrichedArticle]:
    """Every article `query_clause` matches, once, as the index was when the scan began.

    A point in time over the alias, pages sorted by `_shard_doc` and continued with
    `search_after`; `guard(doing)` wraps each request (ElasticIndex's error translation).
    """
    with guard("open a point in time"):
        pit_id = client.open_point_in_time(index=alias, keep_alive=KEEP_ALIVE)["id"]
    try:
        after: list[Any] | None = None
        while True:
            with guard("read a page of articles"):
                page = client.search(
                    pit={"id": pit_id, "keep_alive": KEEP_ALIVE},
                    query=query_clause,
                    sort=["_shard_doc"],
                    size=page_size,
                    track_total_hits=False,
                    search_after=after,
                    source_excludes=HIDDEN_FIELDS,
                )
            pit_id = page.get("pit_id", pit_id)
            hits = page["hits"]["hits"]
            for hit in hits:
                try:
                    yield parse_enriched(hit["_source"])
                except InvalidArticle as e:
                    logger.warning("elasticsearch scan skipped id=%s reason=%r", hit.get("_id"), str(e))
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        try:
            client.close_point_in_time(id=pit_id)
        except Exception as e:  # the point in time expires by itself; a failed close must not hide the scan's outcome
            logger.warning("elasticsearch point in time not closed reason=%r", str(e))
