"""Loss functions: the value, the gradient, and fused gradients for canonical pairs.

Every loss states its reduction (``y`` and ``a`` have shape (n, k)):

========================  ===========================================  ==============
name                      value                                        output layer
========================  ===========================================  ==============
``sse``                   sum over all elements of (a - y)^2           any
``mse``                   mean over all elements of (a - y)^2          any
``half_squared_error``    mean over samples of 0.5 * sum_k (a - y)^2   any
``mae``                   mean over all elements of |a - y|            any
``huber``                 mean over all elements of huber(a - y)       any
``bce``                   mean over samples of sum_k bce(a, y)         sigmoid
``cross_entropy``         mean over samples of -sum_k y log a          softmax
``poisson``               mean over samples of sum_k (y log(y/a) - y + a)  exp
========================  ===========================================  ==============

With ``sample_weight`` w, "mean over samples" becomes sum_i w_i l_i / sum_i w_i and
``sse`` becomes sum_i w_i l_i.

The last three are always paired with their canonical output activation, and
fused with it: from the logits ``z`` they compute the activation, the value
(never ``log(0)``) and the gradient with respect to ``z`` directly:
``dL/dz = (a - y) * w_i / sum(w)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import activations
from .validation import unknown_name

__all__ = [
    "Loss",
    "SSE",
    "MSE",
    "HalfSquaredError",
    "MAE",
    "Huber",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Poisson",
    "l2_penalty",
    "get",
    "names",
]


def _weights_sum(w: np.ndarray | None, n: int) -> float:
    return float(n) if w is None else float(w.sum())


def _smoothing(value) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"label smoothing must be in [0, 1), got {value}")
    return value


def l2_penalty(
    weights: np.ndarray,
    l2: float,
    m: float,
    grads: np.ndarray | None = None,
    tmp: np.ndarray | None = None,
) -> float:
    """The L2 penalty on the weights (scikit-learn's ``alpha``):
    0.5 * l2 * ||W||^2 / m, with m the batch's total sample weight.

    With ``grads`` (the weights' gradients, same shape), its gradient l2 * W / m is
    added to them, through ``tmp`` (scratch of the same shape) when given.
    """
    if grads is not None:
        grads += np.multiply(weights, l2 / m, tmp)
    return 0.5 * l2 * float(np.dot(weights, weights)) / m


class Loss:
    """Base class. Subclasses set ``name`` and, if they need one, ``output``.

    ``output`` names the output activation the loss requires (``None``: any).
    A loss with an ``output`` implements :meth:`fused`; the others
    implement :meth:`value_and_grad`.
    """

    name = "loss"
    output: str | None = None

    # -- the public, allocating form -------------------------------------------

    def __call__(self, y_pred, y, sample_weight=None) -> float:
        """The loss of predictions ``y_pred`` against targets ``y``, both (n, k)."""
        y_pred = np.asarray(y_pred, dtype=float)
        y = np.asarray(y, dtype=float)
        if y_pred.ndim == 1:
            y_pred = y_pred[:, np.newaxis]
        if y.ndim == 1:
            y = y[:, np.newaxis]
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return self.value(y_pred, y, w)

    def value(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, z: np.ndarray | None = None
    ) -> float:
        """The loss of outputs ``a`` (and, for logit losses, pre-activations ``z``)."""
        return self.value_and_grad(a, y, w, np.empty_like(a))

    def value_and_grad(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray
    ) -> float:
        """Return the loss and write dL/da into ``out`` (same shape as ``a``)."""
        raise NotImplementedError(f"{self.name} is computed from logits; use fused")

    def fused(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray) -> float:
        """From the logits z: return the loss and write dL/dz into ``out`` (canonical pairs)."""
        raise NotImplementedError(f"{self.name} has no fused form")

    def denominator(self, n: int, k: int, w: np.ndarray | None = None) -> float:
        """What the loss divides its sum over samples by, for ``n`` samples of ``k`` outputs.

        The loss is (sum over samples of a per-sample term) / denominator, so the loss
        of a batch split into parts is sum_p(loss_p * denominator_p) / denominator of
        the whole (how data-parallel training combines its workers' losses and
        gradients). "Mean over samples" divides by the total sample weight, "mean over
        all elements" by that times k, and ``sse`` by 1.
        """
        return _weights_sum(w, n)

    def check_target(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        """Validate (and if needed reshape) a target for a network with ``n_outputs``.

        ``y`` is a finite float array of shape (n,) or (n, k). Returns (n, n_outputs).
        """
        if y.ndim == 1:
            y = y[:, np.newaxis]
        if y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {y.shape[1]} column{'s' * (y.shape[1] != 1)}, "
                f"but the output layer has {n_outputs} unit{'s' * (n_outputs != 1)}"
            )
        return y

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Squared(Loss):
    """factor * sum of squares, divided by a stated denominator."""

    factor = 1.0

    def _denominator(self, n: int, k: int, wsum: float) -> float:
        raise NotImplementedError

    def denominator(self, n: int, k: int, w: np.ndarray | None = None) -> float:
        return self._denominator(n, k, _weights_sum(w, n))

    def value_and_grad(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray
    ) -> float:
        n, k = a.shape
        diff = np.subtract(a, y, out)
        if w is None:
            denom = self._denominator(n, k, float(n))
            value = self.factor * float(np.vdot(diff, diff)) / denom
            out *= 2.0 * self.factor / denom
        else:
            denom = self._denominator(n, k, float(w.sum()))
            per_row = np.einsum("ij,ij->i", diff, diff)
            value = self.factor * float(np.dot(w, per_row)) / denom
            out *= (2.0 * self.factor / denom) * w[:, np.newaxis]
        return value


class SSE(_Squared):
    """Sum of squared errors over all elements (seeds 000-002)."""

    name = "sse"

    def _denominator(self, n, k, wsum):
        return 1.0


class MSE(_Squared):
    """Mean of squared errors over all elements (seed 003)."""

    name = "mse"

    def _denominator(self, n, k, wsum):
        return wsum * k


class HalfSquaredError(_Squared):
    """Half the squared error, summed over outputs, averaged over samples.

    The objective scikit-learn's MLPRegressor minimises (``loss="squared_error"``).
    """

    name = "half_squared_error"
    factor = 0.5

    def _denominator(self, n, k, wsum):
        return wsum


class MAE(Loss):
    """Mean absolute error over all elements. dL/da = sign(a - y) / (n k)."""

    name = "mae"

    def denominator(self, n: int, k: int, w: np.ndarray | None = None) -> float:
        return _weights_sum(w, n) * k

    def value_and_grad(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray
    ) -> float:
        n, k = a.shape
        diff = np.subtract(a, y, out)
        denom = _weights_sum(w, n) * k
        if w is None:
            value = float(np.abs(diff).sum()) / denom
            np.sign(diff, out)
            out *= 1.0 / denom
        else:
            value = float(np.dot(w, np.abs(diff).sum(axis=1))) / denom
            np.sign(diff, out)
            out *= w[:, np.newaxis] / denom
        return value


class Huber(Loss):
    """Mean over all elements of the Huber function of r = a - y.

    huber(r) = r^2 / 2 where |r| <= delta, else delta (|r| - delta / 2);
    its derivative is r clipped to [-delta, delta].
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        if not delta > 0:
            raise ValueError(f"huber delta must be positive, got {delta}")
        self.delta = float(delta)

    def denominator(self, n: int, k: int, w: np.ndarray | None = None) -> float:
        return _weights_sum(w, n) * k

    def value_and_grad(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray
    ) -> float:
        n, k = a.shape
        d = self.delta
        r = np.subtract(a, y, out)
        ar = np.abs(r)
        elementwise = np.where(ar <= d, 0.5 * r * r, d * (ar - 0.5 * d))
        denom = _weights_sum(w, n) * k
        if w is None:
            value = float(elementwise.sum()) / denom
        else:
            value = float(np.dot(w, elementwise.sum(axis=1))) / denom
        np.clip(r, -d, d, out=out)
        out *= (1.0 / denom) if w is None else w[:, np.newaxis] / denom
        return value

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta})"


