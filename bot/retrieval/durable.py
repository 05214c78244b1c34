"""Crash-safe files for the index folder: write under a temporary name, fsync, rename, fsync the folder.

A rename is atomic, but without the fsyncs a power loss can publish a name whose content never reached the
disk. Every temporary name this module makes starts with a dot and contains `.tmp`, so one sweep finds what
any crash left behind. `FolderLock` keeps two builders (two processes, or the CLI and the bot) from ever
interleaving in one folder.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import Busy

log = logging.getLogger("studybot.index")

LOCK_NAME = ".build.lock"
_WAIT_POLL_SECONDS = 0.1


_serial = itertools.count()
_in_flight: set[Path] = set()  # temporaries this process is writing now (never swept)
_in_flight_lock = threading.Lock()


def temporary_name(final: Path) -> Path:
    """A fresh temporary sibling to write `final` under: `.<name>.<pid>.<serial>.tmp`."""
    return final.with_name(f".{final.name}.{os.getpid()}.{next(_serial)}.tmp")


def is_temporary(name: str) -> bool:
    """True for every temporary name a writer may leave after a crash (older `.tmp-*` and `.tmp.npy` too)."""
    return name.startswith(".") and ".tmp" in name


_WRITER_PID = (re.compile(r"\.(\d+)\.\d+\.tmp$"), re.compile(r"\.(\d+)\.tmp(?:\.npy)?$"), re.compile(r"-(\d+)$"))


def writer_pid(name: str) -> int | None:
    """The process that made a temporary name, when the name says."""
    for pattern in _WRITER_PID:
        if m := pattern.search(name):
            return int(m.group(1))
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def staged(final: Path) -> Iterator[Path]:
    """A temporary name to write `final` under: publish it inside the block, or it is removed at the end.

    While the block runs, no sweep in this process touches it.
    """
    tmp = temporary_name(final)
    with _in_flight_lock:
        _in_flight.add(tmp)
    try:
        yield tmp
    finally:
        if tmp.exists() or tmp.is_symlink():  # not published: failed, or never meant to be
            _remove(tmp)
        with _in_flight_lock:
            _in_flight.discard(tmp)


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
    with staged(path) as tmp:
        tmp.write_bytes(data)
        publish(tmp, path)


def sweep_temporary(folder: Path) -> list[Path]:
    """Remove the temporary files and folders directly in `folder` that crashed writers left.

    Spared: what this process is writing now, and what another live process is writing (e.g. the bot saving
    its server-notes cache while the CLI builds); a crashed writer's pid is dead, or its temporary is not
    in flight. Builders call this under the folder's lock, so no other builder is writing.
    """
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        if not is_temporary(entry.name):
            continue
        pid = writer_pid(entry.name)
        with _in_flight_lock:
            in_flight = entry in _in_flight
        if in_flight or (pid is not None and pid != os.getpid() and _alive(pid)):
            continue
        _remove(entry)
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
