"""The distributed fleet on the real Kafka broker: two connectors workers share 200 feeds through a consumer group.

Ownership is partition assignment on the feed list topic; a feed's state lives in the compacted
changelog and moves with its partition. In a quiet sweep no feed is polled by both workers; when
one is killed outright mid-sweep, the other takes its feeds over with their state, and every
entry ends up indexed exactly once.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from pipeline.feeds.store import FeedSpec
from pipeline.plugin import FeedServer, Reply
from pipeline.runtime.bus import read_topic
from pipeline.runtime.distributed import setup_services
from pipeline.runtime.feedtopics import KafkaFeeds
from pipeline.runtime.sources import fleet_status
from tests.integration.support import indexed_ids, settings_of, start_worker, stop_worker, wait_for, write_pipeline_config

pytestmark = pytest.mark.integration

HOSTS = 20
FEEDS_PER_HOST = 10
PARTITIONS = 6


class Newsroom:
    """200 feeds on 20 loopback host addresses; every feed lists `generation + 1` entries (an ETag per generation)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.generation = 0
        self.delay = delay
        self.servers = [FeedServer(host=f"127.0.4.{n}").start() for n in range(1, HOSTS + 1)]
        self.urls: list[str] = []
        for host, server in enumerate(self.servers):
            for n in range(FEEDS_PER_HOST):
                path = f"/feed{n}.xml"
                server.route(path, self._responder(f"h{host}f{n}"))
                self.urls.append(server.url(path))

    def _responder(self, feed: str):
        def reply(request) -> Reply:
            generation = self.generation
            items = "".join(
                f"<item><guid>urn:newsroom:{feed}:{k}</guid><title>Council vote {feed} {k}</title>"
                f"<description>The harbour council voted on item {k} of {feed}, the mayor said.</description></item>"
                for k in range(generation + 1)
            )
            body = f"<rss version='2.0'><channel><title>{feed}</title>{items}</channel></rss>".encode()
            return Reply(body=body, headers={"Content-Type": "application/rss+xml"}, etag=f'"g{generation}"',
                         delay=self.delay if generation else 0.0)

        return reply

    def ids(self, generations: int) -> list[str]:
        return sorted(f"urn:newsroom:h{h}f{n}:{k}" for h in range(HOSTS) for n in range(FEEDS_PER_HOST)
                      for k in range(generations))

    def requests(self) -> int:
        return sum(len(server.requests) for server in self.servers)

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def newsroom():
    room = Newsroom()
    yield room
    room.close()


def fleet_config(tmp_path: Path, unique_name: str, kafka: str, es: str, *, interval: float, host_delay: float = 0.0) -> Path:
    empty = tmp_path / "no-files"
    empty.mkdir(exist_ok=True)
    return write_pipeline_config(
        tmp_path, unique_name, kafka, es, empty,
        topics={"partitions": PARTITIONS},
        connectors=[{"type": "feeds", "name": "world", "interval": interval, "host_delay": host_delay}],
        nlp={"batch_size": 16},
    )