class _LogitLoss(Loss):
    """A loss fused with its canonical output activation f.

    :meth:`fused` takes the logits z and, in one pass, computes a = f(z), the
    loss from z (never log(0)), and dL/dz = (a - y) * w_i / sum(w).
    """

    def _activate(self, z, out) -> np.ndarray:
        """a = f(z) into out; returns what _rows needs besides z, a and y."""
        raise NotImplementedError

    def _rows(self, z, a, y, extra=None) -> np.ndarray:
        """The per-sample losses, shape (n,), computed from the logits."""
        raise NotImplementedError

    def value(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, z: np.ndarray | None = None
    ) -> float:
        if z is None:
            raise ValueError(f"{self.name} is computed from the output layer's logits z")
        return self._reduce(self._rows(z, a, y), w)

    @staticmethod
    def _reduce(rows, w) -> float:
        if w is None:
            return float(rows.sum()) / rows.shape[0]
        return float(np.dot(w, rows)) / float(w.sum())

    def _subtract_target(self, out, y) -> None:
        out -= y

    def _total(self, z, a, y, extra, w) -> float:
        """The loss: the (weighted) mean of the per-sample losses."""
        return self._reduce(self._rows(z, a, y, extra), w)

    def fused(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray) -> float:
        """Write dL/dz into ``out`` (via a = f(z)); return the loss. ``z`` is not changed."""
        extra = self._activate(z, out)
        value = self._total(z, out, y, extra, w)
        self._subtract_target(out, y)
        self._scale(out, w)
        return value

    @staticmethod
    def _scale(out, w) -> None:
        """dL/dz = (a - y) * w_i / sum(w): the last factor, in place."""
        if w is None:
            out *= 1.0 / out.shape[0]
        else:
            out *= w[:, np.newaxis] / float(w.sum())


