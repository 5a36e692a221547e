"""Writing a file so that it holds either its old content or all of the new, never a part.

Model files, figures, reports, ONNX graphs and prediction files are all written this way:
to a temporary file beside the target, flushed to disk, given the old file's mode, then
renamed over the target (a rename within a folder is atomic), and the folder synced so
the rename itself survives a crash. The standard library alone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

__all__ = ["atomic_path", "write_atomically"]


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path``; renamed over it when the block ends without an
    error, removed otherwise. The old file, if any, keeps its mode (new files get 0644)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
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


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
