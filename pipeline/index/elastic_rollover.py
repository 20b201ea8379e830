"""Rolling the write index over behind the alias, and finding where an article already lives.

    alias `<alias>` ─▶ `<alias>-v3` (read) · `<alias>-v3-000002` (read) · `<alias>-v3-000003` (read, write index)

One alias serves both roles, as Elasticsearch's rollover expects: every index behind it is
searched (the read side: search, facets, export, story lookups), and the one flagged
`is_write_index` takes new articles. `roll_over` calls the rollover API on the alias with the
configured conditions (primary shard size, document count, age); the node checks them and, when
one is met, creates the next index from the template and moves the write flag in one step.
The node has no ILM (an x-pack feature), so the sink asks at most every `rollover_check_interval`
and `newswire setup` asks once; a second sink asking at the same moment finds the name taken and
does nothing.

An article's id stays unique across the indices: before a write, the sink looks the batch's ids
up through the alias (a search, which sees every acknowledged write since all writes wait for
the refresh) and sends an article found in an older index to that index by name; only a new
article goes through the alias to the write index. `locate` is that lookup, used again before
each retry of a bulk, so an article whose index was blocked by a mapping move follows its copy.

Retention: `prune` deletes the indices (never the write index) whose newest article was first
stored longer ago than `retention`; `newswire index prune` lists them and deletes only with --apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.settings import ElasticsearchSettings

__all__ = ["rollover_conditions", "next_index", "write_index", "roll_over", "locate", "prune"]

logger = logging.getLogger(__name__)

_SEQUENCE = re.compile(r"^(?P<stem>.*-v\d+)(?:-(?P<number>\d{6}))?$")
_PAGE = 500


def rollover_conditions(settings: ElasticsearchSettings) -> dict[str, Any]:
    """The rollover API's `conditions` from the configured thresholds; empty when none is set."""
    conditions: dict[str, Any] = {}
    if settings.rollover_max_docs is not None:
        conditions["max_docs"] = settings.rollover_max_docs
    if settings.rollover_max_primary_shard_size is not None:
        conditions["max_primary_shard_size"] = f"{settings.rollover_max_primary_shard_size}b"
    if settings.rollover_max_age is not None:
        conditions["max_age"] = f"{int(settings.rollover_max_age)}s"
    return conditions


def next_index(current: str) -> str:
    """The index after `current`: `<alias>-v3` → `<alias>-v3-000002`, `…-000002` → `…-000003`.

    The mapping version stays in the name, so `newswire setup` still knows what each index holds.
    """
    match = _SEQUENCE.match(current)
    if match is None:
        raise ValueError(f"{current} is not a newswire index name (<alias>-v<version>[-NNNNNN])")
    number = int(match.group("number") or 1) + 1
    return f"{match.group('stem')}-{number:06d}"


def write_index(client: Elasticsearch, alias: str) -> str | None:
    """The index flagged as the alias's write index (the only index, when none is flagged)."""
    body = client.indices.get_alias(name=alias).body
    flagged = [index for index, entry in body.items() if entry.get("aliases", {}).get(alias, {}).get("is_write_index")]
    if flagged:
        return flagged[0]
    return next(iter(body)) if len(body) == 1 else None


def roll_over(client: Elasticsearch, alias: str, conditions: dict[str, Any], force: bool = False) -> str | None:
    """Roll the write index of `alias` over when a condition is met (or always, `force`); the new index or None."""
    if not conditions and not force:
        return None
    for _ in range(3):
        current = write_index(client, alias)
        if current is None:
            return None
        target = next_index(current)
        try:
            answer = client.indices.rollover(alias=alias, new_index=target, conditions=None if force else conditions).body
            break
        except BadRequestError as e:
            if e.error != "resource_already_exists_exception":
                raise
            if not force:  # a sink rolled over at the same moment: the new write index is empty
                return None
    else:
        return None
    if not answer.get("rolled_over"):
        return None
    logger.info("elasticsearch rollover alias=%s from=%s to=%s conditions=%s", alias, current, target,
                ",".join(k for k, met in (answer.get("conditions") or {}).items() if met) or "forced")
    return target


def locate(client: Elasticsearch, alias: str, ids: Sequence[str]) -> dict[str, str]:
    """The index each of `ids` lives in, among the indices behind `alias` (ids not found are left out).

    Should one id be in two indices (a mapping move copying it), the write index wins, else the newest name.
    """
    unique = list(dict.fromkeys(ids))
    found: dict[str, list[str]] = {}
    for start in range(0, len(unique), _PAGE):
        chunk = unique[start : start + _PAGE]
        hits = client.search(index=alias, query={"ids": {"values": chunk}}, source=False, size=4 * len(chunk), track_total_hits=False)
        for hit in hits["hits"]["hits"]:
            found.setdefault(hit["_id"], []).append(hit["_index"])
    if not any(len(indices) > 1 for indices in found.values()):
        return {doc_id: indices[0] for doc_id, indices in found.items()}
    writer = write_index(client, alias)
    return {doc_id: writer if writer in indices else max(indices) for doc_id, indices in found.items()}


def prune(client: Elasticsearch, alias: str, older_than: float, now: datetime, apply: bool = False) -> list[str]:
    """Delete (`apply`) or list the indices behind `alias` whose newest article is older than `older_than` seconds.

    An index's age is that of the newest article it holds (`seen_at`, first stored), or its creation
    when it holds none; the write index is never deleted. One line per index concerned.
    """
    holders = sorted(client.indices.get_alias(name=alias).body)
    writer = write_index(client, alias)
    newest = {
        bucket["key"]: bucket["newest"]["value"]
        for bucket in client.search(index=alias, size=0, aggs={"indices": {
            "terms": {"field": "_index", "size": max(len(holders), 1)}, "aggs": {"newest": {"max": {"field": "seen_at"}}}}},
        )["aggregations"]["indices"]["buckets"]
    }
    created = client.indices.get_settings(index=",".join(holders), name="index.creation_date").body
    cutoff = now.timestamp() * 1000 - older_than * 1000
    lines = []
    for index in holders:
        if index == writer:
            continue
        stamp = newest.get(index) or float(created[index]["settings"]["index"]["creation_date"])
        if stamp >= cutoff:
            continue
        when = datetime.fromtimestamp(stamp / 1000, timezone.utc).isoformat(timespec="seconds")
        if apply:
            client.indices.delete(index=index)
            logger.info("elasticsearch prune alias=%s deleted=%s newest=%s", alias, index, when)
        lines.append(f"{'deleted' if apply else 'would delete'} {index} (newest article {when})")
    return lines or [f"no index behind {alias} is older than the retention"]
