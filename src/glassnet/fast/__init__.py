"""The optional compiled path (the ``fast`` extra: numba and threadpoolctl).

The NumPy code of the engine is the reference, and what runs without this extra.
With it installed, a fit may run its steps through compiled kernels that do the same
arithmetic in fewer passes:

- the optimizer updates (SGD, with momentum or Nesterov; Adam and AdamW): one pass
  over the flat vectors;
- for networks of Dense and Dropout layers with the built-in activations and losses,
  everything around the matrix products: bias and activation, the activation's
  derivative with the bias gradient, the loss;
- for small networks trained a sample or a few samples at a time, the whole step, and
  whole epochs, in one call;
- while training a float64 network whose matrix products are small, BLAS on one
  thread (:mod:`.threads`).

Both paths agree to rounding (1e-12 and better in float64).

**When.** Each fit decides once, from its own arguments (:mod:`.choice`): the
``compiled`` argument of ``fit``, else the environment variable ``GLASSNET_FAST``
(``1``: wherever the kernels apply, ``0``: never), else "auto": when the steps the
kernels would save on this fit outweigh what loading them costs a new process
(importing numba, about a second and a half). What earlier fits did never changes
the choice, so the same call gives the same bits in any process. numba is never
imported by ``import glassnet``.

The kernels are compiled once into numba's on-disk cache: ``python -m glassnet.fast
--warm`` does it ahead (:mod:`.ahead`); a fit that needs a kernel not yet cached
compiles it, saying so through the ``glassnet.fast`` logger (:mod:`.cache`).

Modules: :mod:`.scope` (what the kernels cover), :mod:`.choice` (the per-fit
decision), :mod:`.steps` (the compiled step strategy), :mod:`.plan` (which kernels
run on which buffers), :mod:`.kernels`, :mod:`.threads`, :mod:`.cache`, :mod:`.ahead`.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["available", "warm"]


def available() -> bool:
    """Whether the ``fast`` extra is installed (numba can be found; it is not imported)."""
    try:
        return find_spec("numba") is not None
    except (ImportError, ValueError):  # a module of that name without a spec
        return False


def warm(jobs: int | None = None, quiet: bool = False) -> float:
    """Compile every kernel, in both dtypes, into numba's on-disk cache (or load them
    from it), so that no later process waits for a compile; returns the seconds taken.
    ``jobs`` processes compile side by side (default: one a core). The same as
    ``python -m glassnet.fast --warm``."""
    from .ahead import warm_all

    return warm_all(jobs=jobs, quiet=quiet)
