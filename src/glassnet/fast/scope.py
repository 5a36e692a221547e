"""What the compiled path covers: which networks, losses and optimizers, and which
groups of kernels a fit would use. Deciding this imports no numba.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from .. import losses as _losses
from ..data import Trainable
from ..layers import Dense, Dropout, Embedding, Parametric, Scale
from ..optimizers import LBFGS, SGD, Adam, Optimizer

__all__ = [
    "covers",
    "small_network",
    "smoothed",
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

#: The layers besides Dense the layered kernels take: Dropout and the default recipe's.
_RECIPE_LAYERS = (Dropout, Parametric, Scale, Embedding)

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
    """Whether the layered kernels cover this network and loss: the built-in losses (a
    subclass may change the math, so not those) and the engine's own layers: Dense with
    a built-in activation the kernels compute, Dropout, and the default recipe's
    Parametric, Scale and Embedding (Parametric's SELU and Mish run in kernels; any
    other activation, Scale and Embedding run their own NumPy passes)."""
    if type(loss) not in _LOSS_TYPES or type(net.layers[-1]) is not Dense:
        return False
    for layer in net.layers:
        if type(layer) is Dense:
            act = layer.act  # built in, not a custom one of the same name (a copy compares equal)
            if act.name not in KERNEL_ACTIVATIONS or act != _activations.get(act.name):
                return False
        elif type(layer) not in _RECIPE_LAYERS:
            return False
    return True


def smoothed(loss: _losses.Loss) -> bool:
    """Whether a loss smooths its labels (which the loss kernels do not)."""
    return bool(getattr(loss, "smoothing", 0.0))


def small_network(net: Trainable, loss: _losses.Loss) -> bool:
    """Whether a covered network is small enough for the whole-step kernels: Dense
    layers (and Dropout of rate 0, which those kernels draw no masks for) at the
    optimizer's own learning rate, under a loss without label smoothing."""
    if net.lr_factors is not None or smoothed(loss):
        return False
    if not all(type(layer) is Dense or type(layer) is Dropout for layer in net.layers):
        return False
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
    small = covered and small_network(net, loss) and rows * net.count_params() <= SMALL_WORK
    if isinstance(opt, LBFGS):
        return ([("train" if small else "layers")] if covered else []), small
    if small and small_optimizer(opt):
        return ["train"], True
    groups = ["layers"] if covered else []
    if type(opt) is Adam or (small_optimizer(opt) and net.lr_factors is None):
        groups.append("update")  # Adam's kernel takes lr_factors; SGD's do not
    return groups, False
