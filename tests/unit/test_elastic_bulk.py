"""Bulk actions, per-item classification, backoff and the retry loop, with a fake `send` (no network)."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timezone

import pytest
from elastic_transport import ConnectionError, ConnectionTimeout

from pipeline.article import EnrichedArticle
from pipeline.errors import ServiceError, ServiceUnavailable, backoff_delay
from pipeline.index.elastic_bulk import BulkWriter, build_action, classify_item, describe_error


def article(article_id: str = "a1", minute: int = 0, **extra) -> EnrichedArticle:
    return EnrichedArticle(
        id=article_id, title="Title", body="Body text.",
        fetched_at=datetime(2024, 1, 1, 12, minute, tzinfo=timezone.utc), **extra,
    )


def ok_item(action):
    return True, {"index": {"_id": action["_id"], "status": 201, "result": "created"}}


def item_error(action, status, kind="mapper_parsing_exception", reason="failed to parse"):
    return False, {"index": {"_id": action["_id"], "status": status, "error": {"type": kind, "reason": reason}}}


def request_error(action, status):
    return False, {"index": {"_id": action["_id"], "status": status, "error": "ApiError(...)", "exception": object()}}


class FakeSend:
    """Answers each call with the next scripted behaviour: a function of the action, or an exception to raise."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[list[str]] = []

    def __call__(self, actions):
        self.calls.append([a["_id"] for a in actions])
        step = self.script.pop(0) if self.script else ok_item
        if isinstance(step, BaseException):
            raise step
        return (step(action) for action in actions)


def writer(send, **kwargs) -> BulkWriter:
    return BulkWriter(send, "news", base_delay=0.001, max_delay=0.002, rng=random.Random(1), **kwargs)


def test_action_uses_the_article_id_and_external_version():
    a = article("feed:1", minute=5)
    action = build_action(a, "news")
    assert action["_id"] == "feed:1" and action["_index"] == "news"
    assert action["version"] == a.version and action["version_type"] == "external_gte"
    assert action["_source"]["title"] == "Title"


@pytest.mark.parametrize(
    "ok, item, alone, verdict",
    [
        (True, {"status": 201}, False, "indexed"),
        (True, {"status": 200}, False, "indexed"),
        (False, {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "x"}}, False, "stale"),
        (False, {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "x"}}, False, "retry"),
        (False, {"status": 503, "error": {"type": "unavailable_shards_exception", "reason": "x"}}, False, "retry"),
        (False, {"status": 403, "error": {"type": "cluster_block_exception", "reason": "x"}}, False, "retry"),
        (False, {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "x"}}, False, "failed"),
        (False, {"status": 404, "error": {"type": "index_not_found_exception", "reason": "x"}}, False, "fatal"),
        (False, {"status": 400, "error": "bad", "exception": 1}, False, "alone"),
        (False, {"status": 400, "error": "bad", "exception": 1}, True, "failed"),
        (False, {"status": 502, "error": "bad", "exception": 1}, False, "retry"),
        (False, {"status": 401, "error": "bad", "exception": 1}, False, "fatal"),
    ],
)
def test_classification(ok, item, alone, verdict):
    assert classify_item(ok, item, alone)[0] == verdict


def test_failed_items_carry_the_elasticsearch_reason():
    verdict, reason = classify_item(False, {"status": 400, "error": {
        "type": "document_parsing_exception", "reason": "failed to parse field [quotes.start]",
        "caused_by": {"type": "json_parse_exception", "reason": "Numeric value out of range of int"}}}, False)
    assert verdict == "failed"
    assert "quotes.start" in reason and "out of range" in reason


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    delays = [backoff_delay(n, base=0.5, cap=30.0, rng=rng) for n in range(1, 13)]
    for n, delay in enumerate(delays, start=1):
        floor = min(30.0, 0.5 * 2 ** (n - 1))
        assert floor <= delay <= floor * 1.25  # the one formula: exponential, capped, up to +25% jitter
    assert max(delays) <= 30.0 * 1.25
    assert backoff_delay(10_000, base=0.5, cap=30.0) <= 30.0 * 1.25


def test_transport_errors_are_described_by_their_types():
    refused = OSError("Failed to establish a new connection")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert describe_error(ConnectionError("Failed to establish a new connection", errors=(refused,))) == "connection refused"
    assert describe_error(ConnectionError("Connection refused, said the message")) != "connection refused", "types, not words"
    assert describe_error(ConnectionTimeout("read timed out")) == "timed out"


def test_error_objects_are_described_from_their_root_cause():
    body = {"type": "search_phase_execution_exception", "reason": "all shards failed",
            "root_cause": [{"type": "query_shard_exception", "reason": "failed to create query"}]}
    assert describe_error(body) == "query_shard_exception: failed to create query"


