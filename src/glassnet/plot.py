"""Figures: loss curves, decision boundaries, the network drawn, weights as heat maps.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot (no
global figure state, no GUI needed); save it with ``fig.savefig("x.png")``. In a
notebook, a figure that is a cell's last value shows as a picture, without
``%matplotlib inline``. The functions take a glassnet ``Network``, a
``TabularModel`` or a fitted ``MLPClassifier``/``MLPRegressor``, and label inputs
and outputs with the feature and class names the model knows.
Needs the ``plot`` extra: ``pip install 'glassnet[plot]'``.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

try:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize, TwoSlopeNorm, to_rgb
    from matplotlib.figure import Figure as _MatplotlibFigure
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("glassnet.plot needs matplotlib: pip install 'glassnet[plot]'") from None

from .layers import Dense, dense_descriptions
from .network import Network

__all__ = [
    "Figure",
    "loss_curve",
    "decision_boundary",
    "boundary_evolution",
    "network",
    "weights",
    "confusion_matrix",
    "predicted_vs_true",
    "save_figures",
    "network_and_names",
    "checked_names",
    "loss_curves",
]

#: Marker shapes, one per class, so classes differ by shape as well as colour.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")


class Figure(_MatplotlibFigure):
    """A matplotlib Figure that Jupyter shows as a PNG when it is a cell's result."""

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def to_png(self, dpi: int = 100) -> bytes:
        """The figure as PNG bytes."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()


# --- what a model knows about itself ----------------------------------------------------


def network_and_names(model: Any) -> tuple[Network, list[str] | None, list[str] | None]:
    """(network, input names, output names) for a Network, TabularModel or estimator."""
    if isinstance(model, Network):
        return model, None, None
    net = getattr(model, "network", None)
    features = getattr(model, "features", None)
    if isinstance(net, Network) and features is not None:  # a TabularModel
        target = model.target
        outputs: list[str] | None = (
            [str(c) for c in target.classes] if target.classes else [target.name]
        )
        return net, list(features.output_names), outputs
    net = getattr(model, "network_", None)
    if isinstance(net, Network):  # a fitted scikit-learn drop-in
        names = getattr(model, "feature_names_in_", None)
        classes = getattr(model, "classes_", None)
        outputs = None
        if classes is not None and len(classes) == net.output_size:
            outputs = [str(c) for c in classes]
        elif classes is not None and len(classes) == 2 and net.output_size == 1:
            outputs = [str(classes[1])]
        return net, None if names is None else [str(n) for n in names], outputs
    raise TypeError(
        "expected a glassnet Network, TabularModel or fitted MLPClassifier/MLPRegressor, "
        f"got {type(model).__name__}"
    )


def _named(model, input_names, output_names, what: str):
    """The built network, and input and output names: the given ones, else the model's."""
    net, known_inputs, known_outputs = network_and_names(model)
    if not net.built:
        raise ValueError(f"{what}() draws a built network: train it first")
    assert net.input_size is not None  # built
    inputs = checked_names(input_names, net.input_size, "input_names") or known_inputs
    outputs = checked_names(output_names, net.output_size, "output_names") or known_outputs
    return net, inputs, outputs


def checked_names(names: Sequence[Any] | None, n: int, what: str) -> list[str] | None:
    """``n`` names as strings (None stays None); a ValueError names ``what`` otherwise."""
    if names is None:
        return None
    names = [str(v) for v in names]
    if len(names) != n:
        raise ValueError(f"{what} has {len(names)} names, but the model has {n}")
    return names


# --- the loss curve ---------------------------------------------------------------------


def loss_curves(source: Any) -> tuple[list[float], list[float], int | None]:
    """Training and validation losses, and the restored epoch, from a History, an
    estimator, or a list."""
    if hasattr(source, "loss") and isinstance(source.loss, list):  # History
        val = list(getattr(source, "val_loss", []) or [])
        return list(source.loss), val, getattr(source, "best_epoch", None)
    if hasattr(source, "loss_curve_"):  # a fitted MLPClassifier / MLPRegressor
        return (
            list(source.loss_curve_),
            list(getattr(source, "validation_loss_curve_", []) or []),
            None,
        )
    return [float(v) for v in source], [], None


def _spans_decades(values: Sequence[float]) -> bool:
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= 100


