"""Installing the index template, the versioned index and its alias; moving to a new mapping version.

    setup:  template `<alias>` (patterns `<alias>-*`) ─▶ index `<alias>-v<N>` ─▶ alias `<alias>` (write index)
            (after rollovers the alias holds `<alias>-v<N>-000002`… too, all of version N: nothing to do)
    a new mapping version N+1:
        create `<alias>-v<N+1>` · block writes on `-v<N>` and wait for the writes in flight there ·
        refresh it · copy every document client-side (scan + bulk, keeping each external version) ·
        move the alias in one atomic request · keep `-v<N>` read-only for rollback.
        Every index of an older version behind the alias (rolled-over ones too) is copied into the one new index.
    Writers meanwhile get a per-article 403 (cluster block) from `-v<N>`, back off and retry
    through the alias, so they land in `-v<N+1>` once the alias moved (an article sent to an older
    index by name is looked up again before each retry, and follows its copy there).
    A document that does not fit the new mapping stops the move: the alias stays where it
    was and writes are unblocked — never a broken index.

Why the add-index-block API (`PUT /<index>/_block/write`) and not the `index.blocks.write`
setting: the setting only stops writes that have not yet passed the block check; a bulk
already running on a shard still finishes and is acknowledged after the setting is in
place, possibly after the copy read the index, and that acknowledged write was lost. The
API takes every operation permit of every shard before it answers, so when it returns no
write to the old index is running or can start (tests/integration/test_elastic_index.py
forces that interleaving).

The copy is client-side because the reindex module is not present on every node.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

from pipeline.errors import ServiceError
from pipeline.index.elastic_template import IndexTemplate, index_name, mapping_version_of

__all__ = ["setup_index", "template_checksum", "copy_documents", "StepHook"]

logger = logging.getLogger(__name__)

BLOCK_WAIT_SECONDS = 120  # how long blocking the old index may wait for the writes in flight there

StepHook = Callable[[str, str], None]
"""Called as `hook(step, index)` at the move's checkpoints: `copying` once the copy of `index` has read
its first page (its view of the source is fixed from then on). A seam for tests that must act at that
exact point; production passes none."""


def template_checksum(rendered: dict[str, Any]) -> str:
    """A short fingerprint of a rendered template, stored in its `_meta` to tell whether it changed."""
    canonical = json.dumps(rendered, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


Upgrade = Callable[[str, dict[str, Any]], dict[str, Any]]
"""A document of an older mapping made fit for the new one, by id and `_source` (see elastic_stories.upgrade_document)."""


def setup_index(
    client: Elasticsearch,
    alias: str,
    template: IndexTemplate,
    chunk_docs: int = 500,
    upgrade: Upgrade | None = None,
    on_step: StepHook | None = None,
) -> list[str]:
    """Make the template, the current versioned index and the alias exist; returns what was done, one line each."""
    lines = [_install_template(client, alias, template)]
    target = index_name(alias, template.version)
    holders = _alias_holders(client, alias)
    blocking = not holders and client.indices.exists(index=alias).body  # a concrete index squats the alias name
    versions = {holder: _mapping_version(client, holder) for holder in holders}
    for holder, found in versions.items():
        if found is not None and found > template.version:
            raise ServiceError(
                f"alias {alias} points at {holder} with mapping version {found}, newer than this newswire's "
                f"{template.version}: upgrade newswire instead of downgrading the index"
            )
    current = [holder for holder in holders if versions[holder] == template.version]  # `target` and its rollovers
    if current and len(current) == len(holders):
        if not any(holders_write_flag(client, alias, holder) for holder in current):
            newest = max(current)
            client.indices.update_aliases(actions=[{"add": {"index": newest, "alias": alias, "is_write_index": True}}])
            lines.append(f"made {newest} the write index of alias {alias}")
        lines.append(f"alias {alias} and its {len(current)} index(es) are up to date (mapping version {template.version})")
        return lines
    if _create_index(client, target, template):
        lines.append(f"created index {target} (mapping version {template.version})")
    sources = [holder for holder in holders if holder not in current] + ([alias] if blocking else [])
    try:
        for source in sources:
            _block_writes_and_wait(client, source)
        if sources:  # the scan sees only refreshed documents: make the last writes visible first
            client.indices.refresh(index=",".join(sources))
        for source in sources:
            copied = copy_documents(client, source, target, chunk_docs, upgrade, on_step)
            lines.append(f"copied {copied} documents from {source} to {target}")
        client.indices.refresh(index=target)
    except Exception:
        for source in sources:
            _unblock_writes(client, source)
        raise
    actions: list[dict[str, Any]] = [{"remove": {"index": holder, "alias": alias}} for holder in holders if holder not in current]
    actions += [{"add": {"index": holder, "alias": alias, "is_write_index": False}} for holder in current if holder != target]
    if blocking:
        actions.append({"remove_index": {"index": alias}})
    actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
    client.indices.update_aliases(actions=actions)
    lines.append(f"alias {alias} now points at {target}" + (f" (was {', '.join(sources)})" if sources else ""))
    for source in sources:
        if source != alias:
            lines.append(f"kept {source} read-only for rollback; delete it when no longer needed")
    logger.info("elasticsearch setup alias=%s index=%s sources=%s", alias, target, ",".join(sources) or "-")
    return lines


def holders_write_flag(client: Elasticsearch, alias: str, index: str) -> bool:
    """True when `index` is explicitly the write index of `alias`."""
    body = client.indices.get_alias(index=index, name=alias).body
    return bool(body.get(index, {}).get("aliases", {}).get(alias, {}).get("is_write_index"))


def copy_documents(
    client: Elasticsearch,
    source: str,
    target: str,
    chunk_docs: int = 500,
    upgrade: Upgrade | None = None,
    on_step: StepHook | None = None,
) -> int:
    """Copy every document of `source` into `target`, keeping ids and external versions; returns how many.

    `upgrade` (when given) makes each document fit the new mapping on the way.

    A document already newer in the target counts as copied (409 = stale); any other
    failure (it does not fit the new mapping) stops the copy with a ServiceError.
    """

    def actions() -> Iterator[dict[str, Any]]:
        hits = helpers.scan(client, index=source, query={"query": {"match_all": {}}}, size=chunk_docs, version=True)
        for position, hit in enumerate(hits):
            if position == 0 and on_step is not None:
                on_step("copying", source)
            yield {
                "_op_type": "index",
                "_index": target,
                "_id": hit["_id"],
                "version": hit.get("_version", 1),
                "version_type": "external_gte",
                "_source": upgrade(hit["_id"], hit["_source"]) if upgrade else hit["_source"],
            }

    copied = 0
    for ok, wrapped in helpers.streaming_bulk(
        client, actions(), chunk_size=chunk_docs, raise_on_error=False, max_retries=8, initial_backoff=1, max_backoff=30,
    ):
        item = next(iter(wrapped.values()))
        if ok or item.get("status") == 409:
            copied += 1
            continue
        error = item.get("error")
        reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
        raise ServiceError(
            f"cannot move to {target}: document {item.get('_id')} from {source} does not fit the new mapping "
            f"({reason}); the alias stays on {source}"
        )
    return copied


def _install_template(client: Elasticsearch, alias: str, template: IndexTemplate) -> str:
    rendered = template.render(alias)
    name = rendered.pop("name")
    checksum = template_checksum(rendered)
    rendered["meta"] = {**rendered["meta"], "checksum": checksum}
    try:
        found = client.indices.get_index_template(name=name).body.get("index_templates", [])
    except NotFoundError:
        found = []
    if found and (found[0]["index_template"].get("_meta") or {}).get("checksum") == checksum:
        return f"index template {name} is up to date (version {template.version})"
    client.indices.put_index_template(name=name, **rendered)
    verb = "updated" if found else "installed"
    return f"{verb} index template {name} for {rendered['index_patterns'][0]} (version {template.version})"


def _alias_holders(client: Elasticsearch, alias: str) -> list[str]:
    try:
        return sorted(client.indices.get_alias(name=alias).body)
    except NotFoundError:
        return []


def _mapping_version(client: Elasticsearch, index: str) -> int | None:
    body = client.indices.get_mapping(index=index).body
    return mapping_version_of(body.get(index, {}).get("mappings", {}))


def _create_index(client: Elasticsearch, index: str, template: IndexTemplate) -> bool:
    if client.indices.exists(index=index).body:
        return False
    try:
        client.indices.create(index=index, settings=template.index_settings(), mappings=template.index_mappings())
    except BadRequestError as e:
        if e.error == "resource_already_exists_exception":  # another worker created it first
            return False
        raise
    return True


def _block_writes_and_wait(client: Elasticsearch, index: str) -> None:
    """Block writes to `index` and return only when no write to it is running any more (see the module doc)."""
    answer = client.options(request_timeout=BLOCK_WAIT_SECONDS + 30).indices.add_block(
        index=index, block="write", timeout=f"{BLOCK_WAIT_SECONDS}s", master_timeout=f"{BLOCK_WAIT_SECONDS}s"
    ).body
    verified = {entry.get("name"): entry for entry in answer.get("indices", [])}
    entry = verified.get(index, {})
    if not (answer.get("acknowledged") and answer.get("shards_acknowledged") and entry.get("blocked")):
        why = entry.get("exception") or entry.get("failed_shards") or "the block was not confirmed on every shard"
        raise ServiceError(f"cannot move from {index}: writes to it could not be blocked ({why}); the alias stays on {index}")


def _unblock_writes(client: Elasticsearch, index: str) -> None:
    client.indices.put_settings(index=index, settings={"index.blocks.write": False})
