"""Shared plumbing for scripts/services: paths, settings from the environment, errors, processes.

Python 3.11 standard library only: this runs before the project's virtualenv may exist.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ServiceError",
    "Layout",
    "locked",
    "say",
    "tail",
    "env_seconds",
    "read_versions",
    "free_ports",
    "spawn",
    "alive",
    "running",
    "terminate",
    "read_state",
    "write_state",
]

SERVICES_D = Path(__file__).resolve().parent.parent
REPO = SERVICES_D.parent.parent


class ServiceError(Exception):
    """An expected failure: one line of reason, and the log whose tail explains it (if any)."""

    def __init__(self, reason: str, log: Path | None = None):
        super().__init__(reason)
        self.reason = reason
        self.log = log


def node_sources_digest() -> str:
    """A fingerprint of the test node's launcher and module sources in this checkout."""
    digest = hashlib.sha256()
    sources = SERVICES_D / "elasticsearch"
    for path in sorted(p for p in sources.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(sources)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Layout:
    """Where everything lives under the cache folder (default <repo>/.cache/services)."""

    root: Path

    @classmethod
    def from_env(cls) -> Layout:
        configured = os.environ.get("TEST_SERVICES_CACHE")
        return cls(Path(configured).resolve() if configured else REPO / ".cache" / "services")

    def kafka_dist(self, version: str) -> Path:
        return self.root / f"kafka-{version}"

    def es_dist(self, version: str) -> Path:
        return self.root / f"elasticsearch-{version}"

    @property
    def run(self) -> Path:
        """The shared pair's folder, one per version of the test node's sources: a session never reuses
        a pair whose node was built from other sources (another branch's modules), nor stops it."""
        return self.root / "pairs" / node_sources_digest()[:16]

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "services.lock"

    @property
    def instances(self) -> Path:
        """Extra, separately named services (`--instance NAME`), one folder each."""
        return self.root / "instances"


@contextlib.contextmanager
def locked(lock_file: Path, what: str = "another scripts/services command"):
    """One holder of `lock_file` at a time (two `start`s must not race)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for {what} to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def say(message: str) -> None:
    """Progress goes to stderr; stdout carries only the address lines."""
    print(f"services: {message}", file=sys.stderr, flush=True)


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.is_file():
        return ""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        text = f.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServiceError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ServiceError(f"{name}={raw!r} must be more than 0 seconds")
    return value


def read_versions() -> dict[str, str]:
    """KAFKA_VERSION and ELASTICSEARCH_VERSION from scripts/versions.env (shell KEY=value lines)."""
    path = SERVICES_D.parent / "versions.env"
    try:
        text = path.read_text()
    except OSError as e:
        raise ServiceError(f"cannot read {path}: {e.strerror}") from None
    versions = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*([A-Z_]+)=([^\s#]+)\s*(#.*)?", line)
        if match:
            versions[match.group(1)] = match.group(2)
    for key in ("KAFKA_VERSION", "ELASTICSEARCH_VERSION"):
        if key not in versions:
            raise ServiceError(f"{path} does not set {key}")
    return versions


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that are free right now (the OS picks them)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def spawn(command: list[str], log: Path, cwd: Path, append: bool = False) -> int:
    """Start a detached process (own session, survives this script) logging to `log`; return its pid.

    `append` keeps what the log already holds (a restart adds to the log of the run before)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as out:
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            raise ServiceError(f"cannot run {command[0]}: {e.strerror}", log) from None
    return process.pid


def running(pid: int) -> bool:
    """True if a process `pid` exists (of any user): enough for a lease, never for a kill (see `alive`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def alive(pid: int, marker: str) -> bool:
    """True if `pid` runs and is ours: its command line contains `marker` (guards against pid reuse)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    _reap(pid)
    if not Path("/proc/self").exists():
        return True  # no procfs: signal 0 is all we can know
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        return False
    # The command line reads empty for a moment while a process execs or maps its memory (a starting
    # JVM does): that is still our process, not a stranger that took its pid.
    return not cmdline or marker.encode() in cmdline


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie that looks alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def terminate(pid: int, marker: str, grace: float = 30.0, hard: bool = False) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds (`hard`: SIGKILL at once). False if it was not running."""
    if not alive(pid, marker):
        return False
    try:
        os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 10
    while alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def read_state(layout: Layout) -> dict:
    try:
        return json.loads(layout.state_file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        say(f"ignoring unreadable {layout.state_file}: {e}")
        return {}


def write_state(layout: Layout, state: dict) -> None:
    layout.run.mkdir(parents=True, exist_ok=True)
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(layout.state_file)