def loss_curve(history: Any, *, title: str | None = None, log: bool | str = "auto") -> Figure:
    """The training loss per epoch, the validation loss when there is one, and the
    epoch whose weights early stopping restored.

    Parameters
    ----------
    history : History, fitted MLPClassifier/MLPRegressor, or sequence of floats
    log : bool or "auto"
        A logarithmic loss axis; ``"auto"`` uses one when the loss spans two decades
        or more (as in the seeds, where it falls from 10 to 1e-8).
    """
    train, val, best = loss_curves(history)
    if not train:
        raise ValueError("there is no loss to plot: the history is empty")
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training loss", color="#1f5fa8", lw=1.8)
    if val:
        ax.plot(np.arange(1, len(val) + 1), val, label="validation loss", color="#d1495b", lw=1.8)
    if best is not None and 0 <= best < len(train):
        curve = val if val else train
        ax.axvline(best + 1, color="#444444", ls="--", lw=1.0, zorder=0)
        ax.plot(
            [best + 1],
            [curve[best]],
            marker="o",
            ms=8,
            mfc="none",
            mec="#222222",
            mew=1.5,
            ls="none",
            label=f"restored: epoch {best + 1}",
        )
    if log == "auto":
        log = _spans_decades(train + val)
    if log and min(train + val) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" + (" (log scale)" if log else ""))
    ax.set_title(title or ("training and validation loss" if val else "training loss"))
    ax.grid(alpha=0.3, which="both" if log else "major")
    ax.legend(frameon=False)
    return fig


# --- decision boundaries ------------------------------------------------------------------


def _predictor(model, names: list[str] | None):
    """A function from grid points (m, 2) to outputs (m, k), and whether they are
    probabilities. A TabularModel is fed a table with its own two feature columns."""
    net, _, _ = network_and_names(model)
    last = net.layers[-1]
    assert isinstance(last, Dense)  # a network ends in a Dense layer
    probabilities = last.activation in ("sigmoid", "softmax")
    if isinstance(model, Network):
        return (lambda grid: model.predict(grid.astype(model.dtype))), probabilities
    if hasattr(model, "features"):  # a TabularModel: the grid is in the file's units
        columns = model.features.columns
        if len(columns) != 2 or any(c["kind"] != "numeric" for c in columns):
            raise ValueError(
                "a decision boundary needs a model of two numeric feature columns; "
                f"this one has {', '.join(c['name'] for c in columns)}"
            )

        def tabular(grid):
            frame = {columns[0]["name"]: grid[:, 0], columns[1]["name"]: grid[:, 1]}
            X, _ = model.transform(frame)
            return net.predict(X)

        return tabular, probabilities

    def estimator(grid):
        data = grid
        if names is not None and getattr(model, "feature_names_in_", None) is not None:
            import pandas as pd

            data = pd.DataFrame(grid, columns=list(model.feature_names_in_))
        if hasattr(model, "predict_proba"):
            return np.asarray(model.predict_proba(data))
        return np.asarray(model.predict(data)).reshape(len(grid), -1)

    return estimator, hasattr(model, "predict_proba") or probabilities


def _xy(model, X, feature_names):
    """The two columns to plot, as floats, and their names."""
    names = None
    if hasattr(X, "columns"):  # a data frame
        if hasattr(model, "features"):
            names = [c["name"] for c in model.features.columns]
        else:
            names = [str(c) for c in X.columns]
        X = np.column_stack([np.asarray(X[c], dtype=np.float64) for c in names])
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs (n, 2), got shape {X.shape}")
    if feature_names is None:
        if names is None:
            _, names, _ = network_and_names(model)
    else:
        names = checked_names(feature_names, 2, "feature_names")
    return X, names or ["input 1", "input 2"]


def _labels(model, y, n: int):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    target = getattr(model, "target", None)
    # A TabularModel's labels: their class index.
    if target is not None and getattr(target, "classes", None):
        return np.asarray(target.encode(y.reshape(n)))
    if y.dtype.kind == "f" and y.ndim == 2 and y.shape[1] == 1 and not hasattr(model, "features"):
        return y.ravel()
    return y.reshape(n)


def _luminance(rgb) -> float:
    """Relative luminance (WCAG), for choosing markers that stand out."""
    channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def _dark(color, factor: float = 0.55) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return factor * r, factor * g, factor * b


#: At most this many data points are drawn on a decision boundary.
MAX_POINTS = 2000

#: Background regions are this opaque over white: pale enough for dark markers on any of them.
REGION_ALPHA = 0.35