def loaded_partitions(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    return len(re.findall(r"partition loaded partition=", text)) - len(re.findall(r"partitions revoked", text))


def produced(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(int(n) for n in re.findall(r"produced members=\d+ articles=(\d+)", text))


def both_own_partitions(first: Path, second: Path) -> bool:
    def owned(log: Path) -> set[int]:
        held: set[int] = set()
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if "partition loaded partition=" in line:
                held.add(int(re.search(r"partition=(\d+)", line).group(1)))
            elif "partitions revoked partitions=" in line:
                held -= {int(p) for p in re.findall(r"\d+", line.split("partitions=")[1].split(" members")[0])}
        return held

    a, b = owned(first), owned(second)
    return bool(a) and bool(b) and not (a & b) and len(a | b) == PARTITIONS


def test_two_workers_share_200_feeds_and_no_feed_is_polled_by_both(newsroom, tmp_path, unique_name, kafka_bootstrap, es_hosts):
    config = fleet_config(tmp_path, unique_name, kafka_bootstrap, es_hosts, interval=3600)  # one poll each, pinned
    settings = settings_of(config)
    setup_services(settings)
    logs = [tmp_path / "connectors-a.log", tmp_path / "connectors-b.log"]
    workers = [start_worker(config, "connectors", logs[0])]
    try:
        wait_for(lambda: loaded_partitions(logs[0]) == PARTITIONS, 120, "the first worker to own every partition")
        workers.append(start_worker(config, "connectors", logs[1]))
        wait_for(lambda: both_own_partitions(*logs), 120, "the two workers to split the partitions")
        # A quiet sweep: the 200 feeds arrive on the feed list while both workers run.
        KafkaFeeds(settings).add([FeedSpec(fleet="world", url=url) for url in newsroom.urls])
        wait_for(lambda: newsroom.requests() >= 200 and produced(logs[0]) + produced(logs[1]) >= 200, 180,
                 "every feed to be polled and its entry produced")
        time.sleep(3)  # anything polled twice would show now
        polls = Counter(server.url(r.path) for server in newsroom.servers for r in server.requests)
        assert set(polls) == set(newsroom.urls)
        assert max(polls.values()) == 1, f"polled by both: {[url for url, n in polls.items() if n > 1][:5]}"
        assert produced(logs[0]) > 0 and produced(logs[1]) > 0, "both workers took a share"
        assert produced(logs[0]) + produced(logs[1]) == 200
        consumer, records = read_topic(settings, settings.topics.articles, None)
        consumer.close()
        assert sorted(r.key.decode() for r in records) == newsroom.ids(1)
        # `feeds status` reads the feed list and the changelog: every feed polled once, fine.
        rows = fleet_status(settings)
        assert len(rows) == 200 and {row.status for row in rows} == {"ok"} and {row.items_24h for row in rows} == {1}
        # Removing feeds reaches the worker that owns each of them while it runs.
        gone = KafkaFeeds(settings).remove([FeedSpec(fleet="world", url=url).key for url in newsroom.urls[:10]])
        assert len(gone) == 10 and len(fleet_status(settings)) == 190
        wait_for(lambda: sum(log.read_text(errors="replace").count("feed removed") for log in logs) == 10, 60,
                 "the owners to retire the removed feeds")
    finally:
        for worker in workers:
            stop_worker(worker)
    assert all("Traceback" not in log.read_text(errors="replace") for log in logs)


def test_kill_9_mid_sweep_every_entry_indexed_once_and_the_feeds_move_with_their_state(
        tmp_path, unique_name, kafka_bootstrap, es_hosts):
    newsroom = Newsroom(delay=0.5)  # the second sweep is slow enough to be killed in the middle of
    config = fleet_config(tmp_path, unique_name, kafka_bootstrap, es_hosts, interval=15, host_delay=0.3)
    settings = settings_of(config)
    setup_services(settings)
    logs = {name: tmp_path / f"{name}.log" for name in ("victim", "survivor", "enrich", "sink")}
    processes = {}
    try:
        processes["victim"] = start_worker(config, "connectors", logs["victim"])
        wait_for(lambda: loaded_partitions(logs["victim"]) == PARTITIONS, 120, "the first worker to own every partition")
        processes["survivor"] = start_worker(config, "connectors", logs["survivor"])
        wait_for(lambda: both_own_partitions(logs["victim"], logs["survivor"]), 120, "the two workers to split the partitions")
        processes["enrich"] = start_worker(config, "enrich", logs["enrich"])
        processes["sink"] = start_worker(config, "sink", logs["sink"])
        KafkaFeeds(settings).add([FeedSpec(fleet="world", url=url) for url in newsroom.urls])
        wait_for(lambda: produced(logs["victim"]) + produced(logs["survivor"]) >= 200, 180, "the first sweep")
        before = newsroom.requests()
        newsroom.generation = 1  # every feed now lists a second entry, and answers slowly
        wait_for(lambda: newsroom.requests() - before >= 60, 120, "the second sweep to be under way")
        assert stop_worker(processes.pop("victim"), signal.SIGKILL) == -signal.SIGKILL
        wait_for(lambda: indexed_ids(settings) == newsroom.ids(2), 420, "every entry indexed after the takeover")
    finally:
        for process in processes.values():
            stop_worker(process)
        newsroom.close()
    consumer, records = read_topic(settings, settings.topics.articles, None)
    consumer.close()
    counts = Counter(r.key.decode() for r in records)
    first_generation = [f"urn:newsroom:h{h}f{n}:0" for h in range(HOSTS) for n in range(FEEDS_PER_HOST)]
    # Entries committed before the kill are never produced again: the survivor restored their feeds' state.
    assert {counts[i] for i in first_generation} == {1}
    assert set(counts) == set(newsroom.ids(2))
    assert indexed_ids(settings) == newsroom.ids(2)  # exactly once each: one document per id
    assert "Traceback" not in logs["survivor"].read_text(errors="replace")
