"""ONNX export: a Network, a drop-in estimator or a command-line model as an ONNX graph.

:func:`to_onnx` builds the graph with ``onnx.helper`` and returns an ``onnx.ModelProto``
that onnxruntime (or any ONNX runtime) runs without Python or glassnet:

* a :class:`~glassnet.Network`: input ``X`` (n, n_in), output ``output`` (n, units);
* an ``MLPClassifier``: input ``X``, outputs ``label`` and ``probabilities`` (the names
  skl2onnx uses); an ``MLPRegressor``: output ``variable``;
* a :class:`~glassnet.TabularModel`: one input per raw column, by name (numbers as
  float or double, text as strings, each of shape (n, 1)), with the imputation,
  standardisation and one-hot encoding inside the graph, and outputs ``label`` and
  ``probabilities`` (classification) or ``variable`` in the target's units. A graph
  cannot raise: where ``predict`` refuses a row for a missing cell (NaN, or the empty
  string in a text column, in a model trained without imputation), the row's
  ``probabilities`` or ``variable`` are NaN, and its ``label`` is the empty string
  (text labels) or NaN (number labels); integer and true/false labels have no missing
  value, so only the NaN probabilities tell.

A classifier trained on a single class gives, as ``predict_proba`` does, two columns of
probabilities, and that class as every row's label.

Every built-in activation is exported; Dropout is the identity. A scikit-learn
``Pipeline`` that ends in a glassnet estimator converts too: :func:`to_onnx` registers
glassnet's estimators with skl2onnx (:func:`register_skl2onnx`, through skl2onnx's
registration API) and hands the pipeline to ``skl2onnx.to_onnx``; call
:func:`register_skl2onnx` once to use ``skl2onnx.to_onnx`` directly. Nothing is
registered until a conversion asks for it. Needs the ``onnx`` extra:
``pip install 'glassnet[onnx]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("ONNX export needs onnx: pip install 'glassnet[onnx]'") from None

from . import __version__
from .layers import Dense, Dropout, Embedding, GroupedDense, Parametric, Scale
from .network import Network

__all__ = ["to_onnx", "register_skl2onnx", "OPSET"]

#: The opset of the graphs (19 for a command-line model with text columns, which needs
#: Equal on strings).
OPSET = 17

_ELEMENT = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}

# Activations as ONNX operators. Sigmoid and leaky_relu are spelled out as glassnet
# computes them: onnxruntime's float32 Sigmoid is accurate only to about 1e-7 absolute
# (far off in relative terms for small probabilities), and LeakyRelu's slope attribute
# is a float32 (off by 2e-7 in a float64 graph).
_OPERATORS = {"relu": "Relu", "tanh": "Tanh", "exp": "Exp"}
_EXPORTABLE = (
    "identity",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softmax",
    "exp",
    "selu",
    "silu",
    "mish",
)


class _Graph:
    """Nodes and initializers under construction, with unique value names."""

    def __init__(self, dtype, prefix: str = "glassnet_"):
        self.dtype = np.dtype(dtype)
        if self.dtype not in _ELEMENT:
            raise TypeError(f"ONNX export computes in float32 or float64, not {self.dtype}")
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.opset = OPSET
        self._count = 0

    @property
    def element(self) -> int:
        return _ELEMENT[self.dtype]

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{self.prefix}{hint}_{self._count}"

    def const(self, value, hint: str, dtype=None) -> str:
        name = self.name(hint)
        array = np.asarray(value)
        if array.dtype.kind in "OUS":
            # (ONNX takes a string tensor's values as bytes; its hint names numbers only)
            values = [str(v).encode() for v in array.flat]
            self.initializers.append(
                helper.make_tensor(name, TensorProto.STRING, array.shape, values)  # type: ignore[arg-type]
            )
        else:
            array = array.astype(dtype or self.dtype)
            self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, out=None, **attrs):
        out = out or self.name(hint or op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=self.name(op_type), **attrs)
        )
        return out

    def model(self, inputs, outputs, doc: str, metadata: dict[str, str]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "glassnet", inputs, outputs, initializer=self.initializers, doc_string=doc
        )
        opsets = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="glassnet",
            producer_version=__version__,
            ir_version=helper.find_min_ir_version_for(opsets),
        )
        helper.set_model_props(model, metadata)
        onnx.checker.check_model(model, full_check=True)
        return model


# -- the network ----------------------------------------------------------------------------


def _check_exportable(net: Network) -> None:
    if not net.built:
        raise ValueError("the network is not built yet: train it (or give input_size) first")
    for i, layer in enumerate(net.layers):
        act = getattr(layer, "activation", None)
        if isinstance(layer, (Dense, Parametric)) and act not in _EXPORTABLE:
            raise ValueError(
                f"layer {i} uses the custom activation {act!r}, which has no ONNX operator; "
                f"ONNX export covers {', '.join(_EXPORTABLE)}"
            )
        if not isinstance(layer, (Dense, Dropout, Scale, Parametric, Embedding)):
            raise ValueError(f"layer {i} ({type(layer).__name__}) has no ONNX export")


def _network(g: _Graph, net: Network, x: str, *, last_linear: bool = False) -> str:
    """The network's forward pass from value ``x``; returns the output's name (the last
    layer's pre-activation z with ``last_linear``)."""
    last = net.layers[-1]
    for layer in net.layers:
        if isinstance(layer, Dense):
            x = _dense_z(g, layer, x)
            if layer is last and last_linear:
                return x
            x = _activation(g, layer.activation, x)
        elif isinstance(layer, Scale):
            x = g.op("Mul", [x, g.const(layer.parameter_arrays()["scale"], "scale")], "scaled")
        elif isinstance(layer, Parametric):  # x + alpha (f(x) - x)
            alpha = g.const(layer.parameter_arrays()["alpha"], "alpha")
            change = g.op("Sub", [_activation(g, layer.activation, x), x])
            x = g.op("Add", [x, g.op("Mul", [change, alpha])], "blended")
        elif isinstance(layer, Embedding):
            x = _embedding(g, layer, x)
        # Dropout is the identity at prediction
    return x


def _dense_z(g: _Graph, layer: Dense, x: str) -> str:
    """z = x W + b: one Gemm (a MatMul without a bias); a GroupedDense layer's blocks."""
    if isinstance(layer, GroupedDense):
        return _grouped_z(g, layer, x)
    W = g.const(layer.weights, "W")
    if layer.has_bias:
        return g.op("Gemm", [x, W, g.const(layer.bias, "b")], "z")
    return g.op("MatMul", [x, W], "z")


def _grouped_z(g: _Graph, layer: GroupedDense, x: str) -> str:
    """A GroupedDense layer's z: the blocks side by side, one batched MatMul of the
    inputs reshaped to (groups, n, inputs / groups), then the bias."""
    blocks = layer.parameter_arrays()["weights"]
    G, n_in, n_out = blocks.shape
    x = g.op("Reshape", [x, g.const([-1, G, n_in], "shape", np.int64)])
    x = g.op("Transpose", [x], perm=[1, 0, 2])
    x = g.op("MatMul", [x, g.const(blocks, "W")])
    x = g.op("Transpose", [x], perm=[1, 0, 2])
    x = g.op("Reshape", [x, g.const([-1, G * n_out], "shape", np.int64)], "z")
    if layer.has_bias:
        x = g.op("Add", [x, g.const(layer.bias, "b")], "z")
    return x


def _embedding(g: _Graph, layer: Embedding, x: str) -> str:
    """Embedding.predict as a graph: the passed-on columns, each numeric column's periodic
    embedding and itself, each categorical column's table row."""
    p = layer.parameter_arrays()
    int64 = TensorProto.INT64
    parts = [
        g.op("Gather", [x, g.const(layer.passed.astype(np.int64), "passed", np.int64)], axis=1)
    ]
    if layer.numeric:
        k, F, dims = len(layer.numeric), layer.frequencies, layer.dims
        cols = g.const(np.asarray(layer.numeric, dtype=np.int64), "numeric", np.int64)
        xn = g.op("Unsqueeze", [g.op("Gather", [x, cols], axis=1), g.const([2], "axis", np.int64)])
        freq = g.const((2 * np.pi) * p["frequencies"].reshape(1, k, F), "frequencies")
        phase = g.const(p["phases"].reshape(1, k, F), "phases")
        h = g.op("Cos", [g.op("Add", [g.op("Mul", [xn, freq]), phase])])  # (N, k, F)
        hk = g.op("Transpose", [h], perm=[1, 0, 2])  # (k, N, F): one product per column
        mixed = g.op("MatMul", [hk, g.const(p["mix"], "mix")])  # (k, N, dims - 1)
        mixed = g.op("Transpose", [mixed], perm=[1, 0, 2])
        mixed = g.op("Add", [mixed, g.const(p["mix_bias"].reshape(1, k, dims - 1), "mix_bias")])
        both = g.op("Concat", [mixed, xn], axis=2)  # (N, k, dims)
        parts.append(g.op("Reshape", [both, g.const([-1, k * dims], "shape", np.int64)]))
    for j, (column, levels) in enumerate(layer.categorical):
        index = g.op("Gather", [x, g.const(np.int64(column), "column", np.int64)], axis=1)
        index = g.op("Clip", [index, g.const(0.0, "low"), g.const(float(levels - 1), "high")])
        index = g.op("Cast", [index], to=int64)
        parts.append(g.op("Gather", [g.const(p[f"table_{j}"], "table"), index], axis=0))
    return g.op("Concat", parts, "embedded", axis=1)


def _activation(g: _Graph, name: str, z: str) -> str:
    from .activations import LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE, SIGMOID_FLOOR

    if name == "identity":
        return z
    if name in _OPERATORS:
        return g.op(_OPERATORS[name], [z], name)
    if name == "softmax":
        return g.op("Softmax", [z], name, axis=-1)
    if name == "leaky_relu":  # max(z, s z)
        return g.op("Max", [z, g.op("Mul", [z, g.const(LEAKY_SLOPE, "slope")])], name)
    if name == "selu":  # l (max(z, 0) + c (exp(min(z, 0)) - 1)) (onnxruntime's Selu: float only)
        negative = g.op("Exp", [g.op("Min", [z, g.const(0.0, "zero")])])
        negative = g.op("Sub", [negative, g.const(1.0, "one")])
        both = g.op("Add", [g.op("Relu", [z]), g.op("Mul", [negative, g.const(SELU_ALPHA, "c")])])
        return g.op("Mul", [both, g.const(SELU_SCALE, "l")], name)
    if name == "mish":  # z tanh(softplus(z)), softplus(z) = max(z, 0) + log(1 + exp(-|z|))
        tail = g.op("Exp", [g.op("Neg", [g.op("Abs", [z])])])
        tail = g.op("Log", [g.op("Add", [tail, g.const(1.0, "one")])])
        softplus = g.op("Add", [g.op("Relu", [z]), tail])
        return g.op("Mul", [z, g.op("Tanh", [softplus])], name)
    # sigmoid: 1 / (1 + exp(-max(z, floor))), the floor where exp(-z) would overflow
    clipped = g.op("Max", [z, g.const(SIGMOID_FLOOR[g.dtype], "floor")])
    e = g.op("Exp", [g.op("Neg", [clipped])])
    s = g.op("Reciprocal", [g.op("Add", [e, g.const(1.0, "one")])], name)
    return g.op("Mul", [z, s], name) if name == "silu" else s  # silu: z sigmoid(z)


def _tensor(name: str, element: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, element, shape)


def _network_model(net: Network, dtype) -> onnx.ModelProto:
    _check_exportable(net)
    g = _Graph(dtype or net.dtype)
    out = _network(g, net, "X")
    g.op("Identity", [out], out="output")
    return g.model(
        [_tensor("X", g.element, ["N", net.input_size])],
        [_tensor("output", g.element, ["N", net.output_size])],
        f"glassnet {net!r}",
        {"glassnet_kind": "network"},
    )


# -- labels -----------------------------------------------------------------------------------


def _label_values(classes) -> tuple[np.ndarray, int]:
    """The class labels as an ONNX-ready array and its element type: integers as int64,
    booleans as bool, other numbers as double, anything else as text."""
    values = list(classes)
    if all(isinstance(c, (bool, np.bool_)) for c in values):
        return np.array(values, dtype=bool), TensorProto.BOOL
    if all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in values):
        return np.array(values, dtype=np.int64), TensorProto.INT64
    if all(isinstance(c, (float, np.floating, int, np.integer)) for c in values):
        return np.array(values, dtype=np.float64), TensorProto.DOUBLE
    return np.array([str(c) for c in values], dtype=object), TensorProto.STRING