def _regions(ax, gx, gy, out, probabilities: bool, fig):
    """Shade the plane: P(class 1), the winning class, or the predicted value (as one
    image, which renders far faster than filled contours)."""
    extent = (gx[0, 0], gx[0, -1], gy[0, 0], gy[-1, 0])

    def shade(values, **style):
        return ax.imshow(
            values, origin="lower", extent=extent, aspect="auto", interpolation="nearest", **style
        )

    if out.shape[1] == 1 and probabilities:
        p = out[:, 0].reshape(gx.shape)
        image = shade(p, cmap="RdBu_r", vmin=0.0, vmax=1.0, alpha=REGION_ALPHA)
        if p.min() < 0.5 < p.max():
            ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
        fig.colorbar(image, ax=ax, label="P(class 1)")
        return lambda i: "#0b2e66" if i == 0 else "#6b0d12"
    if out.shape[1] > 1:
        regions = out.argmax(axis=1).reshape(gx.shape)
        shade(regions, cmap="tab10", vmin=-0.5, vmax=9.5, alpha=REGION_ALPHA)
        return lambda i: _dark(colormaps["tab10"](i % 10))
    image = shade(out[:, 0].reshape(gx.shape), cmap="viridis", alpha=REGION_ALPHA + 0.2)
    fig.colorbar(image, ax=ax, label="prediction")
    return None


def _panel(ax, fig, predict, probabilities, X, labels, names, class_names, resolution, padding):
    span = X.max(axis=0) - X.min(axis=0)
    pad = padding * np.where(span > 0, span, 1.0)
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    out = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()]), dtype=np.float64)
    if out.ndim == 1:
        out = out[:, np.newaxis]
    color_of = _regions(ax, gx, gy, out, probabilities, fig)
    if X.shape[0] > MAX_POINTS:  # an even sample of the points: the regions show the rest
        keep = np.random.default_rng(0).choice(X.shape[0], MAX_POINTS, replace=False)
        X, labels = X[np.sort(keep)], labels[np.sort(keep)]
    if color_of is None:  # regression: points coloured by their target on the same scale
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=labels.astype(float),
            cmap="viridis",
            s=40,
            edgecolor="white",
            linewidth=1.0,
            zorder=3,
        )
    else:
        classes = np.unique(labels)
        for i, c in enumerate(classes):
            index = int(c) if np.issubdtype(classes.dtype, np.integer) else i
            mask = labels == c
            label = class_names[index] if class_names and index < len(class_names) else str(c)
            ax.scatter(
                X[mask, 0],
                X[mask, 1],
                s=48,
                marker=_MARKERS[i % len(_MARKERS)],
                color=color_of(index),
                edgecolor="white",
                linewidth=1.1,
                label=label,
                zorder=3,
            )
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    return color_of is not None


def decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    *,
    resolution: int = 200,
    title: str | None = None,
    padding: float = 0.15,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """The regions a classifier assigns to each class over its two inputs, with the data.

    ``model`` is a Network, a TabularModel with two numeric feature columns (``X`` is
    then its data frame, plotted in the file's units) or a fitted estimator. ``y``
    holds class labels (or one-hot rows). A single sigmoid output is shaded by its
    probability, with the 0.5 contour; a regression network's output is shaded as a
    surface. Axes carry the model's feature names (or ``feature_names``); classes
    differ by marker shape, and dark markers stand out on every pale region.
    ``padding`` is the margin around the data, as a fraction of each axis's span.
    """
    X, names = _xy(model, X, feature_names)
    labels = _labels(model, y, X.shape[0])
    _, _, outputs = network_and_names(model)
    class_names = (
        checked_names(class_names, len(class_names), "class_names") if class_names else outputs
    )
    predict, probabilities = _predictor(model, names)
    fig = Figure(figsize=(5.8, 4.6), layout="constrained")
    ax = fig.add_subplot()
    classes = _panel(
        ax, fig, predict, probabilities, X, labels, names, class_names, resolution, padding
    )
    ax.set_title(title or ("decision boundary" if classes else "predictions"))
    if classes:
        ax.legend(title="class", frameon=True, framealpha=0.85, loc="best")
    return fig


