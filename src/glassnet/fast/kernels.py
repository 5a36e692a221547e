"""The compiled kernels (numba), every one of them: activations and losses, optimizer
updates, and whole steps for small networks.

Each kernel does what the NumPy reference path does, with the same IEEE operations in
the same order, in fewer passes; its docstring names the NumPy code it fuses. No
``fastmath``, so the two agree to the last bit wherever they do the same operations
(the matrix products of the small-network kernels are loops where NumPy calls BLAS, so
those agree to rounding). Scalars come in the network's dtype (the array ``C``, see
:func:`constants`), so a float32 network computes in float32 throughout, as NumPy does;
``S`` is a one-element scratch array of that dtype, for casting a float64 scalar the way
NumPy casts a Python float that meets an array.

The kernels are compiled on first use and cached on disk (``cache=True``): in
``__pycache__`` beside this file when that folder is writable, otherwise in the user's
cache folder (or ``NUMBA_CACHE_DIR``); where neither can be written (a read-only install
and a read-only home), they compile once per process, uncached. They all live in this
one file because numba checks a cached kernel against its own source file only: a
kernel that called a kernel from another file could load from the cache stale.

Sections: numba; activations (a = f(z), and dz = da f'(z)); losses; optimizer updates;
small networks (whole steps and epochs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numba
import numpy as np
from numpy.typing import DTypeLike

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

_Kernel = TypeVar("_Kernel", bound=Callable[..., Any])


# --- numba ----------------------------------------------------------------------------
def jit(func: _Kernel) -> Dispatcher[_Kernel]:
    """``numba.njit(cache=True)``, or uncached where no cache folder can be written.

    ``error_model="numpy"``: a division by zero gives inf or NaN, as in NumPy, instead
    of raising (and the loops, with no such check inside, vectorise). No ``fastmath``:
    every kernel does the NumPy reference path's IEEE operations, in its order, so the
    two agree to the last bit wherever they do the same operations.
    """
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, nogil=True, error_model="numpy")(func)


# --- activations and losses -------------------------------------------------------

IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, SOFTMAX, EXP = range(7)
ACTIVATIONS = {
    "identity": IDENTITY,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "softmax": SOFTMAX,
    "exp": EXP,
}
SSE, MSE, HALF_SQUARED, MAE, HUBER, BCE, CROSS_ENTROPY, POISSON = range(8)
LOSSES = {
    "sse": SSE,
    "mse": MSE,
    "half_squared_error": HALF_SQUARED,
    "mae": MAE,
    "huber": HUBER,
    "bce": BCE,
    "cross_entropy": CROSS_ENTROPY,
    "poisson": POISSON,
}
#: Losses computed from the logits z, fused with their output activation.
FUSED = (BCE, CROSS_ENTROPY, POISSON)

# Where each scalar sits in C.
ZERO, ONE, FLOOR, SLOPE, HALF, DELTA, HALF_DELTA, SPAN = range(8)
SELU_SCALE, SELU_ALPHA, SELU_SHIFT, MISH_CLIP, TWO, MISH_FLOOR = range(8, 14)


def constants(dtype: DTypeLike, delta: float = 1.0) -> np.ndarray:
    """The scalars the kernels need, in the network's dtype (the values the NumPy path
    uses: activations.SIGMOID_FLOOR, LEAKY_SLOPE, Huber's delta, CrossEntropy.SPAN, and
    SELU's and Mish's constants)."""
    from .. import activations, losses

    dtype = np.dtype(dtype)
    values = [
        0.0,
        1.0,
        activations.SIGMOID_FLOOR[dtype],
        activations.LEAKY_SLOPE,
        0.5,
        delta,
        0.5 * delta,
        losses.CrossEntropy.SPAN[dtype],
        activations.SELU_SCALE,
        activations.SELU_ALPHA,
        activations.SELU_SHIFT,  # a float64, cast as NumPy casts it in selu_backward
        activations.MISH_CLIP,
        2.0,
        activations.MISH_FLOOR,
    ]
    return np.array(values, dtype=dtype)


# --- activations: a = f(z) -------------------------------------------------------------


@jit
def _activate(code, v, C):
    """f(v) for one value (softmax is row-wise: see _softmax_row)."""
    if code == RELU:
        return v if not v < C[ZERO] else C[ZERO]  # np.maximum(z, 0): NaN stays NaN
    if code == LEAKY_RELU:
        s = C[SLOPE] * v
        return v if (v >= s or v != v) else s  # np.maximum(z, LEAKY_SLOPE * z)
    if code == SIGMOID:  # 1 / (exp(-max(z, floor)) + 1), as activations.sigmoid
        return C[ONE] / (np.exp(-(v if not v < C[FLOOR] else C[FLOOR])) + C[ONE])
    if code == TANH:
        return np.tanh(v)
    if code == EXP:
        return np.exp(v)
    return v


@jit
def _softmax_row(row):
    """activations.softmax for one row: exp(z - max z) / sum."""
    high = row[0]
    for j in range(1, row.shape[0]):
        if row[j] > high:
            high = row[j]
    row[0] = np.exp(row[0] - high)
    total = row[0]
    for j in range(1, row.shape[0]):
        row[j] = np.exp(row[j] - high)
        total += row[j]
    for j in range(row.shape[0]):
        row[j] = row[j] / total


@jit
def bias_activation(code: int, z: np.ndarray, b: np.ndarray, C: np.ndarray) -> None:
    """z = f(z + b), in place; with an empty b, z = f(z).

    Fuses ``np.add(z, b, out=z)`` (Dense.linear) with the activation's forward
    (``f(z, out=z)``, e.g. ``np.maximum(z, 0, out=z)``): one pass instead of two or more.
    """
    m, u = z.shape
    has_bias = b.shape[0] > 0
    if code == SOFTMAX:
        for i in range(m):
            if has_bias:
                for j in range(u):
                    z[i, j] = z[i, j] + b[j]
            _softmax_row(z[i])
    elif code == RELU:  # the common case, written out so it vectorises
        zero = C[ZERO]
        for i in range(m):
            for j in range(u):
                v = z[i, j] + b[j] if has_bias else z[i, j]
                z[i, j] = v if not v < zero else zero
    elif code == IDENTITY:
        if has_bias:
            for i in range(m):
                for j in range(u):
                    z[i, j] = z[i, j] + b[j]
    else:
        for i in range(m):
            for j in range(u):
                v = z[i, j] + b[j] if has_bias else z[i, j]
                z[i, j] = _activate(code, v, C)


# --- derivatives: dz = da * f'(z), written from a = f(z) -------------------------------


@jit
def _derivative(code, a, da, C):
    """da * f'(z) for one value, from a = f(z) (not softmax)."""
    if code == RELU:
        return da if a > C[ZERO] else da * C[ZERO]  # np.multiply(da, a > 0)
    if code == LEAKY_RELU:
        return da if a > C[ZERO] else da * C[SLOPE]
    if code == SIGMOID:
        return da * ((C[ONE] - a) * a)
    if code == TANH:
        return da * (C[ONE] - a * a)
    if code == EXP:
        return da * a
    return da


