"""One sample's (or a small batch's) forward and backward pass, as numbers and as the seeds' prose.

:func:`explain` runs the engine's own pieces on a copy of the network, one layer at a
time, and keeps every intermediate array: ``z = x @ W + b`` (``Dense.linear``),
``a = f(z)`` (``Dense.forward``), the loss and ``dL/da`` (``Loss.value_and_grad``, or
``dL/dz`` from ``Loss.fused``), then for every layer ``da/dz = f'(z)``, ``dL/dz``,
``dL/dW`` and ``dL/db`` (``Dense.backward``). An optimizer, when one is given, takes
one step on a copy of itself and of the parameters, so the update each parameter would
receive is shown and nothing is changed. Nothing here repeats the math: the engine
computes, this module records and writes it out.

``str(explanation)`` reads like seed 003's walkthrough: the forward pass, the backward
pass layer by layer, and the chain rule for one weight,
``dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1``, with every factor's number. Units
and parameters carry the seed's names (``x1``, ``h1``, ``y_pred``; ``w1`` ... ``w6``,
``b1`` ... ``b3``, counted unit by unit) beside glassnet's (``W1[0,0]``, ``b2[0]``).
This module never imports :class:`~glassnet.Network`; ``Network.explain`` calls it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import data as _data
from . import losses as _losses
from . import optimizers as _optimizers
from . import validation as _v
from .layers import Dense, Dropout

__all__ = ["Explanation", "LayerStep", "Chain", "explain", "MAX_ROWS"]

#: explain() is for one sample or a small batch: every number is kept and may be printed.
MAX_ROWS = 100

# Activations whose derivative is elementwise, with how f'(z) reads in terms of a = f(z).
_DERIVATIVE_TEXT = {
    "identity": "1",
    "relu": "1 if z > 0 else 0",
    "leaky_relu": "1 if z > 0 else 0.01",
    "sigmoid": "f(z) * (1 - f(z))",
    "tanh": "1 - f(z)^2",
    "exp": "f(z)",
}
# Units and samples shown one by one in the text; wider layers are shown as arrays.
_SCALAR_UNITS = 8
_SHOWN_SAMPLES = 5
_SHOWN_TERMS = 6
# A row-wise activation's Jacobian is kept for layers up to this width.
_JACOBIAN_UNITS = 64


def _g(value: float, digits: int = 4) -> str:
    """A number as the walkthrough prints it (4 significant digits, or more)."""
    text = f"{float(value):.{digits}g}"
    return "0" if text == "-0" else text


def _full(value: float) -> str:
    return _g(value, 10)


def _paren(value: float, digits: int = 4) -> str:
    text = _g(value, digits)
    return f"({text})" if text.startswith("-") else text


def _array(a: np.ndarray, prefix: str = "") -> str:
    """``prefix`` followed by the array, wrapped lines aligned under its first number."""
    text = np.array2string(
        np.asarray(a, dtype=np.float64),
        precision=6,
        suppress_small=True,
        max_line_width=96,
        prefix=prefix,
    )
    return prefix + text


class LayerStep:
    """One Dense layer's numbers from :func:`explain` (arrays have one row per sample).

    Attributes
    ----------
    number : int
        1 for the first Dense layer (its parameters are ``W1``, ``b1``), and so on.
    activation : str
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

    def __init__(self, number: int, layer: Dense, unit_names: list[str], input_names: list[str]):
        self.number = number
        self.activation = layer.activation
        self.units = layer.units
        self.unit_names = unit_names
        self.input_names = input_names
        self.W = layer.weights.copy()
        self.b = None if layer.bias is None else layer.bias.copy()
        self.x = self.z = self.a = None
        self.input_mask: np.ndarray | None = None
        self.da = self.da_dz = self.jacobian = self.dz = self.dW = self.db = None
        self.penalty_W = self.update_W = self.update_b = None

    @property
    def gradient_W(self) -> np.ndarray:
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


