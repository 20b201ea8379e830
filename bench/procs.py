"""Processes for the benchmark: started with a clean environment, watched for peak memory.

Peak RSS is the kernel's own high-water mark (`VmHWM` in /proc/PID/status), read
every `interval` seconds while the process lives, so the peak between two reads is
not missed; psutil's current RSS stands in where /proc has no VmHWM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

__all__ = ["REPO", "PYTHON", "clean_env", "Watched", "MemoryWatch", "start", "stop"]

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without NEWSWIRE_ settings (every run passes its own config file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(extra)
    return env


def peak_rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


@dataclass
class Watched:
    """A process the benchmark started, with its role and the highest RSS seen."""

    role: str
    process: subprocess.Popen
    log: Path
    peak_rss: int = 0

    @property
    def peak_rss_mb(self) -> float:
        return round(self.peak_rss / 2**20, 1)


@dataclass
class MemoryWatch:
    """Samples the peak RSS of every watched process on a background thread."""

    interval: float = 0.2
    watched: list[Watched] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="bench-memory", daemon=True)
        self._thread.start()

    def add(self, item: Watched) -> Watched:
        with self._lock:
            self.watched.append(item)
        return item

    def sample(self) -> None:
        with self._lock:
            items = list(self.watched)
        for item in items:
            if item.process.poll() is None:
                peak = peak_rss_bytes(item.process.pid)
                if peak:
                    item.peak_rss = max(item.peak_rss, peak)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peaks_mb(self) -> dict[str, float]:
        """Highest peak per role, in MiB."""
        peaks: dict[str, float] = {}
        for item in self.watched:
            peaks[item.role] = max(peaks.get(item.role, 0.0), item.peak_rss_mb)
        return peaks


def start(watch: MemoryWatch, role: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> Watched:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("ab")
    process = subprocess.Popen(command, cwd=REPO, env=env or clean_env(), stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    handle.close()
    return watch.add(Watched(role, process, log))


def stop(item: Watched, timeout: float = 60.0) -> int:
    """SIGTERM (the workers' graceful stop), SIGKILL after `timeout`; returns the exit status."""
    process = item.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def wait_log(item: Watched, text: str, timeout: float) -> bool:
    """Wait until `text` shows up in the process's log (False on timeout or exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if item.log.exists() and text in item.log.read_text(encoding="utf-8", errors="replace"):
            return True
        if item.process.poll() is not None:
            return False
        time.sleep(0.2)
    return False