@jit
def activation_backward(
    code: int, a: np.ndarray, da: np.ndarray, db: np.ndarray, C: np.ndarray
) -> None:
    """dz = da * f'(z) into da, and db = the column sums of dz (an empty db: none).

    Fuses the activation's backward (``f.backward(a, da, out=da)``, e.g.
    ``np.multiply(da, a > 0, out=da)``) with Dense.backward_linear's
    ``np.add.reduce(dz, axis=0, out=db)``, summing the rows in the same order.
    """
    m, u = da.shape
    has_bias = db.shape[0] > 0
    if code == SOFTMAX:  # dz_i = (da_i - sum_j a_j da_j) a_i
        for i in range(m):
            weighted = a[i, 0] * da[i, 0]
            for j in range(1, u):
                weighted += a[i, j] * da[i, j]
            for j in range(u):
                da[i, j] = (da[i, j] - weighted) * a[i, j]
    elif code == RELU:
        zero = C[ZERO]
        for i in range(m):
            for j in range(u):
                if not a[i, j] > zero:
                    da[i, j] = da[i, j] * zero
    elif code != IDENTITY:
        for i in range(m):
            for j in range(u):
                da[i, j] = _derivative(code, a[i, j], da[i, j], C)
    if has_bias:
        column_sums(da, db)


@jit
def column_sums(dz: np.ndarray, db: np.ndarray) -> None:
    """db = dz.sum(axis=0), row by row: ``np.add.reduce(dz, axis=0, out=db)``."""
    m, u = dz.shape
    for j in range(u):
        db[j] = dz[0, j]
    for i in range(1, m):
        for j in range(u):
            db[j] += dz[i, j]


# --- Parametric: a = x + alpha (f(x) - x), per unit (layers.Parametric) ---------------
#
# f is SELU or Mish, the default recipe's activations. NumPy takes the exponential
# (its vectorised exp rounds in its own way, which a compiled exp need not repeat):
# the forward pass is ``exponent`` into a buffer, np.exp on it in place, then
# ``parametric_forward`` for the rest, which keeps f'(x) for the backward pass.

SELU_BLEND, MISH_BLEND = range(2)
#: The activations a Parametric layer's kernels compute.
PARAMETRIC = {"selu": SELU_BLEND, "mish": MISH_BLEND}


@jit
def exponent(code: int, x: np.ndarray, e: np.ndarray, C: np.ndarray) -> None:
    """e = min(x, 0) for SELU, min(x, MISH_CLIP) for Mish: what exp is taken of
    (``np.minimum``: NaN stays NaN)."""
    top = C[ZERO] if code == SELU_BLEND else C[MISH_CLIP]
    m, u = x.shape
    for i in range(m):
        for j in range(u):
            v = x[i, j]
            e[i, j] = v if not v > top else top