def _decode_labels(g: _Graph, index: str, classes, out: str) -> int:
    """The label of each row from its class index. A single class (a classifier trained
    on one label) has one sigmoid output like two classes: both of its indices are that
    class, as ``predict`` gives it whatever the output."""
    values, element = _label_values(classes)
    if len(values) == 1:
        values = np.concatenate([values, values])
    dtype: dict[int, type] = {
        TensorProto.BOOL: bool,
        TensorProto.INT64: np.int64,
        TensorProto.DOUBLE: np.float64,
    }
    table = g.const(values, "classes", dtype.get(element))
    g.op("Gather", [table, index], out=out, axis=0)
    return element


#: The label of a row the graph cannot answer, by the labels' element type: text and
#: numbers have a missing value; integers and true/false have none (their rows' label is
#: the decoded one, and their probabilities are NaN).
_MISSING_LABEL: dict[int, object] = {TensorProto.STRING: "", TensorProto.DOUBLE: np.nan}


def _classifier_outputs(
    g: _Graph,
    net: Network,
    x: str,
    output: str,
    classes,
    label="label",
    probabilities="probabilities",
    multilabel=False,
    refused: str | None = None,
) -> int:
    """``label`` and ``probabilities`` from a softmax (several classes) or sigmoid
    (one or two classes, or a label matrix) output; returns the label's element type.
    ``refused`` (a boolean (n, 1) value) marks rows whose probabilities are NaN and
    whose label is missing (see ``_MISSING_LABEL``)."""
    p = _network(g, net, x)
    if output == "softmax":
        proba = p
        index = g.op("ArgMax", [p], "index", axis=1, keepdims=0)
    else:
        positive = g.op("Greater", [p, g.const([0.5], "half")], "positive")
        if multilabel:
            g.op("Identity", [p], out=probabilities)
            g.op("Cast", [positive], out=label, to=TensorProto.INT64)
            return TensorProto.INT64
        proba = g.op("Concat", [g.op("Sub", [g.const([1.0], "one"), p], "negative"), p], axis=1)
        flat = g.op("Reshape", [positive, g.const([-1], "flat", np.int64)], "positive_flat")
        index = g.op("Cast", [flat], "index", to=TensorProto.INT64)
    if refused is None:
        g.op("Identity", [proba], out=probabilities)
        return _decode_labels(g, index, classes, label)
    g.op("Where", [refused, g.const([[np.nan]], "nan"), proba], out=probabilities)
    decoded = g.name("decoded")
    element = _decode_labels(g, index, classes, decoded)
    if element not in _MISSING_LABEL:
        g.op("Identity", [decoded], out=label)
        return element
    rows = g.op("Reshape", [refused, g.const([-1], "flat", np.int64)], "refused_flat")
    missing = g.const([_MISSING_LABEL[element]], "missing_label", np.float64)
    g.op("Where", [rows, missing, decoded], out=label)
    return element


