"""Is a started service ready? The probes of both services, and waiting for them."""

from __future__ import annotations

import time
from pathlib import Path

from . import elasticsearch, kafka
from .common import ServiceError, alive, say

__all__ = ["PROBES", "problem", "wait_ready"]

PROBES = {"kafka": kafka.probe, "elasticsearch": elasticsearch.probe}


def problem(name: str, service: dict | None) -> str | None:
    """None if the service `name` described by `service` (pid, workdir, port) runs and answers, else why not."""
    if not service or not service.get("pid"):
        return f"{name} is not started"
    if not alive(service["pid"], service["workdir"]):
        return f"{name} (pid {service['pid']}) is not running"
    return PROBES[name](service["port"])


def wait_ready(services: dict[str, dict], timeout: float) -> None:
    """Wait until every service of `services` ({name: service}) answers; ServiceError with its log if not."""
    deadline = time.monotonic() + timeout
    waiting = set(services)
    last = {}
    while waiting:
        for name in sorted(waiting):
            service = services[name]
            if not alive(service["pid"], service["workdir"]):
                raise ServiceError(f"{name} exited during startup (log: {service['log']})", Path(service["log"]))
            last[name] = PROBES[name](service["port"], timeout=2.0)
            if last[name] is None:
                say(f"{name} is ready on port {service['port']}")
                waiting.discard(name)
        if waiting and time.monotonic() > deadline:
            name = sorted(waiting)[0]
            raise ServiceError(f"{name} did not answer within {timeout:.0f} s ({last[name]}); "
                               f"raise TEST_SERVICES_TIMEOUT if this machine is slow", Path(services[name]["log"]))
        if waiting:
            time.sleep(0.5)
