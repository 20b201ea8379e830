"""Extra, separately named test services, for tests that kill, restart or reconfigure a broker or a node.

    start   --instance NAME [--service S]... [--es-setting K=V]... [--kafka-setting K=V]... [--lease PID]
    stop    --instance NAME [--service S]... [--hard]
    restart --instance NAME [--service S]... [--hard] [--es-setting K=V]... [--kafka-setting K=V]...
    remove  --instance NAME
    status  --instance NAME

An instance has its own ports, data and logs under <cache>/instances/NAME/ and never touches the pair
the test sessions share. `start` creates it (fresh data, free ports; only the services named by
`--service`, both by default) or starts its stopped services again on their ports and data. `stop` sends
SIGTERM (`--hard`: SIGKILL) and keeps ports, data and settings; `restart` is stop + start, and settings
given to it replace the service's own (a node started with a tiny write queue, say). `remove` stops
everything and deletes the folder. An instance leased by a process (`--lease PID`, a test session) is
removed by the next scripts/services command after that process has gone, so a crashed test leaves
nothing running for long.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from pathlib import Path

from . import build, elasticsearch, kafka
from .common import (Layout, ServiceError, alive, env_seconds, free_ports, locked, read_versions, running, say,
                     terminate)
from .ready import problem, wait_ready

__all__ = ["start", "stop", "restart", "remove", "status", "reap", "addresses", "parse_settings", "SERVICES"]

SERVICES = ("kafka", "elasticsearch")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def _folder(layout: Layout, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ServiceError(f"instance name {name!r} must be 1-63 of a-z, 0-9, '-', '_' (starting with a letter or digit)")
    return layout.instances / name


def _read(folder: Path) -> dict:
    try:
        return json.loads((folder / "state.json").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ServiceError(f"unreadable {folder / 'state.json'}: {e}") from None


def _write(folder: Path, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(folder / "state.json")


def parse_settings(pairs: list[str] | None, flag: str) -> dict[str, str]:
    """['key=value', ...] from the command line to a dict; a pair without '=' is an error naming `flag`."""
    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ServiceError(f"{flag} takes KEY=VALUE, got {pair!r}")
        settings[key.strip()] = value
    return settings


def addresses(state: dict) -> list[str]:
    """The address lines of an instance's services, as `start` prints them."""
    lines = []
    if "kafka" in state["services"]:
        lines.append(f"NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:{state['services']['kafka']['port']}")
    if "elasticsearch" in state["services"]:
        lines.append(f"NEWSWIRE_ELASTICSEARCH__HOSTS=http://127.0.0.1:{state['services']['elasticsearch']['port']}")
    return lines


def _new_state(folder: Path, name: str, services: list[str], lease: int | None) -> dict:
    ports = iter(free_ports(2 * len(services)))
    state: dict = {"name": name, "versions": read_versions(), "lease": lease, "services": {}}
    for service in services:
        workdir = folder / service
        state["services"][service] = {
            "port": next(ports), "second_port": next(ports), "workdir": str(workdir),
            "log": str(workdir / f"{service}.log"), "settings": {}, "pid": None, "started": False,
        }
    return state


def _launch(layout: Layout, state: dict, service: str) -> None:
    """Start one service of the instance: fresh the first time, on its kept data afterwards."""
    entry = state["services"][service]
    versions = state["versions"]
    fresh = not entry["started"]
    workdir, log = Path(entry["workdir"]), Path(entry["log"])
    with locked(layout.lock_file):  # fetching and compiling share the cache with every other command
        if service == "kafka":
            jdk, lib = build.kafka_jdk(), build.kafka_classpath(layout, versions["KAFKA_VERSION"])
        else:
            jdk = build.elasticsearch_jdk()
            es_build = build.elasticsearch_build(layout, versions["ELASTICSEARCH_VERSION"], jdk)
    say(f"{'starting' if fresh else 'starting again'} {service} of instance {state['name']} on 127.0.0.1:{entry['port']}")
    if service == "kafka":
        if fresh:
            config = kafka.prepare(jdk, lib, workdir, entry["port"], entry["second_port"], entry["settings"])
        else:  # same ports, same log dir: the broker finds its topics, offsets and groups again
            config = kafka.configure(workdir, entry["port"], entry["second_port"], entry["settings"])
        entry["pid"] = kafka.launch(jdk, lib, workdir, config, log, append=not fresh)
    else:
        entry["pid"] = elasticsearch.launch(jdk, es_build, workdir, entry["port"], entry["second_port"], log,
                                            entry["settings"], fresh=fresh)
    entry["started"] = True


def _halt(state: dict, service: str, hard: bool) -> None:
    """Stop one service and return when its port refuses connections (a JVM's main thread is reaped
    before its other threads have exited and its sockets are closed)."""
    entry = state["services"][service]
    if entry.get("pid") and terminate(entry["pid"], entry["workdir"], hard=hard):
        if not _wait_port_closed(entry["port"], 30.0):
            say(f"port {entry['port']} still answers 30 s after {service} of instance {state['name']} exited")
        say(f"{'killed' if hard else 'stopped'} {service} of instance {state['name']} (pid {entry['pid']})")
    entry["pid"] = None


