"""Optimizers: each updates the network's whole flat parameter vector in one go.

``step(params, grads)`` changes ``params`` in place from ``grads``, both 1-D
arrays of the same length and dtype. The network lays out all weights first
and all biases after them, so "the weights" are the prefix ``params[:n_weights]``
(which weight decay uses).

State (velocities, moments) lives in the optimizer, so passing the same
instance to a second ``fit`` continues where the first left off. The training loop
sets ``lr`` before each epoch when a learning-rate schedule is in use
(:mod:`glassnet.schedules`). This is the NumPy reference; the compiled path
(:mod:`glassnet.fast`) does the same updates in one pass, from the same public state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .validation import unknown_name

__all__ = ["Optimizer", "SGD", "Adam", "LBFGS", "get", "names"]


def _check_rate(value, name: str, *, positive: bool = True, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value:g}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be non-negative, got {value:g}")
    if below_one and value >= 1:
        raise ValueError(f"{name} must be below 1, got {value:g}")
    return value


class Optimizer:
    """Base class. Subclasses implement :meth:`step` and keep their state in arrays
    that :meth:`prepare` allocates to match the parameter vector.

    State (velocities, moments) is pickled; scratch buffers (``_SCRATCH``) are not,
    and :meth:`prepare` makes them again.
    """

    lr: float | None  # None for L-BFGS, which takes no steps of its own
    lr_factors: np.ndarray | None = None
    _SCRATCH: tuple[str, ...] = ("_tmp",)
    _tmp: np.ndarray  # a scratch buffer, made by prepare
    _shape: tuple[tuple[int, ...], np.dtype] | None

    @property
    def learning_rate(self) -> float | None:
        """The step size ``lr``, by scikit-learn's name for it."""
        return self.lr

    def prepare(
        self, params: np.ndarray, n_weights: int, lr_factors: np.ndarray | None = None
    ) -> None:
        """Allocate (or keep) state for a parameter vector; called once per fit.
        ``lr_factors`` (laid out as ``params``; None: all 1) multiply the learning rate,
        and the weight decay, parameter by parameter (``Network.lr_factors``)."""
        self.n_weights = n_weights
        self.lr_factors = lr_factors
        if getattr(self, "_shape", None) != (params.shape, params.dtype):
            self._shape = (params.shape, params.dtype)
            self._allocate(params)
            for name in self._SCRATCH:
                setattr(self, name, None)
        for name in self._SCRATCH:
            if getattr(self, name, None) is None:
                setattr(self, name, np.empty_like(params))

    def _allocate(self, params: np.ndarray) -> None:
        pass

    def __getstate__(self) -> dict:
        """Plain values (builtins and NumPy arrays): the dtype is written as its name."""
        state = self.__dict__.copy()
        for name in self._SCRATCH:
            state.pop(name, None)
        if state.get("_shape") is not None:
            shape, dtype = state["_shape"]
            state["_shape"] = (tuple(shape), np.dtype(dtype).name)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        saved = self.__dict__.get("_shape")
        if saved is not None:
            shape, dtype = saved
            self._shape = (tuple(shape), np.dtype(dtype))

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        raise NotImplementedError

    def update(self, params: np.ndarray, grads: np.ndarray, saved: np.ndarray | None) -> None:
        """``step``, first keeping the parameters it overwrites in ``saved`` (unless None):
        the training loop's divergence guard hands them back if the next loss is not
        finite."""
        if saved is not None:
            saved[...] = params
        self.step(params, grads)

    def reset(self) -> None:
        """Forget all state (velocities, moments, step count)."""
        self._shape = None


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Without momentum: ``params -= lr * grads``. With momentum mu:
    ``v = mu * v - lr * grads``, then ``params += v`` (or, with Nesterov,
    ``params += mu * v - lr * grads``).
    """

    lr: float

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr = _check_rate(lr, "learning rate")
        self.momentum = _check_rate(momentum, "momentum", positive=False, below_one=True)
        self.nesterov = bool(nesterov)
        self._shape = None

    def _allocate(self, params: np.ndarray) -> None:
        self.velocity = np.zeros_like(params)

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        tmp = self._tmp
        np.multiply(grads, self.lr, tmp)
        if self.lr_factors is not None:
            tmp *= self.lr_factors
        if self.momentum == 0.0:
            np.subtract(params, tmp, params)
            return
        v = self.velocity
        v *= self.momentum
        v -= tmp
        if self.nesterov:
            params -= tmp
            np.multiply(v, self.momentum, tmp)
        else:
            np.copyto(tmp, v)
        params += tmp

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum:g}" if self.momentum else ""
        extra += ", nesterov=True" if self.nesterov else ""
        return f"SGD(lr={self.lr:g}{extra})"


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with optional decoupled weight decay.

    With g the gradient and t the step count::

        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        params -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)

    ``weight_decay`` shrinks the weights (not the biases) by ``lr * weight_decay``
    of themselves each step, before the update (AdamW).
    """

    lr: float

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = _check_rate(lr, "learning rate")
        self.beta1 = _check_rate(beta1, "beta1", positive=False, below_one=True)
        self.beta2 = _check_rate(beta2, "beta2", positive=False, below_one=True)
        self.eps = _check_rate(eps, "eps")
        self.weight_decay = _check_rate(weight_decay, "weight_decay", positive=False)
        self._shape = None
        self.t = 0

    _SCRATCH = ("_tmp", "_tmp2")
    _tmp2: np.ndarray

    def _allocate(self, params: np.ndarray) -> None:
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        m, v, tmp, tmp2 = self.m, self.v, self._tmp, self._tmp2
        if self.weight_decay:
            weights = params[: self.n_weights]
            if self.lr_factors is None:
                weights *= 1.0 - self.lr * self.weight_decay
            else:
                decay = np.multiply(
                    self.lr_factors[: self.n_weights],
                    -self.lr * self.weight_decay,
                    tmp[: self.n_weights],
                )
                decay += 1.0
                weights *= decay
        m *= b1
        np.multiply(grads, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(grads, grads, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        step_size = self.step_size()
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp2)
        tmp2 *= step_size
        if self.lr_factors is not None:
            tmp2 *= self.lr_factors
        params -= tmp2

    def step_size(self) -> float:
        """The factor of m / (sqrt(v) + eps) at the current step count t:
        lr * sqrt(1 - beta2^t) / (1 - beta1^t)."""
        return self.lr * math.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t)

    def reset(self) -> None:
        super().reset()
        self.t = 0

    def __repr__(self) -> str:
        wd = f", weight_decay={self.weight_decay:g}" if self.weight_decay else ""
        return f"Adam(lr={self.lr:g}{wd})"


