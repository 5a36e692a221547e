"""Writing a file so that it holds either its old content or all of the new, never a part.

Model files, figures, reports, ONNX graphs and prediction files are all written this way:
to a temporary file beside the target, flushed to disk, given the old file's mode, then
renamed over the target (a rename within a folder is atomic), and the folder synced so
the rename itself survives a crash. The standard library alone.

A writer killed outright (``kill -9``, a power cut) leaves its temporary file behind.
Each temporary file is named for its target, its machine and its writer,
``.NAME.HOST-PID.RANDOM.tmp`` (HOST: 8 hex digits of the host name's SHA-256), so the
next write to the same target removes the ones that are stale: those of this machine
whose writer process no longer exists (``os.kill(pid, 0)`` finds no such process). An
age would not do: a slow writer of a large file is not stale, and a fast crash is.
Nothing else is ever removed: not a temporary file of another target, of another
machine (a shared folder), of another user, of a process still running (whatever it is
now, should its PID have been reused), nor anything that is not a regular file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
from collections.abc import Iterator

__all__ = ["atomic_path", "write_atomically", "destination", "temporary_name", "remove_stale"]


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temporary_name(target: str, pid: int | None = None) -> str:
    """The name (in the target's folder) of a new temporary file for ``target``, written by
    process ``pid`` (default this one): ``.NAME.HOST-PID.RANDOM.tmp``."""
    pid = os.getpid() if pid is None else pid
    return f".{os.path.basename(target)}.{_host()}-{pid}.{secrets.token_hex(4)}.tmp"


def _pattern(target: str) -> re.Pattern[str]:
    return re.compile(
        rf"\.{re.escape(os.path.basename(target))}\.([0-9a-f]{{8}})-([0-9]+)\.[0-9a-f]{{8}}\.tmp"
    )


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a number we cannot ask about: keep
    return True


def remove_stale(target: str) -> list[str]:
    """Remove the temporary files of ``target`` left by writers of this machine that no
    longer run (see the module's description); returns the paths removed. Errors (a
    file another process removes first, a folder we may not write) are ignored."""
    folder = os.path.dirname(os.path.abspath(target))
    pattern, host = _pattern(target), _host()
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if not match or match.group(1) != host or _running(int(match.group(2))):
            continue
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed


def _create(folder: str, target: str) -> str:
    while True:
        tmp = os.path.join(folder, temporary_name(target))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        os.close(fd)
        return tmp


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path``; renamed over it when the block ends without an
    error, removed otherwise. The old file, if any, keeps its mode (new files get 0644).
    Stale temporary files of ``path`` (see :func:`remove_stale`) are removed first."""
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale(path)
    tmp = _create(folder, path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def destination(path: str) -> tuple[str | None, os.stat_result | None]:
    """What stops a file being written at ``path``, as words that follow the path
    (" is a folder; give a file name", ": the folder F does not exist"), or None; and
    the stat of the file there, if there is one."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return f": {exc.strerror}", None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return " is a folder; give a file name", info
    if info is not None and not stat.S_ISREG(info.st_mode):
        return " is not a regular file (a device or a FIFO)", info
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f": the folder {folder} does not exist", info
    if not os.access(folder, os.W_OK):
        return f": the folder {folder} is not writable", info
    return None, info


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
