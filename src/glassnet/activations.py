"""Activation functions and their derivatives, side by side, in one registry.

Each activation is a pair of pure functions: ``forward(z) -> a`` and
``backward(a, da) -> dz``. The derivative is written in terms of the output
``a``, never the input ``z``, so a layer may compute its activation in place
and keep a single buffer. Both accept ``out=`` (which may alias an input) so
the training loop allocates nothing.

Custom activations are :class:`Activation` objects; :func:`register` adds one
to the registry so that model files, which store names and never code, can
refer to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .validation import unknown_name

__all__ = [
    "Activation",
    "get",
    "register",
    "names",
    "identity",
    "identity_backward",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "softmax",
    "softmax_backward",
    "exp",
    "exp_backward",
    "selu",
    "selu_backward",
    "silu",
    "silu_backward",
    "mish",
    "mish_backward",
    "LEAKY_SLOPE",
    "SIGMOID_FLOOR",
    "SELU_SCALE",
    "SELU_ALPHA",
    "SELU_SHIFT",
    "MISH_CLIP",
    "MISH_FLOOR",
    "BUILTIN",
]

#: Slope of leaky_relu for negative inputs.
LEAKY_SLOPE = 0.01

# exp(-z) overflows below these inputs; sigmoid clips there (its value is 0 to
# within the dtype's precision anyway).
SIGMOID_FLOOR: dict[np.dtype, float] = {np.dtype(np.float32): -87.0, np.dtype(np.float64): -708.0}


def _constants(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(0, 1, sigmoid floor) as 0-d arrays: a ufunc takes them faster than Python floats."""
    zero, one, floor = (
        np.asarray(v, dtype=dtype) for v in (0.0, 1.0, SIGMOID_FLOOR[np.dtype(dtype)])
    )
    return zero, one, floor


_CONST = {dtype: _constants(dtype) for dtype in SIGMOID_FLOOR}
_CONST64 = _CONST[np.dtype(np.float64)]


def _row(value: float, z: np.ndarray) -> np.ndarray:
    """``value`` as a row along z's last axis. np.minimum and np.maximum run their
    vectorised loop on a row broadcast down a batch, and not on a scalar: about twice as
    fast on the default recipe's batches, with the same results."""
    return np.full(z.shape[-1:], value, dtype=z.dtype)


@dataclass(frozen=True)
class Activation:
    """An activation function and its derivative.

    Parameters
    ----------
    name : str
        The registry name, also written to model files.
    forward : callable ``(z, out=None) -> a``
        Elementwise (or row-wise, for softmax) map of pre-activations ``z`` of
        shape (n_samples, units).
    backward : callable ``(a, da, out=None) -> dz``
        ``dz = da * f'(z)``, computed from the output ``a = f(z)``, or from the input
        ``z`` when ``from_input`` (Mish and SiLU, whose input no output determines).
    init : str
        The weight initialiser that suits this activation ("he" or "glorot").
    from_input : bool
        Whether ``backward`` takes the input ``z`` instead of the output.
    with_slope : callable ``(z, out, slope) -> a``, optional
        ``forward`` that also writes the derivative f'(z) into ``slope``, for an
        activation whose backward would recompute what its forward computed (Mish): a
        layer that keeps the slope multiplies by it in its backward pass.
    """

    name: str
    forward: Callable[..., np.ndarray]
    backward: Callable[..., np.ndarray]
    init: str = "glorot"
    from_input: bool = False
    with_slope: Callable[..., np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


# Each function takes ``out`` positionally as well: ``f(z, out)``. They pass it on
# positionally too (a ufunc called with a positional output array costs about half of
# one called with ``out=``, which matters on the tiny arrays of a per-sample step),
# except to np.maximum, which takes it by keyword only.

# --- identity: a = z,  da/dz = 1 ------------------------------------------------


def identity(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def identity_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None or out is da:
        return da
    np.copyto(out, da)
    return out


# --- relu: a = max(z, 0),  da/dz = [z > 0] = [a > 0] ----------------------------


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, _CONST.get(z.dtype, _CONST64)[0], out=out)


def relu_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.multiply(da, np.greater(a, _CONST.get(a.dtype, _CONST64)[0]), out)


# --- leaky_relu: a = max(z, s*z) for 0 < s < 1,  da/dz = 1 if a > 0 else s -------


def leaky_relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, LEAKY_SLOPE * z, out=out)