class BinaryCrossEntropy(_LogitLoss):
    """Binary cross-entropy of sigmoid outputs, one independent label per output.

    From the logits: bce(z, y) = max(z, 0) - y z + log(1 + exp(-|z|)). With
    ``smoothing`` e, the targets are y (1 - e) + e / 2 (label smoothing, which keeps
    the logits from growing without bound on separable data).
    """

    name = "bce"
    output = "sigmoid"

    def __init__(self, smoothing: float = 0.0):
        self.smoothing = _smoothing(smoothing)

    def _smoothed(self, y):
        e = self.smoothing
        return y if not e else y * (1.0 - e) + e / 2

    def fused(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray) -> float:
        return super().fused(z, self._smoothed(y), w, out)

    def value(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, z: np.ndarray | None = None
    ) -> float:
        return super().value(a, self._smoothed(y), w, z)

    def __repr__(self) -> str:
        return (
            f"BinaryCrossEntropy(smoothing={self.smoothing:g})"
            if self.smoothing
            else super().__repr__()
        )

    def _activate(self, z, out):
        return activations.sigmoid(z, out)

    def _rows(self, z, a, y, extra=None):
        t = np.abs(z)
        np.negative(t, t)
        np.exp(t, t)
        np.log1p(t, t)  # log(1 + exp(-|z|)), exact even where the sigmoid saturates
        t += np.maximum(z, 0.0)
        t -= y * z
        return t.sum(axis=1) if t.shape[1] > 1 else t[:, 0]

    def check_target(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        y = super().check_target(y, n_outputs)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"bce targets must lie in [0, 1]; y holds values from {y.min():g} to {y.max():g}"
            )
        return y