def _wait_port_closed(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        except OSError:
            return True
        time.sleep(0.1)
    return False


def _chosen(state: dict, services: list[str] | None) -> list[str]:
    chosen = services or list(state["services"])
    missing = [s for s in chosen if s not in state["services"]]
    if missing:
        raise ServiceError(f"instance {state['name']} has no {', '.join(missing)} (it runs {', '.join(state['services'])})")
    return chosen


def _bring_up(layout: Layout, folder: Path, state: dict, services: list[str]) -> None:
    """Start those of `services` that are not running, wait until they answer, save the state."""
    down = [s for s in services if not (state["services"][s].get("pid")
                                        and alive(state["services"][s]["pid"], state["services"][s]["workdir"]))]
    try:
        for service in down:
            _launch(layout, state, service)
            _write(folder, state)
        wait_ready({s: state["services"][s] for s in down}, env_seconds("TEST_SERVICES_TIMEOUT", 120))
    finally:
        _write(folder, state)


def start(layout: Layout, name: str, services: list[str] | None, settings: dict[str, dict[str, str]],
          lease: int | None) -> int:
    reap(layout)
    folder = _folder(layout, name)
    with locked(folder.with_suffix(".lock"), f"another command on instance {name}"):
        state = _read(folder)
        if not state:
            state = _new_state(folder, name, services or list(SERVICES), lease)
        elif lease is not None:
            state["lease"] = lease
        chosen = _chosen(state, services)
        for service, given in settings.items():
            if given and service in chosen:
                if state["services"][service]["started"] and given != state["services"][service]["settings"]:
                    _halt(state, service, hard=False)  # new settings: start it again with them
                state["services"][service]["settings"] = given
        _bring_up(layout, folder, state, chosen)
    print("\n".join(addresses(state)), flush=True)
    return 0


def stop(layout: Layout, name: str, services: list[str] | None, hard: bool) -> int:
    folder = _folder(layout, name)
    with locked(folder.with_suffix(".lock"), f"another command on instance {name}"):
        state = _read(folder)
        if not state:
            raise ServiceError(f"no instance {name}")
        for service in _chosen(state, services):
            _halt(state, service, hard)
        _write(folder, state)
    return 0


def restart(layout: Layout, name: str, services: list[str] | None, hard: bool,
            settings: dict[str, dict[str, str]]) -> int:
    folder = _folder(layout, name)
    with locked(folder.with_suffix(".lock"), f"another command on instance {name}"):
        state = _read(folder)
        if not state:
            raise ServiceError(f"no instance {name}")
        chosen = _chosen(state, services)
        for service in chosen:
            _halt(state, service, hard)
            if settings.get(service):
                state["services"][service]["settings"] = settings[service]
        _write(folder, state)
        _bring_up(layout, folder, state, chosen)
    print("\n".join(addresses(state)), flush=True)
    return 0


def remove(layout: Layout, name: str) -> int:
    folder = _folder(layout, name)
    with locked(folder.with_suffix(".lock"), f"another command on instance {name}"):
        _remove(folder)
    folder.with_suffix(".lock").unlink(missing_ok=True)
    return 0


def _remove(folder: Path) -> None:
    state = _read(folder)
    for service in (state.get("services") or {}):
        _halt(state, service, hard=True)  # its data goes too: no need to wait for a clean shutdown
    shutil.rmtree(folder, ignore_errors=True)
    say(f"removed instance {folder.name}")


def status(layout: Layout, name: str) -> int:
    """Exit 0 if every service of the instance answers, 3 if there is no such instance, 1 otherwise."""
    state = _read(_folder(layout, name))
    if not state:
        print(f"no instance {name}")
        return 3
    healthy = 0
    for service, entry in state["services"].items():
        trouble = problem(service, entry)
        print(f"{service:<14} pid {entry.get('pid') or '-'!s:<8} 127.0.0.1:{entry['port']:<6} "
              f"{'answers' if trouble is None else f'NOT OK: {trouble}'}"
              f"{''.join(f' {k}={v}' for k, v in entry['settings'].items())}")
        healthy += trouble is None
    return 0 if healthy == len(state["services"]) else 1


def reap(layout: Layout) -> None:
    """Remove the instances whose leasing process has exited."""
    if not layout.instances.is_dir():
        return
    for folder in sorted(p for p in layout.instances.iterdir() if p.is_dir()):
        try:
            lease = _read(folder).get("lease")
        except ServiceError:
            continue
        if lease and not running(lease):
            with locked(folder.with_suffix(".lock"), f"another command on instance {folder.name}"):
                say(f"instance {folder.name}: its test session (pid {lease}) has gone")
                _remove(folder)
            folder.with_suffix(".lock").unlink(missing_ok=True)