class Chain:
    """The chain rule for one parameter, sample by sample, with every factor's number.

    Attributes
    ----------
    parameter : str
        glassnet's name, ``"W1[0,0]"`` or ``"b2[0]"``.
    seed_name : str
        seed 003's name for it, ``"w1"`` or ``"b3"``.
    factors : list of list of (str, float)
        Per sample shown, the factors of the product, named as the text names them.
    terms : list of float
        Each sample's product (their sum is ``value``).
    value : float
        dL/d(parameter), the data term, equal to the engine's gradient.
    """

    def __init__(self, parameter, seed_name, lines, factors, terms, value):
        self.parameter = parameter
        self.seed_name = seed_name
        self.lines = lines
        self.factors = factors
        self.terms = terms
        self.value = value

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return f"Chain(dL/d{self.seed_name} = {self.value!r})"


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
    gradients : ndarray
        The flat gradient vector, exactly what the optimizer would receive.
    updates : ndarray or None
        The flat update the optimizer would apply (None without an optimizer).
    """

    def __init__(self, **fields):
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
        return f"W{number}[{i},{j}]" if kind == "W" else f"b{number}[{j}]"

    def gradient(self, which) -> float:
        """dL/d(parameter) as the optimizer receives it: ``ex.gradient("w1")``."""
        number, kind, i, j = self._parameter(which)
        self._require_backward()
        step = self.layers[number - 1]
        return float(step.gradient_W[i, j] if kind == "W" else step.db[j])

    def update(self, which) -> float | None:
        """The optimizer's update for one parameter (None without an optimizer)."""
        number, kind, i, j = self._parameter(which)
        step = self.layers[number - 1]
        if step.update_W is None:
            return None
        return float(step.update_W[i, j] if kind == "W" else step.update_b[j])

    # -- the chain rule ---------------------------------------------------------------------

    def chain(self, which="W1[0,0]", *, layer: int | None = None, i: int = 0, j: int = 0) -> Chain:
        """The chain rule for one weight or bias, with the numbers.

        Name the parameter as glassnet does (``"W1[0,0]"``, ``"b2[0]"``), as seed 003
        does (``"w1"``, ``"b3"``), as a tuple ``(layer, i, j)`` / ``(layer, j)``, or with
        ``layer=``, ``i=``, ``j=`` (a weight). Returns a :class:`Chain`; print it.
        """
        if layer is not None:
            which = (layer, i, j)
        number, kind, i, j = self._parameter(which)
        self._require_backward()
        return _chain(self, number, kind, i, j)

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
        value = step.W[i, j] if kind == "W" else step.b[j]
        grad = None
        if step.dW is not None:
            grad = float(step.gradient_W[i, j] if kind == "W" else step.db[j])
        update = None
        if step.update_W is not None:
            update = float(step.update_W[i, j] if kind == "W" else step.update_b[j])
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
            for s in range(self.x.shape[0]):
                for j in range(step.units):
                    rows.append(
                        {
                            "sample": s,
                            "layer": step.number,
                            "unit": step.unit_names[j],
                            "z": float(step.z[s, j]),
                            "a": float(step.a[s, j]),
                            "dL/da": None if step.da is None else float(step.da[s, j]),
                            "da/dz": None if step.da_dz is None else float(step.da_dz[s, j]),
                            "dL/dz": None if step.dz is None else float(step.dz[s, j]),
                        }
                    )
        return rows

    def to_frame(self, what: str = "parameters"):
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

    def text(self, which="W1[0,0]") -> str:
        """The whole walkthrough, ending with the chain rule for ``which``."""
        return _text(self, which)

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


def _names(net, input_names, output_names) -> tuple[list[str], list[list[str]], list[str]]:
    """Seed-style symbols: inputs x1.., hidden units h1.. (h1.1.. with several hidden
    layers), the output y_pred (o1.. with several outputs); and the labels to show."""
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    n_hidden = len(dense) - 1
    symbols = [[f"x{i + 1}" for i in range(net.input_size)]]
    for number, layer in enumerate(dense, start=1):
        if number == len(dense):
            units = ["y_pred"] if layer.units == 1 else [f"o{j + 1}" for j in range(layer.units)]
        elif n_hidden == 1:
            units = [f"h{j + 1}" for j in range(layer.units)]
        else:
            units = [f"h{number}.{j + 1}" for j in range(layer.units)]
        symbols.append(units)
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
    return labels, symbols, outputs


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


