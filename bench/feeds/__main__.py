"""`python -m bench.feeds`: the farm, one in-process sweep, the sequential baseline, and the fleet on Kafka.

    python -m bench.feeds                  # fleet sweep + 1 and 2 connectors workers on Kafka
    python -m bench.feeds --baseline       # ...and the sequential baseline (one in flight: ~35 min)
    python -m bench.feeds --no-kafka       # no Kafka runs

Kafka comes from NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS (+ NEWSWIRE_ELASTICSEARCH__HOSTS), else
bench.services starts a pair. Results: bench/results/feeds.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.procs import PYTHON, REPO, clean_env

RESULTS = REPO / "bench" / "results" / "feeds.json"
WORK = REPO / "bench" / "work" / "feeds"


def _get(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url, timeout=30).read())


def start_farm(count: int) -> tuple[subprocess.Popen, dict]:
    plan_path = WORK / "plan.json"
    plan_path.unlink(missing_ok=True)
    farm = subprocess.Popen([str(PYTHON), "-m", "bench.feeds.farm", "--count", str(count), "--plan", str(plan_path)],
                            cwd=REPO, env=clean_env(), stdout=subprocess.DEVNULL, stderr=(WORK / "farm.log").open("w"))
    deadline = time.monotonic() + 120
    while not plan_path.exists():
        if farm.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench: the feed farm did not start (see {WORK / 'farm.log'})")
        time.sleep(0.2)
    return farm, json.loads(plan_path.read_text())


def sweep(plan: dict, name: str, *extra: str) -> dict:
    _get(plan["control"] + "/reset")
    out = WORK / f"{name}.json"
    with (WORK / f"{name}.log").open("w") as log:
        subprocess.run([str(PYTHON), "-m", "bench.feeds.sweep", "--plan", str(WORK / "plan.json"), "--out", str(out), *extra],
                       cwd=REPO, env=clean_env(), check=True, stdout=subprocess.DEVNULL, stderr=log, timeout=7200)
    result = json.loads(out.read_text())
    stats = _get(plan["control"] + "/stats")
    result["farm_peak_per_host"] = stats["peak"]
    result["feeds_polled_twice"] = sum(1 for n in stats["requests"].values() if n > 1)
    return result


def table(results: dict) -> str:
    """The numbers the README reports, one line per run."""
    lines = [f"{'run':<14}{'sweep s':>9}{'CPU s':>8}{'CPU ms/feed':>13}{'peak RSS MB':>13}{'max/host':>10}{'polled twice':>14}"]
    for key in ("sequential", "fleet", "kafka_1w", "kafka_2w"):
        run = results.get(key)
        if not run:
            continue
        rss = run.get("peak_rss_mb") or max(run.get("peak_rss_mb_per_worker") or [0])
        lines.append(f"{key:<14}{run['sweep_seconds']:>9}{run['cpu_seconds']:>8}{run['cpu_ms_per_feed']:>13}{rss:>13}"
                     f"{run['farm_peak_per_host']:>10}{run['feeds_polled_twice']:>14}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--baseline", action="store_true", help="also run the sequential baseline (about 35 minutes)")
    parser.add_argument("--no-kafka", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    farm, plan = start_farm(arguments.count)
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()},
        "farm": {"feeds": len(plan["feeds"]), "hosts": plan["hosts"],
                 "kinds": {kind: sum(1 for f in plan["feeds"] if f["kind"] == kind) for kind in ("normal", "slow", "refused", "throttled")},
                 "open_files": {"soft_before": soft, "raised_to": hard}},
    }
    try:
        results["fleet"] = sweep(plan, "fleet")
        print("fleet:", json.dumps(results["fleet"]), flush=True)
        if arguments.baseline:
            results["sequential"] = sweep(plan, "sequential", "--concurrency", "1", "--per-host", "1")
            print("sequential:", json.dumps(results["sequential"]), flush=True)
        if not arguments.no_kafka:
            from bench.feeds.kafka import kafka_sweep
            from bench.services import Services

            services = Services.open()
            try:
                for workers in (1, 2):
                    results[f"kafka_{workers}w"] = kafka_sweep(
                        plan, services.kafka, workers, WORK / f"kafka-{workers}w",
                        lambda: _get(plan["control"] + "/stats"), lambda: _get(plan["control"] + "/reset"))
                    print(f"kafka {workers} worker(s):", json.dumps(results[f"kafka_{workers}w"]), flush=True)
            finally:
                services.close()
    finally:
        farm.terminate()
        farm.wait(timeout=30)
    results["machine"]["load_after"] = os.getloadavg()
    print(table(results))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"bench: results in {arguments.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
