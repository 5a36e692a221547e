"""The optional compiled path (the ``fast`` extra: numba and threadpoolctl).

The NumPy code of the engine is the reference, and what runs without this extra.
With it installed, the engine hands these parts of training and prediction to
compiled kernels that do the same arithmetic in fewer passes:

- the optimizer updates (SGD, with momentum or Nesterov; Adam and AdamW): one pass
  over the flat vectors, bit for bit the NumPy result;
- for networks of Dense and Dropout layers with the built-in activations and losses,
  everything around the matrix products: bias and activation, the activation's
  derivative with the bias gradient, the loss, dW of one row;
- for small networks trained a sample or a few samples at a time, the whole step, and
  whole epochs, in one call; and their predictions;
- while training a network whose matrix products are small, BLAS runs on one thread
  (:mod:`.threads`).

The kernels are in :mod:`.kernels`; :mod:`.plan` decides which run, on which buffers.
Both paths agree to rounding (1e-12 and better in float64; bit for bit wherever they
do the same operations). To use the NumPy path alone, set the environment variable
``GLASSNET_FAST=0`` before the first fit, or call ``glassnet.fast.set_enabled(False)``
(``with glassnet.fast.use(False): ...`` for a block). numba is imported on the first
fit or prediction that can use it, never by ``import glassnet``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = [
    "available",
    "enabled",
    "set_enabled",
    "use",
    "plan_for",
    "optimizer_kernels",
    "small_optimizer",
    "blas_threads",
]

_OFF = ("0", "false", "no", "off")
_kernels_loaded: bool | None = None  # None: not tried yet
_on: bool | None = None  # None: not decided yet


def available() -> bool:
    """Whether numba imports (the ``fast`` extra is installed); imports it the first time."""
    global _kernels_loaded
    if _kernels_loaded is None:
        try:
            from . import plan  # noqa: F401  (imports numba, through .kernels)
        except ImportError:
            _kernels_loaded = False
        else:
            _kernels_loaded = True
    return _kernels_loaded


def enabled() -> bool:
    """Whether the engine uses the compiled path: the extra is installed, and neither
    ``GLASSNET_FAST=0`` nor ``set_enabled(False)`` turned it off."""
    global _on
    if _on is None:
        _on = os.environ.get("GLASSNET_FAST", "1").strip().lower() not in _OFF and available()
    return _on


def set_enabled(flag: bool) -> bool:
    """Use the compiled path (where it applies) or the NumPy path alone; returns the
    previous setting. Turning it on without the extra installed leaves it off."""
    global _on
    previous = enabled()
    _on = bool(flag) and available()
    return previous


@contextmanager
def use(flag: bool):
    """``with glassnet.fast.use(False):`` runs a block on the NumPy path alone."""
    previous = set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(previous)


def plan_for(net, loss):
    """The compiled path's Plan for this network and loss, or None when it does not apply
    (or is off). Plans are cached on the network until its buffers change."""
    if not enabled():
        return None
    key = (type(loss), getattr(loss, "delta", None))
    plans = net._plans
    if key not in plans:
        from .plan import make_plan

        plans[key] = make_plan(net, loss)
    return plans[key]


def optimizer_kernels():
    """The compiled kernels (glassnet.fast.kernels), whose optimizer updates Optimizer.step
    calls, when the compiled path
    is on, else None."""
    if not enabled():
        return None
    from . import kernels  # already imported by available(): a dictionary look-up

    return kernels


def small_optimizer(opt) -> bool:
    """Whether the small-network kernels run this optimizer's update themselves (SGD and
    Adam as glassnet ships them, not subclasses that change their step)."""
    from ..optimizers import SGD, Adam

    return type(opt) in (SGD, Adam)


def blas_threads(net, batch: int):
    """The BLAS threading policy for training ``net`` on batches of ``batch`` rows (see
    glassnet.fast.threads): a context manager, which changes nothing when the compiled
    path is off."""
    if not enabled():
        from contextlib import nullcontext

        return nullcontext()
    from .threads import limited

    return limited(net, batch)
