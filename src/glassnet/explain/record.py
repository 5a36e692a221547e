"""The record of one pass: :func:`explain` runs the engine's own pieces on a copy of the
network and keeps every intermediate array, gradient and would-be update, with lookups,
tables and ``to_dict``. It repeats none of the math and writes no prose (:mod:`.prose`
does); it never imports :class:`~glassnet.Network`, whose ``explain`` calls it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import data as _data
from .. import losses as _losses
from .. import optimizers as _optimizers
from .. import validation as _v
from ..layers import Dense, Dropout, Layer, Parametric
from . import prose

__all__ = ["explain", "Explanation", "LayerStep", "OtherStep", "MAX_ROWS"]

#: explain() is for one sample or a small batch: every number is kept and may be printed.
MAX_ROWS = 100

# A row-wise activation's Jacobian is kept for layers up to this width.
_JACOBIAN_UNITS = 64


class LayerStep:
    """One Dense layer's numbers from :func:`explain` (arrays have one row per sample).

    Attributes
    ----------
    number : int
        1 for the first Dense layer (its parameters are ``W1``, ``b1``), and so on.
    index : int
        Its place in ``net.layers``.
    activation : str
    units : int
    unit_names, input_names : list of str
        The seed-style symbols of the layer's units (``h1``, ``y_pred``) and its inputs.
    x : ndarray of shape (n, n_in)
        The layer's input, after any dropout in front of it.
    input_mask : ndarray of shape (n, n_in) or None
        The dropout scaling applied to the previous layer's output (0 or 1 / (1 - rate)).
    W, b : the parameters (``b`` is None without a bias)
    z, a : ndarray of shape (n, units)
        ``z = x @ W + b`` and ``a = f(z)``.
    da : ndarray or None
        dL/da. None for an output layer whose loss is fused with its activation (the
        loss gives dL/dz directly).
    da_dz : ndarray or None
        f'(z) for an elementwise activation; None for softmax (see ``jacobian``).
    jacobian : ndarray of shape (n, units, units) or None
        For a row-wise activation: ``jacobian[s, i, j] = da_j / dz_i``.
    dz, dW, db : dL/dz, dL/dW (data term), dL/db
    penalty_W : ndarray or None
        The L2 penalty's part of the weights' gradient (the optimizer sees dW + penalty_W).
    update_W, update_b : ndarray or None
        What the optimizer's step would add to W and b.
    """

    index: int  # set by explain's forward pass

    def __init__(
        self, number: int, layer: Dense, unit_names: list[str], input_names: list[str]
    ) -> None:
        self.number = number
        self.activation = layer.activation
        self.units = layer.units
        self.unit_names = unit_names
        self.input_names = input_names
        self.W = layer.weights.copy()
        self.b = None if layer.bias is None else layer.bias.copy()
        self.x: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None
        self.input_mask: np.ndarray | None = None
        self.da: np.ndarray | None = None
        self.da_dz: np.ndarray | None = None
        self.jacobian: np.ndarray | None = None
        self.dz: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self.penalty_W: np.ndarray | None = None
        self.update_W: np.ndarray | None = None
        self.update_b: np.ndarray | None = None

    @property
    def gradient_W(self) -> np.ndarray | None:
        """dL/dW as the optimizer receives it (with the L2 penalty, when there is one)."""
        if self.dW is None or self.penalty_W is None:
            return self.dW
        return self.dW + self.penalty_W

    def to_dict(self) -> dict[str, Any]:
        def plain(a):
            return None if a is None else np.asarray(a, dtype=np.float64).tolist()

        return {
            "layer": self.number,
            "activation": self.activation,
            "units": self.unit_names,
            "inputs": self.input_names,
            "x": plain(self.x),
            "input_mask": plain(self.input_mask),
            "W": plain(self.W),
            "b": plain(self.b),
            "z": plain(self.z),
            "a": plain(self.a),
            "dL/da": plain(self.da),
            "da/dz": plain(self.da_dz),
            "jacobian": plain(self.jacobian),
            "dL/dz": plain(self.dz),
            "dL/dW": plain(self.gradient_W),
            "dL/db": plain(self.db),
            "update_W": plain(self.update_W),
            "update_b": plain(self.update_b),
        }

    def __repr__(self) -> str:
        return f"LayerStep(layer {self.number}: Dense({self.units}, {self.activation!r}))"


def _element(values: np.ndarray | None, kind: str, i: int, j: int) -> float:
    """``values[i, j]`` of a weight matrix (``kind="W"``) or ``values[j]`` of a bias."""
    assert values is not None  # the callers ask only for numbers the pass computed
    return float(values[i, j] if kind == "W" else values[j])


class OtherStep:
    """A layer with parameters other than Dense (Scale, Parametric, Embedding): its input
    and output, and each parameter with its gradient and update, by name.

    Attributes
    ----------
    index : int
        The layer's place in ``net.layers``.
    layer : Layer
        The layer (of the explained copy of the network).
    x, a : ndarray
        Its input and output (one row per sample).
    params, gradients, updates : dict of str to ndarray
        Its parameters, dL/d(parameter) as the optimizer receives it, and what the
        optimizer's step would add (empty without an optimizer).
    """

    def __init__(self, index: int, layer: Layer, x: np.ndarray, a: np.ndarray) -> None:
        self.index, self.layer = index, layer
        self.kind = type(layer).__name__
        self.x, self.a = x, a
        self.params = {k: v.copy() for k, v in layer.parameter_arrays().items()}
        self.gradients: dict[str, np.ndarray] = {}
        self.updates: dict[str, np.ndarray] = {}

    def to_dict(self) -> dict[str, Any]:
        def plain(named):
            return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in named.items()}

        return {
            "layer_index": self.index,
            "type": self.kind,
            "config": self.layer.config(),
            "x": np.asarray(self.x, dtype=np.float64).tolist(),
            "a": np.asarray(self.a, dtype=np.float64).tolist(),
            "parameters": plain(self.params),
            "gradients": plain(self.gradients),
            "updates": plain(self.updates),
        }

    def __repr__(self) -> str:
        return f"OtherStep(layer {self.index}: {self.layer!r})"


class Explanation:
    """Everything one forward and backward pass computed. Build it with ``net.explain``.

    Attributes
    ----------
    x, y : the inputs (n, n_features) and the targets (n, outputs; one-hot for labels)
    y_pred : ndarray of shape (n, outputs)
    loss : float
        The loss of these samples (with the L2 penalty when ``l2`` was given).
    layers : list of LayerStep
        One per Dense layer: ``layers[0]`` holds W1, b1 and their gradients.
    others : list of OtherStep
        One per other layer with parameters (Scale, Parametric, Embedding).
    gradients : ndarray
        The flat gradient vector, exactly what the optimizer would receive.
    updates : ndarray or None
        The flat update the optimizer would apply (None without an optimizer).
    data_loss : float
        The loss without the L2 penalty.
    loss_name, loss_object : the loss's name and the Loss itself
    fused : bool
        Whether the loss gave dL/dz of the output layer directly (its activation's pair).
    labels : ndarray or None
        The class labels, when ``y`` was given as labels.
    sample_weight, l2 : as given (``sample_weight`` checked, or None)
    optimizer, optimizer_object : the optimizer's repr and the optimizer (or None)
    input_names, output_names : list of str or None
        The labels given for the inputs and outputs.
    architecture : str
        The layer sizes and activations, ``"2 -> 2 -> 1 (sigmoid, sigmoid)"``.
    has_dropout : bool
        Whether dropout scaled some layer's inputs.
    seed_names, seed_index : dict
        glassnet's parameter names to seed 003's (``"W1[0,0]"`` to ``"w1"``), and seed
        003's names to ``(layer, "W" or "b", i, j)``.
    """

    # The fields, as explain() passes them (see above).
    x: np.ndarray
    y: np.ndarray | None
    labels: np.ndarray | None
    y_pred: np.ndarray
    loss: float | None
    data_loss: float | None
    loss_name: str | None
    loss_object: _losses.Loss
    fused: bool
    sample_weight: np.ndarray | None
    l2: float
    layers: list[LayerStep]
    others: list[OtherStep]
    gradients: np.ndarray | None
    updates: np.ndarray | None
    optimizer: str | None
    optimizer_object: _optimizers.Optimizer | None
    input_names: list[str] | None
    output_names: list[str] | None
    architecture: str
    has_dropout: bool
    seed_names: dict[str, str]
    seed_index: dict[str, tuple[int, str, int, int]]

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    # -- looking things up ----------------------------------------------------------------

    def _parameter(self, which) -> tuple[int, str, int, int]:
        """(layer number, "W" or "b", i, j) for a parameter named either way."""
        if isinstance(which, tuple):
            if len(which) == 3:
                number, i, j = which
                return self._checked(int(number), "W", int(i), int(j))
            if len(which) == 2:
                number, j = which
                return self._checked(int(number), "b", 0, int(j))
            raise ValueError("give a parameter as (layer, i, j) for a weight or (layer, j)")
        if not isinstance(which, str):
            raise TypeError(f"name a parameter like 'w1' or 'W1[0,0]', not {which!r}")
        text = which.replace(" ", "")
        match = re.fullmatch(r"W(\d+)\[(\d+),(\d+)\]", text)
        if match:
            return self._checked(int(match[1]), "W", int(match[2]), int(match[3]))
        match = re.fullmatch(r"b(\d+)\[(\d+)\]", text)
        if match:
            return self._checked(int(match[1]), "b", 0, int(match[2]))
        match = re.fullmatch(r"([wb])(\d+)", text)
        if match and match[0] in self.seed_index:
            return self.seed_index[match[0]]
        names = ", ".join(list(self.seed_index)[:6])
        raise ValueError(
            f"no parameter {which!r}; name one as glassnet does (W1[0,0], b2[0]) or as "
            f"seed 003 does ({names}, ...)"
        )

    def _checked(self, number: int, kind: str, i: int, j: int) -> tuple[int, str, int, int]:
        if not 1 <= number <= len(self.layers):
            raise ValueError(
                f"there is no layer {number}: the Dense layers are numbered 1 to {len(self.layers)}"
            )
        step = self.layers[number - 1]
        if kind == "b" and step.b is None:
            raise ValueError(f"layer {number} has no bias")
        rows = step.W.shape[0] if kind == "W" else 1
        if not (0 <= i < rows and 0 <= j < step.units):
            shape = f"{rows} x {step.units}" if kind == "W" else f"{step.units}"
            raise ValueError(
                f"{kind}{number}[{i if kind == 'W' else ''}{',' if kind == 'W' else ''}{j}] "
                f"is outside {kind}{number}, which is {shape}"
            )
        return number, kind, i, j

    @staticmethod
    def parameter_name(number: int, kind: str, i: int, j: int) -> str:
        """glassnet's name for a parameter: ``"W1[0,0]"`` (``kind="W"``) or ``"b2[0]"``."""
        return f"W{number}[{i},{j}]" if kind == "W" else f"b{number}[{j}]"

    def gradient(self, which: str | tuple[int, int] | tuple[int, int, int]) -> float:
        """dL/d(parameter) as the optimizer receives it: ``ex.gradient("w1")``."""
        number, kind, i, j = self._parameter(which)
        self._require_backward()
        step = self.layers[number - 1]
        return _element(step.gradient_W if kind == "W" else step.db, kind, i, j)

    def update(self, which: str | tuple[int, int] | tuple[int, int, int]) -> float | None:
        """The optimizer's update for one parameter (None without an optimizer)."""
        number, kind, i, j = self._parameter(which)
        step = self.layers[number - 1]
        if step.update_W is None:
            return None
        return _element(step.update_W if kind == "W" else step.update_b, kind, i, j)

    # -- the chain rule ---------------------------------------------------------------------

    def chain(
        self,
        which: str | tuple[int, int] | tuple[int, int, int] = "W1[0,0]",
        *,
        layer: int | None = None,
        i: int = 0,
        j: int = 0,
    ) -> prose.Chain:
        """The chain rule for one weight or bias, with the numbers.

        Name the parameter as glassnet does (``"W1[0,0]"``, ``"b2[0]"``), as seed 003
        does (``"w1"``, ``"b3"``), as a tuple ``(layer, i, j)`` / ``(layer, j)``, or with
        ``layer=``, ``i=``, ``j=`` (a weight). Returns a :class:`~glassnet.explain.Chain`;
        print it.
        """
        if layer is not None:
            which = (layer, i, j)
        number, kind, i, j = self._parameter(which)
        self._require_backward()
        return prose.chain_rule(self, number, kind, i, j)

    def _require_backward(self) -> None:
        if self.y is None:
            raise ValueError("no target was given: the backward pass (and the chain rule) need y")

    # -- as data ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain lists and floats (JSON-ready)."""
        return {
            "loss_name": self.loss_name,
            "loss": self.loss,
            "data_loss": self.data_loss,
            "x": self.x.tolist(),
            "y": None if self.y is None else self.y.tolist(),
            "y_pred": self.y_pred.tolist(),
            "input_names": self.input_names,
            "output_names": self.output_names,
            "layers": [step.to_dict() for step in self.layers],
            "other_layers": [other.to_dict() for other in self.others],
            "gradients": None if self.gradients is None else self.gradients.tolist(),
            "updates": None if self.updates is None else self.updates.tolist(),
            "optimizer": self.optimizer,
        }

    def parameters_table(self) -> list[dict[str, Any]]:
        """One row per parameter: names, value, gradient and update."""
        rows = []
        for step in self.layers:
            n_in = step.W.shape[0]
            sources = step.input_names
            if step.number == 1 and self.input_names:
                sources = self.input_names
            for i in range(n_in):
                for j in range(step.units):
                    rows.append(self._row(step, "W", i, j, sources[i]))
            if step.b is not None:
                for j in range(step.units):
                    rows.append(self._row(step, "b", 0, j, "bias"))
        return rows

    def _row(self, step: LayerStep, kind: str, i: int, j: int, source: str) -> dict[str, Any]:
        name = self.parameter_name(step.number, kind, i, j)
        value = _element(step.W if kind == "W" else step.b, kind, i, j)
        grad = None
        if step.dW is not None:
            grad = _element(step.gradient_W if kind == "W" else step.db, kind, i, j)
        update = None
        if step.update_W is not None:
            update = _element(step.update_W if kind == "W" else step.update_b, kind, i, j)
        return {
            "layer": step.number,
            "parameter": name,
            "seed_name": self.seed_names[name],
            "from": source,
            "to": step.unit_names[j],
            "value": float(value),
            "gradient": grad,
            "update": update,
        }

    def units_table(self) -> list[dict[str, Any]]:
        """One row per sample, layer and unit: z, a, dL/da, da/dz and dL/dz."""
        rows = []
        for step in self.layers:
            z, a = step.z, step.a
            assert z is not None and a is not None  # the forward pass kept them
            for s in range(self.x.shape[0]):
                for j in range(step.units):
                    rows.append(
                        {
                            "sample": s,
                            "layer": step.number,
                            "unit": step.unit_names[j],
                            "z": float(z[s, j]),
                            "a": float(a[s, j]),
                            "dL/da": None if step.da is None else float(step.da[s, j]),
                            "da/dz": None if step.da_dz is None else float(step.da_dz[s, j]),
                            "dL/dz": None if step.dz is None else float(step.dz[s, j]),
                        }
                    )
        return rows

    def to_frame(self, what: str = "parameters") -> Any:
        """A pandas DataFrame: ``"parameters"`` (one row per weight and bias: value,
        gradient, update) or ``"units"`` (one row per sample and unit: z, a, dL/da,
        da/dz, dL/dz). Needs pandas (``pip install 'glassnet[cli]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Explanation.to_frame needs pandas: pip install 'glassnet[cli]' "
                "(to_dict() gives the same numbers without it)"
            ) from None
        if what == "parameters":
            return pd.DataFrame(self.parameters_table())
        if what == "units":
            return pd.DataFrame(self.units_table())
        raise ValueError(f"to_frame takes 'parameters' or 'units', not {what!r}")

    # -- as text ------------------------------------------------------------------------------

    def text(self, which: str | tuple[int, int] | tuple[int, int, int] = "W1[0,0]") -> str:
        """The whole walkthrough, ending with the chain rule for ``which``."""
        return prose.walkthrough(self, which)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        n = self.x.shape[0]
        loss = "forward only" if self.loss is None else f"{self.loss_name} loss {self.loss:.6g}"
        return f"Explanation({n} sample{'s' * (n != 1)}, {self.architecture}, {loss})"

    def _repr_html_(self) -> str:
        from html import escape

        return f'<pre class="glassnet-explanation">{escape(str(self))}</pre>'


# --- running the pass --------------------------------------------------------------------


def _names(net, input_names, output_names):
    """Seed-style symbols: inputs x1.., hidden units h1.. (h1.1.. with several hidden
    layers), the output y_pred (o1.. with several outputs), embedded features e1..;
    returns (input labels, symbols of the inputs and each Dense layer's units, output
    labels, each Dense layer's input symbols)."""
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    n_hidden = len(dense) - 1
    symbols = [[f"x{i + 1}" for i in range(net.input_size)]]
    inputs: list[list[str]] = []  # each Dense layer's inputs, as it sees them
    current, width, number = symbols[0], net.input_size, 0
    for layer in net.layers:
        if not isinstance(layer, Dense):
            width = layer.output_size(width)
            if width != len(current):  # an embedding: new features
                current = [f"e{j + 1}" for j in range(width)]
            elif layer.parameter_arrays():  # a learned change of each value: h1 -> h1'
                current = [f"{name}'" for name in current]
            continue
        number += 1
        if number == len(dense):
            units = ["y_pred"] if layer.units == 1 else [f"o{j + 1}" for j in range(layer.units)]
        elif n_hidden == 1:
            units = [f"h{j + 1}" for j in range(layer.units)]
        else:
            units = [f"h{number}.{j + 1}" for j in range(layer.units)]
        inputs.append(current)
        symbols.append(units)
        current, width = units, layer.units

    labels = list(map(str, input_names)) if input_names is not None else None
    if labels is not None and len(labels) != net.input_size:
        raise ValueError(
            f"input_names has {len(labels)} names, but the network has {net.input_size} inputs"
        )
    outputs = list(map(str, output_names)) if output_names is not None else None
    if outputs is not None and len(outputs) != net.output_size:
        raise ValueError(
            f"output_names has {len(outputs)} names, but the network has {net.output_size} outputs"
        )
    return labels, symbols, outputs, inputs


def _seed_names(dense_steps: Sequence[LayerStep]) -> tuple[dict[str, str], dict]:
    """Seed 003 counts weights unit by unit (w1, w2 into h1; w3, w4 into h2; ...) and
    biases unit by unit (b1, b2 for h1, h2; b3 for o1)."""
    names, index = {}, {}
    w = b = 0
    for step in dense_steps:
        for j in range(step.units):
            for i in range(step.W.shape[0]):
                w += 1
                names[f"W{step.number}[{i},{j}]"] = f"w{w}"
                index[f"w{w}"] = (step.number, "W", i, j)
        if step.b is not None:
            for j in range(step.units):
                b += 1
                names[f"b{step.number}[{j}]"] = f"b{b}"
                index[f"b{b}"] = (step.number, "b", 0, j)
    return names, index


def _as_rows(x, n_features: int, dtype) -> np.ndarray:
    if hasattr(x, "toarray"):  # scipy.sparse: a few rows, shown densely
        x = x.toarray()
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    X = _v.as_2d_float(arr, "x", dtype=dtype)
    _v.check_features(X, n_features)
    if X.shape[0] > MAX_ROWS:
        raise ValueError(
            f"explain takes one sample or a small batch (at most {MAX_ROWS} rows), got {X.shape[0]}"
        )
    return np.array(X, dtype=dtype)


def _target_rows(y, n: int, n_outputs: int):
    arr = np.asarray(y)
    if arr.ndim == 0:
        return arr.reshape(1)
    if n == 1 and arr.ndim == 1 and arr.shape[0] == n_outputs and n_outputs > 1:
        return arr[np.newaxis, :]
    return arr


def _local_derivative(layer: Dense, a: np.ndarray, z: np.ndarray):
    """f'(z) for an elementwise activation (one that ``prose.DERIVATIVE_TEXT`` names, or
    a custom one found to be), else the Jacobian da_j/dz_i, both from the activation's
    own backward (fed ones, or one unit vector at a time)."""
    act = layer.act
    if act.from_input:  # (Mish, SiLU: their derivative is a function of z)
        a = z
    if act.name in prose.DERIVATIVE_TEXT:
        return act.backward(a, np.ones_like(a)), None
    n, k = a.shape
    if k > _JACOBIAN_UNITS:  # n k^2 numbers: kept only for layers a reader could look at
        return None, None
    jac = np.empty((n, k, k), dtype=a.dtype)
    for unit in range(k):
        basis = np.zeros_like(a)
        basis[:, unit] = 1.0
        jac[:, :, unit] = act.backward(a, basis)
    off = jac - np.einsum("sij,ij->sij", jac, np.eye(k, dtype=a.dtype))
    if not off.any():  # a custom elementwise activation
        return np.einsum("sii->si", jac).copy(), None
    return None, jac


def explain(
    net: Any,
    x: Any,
    y: Any,
    loss: str | _losses.Loss = "mse",
    optimizer: str | _optimizers.Optimizer | None = None,
    *,
    sample_weight: Any = None,
    l2: float = 0.0,
    training: bool = True,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Explanation:
    """Explain one training step of ``net`` on a sample (or a small batch); changes nothing.

    Every number comes from the engine, one layer at a time: ``z = x @ W + b`` from
    ``Dense.linear``, ``a = f(z)`` from ``Dense.forward``, the loss and ``dL/da`` from
    ``Loss.value_and_grad`` (or ``dL/dz`` from ``Loss.fused``), then ``f'(z)``, ``dL/dz``,
    ``dL/dW`` and ``dL/db`` from ``Dense.backward``.

    Parameters
    ----------
    net : Network
        A built network. It is copied; its parameters, gradients and random state stay
        as they are.
    x : array-like of shape (n_features,) or (n, n_features)
        One sample, or up to :data:`MAX_ROWS` of them.
    y : array-like
        Its target: a number, a row of outputs, or (for ``cross_entropy``) a class label.
    loss : str or Loss
    optimizer : str or Optimizer, optional
        Show the update its next step would make (a copy steps; the original's state,
        such as Adam's moments, is untouched).
    sample_weight, l2 : as in :func:`glassnet.training.fit`.
    training : bool
        Apply dropout as training does (masks drawn from a copy of the network's
        generator). ``False`` explains the prediction path.
    input_names, output_names : sequence of str, optional
        Labels for the inputs (features) and outputs (classes) in the text and tables.

    Returns
    -------
    Explanation
    """
    net.require_built("explain a pass")
    work = net.copy()
    X = _as_rows(x, work.input_size, work.dtype)
    n = X.shape[0]
    loss_fn = _losses.get(loss)
    Y = w = None
    if y is not None:
        work.check_loss(loss_fn)
        Y = _data.target(work, _target_rows(y, n, work.output_size), n, loss_fn)
        w = _v.check_sample_weight(sample_weight, n, work.dtype)
    l2 = float(l2)
    if not (l2 >= 0 and np.isfinite(l2)):
        raise ValueError(f"l2 must be a non-negative number, got {l2}")
    opt = None if optimizer is None else _optimizers.get(optimizer)
    if isinstance(opt, _optimizers.LBFGS):
        raise ValueError(
            "L-BFGS takes no single step that could be shown: it searches along the whole "
            "batch's gradient history; explain with SGD or Adam"
        )
    labels, symbols, outputs, inputs = _names(work, input_names, output_names)
    if not training:  # the copy's dropout does nothing: the prediction path
        for layer in work.layers:
            if isinstance(layer, Dropout):
                layer.rate = 0.0
    fused = y is not None and loss_fn.output is not None
    steps, others = _forward(work, X, fused, symbols, inputs)
    data_loss = total_loss = gradients = updates = None
    if y is not None:
        data_loss, total_loss, gradients = _backward(
            work, steps, others, X, Y, w, loss_fn, l2, fused
        )
        if opt is not None:
            updates = _update(work, steps, others, opt, gradients)

    y_true = Y
    if Y is not None and Y.ndim == 1:  # class labels: shown as one-hot rows
        y_true = np.zeros((n, work.output_size), dtype=work.dtype)
        y_true[np.arange(n), Y] = 1.0
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    sizes = [str(work.input_size)] + [str(layer.units) for layer in dense]
    after = dict(zip(map(id, work.layers), [*work.layers[1:], None]))
    acts = ", ".join(_activation_of(layer, after[id(layer)]) for layer in dense)
    seed_names, seed_index = _seed_names(steps)
    return Explanation(
        x=X,
        y=y_true,
        labels=None if Y is None or Y.ndim != 1 else Y.copy(),
        y_pred=steps[-1].a,
        loss=None if total_loss is None else float(total_loss),
        data_loss=None if data_loss is None else float(data_loss),
        loss_name=None if y is None else loss_fn.name,
        loss_object=loss_fn,
        fused=fused,
        sample_weight=None if w is None else w.copy(),
        l2=l2,
        layers=steps,
        others=others,
        gradients=gradients,
        updates=updates,
        optimizer=None if opt is None else repr(opt),
        optimizer_object=opt,
        input_names=labels,
        output_names=outputs,
        architecture=" -> ".join(sizes) + f" ({acts})",
        has_dropout=any(isinstance(layer, Dropout) and layer.rate for layer in work.layers),
        seed_names=seed_names,
        seed_index=seed_index,
    )


def _forward(work, X: np.ndarray, fused: bool, symbols, inputs):
    """The engine's forward, layer by layer, keeping each Dense layer's x, z and a (and
    each other layer with parameters' input and output)."""
    steps: list[LayerStep] = []
    others: list[OtherStep] = []
    last = work.layers[-1]
    h, mask = X, None
    for index, layer in enumerate(work.layers):
        if not isinstance(layer, Dense):
            out = layer.forward(h, True)
            if isinstance(layer, Dropout) and layer.mask is not None:
                factor = layer.mask.copy()
                mask = factor if mask is None else mask * factor
            elif layer.parameter_arrays():
                others.append(OtherStep(index, layer, np.array(h), np.array(out)))
            h = out
            continue
        number = len(steps) + 1
        step = LayerStep(number, layer, symbols[number], inputs[number - 1])
        step.index = index
        step.x = np.array(h)
        step.input_mask = mask
        mask = None
        step.z = layer.linear(h)  # z = x @ W + b, nothing cached
        if layer is last and fused:
            buffer = layer.forward_linear(h)  # the loss applies the activation itself
            step.a = layer.act.forward(step.z.copy())
        else:
            buffer = layer.forward(h, True)
            step.a = buffer.copy()
        steps.append(step)
        h = buffer
    return steps, others


def _backward(work, steps, others, X, Y, w, loss_fn, l2: float, fused: bool):
    """The loss and the engine's backward, layer by layer, keeping dL/da and dL/dz;
    then the gradient the training step itself hands the optimizer."""
    last = work.layers[-1]
    grad: np.ndarray | None = np.empty((X.shape[0], work.output_size), dtype=work.dtype)
    if fused:  # dL/dz straight from the logits
        data_loss = loss_fn.fused(last.a, Y, w, grad)
    else:  # dL/da
        data_loss = loss_fn.value_and_grad(last.a, Y, w, grad)
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    first_param = work.layers.index(dense[0])
    by_layer = {id(layer): step for layer, step in zip(dense, steps)}
    for layer in reversed(work.layers[first_param:]):
        assert grad is not None  # only the first layer with parameters gives None, and last
        if not isinstance(layer, Dense):
            grad = layer.backward(grad)
            continue
        step = by_layer[id(layer)]
        step.da_dz, step.jacobian = _local_derivative(layer, step.a, step.z)
        if layer is last and fused:
            step.dz = grad.copy()
            grad = layer.backward_linear(grad)
        else:
            step.da = grad.copy()
            v = layer.z if layer.act.from_input else layer.a
            step.dz = layer.act.backward(v, grad.copy())
            grad = layer.backward(grad)  # writes dW and db, returns dL/dx
        step.dW = layer.dW.copy()
        step.db = None if layer.db is None else layer.db.copy()
    data_grads = work.gradients.copy()

    # The same pass through the training step itself (dropout masks frozen), which
    # adds the L2 penalty when there is one: exactly what the optimizer would receive.
    for layer in work.layers:
        if isinstance(layer, Dropout):
            layer.freeze_mask = True
    total_loss = work.loss_and_grad(X, Y, w, loss_fn, l2)
    gradients = work.gradients.copy()
    for other in others:  # as the optimizer receives them (penalty included)
        other.gradients = {k: v.copy() for k, v in other.layer.gradient_arrays().items()}
    if not l2:
        return data_loss, data_loss, gradients
    work.gradients[...] = gradients - data_grads
    for layer, step in zip(dense, steps):
        step.penalty_W = layer.dW.copy()
    return data_loss, total_loss, gradients


def _update(work, steps, others, opt, gradients: np.ndarray) -> np.ndarray:
    """What the optimizer's next step would add to every parameter: a copy of it steps
    on a copy of the parameters."""
    stepper = copy.deepcopy(opt)
    params = work.parameters.copy()
    stepper.prepare(params, work.n_weights, work.lr_factors)
    before = params.copy()
    stepper.step(params, gradients.copy())
    updates = params - before
    work.parameters[...] = updates  # read each layer's share through its views
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    for layer, step in zip(dense, steps):
        step.update_W = layer.weights.copy()
        step.update_b = None if layer.bias is None else layer.bias.copy()
    for other in others:
        other.updates = {k: v.copy() for k, v in other.layer.parameter_arrays().items()}
    return updates


def _activation_of(dense: Dense, after: Layer | None) -> str:
    """The activation that follows a Dense layer's product: its own, or, for an identity
    Dense layer that a Parametric layer follows (``after``), that layer's blend
    ("learned selu")."""
    if dense.activation == "identity" and isinstance(after, Parametric):
        return f"learned {after.activation}"
    return dense.activation
