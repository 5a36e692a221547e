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
do the same operations).

**When.** The kernels cost something once per process: importing numba (about a
second), then loading each kernel from numba's on-disk cache, or compiling it the
first time ever (:mod:`.cache`; ``python -m glassnet.fast --warm`` compiles them all
ahead). By default (``"auto"``) each fit weighs that against the time the kernels
would save on it (:mod:`.policy`): a short fit, such as the seeds' demos, stays on
NumPy and never imports numba; a long one, or a process that has fitted often, uses
them. ``GLASSNET_FAST=1`` (or ``set_enabled(True)``) uses them wherever they apply,
``GLASSNET_FAST=0`` (``set_enabled(False)``) never; ``with glassnet.fast.use(...):``
does either for a block. numba is never imported by ``import glassnet``.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager, nullcontext
from importlib.util import find_spec

__all__ = [
    "available",
    "enabled",
    "mode",
    "set_enabled",
    "use",
    "fitting",
    "plan_for",
    "optimizer_kernels",
    "small_optimizer",
    "blas_threads",
    "warm",
]

_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on", "always")
_numba: bool | None = None  # whether numba is installed; None: not looked yet
_mode: str | None = None  # "on", "auto" or "off"; None: not read from the environment yet
# The decision of the fit running in this thread (True, False), None outside fit().
_fit = threading.local()


def available() -> bool:
    """Whether the ``fast`` extra is installed (numba can be found; it is not imported)."""
    global _numba
    if _numba is None:
        try:
            _numba = find_spec("numba") is not None
        except (ImportError, ValueError):  # a module of that name without a spec
            _numba = False
    return _numba


def _broken() -> None:
    """numba is installed but does not import (a NumPy it does not support, say): the
    NumPy path alone, from now on."""
    global _numba
    _numba = False


def _configured() -> str:
    global _mode
    if _mode is None:
        value = os.environ.get("GLASSNET_FAST", "auto").strip().lower()
        _mode = "off" if value in _OFF else "on" if value in _ON else "auto"
    return _mode


def mode() -> str:
    """``"on"`` (the kernels wherever they apply), ``"auto"`` (where they pay, the
    default) or ``"off"`` (the NumPy path alone); ``"off"`` without the extra."""
    return _configured() if available() else "off"


def enabled() -> bool:
    """Whether the engine may use the compiled path: the extra is installed, and neither
    ``GLASSNET_FAST=0`` nor ``set_enabled(False)`` turned it off."""
    return mode() != "off"


def set_enabled(flag) -> bool | str:
    """``True``: use the kernels wherever they apply; ``False``: the NumPy path alone;
    ``"auto"``: where they pay (the default). Returns the previous setting, in the same
    terms. Without the extra installed the NumPy path runs whatever the setting."""
    global _mode
    if flag not in (True, False, "auto") or type(flag) not in (bool, str):
        raise ValueError(f"set_enabled takes True, False or 'auto', got {flag!r}")
    previous = {"on": True, "off": False, "auto": "auto"}[_configured()]
    _mode = "auto" if flag == "auto" else "on" if flag else "off"
    return previous


@contextmanager
def use(flag):
    """``with glassnet.fast.use(False):`` runs a block on the NumPy path alone;
    ``use(True)`` on the kernels wherever they apply, ``use("auto")`` where they pay."""
    previous = set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(previous)


def _active() -> bool | None:
    """The current fit's decision, or outside a fit, whether the mode is ``"on"`` (None:
    auto, outside a fit)."""
    decision = getattr(_fit, "decision", None)
    if decision is not None:
        return decision and mode() != "off"
    current = mode()
    return None if current == "auto" else current == "on"


@contextmanager
def fitting(net, loss, opt, X, batch: int | None, epochs: int):
    """The compiled path's part in one ``fit``: decides whether this fit uses the
    kernels (:func:`glassnet.fast.policy.decide`), has them loaded or compiled first
    (saying so on stderr when they are not yet cached), and while the fit runs, applies
    the BLAS threading policy. ``batch`` is None for the full batch."""
    decision = False
    if mode() != "off":
        decision = _policy().decide(net, loss, opt, X, batch, epochs, mode() == "on")
    previous = getattr(_fit, "decision", None)
    _fit.decision = decision
    try:
        rows = X.shape[0] if batch is None else min(batch, X.shape[0])
        with blas_threads(net, rows) if decision else nullcontext():
            yield decision
    finally:
        _fit.decision = previous


def _policy():
    """glassnet.fast.policy, imported once (a one-row prediction asks it every time)."""
    global _policy_module
    if _policy_module is None:
        from . import policy

        _policy_module = policy
    return _policy_module


_policy_module = None


def plan_for(net, loss):
    """The compiled path's Plan for this network and loss, or None when it does not apply
    (or is off, or in auto mode outside a fit, its kernels are not loaded yet and do not
    pay yet). Plans are cached on the network until its buffers change."""
    active = _active()
    if active is None:  # auto, outside fit(): a prediction
        active = _policy().predict_pays(net)
    if not active:
        return None
    key = (type(loss), getattr(loss, "delta", None))
    plans = net._plans
    if key not in plans:
        from .plan import make_plan

        try:
            plans[key] = make_plan(net, loss)
        except ImportError:  # numba is installed but does not import
            _broken()
            return None
    return plans[key]


def optimizer_kernels():
    """The compiled kernels (glassnet.fast.kernels), whose optimizer updates Optimizer.step
    calls, when the compiled path is on (in auto mode: in a fit that uses it), else None."""
    if not _active():
        return None
    try:
        from . import kernels  # already imported: a dictionary look-up
    except ImportError:
        _broken()
        return None
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
        return nullcontext()
    from .threads import limited

    return limited(net, batch)


def warm(jobs: int | None = None, quiet: bool = False) -> float:
    """Compile every kernel, in both dtypes, into numba's on-disk cache (or load them
    from it), so that no later process waits for a compile; returns the seconds taken.
    ``jobs`` processes compile side by side (default: one a core). The same as
    ``python -m glassnet.fast --warm``."""
    from .cache import warm_all

    return warm_all(jobs=jobs, quiet=quiet)
