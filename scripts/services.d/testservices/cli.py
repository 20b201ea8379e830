"""scripts/services start|stop|status|release: the real Kafka and Elasticsearch the tests use.

(With `--instance NAME`: an extra, separately named instance; see instances.py.)

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
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, elasticsearch, instances, kafka
from .common import (Layout, ServiceError, env_seconds, free_ports, locked, read_state, read_versions, running,
                     say, tail, terminate, write_state)
from .ready import problem, wait_ready

__all__ = ["main"]

SERVICES = ("kafka", "elasticsearch")
DATA_DIRS = {"kafka": "data", "elasticsearch": "home"}


def addresses(state: dict) -> list[str]:
    return [f"NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:{state['kafka']['port']}",
            f"NEWSWIRE_ELASTICSEARCH__HOSTS=http://127.0.0.1:{state['elasticsearch']['port']}"]


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
        wait_ready({name: state[name] for name in SERVICES}, timeout)
    except BaseException:
        _stop_services(state)
        layout.state_file.unlink(missing_ok=True)
        raise
    return state


def _live_leases(state: dict) -> list[int]:
    """Test sessions (pids) that still use the services; leases of exited sessions are dropped."""
    return [pid for pid in state.get("leases", []) if running(pid)]


def start(layout: Layout, lease: int | None = None) -> int:
    """Start both services, or reuse running ones. With `lease` (a test session's pid) the services
    stop when the last session that leased them releases them; without it they run until `stop`."""
    timeout = env_seconds("TEST_SERVICES_TIMEOUT", 120)
    with locked(layout.lock_file):
        state = read_state(layout)
        leases = _live_leases(state) if state else []
        owner = state.get("owner", "manual") if state else None
        if state:
            problems = [p for p in (problem(n, state.get(n)) for n in SERVICES) if p]
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
    with locked(layout.lock_file):
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
    with locked(layout.lock_file):
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
        trouble = problem(name, service)
        where = (f"http://127.0.0.1:{service.get('port')}" if name == "elasticsearch"
                 else f"127.0.0.1:{service.get('port')}")
        version = state["versions"]["ELASTICSEARCH_VERSION" if name == "elasticsearch" else "KAFKA_VERSION"]
        health = "answers" if trouble is None else f"NOT OK: {trouble}"
        print(f"{name:<14} {version:<8} pid {service.get('pid', '-')!s:<8} {where:<24} {health}")
        healthy += trouble is None
    leases = _live_leases(state)
    print(f"started by {'hand' if state.get('owner') == 'manual' else 'test sessions'}"
          f"{f'; leased by test sessions {leases}' if leases else ''}")
    return 0 if healthy == len(SERVICES) else 1


def _instance_command(layout: Layout, args: argparse.Namespace) -> int:
    settings = {"elasticsearch": instances.parse_settings(args.es_setting, "--es-setting"),
                "kafka": instances.parse_settings(args.kafka_setting, "--kafka-setting")}
    name = args.instance
    if args.command == "start":
        return instances.start(layout, name, args.service, settings, args.lease)
    if args.command == "restart":
        return instances.restart(layout, name, args.service, args.hard, settings)
    if args.command == "stop":
        return instances.stop(layout, name, args.service, args.hard)
    if args.command == "remove":
        return instances.remove(layout, name)
    if args.command == "status":
        return instances.status(layout, name)
    raise ServiceError(f"{args.command} does not take --instance")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/services", description=__doc__ + "\n" + instances.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "restart", "remove", "status", "release"])
    parser.add_argument("--lease", type=int, metavar="PID",
                        help="start: the services stay up while process PID lives (a test session) "
                             "until `release --lease PID`; release: the lease to drop")
    parser.add_argument("--instance", metavar="NAME",
                        help="an extra, separately named instance (own ports and data), not the shared pair")
    parser.add_argument("--service", action="append", choices=instances.SERVICES,
                        help="with --instance: only this service (repeatable; default: all of the instance)")
    parser.add_argument("--hard", action="store_true", help="stop/restart with SIGKILL instead of SIGTERM")
    parser.add_argument("--es-setting", action="append", metavar="KEY=VALUE",
                        help="with --instance: an Elasticsearch node setting, e.g. thread_pool.write.queue_size=1")
    parser.add_argument("--kafka-setting", action="append", metavar="KEY=VALUE",
                        help="with --instance: a Kafka broker setting (server.properties)")
    args = parser.parse_args(argv)
    if args.command == "release" and args.lease is None:
        parser.error("release needs --lease PID")
    if args.instance is None and (args.command in ("restart", "remove") or args.service or args.hard
                                  or args.es_setting or args.kafka_setting):
        parser.error(f"{args.command} with --service, --hard or settings needs --instance NAME "
                     "(the shared pair is never restarted or reconfigured)")
    try:
        layout = Layout.from_env()
        if args.instance is not None:
            return _instance_command(layout, args)
        if args.command == "start":
            instances.reap(layout)
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