@jit
def parametric_forward(
    code: int,
    x: np.ndarray,
    e: np.ndarray,
    alpha: np.ndarray,
    out: np.ndarray,
    gap: np.ndarray,
    slope: np.ndarray,
    C: np.ndarray,
) -> None:
    """Parametric.forward in training, from e = exp(exponent(x)): gap = f(x) - x,
    out = gap alpha + x, and slope = f'(x) for the backward pass; f as activations.selu
    computes it (and its slope as selu_backward writes it from f) or as
    activations.mish_with_slope does, the same operations in the same order. Each
    activation's loop is written out whole, so that it vectorises."""
    m, u = x.shape
    zero, one, two = C[ZERO], C[ONE], C[TWO]
    if code == SELU_BLEND:
        scale, shift, selu_alpha = C[SELU_SCALE], C[SELU_SHIFT], C[SELU_ALPHA]
        for i in range(m):
            for j in range(u):
                v = x[i, j]
                negative = (e[i, j] - one) * selu_alpha
                f = ((v if not v < zero else zero) + negative) * scale  # np.maximum(z, 0)
                low = f if not f > zero else zero  # np.minimum(a, 0)
                s = (low + shift) * (one if f <= zero else zero)
                g = f - v
                gap[i, j] = g
                slope[i, j] = s + scale
                out[i, j] = g * alpha[j] + v
        return
    floor, clip = C[MISH_FLOOR], C[MISH_CLIP]
    for i in range(m):
        for j in range(u):
            v = x[i, j]
            ev = e[i, j]
            n = (ev + two) * ev
            d = n + two
            t = n / d
            s = ((two / d) * (t + one)) * (ev / (ev + one))
            c = v if not v < floor else floor  # np.clip(z, MISH_FLOOR, MISH_CLIP):
            c = c if not c > clip else clip  # NaN stays NaN
            g = v * t - v
            gap[i, j] = g
            slope[i, j] = s * c + t
            out[i, j] = g * alpha[j] + v


@jit
def parametric_backward(
    da: np.ndarray,
    gap: np.ndarray,
    slope: np.ndarray,
    alpha: np.ndarray,
    dalpha: np.ndarray,
    dx: np.ndarray,
    C: np.ndarray,
) -> None:
    """Parametric.backward from the forward pass's gap and slope: dalpha = the column
    sums of da gap, row by row, as np.add.reduce sums two columns or more (an empty
    dalpha: none; NumPy sums a single column pairwise), and dx = da (1 - alpha) +
    (da alpha) slope (an empty dx: none)."""
    m, u = da.shape
    if dalpha.shape[0] > 0:
        for j in range(u):
            dalpha[j] = da[0, j] * gap[0, j] if m > 0 else C[ZERO]
        for i in range(1, m):
            for j in range(u):
                dalpha[j] += da[i, j] * gap[i, j]
    if dx.shape[0] == 0:
        return
    one = C[ONE]
    for i in range(m):
        for j in range(u):
            d = da[i, j]
            dx[i, j] = d * (one - alpha[j]) + (d * alpha[j]) * slope[i, j]


# --- Dropout (layers.Dropout) -----------------------------------------------------------


@jit
def dropout(
    x: np.ndarray,
    draws: np.ndarray,
    threshold: int,
    scale: float,
    mask: np.ndarray,
    out: np.ndarray,
) -> None:
    """Dropout.forward in training, from its draws: mask = scale where a draw is at
    least the threshold, else 0 (``np.greater_equal`` into the mask, then ``*= scale``),
    and out = x mask."""
    zero = np.zeros(1, dtype=mask.dtype)[0]
    m, u = x.shape
    for i in range(m):
        for j in range(u):
            keep = scale if draws[i, j] >= threshold else zero
            mask[i, j] = keep
            out[i, j] = x[i, j] * keep


# --- losses ----------------------------------------------------------------------------


@jit
def _cast(S, value):
    """A float64 scalar in the network's dtype (S is a scratch array of that dtype), as
    NumPy casts a Python float that meets an array."""
    S[0] = value
    return S[0]


@jit
def _weights_sum(w, n):
    if w.shape[0] == 0:
        return float(n)
    total = w[0]
    for i in range(1, w.shape[0]):
        total += w[i]
    return float(total)


@jit
def _scale_rows(out, w, n, S):
    """out *= 1 / n, or out *= w[:, None] / sum(w) (the losses' final scaling)."""
    m, k = out.shape
    if w.shape[0] == 0:
        c = _cast(S, 1.0 / n)
        for i in range(m):
            for j in range(k):
                out[i, j] = out[i, j] * c
    else:
        wsum = _cast(S, _weights_sum(w, n))
        for i in range(m):
            c = w[i] / wsum
            for j in range(k):
                out[i, j] = out[i, j] * c


@jit
def _reduce_rows(rows, w):
    """Loss._reduce: the mean of the per-sample losses, or their weighted mean."""
    n = rows.shape[0]
    if w.shape[0] == 0:
        total = rows[0]
        for i in range(1, n):
            total += rows[i]
        return float(total) / n
    total = w[0] * rows[0]
    for i in range(1, n):
        total += w[i] * rows[i]
    return float(total) / _weights_sum(w, n)


@jit
def _squared(code, a, y, w, out, C, S):
    """losses._Squared.value_and_grad (sse, mse, half_squared_error)."""
    n, k = a.shape
    factor = 0.5 if code == HALF_SQUARED else 1.0
    wsum = _weights_sum(w, n)
    denom = 1.0 if code == SSE else (wsum * k if code == MSE else wsum)
    scale = 2.0 * factor / denom
    total = C[ZERO]
    if w.shape[0] == 0:
        for i in range(n):
            for j in range(k):
                d = a[i, j] - y[i, j]
                out[i, j] = d
                total += d * d
        c = _cast(S, scale)
        for i in range(n):
            for j in range(k):
                out[i, j] = out[i, j] * c
    else:
        c = _cast(S, scale)
        for i in range(n):
            row = C[ZERO]
            cw = c * w[i]
            for j in range(k):
                d = a[i, j] - y[i, j]
                row += d * d
                out[i, j] = d * cw
            total += w[i] * row
    return factor * float(total) / denom