def test_all_indexed_in_order():
    send = FakeSend()
    results = writer(send).write([article("a"), article("b"), article("c")])
    assert [(r.article_id, r.status) for r in results] == [("a", "indexed"), ("b", "indexed"), ("c", "indexed")]
    assert send.calls == [["a", "b", "c"]]


def test_connection_errors_and_429s_are_retried_without_dropping_articles():
    def half_rejected(action):
        return item_error(action, 429, "es_rejected_execution_exception") if action["_id"] == "b" else ok_item(action)

    send = FakeSend(ConnectionError("Connection refused"), ConnectionTimeout("timed out"), half_rejected)
    results = writer(send).write([article("a"), article("b")])
    assert [r.status for r in results] == ["indexed", "indexed"]
    assert send.calls == [["a", "b"], ["a", "b"], ["a", "b"], ["b"]]


def test_the_retry_line_counts_refusals_of_the_whole_request_and_of_single_items(caplog):
    def storm(action):  # the node's write queue is full: the first request is refused whole, then one item
        return request_error(action, 429)

    def one_item_refused(action):
        return item_error(action, 429, "es_rejected_execution_exception") if action["_id"] == "b" else ok_item(action)

    send = FakeSend(storm, one_item_refused, ConnectionError("Connection refused"))
    with caplog.at_level("WARNING", logger="pipeline.index.elastic_bulk"):
        results = writer(send).write([article("a"), article("b"), article("c")])
    assert [r.status for r in results] == ["indexed"] * 3
    retries = [r.getMessage() for r in caplog.records if "bulk retry" in r.getMessage()]
    assert len(retries) == 3
    assert "refused=request:429x3 " in retries[0]
    assert "refused=item:429x1 " in retries[1]
    assert "refused=connection" in retries[2]


def test_a_connection_error_mid_stream_retries_only_the_unanswered_articles():
    class CutShort:
        calls: list = []

        def __call__(self, actions):
            self.calls.append([a["_id"] for a in actions])
            if len(self.calls) == 1:
                def gen():
                    yield ok_item(actions[0])
                    raise ConnectionError("Connection reset by peer")
                return gen()
            return (ok_item(a) for a in actions)

    send = CutShort()
    results = writer(send).write([article("a"), article("b"), article("c")])
    assert [r.status for r in results] == ["indexed"] * 3
    assert send.calls == [["a", "b", "c"], ["b", "c"]]


def test_stale_counts_as_success_and_bad_documents_fail_with_their_reason():
    def mixed(action):
        if action["_id"] == "old":
            return item_error(action, 409, "version_conflict_engine_exception", "version conflict")
        if action["_id"] == "bad":
            return item_error(action, 400, "document_parsing_exception", "failed to parse field [quotes.start]")
        return ok_item(action)

    results = writer(FakeSend(mixed)).write([article("old"), article("bad"), article("good")])
    assert [r.status for r in results] == ["stale", "failed", "indexed"]
    assert results[0].ok and not results[1].ok
    assert "quotes.start" in results[1].reason


def test_a_request_refused_as_a_whole_is_split_to_find_the_bad_article():
    def whole_request_refused(action):
        return request_error(action, 400)

    def single(action):
        return request_error(action, 400) if action["_id"] == "bad" else ok_item(action)

    send = FakeSend(whole_request_refused, single, single, single)
    results = writer(send).write([article("a"), article("bad"), article("c")])
    assert [r.status for r in results] == ["indexed", "failed", "indexed"]
    assert send.calls[0] == ["a", "bad", "c"]
    assert sorted(send.calls[1:]) == [["a"], ["bad"], ["c"]]


def test_stop_aborts_the_retries_with_service_unavailable():
    stop = threading.Event()

    class Down:
        calls = 0

        def __call__(self, actions):
            self.calls += 1
            if self.calls == 3:
                stop.set()
            raise ConnectionError("Connection refused", errors=(ConnectionRefusedError(111, "Connection refused"),))

    with pytest.raises(ServiceUnavailable, match="not yet indexed.*connection refused"):
        writer(Down()).write([article("a")], stop=stop)


def test_wrong_credentials_are_a_service_error_not_dead_letters():
    with pytest.raises(ServiceError, match="401"):
        writer(FakeSend(lambda action: request_error(action, 401))).write([article("a")])


def test_a_missing_alias_is_a_service_error():
    step = lambda action: item_error(action, 404, "index_not_found_exception", "no such index [news]")  # noqa: E731
    with pytest.raises(ServiceError, match="newswire setup"):
        writer(FakeSend(step)).write([article("a")])

