"""The fleet on Kafka: `newswire worker connectors` processes sharing the farm's feeds through their group.

Each run gets its own topics and consumer group. The workers start first and split the partitions
of the (empty) feed list; then the feeds are added to it and the clock starts. The sweep ends when
the workers' Prometheus counters (`newswire_feed_fetch_seconds_count`) say every feed was read once.
The farm then tells how many feeds were polled more than once (by both workers, say): must be 0.
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.request
from pathlib import Path

import psutil
import yaml

from bench.procs import PYTHON, MemoryWatch, start, stop

__all__ = ["kafka_sweep"]

PARTITIONS = 6
METRICS_BASE_PORT = 19_460


def _loaded(log: Path) -> set[int]:
    held: set[int] = set()
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    for line in text.splitlines():
        if "partition loaded partition=" in line:
            held.add(int(re.search(r"partition=(\d+)", line).group(1)))
        elif "partitions revoked partitions=" in line:
            held -= {int(p) for p in re.findall(r"\d+", line.split("partitions=")[1].split(" members")[0])}
    return held


def _reads(port: int) -> int:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return 0
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("newswire_feed_fetch_seconds_count")))


def kafka_sweep(plan: dict, kafka: str, workers: int, work: Path, farm_stats, farm_reset) -> dict:
    from pipeline.feeds.store import FeedSpec
    from pipeline.runtime.bus import ensure_topics
    from pipeline.runtime.feedtopics import KafkaFeeds
    from pipeline.settings import load_settings

    name = f"bench-feeds-{workers}w-{secrets.token_hex(3)}"
    work.mkdir(parents=True, exist_ok=True)
    base = {
        "data_dir": str(work / "data"),
        "kafka": {"bootstrap_servers": kafka, "group_prefix": name},
        "topics": {"articles": f"{name}.articles", "enriched": f"{name}.enriched", "deadletter": f"{name}.deadletter",
                   "feeds": f"{name}.feeds", "feed_state": f"{name}.feeds.state", "partitions": PARTITIONS},
        "connectors": [{"type": "feeds", "name": "bench"}],
    }
    configs = []
    for n in range(workers):
        config = work / f"worker{n}.yaml"
        config.write_text(yaml.safe_dump({**base, "metrics": {"port": METRICS_BASE_PORT + n}}), encoding="utf-8")
        configs.append(config)
    settings = load_settings(configs[0])
    ensure_topics(settings)
    farm_reset()
    watch = MemoryWatch()
    running = []
    try:
        for n, config in enumerate(configs):
            running.append(start(watch, "connectors", [str(PYTHON), "-m", "pipeline.cli", "worker", "connectors", "-c",
                                                       str(config)], work / f"worker{n}.log"))
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                owned = [_loaded(item.log) for item in running]
                if sum(len(o) for o in owned) == PARTITIONS and all(owned) and len(set().union(*owned)) == PARTITIONS:
                    break
                time.sleep(0.5)
            else:
                raise SystemExit(f"bench: {n + 1} connectors workers did not split the partitions (see {work})")
        processes = [psutil.Process(item.process.pid) for item in running]
        cpu_before = [sum(p.cpu_times()[:2]) for p in processes]
        added = KafkaFeeds(settings).add(FeedSpec(fleet="bench", url=feed["url"]) for feed in plan["feeds"])
        started = time.monotonic()
        total = len(plan["feeds"])
        deadline = started + 900
        while time.monotonic() < deadline:
            if sum(_reads(METRICS_BASE_PORT + n) for n in range(workers)) >= total:
                break
            time.sleep(0.25)
        else:
            raise SystemExit(f"bench: the workers did not read every feed within 900 s (see {work})")
        seconds = time.monotonic() - started
        cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - sum(cpu_before)
        time.sleep(2)  # a second poll of any feed would show now
        stats = farm_stats()
        shares = [len(_loaded(item.log)) for item in running]
    finally:
        for item in running:
            stop(item)
        watch.close()
    return {
        "workers": workers,
        "feeds": total,
        "feeds_added": len(added),
        "sweep_seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_ms_per_feed": round(1000 * cpu / total, 2),
        "peak_rss_mb_per_worker": [item.peak_rss_mb for item in running],
        "partitions_per_worker": shares,
        "feeds_polled_twice": sum(1 for n in stats["requests"].values() if n > 1),
        "farm_peak_per_host": stats["peak"],
        "farm_requests": stats["served"],
    }
