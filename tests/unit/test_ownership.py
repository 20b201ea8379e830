"""The distributed fleet's ownership thread rides out a broker that is away, as the workers do.

The consumer here is a stand-in for the group membership only (its answers are scripted); the
real broker restart with a connectors worker on Kafka is tests/integration/test_outages.py.
"""

from __future__ import annotations

import time

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError, UnsupportedVersionError

import pipeline.runtime.feedtopics as feedtopics
from pipeline.errors import ServiceUnavailable
from pipeline.runtime.ownership import Ownership
from pipeline.settings import load_settings


class ScriptedConsumer:
    """Partition 0 of the feed list is assigned; its end offset fails `failures` times with `error`."""

    def __init__(self, topic: str, failures: int, error: Exception) -> None:
        self.tp = TopicPartition(topic, 0)
        self.failures, self.error, self.asked = failures, error, 0

    def poll(self, timeout_ms: int = 0) -> dict:
        time.sleep(timeout_ms / 1000 / 10)
        return {}

    def assignment(self) -> set:
        return {self.tp}

    def end_offsets(self, partitions) -> dict:
        self.asked += 1
        if self.asked <= self.failures:
            raise self.error
        return {tp: 0 for tp in partitions}

    def position(self, tp) -> int:
        return 0

    def close(self, autocommit: bool = True) -> None:
        pass


def _ownership(write_config, monkeypatch, consumer_of) -> tuple[Ownership, ScriptedConsumer]:
    monkeypatch.setattr(feedtopics, "read_states", lambda settings, partitions=None: {})
    settings = load_settings(write_config(kafka={"bootstrap_servers": "127.0.0.1:9"}))
    ownership = Ownership(settings, producer=None)
    consumer = consumer_of(settings.topics.feeds)
    ownership._consumer = consumer  # start() would join a real group; the thread is what is tested
    ownership._started = time.monotonic()
    ownership._thread.start()
    return ownership, consumer


def _wait(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "not within the wait"
        time.sleep(0.05)


def test_timeouts_while_the_broker_is_away_are_retried_and_the_partition_is_loaded(write_config, monkeypatch):
    ownership, consumer = _ownership(write_config, monkeypatch,
                                     lambda topic: ScriptedConsumer(topic, 2, KafkaTimeoutError("Failed to get offsets")))
    try:
        _wait(lambda: ownership.owned() == [0])
        assert consumer.asked == 3 and ownership.failure is None and ownership.ready()
        assert [type(event).__name__ for event in ownership.poll()] == ["Added"], "the partition's members reach the fleet"
    finally:
        ownership.close()


def test_an_error_that_retrying_cannot_fix_still_stops_the_worker_with_one_clear_reason(write_config, monkeypatch):
    ownership, _ = _ownership(write_config, monkeypatch,
                              lambda topic: ScriptedConsumer(topic, 1, UnsupportedVersionError("too old")))
    try:
        _wait(lambda: ownership.failure is not None)
        with pytest.raises(ServiceUnavailable, match="the connectors group lost Kafka"):
            ownership.poll()
    finally:
        ownership.close()
