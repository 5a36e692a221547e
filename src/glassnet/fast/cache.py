"""What is in numba's on-disk cache of the kernels, and saying so before compiling.

numba compiles a kernel the first time it is called with a new signature and keeps
the machine code in its on-disk cache (``__pycache__`` beside kernels.py when that
folder is writable, else ``NUMBA_CACHE_DIR`` or the user's cache folder); a later
process loads it from there. The kernels come in groups, compiled ahead as wholes by
:mod:`.ahead`, in each dtype:

- ``train``: whole steps and runs of epochs of small networks, and their gradient
  alone, for L-BFGS (kernels.train);
- ``layers``: the kernels around the matrix products of larger networks;
- ``update``: the optimizer updates.

Which groups are in the cache is recorded in ``glassnet-kernels.json`` (in the folder
numba caches into, or beside it), with kernels.py's size and time, numba's and
Python's versions. A fit on the compiled path whose groups are not recorded there says,
once a process, through the ``glassnet.fast.cache`` logger (INFO), that it compiles
them. None of this changes what a fit computes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path

__all__ = ["GROUPS", "DTYPES", "COMPILE", "cached", "record", "announce", "cache_folder"]

GROUPS = ("train", "layers", "update")  # the slowest to compile first
DTYPES = ("float64", "float32")
#: Seconds to compile a group (CPU seconds on a 2-core machine).
COMPILE = {"train": 30.0, "layers": 19.0, "update": 6.0}
MARKER = "glassnet-kernels.json"
_KERNELS = Path(__file__).with_name("kernels.py")

log = logging.getLogger(__name__)

_marker: dict | None = None  # this kernels.py's entry in the marker, read once
_folder: list = []  # [the marker's folder, or None]: found once
_announced: set[tuple[str, str]] = set()  # (group, dtype) said to compile in this process


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _marker_folder() -> Path | None:
    """Where the marker goes: the folder numba caches in when it can (NUMBA_CACHE_DIR,
    or __pycache__ beside kernels.py), else glassnet's own in the user's cache folder;
    None when none of them can be written."""
    if not _folder:
        candidates = []
        if os.environ.get("NUMBA_CACHE_DIR"):
            candidates.append(Path(os.environ["NUMBA_CACHE_DIR"]))
        candidates.append(_KERNELS.parent / "__pycache__")
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        candidates.append(Path(base) / "glassnet")
        _folder.append(next((c for c in candidates if _writable(c)), None))
    return _folder[0]


def _identity() -> dict:
    """What the cache depends on: kernels.py, numba (its installed files: reading its
    version from the package metadata would cost a tenth of a second), Python."""
    stat = _KERNELS.stat()
    spec = find_spec("numba")
    assert spec is not None and spec.origin is not None  # the compiled path has numba
    numba = Path(spec.origin).with_name("_version.py").stat()
    return {
        "stamp": [stat.st_mtime, stat.st_size],
        "numba": [numba.st_mtime, numba.st_size],
        "python": list(sys.version_info[:2]),
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", ""),
    }


def _read_marker() -> dict:
    """This kernels.py's entry, when it still describes numba's cache, else {}."""
    global _marker
    if _marker is None:
        _marker = {}
        folder = _marker_folder()
        entry = None  # none without a folder for the marker
        if folder is not None:
            try:
                entry = json.loads((folder / MARKER).read_text())[str(_KERNELS)]
            except (TypeError, OSError, ValueError, KeyError):
                entry = None
        if isinstance(entry, dict):
            identity = _identity()
            cache = entry.get("cache")
            fresh = all(entry.get(k) == v for k, v in identity.items())
            if fresh and cache and any(Path(cache).glob("kernels.*.nbi")):
                _marker = entry
    return _marker


def cached(group: str, dtype: str) -> bool:
    """Whether the group is in numba's on-disk cache in this dtype (as recorded)."""
    return f"{group}:{dtype}" in _read_marker().get("groups", ())


def cache_folder() -> str | None:
    """The folder numba caches the kernels in (None: no folder can be written, and each
    process compiles them again). Imports numba."""
    from . import kernels

    path = kernels.sgd.stats.cache_path
    return None if path in (None, "N/A") else str(path)


def record(groups: Iterable[str], dtype: str) -> None:
    """Adds the groups to the marker (written atomically; a lost race only means a
    later process says it compiles when it loads)."""
    global _marker
    folder, cache = _marker_folder(), cache_folder()
    if folder is None or cache is None:
        return
    path = folder / MARKER
    try:
        everything = json.loads(path.read_text())
        if not isinstance(everything, dict):
            everything = {}
    except (OSError, ValueError):
        everything = {}
    entry = everything.get(str(_KERNELS))
    identity = _identity()
    if not (isinstance(entry, dict) and all(entry.get(k) == v for k, v in identity.items())):
        entry = {**identity, "groups": []}
    entry["cache"] = cache
    entry["groups"] = sorted(set(entry["groups"]) | {f"{g}:{dtype}" for g in groups})
    everything[str(_KERNELS)] = entry
    try:
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as out:
            json.dump(everything, out, indent=1)
        os.replace(out.name, path)
    except OSError:
        return
    _marker = entry


def compile_notice(seconds: float) -> str:
    """The line that says the kernels compile now, how long that takes, and where they go."""
    folder = cache_folder()
    where = (
        f"cached in {folder}"
        if folder
        else "no cache folder can be written, so each process compiles them again"
    )
    return f"compiling the fast kernels once (about {max(1, round(seconds))} s; {where})"


def announce(groups: Iterable[str], dtype: str) -> None:
    """Before a fit uses these groups: say, at INFO, that those not recorded as cached
    compile now, and record them (numba caches what the fit compiles; a kernel of the
    group the fit does not call compiles, unannounced, when a later fit first calls it:
    ``python -m glassnet.fast --warm`` compiles them all ahead)."""
    new = [g for g in groups if not cached(g, dtype) and (g, dtype) not in _announced]
    if new:
        _announced.update((g, dtype) for g in new)
        log.info(compile_notice(sum(COMPILE[g] for g in new)))
        record(new, dtype)