def leaky_relu_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # slope = s + (1 - s) [a > 0], in arithmetic: a select (np.where) on a mask that
    # changes from unit to unit costs more than these passes (benchmarks/recipe.py)
    slope = np.multiply(np.greater(a, 0.0), np.asarray(1.0 - LEAKY_SLOPE, a.dtype))
    slope += LEAKY_SLOPE
    return np.multiply(da, slope, out)


# --- sigmoid: a = 1 / (1 + exp(-z)),  da/dz = a (1 - a) --------------------------


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # The seeds' formula, so their printed digits come out exactly; z is
    # clipped from below only where exp(-z) would overflow.
    zero, one, floor = _CONST.get(z.dtype, _CONST64)
    out = np.maximum(z, floor, out=out)
    np.negative(out, out)
    np.exp(out, out)
    np.add(out, one, out)
    return np.reciprocal(out, out)


def sigmoid_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    slope = np.subtract(_CONST.get(a.dtype, _CONST64)[1], a)
    np.multiply(slope, a, slope)
    return np.multiply(da, slope, out)


# --- tanh: a = tanh(z),  da/dz = 1 - a^2 -----------------------------------------


def tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(z, out)


def tanh_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    slope = np.multiply(a, a)
    np.subtract(_CONST.get(a.dtype, _CONST64)[1], slope, slope)
    return np.multiply(da, slope, out)


# --- softmax: a_i = exp(z_i) / sum_j exp(z_j),  dz_i = a_i (da_i - sum_j a_j da_j)


