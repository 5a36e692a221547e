"""A public central-difference gradient check.

``check_gradients`` compares the gradient that backpropagation computes with
a numerical one, one parameter at a time::

    numeric_i = (L(p + eps e_i) - L(p - eps e_i)) / (2 eps)

A central difference is itself inexact: by about eps^2 (truncation) and by the
rounding error of L divided by eps, which is large when L is a small difference of
large terms (a well-trained classifier's loss, say). So the check also takes the
difference at 2 eps, and uses ``u_i = |numeric_i(eps) - numeric_i(2 eps)|`` as the
uncertainty of ``numeric_i``. It returns the largest relative error beyond that
uncertainty:

    max(|analytic_i - numeric_i| - 2 u_i, 0) / max(|analytic_i|, |numeric_i|, floor)

with floor = 1e-3 * max(|L|, 1e-8) for components far smaller than the loss. A
correct backward pass gives below 1e-6 (usually 0); a wrong one, something of
order 1.

The check runs on a float64 copy of the network, which it leaves unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import data as _data
from . import losses as _losses
from . import validation as _v
from .layers import Dropout

if TYPE_CHECKING:  # for the hints only
    from .network import Network

__all__ = ["check_gradients", "numerical_gradient"]


def _prepared(net, X, y, loss, sample_weight):
    work = net.copy()
    loss = _losses.get(loss)
    X = _v.as_2d_float(X, "X", dtype=np.float64)
    X = _data.inputs(work, X)
    work.astype(np.float64)
    work.check_loss(loss)
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = _data.target(work, y, X.shape[0], loss)
    w = _v.check_sample_weight(sample_weight, X.shape[0], np.float64)
    # Dropout must apply the same mask in every evaluation: draw it once, then freeze it.
    dropouts = [layer for layer in work.layers if isinstance(layer, Dropout)]
    for layer in dropouts:
        layer.freeze_mask = False
    return work, X, Y, w, loss, dropouts


def _central_differences(work, X, Y, w, loss, l2: float, eps: float) -> np.ndarray:
    params = work.parameters
    numeric = np.empty_like(params)
    for i in range(params.size):
        original = params[i]
        params[i] = original + eps
        plus = work.loss_and_grad(X, Y, w, loss, l2)
        params[i] = original - eps
        minus = work.loss_and_grad(X, Y, w, loss, l2)
        params[i] = original
        numeric[i] = (plus - minus) / (2.0 * eps)
    return numeric


def _gradients(net, X, y, loss, sample_weight, l2, steps):
    """The loss, the analytic gradient and central differences at each step size."""
    work, X, Y, w, loss, dropouts = _prepared(net, X, y, loss, sample_weight)
    value = work.loss_and_grad(X, Y, w, loss, float(l2))
    for layer in dropouts:  # the mask drawn by that pass is the one every difference uses
        layer.freeze_mask = True
    analytic = work.gradients.copy()
    numeric = [_central_differences(work, X, Y, w, loss, float(l2), eps) for eps in steps]
    return value, analytic, numeric


def numerical_gradient(
    net: Network,
    X: Any,
    y: Any,
    loss: str | _losses.Loss = "mse",
    *,
    sample_weight: Any = None,
    l2: float = 0.0,
    eps: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (analytic, numeric, loss): the gradients as flat float64 vectors, and the loss."""
    value, analytic, (numeric,) = _gradients(net, X, y, loss, sample_weight, l2, (eps,))
    return analytic, numeric, value


def check_gradients(
    net: Network,
    X: Any,
    y: Any,
    loss: str | _losses.Loss = "mse",
    *,
    sample_weight: Any = None,
    l2: float = 0.0,
    eps: float = 1e-6,
) -> float:
    """The largest relative error between backprop's gradient and central differences.

    Parameters
    ----------
    net : Network
        Built or not; it is copied, converted to float64 and left unchanged.
    X, y : array-like
        A small batch (every parameter costs four forward passes).
    loss : str or Loss
    sample_weight, l2 : as in :func:`glassnet.training.fit`.
    eps : float
        The central-difference step (the uncertainty also uses 2 eps).

    Returns
    -------
    float
        Below 1e-6 for a correct backward pass.
    """
    value, analytic, (numeric, numeric2) = _gradients(
        net, X, y, loss, sample_weight, l2, (eps, 2 * eps)
    )
    uncertainty = np.abs(numeric - numeric2)
    excess = np.maximum(np.abs(analytic - numeric) - 2.0 * uncertainty, 0.0)
    floor = 1e-3 * max(abs(value), 1e-8)
    denominator = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return float(np.max(excess / denominator))
