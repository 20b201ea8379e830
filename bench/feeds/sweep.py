"""One sweep of the fleet in this process, over the farm's feeds: `python -m bench.feeds.sweep --plan P --out R`.

The fleet is the embedded runtime's (pipeline.runtime.fleet over the feed store on disk), with
an output that only counts: this measures the connectors tier (fetch, parse, schedule, commit the
states), not enrichment. `--concurrency 1 --per-host 1` is today's behaviour before the fleet:
one feed after the other. Prints, and writes to R, the sweep time, CPU seconds, peak RSS, the
outcome of every read and the most requests the client ever had in flight to one host.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml


def raise_open_files() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return soft, hard


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--per-host", type=int, default=None)
    arguments = parser.parse_args()
    open_files = raise_open_files()

    from pipeline.feeds.store import FeedFile, FeedSpec
    from pipeline.plugin.hosts import SHARED_POLITENESS
    from pipeline.runtime import metrics
    from pipeline.runtime.fleet import Fleet
    from pipeline.runtime.loop import RunReport
    from pipeline.runtime.sources import LocalSources
    from pipeline.settings import load_settings

    plan = json.loads(arguments.plan.read_text())
    home = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    fleet = {key: value for key, value in (("concurrency", arguments.concurrency), ("per_host", arguments.per_host)) if value}
    config = home / "newswire.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(home / "data"), "fleet": fleet,
                                      "connectors": [{"type": "feeds", "name": "bench"}]}))
    settings = load_settings(config)
    FeedFile(settings.data_dir).add(FeedSpec(fleet="bench", url=feed["url"]) for feed in plan["feeds"])
    counted = Counter()

    def output(batch) -> RunReport:
        counted["articles"] += len(batch.articles)
        counted["dead"] += len(batch.dead)
        return RunReport(read=len(batch.articles), indexed=len(batch.articles), dead=len(batch.dead))

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = os.times()
    started = time.monotonic()
    report = Fleet(LocalSources(settings), output, settings, once=True, stop=threading.Event()).run()
    seconds = time.monotonic() - started
    cpu_after = os.times()
    outcomes = {sample.labels["outcome"]: int(sample.value) for family in metrics.FEED_READ_SECONDS.collect()
                for sample in family.samples if sample.name.endswith("_count")}
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    result = {
        "feeds": len(plan["feeds"]),
        "concurrency": settings.fleet.concurrency,
        "per_host": settings.fleet.per_host,
        "http_timeout": settings.limits.http_timeout,
        "sweep_seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_ms_per_feed": round(1000 * cpu / len(plan["feeds"]), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_sweep_mb": round(rss_before / 1024, 1),
        "outcomes": outcomes,
        "articles": counted["articles"],
        "dead_letters": counted["dead"],
        "client_peak_per_host": SHARED_POLITENESS.peak(),
        "open_files": {"soft_before": open_files[0], "raised_to": open_files[1]},
        "report": {"read": report.read, "dead": report.dead},
    }
    arguments.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
