"""Bulk indexing with per-article results: retried until indexed, stale, failed or stopped.

    each round:  send the pending articles through `helpers.streaming_bulk`
                 2xx → indexed · 409 → stale (a newer version is already there)
                 429 / 5xx / connection error / timeout → pending again, after a backoff
                 whole request refused with 4xx → pending again, each article sent alone
                 4xx for one article (mapping, parsing) → failed, with the reason
    until nothing is pending; `stop` set while waiting → ServiceUnavailable, nothing dropped.

The documents carry `version` = the article's version and `version_type=external_gte`,
so a replay of an older record never overwrites a newer one, and writing the same
record twice leaves one document.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from elastic_transport import ApiError, ConnectionTimeout, TlsError, TransportError

from pipeline.article import EnrichedArticle
from pipeline.errors import ServiceError, ServiceUnavailable, backoff_delay
from pipeline.index import WriteResult

__all__ = [
    "BulkWriter",
    "SendBulk",
    "build_action",
    "classify_item",
    "describe_error",
    "describe_refusals",
]

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

Verdict = Literal["indexed", "stale", "failed", "retry", "alone", "fatal"]

SendBulk = Callable[[list[dict[str, Any]]], Iterable[tuple[bool, dict[str, Any]]]]
"""Sends actions in order and yields one (ok, {op_type: item}) per action, like `streaming_bulk`."""

Retarget = Callable[[list[dict[str, Any]]], None]
"""Before a retry, points actions sent to an index by name at where their document lives now (in place)."""


def build_action(article: EnrichedArticle, alias: str) -> dict[str, Any]:
    """The bulk action of one article: `_id` = article id, external version, the document as `_source`."""
    return {
        "_op_type": "index",
        "_index": alias,
        "_id": article.id,
        "version": article.version,
        "version_type": "external_gte",
        "_source": article.to_dict(),
    }


# The operating system's own failures under a transport error, by type (never by message text).
_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (socket.gaierror, "host name not found"),
    (ssl.SSLError, "TLS handshake failed (check verify_certs / ca_certs)"),
    (TimeoutError, "timed out"),
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (`errors`) and its chain of causes, depth first."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in getattr(current, "errors", ()) if isinstance(e, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def describe_error(error: Any) -> str:
    """One line for any Elasticsearch failure: a transport error, an ApiError, or an error object of a response or bulk item.

    Transport errors are told apart by their types (elastic_transport's and the OS's
    under them): `connection refused`, `timed out`, `TLS handshake failed ...`. An error
    object reads `type: reason (caused by type: reason)`, from its root cause when it has one.
    """
    if isinstance(error, TransportError) and not isinstance(error, ApiError):
        if isinstance(error, ConnectionTimeout):
            return "timed out"
        if isinstance(error, TlsError):
            return _CAUSES[3][1]
        for cause in _causes(error):
            for kind, words in _CAUSES:
                if isinstance(cause, kind):
                    return words
        text = str(error.message or error)
        return text.splitlines()[0][:200] if text else type(error).__name__
    if isinstance(error, ApiError):
        body = error.body if isinstance(error.body, dict) else {}
        error = body.get("error") or error.message
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        text = f"{root.get('type', 'error')}: {root.get('reason', '')}".strip()
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
        return text
    return str(error)


def classify_item(ok: bool, item: dict[str, Any], alone: bool) -> tuple[Verdict, str | None]:
    """Decide the fate of one bulk result (`item` is the inner dict, without the op type)."""
    status = item.get("status", 500)
    if ok and 200 <= status < 300:
        return "indexed", None
    error = item.get("error")
    reason = describe_error(error)
    if status == 409:
        return "stale", "a newer version is already indexed"
    if "exception" in item:  # the whole request failed; every action of the chunk gets this
        if status in (401, 403):
            return "fatal", f"Elasticsearch refused the request ({status}): {reason}"
        if status in RETRY_STATUSES or status >= 500 or not isinstance(status, int):
            return "retry", reason
        return ("failed", reason) if alone else ("alone", reason)
    if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
        return "fatal", f"{reason} — run `newswire setup` to create the index and alias"
    if status in RETRY_STATUSES or status >= 500 or status == 403:  # 403 per item: a cluster block (disk full)
        return "retry", reason
    return "failed", reason


def describe_refusals(refusals: Counter[str]) -> str:
    """`item:429x12,request:429x50`: what one round of a write has to retry, most frequent first."""
    return ",".join(f"{key}x{count}" for key, count in refusals.most_common()) or "-"


class BulkWriter:
    """Writes a batch of articles through `send`, retrying what may still succeed; never drops an article."""

    def __init__(
        self,
        send: SendBulk,
        alias: str,
        *,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        describe_target: str = "Elasticsearch",
        rng: random.Random | None = None,
        retarget: Retarget | None = None,
    ) -> None:
        self.send = send
        self.retarget = retarget
        self.alias = alias
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.describe_target = describe_target
        self.rng = rng or random.Random()

    def write(
        self,
        articles: Sequence[EnrichedArticle],
        stop: threading.Event | None = None,
        actions: Sequence[dict[str, Any]] | None = None,
    ) -> list[WriteResult]:
        """Per-article results in input order; raises ServiceUnavailable if `stop` is set before all settled.

        `actions`: the bulk action of each article when the caller built them (default `build_action`).
        """
        started = time.monotonic()
        results: list[WriteResult | None] = [None] * len(articles)
        built: list[dict[str, Any] | None] = list(actions) if actions is not None else [None] * len(articles)
        pending: list[int] = []
        for position, article in enumerate(articles):  # ids fit Elasticsearch: the Article model checks it
            if built[position] is None:
                built[position] = build_action(article, self.alias)
            pending.append(position)
        alone: set[int] = set()
        attempt = 0
        rounds = 0
        while pending:
            rounds += 1
            refusals: Counter[str] = Counter()
            retry, reason = self._round(pending, alone, built, articles, results, refusals)
            pending = [p for p in pending if results[p] is None]
            if not pending:
                break
            if not retry:  # only articles to send alone: no reason to wait
                continue
            attempt += 1
            delay = backoff_delay(attempt, self.base_delay, self.max_delay, self.rng)
            logger.warning(
                "elasticsearch bulk retry alias=%s pending=%d attempt=%d delay_s=%.2f refused=%s reason=%r",
                self.alias, len(pending), attempt, delay, describe_refusals(refusals), reason,
            )
            stopped = stop.wait(delay) if stop is not None else (time.sleep(delay) or False)
            if stopped:
                raise ServiceUnavailable(
                    f"{self.describe_target}: stopped with {len(pending)} of {len(articles)} articles "
                    f"not yet indexed after {attempt} attempts (last error: {reason})"
                )
            if self.retarget is not None:
                self._retarget([built[p] for p in pending if built[p]["_index"] != self.alias])  # type: ignore[index]
        final = [result for result in results if result is not None]
        counts = {status: sum(1 for r in final if r.status == status) for status in ("indexed", "stale", "failed")}
        logger.info(
            "elasticsearch bulk done alias=%s articles=%d indexed=%d stale=%d failed=%d rounds=%d elapsed_ms=%d",
            self.alias, len(articles), counts["indexed"], counts["stale"], counts["failed"], rounds,
            (time.monotonic() - started) * 1000,
        )
        return final

    def _retarget(self, actions: list[dict[str, Any]]) -> None:
        """Ask where the documents of `actions` live now (a mapping move may have copied them on); a failed
        lookup leaves them as they were, the next round tries again."""
        if not actions:
            return
        try:
            self.retarget(actions)  # type: ignore[misc]
        except (TransportError, ApiError) as e:
            logger.warning("elasticsearch retarget failed alias=%s reason=%r", self.alias, describe_error(e))

    def _round(
        self,
        pending: list[int],
        alone: set[int],
        actions: list[dict[str, Any] | None],
        articles: Sequence[EnrichedArticle],
        results: list[WriteResult | None],
        refusals: Counter[str],
    ) -> tuple[bool, str | None]:
        """Send every pending article once; returns (something is worth retrying after a wait, last reason).

        `refusals` counts what is to be retried by scope and status: `request:429` (the whole bulk
        request was refused), `item:429` (one action was), `connection` (no answer at all)."""
        together = [p for p in pending if p not in alone]
        groups = ([together] if together else []) + [[p] for p in pending if p in alone]
        retry, reason = False, None
        for group in groups:
            try:
                outcomes: Iterator[tuple[bool, dict[str, Any]]] = iter(self.send([actions[p] for p in group]))  # type: ignore[misc]
                for position, (ok, wrapped) in zip(group, outcomes):
                    item = next(iter(wrapped.values())) if wrapped else {}
                    verdict, why = classify_item(ok, item, alone=position in alone)
                    if verdict in ("indexed", "stale", "failed"):
                        results[position] = WriteResult(articles[position].id, verdict, why)
                    elif verdict == "alone":
                        alone.add(position)
                    elif verdict == "fatal":
                        raise ServiceError(f"{self.describe_target}: {why}")
                    else:
                        retry, reason = True, why
                        refusals[f"{'request' if 'exception' in item else 'item'}:{item.get('status', '?')}"] += 1
            except TransportError as e:
                retry, reason = True, describe_error(e)
                refusals["connection"] += 1
            if any(results[p] is None and p not in alone for p in group):
                retry = True  # unanswered (cut short by an error): retry them
                reason = reason or "no answer for some articles"
        return retry, reason