class LBFGS(Optimizer):
    """L-BFGS on the full batch, through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    It is not a per-step optimizer: ``fit`` hands it the whole loss and gradient
    as functions of the flat parameter vector, and each epoch of ``fit`` is one
    L-BFGS iteration. Training also ends when the largest gradient component
    falls below ``tol`` or after ``max_fun`` loss evaluations. Needs scipy
    (``pip install 'glassnet[scipy]'``).

    After training, ``result`` holds scipy's OptimizeResult (status, message, nit).
    """

    lr = None

    def __init__(self, tol: float = 1e-4, max_fun: int = 15000, history_size: int = 10) -> None:
        self.tol = _check_rate(tol, "tol", positive=False)
        if isinstance(max_fun, bool) or not isinstance(max_fun, (int, np.integer)) or max_fun < 1:
            raise ValueError(f"max_fun must be a positive integer, got {max_fun!r}")
        self.max_fun = int(max_fun)
        if (
            isinstance(history_size, bool)
            or not isinstance(history_size, (int, np.integer))
            or history_size < 1
        ):
            raise ValueError(f"history_size must be a positive integer, got {history_size!r}")
        self.history_size = int(history_size)
        self.result = None
        self._shape = None

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        raise TypeError("LBFGS optimises the whole batch at once; pass it to fit()")

    def minimize(
        self,
        objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
        params: np.ndarray,
        iterations: int,
        callback: Callable[[Any], Any],
    ) -> Any:
        """Run scipy's L-BFGS-B from ``params`` for at most ``iterations`` iterations:
        ``objective(x)`` returns the loss and its float64 gradient, ``callback`` sees
        each iteration's OptimizeResult. Writes the result into ``params``, keeps it as
        ``self.result`` and returns it. An exception from either function propagates
        (``params`` then holds what the caller last wrote into it)."""
        try:
            from scipy.optimize import minimize
        except ImportError:
            raise ImportError(
                "the LBFGS optimizer needs scipy: pip install 'glassnet[scipy]'"
            ) from None
        options = {
            "maxiter": iterations,
            "maxfun": self.max_fun,
            "gtol": self.tol,
            "maxcor": self.history_size,
        }
        result = minimize(
            objective,
            params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options=options,
        )
        params[...] = result.x
        self.result = result
        return result

    def __repr__(self) -> str:
        return f"LBFGS(tol={self.tol:g})"


_REGISTRY = {"sgd": SGD, "adam": Adam, "lbfgs": LBFGS}


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(optimizer: str | Optimizer | None) -> Optimizer:
    """An Optimizer for a name ("sgd", "adam", "lbfgs"), an instance, or None (Adam())."""
    if optimizer is None:
        return Adam()
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    key = optimizer.lower()
    if key not in _REGISTRY:
        raise unknown_name("optimizer", optimizer, names())
    return _REGISTRY[key]()
