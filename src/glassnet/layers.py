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

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import activations, initializers

__all__ = [
    "Param",
    "Layer",
    "Dense",
    "GroupedDense",
    "Dropout",
    "Scale",
    "Parametric",
    "Embedding",
    "from_config",
    "register",
    "layer_types",
    "buffers_for",
    "checked_values",
    "dense_descriptions",
]


class Param(NamedTuple):
    """One of a layer's parameters, as the network lays it out.

    ``decayed`` parameters (weights) come first in the flat vector, and the L2 penalty
    and weight decay apply to them; the others (biases, scales) follow. ``lr_factor``
    multiplies the optimizer's learning rate (and its weight decay) for this parameter.
    """

    shape: tuple[int, ...]
    decayed: bool = False
    lr_factor: float = 1.0


# Arrays up to this size are computed into fresh arrays on the inference path.
_SMALL = 64

_Buffers = TypeVar("_Buffers")


def buffers_for(cache: dict[int, _Buffers], n: int, make: Callable[[int], _Buffers]) -> _Buffers:
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


def checked_values(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
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


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


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

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        """The layer's parameters for ``n_in`` inputs: name -> :class:`Param` (shape,
        decayed, learning-rate factor). Model files store each as ``layers.<i>.<name>``."""
        return {}

    def bind(
        self,
        n_in: int,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        """Take the views of this layer's parameters and gradients (name -> array) into
        the network's flat vectors, and the network's generator."""
        self.n_in = n_in
        self.rng = rng
        self._views = params
        self._grad_views = grads
        self.clear_workspace()

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The bound parameters, name -> live view (empty before the network is built)."""
        return dict(getattr(self, "_views", None) or {})

    def gradient_arrays(self) -> dict[str, np.ndarray]:
        """Their gradients from the last backward pass, name -> live view."""
        return dict(getattr(self, "_grad_views", None) or {})

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw initial values for the layer's parameters (none here)."""

    def initialize_from(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Set initial values that depend on the data, from a sample ``x`` of this layer's
        inputs (as the layers before it transform it), and return the layer's output for
        it. By default nothing depends on the data."""
        return self.predict(x)

    def clear_workspace(self) -> None:
        """Forget the buffers of the training path (they are made again as needed)."""

    # -- the contract -------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, da: np.ndarray) -> np.ndarray | None:
        """dL/dx from ``da`` = dL/d(output); None when :attr:`need_dx` is False."""
        return da

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x

    def config(self) -> dict:
        """The constructor arguments, as JSON-ready values (for model files)."""
        return {"type": type(self).__name__}

    # -- pickling: views into the network's buffers are rebuilt by the network --

    TRANSIENT: tuple[str, ...] = ("rng", "_views", "_grad_views")

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
        for relu and leaky_relu, ``"glorot_uniform"`` otherwise. ``"data"``: drawn from
        the data when the network starts from a sample (:meth:`initialize_from`), each
        unit's z scaled to unit variance over the sample and its bias set to place the
        unit's kink among the sample's values (he_normal until then).
    lr_factor, bias_lr_factor : float
        Factors on the learning rate of the weights and of the bias.

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

    TRANSIENT = (
        "rng",
        "_views",
        "_grad_views",
        "_W",
        "_b",
        "_dW",
        "_db",
        "x",
        "z",
        "a",
        "_dx",
        "_ws",
        "_n",
    )

    def __init__(
        self,
        units: int,
        activation: Any = "identity",
        bias: bool = True,
        init: str | None = None,
        lr_factor: float = 1.0,
        bias_lr_factor: float = 1.0,
    ) -> None:
        super().__init__()
        self.units = _check_units(units)
        self.act = activations.get(activation)
        self.lr_factor = _positive(lr_factor, "lr_factor")
        self.bias_lr_factor = _positive(bias_lr_factor, "bias_lr_factor")
        if self.act.name == "softmax" and self.units == 1:
            raise ValueError(
                "a softmax over 1 unit always outputs 1; use activation='sigmoid' "
                "for a single probability, or units >= 2"
            )
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.has_bias = bool(bias)
        self.from_data = init == "data"
        if self.from_data:
            init = "he_normal"
        self.init = initializers.canonical_name(init if init is not None else self.act.init)
        # Views into the network's flat vectors, bound when the network is built.
        self._W: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self._dW: np.ndarray | None = None
        self._db: np.ndarray | None = None
        self.clear_workspace()

    @property
    def activation(self) -> str:
        """The activation's name."""
        return self.act.name

    # -- sizes and binding ---------------------------------------------------------

    def output_size(self, n_in: int) -> int:
        return self.units

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        shapes = {"weights": Param((n_in, self.units), True, self.lr_factor)}
        if self.has_bias:
            shapes["bias"] = Param((self.units,), False, self.bias_lr_factor)
        return shapes

    def bind(
        self,
        n_in: int,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        super().bind(n_in, params, grads, rng)
        self._W, self._dW = params["weights"], grads["weights"]
        self._b, self._db = params.get("bias"), grads.get("bias")

    def initialize(self, rng: np.random.Generator) -> None:
        assert self._W is not None and self.n_in is not None  # bound by the network
        self._W[...] = initializers.get(self.init)(rng, self.n_in, self.units)
        if self._b is not None:
            self._b[...] = initializers.initial_bias(rng, self.init, self.units)

    def initialize_from(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """With ``init="data"``: W ~ N(0, 1), each column scaled so that z = x @ W has
        unit standard deviation over the sample ``x``; then each bias is minus a random
        convex combination of the unit's z at five random sample rows, so every unit's
        kink lies among the data (RealMLP's data-dependent start, Holzmueller et al.,
        2024)."""
        if not self.from_data:
            return self.predict(x)
        assert self._W is not None  # bound by the network
        W = rng.standard_normal(self._W.shape)
        z = np.asarray(self._sample_product(x, W), dtype=np.float64)
        std = z.std(axis=0)
        std[std == 0] = 1.0
        W /= std.reshape(W.shape[:-2] + (1, W.shape[-1]))  # each unit's column, in any block
        z /= std
        self._W[...] = W
        if self._b is not None:
            rows = rng.integers(0, z.shape[0], size=(5, self.units))
            mix = rng.exponential(size=(5, self.units))
            mix /= mix.sum(axis=0)
            bias = -(z[rows, np.arange(self.units)] * mix).sum(axis=0)
            self._b[...] = bias
        return self.predict(x.astype(self._W.dtype, copy=False))

    def _sample_product(self, x: np.ndarray, W: np.ndarray) -> np.ndarray:
        """x @ W for a draw W of this layer's weights (shaped as they are stored)."""
        return x @ W

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.x: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def _prepare(self, n: int) -> None:
        """Point the workspace at the buffers for batch size n, allocating them once.

        One (n, units) buffer holds z and then, computed in place, a = f(z); an
        activation whose derivative needs z keeps z in a buffer of its own.
        """
        assert self._W is not None and self.n_in is not None  # bound by the network
        dtype, n_in = self._W.dtype, self.n_in
        keep_z = self.act.from_input

        def make(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            a = np.empty((n, self.units), dtype=dtype)
            z = np.empty((n, self.units), dtype=dtype) if keep_z else a
            dx = np.empty((n, n_in), dtype=dtype) if self.need_dx else None
            return z, a, dx

        self.z, self.a, self._dx = buffers_for(self._ws, n, make)
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
        assert self._W is not None
        return self._W

    @weights.setter
    def weights(self, value: Any) -> None:
        self._check_built("weights")
        assert self._W is not None
        self._W[...] = checked_values(value, self._W.shape, "weights")

    @property
    def bias(self) -> np.ndarray | None:
        if not self.has_bias:
            return None
        self._check_built("bias")
        return self._b

    @bias.setter
    def bias(self, value: Any) -> None:
        if not self.has_bias:
            raise ValueError("this layer was built with bias=False, so it has no bias to set")
        self._check_built("bias")
        assert self._b is not None  # bound with the weights
        self._b[...] = checked_values(value, self._b.shape, "bias")

    @property
    def dW(self) -> np.ndarray:
        """dL/dW from the last backward pass, shape (n_in, units)."""
        self._check_built("gradients")
        assert self._dW is not None
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
        return self.activate(self.forward_linear(x))

    def activate(self, z: np.ndarray) -> np.ndarray:
        """a = f(z) for the z :meth:`forward_linear` just computed: in place, or into a
        buffer of its own when the activation's derivative needs z."""
        return self.act.forward(z, self.a)

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
        assert self._W is not None and self.z is not None  # bound; _prepare made z
        if type(x) is np.ndarray:
            # The method, not np.dot: on the tiny arrays of a per-sample step, np.dot's
            # dispatch costs as much as the product.
            return x.dot(self._W, self.z)
        self.z[...] = x @ self._W  # scipy.sparse input, in the first layer
        return self.z

    def linear(self, x: Any, out: np.ndarray | None = None) -> np.ndarray:
        """z = x @ W + b, into ``out`` or a fresh array, with nothing cached.

        ``x`` may be a scipy.sparse matrix (in the first layer).
        """
        assert self._W is not None  # bound by the network
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
        act = self.act
        return self.backward_linear(act.backward(self.z if act.from_input else self.a, da, da))

    def backward_linear(self, dz: np.ndarray) -> np.ndarray | None:
        """db = dz.sum(axis=0), then dW and dx as in :meth:`backward_product`.

        For a single row, db is dz[0], copied as such (a sum over one row is a
        reduction NumPy starts up slowly).
        """
        self.bias_gradient(dz)
        return self.backward_product(dz)

    def bias_gradient(self, dz: np.ndarray) -> None:
        """db = the column sums of dz (nothing without a bias). NumPy sums a column of
        one unit pairwise, and more units row by row; the compiled path sums the rows
        itself only where that is the same order."""
        if self._db is not None:
            if dz.shape[0] == 1:
                self._db[...] = dz[0]
            else:
                # out positionally (faster on tiny arrays); NumPy's stubs take it by keyword
                np.add.reduce(dz, 0, None, self._db)  # type: ignore[call-overload]

    def backward_product(self, dz: np.ndarray) -> np.ndarray | None:
        """dW = x.T @ dz, and dx = dz @ W.T (None in the first layer). (The compiled path
        computes db together with f'(z), in one pass of its own.)

        For a single row, dW is the outer product x[0] dz[0], computed as such (BLAS would
        run it as a matrix product with an inner dimension of 1, about twice as slowly).
        """
        x = self.x
        assert x is not None and self._W is not None and self._dW is not None  # after forward
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
        config = {
            "type": "Dense",
            "units": self.units,
            "activation": self.activation,
            "bias": self.has_bias,
            "init": self.init,
        }
        if self.lr_factor != 1.0 or self.bias_lr_factor != 1.0:
            config.update(lr_factor=self.lr_factor, bias_lr_factor=self.bias_lr_factor)
        return config

    def __repr__(self) -> str:
        args = [str(self.units)]
        if self.activation != "identity":
            args.append(repr(self.activation))
        if not self.has_bias:
            args.append("bias=False")
        if self.init != initializers.canonical_name(self.act.init):
            args.append(f"init={self.init!r}")
        return f"Dense({', '.join(args)})"


class GroupedDense(Dense):
    """A Dense layer of ``groups`` independent blocks: block g maps its share of the
    inputs (columns g*n_in/groups onwards) to its share of the units, and nothing else.

    Its weight matrix is block diagonal; it is stored as the blocks alone, shape
    ``(groups, n_in/groups, units/groups)``, so it holds and computes 1/groups of a
    Dense layer's weights. :func:`glassnet.ensembles.average` writes the hidden layers of
    an ensemble with it (block g: network g). ``weights`` and ``dW`` show the whole
    (n_in, units) matrix, zeros between the blocks, as a copy; ``parameter_arrays()``
    holds the blocks themselves.

    Parameters
    ----------
    units : int
        The units of all the blocks together (a multiple of ``groups``).
    groups : int
        The number of blocks; the layer's input width must be a multiple of it.
    activation : str or Activation
        As :class:`Dense`'s.
    bias : bool
        As :class:`Dense`'s.
    init : str, optional
        As :class:`Dense`'s; each block is drawn as a layer of its own size.
    lr_factor : float
        As :class:`Dense`'s.
    bias_lr_factor : float
        As :class:`Dense`'s.
    """

    def __init__(
        self,
        units: int,
        groups: int,
        activation: Any = "identity",
        bias: bool = True,
        init: str | None = None,
        lr_factor: float = 1.0,
        bias_lr_factor: float = 1.0,
    ) -> None:
        super().__init__(units, activation, bias, init, lr_factor, bias_lr_factor)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        if units % groups:
            raise ValueError(f"units ({units}) must be a multiple of groups ({groups})")
        self.groups = int(groups)

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        G = self.groups
        if n_in % G:
            raise ValueError(f"the input width ({n_in}) must be a multiple of groups ({G})")
        shapes = {"weights": Param((G, n_in // G, self.units // G), True, self.lr_factor)}
        if self.has_bias:
            shapes["bias"] = Param((self.units,), False, self.bias_lr_factor)
        return shapes

    def initialize(self, rng: np.random.Generator) -> None:
        assert self._W is not None  # bound by the network
        G, n_in, n_out = self._W.shape
        draw = initializers.get(self.init)
        for g in range(G):
            self._W[g] = draw(rng, n_in, n_out)
        if self._b is not None:
            self._b[...] = initializers.initial_bias(rng, self.init, self.units)

    def _sample_product(self, x: np.ndarray, W: np.ndarray) -> np.ndarray:
        """The data-dependent start (:meth:`Dense.initialize_from`) block by block."""
        return self._blocks(np.asarray(x, dtype=np.float64), W)

    @staticmethod
    def _blocks(x: np.ndarray, W: np.ndarray) -> np.ndarray:
        """x @ (the block-diagonal matrix of W's blocks), block by block: (n, G*i) ->
        (n, G*o) through one batched product of (G, n, i) and (G, i, o)."""
        G, i, o = W.shape
        n = x.shape[0]
        stacked = np.matmul(x.reshape(n, G, i).transpose(1, 0, 2), W)
        return stacked.transpose(1, 0, 2).reshape(n, G * o)

    def _whole(self, blocks: np.ndarray) -> np.ndarray:
        G, i, o = blocks.shape
        whole = np.zeros((G * i, G * o), dtype=blocks.dtype)
        for g in range(G):
            whole[g * i : (g + 1) * i, g * o : (g + 1) * o] = blocks[g]
        return whole

    @property
    def weights(self) -> np.ndarray:
        """The whole (n_in, units) matrix, zeros between the blocks (a copy)."""
        self._check_built("weights")
        assert self._W is not None
        return self._whole(self._W)

    @weights.setter
    def weights(self, value: Any) -> None:
        self._check_built("weights")
        assert self._W is not None
        G, i, o = self._W.shape
        whole = checked_values(value, (G * i, G * o), "weights")
        blocks = np.stack([whole[g * i : (g + 1) * i, g * o : (g + 1) * o] for g in range(G)])
        if np.count_nonzero(whole) != np.count_nonzero(blocks):
            raise ValueError("a GroupedDense layer's weights are zero outside its blocks")
        self._W[...] = blocks

    @property
    def dW(self) -> np.ndarray:
        """dL/dW from the last backward pass, as the whole (n_in, units) matrix (a copy)."""
        self._check_built("gradients")
        assert self._dW is not None
        return self._whole(self._dW)

    def product(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] != self._n:
            self._prepare(x.shape[0])
        self.x = x
        assert self._W is not None and self.z is not None  # bound; _prepare made z
        self.z[...] = self._blocks(np.asarray(x), self._W)
        return self.z

    def linear(self, x: Any, out: np.ndarray | None = None) -> np.ndarray:
        assert self._W is not None  # bound by the network
        z = self._blocks(np.asarray(x), self._W)
        if out is not None:
            out[...] = z
            z = out
        if self._b is not None:
            np.add(z, self._b, out=z)
        return z

    def backward_product(self, dz: np.ndarray) -> np.ndarray | None:
        """Each block's dW = x_g.T @ dz_g, and dx_g = dz_g @ W_g.T."""
        x = self.x
        assert x is not None and self._W is not None and self._dW is not None  # after forward
        G, i, o = self._W.shape
        n = dz.shape[0]
        xs = np.asarray(x).reshape(n, G, i).transpose(1, 0, 2)
        dzs = dz.reshape(n, G, o).transpose(1, 0, 2)
        np.matmul(xs.transpose(0, 2, 1), dzs, out=self._dW)
        if self.need_dx:
            assert self._dx is not None  # made by _prepare when dx is needed
            self._dx[...] = (
                np.matmul(dzs, self._W.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(n, G * i)
            )
            return self._dx
        return None

    def config(self) -> dict:
        return {**super().config(), "type": "GroupedDense", "groups": self.groups}

    def __repr__(self) -> str:
        dense = super().__repr__()  # Dense(units, ...)
        head = f"Dense({self.units}"
        return f"GroupedDense({self.units}, groups={self.groups}" + dense[len(head) :]


#: Dropout draws 16-bit integers: it drops with probability rate rounded up to a multiple
#: of 1 / _DRAWS.
_DRAWS = 2**16


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate``
    (rounded up to a multiple of 2^-16) and scale the rest by 1 / (1 - rate); at
    prediction, pass inputs through.

    The mask is drawn from the network's random generator.

    Attributes
    ----------
    mask : ndarray or None
        The last training pass's mask (0, or 1 / (1 - rate)); None when it dropped nothing.
    freeze_mask : bool
        Set True to reuse the last mask (the gradient check needs a fixed function).
    strength : float
        A factor on ``rate`` while training (1 unless a schedule that fades the
        regularisation sets it, :mod:`glassnet.schedules`; never saved).
    """

    TRANSIENT = ("rng", "_views", "_grad_views", "mask", "_mask", "_out", "_ws", "_n")

    def __init__(self, rate: float) -> None:
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
            raise TypeError(f"dropout rate must be a number in [0, 1), got {rate!r}")
        if not 0.0 <= float(rate) <= 1.0 - 1.0 / _DRAWS:
            raise ValueError(
                f"dropout rate must be in [0, 1) and at most 1 - 2^-16 (its draws have 16 "
                f"bits), got {rate}"
            )
        self.rate = float(rate)
        self.strength = 1.0
        self.freeze_mask = False
        self.clear_workspace()

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.mask: np.ndarray | None = None
        self._mask: np.ndarray | None = None  # the buffer the training passes draw into
        self._out: np.ndarray | None = None

    @property
    def training_rate(self) -> float:
        """The rate a training pass drops with now: ``rate`` times ``strength``."""
        return self.rate * self.strength

    @staticmethod
    def scale(rate: float) -> float:
        """The factor on a kept input at this rate: 1 / (1 - rate)."""
        return 1.0 / (1.0 - rate)

    @staticmethod
    def threshold(rate: float) -> int:
        """The least 16-bit draw that keeps an input at this rate: rate 2^16, rounded
        up (so the drop probability is rate rounded up to a multiple of 2^-16)."""
        return math.ceil(rate * _DRAWS)

    def draw(self, shape: tuple[int, ...]) -> np.ndarray:
        """A mask's draws: uniform 16-bit integers, four from each raw 64-bit word of the
        network's generator (its least significant 16 bits first). Dropout's forward
        pass is 1.3 to 1.7 times as fast as with ``Generator.integers``, and 2.6 times
        as fast as with float32 uniforms (benchmarks/recipe.py). An input is kept where
        its draw is at least :meth:`threshold`."""
        assert self.rng is not None  # the network's, given by bind
        count = math.prod(shape)
        words = self.rng.bit_generator.random_raw(-(-count // 4))
        # little-endian 16-bit pieces on any machine, in the machine's own byte order
        pieces = words.astype("<u8", copy=False).view("<u2")[:count]
        return pieces.astype(np.uint16, copy=False).reshape(shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rate = self.training_rate
        if not training or rate == 0.0:
            self.mask = None
            return x
        mask, out = self.training_buffers(x)
        if not self.freeze_mask:
            np.greater_equal(self.draw(mask.shape), self.threshold(rate), out=mask)
            mask *= self.scale(rate)
        return np.multiply(x, mask, out=out)

    def training_buffers(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The buffers a training pass on a batch like x writes, (mask, out); the first
        is :attr:`mask` from now on. A pass that draws the mask itself (the compiled
        path's) writes them, so that backward and a frozen mask see its mask. A new
        batch size unfreezes the mask."""
        n = x.shape[0]
        if n != self._n:
            self._mask, self._out = buffers_for(
                self._ws, n, lambda n: (np.empty_like(x), np.empty_like(x))
            )
            self._n = n
            self.freeze_mask = False
        # the mask's buffer stays when a pass without training sets ``mask`` to None
        self.mask = self._mask
        assert self._mask is not None and self._out is not None  # made for this size
        return self._mask, self._out

    def backward(self, da: np.ndarray) -> np.ndarray:
        if self.mask is None:
            return da
        return np.multiply(da, self.mask, out=da)

    def config(self) -> dict:
        return {"type": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


class Scale(Layer):
    """A learned factor per input: ``a = x * s``, s starting at 1 (RealMLP's front
    scale, which lets training weigh the features).

    Parameters
    ----------
    lr_factor : float
        Factor on the learning rate of the scales.
    """

    TRANSIENT = ("rng", "_views", "_grad_views", "_s", "_ds", "x", "_out", "_dx", "_ws", "_n")

    def __init__(self, lr_factor: float = 1.0) -> None:
        super().__init__()
        self.lr_factor = _positive(lr_factor, "lr_factor")
        # Views into the network's flat vectors, bound when the network is built.
        self._s: np.ndarray | None = None
        self._ds: np.ndarray | None = None
        self.clear_workspace()

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        return {"scale": Param((n_in,), False, self.lr_factor)}

    def bind(
        self,
        n_in: int,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        super().bind(n_in, params, grads, rng)
        self._s, self._ds = params["scale"], grads["scale"]

    def initialize(self, rng: np.random.Generator) -> None:
        assert self._s is not None  # bound by the network
        self._s[...] = 1.0

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.x: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.shape[0] != self._n:
            self._out, self._dx = buffers_for(
                self._ws, x.shape[0], lambda n: (np.empty_like(x), np.empty_like(x))
            )
            self._n = x.shape[0]
        self.x = x
        assert self._s is not None and self._out is not None  # bound; buffers made above
        return np.multiply(x, self._s, self._out)

    def backward(self, da: np.ndarray) -> np.ndarray | None:
        """ds = sum over rows of da * x; dx = da * s."""
        x, s, ds = self.x, self._s, self._ds
        assert x is not None and s is not None and ds is not None  # bound, and forward ran
        # out positionally (faster on tiny arrays); NumPy's stubs take it by keyword
        np.add.reduce(np.multiply(da, x), 0, None, ds)  # type: ignore[call-overload]
        return np.multiply(da, s, self._dx) if self.need_dx else None

    def predict(self, x: np.ndarray) -> np.ndarray:
        assert self._s is not None  # bound by the network
        return x * self._s

    def config(self) -> dict:
        return {"type": "Scale", "lr_factor": self.lr_factor}

    def __repr__(self) -> str:
        return f"Scale(lr_factor={self.lr_factor:g})"


class Parametric(Layer):
    """A learned blend of an activation and the identity, per unit:
    ``a = x + alpha * (f(x) - x)``, alpha starting at 1 (f itself).

    ``da/dx = 1 - alpha + alpha f'(x)`` and ``dL/dalpha = sum over rows of da (f(x) - x)``.

    Parameters
    ----------
    activation : str or Activation
        f: ``"selu"``, ``"mish"``, ``"relu"``, ... (see :mod:`glassnet.activations`).
    lr_factor : float
        Factor on the learning rate of alpha.
    """

    TRANSIENT = (
        "rng",
        "_views",
        "_grad_views",
        "_alpha",
        "_dalpha",
        "x",
        "f",
        "_gap",
        "_out",
        "_dx",
        "_scratch",
        "_ws",
        "_n",
    )

    def __init__(self, activation: Any = "selu", lr_factor: float = 1.0) -> None:
        super().__init__()
        self.act = activations.get(activation)
        if self.act.name == "softmax":
            raise ValueError("softmax mixes units: a Parametric layer blends elementwise ones")
        self.lr_factor = _positive(lr_factor, "lr_factor")
        # Views into the network's flat vectors, bound when the network is built.
        self._alpha: np.ndarray | None = None
        self._dalpha: np.ndarray | None = None
        self.clear_workspace()

    @property
    def activation(self) -> str:
        return self.act.name

    @property
    def alpha(self) -> np.ndarray:
        """The blend of each unit: a view into the network's parameters."""
        assert self._alpha is not None, "the layer is not built"
        return self._alpha

    @property
    def dalpha(self) -> np.ndarray:
        """The gradient of alpha: a view into the network's gradients."""
        assert self._dalpha is not None, "the layer is not built"
        return self._dalpha

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        return {"alpha": Param((n_in,), False, self.lr_factor)}

    def bind(
        self,
        n_in: int,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        super().bind(n_in, params, grads, rng)
        self._alpha, self._dalpha = params["alpha"], grads["alpha"]

    def initialize(self, rng: np.random.Generator) -> None:
        assert self._alpha is not None  # bound by the network
        self._alpha[...] = 1.0

    def clear_workspace(self) -> None:
        self._n = -1
        self._ws: dict[int, tuple] = {}
        self.x: np.ndarray | None = None
        self.f: np.ndarray | None = None
        self._gap: np.ndarray | None = None  # f(x) - x, the gradient of out by alpha
        self._out: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._scratch: np.ndarray | None = None
        # f'(x), when the last forward pass trained and the activation gives its slope
        self._slope: np.ndarray | None = None
        self._sloped = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.shape[0] != self._n:
            # a buffer for the slope only where the activation gives one (Mish)
            count = 5 if self.act.with_slope is None else 6
            self.f, self._gap, self._out, self._dx, self._scratch, *slope = buffers_for(
                self._ws, x.shape[0], lambda n: tuple(np.empty_like(x) for _ in range(count))
            )
            self._slope = slope[0] if slope else None
            self._n = x.shape[0]
        self.x = x
        assert self._alpha is not None  # bound by the network
        with_slope = self.act.with_slope if training else None
        self._sloped = with_slope is not None
        if with_slope is not None:
            f = with_slope(x, self.f, self._slope)
        else:
            f = self.act.forward(x, self.f)
        gap = np.subtract(f, x, self._gap)
        out = np.multiply(gap, self._alpha, self._out)
        out += x
        return out

    def backward(self, da: np.ndarray) -> np.ndarray | None:
        x, f, gap, alpha, dalpha = self.x, self.f, self._gap, self._alpha, self._dalpha
        assert x is not None and f is not None and gap is not None  # forward ran
        assert alpha is not None and dalpha is not None  # bound by the network
        scratch = np.multiply(da, gap, self._scratch)
        # out positionally (faster on tiny arrays); NumPy's stubs take it by keyword
        np.add.reduce(scratch, 0, None, dalpha)  # type: ignore[call-overload]
        if not self.need_dx:
            return None
        through = np.multiply(da, alpha, scratch)
        if self._sloped:
            assert self._slope is not None  # written by the forward pass
            np.multiply(through, self._slope, through)
        else:
            through = self.act.backward(x if self.act.from_input else f, through, through)
        dx = np.multiply(da, 1.0 - alpha, self._dx)
        dx += through
        return dx

    def predict(self, x: np.ndarray) -> np.ndarray:
        assert self._alpha is not None  # bound by the network
        out = self.act.forward(x, np.empty_like(x))  # x + alpha (f(x) - x), in one buffer
        out -= x
        out *= self._alpha
        out += x
        return out

    def config(self) -> dict:
        return {"type": "Parametric", "activation": self.activation, "lr_factor": self.lr_factor}

    def __repr__(self) -> str:
        return f"Parametric({self.activation!r})"


# What Embedding's forward keeps for backward, column by column: the numeric columns xn
# (k, n), c = 2 pi w xn + b and h = cos(c) (k, F, n: each column's rows along the last
# axis, so that every broadcast and product runs along them).
_EmbeddingCache = tuple[np.ndarray, np.ndarray, np.ndarray]


class Embedding(Layer):
    """Learned representations of chosen input columns; the other columns pass through.

    - Each ``numeric`` column x becomes ``frequencies`` periodic features
      ``h = cos(2 pi w x + b)`` (w ~ N(0, sigma^2), b ~ U(-pi, pi), both learned), mixed
      down to ``dims - 1`` values ``h @ V + c``, followed by x itself: the periodic
      embeddings of Gorishniy et al. (2022) with the bias, linear mixing and
      pass-through RealMLP found best ("PBLD", Holzmueller et al., 2024).
    - Each ``categorical`` column holds a level's index (0 to levels - 1, as a number)
      and becomes that level's learned vector of ``size`` values.

    The output is the passed-through columns in their order, then every numeric
    column's ``dims`` values, then every categorical column's ``size``. No gradient
    reaches the categorical indices.

    Parameters
    ----------
    numeric : sequence of int
    categorical : sequence of (column, levels)
    frequencies, dims, sigma : the periodic embedding's sizes and starting spread
    size : int
        Values per category.
    lr_factor : float
        Factor on the learning rate of the periodic embeddings' parameters.
    """

    TRANSIENT = ("rng", "_views", "_grad_views", "_p", "_g", "x", "_cache", "_ws", "_n", "_dx")

    def __init__(
        self,
        numeric: Iterable[int] = (),
        categorical: Iterable[tuple[int, int]] = (),
        frequencies: int = 16,
        dims: int = 4,
        sigma: float = 0.1,
        size: int = 8,
        lr_factor: float = 1.0,
    ) -> None:
        super().__init__()
        self.numeric = [int(c) for c in numeric]
        self.categorical = [(int(c), int(levels)) for c, levels in categorical]
        self.frequencies = _check_units(frequencies)
        self.dims = _check_units(dims)
        if self.dims < 2:
            raise ValueError("dims must be at least 2: the mixed values and the column itself")
        self.sigma = _positive(sigma, "sigma")
        self.size = _check_units(size)
        self.lr_factor = _positive(lr_factor, "lr_factor")
        columns = self.numeric + [c for c, _ in self.categorical]
        if len(set(columns)) != len(columns):
            raise ValueError("a column is named twice among the embedded columns")
        if any(levels < 1 for _, levels in self.categorical):
            raise ValueError("a categorical column needs at least one level")
        self._p: dict = {}
        self._g: dict = {}
        self.clear_workspace()

    def output_size(self, n_in: int) -> int:
        embedded = len(self.numeric) + len(self.categorical)
        return n_in - embedded + len(self.numeric) * self.dims + len(self.categorical) * self.size

    def parameter_shapes(self, n_in: int) -> dict[str, Param]:
        bad = [c for c in self.numeric + [c for c, _ in self.categorical] if not 0 <= c < n_in]
        if bad:
            raise ValueError(f"columns {bad} are outside the layer's {n_in} inputs")
        k, F, d = len(self.numeric), self.frequencies, self.dims - 1
        shapes: dict[str, Param] = {}
        if k:
            shapes["frequencies"] = Param((k, F), True, self.lr_factor)
            shapes["phases"] = Param((k, F), False, self.lr_factor)
            shapes["mix"] = Param((k, F, d), True, self.lr_factor)
            shapes["mix_bias"] = Param((k, d), False, self.lr_factor)
        for j, (_, levels) in enumerate(self.categorical):
            shapes[f"table_{j}"] = Param((levels, self.size), True)
        return shapes

    def bind(
        self,
        n_in: int,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        super().bind(n_in, params, grads, rng)
        self._p, self._g = params, grads
        embedded = set(self.numeric) | {c for c, _ in self.categorical}
        self.passed = np.array([c for c in range(n_in) if c not in embedded], dtype=np.intp)

    def initialize(self, rng: np.random.Generator) -> None:
        p, F = self._p, self.frequencies
        if self.numeric:
            p["frequencies"][...] = rng.normal(0.0, self.sigma, p["frequencies"].shape)
            p["phases"][...] = rng.uniform(-np.pi, np.pi, p["phases"].shape)
            bound = 1.0 / np.sqrt(F)  # PyTorch's Linear start, which RealMLP keeps here
            p["mix"][...] = rng.uniform(-bound, bound, p["mix"].shape)
            p["mix_bias"][...] = rng.uniform(-bound, bound, p["mix_bias"].shape)
        for j in range(len(self.categorical)):
            table = p[f"table_{j}"]
            table[...] = rng.normal(0.0, 1.0, table.shape)

    def clear_workspace(self) -> None:
        self._n = -1
        self.x: np.ndarray | None = None
        self._cache: _EmbeddingCache | None = None
        self._dx: np.ndarray | None = None

    def _indices(self, x: np.ndarray, j: int) -> np.ndarray:
        column, levels = self.categorical[j]
        return np.clip(x[:, column], 0, levels - 1).astype(np.intp)

    def _embed(self, x: np.ndarray, keep: bool) -> tuple[np.ndarray, _EmbeddingCache | None]:
        p, n, at = self._p, x.shape[0], self.passed.size
        out = np.empty((n, self.output_size(x.shape[1])), dtype=x.dtype)
        out[:, :at] = x[:, self.passed]
        cache = None
        if self.numeric:
            # Column by column, in (k, F, n) stacks, each a batch of matrix products
            # (np.matmul, one a column), with the rows along the last axis.
            xn = x.T[self.numeric]  # (k, n)
            c = np.multiply(((2 * np.pi) * xn)[:, None, :], p["frequencies"][:, :, None])
            c += p["phases"][:, :, None]  # (k, F, n)
            h = np.cos(c)
            e = np.matmul(p["mix"].transpose(0, 2, 1), h)  # (k, d-1, n)
            e += p["mix_bias"][:, :, None]
            k, d = xn.shape[0], self.dims
            numeric = out[:, at : at + k * d].reshape(n, k, d)
            numeric[:, :, :-1] = e.transpose(2, 0, 1)
            numeric[:, :, -1] = xn.T
            at += k * d
            if keep:
                cache = (xn, c, h)
        for j in range(len(self.categorical)):
            out[:, at : at + self.size] = p[f"table_{j}"][self._indices(x, j)]
            at += self.size
        return out, cache

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        out, self._cache = self._embed(x, keep=True)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._embed(x, keep=False)[0]

    def backward(self, da: np.ndarray) -> np.ndarray | None:
        """Through ``h @ V + c``: dV, dc and dh; through the cosine, dc = -sin(c) dh; then
        dw = 2 pi sum(dc x) and db = sum(dc) over rows. A table row's gradient is the
        sum of da over the rows that chose that level. (The forward pass's c becomes
        sin(c) here: backward runs once after each forward pass.)"""
        g, p, x = self._g, self._p, self.x
        assert x is not None  # forward ran
        n, at = da.shape[0], self.passed.size
        dx = np.zeros_like(x) if self.need_dx else None
        if dx is not None:
            dx[:, self.passed] = da[:, :at]
        if self.numeric:
            assert self._cache is not None  # forward keeps it when there are numeric columns
            xn, c, h = self._cache  # (k, n), (k, F, n), (k, F, n)
            k, d = len(self.numeric), self.dims
            de = da[:, at : at + k * d].reshape(n, k, d).transpose(1, 2, 0)  # (k, d, n)
            at += k * d
            de_mix = np.ascontiguousarray(de[:, :-1, :])  # (k, d-1, n)
            np.matmul(h, de_mix.transpose(0, 2, 1), out=g["mix"])
            np.add.reduce(de_mix, axis=2, out=g["mix_bias"])
            # dc = -sin(c) dh, its sign carried into each sum below (exactly: IEEE
            # arithmetic is symmetric in sign), which saves a pass over dc
            dc = np.matmul(p["mix"], de_mix)  # (k, F, n): dh, then -dc
            dc *= np.sin(c, out=c)
            g["frequencies"][...] = (-2 * np.pi) * np.matmul(dc, xn[:, :, None])[:, :, 0]
            np.negative(np.add.reduce(dc, axis=2), out=g["phases"])
            if dx is not None:
                dxn = (-2 * np.pi) * np.matmul(p["frequencies"][:, None, :], dc)[:, 0, :]
                dxn += de[:, -1, :]  # the column passed on as itself
                dx[:, self.numeric] = dxn.T
        for j in range(len(self.categorical)):
            table = g[f"table_{j}"]
            table[...] = 0.0
            np.add.at(table, self._indices(x, j), da[:, at : at + self.size])
            at += self.size
        self._cache = None  # its c is sin(c) now: a second backward needs a forward pass
        return dx

    def config(self) -> dict:
        return {
            "type": "Embedding",
            "numeric": list(self.numeric),
            "categorical": [list(pair) for pair in self.categorical],
            "frequencies": self.frequencies,
            "dims": self.dims,
            "sigma": self.sigma,
            "size": self.size,
            "lr_factor": self.lr_factor,
        }

    def __repr__(self) -> str:
        return (
            f"Embedding(numeric={len(self.numeric)} columns, "
            f"categorical={len(self.categorical)} columns)"
        )


_LAYERS: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Add a layer class to those model files can name (by its class name); a class
    decorator. The class rebuilds itself from its ``config()`` (``cls(**arguments)``)."""
    _LAYERS[cls.__name__] = cls
    return cls


def layer_types() -> list[str]:
    """The layer types :func:`register` added (Dense and Dropout aside)."""
    return list(_LAYERS)


def from_config(config: dict) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` (used by model files)."""
    kind = config.get("type")
    if kind == "Dense":
        return Dense(
            config["units"],
            config["activation"],
            bias=config["bias"],
            init=config["init"],
            lr_factor=config.get("lr_factor", 1.0),
            bias_lr_factor=config.get("bias_lr_factor", 1.0),
        )
    if kind == "Dropout":
        return Dropout(config["rate"])
    if kind in _LAYERS:
        return _LAYERS[kind](**{k: v for k, v in config.items() if k != "type"})
    raise ValueError(f"unknown layer type {kind!r}")


for _cls in (GroupedDense, Scale, Parametric, Embedding):
    register(_cls)


def dense_descriptions(layers: Sequence[Layer]) -> list[tuple[str, str]]:
    """What each Dense layer of ``layers`` computes, in order, as a reader should see it:
    (its units, its activation). The units of a GroupedDense, the networks of an
    ensemble side by side, are ``768 = 3 x 256``; the activation of an identity Dense
    that a Parametric layer follows is that layer's learned blend (``selu, learned``),
    not the identity."""
    described = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            continue
        units = str(layer.units)
        if isinstance(layer, GroupedDense) and layer.groups > 1:
            units += f" = {layer.groups} x {layer.units // layer.groups}"
        activation = layer.activation
        after = layers[i + 1] if i + 1 < len(layers) else None
        if activation == "identity" and isinstance(after, Parametric):
            activation = f"{after.activation}, learned"
        described.append((units, activation))
    return described
