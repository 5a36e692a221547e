"""What the compiled path covers: which networks, losses and optimizers, and which
groups of kernels a fit would use. Deciding this imports no numba.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from .. import losses as _losses
from ..data import Trainable
from ..layers import Dense, Dropout
from ..optimizers import LBFGS, SGD, Adam, Optimizer

__all__ = [
    "covers",
    "small_network",
    "small_optimizer",
    "groups_for",
    "SMALL_PARAMS",
    "SMALL_WIDTH",
    "SMALL_WORK",
]

#: A network whose steps run whole in one kernel has at most this many parameters ...
SMALL_PARAMS = 4096
#: ... and units a layer, ...
SMALL_WIDTH = 64
#: ... on batches of at most this many rows x parameters, beyond which BLAS wins.
SMALL_WORK = 1 << 16

#: The activations the kernels compute (kernels.ACTIVATIONS).
KERNEL_ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "exp")

_LOSS_TYPES = {
    _losses.SSE,
    _losses.MSE,
    _losses.HalfSquaredError,
    _losses.MAE,
    _losses.Huber,
    _losses.BinaryCrossEntropy,
    _losses.CrossEntropy,
    _losses.Poisson,
}


def covers(net: Trainable, loss: _losses.Loss) -> bool:
    """Whether the kernels cover this network and loss: Dense and Dropout layers, the
    built-in activations and losses (a subclass may change the math, so not those),
    every parameter at the optimizer's own learning rate."""
    if type(loss) not in _LOSS_TYPES or net.lr_factors is not None:
        return False
    if getattr(loss, "smoothing", 0.0):  # the kernels' losses have no label smoothing
        return False
    for layer in net.layers:
        if type(layer) is Dense:
            act = layer.act  # built in, not a custom one of the same name (a copy compares equal)
            if act.name not in KERNEL_ACTIVATIONS or act != _activations.get(act.name):
                return False
        elif type(layer) is not Dropout:
            return False
    return True


def small_network(net: Trainable) -> bool:
    """Whether a covered network is small enough for the whole-step kernels (Dropout
    layers, which those kernels do not draw masks for, must have a rate of 0)."""
    assert net.input_size is not None  # built
    widths = [net.input_size] + [layer.units for layer in net.layers if type(layer) is Dense]
    if net.count_params() > SMALL_PARAMS or max(widths) > SMALL_WIDTH:
        return False
    return all(type(layer) is Dense or layer.rate == 0.0 for layer in net.layers)


def small_optimizer(opt: Optimizer) -> bool:
    """Whether the kernels run this optimizer's update themselves (SGD and Adam as
    glassnet ships them, not subclasses that change their step)."""
    return type(opt) in (SGD, Adam)


def groups_for(
    net: Trainable, loss: _losses.Loss, opt: Optimizer, X: Any, batch: int | None
) -> tuple[list[str], bool]:
    """The kernel groups a fit uses (``"train"``: whole steps of small networks;
    ``"layers"``: the kernels around the matrix products; ``"update"``: the optimizer
    updates), and whether it runs whole steps."""
    covered = type(X) is np.ndarray and covers(net, loss)
    rows = X.shape[0] if batch is None else min(batch, X.shape[0])
    small = covered and small_network(net) and rows * net.count_params() <= SMALL_WORK
    if isinstance(opt, LBFGS):
        return ([("train" if small else "layers")] if covered else []), small
    if small and small_optimizer(opt):
        return ["train"], True
    groups = ["layers"] if covered else []
    if small_optimizer(opt) and net.lr_factors is None:
        groups.append("update")
    return groups, False
