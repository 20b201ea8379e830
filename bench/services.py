"""The Kafka broker and Elasticsearch node the benchmark runs against.

With NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS and NEWSWIRE_ELASTICSEARCH__HOSTS set, those are used
and left alone. Otherwise `scripts/services start` starts a pair of the benchmark's own
(its own run folder under bench/work/services, so a test session stopping the shared pair
cannot stop them mid-run; the fetched jars and the built node are shared through links to
the project's cache), and `close()` stops exactly what was started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import REPO, clean_env

__all__ = ["Services"]

SHARED_CACHE = REPO / ".cache" / "services"
BENCH_CACHE = REPO / "bench" / "work" / "services"
KAFKA_ENV = "NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS"
ES_ENV = "NEWSWIRE_ELASTICSEARCH__HOSTS"


@dataclass
class Services:
    kafka: str
    elasticsearch: str
    started: bool = False

    @classmethod
    def open(cls) -> "Services":
        if os.environ.get(KAFKA_ENV) and os.environ.get(ES_ENV):
            hosts = os.environ[ES_ENV].split(",")[0].strip()
            return cls(os.environ[KAFKA_ENV], hosts, started=False)
        _link_shared_downloads()
        print("bench: starting Kafka and Elasticsearch with scripts/services start ...", file=sys.stderr, flush=True)
        done = subprocess.run([str(REPO / "scripts" / "services"), "start"], cwd=REPO, env=_env(),
                              stdout=subprocess.PIPE, text=True, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"bench: scripts/services start failed (exit {done.returncode})")
        found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        return cls(found[KAFKA_ENV], found[ES_ENV], started=True)

    def close(self) -> None:
        if self.started:
            subprocess.run([str(REPO / "scripts" / "services"), "stop"], cwd=REPO, env=_env(), timeout=300)
            self.started = False


def _env() -> dict[str, str]:
    return clean_env(TEST_SERVICES_CACHE=str(BENCH_CACHE))


def _link_shared_downloads() -> None:
    """Reuse what the project's scripts/services already fetched and built (read-only)."""
    BENCH_CACHE.mkdir(parents=True, exist_ok=True)
    if not SHARED_CACHE.is_dir():
        return
    for source in SHARED_CACHE.iterdir():
        if source.is_dir() and source.name.startswith(("kafka-", "elasticsearch-")):
            target = BENCH_CACHE / source.name
            if not target.exists():
                target.symlink_to(source.resolve(), target_is_directory=True)