def boundary_evolution(
    model: Any,
    X: Any,
    y: Any,
    snapshots: Any,
    *,
    columns: int = 3,
    resolution: int = 80,
    title: str | None = None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    network: dict | None = None,
) -> Figure:
    """The decision boundary at several moments of training, one panel each.

    ``snapshots`` is a :class:`glassnet.Snapshots` callback that was passed to
    ``fit``, or a sequence of ``(epoch, parameters)`` pairs (the flat parameter vector).
    The model itself is not changed: each panel uses a copy holding that epoch's weights,
    or, when the snapshots are of another network than the model's (one network of an
    ensemble), a network of the architecture ``network`` (its ``Network.config()``).
    """
    pairs = list(getattr(snapshots, "snapshots", snapshots))
    if not pairs:
        raise ValueError("there are no snapshots: pass Snapshots() in fit's callbacks")
    X, names = _xy(model, X, feature_names)
    labels = _labels(model, y, X.shape[0])
    net, _, outputs = network_and_names(model)
    class_names = list(class_names) if class_names else outputs
    columns = max(1, min(columns, len(pairs)))
    rows = math.ceil(len(pairs) / columns)
    fig = Figure(figsize=(3.6 * columns, 3.1 * rows), layout="constrained")
    work = net.copy()
    first = np.asarray(pairs[0][1])
    if network is not None and first.shape != work.parameters.shape:
        assert work.dtype is not None  # built: it has parameters
        work = Network.from_config(network).astype(work.dtype)
    stand_in = _with_network(model, work)
    for k, (epoch, params) in enumerate(pairs):
        params = np.asarray(params)
        if params.shape != work.parameters.shape:
            raise ValueError(
                f"snapshot {k} has {params.size} parameters, but the network has "
                f"{work.parameters.size}"
            )
        work.parameters = params
        predict, probabilities = _predictor(stand_in, names)
        ax = fig.add_subplot(rows, columns, k + 1)
        # one colour bar for the whole figure, not one per panel
        _panel(
            ax,
            _NoColorbar(),
            predict,
            probabilities,
            X,
            labels,
            names,
            class_names,
            resolution,
            0.15,
        )
        ax.set_title("before training" if epoch == 0 else f"after epoch {epoch}", fontsize=10)
        if k % columns:
            ax.set_ylabel("")
        if k < len(pairs) - columns:
            ax.set_xlabel("")
    fig.suptitle(title or "the decision boundary as training went on")
    return fig


class _NoColorbar:
    def colorbar(self, *args, **kwargs):
        return None


def _with_network(model, net: Network):
    """The model with ``net`` in place of its network (a shallow copy; model unchanged)."""
    if isinstance(model, Network):
        return net
    import copy as _copy

    other = _copy.copy(model)
    if hasattr(model, "features"):
        other.network = net
    else:
        other.network_ = net
    return other


# --- the network drawn -------------------------------------------------------------------


def _shown_units(n: int, limit: int) -> list[int | None]:
    """Which unit indices to draw (None marks an elision) when a layer is wide."""
    if n <= limit:
        return list(range(n))
    half = limit // 2
    return [*range(half), None, *range(n - half, n)]


