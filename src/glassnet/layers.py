"""Layers: ``forward(x)`` caches what backward needs; ``backward(da) -> dx`` writes gradients.

Every layer keeps the same contract. ``forward`` takes a batch ``x`` of shape
(n, n_in) and returns the layer's output of shape (n, units). ``backward``
takes dL/d(output) and returns dL/dx, writing the layer's own parameter
gradients into the network's flat gradient vector. Backward never changes a
parameter; only the optimizer does. Gradients are overwritten, never
accumulated, so calling backward twice gives the same answer.

A layer declares its parameters (:meth:`Layer.parameter_shapes`); the network lays
them out in its flat vectors and hands each layer its views (:meth:`Layer.bind`).
A layer's ``weights`` and ``bias`` are such views: reading gives the live array,
assigning copies into it.

The training path reuses one set of buffers per batch size, so the returned
arrays are only valid until the next step. ``predict`` allocates fresh arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import activations, initializers

__all__ = ["Layer", "Dense", "Dropout", "from_config", "buffers_for", "checked_values"]

# Arrays up to this size are computed into fresh arrays on the inference path.
_SMALL = 64


def buffers_for(cache: dict, n: int, make):
    """The buffers for batch size n from ``cache``, made by ``make(n)`` the first time.

    A training run uses at most two batch sizes (the batch and the remainder), so
    the cache is emptied rather than allowed to grow past four.
    """
    buffers = cache.get(n)
    if buffers is None:
        if len(cache) >= 4:
            cache.clear()
        buffers = cache[n] = make(n)
    return buffers


def checked_values(value, shape: tuple[int, ...], name: str) -> np.ndarray:
    """An array assigned to parameters, checked: numeric, finite, the right shape."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; the values contain NaN or infinity")
    return arr


def _check_units(units: Any) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
        raise TypeError(f"units must be a positive integer, got {units!r}")
    if units <= 0:
        raise ValueError(f"units must be a positive integer, got {units}")
    return int(units)


class Layer:
    """Base class: a layer with no parameters that passes its input through.

    Attributes
    ----------
    n_in : int or None
        The input width, known once the network is built.
    need_dx : bool
        Whether :meth:`backward` must return dL/dx (the network sets it False for the
        first layer with parameters, whose input is the data).
    rng : numpy.random.Generator or None
        The network's generator (dropout masks, initial weights).
    """

    def __init__(self) -> None:
        self.n_in: int | None = None
        self.need_dx = True
        self.rng: np.random.Generator | None = None

    # -- sizes, for the network's flat buffers ---------------------------------

    def output_size(self, n_in: int) -> int:
        return n_in

    def parameter_shapes(self, n_in: int) -> dict[str, tuple[tuple[int, ...], bool]]:
        """The layer's parameters for ``n_in`` inputs: name -> (shape, decayed).

        Decayed parameters (a Dense layer's weights) come first in the network's flat
        vector, and the L2 penalty and weight decay apply to them; the others (biases)
        follow. Model files store each as ``layers.<i>.<name>``.
        """
        return {}

    def bind(self, n_in: int, params: dict, grads: dict, rng: np.random.Generator) -> None:
        """Take the views of this layer's parameters and gradients (name -> array) into
        the network's flat vectors, and the network's generator."""
        self.n_in = n_in
        self.rng = rng
        self._views = params
        self.clear_workspace()

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The bound parameters, name -> live view (empty before the network is built)."""
        return dict(getattr(self, "_views", None) or {})

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw initial values for the layer's parameters (none here)."""

    def clear_workspace(self) -> None:
        """Forget the buffers of the training path (they are made again as needed)."""

    # -- the contract -------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, da: np.ndarray) -> np.ndarray:
        return da

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x

    def config(self) -> dict:
        """The constructor arguments, as JSON-ready values (for model files)."""
        return {"type": type(self).__name__}

    # -- pickling: views into the network's buffers are rebuilt by the network --

    TRANSIENT: tuple[str, ...] = ("rng", "_views")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in self.TRANSIENT:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for key in self.TRANSIENT:
            self.__dict__.setdefault(key, None)


