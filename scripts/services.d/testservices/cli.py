"""scripts/services start|stop|status|release: the real Kafka and Elasticsearch the tests use.

`start` prints exactly two lines on stdout,
    NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:PORT
    NEWSWIRE_ELASTICSEARCH__HOSTS=http://127.0.0.1:PORT
and everything else on stderr. An expected failure is one `services: error:` line plus the tail of
the log that explains it, and exit status 1.

Test sessions share one pair per cache folder: each starts with `--lease <its pid>` and ends with
`release --lease <its pid>`; the last session out stops them, unless they were started by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, elasticsearch, kafka
from .common import (Layout, ServiceError, alive, env_seconds, free_ports, read_state, read_versions, say,
                     tail, terminate, write_state)

__all__ = ["main"]

SERVICES = ("kafka", "elasticsearch")
PROBES = {"kafka": kafka.probe, "elasticsearch": elasticsearch.probe}
DATA_DIRS = {"kafka": "data", "elasticsearch": "home"}


@contextlib.contextmanager
def _locked(layout: Layout):
    """One scripts/services at a time per cache folder (two `start`s must not race)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock_file.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another scripts/services command to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def addresses(state: dict) -> list[str]:
    return [f"NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:{state['kafka']['port']}",
            f"NEWSWIRE_ELASTICSEARCH__HOSTS=http://127.0.0.1:{state['elasticsearch']['port']}"]


def _problem(name: str, service: dict | None) -> str | None:
    if not service or not service.get("pid"):
        return f"{name} is not started"
    if not alive(service["pid"], service["workdir"]):
        return f"{name} (pid {service['pid']}) is not running"
    return PROBES[name](service["port"])


def _stop_services(state: dict) -> None:
    """Stop exactly the pids in `state` (in parallel) and remove their data folders; keep the logs."""
    def stop_one(name: str) -> None:
        service = state.get(name)
        if not service:
            return
        if service.get("pid") and terminate(service["pid"], service["workdir"]):
            say(f"stopped {name} (pid {service['pid']})")
        shutil.rmtree(Path(service["workdir"]) / DATA_DIRS[name], ignore_errors=True)

    with ThreadPoolExecutor(len(SERVICES)) as pool:
        list(pool.map(stop_one, SERVICES))


def _wait_ready(state: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(SERVICES)
    last = {}
    while waiting:
        for name in sorted(waiting):
            service = state[name]
            if not alive(service["pid"], service["workdir"]):
                raise ServiceError(f"{name} exited during startup (log: {service['log']})", Path(service["log"]))
            last[name] = PROBES[name](service["port"], timeout=2.0)
            if last[name] is None:
                say(f"{name} is ready on port {service['port']}")
                waiting.discard(name)
        if waiting and time.monotonic() > deadline:
            name = sorted(waiting)[0]
            raise ServiceError(f"{name} did not answer within {timeout:.0f} s ({last[name]}); "
                               f"raise TEST_SERVICES_TIMEOUT if this machine is slow", Path(state[name]["log"]))
        if waiting:
            time.sleep(0.5)


def _launch(layout: Layout, versions: dict, timeout: float) -> dict:
    kafka_jdk, es_jdk = build.kafka_jdk(), build.elasticsearch_jdk()
    kafka_lib = build.kafka_classpath(layout, versions["KAFKA_VERSION"])
    es_build = build.elasticsearch_build(layout, versions["ELASTICSEARCH_VERSION"], es_jdk)
    kafka_port, controller_port, http_port, transport_port = free_ports(4)
    run = layout.run
    state = {
        "versions": versions,
        "kafka": {"port": kafka_port, "controller_port": controller_port,
                  "workdir": str(run / "kafka"), "log": str(run / "kafka" / "kafka.log")},
        "elasticsearch": {"port": http_port, "transport_port": transport_port,
                          "workdir": str(run / "elasticsearch"),
                          "log": str(run / "elasticsearch" / "elasticsearch.log")},
    }
    try:
        es = state["elasticsearch"]
        say(f"starting Elasticsearch {versions['ELASTICSEARCH_VERSION']} on 127.0.0.1:{http_port}")
        es["pid"] = elasticsearch.launch(es_jdk, es_build, Path(es["workdir"]), http_port, transport_port,
                                         Path(es["log"]))
        write_state(layout, state)
        kf = state["kafka"]
        say(f"starting Kafka {versions['KAFKA_VERSION']} on 127.0.0.1:{kafka_port}")
        config = kafka.prepare(kafka_jdk, kafka_lib, Path(kf["workdir"]), kafka_port, controller_port)
        kf["pid"] = kafka.launch(kafka_jdk, kafka_lib, Path(kf["workdir"]), config, Path(kf["log"]))
        write_state(layout, state)
        _wait_ready(state, timeout)
    except BaseException:
        _stop_services(state)
        layout.state_file.unlink(missing_ok=True)
        raise
    return state


def _live_leases(state: dict) -> list[int]:
    """Test sessions (pids) that still use the services; leases of exited sessions are dropped."""
    live = []
    for pid in state.get("leases", []):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        live.append(pid)
    return live


def start(layout: Layout, lease: int | None = None) -> int:
    """Start both services, or reuse running ones. With `lease` (a test session's pid) the services
    stop when the last session that leased them releases them; without it they run until `stop`."""
    timeout = env_seconds("TEST_SERVICES_TIMEOUT", 120)
    with _locked(layout):
        state = read_state(layout)
        leases = _live_leases(state) if state else []
        owner = state.get("owner", "manual") if state else None
        if state:
            problems = [p for p in (_problem(n, state.get(n)) for n in SERVICES) if p]
            if not problems:
                say("already running; reusing them")
            else:
                say(f"restarting the services: {'; '.join(problems)}")
                _stop_services(state)
                layout.state_file.unlink(missing_ok=True)
                state = {}
        if not state:
            versions = read_versions()
            began = time.monotonic()
            for attempt in (1, 2):
                try:
                    state = _launch(layout, versions, timeout)
                    break
                except ServiceError as e:
                    # Another process may take a chosen port before the service binds it: retry once.
                    if attempt == 2 or "Address already in use" not in tail(e.log, 200):
                        raise
                    say("a chosen port was taken meanwhile; retrying with new ports")
            say(f"both services answer ({time.monotonic() - began:.1f} s)")
        if lease is None:
            owner = "manual"  # started or adopted by hand: runs until `scripts/services stop`
        else:
            leases = sorted(set(leases) | {lease})
        state["owner"] = owner or "sessions"
        state["leases"] = leases
        write_state(layout, state)
        print("\n".join(addresses(state)), flush=True)
        return 0


def release(layout: Layout, lease: int) -> int:
    """A test session is done: stop the services if it was the last one and none were started by hand."""
    with _locked(layout):
        state = read_state(layout)
        if not state:
            return 0
        leases = [pid for pid in _live_leases(state) if pid != lease]
        if leases or state.get("owner") == "manual":
            state["leases"] = leases
            write_state(layout, state)
            why = f"still used by test sessions {leases}" if leases else "started by hand"
            say(f"leaving the services running ({why})")
            return 0
        _stop_services(state)
        layout.state_file.unlink(missing_ok=True)
        return 0


def stop(layout: Layout) -> int:
    with _locked(layout):
        state = read_state(layout)
        if not state:
            say("nothing to stop")
            return 0
        if _live_leases(state):
            say(f"stopping services that test sessions {_live_leases(state)} still use")
        _stop_services(state)
        layout.state_file.unlink(missing_ok=True)
        return 0


def status(layout: Layout) -> int:
    """Exit 0 if both run and answer, 3 if nothing runs, 1 if something is wrong."""
    state = read_state(layout)
    if not state:
        print("not running")
        return 3
    healthy = 0
    for name in SERVICES:
        service = state.get(name) or {}
        problem = _problem(name, service)
        where = (f"http://127.0.0.1:{service.get('port')}" if name == "elasticsearch"
                 else f"127.0.0.1:{service.get('port')}")
        version = state["versions"]["ELASTICSEARCH_VERSION" if name == "elasticsearch" else "KAFKA_VERSION"]
        health = "answers" if problem is None else f"NOT OK: {problem}"
        print(f"{name:<14} {version:<8} pid {service.get('pid', '-')!s:<8} {where:<24} {health}")
        healthy += problem is None
    leases = _live_leases(state)
    print(f"started by {'hand' if state.get('owner') == 'manual' else 'test sessions'}"
          f"{f'; leased by test sessions {leases}' if leases else ''}")
    return 0 if healthy == len(SERVICES) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/services", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status", "release"])
    parser.add_argument("--lease", type=int, metavar="PID",
                        help="start: the services stay up while process PID lives (a test session) "
                             "until `release --lease PID`; release: the lease to drop")
    args = parser.parse_args(argv)
    if args.command == "release" and args.lease is None:
        parser.error("release needs --lease PID")
    try:
        layout = Layout.from_env()
        if args.command == "start":
            return start(layout, args.lease)
        if args.command == "release":
            return release(layout, args.lease)
        return {"stop": stop, "status": status}[args.command](layout)
    except ServiceError as e:
        log_tail = tail(e.log)
        if log_tail:
            print(f"--- last lines of {e.log} ---\n{log_tail}\n--- end of {e.log} ---", file=sys.stderr)
        print(f"services: error: {e.reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("services: interrupted", file=sys.stderr)
        return 130
