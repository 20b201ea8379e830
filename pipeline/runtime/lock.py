"""One process at a time works on a data_dir: an exclusive lock that says who holds it.

Two `newswire run`s on one data_dir would both read every connector, both index and both
append the same dead letters; a `deadletter replay` beside a run would rewrite the store
under it. So the commands that write there (an embedded run, the connectors worker, a replay)
hold `data_dir/newswire.lock` with `flock`: the kernel releases it when the process ends, even
after kill -9, so a stale file never blocks anyone. The holder writes its pid, host, command
and start time into the file, and the second process fails at once with one line naming them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from pipeline.errors import DataDirInUse, StorageError

__all__ = ["DataDirLock", "LOCK_NAME"]

logger = logging.getLogger(__name__)

LOCK_NAME = "newswire.lock"
MAX_HOLDER_BYTES = 500


class DataDirLock:
    """`with DataDirLock(data_dir, "newswire run"):` — DataDirInUse when another process holds it."""

    def __init__(self, data_dir: Path, command: str) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> "DataDirLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise StorageError(f"cannot create the lock {self.path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, MAX_HOLDER_BYTES, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DataDirInUse(
                f"{self.path.parent} is in use by {holder}: wait for it to end or stop it first"
            ) from None
        holder = (
            f"pid {os.getpid()} on {socket.gethostname()} ({self.command}, "
            f"since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC)"
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode("utf-8"), 0)
        except OSError as e:  # a full disk: the lock is held all the same; only the note is missing
            logger.warning("lock note not written path=%s error=%s", self.path, e.strerror or e)
        self._fd = fd
        logger.debug("data_dir locked path=%s holder=%s", self.path, holder)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing releases the flock
            self._fd = None