class Dense(Layer):
    """A fully connected layer: ``a = f(x @ W + b)``.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str, Activation or None
        ``"identity"`` (also ``"linear"``, ``None``), ``"relu"``, ``"leaky_relu"``,
        ``"sigmoid"`` (also ``"logistic"``), ``"tanh"``, ``"softmax"``, ``"exp"``,
        or a registered custom :class:`~glassnet.activations.Activation`.
    bias : bool
        Whether the layer adds a bias vector ``b``.
    init : str, optional
        Weight initialiser (see :mod:`glassnet.initializers`). Default: ``"he_normal"``
        for relu and leaky_relu, ``"glorot_uniform"`` otherwise.

    Attributes
    ----------
    weights : ndarray of shape (n_in, units)
    bias : ndarray of shape (units,), or None when ``bias=False``
    dW, db : the gradients from the last backward pass, same shapes
    act : Activation
        The activation function and its derivative.
    x, a : ndarray
        What the last training-path forward cached: its input, and its output buffer
        (z, then a = f(z) computed in place).
    """

    TRANSIENT = ("rng", "_views", "_W", "_b", "_dW", "_db", "x", "a", "_dx", "_ws", "_n")

    def __init__(self, units: int, activation: Any = "identity", bias: bool = True, init=None):
        super().__init__()
        self.units = _check_units(units)
        self.act = activations.get(activation)
        if self.act.name == "softmax" and self.units == 1:
            raise ValueError(
                "a softmax over 1 unit always outputs 1; use activation='sigmoid' "
                "for a single probability, or units >= 2"
            )
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.has_bias = bool(bias)
        self.init = initializers.canonical_name(init if init is not None else self.act.init)
        self._W = self._b = self._dW = self._db = None
        self.clear_workspace()

    @property
    def activation(self) -> str:
        """The activation's name."""
        return self.act.name

    # -- sizes and binding ---------------------------------------------------------

    def output_size(self, n_in: int) -> int:
        return self.units

    def parameter_shapes(self, n_in: int) -> dict[str, tuple[tuple[int, ...], bool]]:
        shapes = {"weights": ((n_in, self.units), True)}
        if self.has_bias:
            shapes["bias"] = ((self.units,), False)
        return shapes

    def bind(self, n_in, params, grads, rng) -> None:
        super().bind(n_in, params, grads, rng)
        self._W, self._dW = params["weights"], grads["weights"]
        self._b, self._db = params.get("bias"), grads.get("bias")

    def initialize(self, rng: np.random.Generator) -> None:
        self._W[...] = initializers.get(self.init)(rng, self.n_in, self.units)
        if self._b is not None:
            self._b[...] = initializers.initial_bias(rng, self.init, self.units)

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.x = self.a = self._dx = None

    def _prepare(self, n: int) -> None:
        """Point the workspace at the buffers for batch size n, allocating them once.

        One (n, units) buffer holds z and then, computed in place, a = f(z).
        """
        dtype = self._W.dtype

        def make(n):
            a = np.empty((n, self.units), dtype=dtype)
            dx = np.empty((n, self.n_in), dtype=dtype) if self.need_dx else None
            return a, dx

        self.a, self._dx = buffers_for(self._ws, n, make)
        self._n = n

    # -- parameters -----------------------------------------------------------------

    def _check_built(self, what: str) -> None:
        if self._W is None:
            raise RuntimeError(
                f"this layer has no {what} yet: its network is built when it first sees data "
                "(or pass input_size= to Network)"
            )

    @property
    def weights(self) -> np.ndarray:
        self._check_built("weights")
        return self._W

    @weights.setter
    def weights(self, value) -> None:
        self._check_built("weights")
        self._W[...] = checked_values(value, self._W.shape, "weights")

    @property
    def bias(self) -> np.ndarray | None:
        if not self.has_bias:
            return None
        self._check_built("bias")
        return self._b

    @bias.setter
    def bias(self, value) -> None:
        if not self.has_bias:
            raise ValueError("this layer was built with bias=False, so it has no bias to set")
        self._check_built("bias")
        self._b[...] = checked_values(value, self._b.shape, "bias")

    @property
    def dW(self) -> np.ndarray:
        """dL/dW from the last backward pass, shape (n_in, units)."""
        self._check_built("gradients")
        return self._dW

    @property
    def db(self) -> np.ndarray | None:
        """dL/db from the last backward pass, shape (units,); None without a bias."""
        if not self.has_bias:
            return None
        self._check_built("gradients")
        return self._db

    # -- the contract -----------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """a = f(x @ W + b), computed in place in the layer's buffer. Caches x and a."""
        z = self.forward_linear(x)
        return self.act.forward(z, z)

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """z = x @ W + b, into the layer's buffer; caches x.

        The output layer stops here when its loss computes the activation itself
        (softmax with cross_entropy, sigmoid with bce, exp with poisson).
        """
        z = self.product(x)
        if self._b is not None:
            np.add(z, self._b, z)
        return z

    def product(self, x: np.ndarray) -> np.ndarray:
        """z = x @ W without the bias, into the layer's buffer; caches x. (The compiled
        path adds the bias and the activation in one pass of its own.)"""
        if x.shape[0] != self._n:
            self._prepare(x.shape[0])
        self.x = x
        if type(x) is np.ndarray:
            # The method, not np.dot: on the tiny arrays of a per-sample step, np.dot's
            # dispatch costs as much as the product.
            return x.dot(self._W, self.a)
        self.a[...] = x @ self._W  # scipy.sparse input, in the first layer
        return self.a

    def linear(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """z = x @ W + b, into ``out`` or a fresh array, with nothing cached.

        ``x`` may be a scipy.sparse matrix (in the first layer).
        """
        if isinstance(x, np.ndarray):
            z = x.dot(self._W, out)
        elif out is None:
            z = np.asarray(x @ self._W)
        else:
            z = out
            z[...] = x @ self._W
        if self._b is not None:
            # NumPy's in-place ufuncs are slow on tiny arrays (a single row, say), so a
            # fresh z that small takes a fresh sum.
            z = z + self._b if out is None and z.size <= _SMALL else np.add(z, self._b, out=z)
        return z

    def backward(self, da: np.ndarray) -> np.ndarray | None:
        """dz = da * f'(z); then dW, db and dx as in :meth:`backward_linear`.

        ``da`` is overwritten (with dz).
        """
        return self.backward_linear(self.act.backward(self.a, da, da))

    def backward_linear(self, dz: np.ndarray) -> np.ndarray | None:
        """db = dz.sum(axis=0), then dW and dx as in :meth:`backward_product`.

        For a single row, db is dz[0], copied as such (a sum over one row is a
        reduction NumPy starts up slowly).
        """
        if self._db is not None:
            if dz.shape[0] == 1:
                self._db[...] = dz[0]
            else:
                np.add.reduce(dz, 0, None, self._db)
        return self.backward_product(dz)

    def backward_product(self, dz: np.ndarray) -> np.ndarray | None:
        """dW = x.T @ dz, and dx = dz @ W.T (None in the first layer). (The compiled path
        computes db together with f'(z), in one pass of its own.)

        For a single row, dW is the outer product x[0] dz[0], computed as such (BLAS would
        run it as a matrix product with an inner dimension of 1, about twice as slowly).
        """
        x = self.x
        if type(x) is not np.ndarray:  # scipy.sparse input
            self._dW[...] = x.T @ dz
        elif dz.shape[0] == 1:
            np.multiply(x.T, dz, self._dW)
        else:
            x.T.dot(dz, self._dW)
        if self.need_dx:
            return dz.dot(self._W.T, self._dx)
        return None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The forward pass into fresh arrays, with nothing cached (tiny ones are not
        computed in place, which NumPy does slowly)."""
        z = self.linear(x)
        return self.act.forward(z, None if z.size <= _SMALL else z)

    def config(self) -> dict:
        return {
            "type": "Dense",
            "units": self.units,
            "activation": self.activation,
            "bias": self.has_bias,
            "init": self.init,
        }

    def __repr__(self) -> str:
        args = [str(self.units)]
        if self.activation != "identity":
            args.append(repr(self.activation))
        if not self.has_bias:
            args.append("bias=False")
        if self.init != initializers.canonical_name(self.act.init):
            args.append(f"init={self.init!r}")
        return f"Dense({', '.join(args)})"


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate``
    and scale the rest by 1 / (1 - rate); at prediction, pass inputs through.

    The mask is drawn from the network's random generator.

    Attributes
    ----------
    mask : ndarray or None
        The last training pass's mask (0, or 1 / (1 - rate)); None when it dropped nothing.
    freeze_mask : bool
        Set True to reuse the last mask (the gradient check needs a fixed function).
    """

    TRANSIENT = ("rng", "_views", "mask", "_out", "_ws", "_n")

    def __init__(self, rate: float):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
            raise TypeError(f"dropout rate must be a number in [0, 1), got {rate!r}")
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.freeze_mask = False
        self.clear_workspace()

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.mask = self._out = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        n = x.shape[0]
        if n != self._n:
            self.mask, self._out = buffers_for(
                self._ws, n, lambda n: (np.empty_like(x), np.empty_like(x))
            )
            self._n = n
            self.freeze_mask = False
        if not self.freeze_mask:
            mask = self.mask
            self.rng.random(dtype=mask.dtype, out=mask)
            np.greater_equal(mask, self.rate, out=mask)
            mask *= 1.0 / (1.0 - self.rate)
        return np.multiply(x, self.mask, out=self._out)

    def backward(self, da: np.ndarray) -> np.ndarray:
        if self.mask is None:
            return da
        return np.multiply(da, self.mask, out=da)

    def config(self) -> dict:
        return {"type": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


def from_config(config: dict) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` (used by model files)."""
    kind = config.get("type")
    if kind == "Dense":
        return Dense(
            config["units"], config["activation"], bias=config["bias"], init=config["init"]
        )
    if kind == "Dropout":
        return Dropout(config["rate"])
    raise ValueError(f"unknown layer type {kind!r}")