@jit
def _sign(d, C):
    if d > C[ZERO]:
        return C[ONE]
    if d < C[ZERO]:
        return -C[ONE]
    return d  # 0 stays 0, NaN stays NaN (np.sign)


@jit
def _absolute(code, a, y, w, out, C, S):
    """losses.MAE and losses.Huber: value_and_grad."""
    n, k = a.shape
    denom = _weights_sum(w, n) * k
    total = C[ZERO]
    d, half, half_d = C[DELTA], C[HALF], C[HALF_DELTA]
    for i in range(n):
        row = C[ZERO]
        for j in range(k):
            r = a[i, j] - y[i, j]
            ar = abs(r)
            if code == MAE:
                row += ar
                out[i, j] = _sign(r, C)
            else:
                row += half * r * r if ar <= d else d * (ar - half_d)
                out[i, j] = min(max(r, -d), d) if r == r else r  # np.clip(r, -d, d)
        total += row if w.shape[0] == 0 else w[i] * row
    if w.shape[0] == 0:
        c = _cast(S, 1.0 / denom)
        for i in range(n):
            for j in range(k):
                out[i, j] = out[i, j] * c
    else:
        dn = _cast(S, denom)
        for i in range(n):
            c = w[i] / dn
            for j in range(k):
                out[i, j] = out[i, j] * c
    return float(total) / denom


@jit
def _binary_cross_entropy(z, y, w, out, rows, C):
    """BinaryCrossEntropy.fused: a = sigmoid(z); per row sum_k max(z, 0) - y z +
    log(1 + exp(-|z|)); dL/dz = a - y, before the scaling."""
    n, k = z.shape
    for i in range(n):
        row = C[ZERO]
        for j in range(k):
            v = z[i, j]
            out[i, j] = _activate(SIGMOID, v, C)
            t = np.log1p(np.exp(-abs(v)))
            t = t + (v if not v < C[ZERO] else C[ZERO])
            t = t - y[i, j] * v
            row += t
        rows[i] = row
    value = _reduce_rows(rows, w)
    for i in range(n):
        for j in range(k):
            out[i, j] = out[i, j] - y[i, j]
    return value


@jit
def _cross_entropy(z, y, labels, w, out, rows, C):
    """CrossEntropy.fused: softmax(z) into out with log-sum-exp per row (one shift, the
    largest logit, when the logits span less than exp's range, else each row's
    maximum); the loss from the logits; dL/dz = a - y (labels: 1 off each row's class),
    before the scaling."""
    n, k = z.shape
    high, low = z[0, 0], z[0, 0]
    for i in range(n):
        for j in range(k):
            high = max(high, z[i, j])
            low = min(low, z[i, j])
    one_shift = high - low < C[SPAN]
    for i in range(n):
        m = high
        if not one_shift:
            m = z[i, 0]
            for j in range(1, k):
                m = max(m, z[i, j])
        s = C[ZERO]
        for j in range(k):
            e = np.exp(z[i, j] - m)
            out[i, j] = e
            s += e
        for j in range(k):
            out[i, j] = out[i, j] / s
        lse = np.log(s) + m
        if labels.shape[0] > 0:
            rows[i] = lse - z[i, labels[i]]
            out[i, labels[i]] = out[i, labels[i]] - C[ONE]
        else:
            row = C[ZERO]
            for j in range(k):
                row += y[i, j] * z[i, j]
                out[i, j] = out[i, j] - y[i, j]
            rows[i] = lse - row
    # The NumPy path takes (sum(lse) - vdot(y, z)) / n for one-hot rows without weights;
    # the mean of the rows is the same number to rounding, and the same bits as from
    # class labels.
    return _reduce_rows(rows, w)


@jit
def _poisson(z, y, w, out, rows, C):
    """Poisson.fused: a = exp(z); per row sum_k y log y - y z - y + a; dL/dz = a - y,
    before the scaling."""
    n, k = z.shape
    for i in range(n):
        row = C[ZERO]
        for j in range(k):
            a = np.exp(z[i, j])
            out[i, j] = a
            yv = y[i, j]
            ylogy = yv * np.log(yv) if yv > C[ZERO] else C[ZERO]
            row += ylogy - yv * z[i, j] - yv + a
        rows[i] = row
    value = _reduce_rows(rows, w)
    for i in range(n):
        for j in range(k):
            out[i, j] = out[i, j] - y[i, j]
    return value


