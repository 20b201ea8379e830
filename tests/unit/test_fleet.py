"""The fleet against loopback servers: per-host limits, slow and failing feeds, an entry in two feeds, backoff."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY

from pipeline.checkpoint import CheckpointFiles
from pipeline.deadletter import DeadLetter
from pipeline.plugin import FeedServer, Reply, http_date
from pipeline.runtime.fleet import Fleet
from pipeline.runtime.loop import RunReport
from pipeline.runtime.sources import SCHEDULE_SUFFIX, LocalSources
from pipeline.settings import load_settings

RSS_TYPE = {"Content-Type": "application/rss+xml"}


def feed(*guids: str, title: str = "Desk") -> bytes:
    items = "".join(f"<item><guid>{g}</guid><title>{g}</title><description>Story {g}.</description></item>" for g in guids)
    return f"<rss version='2.0'><channel><title>{title}</title>{items}</channel></rss>".encode()


class Collect:
    """An output that keeps every batch it was given (articles and dead letters), in order."""

    def __init__(self) -> None:
        self.batches: list[tuple[list, list[DeadLetter]]] = []
        self.lock = threading.Lock()

    def __call__(self, batch) -> RunReport:
        with self.lock:
            self.batches.append((list(batch.articles), list(batch.dead)))
        return RunReport(read=len(batch.articles), indexed=len(batch.articles), dead=len(batch.dead))

    @property
    def articles(self):
        return [a for articles, _ in self.batches for a in articles]

    @property
    def dead(self):
        return [d for _, dead in self.batches for d in dead]


def settings_for(write_config, urls, fleet=None, limits=None, **options):
    config = {"connectors": [{"type": "feeds", "name": "world", "host_delay": 0, "urls": urls, **options}],
              "fleet": {"concurrency": 8, "per_host": 2, **(fleet or {})}}
    if limits:
        config["limits"] = limits
    return load_settings(write_config(**config))


def sweep(settings, output=None, **kwargs):
    output = output or Collect()
    Fleet(LocalSources(settings), output, settings, once=True, stop=threading.Event(), **kwargs).run()
    return output


def schedules(settings):
    store = CheckpointFiles(settings.data_dir)
    return {path.name.removesuffix(SCHEDULE_SUFFIX + ".json"): store.load(path.name.removesuffix(".json"))
            for path in store.folder.glob(f"*{SCHEDULE_SUFFIX}.json")}


def max_overlap(intervals):
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_concurrent_sweep_holds_the_per_host_limit_and_serves_every_feed(write_config):
    hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    servers = [FeedServer(host=h).start() for h in hosts]
    try:
        urls = []
        for server in servers:
            for n in range(6):
                server.route(f"/feed{n}.xml", Reply(body=feed(f"urn:{server.base_url}:{n}"), headers=RSS_TYPE, delay=0.2))
                urls.append(server.url(f"/feed{n}.xml"))
        output = sweep(settings_for(write_config, urls))
        assert len(output.articles) == 18 and not output.dead
        assert [server.peak for server in servers] == [2, 2, 2], "never more than per_host requests to one host"
        overlap = max_overlap([(r.at, r.at + 0.2) for server in servers for r in server.requests])
        assert overlap > 2, "hosts were served at the same time"
    finally:
        for server in servers:
            server.stop()


def test_feeds_of_one_host_take_turns_spaced_by_the_host_delay(write_config):
    with FeedServer(host="127.0.0.5") as server:
        urls = []
        for n in range(5):
            server.route(f"/f{n}.xml", Reply(body=feed(f"urn:turns:{n}"), headers=RSS_TYPE))
            urls.append(server.url(f"/f{n}.xml"))
        settings = settings_for(write_config, urls, fleet={"per_host": 1})
        sweep(settings)  # host_delay 0 in the fleet block; this sweep only seeds the state
        output = sweep(load_settings(write_config(
            connectors=[{"type": "feeds", "name": "world", "host_delay": 0.1, "urls": urls}],
            fleet={"concurrency": 8, "per_host": 1})))
        assert not output.dead and server.peak == 1
        starts = sorted(r.at for r in server.requests[5:])
        assert len(starts) == 5 and all(b - a >= 0.09 for a, b in zip(starts, starts[1:]))


def test_a_slow_feed_never_delays_the_others(write_config):
    with FeedServer(host="127.0.0.6") as slow, FeedServer(host="127.0.0.7") as quick:
        slow.route("/feed.xml", Reply(body=feed("urn:slow:1"), headers=RSS_TYPE, delay=3.0))
        urls = [slow.url("/feed.xml")]
        for n in range(6):
            quick.route(f"/q{n}.xml", Reply(body=feed(f"urn:quick:{n}"), headers=RSS_TYPE))
            urls.append(quick.url(f"/q{n}.xml"))
        output = sweep(settings_for(write_config, urls, limits={"http_timeout": 0.4}))
        delivered = [a.id for a in output.articles]
        assert sorted(delivered) == sorted(f"urn:quick:{n}" for n in range(6))
        [letter] = output.dead
        assert "timed out after 0.4s" in letter.reason
        last_batch_of_articles = max(i for i, (articles, _) in enumerate(output.batches) if articles)
        first_dead = min(i for i, (_, dead) in enumerate(output.batches) if dead)
        assert last_batch_of_articles < first_dead, "the quick feeds were delivered while the slow one timed out"


def test_each_failure_class_is_kept_in_the_feed_schedule(write_config):
    servers = {name: FeedServer(host=f"127.0.1.{n}").start() for n, name in enumerate(
        ["ok", "gone", "broken", "busy", "busy_date"], start=1)}
    try:
        servers["ok"].route("/feed.xml", Reply(body=feed("urn:ok:1"), headers=RSS_TYPE))
        servers["gone"].route("/feed.xml", Reply(status=410, body=b"gone"))
        servers["broken"].route("/feed.xml", Reply(status=502, body=b"bad gateway"))
        servers["busy"].route("/feed.xml", Reply(status=429, headers={"Retry-After": "1200"}))
        servers["busy_date"].route("/feed.xml", Reply(status=503, headers={"Retry-After": http_date(time.time() + 7200)}))
        with FeedServer(host="127.0.1.9") as closed:
            refused = closed.url("/feed.xml")
        urls = [s.url("/feed.xml") for s in servers.values()] + [refused]
        settings = settings_for(write_config, urls)
        started = time.time()
        output = sweep(settings)
        assert [a.id for a in output.articles] == ["urn:ok:1"] and len(output.dead) == 5
        docs = {host: doc for host, doc in ((name.split("_")[1].rsplit("-", 1)[0], doc)
                                            for name, doc in schedules(settings).items())}
        assert docs["127.0.1.1"]["status"] == "ok"
        assert (docs["127.0.1.2"]["status"], docs["127.0.1.2"]["failure"]) == ("failing", "hard")
        assert (docs["127.0.1.3"]["status"], docs["127.0.1.3"]["failure"]) == ("failing", "soft")
        assert (docs["127.0.1.9"]["status"], docs["127.0.1.9"]["failure"]) == ("failing", "soft")
        assert docs["127.0.1.4"]["status"] == "throttled"
        assert 1190 <= docs["127.0.1.4"]["throttled_until"] - started <= 1210
        assert docs["127.0.1.4"]["next_due"] - started >= 1190
        assert 7100 <= docs["127.0.1.5"]["throttled_until"] - started <= 7210, "Retry-After as an HTTP date"
        assert all(doc["failures"] == 1 and "\n" not in doc["last_error"] for host, doc in docs.items() if host != "127.0.1.1")
        # The same, as Prometheus sees it.
        assert REGISTRY.get_sample_value("newswire_feeds_failing") == 5
        assert REGISTRY.get_sample_value("newswire_feeds") == 6
        assert REGISTRY.get_sample_value("newswire_feeds_in_flight") == 0
        for outcome in ("hard", "soft", "throttled", "ok"):
            assert REGISTRY.get_sample_value("newswire_feed_fetch_seconds_count", {"outcome": outcome}) >= 1
    finally:
        for server in servers.values():
            server.stop()


def test_the_same_entry_listed_by_two_feeds_comes_from_each_under_one_id(write_config):
    """Each feed delivers it with its own source, so the index can name both in the document's `sources`."""
    with FeedServer(host="127.0.0.8") as server:
        server.route("/world.xml", Reply(body=feed("https://outlet.example/story/1", "urn:world:2"), headers=RSS_TYPE))
        server.route("/top.xml", Reply(body=feed("https://outlet.example/story/1", "urn:top:3"), headers=RSS_TYPE))
        settings = settings_for(write_config, [server.url("/world.xml"), server.url("/top.xml")])
        output = sweep(settings)
        ids = [a.id for a in output.articles]
        assert sorted(ids) == ["https://outlet.example/story/1"] * 2 + ["urn:top:3", "urn:world:2"]
        shared = [a.source.name for a in output.articles if a.id == "https://outlet.example/story/1"]
        assert len(set(shared)) == 2, "one copy from each feed"
        # Both feeds remember the shared entry as seen: neither emits it again.
        again = sweep(settings)
        assert again.articles == []


