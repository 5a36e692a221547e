"""Compiling the kernels ahead, into numba's on-disk cache (``python -m glassnet.fast
--warm``), so that no fit waits for a compile.

Each group of kernels (see :mod:`.cache`) is compiled by running the engine's own
calls once on a tiny network of each dtype, with the compiled path forced on, so every
signature a fit passes is compiled, and no other. One process a dtype compiles its
groups side by side with the other's: the groups of one dtype share most of their
callees (and numba's own helpers), which one process compiles once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import numpy as np

from .. import losses as gn_losses
from ..layers import Dense, Dropout, Parametric
from ..network import Network
from ..optimizers import LBFGS, SGD, Adam
from . import cache as _cache

__all__ = ["exercise", "warm_all"]

log = logging.getLogger(__name__)


def exercise(group: str, dtype: str) -> None:
    """Run one group's kernels once, in this dtype, through the engine's own calls."""
    from .scope import SMALL_WIDTH

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3)).astype(dtype)
    Y = rng.uniform(0.1, 0.9, size=(4, 2)).astype(dtype)
    labels = np.array([0, 1, 1, 0])
    weights = np.linspace(0.5, 1.5, 4)

    def fit(net, target, loss="mse", **options):
        net.fit(X, target, loss=loss, epochs=1, compiled=True, **options)

    with np.errstate(all="ignore"):
        if group == "train":
            for opt in (SGD(0.01), SGD(0.01, momentum=0.5), Adam(0.01, weight_decay=0.1)):
                net = Network([Dense(3, "tanh"), Dense(2, "softmax")], seed=0)
                fit(net, Y, optimizer=opt, batch_size=2)
            for loss, target in (("mse", Y), ("cross_entropy", labels)):  # L-BFGS's
                net = Network([Dense(3, "tanh"), Dense(2, "softmax")], seed=0)
                fit(net, target, loss, optimizer=LBFGS(), sample_weight=weights, l2=0.1)
        elif group == "layers":
            wide = SMALL_WIDTH + 1
            for loss, out, target in (
                ("mse", "sigmoid", Y),
                ("mae", "identity", Y),
                ("bce", "sigmoid", Y.round()),
                ("cross_entropy", "softmax", labels),
                ("poisson", "exp", Y),
            ):
                net = Network([Dense(wide, "relu"), Dense(2, out)], seed=0)
                for batch in (1, 2):
                    fit(net, target, loss, optimizer=LBFGS() if batch == 1 else None, l2=0.1)
                    fit(net, target, loss, batch_size=batch, l2=0.1)
            # the default recipe's blends (SELU and Mish), behind factors on the rate
            recipe = [Dense(wide, lr_factor=0.5), Parametric("selu"), Dropout(0.1)]
            recipe += [Dense(wide), Parametric("mish"), Dense(2, "softmax")]
            smoothed = gn_losses.CrossEntropy(smoothing=0.1)
            fit(Network(recipe, seed=0), labels, smoothed, batch_size=2)
        elif group == "update":
            from .steps import CompiledSteps

            net = Network([Dense(2)], seed=0).build(3, dtype)
            params, grads = net.parameters, np.ones_like(net.parameters)
            factors = np.full_like(params, 0.5)  # Adam's kernel with factors on the rate
            for opt, lr_factors in (
                (SGD(0.1), None),
                (SGD(0.1, momentum=0.5), None),
                (Adam(0.1, weight_decay=0.1), None),
                (Adam(0.1, weight_decay=0.1), factors),
            ):
                opt.prepare(params, net.n_weights, lr_factors)
                mse = gn_losses.get("mse")
                update = CompiledSteps(net, mse, opt, 0.0, False, 1, covered=False).update
                update(params, grads, None)
                update(params, grads, np.empty_like(params))
        else:
            raise ValueError(f"no kernel group {group!r}; the groups are {_cache.GROUPS}")


def warm_all(jobs: int | None = None, quiet: bool = False) -> float:
    """Compile every group in both dtypes (in ``jobs`` processes side by side) whatever
    is not cached yet, and record it; returns the seconds taken."""
    say = (lambda message: None) if quiet else log.info
    started = time.perf_counter()
    todo = [(g, d) for g in _cache.GROUPS for d in _cache.DTYPES if not _cache.cached(g, d)]
    if not todo:
        say(f"the fast kernels are cached already ({_cache.cache_folder()})")
        return time.perf_counter() - started
    jobs = max(1, os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
    dtypes = sorted({d for _, d in todo}, key=_cache.DTYPES.index)
    parallel = min(jobs, len(dtypes))
    # Two compiling processes share callees a single one compiles once: about 1.7x.
    say(_cache.compile_notice(sum(_cache.COMPILE[g] for g, _ in todo) / parallel / 1.7))
    if parallel > 1:
        _in_processes({d: [g for g, dt in todo if dt == d] for d in dtypes}, parallel)
    # Load (or compile what a process could not) here, and record what is cached.
    for dtype in _cache.DTYPES:
        for group in _cache.GROUPS:
            exercise(group, dtype)
        _cache.record(_cache.GROUPS, dtype)
    seconds = time.perf_counter() - started
    say(f"the fast kernels are ready ({seconds:.0f} s; {_cache.cache_folder() or 'not cached'})")
    return seconds


def _in_processes(todo: dict, jobs: int) -> None:
    """Each dtype's groups (``todo``: dtype -> groups) compiled by a process of their
    own, ``jobs`` at a time."""
    waiting = list(todo)
    running: list = []
    failed = False
    while waiting or running:
        while waiting and len(running) < jobs:
            dtype = waiting.pop(0)
            groups = ",".join(todo[dtype])
            command = [sys.executable, "-m", "glassnet.fast", "--warm-dtype", dtype, groups]
            running.append(subprocess.Popen(command, stderr=subprocess.DEVNULL))
        time.sleep(0.05)
        for proc in [p for p in running if p.poll() is not None]:
            running.remove(proc)
            failed = failed or proc.returncode != 0
    if failed:  # whatever it left is compiled again in this process, where errors show
        log.warning("a compiling process failed; compiling here instead")
