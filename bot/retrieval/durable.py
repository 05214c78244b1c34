"""Crash-safe files for the index folder: write under a temporary name, fsync, rename, fsync the folder.

A rename is atomic, but without the fsyncs a power loss can publish a name whose content never reached the
disk. Every temporary name this module makes starts with a dot and contains `.tmp`, so one sweep finds what
any crash left behind. `FolderLock` keeps two builders (two processes, or the CLI and the bot) from ever
interleaving in one folder.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import time
from pathlib import Path

from bot.errors import Busy

log = logging.getLogger("studybot.index")

LOCK_NAME = ".build.lock"
_WAIT_POLL_SECONDS = 0.1


def temporary_name(final: Path) -> Path:
    """The temporary sibling a file or folder is written under before it is published as `final`."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def is_temporary(name: str) -> bool:
    """True for every temporary name a writer may leave after a crash (older `.tmp-*` and `.tmp.npy` too)."""
    return name.startswith(".") and ".tmp" in name


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the folder's entries (names created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create a folder (and parents), making each new entry durable in its parent."""
    if path.is_dir():
        return
    ensure_dir(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    fsync_dir(path.parent)


def publish(tmp: Path, final: Path) -> None:
    """Make `tmp` (a file, or a folder of files) durable, then rename it to `final` and make that durable."""
    if tmp.is_dir():
        for child in tmp.iterdir():
            fsync_file(child)
    fsync_dir(tmp) if tmp.is_dir() else fsync_file(tmp)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: afterwards readers see the old content or the new one, never a mix."""
    tmp = temporary_name(path)
    with tmp.open("wb") as f:
        f.write(data)
    publish(tmp, path)


def sweep_temporary(folder: Path) -> list[Path]:
    """Remove every temporary file or folder directly in `folder`; only call this while holding its lock."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        if is_temporary(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


class FolderLock:
    """An exclusive lock on a folder, held by one process (flock, released by the kernel if the holder dies).

    A second builder waits up to `timeout` seconds (saying so once in the log), then raises Busy with a
    message naming the folder and the process that holds it.
    """

    def __init__(self, folder: Path, timeout: float = 600.0):
        self.folder = Path(folder)
        self.timeout = timeout
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK_NAME

    def _holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"process {pid}" if pid.isdigit() else "another process"

    def __enter__(self) -> "FolderLock":
        ensure_dir(self.folder)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        attempts = 0
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise
                attempts += 1
                if time.monotonic() >= deadline:
                    raise Busy(f"An index build is already running in '{self.folder}' ({self._holder()}); "
                               "try again when it finishes.")
                if attempts == 2:  # (not at once: the holder writes its pid just after it takes the lock)
                    log.warning("an index build is already running in '%s' (%s); waiting for it to finish",
                                self.folder, self._holder())
                time.sleep(_WAIT_POLL_SECONDS)
            pid = f"{os.getpid()}\n".encode()
            os.pwrite(fd, pid, 0)
            os.ftruncate(fd, len(pid))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