# -- the scikit-learn drop-in -----------------------------------------------------------------


def _estimator_graph(g: _Graph, est, x: str, outputs: list[str]) -> int | None:
    """The estimator's graph from value ``x`` into ``outputs``; returns the label's
    element type (None for a regressor)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    net = est.network_
    _check_exportable(net)
    if not getattr(est, "is_classifier", False):
        g.op("Identity", [_network(g, net, x)], out=outputs[0])
        return None
    multilabel = est.target_type == "multilabel-indicator"
    label, probabilities = outputs  # a classifier's two outputs
    return _classifier_outputs(
        g, net, x, est.out_activation_, est.classes_, label, probabilities, multilabel=multilabel
    )


def _estimator_model(est, dtype) -> onnx.ModelProto:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    g = _Graph(dtype or est.network_.dtype)
    n_out = est.network_.output_size
    if getattr(est, "is_classifier", False):
        names = ["label", "probabilities"]
        element = _estimator_graph(g, est, "X", names)
        assert element is not None  # a classifier's label has one
        width = len(est.classes_) if est.out_activation_ == "logistic" and n_out > 1 else None
        shapes = [["N", width] if width else ["N"], ["N", max(n_out, 2)]]
        outputs = [_tensor(names[0], element, shapes[0]), _tensor(names[1], g.element, shapes[1])]
    else:
        _estimator_graph(g, est, "X", ["variable"])
        outputs = [_tensor("variable", g.element, ["N", n_out])]
    return g.model(
        [_tensor("X", g.element, ["N", est.n_features_in_])],
        outputs,
        f"glassnet {type(est).__name__}",
        {"glassnet_kind": type(est).__name__},
    )


# -- the command-line model: one small function per column kind -------------------------------


def _numeric_column(g: _Graph, spec: dict, impute: bool) -> tuple[str, int]:
    """A number: the missing (NaN) filled with the training fill value, then scaled, and
    smoothly clipped, z / sqrt(1 + (z / clip)^2), when the column has a ``clip``; then,
    with an ``indicator``, a second output that is 1 where the number was missing."""
    x = spec["name"]
    missing = g.op("IsNaN", [x], "missing") if impute else None
    if missing is not None:
        x = g.op("Where", [missing, g.const([[spec["fill"]]], "fill"), x])
    centred = g.op("Sub", [x, g.const([[spec["mean"]]], "mean")], "centred")
    z = g.op("Div", [centred, g.const([[spec["std"]]], "std")], "scaled")
    if spec.get("clip"):
        z = _smooth_clip(g, z, spec["clip"])
    if spec.get("indicator") and missing is not None:
        flag = g.op("Cast", [missing], "was_missing", to=g.element)
        z = g.op("Concat", [z, flag], "with_indicator", axis=1)
    return z, g.element


def _smooth_clip(g: _Graph, z: str, bound: float, dtype=None) -> str:
    """z / sqrt(1 + (z / bound)^2), z first clipped to +-FAR * bound, as
    :func:`glassnet.tabular.encoding.smooth_clip` (``dtype``: z's, when it is not the
    graph's). A float32 input too large for float32 (1e308) is infinite here, and so
    +-bound, as NumPy makes of it."""
    from .tabular.encoding import FAR

    far = FAR * bound
    z = g.op("Clip", [z, g.const(-far, "far_low", dtype), g.const(far, "far_high", dtype)])
    ratio = g.op("Div", [z, g.const([[bound]], "clip", dtype)], "ratio")
    spread = g.op("Add", [g.const([[1.0]], "one", dtype), g.op("Mul", [ratio, ratio])], "spread")
    return g.op("Div", [z, g.op("Sqrt", [spread], "root")], "clipped")


def _categorical_column(g: _Graph, spec: dict, impute: bool) -> tuple[str, int]:
    """Text: missing (the empty string) filled as training decided (the empty string is
    the level of missing values, or "other" when they were rare; else the most frequent
    level), then one-hot over the training levels, and one more output for the "other"
    level when the column has one (1 where the text is none of the levels); without it,
    a level never seen in training is all zeros."""
    x = spec["name"]
    g.opset = max(g.opset, 19)  # Equal on strings
    if impute:  # text with spaces is data; only the empty string is a missing cell
        empty = g.op("Equal", [x, g.const([[""]], "empty")], "empty")
        x = g.op("Where", [empty, g.const([[spec["fill"]]], "fill"), x], "filled")
    hits = g.op("Equal", [x, g.const([spec["categories"]], "levels")], "hits")
    onehot = g.op("Cast", [hits], "onehot", to=g.element)
    if spec.get("embed"):  # the level's index, the last one for every other text
        index = g.op("Cast", [g.op("ArgMax", [onehot], "first", axis=1, keepdims=1)], to=g.element)
        matched = g.op("ReduceMax", [onehot, g.const([1], "axis", np.int64)], "seen", keepdims=1)
        known = g.op("Greater", [matched, g.const([[0.5]], "half")], "known")
        rest = g.const([[float(len(spec["categories"]))]], "rest")
        return g.op("Where", [known, index, rest], "level"), TensorProto.STRING
    if not spec.get("other"):
        return onehot, TensorProto.STRING
    matched = g.op("ReduceMax", [onehot, g.const([1], "axis", np.int64)], "matched", keepdims=1)
    other = g.op("Sub", [g.const([[1.0]], "one"), matched], "other")
    return g.op("Concat", [onehot, other], "levels_and_other", axis=1), TensorProto.STRING


def _boolean_column(g: _Graph, spec: dict, impute: bool) -> tuple[str, int]:
    """True or false as a number (1 or 0; NaN for missing, filled with the training
    mean), standardised."""
    return _numeric_column(g, dict(spec, fill=spec["mean"]), impute)


def _datetime_column(g: _Graph, spec: dict, impute: bool) -> tuple[str, int]:
    """A time as seconds since 1970-01-01 00:00 UTC (a double, NaN for missing), split
    into its parts (year, month, dayofweek, dayofyear, hour) by the civil-calendar
    arithmetic of the proleptic Gregorian calendar, each standardised (and smoothly
    clipped, with a ``clip``); a missing time's
    parts are the training means, and with an ``indicator`` one more output is 1 where
    the time was missing."""
    t = spec["name"]
    f64 = np.float64

    def c(value, hint="k"):
        return g.const(np.asarray(value, dtype=f64), hint, f64)

    def floordiv(a, b):
        return g.op("Floor", [g.op("Div", [a, c(b)])])

    def lin(a, times, plus=0.0):  # a * times + plus
        return g.op("Add", [g.op("Mul", [a, c(times)]), c(plus)])

    def minus(a, b):
        return g.op("Sub", [a, b])

    days = floordiv(t, 86400.0)
    hour = floordiv(minus(t, lin(days, 86400.0)), 3600.0)
    shifted = lin(days, 1.0, 3.0)  # 1970-01-01 was a Thursday; Monday is 0
    dayofweek = minus(shifted, lin(floordiv(shifted, 7.0), 7.0))
    z = lin(days, 1.0, 719468.0)  # days since 0000-03-01
    era = floordiv(z, 146097.0)
    doe = minus(z, lin(era, 146097.0))
    yoe = floordiv(
        g.op(
            "Sub",
            [
                g.op("Add", [minus(doe, floordiv(doe, 1460.0)), floordiv(doe, 36524.0)]),
                floordiv(doe, 146096.0),
            ],
        ),
        365.0,
    )
    doy = minus(
        doe, minus(g.op("Add", [lin(yoe, 365.0), floordiv(yoe, 4.0)]), floordiv(yoe, 100.0))
    )
    mp = floordiv(lin(doy, 5.0, 2.0), 153.0)
    late = g.op("Cast", [g.op("GreaterOrEqual", [mp, c(10.0)])], to=TensorProto.DOUBLE)
    month = minus(lin(mp, 1.0, 3.0), lin(late, 12.0))
    early = g.op("Cast", [g.op("LessOrEqual", [month, c(2.0)])], to=TensorProto.DOUBLE)
    year = g.op("Add", [g.op("Add", [yoe, lin(era, 400.0)]), early])
    # 1 January of that year, in days since 1970: the same arithmetic, backwards
    y = lin(year, 1.0, -1.0)
    era1 = floordiv(y, 400.0)
    yoe1 = minus(y, lin(era1, 400.0))
    doe1 = g.op(
        "Add",
        [
            minus(g.op("Add", [lin(yoe1, 365.0), floordiv(yoe1, 4.0)]), floordiv(yoe1, 100.0)),
            c(306.0),
        ],
    )
    jan1 = g.op("Add", [lin(era1, 146097.0), lin(doe1, 1.0, -719468.0)])
    dayofyear = lin(minus(days, jan1), 1.0, 1.0)
    parts = {
        "year": year,
        "month": month,
        "dayofweek": dayofweek,
        "dayofyear": dayofyear,
        "hour": hour,
    }
    missing = g.op("IsNaN", [t], "missing") if impute else None
    blocks = []
    for p in spec["parts"]:
        x = parts[p["part"]]
        if missing is not None:
            x = g.op("Where", [missing, c([[p["mean"]]]), x])
        scaled = g.op("Div", [minus(x, c([[p["mean"]]])), c([[p["std"]]])], p["part"])
        if spec.get("clip"):
            scaled = _smooth_clip(g, scaled, spec["clip"], f64)
        blocks.append(g.op("Cast", [scaled], p["part"], to=g.element))
    if spec.get("indicator") and missing is not None:
        blocks.append(g.op("Cast", [missing], "was_missing", to=g.element))
    out = g.op("Concat", blocks, "dateparts", axis=1) if len(blocks) > 1 else blocks[0]
    return out, TensorProto.DOUBLE


def _missing_cells(g: _Graph, name: str, element: int) -> str:
    """Which cells of an input are missing, (n, 1) booleans: the empty string in text,
    NaN in numbers (true/false and dates included), as ``predict`` reads them."""
    if element == TensorProto.STRING:
        g.opset = max(g.opset, 19)  # Equal on strings
        return g.op("Equal", [name, g.const([[""]], "empty")], "missing")
    return g.op("IsNaN", [name], "missing")


#: Column kind (``kind`` in the feature preprocessing's JSON) -> its graph.
COLUMN_KINDS: dict[str, Callable[[_Graph, dict, bool], tuple[str, int]]] = {
    "numeric": _numeric_column,
    "boolean": _boolean_column,
    "categorical": _categorical_column,
    "datetime": _datetime_column,
}


def _tabular_model(model, dtype) -> onnx.ModelProto:
    net = model.network
    _check_exportable(net)
    g = _Graph(dtype or net.dtype)
    features = model.features.to_json()
    impute = bool(features.get("impute"))
    inputs, blocks, missing = [], [], []
    for spec in features["columns"]:
        build = COLUMN_KINDS.get(spec.get("kind"))
        if build is None:
            raise ValueError(
                f"column {spec['name']!r} is of kind {spec.get('kind')!r}, which ONNX export "
                f"does not cover yet (it covers: {', '.join(COLUMN_KINDS)})"
            )
        block, element = build(g, spec, impute)
        blocks.append(block)
        inputs.append(_tensor(spec["name"], element, ["N", 1]))
        if not impute:
            missing.append(_missing_cells(g, spec["name"], element))
    x = g.op("Concat", blocks, "features", axis=1) if len(blocks) > 1 else blocks[0]
    # Without imputation, predict refuses a row with a missing cell; the graph cannot
    # raise, so such a row's outputs are NaN (whatever the operators would make of it).
    refused = None
    for cells in missing:
        refused = cells if refused is None else g.op("Or", [refused, cells], "refused")
    target = model.target.to_json()
    if target["task"] == "classification":
        element = _classifier_outputs(g, net, x, "softmax", target["classes"], refused=refused)
        outputs = [
            _tensor("label", element, ["N"]),
            _tensor("probabilities", g.element, ["N", len(target["classes"])]),
        ]
    else:
        scaled = g.op("Mul", [_network(g, net, x), g.const([[target["std"]]], "std")])
        value = g.op("Add", [scaled, g.const([[target["mean"]]], "mean")])
        if refused is not None:
            value = g.op("Where", [refused, g.const([[np.nan]], "nan"), value])
        g.op("Identity", [value], out="variable")
        outputs = [_tensor("variable", g.element, ["N", 1])]
    return g.model(
        inputs,
        outputs,
        f"glassnet TabularModel predicting {target['name']!r}",
        {"glassnet_kind": "tabular", "target": target["name"], "task": target["task"]},
    )


# -- the entry point --------------------------------------------------------------------------


def to_onnx(
    model: Any, dtype: DTypeLike | None = None, *, X: Any = None, options: dict | None = None
) -> onnx.ModelProto:
    """An ONNX graph that computes what ``model.predict`` (and ``predict_proba``) do.

    Parameters
    ----------
    model : Network, MLPClassifier, MLPRegressor, TabularModel, or a scikit-learn Pipeline
        ending in a glassnet estimator
    dtype : {None, "float32", "float64"}
        The graph's float type; default the model's own (for a pipeline: X's).
    X : array-like, optional
        For a pipeline: a sample of its input, whose type and width the graph takes
        (skl2onnx's ``X``).
    options : dict, optional
        For a pipeline: skl2onnx's conversion options (``{"zipmap": False}``, say).

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker``; save it with ``onnx.save(proto, "model.onnx")``.
    """
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in _ELEMENT:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    if isinstance(model, Network):
        return _network_model(model, dtype)
    kind = getattr(model, "model_file_kind", None)
    if kind == "tabular":
        return _tabular_model(model, dtype)
    if kind in ("MLPClassifier", "MLPRegressor"):
        return _estimator_model(model, dtype)
    if hasattr(model, "steps") and hasattr(model, "get_params"):  # a scikit-learn Pipeline
        return _pipeline_model(model, dtype, X, options)
    raise TypeError(
        "to_onnx exports a glassnet Network, MLPClassifier, MLPRegressor or TabularModel, "
        f"or a scikit-learn Pipeline that ends in one, not {type(model).__name__}"
    )


def _pipeline_model(pipe, dtype, X, options) -> onnx.ModelProto:
    """A Pipeline through skl2onnx, with glassnet's estimators registered first."""
    if X is None:
        raise TypeError(
            "to_onnx needs a sample of a pipeline's input to type its graph: "
            "to_onnx(pipeline, X=X_train[:1])"
        )
    try:
        import skl2onnx
    except ImportError:
        raise ImportError(
            "converting a scikit-learn Pipeline needs skl2onnx: pip install 'glassnet[onnx]'"
        ) from None
    register_skl2onnx()
    sample = np.asarray(X)[:1]
    if dtype is not None:
        sample = sample.astype(dtype)
    return skl2onnx.to_onnx(pipe, sample, options=options)


# -- skl2onnx ---------------------------------------------------------------------------------


def _skl2onnx_converter(scope, operator, container) -> None:
    """Put the estimator's graph into skl2onnx's container, under unique names."""
    from skl2onnx.common.data_types import guess_numpy_type

    est = operator.raw_operator
    if getattr(est, "is_classifier", False) and len(est.classes_) == 1:
        if container.get_options(est, dict(zipmap=True)).get("zipmap"):
            raise ValueError(
                "this MLPClassifier was trained on one class: its probabilities have two "
                "columns (as scikit-learn's do) for its one label, which skl2onnx's ZipMap "
                "cannot label; convert it with options={'zipmap': False}"
            )
    dtype = guess_numpy_type(operator.inputs[0].type)
    g = _Graph(
        dtype if dtype in (np.float32, np.float64) else np.float32,
        prefix=scope.get_unique_variable_name("glassnet") + "_",
    )
    x = operator.inputs[0].full_name
    if np.dtype(dtype) != g.dtype:
        x = g.op("Cast", [x], "input", to=g.element)
    _estimator_graph(g, est, x, [v.full_name for v in operator.outputs])
    container.initializers.extend(g.initializers)
    for node in g.nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type, list(node.input), list(node.output), name=node.name, **attrs
        )


def register_skl2onnx() -> None:
    """Register glassnet's estimators with skl2onnx, so ``skl2onnx.to_onnx`` converts them,
    alone or at the end of a ``Pipeline``. Classifiers take skl2onnx's usual options
    (``zipmap``)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from .sklearn import MLPClassifier, MLPRegressor

    def classifier_shapes(operator) -> None:
        calculate_linear_classifier_output_shapes(operator)
        est = operator.raw_operator
        n = operator.inputs[0].get_first_dimension()
        if est.target_type == "multilabel-indicator":  # a label matrix
            operator.outputs[0].type = Int64TensorType([n, len(est.classes_)])
        elif len(est.classes_) == 1:  # one class: two columns, as predict_proba gives
            operator.outputs[1].type = operator.outputs[1].type.__class__([n, 2])

    update_registered_converter(
        MLPClassifier,
        "GlassnetMLPClassifier",
        classifier_shapes,
        _skl2onnx_converter,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        MLPRegressor,
        "GlassnetMLPRegressor",
        calculate_linear_regressor_output_shapes,
        _skl2onnx_converter,
    )