def softmax(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # Subtracting the row maximum leaves the result unchanged and keeps exp finite.
    out = np.subtract(z, z.max(axis=1, keepdims=True), out)
    np.exp(out, out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def softmax_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    weighted = np.einsum("ij,ij->i", a, da)[:, np.newaxis]
    out = np.subtract(da, weighted, out)
    out *= a
    return out


# --- exp: a = exp(z),  da/dz = a  (the log link of Poisson regression) -----------


def exp(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.exp(z, out)


def exp_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.multiply(da, a, out)


# --- selu: a = l z (z > 0), l c (exp(z) - 1) (z <= 0),  da/dz = l (z > 0), a + l c ----
# (Klambauer et al., 2017: the constants that keep activations at zero mean, unit variance)

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
#: l c - l: the slope on the negative side is a + SELU_SHIFT + l.
SELU_SHIFT = SELU_SCALE * SELU_ALPHA - SELU_SCALE


def selu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # exp(z) - 1 rather than expm1(z): NumPy's float32 exp is vectorised and its expm1 is
    # not (benchmarks/recipe.py times SELU both ways). Near z = 0 the difference is a
    # rounding of 1 (6e-8 in float32), far below the unit scale of the activations.
    zero = _row(0.0, z)
    negative = np.exp(np.minimum(z, zero))
    negative -= 1.0
    negative *= SELU_ALPHA
    out = np.maximum(z, zero, out=out)
    out += negative
    out *= SELU_SCALE
    return out


def selu_backward(a: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # slope = l + (a + l c - l) [a <= 0]: exactly l where a > 0, and within a rounding of l
    # of a + l c elsewhere; in arithmetic (see leaky_relu)
    slope = np.minimum(a, _row(0.0, a))
    slope += SELU_SHIFT
    slope *= np.less_equal(a, 0.0)
    slope += SELU_SCALE
    return np.multiply(da, slope, out)


# --- silu (swish): a = z sigmoid(z),  da/dz = s (1 + z (1 - s)), s = sigmoid(z) -------


def silu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    s = sigmoid(z)
    return np.multiply(z, s, out)


def silu_backward(z: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    s = sigmoid(z)
    slope = np.subtract(1.0, s)
    slope *= z
    slope += 1.0
    slope *= s
    return np.multiply(da, slope, out)


# --- mish: a = z tanh(softplus(z)),  da/dz = t + z sigmoid(z) (1 - t^2), t = tanh(sp(z))
# (Misra, 2019). With e = exp(z) and n = e (e + 2), tanh(log(1 + e)) = n / (n + 2), so
# 1 - t = 2 / (n + 2) and sigmoid(z) = e / (1 + e): one exp instead of softplus and tanh,
# without cancellation (correct to a few ulp), and t = 1 to double precision above
# MISH_CLIP (1 - t < 2 exp(-2z)).

#: The input above which mish(z) = z: exp is taken of min(z, MISH_CLIP).
MISH_CLIP = 20.0
#: The input below which Mish's derivative is taken at MISH_FLOOR (sigmoid(z) is 0 there).
MISH_FLOOR = -1000.0


def _mish_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e, n + 2, t): e = exp(min(z, MISH_CLIP)), n = e (e + 2), t = n / (n + 2)."""
    e = np.minimum(z, _row(MISH_CLIP, z))
    np.exp(e, e)
    n = np.add(e, 2.0)
    n *= e
    d = np.add(n, 2.0)
    t = np.divide(n, d, n)
    return e, d, t


def mish(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    t = _mish_parts(z)[2]
    return np.multiply(z, t, out)


def _mish_slope(z: np.ndarray, e: np.ndarray, d: np.ndarray, t: np.ndarray, out=None):
    """Mish's derivative from its parts (e and d are overwritten), into out (else d)."""
    s = np.add(e, 1.0)
    np.divide(e, s, s)  # sigmoid(z)
    slope = np.divide(2.0, d, d if out is None else out)  # 1 - t
    slope *= np.add(t, 1.0, e)  # (1 - t)(1 + t)
    slope *= s
    # z within the range where e is exact: above MISH_CLIP the product is z's value at the
    # clip (1 - t^2 stops shrinking there), and below -1000 sigmoid(z) is 0 (-inf too)
    slope *= np.clip(z, MISH_FLOOR, MISH_CLIP)
    slope += t
    return slope


def mish_backward(z: np.ndarray, da: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.multiply(da, _mish_slope(z, *_mish_parts(z)), out)


def mish_with_slope(z: np.ndarray, out: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """mish(z) into out and its derivative into slope, from one exp."""
    e, d, t = _mish_parts(z)
    _mish_slope(z, e, d, t, slope)
    return np.multiply(z, t, out)


# --- the registry ---------------------------------------------------------------

_REGISTRY: dict[str, Activation] = {}
_ALIASES = {"linear": "identity", "logistic": "sigmoid", "swish": "silu"}


def register(activation: Activation) -> Activation:
    """Add an activation to the registry, so layers and model files can name it."""
    if not isinstance(activation, Activation):
        raise TypeError(f"register() takes an Activation, got {type(activation).__name__}")
    if activation.name in _ALIASES:
        raise ValueError(f"{activation.name!r} is an alias of {_ALIASES[activation.name]!r}")
    _REGISTRY[activation.name] = activation
    return activation


for _act in (
    Activation("identity", identity, identity_backward, "glorot"),
    Activation("relu", relu, relu_backward, "he"),
    Activation("leaky_relu", leaky_relu, leaky_relu_backward, "he"),
    Activation("sigmoid", sigmoid, sigmoid_backward, "glorot"),
    Activation("tanh", tanh, tanh_backward, "glorot"),
    Activation("softmax", softmax, softmax_backward, "glorot"),
    Activation("exp", exp, exp_backward, "glorot"),
    Activation("selu", selu, selu_backward, "glorot"),
    Activation("silu", silu, silu_backward, "he", from_input=True),
    Activation("mish", mish, mish_backward, "he", from_input=True, with_slope=mish_with_slope),
):
    register(_act)

#: The activations glassnet ships.
BUILTIN: tuple[Activation, ...] = tuple(_REGISTRY.values())


def names() -> list[str]:
    """The registered activation names, aliases included."""
    return sorted([*_REGISTRY, *_ALIASES])


def get(activation: str | Activation | None) -> Activation:
    """Look up an activation by name (``None`` means identity).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if activation is None:
        return _REGISTRY["identity"]
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a name or an Activation, got {type(activation).__name__}"
        )
    key = _ALIASES.get(activation.lower(), activation.lower())
    if key not in _REGISTRY:
        raise unknown_name("activation", activation, names())
    return _REGISTRY[key]