def test_a_failing_feed_is_retried_at_its_capped_backoff_and_never_dropped(write_config):
    with FeedServer(host="127.0.0.9") as server:
        server.route("/broken.xml", Reply(status=500))
        server.route("/fine.xml", Reply(body=feed("urn:fine:1"), headers=RSS_TYPE))
        settings = settings_for(write_config, [server.url("/broken.xml"), server.url("/fine.xml")],
                                fleet={"max_backoff": 1800, "start_interval": 900, "min_interval": 600})
        origin = time.time()
        clock = lambda: origin + (time.time() - origin) * 3600  # noqa: E731 - one second is an hour here
        stop = threading.Event()
        fleet = Fleet(LocalSources(settings), Collect(), settings, once=False, stop=stop, clock=clock)
        runner = threading.Thread(target=fleet.run)
        runner.start()
        try:
            deadline = time.monotonic() + 60
            while server.count("/broken.xml") < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            runner.join(30)
        assert server.count("/broken.xml") >= 5, "the failing feed kept being retried"
        [broken] = [d for n, d in schedules(settings).items() if d.get("status") == "failing"]
        assert broken["failures"] >= 4 and broken["next_due"] - broken["last_fetch"] <= 1800 * 1.25
        assert server.count("/fine.xml") >= 1
