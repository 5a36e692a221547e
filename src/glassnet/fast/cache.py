"""Loading and compiling the kernels: ahead (``python -m glassnet.fast --warm``), or
before the first fit that uses them, never silently.

numba compiles a kernel the first time it is called with a new signature and keeps
the machine code in its on-disk cache (``__pycache__`` beside kernels.py when that
folder is writable, else ``NUMBA_CACHE_DIR`` or the user's cache folder); a later
process loads it from there. The kernels come in groups, each loaded or compiled as a
whole, in the network's dtype, by running it once on a tiny network
(:func:`_exercise`), so that every signature a fit passes is there before it starts:

- ``train``: whole steps and runs of epochs of small networks, and their gradient
  alone, for L-BFGS (kernels.train);
- ``predict``: a few rows through a small network (kernels.predict);
- ``layers``: the kernels around the matrix products of larger networks;
- ``update``: the optimizer updates.

Which groups are in the cache is recorded in ``glassnet-kernels.json`` (in the folder
numba caches into, or beside it), with kernels.py's size and time, numba's and
Python's versions: a fit can then tell, without importing numba, what its kernels
would cost (:mod:`.policy`), and say so on stderr before it compiles any. Set
``GLASSNET_QUIET=1`` to silence that line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np

__all__ = ["GROUPS", "DTYPES", "loaded", "cached", "ensure", "warm_all", "cache_folder"]

GROUPS = ("train", "layers", "update", "predict")  # the slowest to compile first
DTYPES = ("float64", "float32")
MARKER = "glassnet-kernels.json"
_KERNELS = Path(__file__).with_name("kernels.py")

_loaded: set[tuple[str, str]] = set()  # (group, dtype) loaded in this process
_marker: dict | None = None  # this kernels.py's entry in the marker, read once
_folder: list = []  # [the marker's folder, or None]: found once
_exercising = False  # running a group's calls, whose fits must not ensure again


def loaded(group: str, dtype: str) -> bool:
    """Whether this process has loaded (or compiled) the group in this dtype."""
    return (group, dtype) in _loaded


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
    numba = Path(find_spec("numba").origin).with_name("_version.py").stat()
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


def _record(groups, dtype) -> None:
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


def _quiet() -> bool:
    return os.environ.get("GLASSNET_QUIET", "").strip().lower() not in ("", "0", "false", "no")


def _say(message: str, quiet: bool) -> None:
    if not (quiet or _quiet()):
        print(f"glassnet: {message}", file=sys.stderr, flush=True)


def _compile_notice(seconds: float, quiet: bool) -> None:
    folder = cache_folder()
    where = (
        f"cached in {folder}"
        if folder
        else "no cache folder can be written, so each process compiles them again"
    )
    _say(f"compiling the fast kernels once (about {max(1, round(seconds))} s; {where})", quiet)


def ensure(groups, dtype: str, quiet: bool = False) -> bool:
    """Load these groups of kernels in this dtype, compiling those not yet cached (with
    one line on stderr first, unless quiet); False if numba does not import."""
    missing = [g for g in groups if (g, dtype) not in _loaded]
    if _exercising or not missing:
        return True
    try:
        from . import kernels  # noqa: F401  (imports numba)
    except ImportError:
        from . import _broken

        _broken()
        return False
    from .policy import COMPILE

    new = [g for g in missing if not cached(g, dtype)]
    if new:
        _compile_notice(sum(COMPILE[g] for g in new), quiet)
    for group in missing:
        _exercise(group, dtype)
        _loaded.add((group, dtype))
    if new:
        _record(missing, dtype)
    return True


def _exercise(group: str, dtype: str) -> None:
    """Run the group's kernels once on a tiny network of this dtype, through the
    engine's own calls (so every signature a fit passes is compiled, and no other)."""
    global _exercising
    from .. import fast
    from ..layers import Dense
    from ..network import Network
    from ..optimizers import SGD, Adam
    from . import plan

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3)).astype(dtype)
    Y = rng.uniform(0.1, 0.9, size=(4, 2)).astype(dtype)
    labels = np.array([0, 1, 1, 0])
    weights = np.linspace(0.5, 1.5, 4)
    previous, _exercising = _exercising, True
    try:
        with fast.use(True), np.errstate(all="ignore"):
            if group == "train":
                net = Network([Dense(3, "tanh"), Dense(2, "softmax")], seed=0)
                net.fit(X, Y, loss="mse", optimizer=SGD(0.01), epochs=1, batch_size=2)
                for loss, target in (("mse", Y), ("cross_entropy", labels)):  # L-BFGS's
                    step = net._step_function(_loss(loss), X)
                    step(X, _target(net, target, loss), weights.astype(dtype), _loss(loss), 0.1)
            elif group == "predict":
                net = Network([Dense(3, "tanh"), Dense(2)], seed=0).build(3, dtype)
                net.predict(X[:1])
            elif group == "layers":
                wide = plan.SMALL_WIDTH + 1
                for loss, out, target in (
                    ("mse", "sigmoid", Y),
                    ("mae", "identity", Y),
                    ("bce", "sigmoid", Y.round()),
                    ("cross_entropy", "softmax", labels),
                    ("poisson", "exp", Y),
                ):
                    net = Network([Dense(wide, "relu"), Dense(2, out)], seed=0)
                    for batch in (1, 2):
                        net.fit(X, target, loss=loss, epochs=1, batch_size=batch, l2=0.1)
            elif group == "update":
                params = rng.normal(size=8).astype(dtype)
                grads = rng.normal(size=8).astype(dtype)
                for opt in (SGD(0.1), SGD(0.1, momentum=0.5), Adam(0.1, weight_decay=0.1)):
                    opt.prepare(params, 6)
                    opt.step(params, grads)
                    opt._update(params, grads, np.empty_like(params))
            else:
                raise ValueError(f"no kernel group {group!r}; the groups are {GROUPS}")
    finally:
        _exercising = previous


