"""When the compiled path pays: the kernels' one-time cost against what they save.

Using the kernels costs once per process: importing numba (``IMPORT``), then loading
each group of kernels a fit needs from numba's on-disk cache (``LOAD``), or compiling
it when it is not cached yet (``COMPILE``). They save time on every step: NumPy's
calls, and a share of the arithmetic around the matrix products. In auto mode, a fit
uses the kernels when what they would save on it, together with what they could have
saved on this process's earlier fits, reaches their one-time cost (the ski-rental
rule: a process of many short fits pays the cost once it has lost as much, which never
makes it more than twice as slow as the better choice made in hindsight). A fit whose
kernels are loaded already pays nothing and always uses them.

The figures are CPU seconds measured on a 2-core machine (``benchmarks/cold_start.py``
and the module ``glassnet.fast.cache``); they steer a choice, so they need to be right
within a factor of two, not exact.
"""

from __future__ import annotations

import sys

import numpy as np

from . import plan as _plan

__all__ = ["decide", "predict_pays", "groups_for", "saving", "one_time_cost"]

#: Seconds to import numba and start its compiler (which loading from the cache needs
#: too), once per process.
IMPORT = 1.6
#: Seconds to load a group of kernels from the on-disk cache, and to compile it.
LOAD = {"train": 0.15, "predict": 0.05, "layers": 0.15, "update": 0.05}
COMPILE = {"train": 30.0, "predict": 5.0, "layers": 19.0, "update": 6.0}

#: Seconds a step the whole-step kernel saves: the NumPy path's thirty-odd calls.
SMALL_STEP = 5e-5
#: Layer by layer: seconds a Dense layer saves per step (the calls fused away) ...
LAYER_STEP = 8e-6
#: ... and the share of the step's arithmetic outside the matrix products it saves,
#: with the step's multiply-adds done at RATE a second.
ARITHMETIC = 0.15
RATE = 1e10
#: Seconds the fused update saves per parameter and step (Adam's twelve passes in one).
UPDATE = 3e-9
#: Seconds a one-row prediction saves (14 NumPy calls against one kernel call).
PREDICT = 8e-6

_forgone = 0.0  # what the kernels could have saved on this process's fits, unused


def groups_for(net, loss, opt, X, batch: int | None) -> tuple[list[str], bool]:
    """The kernel groups a fit uses (see glassnet.fast.cache.GROUPS), and whether it
    runs whole steps (the small-network kernels)."""
    from ..optimizers import LBFGS, SGD, Adam
    from . import small_optimizer

    covered = type(X) is np.ndarray and _plan.covers(net, loss)
    rows = X.shape[0] if batch is None else min(batch, X.shape[0])
    small = covered and _plan.small_network(net) and rows * net._params.size <= _plan.SMALL_WORK
    if isinstance(opt, LBFGS):
        return ([("train" if small else "layers")] if covered else []), small
    if small and small_optimizer(opt):
        return ["train"], True
    groups = ["layers"] if covered else []
    if isinstance(opt, (SGD, Adam)):
        groups.append("update")
    return groups, False


def saving(net, X, batch: int | None, epochs: int, small: bool) -> float:
    """Seconds the kernels would save on this fit (an estimate)."""
    n = X.shape[0]
    rows = n if batch is None else min(batch, n)
    steps = epochs * -(-n // rows)
    params = net._params.size
    if small:
        return steps * SMALL_STEP
    dense = sum(1 for layer in net.layers if hasattr(layer, "units"))
    per_step = LAYER_STEP * dense + ARITHMETIC * 3 * rows * params / RATE + UPDATE * params
    return steps * per_step


def one_time_cost(groups, dtype) -> float:
    """Seconds this process would spend before it can use these groups of kernels."""
    from . import cache as _cache

    missing = [g for g in groups if not _cache.loaded(g, dtype)]
    if not missing:
        return 0.0
    cost = 0.0 if "numba" in sys.modules else IMPORT
    for group in missing:
        cost += LOAD[group] if _cache.cached(group, dtype) else COMPILE[group]
    return cost


def _pays(groups, dtype, saved: float) -> bool:
    global _forgone
    if "numba" not in sys.modules and _forgone + saved < IMPORT + sum(LOAD[g] for g in groups):
        _forgone += saved  # less than the least it can cost: no need to look further
        return False
    cost = one_time_cost(groups, dtype)
    if cost == 0.0:
        return True
    if _forgone + saved >= cost:
        _forgone = 0.0
        return True
    _forgone += saved
    return False


def decide(net, loss, opt, X, batch: int | None, epochs: int, forced: bool) -> bool:
    """Whether this fit uses the kernels; if so, they are loaded (or compiled) here."""
    groups, small = groups_for(net, loss, opt, X, batch)
    if not groups:
        return forced  # nothing to compile: the BLAS policy alone
    dtype = np.dtype(net.dtype).name
    if not forced and not _pays(groups, dtype, saving(net, X, batch, epochs, small)):
        return False
    from . import cache as _cache

    return _cache.ensure(groups, dtype)


def predict_pays(net) -> bool:
    """In auto mode, outside a fit: whether a one-row prediction of ``net`` uses the
    kernels (they are loaded, or this process has predicted often enough to pay). On
    the path of every one-row prediction: a few look-ups until then."""
    global _forgone
    small = net._plans.get("small prediction")  # cleared with the plans
    if small is None:
        small = (
            net._params is not None
            and _plan.covers(net, None)
            and _plan.small_network(net, training=False)
        )
        net._plans["small prediction"] = small
    if not small:
        return False
    if "numba" not in sys.modules and _forgone + PREDICT < IMPORT + LOAD["predict"]:
        _forgone += PREDICT
        return False
    from . import cache as _cache

    dtype = net.dtype.name
    if _cache.loaded("predict", dtype):
        return True
    return _pays(["predict"], dtype, PREDICT) and _cache.ensure(["predict"], dtype)
