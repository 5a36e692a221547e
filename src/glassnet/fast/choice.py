"""Whether a fit runs on the compiled path: decided once, from the fit's own arguments.

Using the kernels costs a new process a fixed price once: importing numba and loading
the kernels a fit needs from numba's on-disk cache (``IMPORT`` + ``LOAD``). They save
time on every step: NumPy's calls, and a share of the arithmetic around the matrix
products. In "auto", a fit uses them when what they would save on *this fit alone*
reaches that price. Whether numba is already imported, what earlier fits chose, or
whether the cache is warm never enters: the same call makes the same choice in any
process, so it computes the same bits.

The figures are CPU seconds measured on a 2-core machine (``benchmarks/cold_start.py``);
they steer a choice, so they need to be right within a factor of two, not exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..data import Trainable
from ..losses import Loss
from ..optimizers import Optimizer
from . import scope

if TYPE_CHECKING:  # steps imports numba: only when a fit takes the compiled path
    from .steps import CompiledSteps

__all__ = ["choose", "saving", "price", "IMPORT", "LOAD"]

log = logging.getLogger(__name__)

#: Seconds to import numba and start its compiler (which loading from the cache needs).
IMPORT = 1.6
#: Seconds to load a group of kernels from the on-disk cache.
LOAD = {"train": 0.15, "layers": 0.15, "update": 0.05}

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


def saving(net: Trainable, X: Any, batch: int | None, epochs: int, small: bool) -> float:
    """Seconds the kernels would save on this fit (an estimate)."""
    n = X.shape[0]
    rows = n if batch is None else min(batch, n)
    steps = epochs * -(-n // rows)
    if small:
        return steps * SMALL_STEP
    params = net.count_params()
    dense = sum(1 for layer in net.layers if hasattr(layer, "units"))
    per_step = LAYER_STEP * dense + ARITHMETIC * 3 * rows * params / RATE + UPDATE * params
    return steps * per_step


def price(groups: Iterable[str]) -> float:
    """What using these groups of kernels costs a new process, in seconds."""
    return IMPORT + sum(LOAD[g] for g in groups)


def choose(
    net: Trainable,
    loss: Loss,
    opt: Optimizer,
    X: Any,
    batch: int | None,
    epochs: int,
    l2: float,
    forced: bool,
) -> CompiledSteps | None:
    """The compiled step strategy (:class:`.steps.CompiledSteps`) for this fit, or None
    for NumPy's: with ``forced``, wherever the kernels apply; otherwise when they pay
    on this fit (see the module docstring). None too when numba is not installed, or
    does not import."""
    groups, small = scope.groups_for(net, loss, opt, X, batch)
    if not groups:
        return None
    if not forced and saving(net, X, batch, epochs, small) < price(groups):
        return None
    try:
        from . import steps  # imports numba
    except ImportError as exc:  # not installed, or installed but broken
        if not isinstance(exc, ModuleNotFoundError) or exc.name != "numba":
            log.warning("the compiled path is unavailable (%s); training on NumPy", exc)
        return None
    from . import cache

    assert net.dtype is not None  # built
    cache.announce(groups, net.dtype.name)
    rows = X.shape[0] if batch is None else min(batch, X.shape[0])
    covered = "train" in groups or "layers" in groups
    return steps.CompiledSteps(net, loss, opt, l2, small, rows, covered)