class CrossEntropy(_LogitLoss):
    """Categorical cross-entropy of softmax outputs.

    Targets are one-hot rows (or probability rows), or integer class labels
    0..k-1, which stay an index vector: the one-hot rows are never built. From the
    logits: -sum_k y_k log a_k = logsumexp(z) - sum_k y_k z_k. With ``smoothing`` e,
    the targets are y (1 - e) + e / k (label smoothing, Szegedy et al., 2016): for a
    label, the loss is logsumexp(z) - (1 - e) z_label - e mean_k z_k.
    """

    name = "cross_entropy"
    output = "softmax"

    # exp(z - shift) stays a normal number down to these values of z - shift.
    SPAN = {np.dtype(np.float32): 80.0, np.dtype(np.float64): 700.0}

    def __init__(self, smoothing: float = 0.0) -> None:
        self.smoothing = _smoothing(smoothing)
        # (k, dtype) -> ones(k), for row sums as a matrix-vector product
        self._ones: dict[tuple[int, np.dtype], np.ndarray] = {}
        # (n, k) -> [0, k, 2k, ...], the start of each row in a flat view
        self._offsets: dict[tuple[int, int], np.ndarray] = {}

    def __repr__(self) -> str:
        return f"CrossEntropy(smoothing={self.smoothing:g})" if self.smoothing else "CrossEntropy()"

    def _activate(self, z, out):
        """softmax(z) into out; returns logsumexp of each row.

        Any shift m with max(z - m) = 0 per row is exact; one scalar shift (the
        largest logit) serves every row when the logits span less than exp's range,
        which spares a row-wise maximum. Otherwise each row is shifted by its own max.
        """
        high = z.max()
        if high - z.min() < self.SPAN.get(z.dtype, 80.0):
            np.subtract(z, high, out)
            m = high
        else:
            m = z.max(axis=1)[:, np.newaxis]
            np.subtract(z, m, out)
        np.exp(out, out)
        k = out.shape[1]
        ones = self._ones.get((k, out.dtype))
        if ones is None:
            ones = self._ones[(k, out.dtype)] = np.ones(k, dtype=out.dtype)
        s = np.dot(out, ones)  # row sums
        out /= s[:, np.newaxis]
        np.log(s, s)
        s += m if m.ndim == 0 else m[:, 0]
        return s

    def fused(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None, out: np.ndarray) -> float:
        e = self.smoothing
        if y.ndim == 2:
            return super().fused(z, y if not e else y * (1.0 - e) + e / z.shape[1], w, out)
        # Class indices: the flat position of each row's class, found once for both the
        # loss (the logit there) and the gradient (1 off the probability there).
        lse = self._activate(z, out)
        at = self._flat_index(y, z.shape[1])
        if not e:
            value = self._reduce(lse - np.take(z.reshape(-1), at), w)
            out.reshape(-1)[at] -= 1
        else:
            value = self._reduce(self._smoothed_rows(z, y, lse, at), w)
            out.reshape(-1)[at] -= 1.0 - e
            out -= e / z.shape[1]
        self._scale(out, w)
        return value

    def _smoothed_rows(self, z, y, lse, at) -> np.ndarray:
        e = self.smoothing
        return lse - (1.0 - e) * np.take(z.reshape(-1), at) - e * z.mean(axis=1)

    def _flat_index(self, labels: np.ndarray, k: int) -> np.ndarray:
        """Where row i's class sits in a flat view of an (n, k) array: i * k + labels[i]."""
        n = labels.shape[0]
        offsets = self._offsets.get((n, k))
        if offsets is None:
            offsets = self._offsets[(n, k)] = np.arange(n) * k
        return offsets + labels

    def _rows(self, z, a, y, extra=None):
        if extra is None:  # logsumexp(z) = max(z) - log(max(a)); max(a) >= 1/k
            extra = z.max(axis=1) - np.log(a.max(axis=1))
        if y.ndim == 1:  # class indices: the logit of each row's class
            at = self._flat_index(y, z.shape[1])
            if self.smoothing:
                return self._smoothed_rows(z, y, extra, at)
            return extra - np.take(z.reshape(-1), at)
        return extra - np.einsum("ij,ij->i", y, z)  # (rows smoothed by fused or value)

    def value(
        self, a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, z: np.ndarray | None = None
    ) -> float:
        e = self.smoothing
        if e and y.ndim == 2:
            y = y * (1.0 - e) + e / y.shape[1]
        return super().value(a, y, w, z)

    def _total(self, z, a, y, extra, w) -> float:
        if w is None and y.ndim == 2:  # rows of y sum to 1: mean(lse) - sum(y * z) / n
            return (float(extra.sum()) - float(np.vdot(y, z))) / z.shape[0]
        return self._reduce(self._rows(z, a, y, extra), w)

    def _subtract_target(self, out, y) -> None:
        if y.ndim == 1:  # class indices: subtract 1 at each row's class
            out.reshape(-1)[self._flat_index(y, out.shape[1])] -= 1
        else:
            out -= y

    def labels(self, y: Any, n_rows: int, n_outputs: int) -> np.ndarray | None:
        """Integer class labels as an index vector (no copy when y already is one),
        or None when y holds one-hot or probability rows."""
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or n_outputs < 2 or arr.dtype.kind not in "biuf":
            return None
        if arr.shape[0] != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {arr.shape[0]}")
        if arr.dtype.kind == "f" and not (
            np.isfinite(arr).all() and np.array_equal(arr, np.round(arr))
        ):
            raise ValueError(
                f"cross_entropy takes one-hot rows or integer class labels 0..{n_outputs - 1}; "
                "y holds non-integer values"
            )
        low, high = arr.min(), arr.max()
        if low < 0 or high >= n_outputs:
            raise ValueError(
                f"cross_entropy takes one-hot rows or integer class labels 0..{n_outputs - 1}; "
                f"y holds values from {low:g} to {high:g}"
            )
        return arr.astype(np.intp, copy=False)

    def check_target(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        """One-hot or probability rows (integer labels go through :meth:`labels`)."""
        y = super().check_target(y, n_outputs)
        if y.size and (y.min() < 0 or not np.allclose(y.sum(axis=1), 1.0, atol=1e-6)):
            raise ValueError(
                "cross_entropy targets must be one-hot rows (or probability rows summing to 1), "
                "or integer class labels"
            )
        return y


class Poisson(_LogitLoss):
    """Half the Poisson deviance, with the log link: a = exp(z).

    Per sample: sum_k (y log(y / a) - y + a), with 0 log 0 = 0, as scikit-learn's
    MLPRegressor(loss="poisson") reports it.
    """

    name = "poisson"
    output = "exp"

    def _activate(self, z, out):
        return np.exp(z, out)

    def _rows(self, z, a, y, extra=None):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        return (ylogy - y * z - y + a).sum(axis=1)

    def check_target(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        y = super().check_target(y, n_outputs)
        if y.size and y.min() < 0:
            raise ValueError(f"poisson targets must be non-negative; y has minimum {y.min():g}")
        return y


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (SSE, MSE, HalfSquaredError, MAE, Huber, BinaryCrossEntropy, CrossEntropy, Poisson)
}
_ALIASES = {
    "mean_squared_error": "mse",
    "squared_error": "half_squared_error",
    "mean_absolute_error": "mae",
    "l1": "mae",
    "binary_crossentropy": "bce",
    "binary_cross_entropy": "bce",
    "categorical_crossentropy": "cross_entropy",
    "ce": "cross_entropy",
}


def names() -> list[str]:
    """The registered loss names (aliases not included)."""
    return sorted(_REGISTRY)


def get(loss: str | Loss) -> Loss:
    """Return a Loss instance for a name (or the instance itself).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    key = _ALIASES.get(loss.lower(), loss.lower())
    if key not in _REGISTRY:
        raise unknown_name("loss", loss, names())
    return _REGISTRY[key]()
