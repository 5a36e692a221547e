"""The BLAS threading policy: small matrix products on one thread.

OpenBLAS splits a matrix product across its threads once it is large enough; for the
products of a small or medium training step (and for the matrix-vector products of a
batch of one row) waking the second thread costs more than it saves, and on a busy
machine it can turn a step of microseconds into milliseconds. While ``fit`` trains a
network whose largest product per step is below ``SMALL_PRODUCT`` multiply-adds,
BLAS is limited to one thread, through threadpoolctl, and given back its previous
setting when ``fit`` returns (or raises).

Only float64 networks: there, OpenBLAS gives the same bits on one thread as on two
(it divides a product among threads by blocks of rows and columns, each summed in the
same order), so the policy changes no result. Its float32 products do not (on one
thread it sums them differently), and a policy must not change what a fit computes, so
float32 networks keep BLAS's own choice. Without threadpoolctl nothing is changed.
The policy runs only while a fit is on the compiled path, which the fit chooses from
its own arguments, so it never depends on what ran before.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from ..data import Trainable
from ..layers import Dense

__all__ = ["SMALL_PRODUCT", "limited"]

#: Largest multiply-adds of one matrix product per step that runs on one thread.
SMALL_PRODUCT = 1 << 22

_controller = None  # threadpoolctl's view of the loaded BLAS libraries
_modules = -1  # how many modules were imported when it was made


def _blas_controller():
    """threadpoolctl's controller (False without threadpoolctl), made again whenever
    modules have been imported since (a package may have loaded another BLAS)."""
    global _controller, _modules
    if _controller is None or (_controller and len(sys.modules) != _modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
            _modules = len(sys.modules)
    return _controller


def largest_product(net: Trainable, batch: int) -> int:
    """Multiply-adds of the largest matrix product in a training step of ``batch`` rows."""
    sizes = [layer.weights.size for layer in net.layers if isinstance(layer, Dense)]
    return batch * max(sizes, default=0)


def limited(net: Trainable, batch: int) -> AbstractContextManager[Any]:
    """A context in which BLAS runs on one thread, if this float64 network's step is small."""
    if net.dtype != np.float64 or largest_product(net, batch) >= SMALL_PRODUCT:
        return nullcontext()
    controller = _blas_controller()
    if not controller:
        return nullcontext()
    return controller.limit(limits=1, user_api="blas")