def _loss(name):
    from .. import losses

    return losses.get(name)


def _target(net, y, loss):
    return net._prepare_target(y, 4, _loss(loss))


def warm_all(jobs: int | None = None, quiet: bool = False) -> float:
    """Load every group in both dtypes, compiling (in ``jobs`` processes side by side)
    whatever is not cached yet; returns the seconds taken."""
    from .policy import COMPILE

    started = time.perf_counter()
    todo = [(g, d) for g in GROUPS for d in DTYPES if not cached(g, d)]
    if not todo:
        _say(f"the fast kernels are cached already ({_read_marker()['cache']})", quiet)
        return time.perf_counter() - started
    jobs = max(1, os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
    # One process a dtype: the groups of one dtype share most of their callees (and
    # numba's own helpers), which one process compiles once; all in one process cost
    # 35 s of CPU against 61 s in four.
    dtypes = sorted({d for _, d in todo}, key=DTYPES.index)
    parallel = min(jobs, len(dtypes))
    total = sum(COMPILE[g] for g, _ in todo)
    _compile_notice(total / parallel / 1.7, quiet)
    if parallel > 1:
        _in_processes({d: [g for g, dt in todo if dt == d] for d in dtypes}, parallel)
    # Load (or compile what a process could not) here, and record what is cached.
    for dtype in DTYPES:
        ensure(GROUPS, dtype, quiet=True)
        _record(GROUPS, dtype)
    seconds = time.perf_counter() - started
    folder = cache_folder()
    _say(f"the fast kernels are ready ({seconds:.0f} s; {folder or 'not cached'})", quiet)
    return seconds


def _in_processes(todo: dict, jobs: int) -> None:
    """Each dtype's groups (``todo``: dtype -> groups) compiled by a process of their
    own, ``jobs`` at a time."""
    import subprocess

    env = {**os.environ, "GLASSNET_QUIET": "1"}
    waiting = list(todo)
    running: list = []
    failed = False
    while waiting or running:
        while waiting and len(running) < jobs:
            dtype = waiting.pop(0)
            groups = ",".join(todo[dtype])
            command = [sys.executable, "-m", "glassnet.fast", "--warm-dtype", dtype, groups]
            running.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
        time.sleep(0.05)
        for proc in [p for p in running if p.poll() is not None]:
            running.remove(proc)
            failed = failed or proc.returncode != 0
    if failed:  # whatever it left is compiled again in this process, where errors show
        _say("a compiling process failed; compiling here instead", quiet=False)