def network(
    model: Any,
    *,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    max_units: int = 20,
) -> Figure:
    """The layers as columns of nodes, with edges coloured by sign and sized by |weight|.

    Blue edges are positive weights, red negative; thicker and more opaque is larger,
    so weak edges fade into the background. Each unit is shaded by its bias on the same
    scale. Input nodes carry the feature names, output nodes the class names (from a
    TabularModel or estimator, or given). Layers wider than ``max_units`` show their
    first and last units with the middle elided.
    """
    net, input_names, output_names = _named(model, input_names, output_names, "network")
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    described = dense_descriptions(net.layers)
    sizes = [net.input_size] + [layer.units for layer in dense]
    shown = [_shown_units(n, max_units) for n in sizes]
    height = max(len(s) for s in shown)
    positions = []
    for col, units in enumerate(shown):
        ys = (
            np.linspace(0, height - 1, len(units))
            if len(units) > 1
            else np.array([(height - 1) / 2])
        )
        positions.append({u: (float(col), float(height - 1 - yv)) for u, yv in zip(units, ys)})

    scale = max(float(np.abs(net.parameters).max()), 1e-12)
    norm = Normalize(-scale, scale)
    label_room = 0.0
    if input_names:
        label_room += 0.09 * max(len(n) for n in input_names)
    if output_names:
        label_room += 0.09 * max(len(n) for n in output_names)
    fig = Figure(
        figsize=(2.2 * len(sizes) + 1.8 + label_room, 0.42 * height + 2.0), layout="constrained"
    )
    ax = fig.add_subplot()
    cmap = colormaps["RdBu"]
    segments, colors, widths = [], [], []
    for k, layer in enumerate(dense):
        W = layer.weights
        for i, pi in positions[k].items():
            if i is None:
                continue
            for j, pj in positions[k + 1].items():
                if j is None:
                    continue
                w = float(W[i, j])
                strength = abs(w) / scale
                r, g, b, _ = cmap(norm(w))
                segments.append([pi, pj])
                colors.append((r, g, b, 0.08 + 0.87 * strength))
                widths.append(0.3 + 3.2 * strength)
    order = np.argsort(widths)  # strong edges drawn last, on top of weak ones
    ax.add_collection(
        LineCollection(
            [segments[i] for i in order],
            colors=[colors[i] for i in order],
            linewidths=[widths[i] for i in order],
            zorder=1,
        )
    )
    node_size = 420 if height <= 12 else 260
    for col, nodes in enumerate(positions):
        into = dense[col - 1] if col else None  # the layer whose units these are
        for u, (x, yv) in nodes.items():
            if u is None:
                ax.text(x, yv, "⋮", ha="center", va="center", fontsize=16, zorder=3)
                continue
            bias = into.bias[u] if into is not None and into.bias is not None else None
            face = cmap(norm(float(bias))) if bias is not None else "#f2f2f2"
            ax.scatter([x], [yv], s=node_size, color=face, edgecolor="k", linewidth=1.0, zorder=2)
            if col == 0:
                name = input_names[u] if input_names is not None else f"x{u + 1}"
                ax.text(x - 0.16, yv, name, ha="right", va="center", fontsize=9)
            elif col == len(sizes) - 1 and output_names is not None:
                ax.text(x + 0.16, yv, output_names[u], ha="left", va="center", fontsize=9)
    for col in range(len(sizes)):
        label = "input" if col == 0 else "{1}\n({0})".format(*described[col - 1])
        ax.text(col, height - 0.5, label, ha="center", va="bottom", fontsize=9)
    fig.colorbar(
        ScalarMappable(norm, cmap), ax=ax, label="weight (edges) / bias (nodes)", shrink=0.7
    )
    left = 0.3 + 0.09 * max((len(n) for n in input_names or ["x10"]), default=3)
    right = 0.4 + (0.09 * max(len(n) for n in output_names) if output_names else 0.0)
    ax.set_xlim(-left, len(sizes) - 1 + right)
    ax.set_ylim(-0.8, height + 1.0)
    ax.set_axis_off()
    ax.set_title(title or "network")
    return fig


def weights(
    model: Any,
    *,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    annotate: bool | None = None,
) -> Figure:
    """Every Dense layer's weight matrix as a heat map (rows: inputs, columns: units),
    with its bias as an extra row; blue positive, red negative, white zero.

    ``annotate`` writes the numbers into the cells (default: for matrices of at most
    10 x 10). Rows of the first layer carry the feature names.
    """
    net, input_names, output_names = _named(model, input_names, output_names, "weights")
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    activations = [act for _, act in dense_descriptions(net.layers)]
    n_hidden = len(dense) - 1
    first_in = dense[0].weights.shape[0]
    row_names: list[Sequence[str]]  # each Dense layer's rows, then the last one's units
    if input_names and len(input_names) == first_in:
        row_names = [list(input_names)]
    else:  # the inputs, or what layers before the first Dense one (an Embedding) made of them
        stem = "x" if first_in == net.input_size else "in"
        row_names = [[f"{stem}{i + 1}" for i in range(first_in)]]
    col_names: list[Sequence[str]] = []
    for number, layer in enumerate(dense, start=1):
        if number == len(dense):
            units = output_names or (
                ["y_pred"] if layer.units == 1 else [f"o{j + 1}" for j in range(layer.units)]
            )
        elif n_hidden == 1:
            units = [f"h{j + 1}" for j in range(layer.units)]
        else:
            units = [f"h{number}.{j + 1}" for j in range(layer.units)]
        col_names.append(units)
        row_names.append(units)
    for number, layer in enumerate(dense[1:], start=1):  # a layer between may change widths
        if len(row_names[number]) != layer.weights.shape[0]:
            row_names[number] = [f"in{j + 1}" for j in range(layer.weights.shape[0])]
    widths = [min(max(2.4, 0.42 * layer.units + 1.6), 8.0) for layer in dense]
    tallest = max(layer.weights.shape[0] + 1 for layer in dense)
    fig = Figure(figsize=(sum(widths) + 0.8, min(0.32 * tallest + 2.0, 12.0)), layout="constrained")
    axes = fig.subplots(1, len(dense), squeeze=False, width_ratios=widths)[0]
    scale = max(float(np.abs(net.parameters).max()), 1e-12)
    norm = TwoSlopeNorm(0.0, -scale, scale)
    cmap = colormaps["RdBu"]
    for number, (ax, layer) in enumerate(zip(axes, dense), start=1):
        matrix = layer.weights
        rows = list(row_names[number - 1])
        if layer.bias is not None:
            matrix = np.vstack([matrix, layer.bias[np.newaxis, :]])
            rows.append("bias")
        image = ax.imshow(matrix, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        small = matrix.shape[0] <= 11 and matrix.shape[1] <= 10
        if annotate if annotate is not None else small:
            for (r, c), v in np.ndenumerate(matrix):
                shade = "white" if abs(v) > 0.6 * scale else "black"
                ax.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=7, color=shade)
        if matrix.shape[0] <= 40:
            ax.set_yticks(range(matrix.shape[0]), rows, fontsize=8)
        if matrix.shape[1] <= 30:
            ax.set_xticks(
                range(matrix.shape[1]),
                col_names[number - 1],
                fontsize=8,
                rotation=90 if matrix.shape[1] > 6 else 0,
            )
        if layer.bias is not None:
            ax.axhline(matrix.shape[0] - 1.5, color="k", lw=0.8)
        ax.set_title(
            f"W{number}"
            + (f", b{number}" if layer.bias is not None else "")
            + f" ({activations[number - 1]})",
            fontsize=10,
        )
    fig.colorbar(image, ax=list(axes), label="weight", shrink=0.8)
    fig.suptitle(title or "weights (rows: inputs, columns: units)")
    return fig


