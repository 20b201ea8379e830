"""Reading a watched folder without leaving it: no link followed, regular files only, bounded reads.

    for entry in walk_folder(root):        # sorted; a folder's files before its subfolders; hidden names skipped
        if entry.problem:                  # a symlink, a FIFO, a socket, a device, a folder that cannot be read
            ...                            #   is not read: `problem` says why, in one line
        else:
            raw = entry.read(limit)        # at most `limit` bytes (SourceRejected beyond); read it before the next entry

Every name is opened relative to its folder's descriptor with O_NOFOLLOW, so neither a link nor a
folder swapped for a link while the walk runs can lead outside the root; a file is opened
non-blocking and checked with fstat before a byte is read, so a FIFO cannot block the read and a
device cannot stream forever. The configured root itself is the user's choice and is followed.

`relative` is printable: bytes that are not UTF-8 and control characters are escaped (`\\xff`,
`\\x1b`), so any file name can be an article id, a checkpoint key, a log field and a JSON string.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SourceRejected

__all__ = ["FolderEntry", "walk_folder", "printable_name", "special_filesystem", "MAX_DEPTH"]

MAX_DEPTH = 64  # folders nested deeper are reported, not read
READ_CHUNK = 1024 * 1024
SPECIAL_ROOTS = ("/proc", "/sys", "/dev")
_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}


def printable_name(name: str) -> str:
    """A file name as text that is safe anywhere: undecodable bytes and control characters escaped as `\\xNN`."""
    return os.fsencode(name).decode("utf-8", "backslashreplace").translate(_ESCAPES)


def special_filesystem(path: Path) -> str | None:
    """The kernel's pseudo-filesystem `path` lies on (/proc, /sys, /dev), or None: those are not folders of articles."""
    real = os.path.realpath(path)
    for root in SPECIAL_ROOTS:
        if real == root or real.startswith(root + "/"):
            return root
    return None


def _kind(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symlink, not followed"
    for test, what in _NOT_REGULAR:
        if test(mode):
            return f"not a regular file ({what})"
    return "not a regular file"


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


@dataclass
class FolderEntry:
    """One thing found under the root: a regular file to read, or something left alone and why (`problem`)."""

    relative: str
    stat: os.stat_result | None = None
    problem: str | None = None
    folder_fd: int | None = None
    name: str | None = None
    follow: bool = False  # only the configured root file itself is followed

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.relative)[1].lower()

    def marker(self) -> str:
        """What changes when the entry changes (size and modification time), for "already reported" checks."""
        if self.stat is None:
            return "-"
        return f"{self.stat.st_size}:{self.stat.st_mtime_ns}"

    def read(self, limit: int) -> bytes:
        """The file's bytes, at most `limit`: SourceRejected if it is not a regular file or is bigger; OSError if unreadable."""
        if self.problem or self.folder_fd is None or self.name is None:  # a device is never even opened
            raise SourceRejected(self.problem or "not a file")
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if self.follow else os.O_NOFOLLOW)
        try:
            fd = os.open(self.name, flags, dir_fd=self.folder_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:  # it became a link after it was listed
                raise SourceRejected("symlink, not followed") from None
            raise
        try:
            opened = os.fstat(fd)
            problem = _kind(opened.st_mode)
            if problem:
                raise SourceRejected(problem)
            if opened.st_size > limit:
                raise SourceRejected(f"file is {opened.st_size} bytes, over the limit of {limit}")
            data = bytearray()
            while len(data) <= limit:
                chunk = os.read(fd, min(READ_CHUNK, limit + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
            if len(data) > limit:  # it grew while we read (or lies about its size)
                raise SourceRejected(f"file is over the limit of {limit} bytes")
            return bytes(data)
        finally:
            os.close(fd)


def walk_folder(path: Path) -> Iterator[FolderEntry]:
    """Every entry under `path` (a folder, or one file) in a stable order; see the module docstring."""
    path = Path(path)
    try:
        target = os.stat(path)
    except OSError as e:
        yield FolderEntry(printable_name(path.name), problem=f"cannot read: {_reason(e)}")
        return
    if stat.S_ISDIR(target.st_mode):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            yield FolderEntry("./", problem=f"cannot read folder: {_reason(e)}")
            return
        try:
            yield from _walk(fd, "", 0)
        finally:
            os.close(fd)
        return
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield FolderEntry(printable_name(path.name), target, _kind(target.st_mode), parent, path.name, follow=True)
    finally:
        os.close(parent)


def _walk(folder_fd: int, prefix: str, depth: int) -> Iterator[FolderEntry]:
    try:
        with os.scandir(folder_fd) as listing:
            names = sorted(entry.name for entry in listing if not entry.name.startswith("."))
    except OSError as e:
        yield FolderEntry(prefix or "./", problem=f"cannot read folder: {_reason(e)}")
        return
    folders = []
    for name in names:
        relative = prefix + printable_name(name)
        try:
            found = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone since the listing
        except OSError as e:
            yield FolderEntry(relative, problem=f"cannot read: {_reason(e)}")
            continue
        if stat.S_ISDIR(found.st_mode):
            folders.append((name, relative, found))
        else:
            yield FolderEntry(relative, found, _kind(found.st_mode), folder_fd, name)
    for name, relative, found in folders:
        if depth + 1 >= MAX_DEPTH:
            yield FolderEntry(relative + "/", found, f"folder nested deeper than {MAX_DEPTH} levels, not read")
            continue
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
        except OSError as e:
            problem = "symlink, not followed" if e.errno in (errno.ELOOP, errno.ENOTDIR) else f"cannot read folder: {_reason(e)}"
            yield FolderEntry(relative + "/", found, problem)
            continue
        try:
            yield from _walk(fd, relative + "/", depth + 1)
        finally:
            os.close(fd)
