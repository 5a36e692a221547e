"""Figures: the training loss, a decision boundary, and the network itself.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot (no
global figure state, no GUI needed); save it with ``fig.savefig("x.png")``.
Needs the ``plot`` extra: ``pip install 'glassnet[plot]'``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

try:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("glassnet.plot needs matplotlib: pip install 'glassnet[plot]'") from None

from .layers import Dense
from .network import Network

__all__ = ["loss_curve", "decision_boundary", "network", "save_figures"]


def _curves(source: Any) -> tuple[list[float], list[float]]:
    """Training and validation losses from a History, an estimator, or a list."""
    if hasattr(source, "loss") and isinstance(source.loss, list):  # History
        return list(source.loss), list(getattr(source, "val_loss", []) or [])
    if hasattr(source, "loss_curve_"):  # a fitted MLPClassifier / MLPRegressor
        return list(source.loss_curve_), list(getattr(source, "validation_loss_curve_", []) or [])
    return [float(v) for v in source], []


def loss_curve(history, *, title: str | None = None, log: bool = False) -> Figure:
    """The training loss per epoch, and the validation loss when there is one.

    Parameters
    ----------
    history : History, fitted MLPClassifier/MLPRegressor, or sequence of floats
    log : bool
        A logarithmic loss axis (useful when the loss spans decades, as in the seeds).
    """
    train, val = _curves(history)
    if not train:
        raise ValueError("there is no loss to plot: the history is empty")
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training loss", color="#1f5fa8", lw=1.8)
    if val:
        ax.plot(np.arange(1, len(val) + 1), val, label="validation loss", color="#d1495b", lw=1.8)
    if log and min(train + val) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "training loss")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig


def decision_boundary(
    net, X, y, *, resolution: int = 200, title: str | None = None, padding: float = 0.5
) -> Figure:
    """The regions a classifier assigns to each class, over a 2-D input space.

    ``net`` is a Network (or anything with ``predict`` returning probabilities);
    ``y`` holds class labels (or one-hot rows). A single sigmoid output is shaded
    by its probability, with the 0.5 contour drawn.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs (n, 2), got shape {X.shape}")
    y = np.asarray(y)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.ravel()
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    gx, gy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.c_[gx.ravel(), gy.ravel()]
    probs = np.asarray(net.predict(grid.astype(getattr(net, "dtype", None) or np.float64)))
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if probs.ndim == 1 or probs.shape[1] == 1:
        p = probs.reshape(gx.shape)
        mesh = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.75)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
        fig.colorbar(mesh, ax=ax, label="P(class 1)")
    else:
        regions = probs.argmax(axis=1).reshape(gx.shape)
        ax.contourf(
            gx,
            gy,
            regions,
            levels=np.arange(probs.shape[1] + 1) - 0.5,
            cmap="tab10",
            alpha=0.35,
            vmin=0,
            vmax=9,
        )
    classes = np.unique(labels)
    for i, c in enumerate(classes):
        mask = labels == c
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=45,
            edgecolor="k",
            linewidth=0.8,
            color=f"C{i % 10}",
            label=str(c),
            zorder=3,
        )
    ax.set_xlabel("input 1")
    ax.set_ylabel("input 2")
    ax.set_title(title or "decision boundary")
    ax.legend(title="class", frameon=False, loc="best")
    return fig


def _shown_units(n: int, limit: int) -> list[int | None]:
    """Which unit indices to draw (None marks an elision) when a layer is wide."""
    if n <= limit:
        return list(range(n))
    half = limit // 2
    return [*range(half), None, *range(n - half, n)]


def network(
    net: Network,
    *,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    max_units: int = 16,
) -> Figure:
    """The layers as columns of nodes, with edges coloured by sign and sized by |weight|.

    Blue edges are positive weights, red negative; thicker is larger. Each unit is
    shaded by its bias on the same scale. Layers wider than ``max_units`` show
    their first and last units with the middle elided.
    """
    if not isinstance(net, Network) or not net.built:
        raise ValueError("network() draws a built glassnet Network")
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
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
    fig = Figure(figsize=(2.2 * len(sizes) + 1.5, 0.45 * height + 2.0), layout="constrained")
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
                segments.append([pi, pj])
                colors.append(cmap(norm(w)))
                widths.append(0.3 + 3.2 * abs(w) / scale)
    ax.add_collection(
        LineCollection(segments, colors=colors, linewidths=widths, zorder=1, alpha=0.85)
    )
    for col, units in enumerate(positions):
        layer = dense[col - 1] if col else None
        for u, (x, yv) in units.items():
            if u is None:
                ax.text(x, yv, "⋮", ha="center", va="center", fontsize=16, zorder=3)
                continue
            bias = layer.bias[u] if layer is not None and layer.bias is not None else None
            face = cmap(norm(float(bias))) if bias is not None else "#f2f2f2"
            ax.scatter([x], [yv], s=420, color=face, edgecolor="k", linewidth=1.0, zorder=2)
            if col == 0:
                name = input_names[u] if input_names is not None else f"x{u + 1}"
                ax.text(x - 0.18, yv, name, ha="right", va="center", fontsize=9)
    for col in range(len(sizes)):
        label = "input" if col == 0 else f"{dense[col - 1].activation}\n({sizes[col]})"
        ax.text(col, height - 0.2 + 0.6, label, ha="center", va="bottom", fontsize=9)
    fig.colorbar(
        ScalarMappable(norm, cmap), ax=ax, label="weight (edges) / bias (nodes)", shrink=0.7
    )
    ax.set_xlim(-0.9, len(sizes) - 0.4)
    ax.set_ylim(-0.8, height + 0.9)
    ax.set_axis_off()
    ax.set_title(title or "network")
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
    counts, labels: Sequence, predicted: Sequence | None = None, *, title: str | None = None
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
    size = max(3.5, 0.6 * max(counts.shape) + 2.0)
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
    ax.set_xticks(range(len(predicted)), [str(p) for p in predicted], rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), [str(label) for label in labels])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix")
    fig.colorbar(mesh, ax=ax, label="share of the true class", shrink=0.8)
    return fig


def predicted_vs_true(
    truth, predicted, *, name: str = "target", r2: float | None = None, title: str | None = None
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