def save_figures(folder: str, figures: Mapping[str, Figure], dpi: int = 120) -> list[str]:
    """Save figures as PNGs into a folder; returns the paths written."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = os.path.join(folder, name)
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


# --- evaluation figures


def confusion_matrix(
    counts: Any,
    labels: Sequence,
    predicted: Sequence | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """The confusion matrix as a heat map, rows the true class and columns the predicted one,
    each cell with its count and its share of the row (the recall on the diagonal)."""
    counts = np.asarray(counts, dtype=np.int64)
    predicted = list(labels if predicted is None else predicted)
    if counts.ndim != 2 or counts.shape != (len(labels), len(predicted)):
        raise ValueError(
            f"counts of shape {counts.shape} do not match {len(labels)} true and "
            f"{len(predicted)} predicted labels"
        )
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    # 0.6 inch a class, up to 14 inches: 200 classes would ask for a 14,000-pixel image
    size = min(max(3.5, 0.6 * max(counts.shape) + 2.0), 14.0)
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if counts.size <= 400:
        for i in range(counts.shape[0]):
            for j in range(counts.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{counts[i, j]}\n{share[i, j]:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black",
                )
    # at most 40 names on an axis: past that, every k-th class is named
    step = -(-max(counts.shape) // 40)
    font = 10 if step == 1 else 6
    ax.set_xticks(
        range(0, len(predicted), step),
        [str(p) for p in predicted[::step]],
        rotation=45,
        ha="right",
        fontsize=font,
    )
    ax.set_yticks(range(0, len(labels), step), [str(x) for x in labels[::step]], fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix")
    fig.colorbar(mesh, ax=ax, label="share of the true class", shrink=0.8)
    return fig


def predicted_vs_true(
    truth: Any,
    predicted: Any,
    *,
    name: str = "target",
    r2: float | None = None,
    title: str | None = None,
) -> Figure:
    """Predicted against true values, with the diagonal where they would be equal."""
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError("truth and predicted must be 1-D arrays of the same length")
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.add_subplot()
    alpha = 0.6 if len(truth) < 2000 else 0.25
    ax.scatter(truth, predicted, s=10, alpha=alpha, color="#1f5fa8", edgecolor="none")
    if len(truth):
        low = float(min(truth.min(), predicted.min()))
        high = float(max(truth.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="#d1495b", lw=1.2, label="predicted = true")
        ax.legend(frameon=False, loc="upper left")
    ax.set_xlabel(f"true {name}")
    ax.set_ylabel(f"predicted {name}")
    ax.set_title(
        title
        or (f"predicted against true (R² {r2:.4f})" if r2 is not None else "predicted against true")
    )
    ax.grid(alpha=0.3)
    return fig