def _local_derivative(layer: Dense, a: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """f'(z) for an elementwise activation, else the Jacobian da_j/dz_i, both from the
    activation's own backward (fed ones, or one unit vector at a time)."""
    act = layer.act
    if act.name in _DERIVATIVE_TEXT:
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
    net,
    x,
    y,
    loss="mse",
    optimizer=None,
    *,
    sample_weight=None,
    l2: float = 0.0,
    training: bool = True,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Explanation:
    """Explain one training step of ``net`` on a sample (or a small batch); changes nothing.

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
    labels, symbols, outputs = _names(work, input_names, output_names)
    if not training:  # the copy's dropout does nothing: the prediction path
        for layer in work.layers:
            if isinstance(layer, Dropout):
                layer.rate = 0.0
    fused = y is not None and loss_fn.output is not None
    steps = _forward(work, X, fused, symbols)
    data_loss = total_loss = gradients = updates = None
    if y is not None:
        data_loss, total_loss, gradients = _backward(work, steps, X, Y, w, loss_fn, l2, fused)
        if opt is not None:
            updates = _update(work, steps, opt, gradients)

    y_true = Y
    if Y is not None and Y.ndim == 1:  # class labels: shown as one-hot rows
        y_true = np.zeros((n, work.output_size), dtype=work.dtype)
        y_true[np.arange(n), Y] = 1.0
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    sizes = [str(work.input_size)] + [str(layer.units) for layer in dense]
    acts = ", ".join(layer.activation for layer in dense)
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


def _forward(work, X: np.ndarray, fused: bool, symbols) -> list[LayerStep]:
    """The engine's forward, layer by layer, keeping each Dense layer's x, z and a."""
    steps: list[LayerStep] = []
    last = work.layers[-1]
    h, mask = X, None
    for layer in work.layers:
        if not isinstance(layer, Dense):
            out = layer.forward(h, True)
            if isinstance(layer, Dropout) and layer.mask is not None:
                factor = layer.mask.copy()
                mask = factor if mask is None else mask * factor
            h = out
            continue
        number = len(steps) + 1
        step = LayerStep(number, layer, symbols[number], symbols[number - 1])
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
    return steps


def _backward(work, steps, X, Y, w, loss_fn, l2: float, fused: bool):
    """The loss and the engine's backward, layer by layer, keeping dL/da and dL/dz;
    then the gradient the training step itself hands the optimizer."""
    last = work.layers[-1]
    grad = np.empty((X.shape[0], work.output_size), dtype=work.dtype)
    if fused:  # dL/dz straight from the logits
        data_loss = loss_fn.fused(last.a, Y, w, grad)
    else:  # dL/da
        data_loss = loss_fn.value_and_grad(last.a, Y, w, grad)
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    first_param = work.layers.index(dense[0])
    by_layer = {id(layer): step for layer, step in zip(dense, steps)}
    for layer in reversed(work.layers[first_param:]):
        if not isinstance(layer, Dense):
            grad = layer.backward(grad)
            continue
        step = by_layer[id(layer)]
        step.da_dz, step.jacobian = _local_derivative(layer, step.a)
        if layer is last and fused:
            step.dz = grad.copy()
            grad = layer.backward_linear(grad)
        else:
            step.da = grad.copy()
            step.dz = layer.act.backward(layer.a, grad.copy())
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
    if not l2:
        return data_loss, data_loss, gradients
    work.gradients[...] = gradients - data_grads
    for layer, step in zip(dense, steps):
        step.penalty_W = layer.dW.copy()
    return data_loss, total_loss, gradients


def _update(work, steps, opt, gradients: np.ndarray) -> np.ndarray:
    """What the optimizer's next step would add to every parameter: a copy of it steps
    on a copy of the parameters."""
    stepper = copy.deepcopy(opt)
    params = work.parameters.copy()
    stepper.prepare(params, work.n_weights)
    before = params.copy()
    stepper.step(params, gradients.copy())
    updates = params - before
    work.parameters[...] = updates  # read each layer's share through its views
    dense = [layer for layer in work.layers if isinstance(layer, Dense)]
    for layer, step in zip(dense, steps):
        step.update_W = layer.weights.copy()
        step.update_b = None if layer.bias is None else layer.bias.copy()
    return updates


# --- the text ------------------------------------------------------------------------------


def _loss_formula(ex: Explanation) -> tuple[str, str]:
    """How the loss and its gradient read, for the samples explained."""
    n, k = ex.y.shape
    weighted = ex.sample_weight is not None
    name = ex.loss_name
    nk = "" if n * k == 1 else f" / {n * k}" if not weighted else " * w_i / (sum(w) * k)"
    if name == "mse":
        value = "mean((y_true - y_pred)^2)"
        grad = "-2 * (y_true - y_pred)" + nk
    elif name == "sse":
        value = "sum((y_true - y_pred)^2)"
        grad = "-2 * (y_true - y_pred)" + (" * w_i" if weighted else "")
    elif name == "half_squared_error":
        value = "mean over samples of sum((y_true - y_pred)^2) / 2"
        grad = "(y_pred - y_true)" + ("" if n == 1 else f" / {n}")
    elif name == "mae":
        value = "mean(|y_true - y_pred|)"
        grad = "sign(y_pred - y_true)" + nk
    elif name == "huber":
        value = "mean(huber(y_pred - y_true))"
        grad = "clip(y_pred - y_true, -delta, delta)" + nk
    elif ex.fused:
        per = "" if n == 1 else f" / {n}"
        if weighted:
            per = " * w_i / sum(w)"
        value = {
            "bce": "mean(-y log(y_pred) - (1 - y) log(1 - y_pred))",
            "cross_entropy": "mean(-sum_k y_k log(y_pred_k))",
            "poisson": "mean(sum_k y log(y / y_pred) - y + y_pred)",
        }.get(name, name)
        grad = f"(y_pred - y_true){per}"
    else:
        value, grad = name, "from the loss's value_and_grad"
    return value, grad


def _with_numbers(ex: Explanation, formula: str, s: int, j: int) -> str:
    """The loss gradient's formula with sample s's numbers: -2 * (1 - 0.576)."""
    values = {"y_true": ex.y[s, j], "y_pred": ex.y_pred[s, j]}
    if ex.sample_weight is not None:
        values["w_i"] = ex.sample_weight[s]
    text = formula
    for name, value in values.items():
        text = re.sub(rf"\b{name}\b", _paren(value), text)
    return f"{formula} = {text}" if text != formula else formula


def _code_name(derivative: str) -> str:
    """dL/dy_pred as seed 003's code names it: d_L_d_ypred."""
    top, bottom = derivative[1:].split("/d", 1)
    return f"d_{top}_d_{bottom}".replace("y_pred", "ypred")


def _shortened(terms: list[str]) -> list[str]:
    if len(terms) > _SHOWN_TERMS:
        return terms[: _SHOWN_TERMS - 1] + ["..."] + terms[-1:]
    return terms


def _affine(ex: Explanation, step: LayerStep, s: int, j: int) -> str:
    """z_h1 = w1*x1 + w2*x2 + b1 = 0.1*(-2) + 0.2*(-1) + 0.3, as the seeds write it."""
    n_in = step.W.shape[0]
    names = [ex.seed_names[f"W{step.number}[{i},{j}]"] for i in range(n_in)]
    symbols = [f"{w}*{x}" for w, x in zip(names, step.input_names)]
    numbers = [f"{_paren(step.W[i, j])}*{_paren(step.x[s, i])}" for i in range(n_in)]
    if step.b is not None:
        symbols.append(ex.seed_names[f"b{step.number}[{j}]"])
        numbers.append(_paren(step.b[j]))
    return f"{' + '.join(_shortened(symbols))} = {' + '.join(_shortened(numbers))}"


def _input_line(ex: Explanation, s: int) -> str:
    step = ex.layers[0]
    parts = []
    for i, symbol in enumerate(step.input_names):
        label = f" ({ex.input_names[i]})" if ex.input_names else ""
        parts.append(f"{symbol} = {_full(ex.x[s, i])}{label}")
    if len(parts) > 2 * _SHOWN_TERMS:
        parts = parts[:_SHOWN_TERMS] + ["..."] + parts[-2:]
    return ", ".join(parts)


def _forward_lines(ex: Explanation, s: int) -> list[str]:
    lines = [f"  input: {_input_line(ex, s)}"]
    for step in ex.layers:
        role = "output" if step.number == len(ex.layers) else "hidden"
        bias = f" + b{step.number}" if step.b is not None else ""
        lines.append(
            f"  layer {step.number} ({role}, {step.units} {step.activation}): "
            f"z = x @ W{step.number}{bias}, a = {step.activation}(z)"
        )
        if step.input_mask is not None:
            lines.append(_array(step.input_mask[s], "    dropout scaled its inputs by "))
        if step.units > _SCALAR_UNITS or step.W.shape[0] > 4 * _SCALAR_UNITS:
            lines.append(_array(step.z[s], "    z = "))
            lines.append(_array(step.a[s], "    a = "))
            continue
        for j, unit in enumerate(step.unit_names):
            z = _zname(unit)
            lines.append(f"    {z} = {_affine(ex, step, s, j)} = {_full(step.z[s, j])}")
            label = ""
            if step.number == len(ex.layers) and ex.output_names:
                label = f"  ({ex.output_names[j]})"
            lines.append(f"    {unit} = {step.activation}({z}) = {_full(step.a[s, j])}{label}")
    return lines


def _zname(unit: str) -> str:
    """The pre-activation's name: z_h1, and z_o1 for the output y_pred (seed 003's sum_o1)."""
    return "z_o1" if unit == "y_pred" else f"z_{unit}"


def _backward_lines(ex: Explanation, s: int) -> list[str]:
    lines = []
    _, grad_text = _loss_formula(ex)
    n = ex.x.shape[0]
    for step in reversed(ex.layers):
        output = step.number == len(ex.layers)
        lines.append(f"  layer {step.number} ({'output' if output else 'hidden'}):")
        if output and ex.fused:
            lines.append(
                f"    the {ex.loss_name} loss is fused with the {step.activation}, so it gives "
                f"dL/dz directly: dL/dz = {grad_text}"
            )
        if step.units > _SCALAR_UNITS or step.da_dz is None:
            if step.da is not None:
                what = f" = {grad_text}" if output else ""
                lines.append(_array(step.da[s], f"    dL/da{what} = "))
            if step.da_dz is not None:
                lines.append(_array(step.da_dz[s], "    da/dz = f'(z) = "))
            elif not (output and ex.fused):
                lines.append(
                    f"    da/dz: the {step.activation} mixes its units, so dL/dz is its "
                    "Jacobian times dL/da (the activation's backward)"
                )
            lines.append(_array(step.dz[s], "    dL/dz = "))
            continue
        derivative = _DERIVATIVE_TEXT.get(step.activation, "f'(z)")
        upper = None if output else ex.layers[step.number]
        for j, unit in enumerate(step.unit_names):
            z = _zname(unit)
            if step.da is not None:
                if output:
                    lines.append(f"    dL/d{unit} = {grad_text} = {_full(step.da[s, j])}")
                else:
                    lines.append(f"    dL/d{unit} = {_upstream(ex, upper, s, j)}")
                lines.append(
                    f"    d{unit}/d{z} = f'({z}) = {derivative} = {_full(step.da_dz[s, j])}"
                )
                lines.append(f"    dL/d{z} = dL/d{unit} * d{unit}/d{z} = {_full(step.dz[s, j])}")
            else:
                lines.append(f"    dL/d{z} = {_full(step.dz[s, j])}")
            if n == 1 and step.W.shape[0] <= _SCALAR_UNITS:
                for i, source in enumerate(step.input_names):
                    name = f"W{step.number}[{i},{j}]"
                    lines.append(
                        f"    dL/d{ex.seed_names[name]} ({name}) = {source} * dL/d{z} = "
                        f"{_g(step.x[s, i])} * {_paren(step.dz[s, j])} = {_full(step.dW[i, j])}"
                    )
                if step.b is not None:
                    name = f"b{step.number}[{j}]"
                    lines.append(
                        f"    dL/d{ex.seed_names[name]} ({name}) = dL/d{z} = {_full(step.db[j])}"
                    )
    return lines


def _upstream(ex: Explanation, upper: LayerStep, s: int, j: int) -> str:
    """dL/dh_j = sum_k dL/dz_k * W[j, k] (times the dropout mask), with the numbers."""
    number = upper.number
    symbols, numbers = [], []
    for k, unit in enumerate(upper.unit_names):
        w = ex.seed_names[f"W{number}[{j},{k}]"]
        symbols.append(f"dL/d{_zname(unit)} * {w}")
        numbers.append(f"{_paren(upper.dz[s, k])} * {_paren(upper.W[j, k])}")
    symbols, numbers = " + ".join(_shortened(symbols)), " + ".join(_shortened(numbers))
    text = f"{symbols} = {numbers}"
    if upper.input_mask is not None:
        m = _g(upper.input_mask[s, j])
        text = f"({symbols}) * {m} = ({numbers}) * {m} (dropout)"
    return f"{text} = {_full(ex.layers[number - 2].da[s, j])}"


def _gradient_lines(ex: Explanation) -> list[str]:
    n = ex.x.shape[0]
    summed = "" if n == 1 else f" (summed over the {n} samples)"
    lines = [f"Gradients{summed}: dL/dW = x.T @ dL/dz, dL/db = sum of dL/dz"]
    for step in ex.layers:
        lines += _parameter_lines(step, step.gradient_W, step.db, "dL/dW{}", "dL/db{}")
    if ex.l2:
        lines.append(f"  (dL/dW includes the L2 penalty's l2 * W / n, l2 = {ex.l2:g})")
    return lines


def _update_lines(ex: Explanation) -> list[str]:
    if ex.updates is None:
        return []
    opt = ex.optimizer_object
    plain_sgd = isinstance(opt, _optimizers.SGD) and not opt.momentum
    rule = f"w <- w - {opt.lr:g} * dL/dw" if plain_sgd else "w <- w + (the optimizer's step)"
    lines = [f"The update {ex.optimizer} would make ({rule}; nothing is applied):"]
    for step in ex.layers:
        lines += _parameter_lines(step, step.update_W, step.update_b, "W{} update", "b{} update")
    return lines


def _parameter_lines(step: LayerStep, W, b, w_label: str, b_label: str) -> list[str]:
    """A layer's matrix (one row per input) and vector of gradients or updates."""
    lines = [f"  {w_label.format(step.number)} ="]
    lines += ["    " + row for row in _array(W).splitlines()]
    if b is not None:
        lines.append(_array(b, f"  {b_label.format(step.number)} = "))
    return lines


def _text(ex: Explanation, which) -> str:
    n = ex.x.shape[0]
    what = "one sample" if n == 1 else f"a batch of {n} samples"
    loss = f", loss {ex.loss_name}" if ex.loss_name else ""
    lines = [f"Explanation of {what}: a {ex.architecture} network{loss}"]
    if ex.has_dropout:
        lines.append("(dropout as in training: the masks are drawn from a copy of the generator)")
    shown = range(min(n, _SHOWN_SAMPLES))
    for s in shown:
        lines.append("")
        lines.append("Forward pass" + ("" if n == 1 else f", sample {s + 1}"))
        lines += _forward_lines(ex, s)
        if ex.y is not None:
            lines.append(f"  y_true = {', '.join(_full(v) for v in ex.y[s])}")
    if n > len(shown):
        lines.append(f"(samples {len(shown) + 1} to {n} are in to_dict() and to_frame())")
    lines.append("")
    if ex.y is None:
        lines.append("No target was given, so this is the forward pass alone: the loss and")
        lines.append("the backward pass need y.")
        return "\n".join(lines)
    value_text, _ = _loss_formula(ex)
    lines.append(f"Loss: {ex.loss_name} = {value_text} = {_full(ex.data_loss)}")
    if ex.l2:
        lines.append(f"  with the L2 penalty: {_full(ex.loss)}")
    for s in shown:
        lines.append("")
        lines.append("Backward pass" + ("" if n == 1 else f", sample {s + 1}"))
        lines += _backward_lines(ex, s)
    lines.append("")
    lines += _gradient_lines(ex)
    updates = _update_lines(ex)
    if updates:
        lines.append("")
        lines += updates
    lines.append("")
    lines.append(str(ex.chain(which)))
    return "\n".join(lines)


def _chain(ex: Explanation, number: int, kind: str, i: int, j: int) -> Chain:
    """dL/dw for W{number}[i,j] (or b{number}[j]) as seed 003 writes it, sample by sample."""
    name = ex.parameter_name(number, kind, i, j)
    seed = ex.seed_names[name]
    step = ex.layers[number - 1]
    L = len(ex.layers)
    unit = step.unit_names[j]
    source = step.input_names[i] if kind == "W" else None
    n = ex.x.shape[0]
    if kind == "W":
        where = f"from {source} to {unit}"
        if number == 1 and ex.input_names:
            where = f"from {source} ({ex.input_names[i]}) to {unit}"
    else:
        where = f"the bias of {unit}"
    lines = [f"The chain rule for {seed} ({name}: {where})"]
    elementwise = step.da_dz is not None and not (number == L and ex.fused)
    output = number == L
    out_step = ex.layers[-1]
    single_out = out_step.units == 1
    last_hidden = number == L - 1 and single_out
    out_elementwise = out_step.da_dz is not None and not ex.fused
    z_unit = _zname(unit)
    dinput = (f"d{unit}/d{seed}", f"{source} * f'({z_unit})" if kind == "W" else f"f'({z_unit})")
    if output and elementwise:
        product = [f"dL/d{unit}", f"d{unit}/d{seed}"]
    elif output:
        product = [f"dL/d{z_unit}", f"d{z_unit}/d{seed}"]
    elif last_hidden and elementwise:
        top = out_step.unit_names[0]
        if out_elementwise:
            product = [f"dL/d{top}", f"d{top}/d{unit}", dinput[0]]
        else:
            product = [f"dL/d{_zname(top)}", f"d{_zname(top)}/d{unit}", dinput[0]]
    elif elementwise:
        product = [f"dL/d{unit}", dinput[0]]
    else:
        product = [f"dL/d{z_unit}", f"d{z_unit}/d{seed}"]
    lines.append(f"  dL/d{seed} = {' * '.join(product)}")
    lines.append(
        f"  (in seed 003's code: {_code_name(f'dL/d{seed}')} = "
        f"{' * '.join(_code_name(p) for p in product)})"
    )
    _, grad_text = _loss_formula(ex)
    derivative = _DERIVATIVE_TEXT.get(step.activation, "f'(z)")
    all_factors, terms = [], []
    for s in range(n):
        if n > 1 and s == _SHOWN_SAMPLES:
            lines.append(f"  ... samples {s + 1} to {n} likewise")
        show = s < _SHOWN_SAMPLES
        out = []

        def say(text, _show=show, _out=out):
            if _show:
                _out.append("  " + text)

        if n > 1:
            say(f"sample {s + 1}:")
        x_in = float(step.x[s, i]) if kind == "W" else 1.0

        def local(_s=s, _x=x_in, _say=say):
            """d(unit)/d(parameter) = input * f'(z): seed 003's d_h1_d_w1."""
            fprime = float(step.da_dz[_s, j])
            rhs = f" = {_paren(_x)} * {_g(fprime)}" if kind == "W" else ""
            _say(f"  {dinput[0]} = {dinput[1]}{rhs} = {_g(_x * fprime)}")
            _say(f"      (f'({z_unit}) = {derivative} = {_g(fprime)})")
            return dinput[0], _x * fprime

        z = float(step.z[s, j])
        a = float(step.a[s, j])
        say(f"where {z_unit} = {_g(z)}, {unit} = {step.activation}({z_unit}) = {_g(a)}")
        factors = []
        if output:
            if elementwise:
                d_out = float(step.da[s, j])
                say(f"  dL/d{unit} = {_with_numbers(ex, grad_text, s, j)} = {_g(d_out)}")
                factors = [(f"dL/d{unit}", d_out), local()]
            else:
                dz = float(step.dz[s, j])
                if ex.fused:
                    how = _with_numbers(ex, grad_text, s, j)
                else:
                    how = "dL/da through the activation's backward"
                say(f"  dL/d{z_unit} = {how} = {_g(dz)}")
                say(f"  d{z_unit}/d{seed} = {source if kind == 'W' else '1'} = {_g(x_in)}")
                factors = [(f"dL/d{z_unit}", dz), (f"d{z_unit}/d{seed}", x_in)]
        elif last_hidden and elementwise:
            top = out_step.unit_names[0]
            w_up = float(out_step.W[j, 0])
            w_name = ex.seed_names[f"W{L}[{j},0]"]
            m = 1.0 if out_step.input_mask is None else float(out_step.input_mask[s, j])
            drop = "" if out_step.input_mask is None else f" * {_g(m)} (dropout)"
            y_pred = float(out_step.a[s, 0])
            say(
                f"      {_zname(top)} = {_g(float(out_step.z[s, 0]))}, "
                f"{top} = {out_step.activation}({_zname(top)}) = {_g(y_pred)}"
            )
            if out_elementwise:
                d_top = float(out_step.da[s, 0])
                f_top = float(out_step.da_dz[s, 0])
                say(f"  dL/d{top} = {_with_numbers(ex, grad_text, s, 0)} = {_g(d_top)}")
                up = w_up * f_top * m
                say(
                    f"  d{top}/d{unit} = {w_name} * f'({_zname(top)}){drop} = "
                    f"{_paren(w_up)} * {_g(f_top)}{drop and f' * {_g(m)}'} = {_g(up)}"
                )
                factors = [(f"dL/d{top}", d_top), (f"d{top}/d{unit}", up)]
            else:
                d_top = float(out_step.dz[s, 0])
                say(f"  dL/d{_zname(top)} = {_with_numbers(ex, grad_text, s, 0)} = {_g(d_top)}")
                up = w_up * m
                say(f"  d{_zname(top)}/d{unit} = {w_name}{drop} = {_g(up)}")
                factors = [(f"dL/d{_zname(top)}", d_top), (f"d{_zname(top)}/d{unit}", up)]
            factors.append(local())
        elif elementwise:
            upper = ex.layers[number]
            d_unit = float(step.da[s, j])
            m = 1.0 if upper.input_mask is None else float(upper.input_mask[s, j])
            terms_up = [
                f"dL/dz_{u} * {ex.seed_names[f'W{number + 1}[{j},{k}]']}"
                for k, u in enumerate(upper.unit_names)
            ]
            terms_up = _shortened(terms_up)
            drop = "" if upper.input_mask is None else f", times {_g(m)} (dropout)"
            say(f"  dL/d{unit} = {' + '.join(terms_up)}{drop} = {_g(d_unit)}")
            say(_array(upper.dz[s], f"        (dL/dz of layer {number + 1}: ")[2:] + ")")
            factors = [(f"dL/d{unit}", d_unit), local()]
        else:
            dz = float(step.dz[s, j])
            say(f"  dL/d{z_unit} = {_g(dz)} (the {step.activation}'s backward of dL/da)")
            say(f"  d{z_unit}/d{seed} = {source if kind == 'W' else '1'} = {_g(x_in)}")
            factors = [(f"dL/d{z_unit}", dz), (f"d{z_unit}/d{seed}", x_in)]
        term = float(np.prod([v for _, v in factors]))
        numbers = " * ".join(_paren(v) for _, v in factors)
        say(f"  dL/d{seed} = {numbers} = {_g(term)}")
        lines += out
        all_factors.append(factors)
        terms.append(term)
    value = float(np.sum(terms))
    engine = float(step.dW[i, j] if kind == "W" else step.db[j])
    if n > 1:
        lines.append(f"  dL/d{seed} = the sum over the samples = {_g(value)}")
    lines.append(f"  dL/d{seed} = {_full(engine)} (the engine's d{name})")
    if step.penalty_W is not None and kind == "W":
        total = float(step.gradient_W[i, j])
        lines.append(f"  with the L2 penalty: dL/d{seed} = {_full(total)}")
    if step.update_W is not None:
        update = float(step.update_W[i, j] if kind == "W" else step.update_b[j])
        current = float(step.W[i, j] if kind == "W" else step.b[j])
        lines.append(
            f"  {ex.optimizer} would move {seed} by {_g(update)}: "
            f"{seed} <- {_g(current)} + {_paren(update)} = {_g(current + update)}"
        )
    return Chain(name, seed, lines, all_factors, terms, engine)