@jit
def squared(
    code: int,
    a: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """sse, mse and half_squared_error: losses._Squared.value_and_grad (``np.subtract``,
    ``np.vdot`` or ``np.einsum`` and ``np.dot``, ``*=``) in one pass and a scaling."""
    return _squared(code, a, y, w, out, C, S)


@jit
def absolute(
    code: int,
    a: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """mae and huber: MAE.value_and_grad and Huber.value_and_grad (``np.abs``,
    ``np.where``, ``np.sign`` or ``np.clip``, the sums and the scaling) in two passes."""
    return _absolute(code, a, y, w, out, C, S)


@jit
def binary_cross_entropy(
    code: int,
    z: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """bce from the logits: BinaryCrossEntropy.fused (the sigmoid's five calls, the
    per-row loss's six, the target's subtraction and the scaling) in three passes."""
    value = _binary_cross_entropy(z, y, w, out, rows, C)
    _scale_rows(out, w, z.shape[0], S)
    return value


@jit
def cross_entropy(
    code: int,
    z: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """cross_entropy from the logits: CrossEntropy.fused (softmax with log-sum-exp, the
    loss, the target's subtraction and the scaling: about 15 NumPy calls) in three
    passes."""
    value = _cross_entropy(z, y, labels, w, out, rows, C)
    _scale_rows(out, w, z.shape[0], S)
    return value


@jit
def poisson(
    code: int,
    z: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """poisson from the logits: Poisson.fused in three passes."""
    value = _poisson(z, y, w, out, rows, C)
    _scale_rows(out, w, z.shape[0], S)
    return value


#: The loss kernels by code, all called as ``kernel(code, a, y, labels, w, out, rows,
#: C, S)``: the loss of the batch, with dL/da (dL/dz for the fused ones, ``a`` then
#: holding the logits z) written into ``out``. ``y`` is (n, k), or (0, 0) when
#: ``labels`` holds class indices; ``w`` is the sample weights or empty; ``rows`` is
#: (n,) scratch.
LOSS_KERNELS = {
    SSE: squared,
    MSE: squared,
    HALF_SQUARED: squared,
    MAE: absolute,
    HUBER: absolute,
    BCE: binary_cross_entropy,
    CROSS_ENTROPY: cross_entropy,
    POISSON: poisson,
}


@jit
def loss(
    code: int,
    a: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    C: np.ndarray,
    S: np.ndarray,
) -> float:
    """The loss kernel for ``code`` (LOSS_KERNELS), for the kernels that take any loss
    (calling the loss functions themselves, not their wrappers: a kernel compiles
    faster the fewer levels of calls it is built from)."""
    if code <= HALF_SQUARED:
        return _squared(code, a, y, w, out, C, S)
    if code <= HUBER:
        return _absolute(code, a, y, w, out, C, S)
    if code == BCE:
        value = _binary_cross_entropy(a, y, w, out, rows, C)
    elif code == CROSS_ENTROPY:
        value = _cross_entropy(a, y, labels, w, out, rows, C)
    else:
        value = _poisson(a, y, w, out, rows, C)
    _scale_rows(out, w, a.shape[0], S)
    return value


@jit
def l2_penalty(
    P: np.ndarray, G: np.ndarray, n_weights: int, l2: float, m: float, C: np.ndarray, S: np.ndarray
) -> float:
    """Network._loss_and_grad's L2 term: returns 0.5 l2 ||W||^2 / m and adds
    W * (l2 / m) to the weights' gradients (``np.dot(W, W)``, ``np.multiply(W, l2 / m)``
    and ``+=``, in one pass)."""
    total = C[ZERO]
    for i in range(n_weights):
        total += P[i] * P[i]
    c = _cast(S, l2 / m)
    for i in range(n_weights):
        G[i] = G[i] + P[i] * c
    return 0.5 * l2 * float(total) / m


@jit
def outer(x: np.ndarray, dz: np.ndarray, dW: np.ndarray) -> None:
    """dW = x.T @ dz for a batch of one row: the outer product x[0] dz[0], which
    Dense.backward_linear computes as ``np.multiply(x.T, dz, out=dW)``."""
    n, u = dW.shape
    for k in range(n):
        xv = x[0, k]
        for j in range(u):
            dW[k, j] = xv * dz[0, j]


# --- optimizer updates: one pass over the flat vectors -----------------------------
#
# Each reads every parameter, gradient and moment once and writes them once, where the
# NumPy reference (glassnet.optimizers) makes two passes for SGD and about twelve for
# Adam, with the same arithmetic, operation for operation (the same bits). Each also
# takes ``saved``: when it is not empty, the kernel writes each parameter's old value
# there as it updates it, so the training loop's divergence guard keeps the last weights
# that gave a finite loss without a separate copy pass.


@jit
def sgd(P: np.ndarray, G: np.ndarray, lr: float, saved: np.ndarray) -> None:
    """P -= lr * G: ``np.multiply(grads, lr, out=tmp); params -= tmp`` in one pass."""
    if saved.shape[0] > 0:
        for i in range(P.shape[0]):
            p = P[i]
            saved[i] = p
            P[i] = p - G[i] * lr
    else:
        for i in range(P.shape[0]):
            P[i] = P[i] - G[i] * lr


@jit
def sgd_momentum(
    P: np.ndarray,
    G: np.ndarray,
    V: np.ndarray,
    lr: float,
    mu: float,
    nesterov: bool,
    saved: np.ndarray,
) -> None:
    """v = mu v - lr g; P += v, or with Nesterov P += mu v - lr g (SGD.step)."""
    keep = saved.shape[0] > 0
    for i in range(P.shape[0]):
        step = G[i] * lr
        v = V[i] * mu - step
        V[i] = v
        p = P[i]
        if keep:
            saved[i] = p
        if nesterov:
            P[i] = (p - step) + v * mu
        else:
            P[i] = p + v


@jit
def _adam_block(P, G, M, V, F, decay, shrink, b1, one_minus_b1, b2, one_minus_b2, eps, step):
    """Adam's update of P. Without factors on the rate (F empty), each weight is first
    multiplied by ``decay`` (1, exactly the same bits, where there is no weight decay);
    with them, by 1 + F shrink (shrink = -lr weight_decay; 0 where there is none), and
    the update by F, as Adam.step applies lr_factors. Slices come in whole and the loop
    starts at 0: numba then needs no negative-index check, and the loop vectorises."""
    one = np.ones(1, dtype=P.dtype)[0]
    factored = F.shape[0] > 0
    for i in range(P.shape[0]):
        g = G[i]
        m = M[i] * b1 + g * one_minus_b1
        v = V[i] * b2 + (g * g) * one_minus_b2
        M[i] = m
        V[i] = v
        if factored:
            f = F[i]
            P[i] = P[i] * (f * shrink + one) - ((m / (np.sqrt(v) + eps)) * step) * f
        else:
            P[i] = P[i] * decay - (m / (np.sqrt(v) + eps)) * step


@jit
def adam(
    P: np.ndarray,
    G: np.ndarray,
    M: np.ndarray,
    V: np.ndarray,
    n_decayed: int,
    decay: float,
    b1: float,
    one_minus_b1: float,
    b2: float,
    one_minus_b2: float,
    eps: float,
    step: float,
    saved: np.ndarray,
    F: np.ndarray,
    shrink: float,
) -> None:
    """Adam.step in one pass: for the first ``n_decayed`` entries (the weights, under
    weight decay) P *= decay first; then

        m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  P -= step * m / (sqrt(v) + eps)

    with the scalars already in the parameters' dtype, as NumPy casts them. With factors
    F on the learning rate (the network's lr_factors; empty: none), a weight is first
    multiplied by 1 + F shrink instead (shrink = -lr weight_decay) and the update by F.
    The loops' one branch goes the same way for every element (LLVM takes it out of
    the loop), so they vectorise; with ``saved`` the old parameters are copied out
    block by block, each block while it is still in cache.
    """
    n = P.shape[0]
    block = 4096
    one = np.ones(1, dtype=P.dtype)[0]
    zero = np.zeros(1, dtype=P.dtype)[0]
    keep = saved.shape[0] > 0
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        if keep:
            saved[lo:hi] = P[lo:hi]
        cut = min(max(n_decayed, lo), hi)  # the weights under decay end at n_decayed
        for part in range(2):  # [lo, cut) with decay, [cut, hi) without
            a, b = (lo, cut) if part == 0 else (cut, hi)
            if b > a:
                _adam_block(
                    P[a:b],
                    G[a:b],
                    M[a:b],
                    V[a:b],
                    F[a:b] if F.shape[0] > 0 else F,
                    decay if part == 0 else one,
                    shrink if part == 0 else zero,
                    b1,
                    one_minus_b1,
                    b2,
                    one_minus_b2,
                    eps,
                    step,
                )


# --- small networks: the whole step in one call -----------------------------------------
#
# For a network of a few hundred parameters, trained a sample or a few samples at a
# time, NumPy's cost is its calls (some thirty a step, each a microsecond or so), not
# its arithmetic; here the step is plain loops over the network's own flat vectors: the
# forward pass, the loss, the backward pass and the optimizer's update
# (Network._loss_and_grad, then the optimizer's step), and whole epochs of them.
#
# The network is described by ``meta``, an int64 array: the number of layers L, then for
# each layer (n_in, units, activation code, weight offset, bias offset or -1) into the
# flat parameter vector; every layer is Dense. The workspace ``ws`` (the network's dtype)
# holds, for a batch of m rows: the gathered inputs, targets and weights, each layer's
# output and two gradient buffers (:func:`workspace_size`).
SGD, MOMENTUM, ADAM, NO_UPDATE = range(4)  # NO_UPDATE: train computes the gradient only
_FIELDS = 5


def describe(
    params: np.ndarray, layers: Sequence[Any], n_in: int, codes: Sequence[int]
) -> np.ndarray:
    """``meta`` for Dense layers bound to a network: their views' offsets into its flat
    parameter vector ``params``."""
    meta = [len(layers)]
    start = params.__array_interface__["data"][0]
    item = params.itemsize
    for layer, code in zip(layers, codes):
        w_off = (layer.weights.__array_interface__["data"][0] - start) // item
        bias = layer.bias
        b_off = -1 if bias is None else (bias.__array_interface__["data"][0] - start) // item
        meta += [n_in, layer.units, code, w_off, b_off]
        n_in = layer.units
    return np.array(meta, dtype=np.int64)


def workspace_size(meta: np.ndarray, m: int, k: int) -> int:
    """Floats of workspace for a batch of m rows and k target columns."""
    L = int(meta[0])
    n_in = int(meta[1])
    units = [int(meta[1 + _FIELDS * i + 1]) for i in range(L)]
    widest = max(units + [n_in])
    return m * (n_in + k + 1 + sum(units) + 2 * widest)


@jit
def _matmul(x, W, z):
    """z = x @ W, (m, n) @ (n, u), the inner loop along W's rows."""
    m, n = x.shape
    u = W.shape[1]
    for i in range(m):
        for j in range(u):
            z[i, j] = x[i, 0] * W[0, j]
        for k in range(1, n):
            xv = x[i, k]
            for j in range(u):
                z[i, j] += xv * W[k, j]


@jit
def _matmul_tn(x, dz, dW):
    """dW = x.T @ dz, (m, n).T @ (m, u)."""
    m, n = x.shape
    u = dz.shape[1]
    for k in range(n):
        xv = x[0, k]
        for j in range(u):
            dW[k, j] = xv * dz[0, j]
    for i in range(1, m):
        for k in range(n):
            xv = x[i, k]
            for j in range(u):
                dW[k, j] += xv * dz[i, j]


@jit
def _matmul_nt(dz, W, dx):
    """dx = dz @ W.T, (m, u) @ (n, u).T."""
    m, u = dz.shape
    n = W.shape[0]
    for i in range(m):
        for k in range(n):
            acc = dz[i, 0] * W[k, 0]
            for j in range(1, u):
                acc += dz[i, j] * W[k, j]
            dx[i, k] = acc


@jit
def _layer(meta, li):
    at = 1 + 5 * li
    return meta[at], meta[at + 1], meta[at + 2], meta[at + 3], meta[at + 4]


@jit
def _forward(P, xb, meta, C, ws, at, fused_last):
    """Every layer's output for the batch xb, into ws from ``at``; returns the end offset.
    The last layer stops at z when its loss is fused with its activation."""
    m = xb.shape[0]
    L = meta[0]
    h = xb
    empty = P[:0]
    for li in range(L):
        n_in, u, code, w_off, b_off = _layer(meta, li)
        W = P[w_off : w_off + n_in * u].reshape((n_in, u))
        b = empty if b_off < 0 else P[b_off : b_off + u]
        z = ws[at : at + m * u].reshape((m, u))
        at += m * u
        _matmul(h, W, z)
        bias_activation(IDENTITY if (fused_last and li == L - 1) else code, z, b, C)
        h = z
    return at


@jit
def _views(P, G, ws, meta, m, k_y, weighted):
    """The 2-D views one step works on, for batches of m rows, made once per batch size
    (a reshape costs more than a small layer's arithmetic): the gathered batch (xb, yb,
    wb), each layer's W, b, dW, db and output A, and each output's gradient DZ."""
    L = meta[0]
    n_in = meta[1]
    xb = ws[: m * n_in].reshape((m, n_in))
    at = m * n_in
    yb = ws[at : at + m * k_y].reshape((m, k_y))
    at += m * k_y
    wb = ws[at : at + (m if weighted else 0)]
    at += m
    widest = n_in
    Ws, bs, dWs, dbs, As = [xb], [wb], [xb], [wb], [xb]
    for li in range(L):
        n, u, code, w_off, b_off = _layer(meta, li)
        Ws.append(P[w_off : w_off + n * u].reshape((n, u)))
        dWs.append(G[w_off : w_off + n * u].reshape((n, u)))
        bs.append(P[b_off : b_off + u] if b_off >= 0 else P[:0])
        dbs.append(G[b_off : b_off + u] if b_off >= 0 else G[:0])
        As.append(ws[at : at + m * u].reshape((m, u)))
        at += m * u
        widest = max(widest, u)
    # the gradients of consecutive layers' outputs alternate between two buffers
    DZ = [xb]
    for li in range(L):
        u = meta[1 + 5 * li + 1]
        first = at if (L - 1 - li) % 2 == 0 else at + m * widest
        DZ.append(ws[first : first + m * u].reshape((m, u)))
    return xb, yb, wb, Ws[1:], bs[1:], dWs[1:], dbs[1:], As[1:], DZ[1:]


@jit
def _step(views, lb, rows, meta, loss_code, fused, l2, n_weights, P, G, C, S):
    """Network._loss_and_grad on the gathered batch in ``views``: the forward pass, the
    loss, the backward pass into G (through the dW and db views); returns the loss."""
    xb, yb, wb, Ws, bs, dWs, dbs, As, DZ = views
    L = meta[0]
    h = xb
    for li in range(L):
        _matmul(h, Ws[li], As[li])
        code = meta[1 + 5 * li + 2]
        bias_activation(IDENTITY if (fused and li == L - 1) else code, As[li], bs[li], C)
        h = As[li]
    value = loss(loss_code, As[L - 1], yb, lb, wb, DZ[L - 1], rows, C, S)
    if not fused:
        activation_backward(meta[1 + 5 * (L - 1) + 2], As[L - 1], DZ[L - 1], P[:0], C)
    # last layer first: dW = x.T @ dz, db = column sums, dx = dz @ W.T, dz below
    for li in range(L - 1, -1, -1):
        _matmul_tn(As[li - 1] if li > 0 else xb, DZ[li], dWs[li])
        if dbs[li].shape[0] > 0:
            column_sums(DZ[li], dbs[li])
        if li > 0:
            _matmul_nt(DZ[li], Ws[li], DZ[li - 1])
            activation_backward(meta[1 + 5 * (li - 1) + 2], As[li - 1], DZ[li - 1], P[:0], C)
    if l2 > 0.0:
        mass = float(xb.shape[0])
        if wb.shape[0] > 0:
            total = wb[0]
            for i in range(1, wb.shape[0]):
                total += wb[i]
            mass = float(total)
        value += l2_penalty(P, G, n_weights, l2, mass, C, S)
    return value


@jit
def _is_fused(loss_code):
    return loss_code == FUSED[0] or loss_code == FUSED[1] or loss_code == FUSED[2]


@jit
def _gather(X, Y, labels, w, order, start, m, xb, yb, lb, wb):
    """Rows order[start:start+m] (or start..start+m when order is empty) of X, Y, labels
    and w into the batch buffers."""
    for i in range(m):
        r = order[start + i] if order.shape[0] > 0 else start + i
        for j in range(X.shape[1]):
            xb[i, j] = X[r, j]
        for j in range(Y.shape[1]):
            yb[i, j] = Y[r, j]
        if labels.shape[0] > 0:
            lb[i] = labels[r]
        if w.shape[0] > 0:
            wb[i] = w[r]


@jit
def train(
    P: np.ndarray,
    G: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    labels: np.ndarray,
    w: np.ndarray,
    orders: np.ndarray,
    n_epochs: int,
    batch: int,
    meta: np.ndarray,
    loss_code: int,
    l2: float,
    n_weights: int,
    C: np.ndarray,
    S: np.ndarray,
    ws: np.ndarray,
    lb: np.ndarray,
    rows: np.ndarray,
    opt: int,
    M: np.ndarray,
    V: np.ndarray,
    hyper: np.ndarray,
    t: int,
    saved: np.ndarray,
    check: bool,
    record: np.ndarray,
) -> tuple[int, int, int]:
    """``n_epochs`` epochs of training: per batch, Network._loss_and_grad (the forward
    pass, the loss, the backward pass) and the optimizer's update, as
    training._run_epochs does. ``orders`` holds each epoch's shuffled order, or is empty
    for the natural order. ``hyper`` (float64): lr, momentum, nesterov, beta1, beta2,
    eps, the weight decay factor and the number of decayed entries; the scalars are
    cast to the network's dtype as NumPy casts them.

    ``record[e]`` gets epoch e's mean batch loss and its sample-weighted mean. Returns
    (epochs run, the optimizer's step count, the epoch that saw a non-finite loss or -1).
    With ``check``, training stops at the first non-finite loss, before its update.
    """
    n = X.shape[0]
    n_batches = (n + batch - 1) // batch
    lr = _cast(S, hyper[0])
    mu = _cast(S, hyper[1])
    nesterov = hyper[2] != 0.0
    b1, b2 = hyper[3], hyper[4]
    eps = _cast(S, hyper[5])
    decay = _cast(S, hyper[6])
    n_decayed = int(hyper[7])
    b1_d = _cast(S, b1)
    b2_d = _cast(S, b2)
    omb1 = _cast(S, 1.0 - b1)
    omb2 = _cast(S, 1.0 - b2)
    keep = saved if check else saved[:0]
    natural = np.empty(0, dtype=np.intp)
    fused = _is_fused(loss_code)
    has_w = w.shape[0] > 0
    full = _views(P, G, ws, meta, min(batch, n), Y.shape[1], has_w)
    last = full
    if n > batch and n % batch:
        last = _views(P, G, ws, meta, n % batch, Y.shape[1], has_w)
    for e in range(n_epochs):
        order = orders[e] if orders.shape[0] > 0 else natural
        total = 0.0
        weighted = 0.0
        for s in range(0, n, batch):
            m = min(batch, n - s)
            views = full if m == batch else last
            _gather(X, Y, labels, w, order, s, m, views[0], views[1], lb, views[2])
            lbm = lb[:m] if labels.shape[0] > 0 else lb[:0]
            value = _step(views, lbm, rows[:m], meta, loss_code, fused, l2, n_weights, P, G, C, S)
            if check and not math.isfinite(value):
                record[e, 0] = value
                return e, t, e
            if opt == SGD:
                sgd(P, G, lr, keep)
            elif opt == MOMENTUM:
                sgd_momentum(P, G, V, lr, mu, nesterov, keep)
            elif opt == ADAM:
                t += 1
                step = hyper[0] * math.sqrt(1.0 - math.pow(b2, t)) / (1.0 - math.pow(b1, t))
                adam(
                    P,
                    G,
                    M,
                    V,
                    n_decayed,
                    decay,
                    b1_d,
                    omb1,
                    b2_d,
                    omb2,
                    eps,
                    _cast(S, step),
                    keep,
                    P[:0],  # no factors on the learning rate,
                    C[ZERO],  # so no shrink of the weights by them
                )
            total += value
            weighted += value * m
        if n_batches == 1:
            record[e, 0] = total
            record[e, 1] = total
        else:
            record[e, 0] = total / n_batches
            record[e, 1] = weighted / n
    return n_epochs, t, -1
