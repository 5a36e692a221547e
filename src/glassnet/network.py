"""The Network: a stack of layers over one flat parameter vector and one flat gradient vector.

Every layer's ``W`` and ``b`` are views into ``net.parameters``; their gradients
are views into ``net.gradients``. The layout is all weights (layer by layer,
row-major) followed by all biases. Optimizers, L-BFGS, the gradient check and
model files all see just these two arrays.

The network computes in one dtype: float64 by default, float32 when it is
trained on float32 data. Training itself lives in :mod:`glassnet.training`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import DTypeLike

from . import data as _data
from . import losses as _losses
from . import training as _training
from . import validation as _v
from .layers import Dense, Layer, Param, buffers_for, checked_values
from .layers import from_config as _layer_from_config
from .optimizers import Optimizer

__all__ = ["Network"]


class Network:
    """A feed-forward network.

    Parameters
    ----------
    layers : sequence of Layer
        The layers, first to last. The last must be a :class:`Dense` layer.
    input_size : int, optional
        Number of input features. Without it, the network is built (and its
        weights drawn) when it first sees data.
    seed : int or numpy.random.Generator, optional
        Seeds the network's own ``Generator``, which draws the initial weights,
        the shuffling order and dropout masks. Nothing touches NumPy's global
        random state.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> y = np.array([0, 1, 1, 0])
    >>> net = gn.Network([gn.Dense(8, "tanh"), gn.Dense(1, "sigmoid")], seed=0)
    >>> history = net.fit(X, y, loss="bce", optimizer=gn.Adam(0.05), epochs=300)
    >>> net.predict(X).round().ravel()
    array([0., 1., 1., 0.])
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        input_size: int | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if isinstance(layers, Layer):
            raise TypeError("Network takes a list of layers, e.g. Network([Dense(3), Dense(1)])")
        try:
            layers = list(layers)
        except TypeError:
            raise TypeError(
                f"Network takes a list of layers, got {type(layers).__name__}"
            ) from None
        if not layers:
            raise ValueError("a network needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a glassnet Layer")
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError("the same layer object appears twice; create one object per layer")
        if not isinstance(layers[-1], Dense):
            raise ValueError(f"the last layer must be a Dense layer, got {layers[-1]!r}")
        if seed is not None and not isinstance(seed, np.random.Generator):
            seed = _v.check_int(seed, "seed", minimum=0)
        self.layers: list[Layer] = layers
        self.seed = None if isinstance(seed, np.random.Generator) else seed
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.input_size: int | None = None
        self.dtype: np.dtype | None = None
        self.n_weights = 0
        self._params: np.ndarray | None = None
        self._grads: np.ndarray | None = None
        self._grad_buffers: dict[int, np.ndarray] = {}
        self.lr_factors: np.ndarray | None = None
        #: Free-form facts about how the network was trained (written to model files).
        self.training_summary: dict[str, Any] = {}
        if input_size is not None:
            self.build(input_size)

    # -- building ---------------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self._params is not None

    @property
    def _output_layer(self) -> Dense:
        """The last layer: a Dense layer, as ``__init__`` checked."""
        last = self.layers[-1]
        assert isinstance(last, Dense)
        return last

    @property
    def output_size(self) -> int:
        return self._output_layer.units

    def build(self, input_size: int, dtype: DTypeLike = np.float64) -> Network:
        """Allocate the flat buffers and draw initial weights for ``input_size`` inputs."""
        input_size = _v.check_int(input_size, "input_size")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"a network computes in float32 or float64, not {dtype}")
        self.input_size = input_size
        self._allocate(dtype)
        for layer in self.layers:
            layer.initialize(self.rng)
        return self

    def initialize_from(self, X: Any) -> Network:
        """Set every layer's data-dependent start from a sample ``X`` of the inputs.

        Each layer in turn sets what depends on the data (``Dense(..., init="data")``,
        say) from the sample as the layers before it transform it. The network must be
        built; returns self.
        """
        self.require_built("start from data")
        assert self.input_size is not None  # built
        x = _v.as_2d_float(X, "X", dtype=self.dtype)
        _v.check_features(x, self.input_size)
        for layer in self.layers:
            x = layer.initialize_from(x, self.rng)
        return self

    def layout(self) -> list[tuple[int, dict[str, Param]]]:
        """Each layer's input width and parameters (``Layer.parameter_shapes``)."""
        n_in = self.input_size
        if n_in is None:
            raise RuntimeError("the network has no layout before its input size is known")
        sizes = []
        for layer in self.layers:
            sizes.append((n_in, layer.parameter_shapes(n_in)))
            n_in = layer.output_size(n_in)
        return sizes

    def _allocate(self, dtype: np.dtype, params: np.ndarray | None = None) -> None:
        layout = self.layout()
        every = [p for _, named in layout for p in named.values()]
        n_total = sum(int(np.prod(p.shape)) for p in every)
        self._params = np.zeros(n_total, dtype=dtype) if params is None else params
        self._grads = np.zeros(n_total, dtype=dtype)
        self.n_weights = sum(int(np.prod(p.shape)) for p in every if p.decayed)
        self.dtype = np.dtype(dtype)
        self._grad_buffers = {}
        self._l2_tmp: np.ndarray | None = None  # made when an L2 penalty first needs it
        self._bind(layout)

    def _bind(self, layout: list[tuple[int, dict[str, Param]]]) -> None:
        """Give every layer its views into the flat vectors: every decayed parameter
        (weights) first, layer by layer, then the others (biases); and lay out the
        parameters' learning-rate factors the same way (:attr:`lr_factors`)."""
        at = [0, self.n_weights]  # where the next decayed / other parameter starts
        P, G = self._params, self._grads
        assert P is not None and G is not None  # _allocate made them
        factors = np.ones(P.size, dtype=P.dtype)
        first_param = next((i for i, (_, named) in enumerate(layout) if named), 0)
        for i, (layer, (n_in, named)) in enumerate(zip(self.layers, layout)):
            params: dict[str, np.ndarray] = {}
            grads: dict[str, np.ndarray] = {}
            for name, (shape, decayed, lr_factor) in named.items():
                start = at[0 if decayed else 1]
                size = int(np.prod(shape))
                params[name] = P[start : start + size].reshape(shape)
                grads[name] = G[start : start + size].reshape(shape)
                factors[start : start + size] = lr_factor
                at[0 if decayed else 1] = start + size
            # No layer before the first one with parameters needs a gradient.
            layer.need_dx = i > first_param
            layer.bind(n_in, params, grads, self.rng)
        self._backward_layers = list(reversed(self.layers[first_param:]))
        self._hidden_layers = self.layers[:-1]
        #: Each parameter's factor on the learning rate, laid out as :attr:`parameters`;
        #: None when every factor is 1 (the optimizers then skip the product).
        self.lr_factors = None if (factors == 1.0).all() else factors

    def astype(self, dtype: DTypeLike) -> Network:
        """Convert the parameters to float32 or float64, in place; returns self."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"a network computes in float32 or float64, not {dtype}")
        if self._params is not None and dtype != self.dtype:  # built, in another dtype
            self._allocate(dtype, self._params.astype(dtype))
        return self

    def require_built(self, action: str) -> None:
        if not self.built:
            raise RuntimeError(
                f"cannot {action} before the network is built: train it first, "
                "or pass input_size= to Network"
            )

    # -- the flat vectors --------------------------------------------------------------

    @property
    def parameters(self) -> np.ndarray:
        """All parameters as one 1-D array: every layer's weights, then every bias."""
        self.require_built("read parameters")
        assert self._params is not None
        return self._params

    @parameters.setter
    def parameters(self, value: Any) -> None:
        self.require_built("set parameters")
        assert self._params is not None
        self._params[...] = checked_values(value, self._params.shape, "parameters")

    @property
    def gradients(self) -> np.ndarray:
        """dL/d(parameters) from the last backward pass, laid out like :attr:`parameters`."""
        self.require_built("read gradients")
        assert self._grads is not None
        return self._grads

    def count_params(self) -> int:
        """The number of trainable parameters (0 before the network is built)."""
        return 0 if self._params is None else int(self._params.size)

    # -- checking user data ----------------------------------------------------------------

    def _check_X(self, X: Any, action: str) -> np.ndarray:
        """Validate X for predict-like calls, in the network's dtype."""
        if (  # the common case, checked quickly: an array ready to use as it is
            type(X) is np.ndarray
            and X.dtype is self.dtype
            and X.ndim == 2
            and X.shape[1] == self.input_size
            and 0 < X.shape[0]
            and X.flags.c_contiguous
            and _v.all_finite(X)
        ):
            return X
        self.require_built(action)
        assert self.input_size is not None  # built
        X = _v.as_2d_float(X, "X", dtype=self.dtype, allow_sparse=True)
        _v.check_features(X, self.input_size)
        return X

    def check_loss(self, loss: _losses.Loss) -> None:
        """A loss fused with an output activation needs that activation in the last layer
        (softmax for cross_entropy, sigmoid for bce, exp for poisson)."""
        last = self._output_layer
        if loss.output is not None and last.activation != loss.output:
            raise ValueError(
                f"loss {loss.name!r} needs a {loss.output} output layer, but the last "
                f"layer's activation is {last.activation!r}"
            )

    # -- forward and backward ------------------------------------------------------------

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, grad: np.ndarray | None) -> None:
        for layer in self._backward_layers:
            assert grad is not None  # only the last here, the first with parameters, gives None
            grad = layer.backward(grad)

    def forward(self, X: Any, training: bool = False) -> np.ndarray:
        """Run the training-path forward pass and cache what :meth:`backward` needs.

        Returns the output layer's activations. The array is a reused buffer:
        copy it if you keep it past the next forward pass.
        """
        X = self._check_X(X, "run forward")
        return self._forward(X, training)

    def backward(self, grad: Any) -> np.ndarray:
        """Backpropagate dL/d(output) (shape (n, units)) through the last forward pass.

        Fills :attr:`gradients` (and every layer's ``dW`` and ``db``); returns them.
        """
        self.require_built("run backward")
        assert self._grads is not None
        last = self._output_layer
        if last.x is None:
            raise RuntimeError("call forward() before backward()")
        assert last.a is not None  # forward made it with x
        grad = np.array(grad, dtype=self.dtype)  # a copy: backward writes into it
        if grad.shape != last.a.shape:
            raise ValueError(f"grad must have the output's shape {last.a.shape}, got {grad.shape}")
        self._backward(grad)
        return self._grads

    def _grad_buffer(self, n: int) -> np.ndarray:
        return buffers_for(
            self._grad_buffers, n, lambda n: np.empty((n, self.output_size), dtype=self.dtype)
        )

    def loss_and_grad(
        self,
        x: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
        loss: _losses.Loss,
        l2: float = 0.0,
    ) -> float:
        """One training pass, forward then backward: fills :attr:`gradients`, returns the
        loss (with the L2 penalty 0.5 * l2 * ||W||^2 / m, m the total sample weight).

        This is the step the training loop runs, so it checks nothing: ``x``, ``y`` and
        ``w`` are as :mod:`glassnet.data` prepares them, in the network's dtype (use
        :meth:`evaluate` or :func:`glassnet.check_gradients` on raw data). For a loss
        paired with its canonical output (softmax with cross_entropy, sigmoid with bce,
        exp with poisson), the output layer stops at z and the loss computes the
        activation, its value and dL/dz together.
        """
        for layer in self._hidden_layers:
            x = layer.forward(x, True)
        last = self._output_layer
        z = last.forward_linear(x)
        g = self._grad_buffers.get(z.shape[0])
        if g is None:
            g = buffers_for(self._grad_buffers, z.shape[0], self._new_grad_buffer)
        if loss.output is not None:
            value = loss.fused(z, y, w, g)
            grad = last.backward_linear(g)
        else:
            value = loss.value_and_grad(last.activate(z), y, w, g)
            grad = last.backward(g)
        for layer in self._backward_layers[1:]:
            assert grad is not None  # only the first layer with parameters gives None
            grad = layer.backward(grad)
        if l2:
            if self._l2_tmp is None:
                self._l2_tmp = np.empty(self.n_weights, dtype=self.dtype)
            m = float(z.shape[0]) if w is None else float(w.sum())
            n = self.n_weights
            assert self._params is not None and self._grads is not None  # built
            value += _losses.l2_penalty(self._params[:n], l2, m, self._grads[:n], self._l2_tmp)
        return value

    def _new_grad_buffer(self, n: int) -> np.ndarray:
        return np.empty((n, self.output_size), dtype=self.dtype)

    # -- prediction and inspection ------------------------------------------------------------

    #: Rows per block when predicting or evaluating many rows: the hidden activations
    #: of one block stay in cache, and memory does not grow with the number of rows.
    BLOCK_ROWS = 2048

    def predict(self, X: Any) -> np.ndarray:
        """The network's output for X, shape (n_samples, units), in the network's dtype."""
        x = self._check_X(X, "predict")
        if x.shape[0] <= self.BLOCK_ROWS:
            for layer in self.layers:
                x = layer.predict(x)
            return x
        out = np.empty((x.shape[0], self.output_size), dtype=self.dtype)
        for start in range(0, x.shape[0], self.BLOCK_ROWS):
            h = x[start : start + self.BLOCK_ROWS]
            for layer in self.layers:
                h = layer.predict(h)
            out[start : start + h.shape[0]] = h
        return out

    def activations(self, X: Any) -> list[np.ndarray]:
        """The output of every layer for X, in order (the last is the prediction).

        For seed 000's network this is ``[h_relu, y_pred]``.
        """
        x = self._check_X(X, "compute activations")
        outputs = []
        for layer in self.layers:
            x = layer.predict(x)
            outputs.append(x)
        return outputs

    # The result is an Explanation; Any here, as the engine names no face's type.
    def explain(
        self,
        x: Any,
        y: Any,
        loss: str | _losses.Loss = "mse",
        optimizer: str | Optimizer | None = None,
        **options: Any,
    ) -> Any:
        """One sample's (or a small batch's) forward and backward pass, with every number.

        Returns a :class:`~glassnet.explain.Explanation`: per layer ``z = x @ W + b``,
        ``a = f(z)``, then ``dL/da``, ``f'(z)``, ``dL/dz``, ``dL/dW``, ``dL/db`` and, with
        an ``optimizer``, the update each parameter would receive. ``print`` it for
        seed 003's chain rule, ``dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1``, with the
        numbers; ``.chain("w5")`` for another parameter. The network is not changed.
        Options: ``sample_weight``, ``l2``, ``training``, ``input_names``, ``output_names``
        (see :func:`glassnet.explain.explain`).
        """
        from .explain import explain

        return explain(self, x, y, loss=loss, optimizer=optimizer, **options)

    def evaluate(
        self,
        X: Any,
        y: Any,
        loss: str | _losses.Loss = "mse",
        sample_weight: Any = None,
    ) -> float:
        """The loss of the network's predictions for X against targets y."""
        loss = _losses.get(loss)
        X = self._check_X(X, "evaluate")
        self.check_loss(loss)
        y = _data.target(self, y, X.shape[0], loss)
        w = _v.check_sample_weight(sample_weight, X.shape[0], self.dtype)
        return self.loss_of(X, y, w, loss)

    def output(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's pre-activations z and activations a for checked X, from
        one pass (in blocks of rows, so only these two arrays span every row)."""
        last = self._output_layer
        z = np.empty((X.shape[0], self.output_size), dtype=self.dtype)
        for start in range(0, X.shape[0], self.BLOCK_ROWS):
            x = X[start : start + self.BLOCK_ROWS]
            for layer in self._hidden_layers:
                x = layer.predict(x)
            last.linear(x, out=z[start : start + x.shape[0]])
        return z, last.act.forward(z, np.empty_like(z))

    def loss_of(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, loss: _losses.Loss
    ) -> float:
        """The loss (without any penalty) of the network's output for checked X against
        a prepared target y and weights w (see :meth:`loss_and_grad`); nothing is cached."""
        z, a = self.output(X)
        return loss.value(a, y, w, z)

    # -- training -------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        loss: str | _losses.Loss = "mse",
        optimizer: str | Optimizer | None = None,
        epochs: int = 1,
        batch_size: int | None = None,
        shuffle: bool = True,
        verbose: int = 0,
        **options: Any,
    ) -> _training.History:
        """Train the network; returns a :class:`~glassnet.training.History`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            For ``cross_entropy``, one-hot rows or integer class labels.
        loss : str or Loss
            ``"sse"``, ``"mse"``, ``"half_squared_error"``, ``"mae"``, ``"huber"``,
            ``"bce"``, ``"cross_entropy"`` or ``"poisson"``.
        optimizer : str or Optimizer, optional
            ``"sgd"``, ``"adam"`` or an instance; default ``Adam()``.
        epochs : int
            Passes over the data.
        batch_size : int, optional
            Samples per step; ``None`` is the full batch, 1 is one sample at a time.
        shuffle : bool
            Reshuffle the samples every epoch (mini-batches only).
        verbose : int
            0 silent, 1 one updating line, 2 one line per epoch.
        **options
            ``validation_data=(X_val, y_val)``, ``validation_split``, ``sample_weight``,
            ``callbacks``, ``l2``, ``schedule``, ``compiled``: see
            :func:`glassnet.training.fit`.
        """
        return _training.fit(
            self,
            X,
            y,
            loss=loss,
            optimizer=optimizer,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            verbose=verbose,
            **options,
        )

    # -- saving, copying, printing --------------------------------------------------------

    def save(self, dest: str | os.PathLike) -> None:
        """Write the network to a safe model file (safetensors + JSON metadata).

        ``dest`` is a path (written atomically) or a binary file object;
        :func:`glassnet.dumps` gives the bytes.
        """
        from .modelfile import save  # (modelfile never imports Network back)

        save(self, dest)

    #: What a model file calls this class (``glassnet.modelfile``'s protocol: the kind,
    #: ``model_file_payload()`` and the class method ``from_model_file``).
    model_file_kind = "network"

    def model_file_payload(self) -> tuple[Network, dict]:
        """(the network, the JSON payload) a model file stores for this object."""
        return self, {}

    @classmethod
    def from_model_file(cls, net: Network, payload: dict, doc: dict) -> Network:
        """The object a model file describes, from its network and payload."""
        return net

    def config(self) -> dict:
        """The architecture, as JSON-ready values."""
        return {
            "input_size": self.input_size,
            "dtype": None if self.dtype is None else self.dtype.name,
            "seed": self.seed,
            "layers": [layer.config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, spec: dict) -> Network:
        """The network :meth:`config` describes: built (with fresh weights) when the
        description has an input size."""
        net = cls([_layer_from_config(cfg) for cfg in spec["layers"]], seed=spec.get("seed"))
        if spec.get("input_size") is not None:
            net.build(spec["input_size"], np.dtype(spec.get("dtype") or "float64"))
        return net

    def plain_state(self) -> dict:
        """The whole network as plain values, builtins and NumPy arrays only: its
        :meth:`config`, its parameters, the state of its random generator and its
        training summary. :meth:`from_plain_state` rebuilds it bit for bit, so a
        serializer that trusts no glassnet type (skops) can hold a network."""
        return {
            "config": self.config(),
            "parameters": None if self._params is None else self._params.copy(),
            "random_state": self.rng.bit_generator.state,
            "training_summary": copy.deepcopy(self.training_summary),
        }

    @classmethod
    def from_plain_state(cls, state: dict) -> Network:
        """The network :meth:`plain_state` describes."""
        random_state = state["random_state"]
        spec = state["config"]
        bit_generator = getattr(np.random, random_state["bit_generator"])()
        net = cls(
            [_layer_from_config(cfg) for cfg in spec["layers"]],
            seed=np.random.Generator(bit_generator),
        )
        net.seed = spec.get("seed")
        if state["parameters"] is not None:
            params = np.asarray(state["parameters"])
            net.build(spec["input_size"], params.dtype)
            net.parameters = params
        net.rng.bit_generator.state = random_state  # the layers share this generator
        net.training_summary = state["training_summary"]
        return net

    def copy(self) -> Network:
        """An independent copy: same architecture, weights and random state."""
        return copy.deepcopy(self)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_grads"] = None
        state["_grad_buffers"] = {}
        state["_l2_tmp"] = None
        state.pop("_backward_layers", None)  # _bind rebuilds both
        state.pop("_hidden_layers", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._params is not None:
            self._allocate(self._params.dtype, self._params)
        for layer in self.layers:
            layer.rng = self.rng

    def __repr__(self) -> str:
        size = f", input_size={self.input_size}" if self.input_size is not None else ""
        seed = f", seed={self.seed}" if self.seed is not None else ""
        return f"Network([{', '.join(map(repr, self.layers))}]{size}{seed})"

    def __str__(self) -> str:
        return self.summary(print_=False)

    def _summary_rows(self) -> tuple[list[tuple[str, ...]], int]:
        """The layer table (a header row, then one row per layer) and the parameter total."""
        rows: list[tuple[str, ...]] = [
            ("layer", "type", "units", "activation", "bias", "parameters")
        ]
        n_in = self.input_size
        total = 0
        for i, layer in enumerate(self.layers):
            count = None
            if n_in:
                shapes = layer.parameter_shapes(n_in).values()
                count = sum(int(np.prod(p.shape)) for p in shapes)
            shown = "?" if count is None else f"{count:,}"
            if isinstance(layer, Dense):
                bias = "yes" if layer.has_bias else "no"
                kind = type(layer).__name__  # Dense, GroupedDense
                rows.append((str(i), kind, str(layer.units), layer.activation, bias, shown))
            else:
                width = "" if not n_in else str(layer.output_size(n_in))
                rows.append((str(i), type(layer).__name__, width, repr(layer), "", shown))
            total += count or 0
            n_in = layer.output_size(n_in) if n_in else None
        return rows, total

    def _title(self, total: int) -> str:
        if not self.built:
            return "Network (not built yet: input size unknown until it sees data)"
        assert self.dtype is not None  # built
        sizes = " -> ".join(
            [str(self.input_size)]
            + [str(lay.units) for lay in self.layers if isinstance(lay, Dense)]
        )
        return f"Network {sizes}: {total:,} parameters, {self.dtype.name}"

    # The text with print_=False, None when it prints: so type checkers know which.
    @overload
    def summary(self, print_: Literal[True] = ...) -> None: ...
    @overload
    def summary(self, print_: Literal[False]) -> str: ...
    @overload
    def summary(self, print_: bool) -> str | None: ...

    def summary(self, print_: bool = True) -> str | None:
        """A table of the layers: units, activation and parameter count.

        Prints it (and returns None); with ``print_=False``, returns the text.
        """
        rows, total = self._summary_rows()
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = [self._title(total)]
        for r_i, r in enumerate(rows):
            cells = [
                r[c].ljust(widths[c]) if c in (1, 3, 4) else r[c].rjust(widths[c])
                for c in range(len(r))
            ]
            lines.append("  ".join(cells).rstrip())
            if r_i == 0:
                lines.append("  ".join("-" * w for w in widths))
        text = "\n".join(lines)
        if print_:
            print(text)
            return None
        return text

    def _repr_html_(self) -> str:
        """The layer table as HTML, which Jupyter shows for a Network in a cell's output."""
        from html import escape

        rows, total = self._summary_rows()
        head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
        )
        state = "built" if self.built else "not built"
        return (
            f'<div class="glassnet-network"><p><strong>{escape(self._title(total))}</strong>'
            f" ({state}; seed {escape(str(self.seed))})</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )
