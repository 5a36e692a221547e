"""The training report: one self-contained HTML file that shows what training did.

``glassnet.report(model, history, X, y, "report.html")`` writes the data summary, the
network drawing, the loss curves, the metrics, every weight matrix as a heat map and,
for a model of two numeric input features, the decision boundary as training went on
(record it by passing a :class:`Snapshots` callback to ``fit``). A figure that does not
apply (a decision boundary over a text or date column) is left out, with a line that
says why. The file stands alone: the figures are PNGs inside it as ``data:`` URLs, the
styles are inline, there are no scripts, fonts or links to fetch, and its content
security policy forbids loading anything else.

Building and writing are apart, so a caller can build the report before it replaces
anything: :func:`check_destination` (before training), :func:`build_report` (the HTML,
in memory; :class:`ReportError` if it cannot be built) and :func:`write_report` (written
atomically, never over the training data or a file that is not an earlier report).
Every metric it states comes from :mod:`glassnet.tabular.metrics`, on the rows it
names: the same numbers ``glassnet evaluate`` gives for them.

Needs the ``plot`` extra (matplotlib); a TabularModel's data frame needs pandas.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from . import __version__
from .atomic import write_atomically
from .data import Trainable
from .layers import Dense, dense_descriptions
from .network import Network
from .training import Callback, History

__all__ = [
    "report",
    "training_report",
    "build_report",
    "write_report",
    "check_destination",
    "is_report",
    "Snapshots",
    "ReportError",
]

#: Every report carries this marker; a file without it is never overwritten.
GENERATOR = f"glassnet {__version__} training report"
_MARKER = '<meta name="generator" content="glassnet'

#: The per-class table and the confusion matrix are shown up to these many classes.
MAX_CLASS_ROWS = 50
MAX_CONFUSION_CLASSES = 20


class ReportError(ValueError):
    """The report cannot be built, or cannot be written where it was asked for; the
    message says which."""


class Snapshots(Callback):
    """Records the parameters at chosen epochs, for the report's decision boundaries.

    Parameters
    ----------
    epochs : iterable of int, optional
        The (1-based) epochs after which to record the flat parameter vector. Default:
        1, 2, 5, 10, 20, 50, 100, ... (three a decade), so a long run keeps few.
    before : bool
        Also record the initial parameters (as epoch 0).

    Notes
    -----
    The last epoch is always recorded. ``snapshots`` is the list of
    ``(epoch, parameters)`` pairs; pass the callback to ``fit(callbacks=[...])`` and
    then to :func:`report`. ``network`` is the architecture of the network they are of
    (its ``config()``): for an ensemble, which trains several networks in turn, the last
    one, which is not the model's own (the networks averaged).
    """

    def __init__(self, epochs: Iterable[int] | None = None, *, before: bool = True):
        if epochs is not None:
            epochs = sorted({int(e) for e in epochs})
            if epochs and epochs[0] < 1:
                raise ValueError("Snapshots epochs are counted from 1 (0 is 'before', kept anyway)")
        self.epochs = epochs
        self.before = bool(before)
        self.snapshots: list[tuple[int, np.ndarray]] = []
        self.network: dict | None = None

    def _wanted(self, epoch: int) -> bool:
        if self.epochs is not None:
            return epoch in self.epochs
        decade = 10 ** int(math.floor(math.log10(epoch)))
        return epoch in (decade, 2 * decade, 5 * decade)

    def on_train_begin(self, net: Trainable, history: History) -> None:
        self.snapshots = [(0, net.parameters.copy())] if self.before else []
        config = getattr(net, "config", None)
        self.network = config() if callable(config) else None

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        if self._wanted(history.epochs):
            self.snapshots.append((history.epochs, net.parameters.copy()))

    def on_train_end(self, net: Trainable, history: History) -> None:
        if history.epochs and (not self.snapshots or self.snapshots[-1][0] != history.epochs):
            self.snapshots.append((history.epochs, net.parameters.copy()))

    def __repr__(self) -> str:
        return f"Snapshots({len(self.snapshots)} recorded)"


# --- the parts of a report -------------------------------------------------------------


def _plot():
    try:
        from . import plot
    except ImportError:
        raise ImportError(
            "the training report needs matplotlib: pip install 'glassnet[plot]'"
        ) from None
    return plot


def _image(fig, ident: str, alt: str, caption: str) -> str:
    data = base64.b64encode(fig.to_png(dpi=100)).decode("ascii")
    width, height = (int(round(v * 100)) for v in fig.get_size_inches())
    return (
        f'<figure><img id="{ident}" alt="{html.escape(alt)}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption>'
        "</figure>"
    )


#: What a figure may raise when the model or the data cannot be drawn: it is then left
#: out of the report with that reason, and the report is still written.
_DRAWING_ERRORS = (ValueError, TypeError, ArithmeticError)


def _figure(notes: list[str], what: str, draw, ident: str, alt: str, caption: str) -> str:
    """The figure ``draw()`` makes, as an image; or nothing, and a note of why not."""
    try:
        return _image(draw(), ident, alt, caption)
    except _DRAWING_ERRORS as exc:
        notes.append(f"The {what} could not be drawn: {exc}")
        return ""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], ident: str = "") -> str:
    id_attr = f' id="{ident}"' if ident else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table{id_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return "" if value is None else str(value)


def _spread(x: np.ndarray) -> list[Any]:
    """Mean, standard deviation, minimum and maximum of the finite values, computed over
    a power of two as large as them, so that values near 1e160 or 1e-160 neither overflow
    nor underflow; blanks without values."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not x.size:
        return [None, None, None, None]
    top = float(np.max(np.abs(x)))
    power = math.frexp(top)[1] if top > 0 else 0
    scaled = np.ldexp(x, -power)
    mean, std = np.ldexp([scaled.mean(), scaled.std()], power)
    return [float(mean), float(std), float(x.min()), float(x.max())]


def _numeric_rows(names: Sequence[str], X: np.ndarray) -> list[list[Any]]:
    return [[name, "numeric", *_spread(X[:, i]), 0] for i, name in enumerate(names)]


def _dates(values: np.ndarray) -> list[Any]:
    """Mean, standard deviation (in days), first and last of datetime64 values."""
    t = values[~np.isnat(values)]
    if not t.size:
        return [None, None, None, None]
    seconds = t.astype("datetime64[s]").astype(np.int64)
    unit: Literal["D", "s"] = "D" if np.all(seconds % 86_400 == 0) else "s"

    def shown(v) -> str:
        return str(np.datetime_as_string(np.datetime64(int(v), "s"), unit=unit))

    centre = seconds.min()
    offsets = (seconds - centre).astype(np.float64)
    mean = centre + int(round(offsets.mean()))
    first, last = seconds.min(), seconds.max()
    return [shown(mean), f"{offsets.std() / 86_400:.6g} days", shown(first), shown(last)]


def _column_row(column: Mapping, values: np.ndarray) -> list[Any]:
    """One feature column of a table, summarised as its kind says (and the model reads
    it): numbers, a share of true, dates, or the most frequent categories."""
    from .tabular.columns import (
        label_text,
        missing_mask,
        parse_booleans,
        parse_datetimes,
        parse_numbers,
    )

    name, kind = column["name"], column["kind"]
    missing = missing_mask(values)
    n_missing = int(missing.sum())
    if kind == "numeric":
        numbers, _ = parse_numbers(values, missing)
        return [name, "numeric", *_spread(numbers), n_missing]
    if kind == "boolean":
        truth, failed = parse_booleans(values, missing)
        ok = truth[~missing & ~failed]
        share = f"{ok.mean():.1%} true" if ok.size else None
        return [name, "boolean", share, None, None, None, n_missing]
    if kind == "datetime":
        times, _ = parse_datetimes(values, missing, column.get("format"))
        return [name, "datetime", *_dates(times), n_missing]
    labels, counts = np.unique(label_text(values[~missing]).astype(str), return_counts=True)
    order = np.lexsort((labels, -counts))[:5]
    top = ", ".join(f"{labels[i]} ({counts[i]})" for i in order)
    return [name, f"{kind}: {len(labels)} values", top, None, None, None, n_missing]


class _Data:
    """What the report needs from the model and the data, whatever form they came in:
    the rows measured, the metrics of :mod:`.tabular.metrics` on them, the data summary,
    and the two columns a decision boundary is drawn over (or a note of why not)."""

    def __init__(self, model, X, y, feature_names):
        self.tabular = hasattr(model, "features") and hasattr(model, "target")
        self.left_out = 0  # rows without a target
        self.notes: list[str] = []  # figures left out, and why
        self.plot_X = self.plot_y = None
        self.truth_numbers: np.ndarray | None = None  # a regression's true values
        if self.tabular:
            self._from_table(model, X, y)
        else:
            self._from_arrays(model, X, y, feature_names)
        self.task = self.result["task"]
        self.n = self.result["rows"]

    def _from_table(self, model, frame, y):
        from .tabular.columns import Columns, as_columns, missing_mask, parse_numbers

        if frame is None:
            raise ValueError("report() needs the TabularModel's data frame to summarise")
        cols = as_columns(frame)
        target = model.target.name
        if y is None:
            if target not in cols:
                raise ValueError(f"the data has no target column {target!r}; pass y")
        else:  # the target's values, or the name of the column that holds them
            if isinstance(y, str):
                if y not in cols:
                    raise ValueError(f"the data has no column {y!r}")
                values = cols[y]
            else:
                values = np.asarray(y)
                if values.ndim != 1 or len(values) != cols.n_rows:
                    raise ValueError(f"the data has {cols.n_rows} rows but y has {len(values)}")
            names = cols.names if target in cols else [*cols.names, target]
            cols = Columns(list(names), {**cols.data, target: values}, cols.n_rows)
        # the rows without a target are not measured (training left them out too)
        keep = ~missing_mask(cols[target])
        positions = np.flatnonzero(keep)
        self.left_out = int(cols.n_rows - len(positions))
        if self.left_out:
            cols = cols.take(keep)
        if not cols.n_rows:
            raise ValueError(f"no row of the data has a value in the target column {target!r}")
        self.result = model.evaluate(cols, where=("row", positions + 1))
        self.names = list(model.features.output_names)
        self.summary = [_column_row(c, cols[c["name"]]) for c in model.features.columns]
        truth = cols[target]
        if model.target.task == "regression":
            self.truth_numbers, _ = parse_numbers(truth, np.zeros(len(truth), dtype=bool))
        columns = model.features.columns
        kinds = [c["kind"] for c in columns]
        figure = "decision boundary" if model.target.task == "classification" else "predictions"
        if len(columns) != 2:
            self.notes.append(
                f"The {figure} figure is drawn for a model of two feature columns; this one "
                f"has {len(columns)}."
            )
        elif kinds != ["numeric", "numeric"]:
            other = next(c for c in columns if c["kind"] != "numeric")
            self.notes.append(
                f"The {figure} figure is drawn over two numeric feature columns, and "
                f"{other['name']!r} is {_KIND_WORDS.get(other['kind'], other['kind'])}."
            )
        else:
            self._table_plot(model, cols, [c["name"] for c in columns], target)

    def _table_plot(self, model, cols, names: list[str], target: str) -> None:
        """The two numeric columns in the file's units, on the rows where both are
        numbers (and, for a classification, the label is one of the model's classes)."""
        from .tabular.columns import missing_mask, parse_numbers

        X = np.column_stack([parse_numbers(cols[n], missing_mask(cols[n]))[0] for n in names])
        usable = np.isfinite(X).all(axis=1)
        truth = cols[target]
        if model.target.task == "classification":
            usable &= model.target.class_indices(truth) >= 0
            y = truth
        else:
            y = self.truth_numbers
            assert y is not None  # read above for a regression
            usable &= np.isfinite(y)
        if usable.any():
            self.plot_X, self.plot_y = X[usable], y[usable]
        else:
            self.notes.append("The decision boundary has no row with both features to draw.")

    def _from_arrays(self, model, X, y, feature_names):
        from . import plot
        from . import validation as _v
        from .tabular.metrics import ClassificationMetrics, RegressionMetrics

        net, known, outputs = plot.network_and_names(model)
        if X is None or y is None:
            raise ValueError("report() needs the data: report(model, history, X, y, path)")
        if hasattr(X, "columns") and known is None:
            known = [str(c) for c in X.columns]
        if net.input_size is None:
            raise ValueError("the network is not built yet: train it first")
        given = X
        X = _v.as_2d_float(X, "X", dtype=np.float64)
        _v.check_features(X, net.input_size)
        n = X.shape[0]
        names = plot.checked_names(feature_names, net.input_size, "feature_names") or known
        self.names = names or [f"x{i + 1}" for i in range(net.input_size)]
        self.summary = _numeric_rows(self.names, X)
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]}")
        estimator = not isinstance(model, Network)
        if estimator:  # an estimator predicts its own labels
            classification = hasattr(model, "classes_")
        else:
            last = net.layers[-1]
            assert isinstance(last, Dense)  # a network ends in a Dense layer
            classification = last.activation in ("sigmoid", "softmax")
        acc: ClassificationMetrics | RegressionMetrics
        if classification:
            classes, truth_index, proba = _classes_and_probabilities(model, net, X, given, y)
            acc = ClassificationMetrics(classes)
            acc.update(truth_index, proba, unknown_labels=_flat(y, truth_index))
        else:
            predicted = np.asarray(model.predict(given) if estimator else net.predict(X))
            predicted = predicted.reshape(n, -1)
            truth = y.reshape(n, -1)[:, 0]
            if predicted.shape[1] > 1:
                self.notes.append(
                    f"The metrics measure the first of the model's {predicted.shape[1]} outputs."
                )
            acc = RegressionMetrics()
            acc.update(truth, predicted[:, 0])
            self.truth_numbers = truth.astype(np.float64)
        self.result = acc.result()
        if net.input_size == 2:
            self.plot_X, self.plot_y = X, y
        else:
            figure = "decision boundary" if classification else "predictions"
            self.notes.append(
                f"The {figure} figure is drawn for a model of two inputs; this one has "
                f"{net.input_size}."
            )


#: How a note names a kind of column that no decision boundary is drawn over.
_KIND_WORDS = {"categorical": "categorical (text)", "datetime": "a date", "boolean": "boolean"}


def _flat(y: np.ndarray, truth_index: np.ndarray) -> np.ndarray:
    """The true labels, one per row, to name those that are no class."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.array([str(row.tolist()) for row in y], dtype=object)
    return y.reshape(len(truth_index))


def _classes_and_probabilities(model, net: Network, X, given, y):
    """A classifier's classes, each row's true class index (-1: no class of the model)
    and the probabilities (n, k), for a Network (one-hot or index targets, or 0/1 for a
    single sigmoid) or an estimator (its own labels)."""
    n = X.shape[0]
    if model is not net:
        classes = list(np.asarray(model.classes_).tolist())
        proba = np.asarray(model.predict_proba(given), dtype=np.float64)
        lookup: dict[Any, int] = {}
        for i, c in enumerate(classes):
            lookup.setdefault(c, i)
        labels = y.reshape(n) if y.ndim == 1 or y.shape[1] == 1 else y
        index = np.array([_index(lookup, v) for v in labels.tolist()], dtype=np.int64)
        return classes, index, proba
    output = np.asarray(net.predict(X), dtype=np.float64)
    if output.shape[1] == 1:  # one sigmoid: P(class 1)
        proba = np.column_stack([1.0 - output[:, 0], output[:, 0]])
    else:
        proba = output
    k = proba.shape[1]
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        return list(range(k)), y.argmax(axis=1).astype(np.int64), proba
    values = y.reshape(n)
    index = np.full(n, -1, dtype=np.int64)
    if values.dtype.kind in "biuf":  # class indices; anything else is no class
        whole = np.isin(values, np.arange(k))
        index[whole] = values[whole].astype(np.int64)
    return list(range(k)), index, proba


def _index(lookup: dict, value) -> int:
    try:
        return lookup.get(value, -1)
    except TypeError:
        return -1


def _target_rows(data: _Data) -> list[list[Any]]:
    if data.task == "classification":
        n = data.n
        return [
            [c["class"], c["support"], f"{c['support'] / n:.1%}"]
            for c in data.result["per_class"][:MAX_CLASS_ROWS]
        ]
    assert data.truth_numbers is not None  # a regression's
    mean, std, low, high = _spread(data.truth_numbers)
    return [["mean", mean, ""], ["std", std, ""], ["min", low, ""], ["max", high, ""]]


def _summary_rows(model) -> list[list[Any]]:
    """The metrics the model's training summary keeps, as it keeps them (a summary
    edited by hand is shown as it is)."""
    from .tabular.metrics import summary_sets

    info = getattr(model, "info", None)
    rows = []
    if isinstance(info, Mapping):
        for _, label, values in summary_sets(info):
            if isinstance(values, Mapping):
                rows += [[label, name, value] for name, value in values.items()]
            elif values:
                rows.append([label, "(unreadable)", repr(values)])
    return rows


def _metrics_section(model, data: _Data) -> str:
    result = data.result
    rows = _summary_rows(model)
    these = f"these {data.n} rows"
    if data.task == "classification":
        log_loss = result["log_loss"]
        rows += [
            [these, "accuracy", result["accuracy"]],
            [these, "balanced_accuracy", result["balanced_accuracy"]],
            [
                these,
                "log_loss",
                log_loss if log_loss is not None else "undefined (classes the model never saw)",
            ],
        ]
    else:
        rows += [[these, name, result[name]] for name in ("r2", "rmse", "mae")]
    parts = [_table(["rows", "metric", "value"], rows, "metrics-table")]
    if data.task != "classification":
        return "".join(parts)
    per_class = result["per_class"]
    if len(per_class) <= MAX_CLASS_ROWS:
        parts.append(
            _table(
                ["class", "precision", "recall", "f1", "support"],
                [
                    [c["class"], c["precision"], c["recall"], c["f1"], c["support"]]
                    for c in per_class
                ],
                "per-class",
            )
        )
    else:
        data.notes.append(
            f"The per-class table is shown for at most {MAX_CLASS_ROWS} classes; "
            f"these rows have {len(per_class)}."
        )
    cm = result["confusion_matrix"]
    if len(cm["labels"]) <= MAX_CONFUSION_CLASSES:
        grid = [[label, *row] for label, row in zip(cm["labels"], cm["counts"])]
        parts.append("<p>Confusion matrix (rows: truth, columns: prediction):</p>")
        parts.append(_table(["truth \\ predicted", *cm["predicted"]], grid, "confusion"))
    else:
        data.notes.append(
            f"The confusion matrix is shown for at most {MAX_CONFUSION_CLASSES} classes; "
            f"these rows have {len(cm['labels'])}."
        )
    if result["unknown_classes"]:
        shown = ", ".join(map(str, result["unknown_classes"][:5]))
        parts.append(f"<p>Classes in these rows that the model never saw: {html.escape(shown)}</p>")
    if never := result.get("never_predicted"):
        from .tabular.metrics import never_predicted_note

        parts.append(f"<p>{html.escape(never_predicted_note(never).capitalize())}.</p>")
    return "".join(parts)


def _kept_by(history: History) -> str:
    """How early stopping chose the epoch whose weights were kept."""
    if history.metrics.get("val_error"):
        return "fewest wrong validation rows"
    return "lowest validation loss" if history.val_loss else "lowest training loss"


def _loss_caption(history: History, info: Any) -> str:
    """The loss curve's caption: what the losses are, and how the kept epoch was chosen."""
    from .tabular.recipe import smoothing_note

    what = "The loss training minimises, per epoch"
    if isinstance(info, Mapping):
        what += smoothing_note(info)
    if history.best_epoch is None:
        return what + "."
    kept = _kept_by(history)
    also = ", which need not be the lowest validation loss" if kept.startswith("fewest") else ""
    return (
        f"{what}; the dashed line marks the epoch whose weights were kept: the one with the "
        f"{kept}{also}."
    )


def _training_rows(net: Network, history: History | None, model) -> list[list[Any]]:
    assert net.dtype is not None  # built: the report measured it
    rows = [
        [
            "architecture",
            " -> ".join(
                [str(net.input_size)]
                + [f"{units} {act}" for units, act in dense_descriptions(net.layers)]
            ),
        ],
        ["parameters", f"{net.count_params():,}"],
        ["dtype", net.dtype.name],
    ]
    summary = dict(net.training_summary or {})
    for key in ("loss_name", "optimizer", "samples"):
        if key in summary:
            rows.append([key.replace("_", " "), summary[key]])
    if history is not None and history.loss:
        rows += [
            ["epochs", history.epochs],
            ["final training loss", history.loss[-1]],
        ]
        if history.val_loss:
            rows.append(["final validation loss", history.val_loss[-1]])
        if history.best_epoch is not None:
            rows.append([f"kept epoch ({_kept_by(history)})", history.best_epoch + 1])
        rows.append(["stopped early", "yes" if history.stopped_early else "no"])
        rows.append(["training time", f"{history.seconds:.2f} s"])
    for key, value in (getattr(model, "info", None) or {}).items():
        if key in ("data", "trained_at", "glassnet_version", "hidden", "activation", "task"):
            rows.append([key.replace("_", " "), value])
    return rows


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem;margin-top:2.2rem}.meta{color:#666;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #d6d6d6;padding:.25rem .6rem;text-align:left}
th{background:#f3f4f6}td{font-variant-numeric:tabular-nums}
figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem}
"""


def _sections(model, history, data: _Data, snapshots, class_names) -> list[tuple[str, str, str]]:
    plot = _plot()
    net, _, outputs = plot.network_and_names(model)
    notes = data.notes
    names = None if data.tabular else data.names
    labels = class_names or outputs
    if not labels and data.task == "classification":
        labels = [str(c["class"]) for c in data.result["per_class"]]
    # names for the output nodes: one per output unit (a single sigmoid has two classes)
    nodes = labels if labels and len(labels) == net.output_size and not data.tabular else None
    parts = []
    summary = _table(
        ["feature", "kind", "mean", "std", "min", "max", "missing"], data.summary, "data-summary"
    )
    target_header = (
        ["class", "rows", "share"] if data.task == "classification" else ["target", "value", ""]
    )
    rows = f"{data.n} rows"
    if data.left_out:
        rows += f" with a target ({data.left_out} without one left out, as training leaves them)"
    parts.append(
        (
            "data",
            "The data",
            f"<p>{html.escape(rows)}, {len(data.summary)} feature columns "
            f"({len(data.names)} network inputs); task: {data.task}.</p>{summary}"
            f"{_table(target_header, _target_rows(data), 'target-summary')}",
        )
    )
    parts.append(
        (
            "model",
            "The network",
            _table(["training", ""], _training_rows(net, history, model), "training")
            + _figure(
                notes,
                "network drawing",
                lambda: plot.network(model, input_names=names, output_names=nodes),
                "network-drawing",
                "network drawing: layers, weights and biases",
                "Edges: blue positive, red negative, thicker and darker for larger weights. "
                "Nodes are shaded by their bias.",
            ),
        )
    )
    curves = history
    if curves is None and getattr(model, "loss_curve_", None):
        curves = model  # a fitted estimator keeps its own loss curve
    if curves is not None and plot.loss_curves(curves)[0]:
        parts.append(
            (
                "loss",
                "Loss curves",
                _figure(
                    notes,
                    "loss curve",
                    lambda: plot.loss_curve(curves),
                    "loss-curve",
                    "loss curves: training and validation loss per epoch",
                    _loss_caption(curves, getattr(model, "info", None))
                    if isinstance(curves, History)
                    else "The loss per epoch.",
                ),
            )
        )
    parts.append(("metrics", "Metrics", _metrics_section(model, data)))
    parts.append(
        (
            "weights",
            "Weights",
            _figure(
                notes,
                "weights heat map",
                lambda: plot.weights(model, input_names=names, output_names=nodes),
                "weights-heatmap",
                "weights as heat maps, one per layer",
                "Every weight matrix (rows: inputs, columns: units) with its bias row.",
            ),
        )
    )
    if data.plot_X is not None:
        body = _boundary(plot, model, data, snapshots, names, labels)
        if body:
            kind = "decision boundary" if data.task == "classification" else "predictions"
            parts.append(("boundary", kind.capitalize(), body))
    if notes:
        parts.append(
            (
                "left-out",
                "Left out",
                "".join(f'<p class="note">{html.escape(note)}</p>' for note in notes),
            )
        )
    return parts


def _boundary(plot, model, data: _Data, snapshots, names, labels) -> str:
    """The decision boundary (or a regression's predictions) over the two inputs: as
    training went on, when snapshots were recorded, and at the end."""
    X, y = data.plot_X, data.plot_y
    pairs = list(getattr(snapshots, "snapshots", snapshots or []))
    kind = "decision boundary" if data.task == "classification" else "predictions"
    body = ""
    if pairs:
        if len(pairs) > 9:  # keep the first, the last and an even spread between
            keep = np.unique(np.linspace(0, len(pairs) - 1, 9).round().astype(int))
            pairs = [pairs[i] for i in keep]
        ensemble = int(getattr(model, "info", {}).get("ensemble", 1))
        of = f" of the last of the ensemble's {ensemble} networks" if ensemble > 1 else ""
        body = _figure(
            data.notes,
            f"{kind} as training went on",
            lambda: plot.boundary_evolution(
                model,
                X,
                y,
                pairs,
                feature_names=names,
                class_names=labels,
                network=getattr(snapshots, "network", None) if ensemble > 1 else None,
            ),
            "boundary-evolution",
            f"the {kind} as training went on",
            f"The {kind}{of} after each recorded epoch.",
        )
    return body + _figure(
        data.notes,
        f"final {kind}",
        lambda: plot.decision_boundary(model, X, y, feature_names=names, class_names=labels),
        "decision-boundary",
        f"the final {kind}",
        f"The trained model's {kind} with the data.",
    )


def _html(title: str, sections) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    nav = " · ".join(f'<a href="#{ident}">{html.escape(head)}</a>' for ident, head, _ in sections)
    body = "".join(
        f'<section id="{ident}"><h2>{html.escape(head)}</h2>{content}</section>'
        for ident, head, content in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{html.escape(GENERATOR)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">written {now} by glassnet {__version__}</p>'
        f"<nav>{nav}</nav>{body}</body></html>\n"
    )


def is_report(path: str | os.PathLike) -> bool:
    """Whether a regular file at ``path`` is a glassnet report (its first bytes say so)."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            return _MARKER.encode() in f.read(4096)
    except OSError:
        return False


def check_destination(path: str | os.PathLike, data_path: str | os.PathLike | None = None) -> str:
    """Check, before any work, that a report can be written at ``path``; returns it.

    Raises :class:`ReportError` when ``path`` is a folder, its folder is missing or not
    writable (tried by creating and removing a file there), it would replace the training
    data ``data_path`` (a path or a list of paths), or it exists and is not an earlier
    glassnet report.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ReportError(f"{path} is a folder; give the report a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ReportError(f"cannot write the report {path}: the folder {folder} does not exist")
    sources = data_path if isinstance(data_path, (list, tuple)) else [data_path]
    for source in (os.fspath(s) for s in sources if s is not None):
        same = os.path.abspath(path) == os.path.abspath(source)
        if not same and os.path.exists(path) and os.path.exists(source):
            same = os.path.samefile(path, source)
        if same:
            raise ReportError(f"the report {path} would overwrite the training data {source}")
    if os.path.lexists(path) and not is_report(path):
        raise ReportError(
            f"{path} exists and is not a glassnet report; choose another name or remove it"
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".glassnet-report-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ReportError(
            f"cannot write the report {path}: the folder {folder} is not writable "
            f"({exc.strerror or exc})"
        ) from None
    os.close(handle)
    os.remove(probe)
    return path


def build_report(
    model: Any,
    history: History | None,
    X: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    snapshots: Any = None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> str:
    """The report's HTML, built in memory; nothing is written.

    Takes :func:`report`'s arguments but the path. A figure that does not apply, or
    that cannot be drawn, is left out with a line that says why.

    Raises
    ------
    ReportError
        When the report cannot be built (the data does not fit the model, for example);
        the message says it was the report.
    ImportError
        Without matplotlib (the ``plot`` extra).
    """
    _plot()
    try:
        data = _Data(model, X, y, feature_names)
        sections = _sections(model, history, data, snapshots, class_names)
    except ReportError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ReportError(f"cannot build the report: {exc}") from exc
    kind = "TabularModel" if data.tabular else type(model).__name__
    return _html(title or f"glassnet training report: {kind}", sections)


def write_report(
    text: str, path: str | os.PathLike, *, data_path: str | os.PathLike | None = None
) -> str:
    """Write a report that :func:`build_report` built to ``path``, atomically, after
    :func:`check_destination`; returns the path. Raises :class:`ReportError`."""
    path = check_destination(path, data_path)
    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    return path


def report(
    model: Any,
    history: History | None,
    X: Any = None,
    y: Any = None,
    path: str | os.PathLike = "report.html",
    *,
    title: str | None = None,
    snapshots: Any = None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    data_path: str | os.PathLike | None = None,
) -> str:
    """Write a self-contained HTML training report; returns its path.

    The destination is checked first, the report is built in memory, and only then
    written (:func:`check_destination`, :func:`build_report`, :func:`write_report`):
    if it cannot be built, nothing is written.

    Parameters
    ----------
    model : Network, TabularModel, or fitted MLPClassifier/MLPRegressor
    history : History or None
        What ``fit`` returned (a TabularModel's ``fit`` returns it too).
    X, y : the data
        For a Network or an estimator: arrays (or a data frame) of inputs and targets.
        For a TabularModel: its data frame, and the target's values or column name
        (``None``: the model's target column in the frame). Rows without a target are
        left out, and counted.
    path : str or os.PathLike
        Where to write. An existing file is replaced only if it is an earlier report.
    snapshots : Snapshots or sequence of (epoch, parameters), optional
        For two input features: the decision boundary at each recorded epoch.
    feature_names, class_names : sequence of str, optional
        Names for a Network's inputs and classes (a TabularModel or estimator knows its own).
    data_path : str, optional
        The data file the model was trained on, which the report must never replace.
    """
    path = check_destination(path, data_path)
    text = build_report(
        model,
        history,
        X,
        y,
        title=title,
        snapshots=snapshots,
        feature_names=feature_names,
        class_names=class_names,
    )
    return write_report(text, path, data_path=data_path)


def training_report(
    model: Any,
    history: History | None,
    frame: Any,
    path: str | os.PathLike,
    *,
    data_path: str | os.PathLike | None = None,
    snapshots: Any = None,
) -> str:
    """The report ``glassnet train ... --report report.html`` writes: a trained
    TabularModel, its History, the training frame (with the target column) and the
    path; ``data_path`` is the training file, which is never overwritten."""
    return report(model, history, frame, None, path, snapshots=snapshots, data_path=data_path)
