"""The training report: one self-contained HTML file that shows what training did.

``glassnet.report(model, history, X, y, "report.html")`` writes the data summary, the
network drawing, the loss curves, the metrics, every weight matrix as a heat map and,
for a model of two input features, the decision boundary as training went on (record
it by passing a :class:`Snapshots` callback to ``fit``). The file stands alone: the
figures are PNGs inside it as ``data:`` URLs, the styles are inline, there are no
scripts, fonts or links to fetch, and its content security policy forbids loading
anything else. It is written atomically, and it never replaces the training data or
any file that is not an earlier glassnet report.

Needs the ``plot`` extra (matplotlib); a TabularModel's data frame needs pandas.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import __version__
from .atomic import write_atomically
from .layers import Dense
from .network import Network
from .training import Callback, History

__all__ = ["report", "training_report", "is_report", "Snapshots", "ReportError"]

#: Every report carries this marker; a file without it is never overwritten.
GENERATOR = f"glassnet {__version__} training report"
_MARKER = '<meta name="generator" content="glassnet'


class ReportError(ValueError):
    """The report cannot be written where it was asked for."""


class Snapshots(Callback):
    """Records the parameters at chosen epochs, for the report's decision boundaries.

    Parameters
    ----------
    epochs : iterable of int, optional
        The (1-based) epochs after which to record the flat parameter vector. Default:
        1, 2, 5, 10, 20, 50, 100, ... (three a decade), so a long run keeps few.
    before : bool
        Also record the initial parameters (as epoch 0).

    The last epoch is always recorded. ``snapshots`` is the list of
    ``(epoch, parameters)`` pairs; pass the callback to ``fit(callbacks=[...])`` and
    then to :func:`report`.
    """

    def __init__(self, epochs: Iterable[int] | None = None, *, before: bool = True):
        if epochs is not None:
            epochs = sorted({int(e) for e in epochs})
            if epochs and epochs[0] < 1:
                raise ValueError("Snapshots epochs are counted from 1 (0 is 'before', kept anyway)")
        self.epochs = epochs
        self.before = bool(before)
        self.snapshots: list[tuple[int, np.ndarray]] = []

    def _wanted(self, epoch: int) -> bool:
        if self.epochs is not None:
            return epoch in self.epochs
        decade = 10 ** int(math.floor(math.log10(epoch)))
        return epoch in (decade, 2 * decade, 5 * decade)

    def on_train_begin(self, net, history):
        self.snapshots = [(0, net.parameters.copy())] if self.before else []

    def on_epoch_end(self, net, history):
        if self._wanted(history.epochs):
            self.snapshots.append((history.epochs, net.parameters.copy()))

    def on_train_end(self, net, history):
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


def _numeric_rows(names: Sequence[str], X: np.ndarray) -> list[list[Any]]:
    return [
        [name, "numeric", X[:, i].mean(), X[:, i].std(), X[:, i].min(), X[:, i].max()]
        for i, name in enumerate(names)
    ]


class _Data:
    """What the report needs from the data, whatever form it came in."""

    def __init__(self, model, X, y, feature_names):
        self.tabular = hasattr(model, "features") and hasattr(model, "target")
        if self.tabular:
            self._from_table(model, X, y)
        else:
            self._from_arrays(model, X, y, feature_names)

    def _from_table(self, model, frame, y):
        if frame is None:
            raise ValueError("report() needs the TabularModel's data frame to summarise")
        if not hasattr(frame, "keys"):
            raise TypeError("a TabularModel's report takes its data as a data frame (or mapping)")
        target = model.target.name
        if y is None:
            if target not in frame.keys():
                raise ValueError(f"the data has no target column {target!r}; pass y")
            y = frame[target]
        elif isinstance(y, str):
            if y not in frame.keys():
                raise ValueError(f"the data has no column {y!r}")
            y = frame[y]
        self.frame, self.truth = frame, np.asarray(y)
        self.n = len(self.truth)
        X, _ = model.transform(frame)
        self.X_model = X
        self.names = list(model.features.output_names)
        self.task = model.target.task
        self.classes = model.target.classes
        self.summary = []
        for column in model.features.columns:
            values = np.asarray(frame[column["name"]])
            if column["kind"] == "numeric":
                v = values.astype(np.float64)
                self.summary.append(
                    [column["name"], "numeric", v.mean(), v.std(), v.min(), v.max()]
                )
            else:
                labels, counts = np.unique(values.astype(str), return_counts=True)
                top = ", ".join(
                    f"{a} ({b})" for a, b in sorted(zip(labels, counts), key=lambda t: -t[1])[:5]
                )
                self.summary.append(
                    [column["name"], f"text: {len(labels)} values", top, "", "", ""]
                )
        self.predicted = model.target.decode(model.network.predict(X))
        self.plot_X = frame if len(model.features.columns) == 2 else None

    def _from_arrays(self, model, X, y, feature_names):
        from . import plot
        from . import validation as _v

        net, known, outputs = plot.network_and_names(model)
        if X is None or y is None:
            raise ValueError("report() needs the data: report(model, history, X, y, path)")
        if hasattr(X, "columns") and known is None:
            known = [str(c) for c in X.columns]
        given = X
        X = _v.as_2d_float(X, "X", dtype=np.float64)
        _v.check_features(X, net.input_size)
        self.X_model = X
        self.n = X.shape[0]
        names = plot.checked_names(feature_names, net.input_size, "feature_names") or known
        self.names = names or [f"x{i + 1}" for i in range(net.input_size)]
        self.summary = _numeric_rows(self.names, X)
        output = net.predict(X)
        y = np.asarray(y)
        if y.shape[0] != self.n:
            raise ValueError(f"X has {self.n} rows but y has {y.shape[0]}")
        self.task = (
            "classification"
            if net.layers[-1].activation in ("sigmoid", "softmax")
            else "regression"
        )
        if not isinstance(model, Network):  # an estimator predicts its own labels
            self.task = "classification" if hasattr(model, "classes_") else "regression"
            self.predicted = np.asarray(model.predict(given))
            self.truth = y if y.ndim == 1 or self.task == "classification" else y[:, 0]
            if self.predicted.ndim > 1:
                self.predicted = self.predicted[:, 0]
            self.classes = (
                [str(c) for c in model.classes_] if self.task == "classification" else None
            )
        elif self.task == "classification":
            if output.shape[1] > 1:
                truth = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
                self.predicted = output.argmax(axis=1)
            else:
                truth = y.reshape(-1)
                self.predicted = (output[:, 0] > 0.5).astype(
                    truth.dtype if truth.dtype.kind in "iub" else np.int64
                )
            self.truth = truth
            self.classes = outputs or sorted(
                {*np.unique(truth).tolist(), *np.unique(self.predicted).tolist()}
            )
        else:
            self.truth = y.reshape(self.n, -1)[:, 0] if y.ndim > 1 else y
            self.predicted = output[:, 0]
            self.classes = None
        self.frame = None
        self.plot_X = X if net.input_size == 2 else None
        self.plot_y = y


def _target_rows(data: _Data) -> list[list[Any]]:
    if data.task == "classification":
        labels, counts = np.unique(np.asarray(data.truth).astype(str), return_counts=True)
        return [
            [label, int(count), f"{count / data.n:.1%}"] for label, count in zip(labels, counts)
        ]
    t = np.asarray(data.truth, dtype=np.float64)
    return [
        ["mean", t.mean(), ""],
        ["std", t.std(), ""],
        ["min", t.min(), ""],
        ["max", t.max(), ""],
    ]


def _metrics_section(model, data: _Data) -> str:
    from .tabular.metrics import metrics

    rows = []
    info = getattr(model, "info", None) or {}
    for key, label in (
        ("train_metrics", "training rows"),
        ("validation_metrics", "validation rows"),
    ):
        for name, value in (info.get(key) or {}).items():
            rows.append([label, name, value])
    measured = metrics(data.task, np.asarray(data.truth), np.asarray(data.predicted))
    if data.task == "regression":
        t = np.asarray(data.truth, dtype=np.float64)
        measured["mae"] = float(np.mean(np.abs(t - np.asarray(data.predicted, dtype=np.float64))))
    for name, value in measured.items():
        rows.append([f"these {data.n} rows", name, value])
    parts = [_table(["rows", "metric", "value"], rows, "metrics-table")]
    if data.task == "classification" and len(data.classes or []) <= 20:
        truth = np.asarray(data.truth).astype(str)
        predicted = np.asarray(data.predicted).astype(str)
        labels = [str(c) for c in data.classes]
        grid = [
            [label] + [int(np.sum((truth == label) & (predicted == p))) for p in labels]
            for label in labels
        ]
        parts.append("<p>Confusion matrix (rows: truth, columns: prediction):</p>")
        parts.append(_table(["truth \\ predicted", *labels], grid, "confusion"))
    return "".join(parts)


def _training_rows(net: Network, history: History | None, model) -> list[list[Any]]:
    rows = [
        [
            "architecture",
            " -> ".join(
                [str(net.input_size)]
                + [
                    f"{layer.units} {layer.activation}"
                    for layer in net.layers
                    if isinstance(layer, Dense)
                ]
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
            rows.append(["restored epoch (early stopping)", history.best_epoch + 1])
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
    names = None if data.tabular else data.names
    labels = class_names or outputs or ([str(c) for c in data.classes] if data.classes else None)
    # names for the output nodes: one per output unit (a single sigmoid has two classes)
    nodes = labels if labels and len(labels) == net.output_size and not data.tabular else None
    parts = []
    summary = _table(["feature", "kind", "mean", "std", "min", "max"], data.summary, "data-summary")
    target_header = (
        ["class", "rows", "share"] if data.task == "classification" else ["target", "value", ""]
    )
    parts.append(
        (
            "data",
            "The data",
            f"<p>{data.n} rows, {len(data.summary)} feature columns "
            f"({len(data.names)} network inputs); task: {data.task}.</p>{summary}"
            f"{_table(target_header, _target_rows(data), 'target-summary')}",
        )
    )
    parts.append(
        (
            "model",
            "The network",
            _table(["training", ""], _training_rows(net, history, model), "training")
            + _image(
                plot.network(model, input_names=names, output_names=nodes),
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
                _image(
                    plot.loss_curve(curves),
                    "loss-curve",
                    "loss curves: training and validation loss per epoch",
                    "The loss per epoch; the dashed line marks the epoch whose weights were kept.",
                ),
            )
        )
    parts.append(("metrics", "Metrics", _metrics_section(model, data)))
    parts.append(
        (
            "weights",
            "Weights",
            _image(
                plot.weights(model, input_names=names, output_names=nodes),
                "weights-heatmap",
                "weights as heat maps, one per layer",
                "Every weight matrix (rows: inputs, columns: units) with its bias row.",
            ),
        )
    )
    if data.plot_X is not None:
        y = data.truth if data.tabular else data.plot_y
        pairs = list(getattr(snapshots, "snapshots", snapshots or []))
        kind = "decision boundary" if data.task == "classification" else "predictions"
        if pairs:
            if len(pairs) > 9:  # keep the first, the last and an even spread between
                keep = np.unique(np.linspace(0, len(pairs) - 1, 9).round().astype(int))
                pairs = [pairs[i] for i in keep]
            body = _image(
                plot.boundary_evolution(
                    model, data.plot_X, y, pairs, feature_names=names, class_names=labels
                ),
                "boundary-evolution",
                f"the {kind} as training went on",
                f"The {kind} after each recorded epoch.",
            )
        else:
            body = ""
        body += _image(
            plot.decision_boundary(model, data.plot_X, y, feature_names=names, class_names=labels),
            "decision-boundary",
            f"the final {kind}",
            f"The trained model's {kind} with the data.",
        )
        parts.append(("boundary", kind.capitalize(), body))
    return parts


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


def is_report(path) -> bool:
    """Whether a regular file at ``path`` is a glassnet report (its first bytes say so)."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            return _MARKER.encode() in f.read(4096)
    except OSError:
        return False


def _check_destination(path, data_path) -> str:
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
    return path


def report(
    model,
    history: History | None,
    X=None,
    y=None,
    path="report.html",
    *,
    title: str | None = None,
    snapshots=None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    data_path=None,
) -> str:
    """Write a self-contained HTML training report; returns its path.

    Parameters
    ----------
    model : Network, TabularModel, or fitted MLPClassifier/MLPRegressor
    history : History or None
        What ``fit`` returned (a TabularModel's ``fit`` returns it too).
    X, y : the data
        For a Network or an estimator: arrays (or a data frame) of inputs and targets.
        For a TabularModel: its data frame, and the target's values or column name
        (``None``: the model's target column in the frame).
    path : str or os.PathLike
        Where to write. An existing file is replaced only if it is an earlier report.
    snapshots : Snapshots or sequence of (epoch, parameters), optional
        For two input features: the decision boundary at each recorded epoch.
    feature_names, class_names : sequence of str, optional
        Names for a Network's inputs and classes (a TabularModel or estimator knows its own).
    data_path : str, optional
        The data file the model was trained on, which the report must never replace.
    """
    path = _check_destination(path, data_path)
    _plot()
    data = _Data(model, X, y, feature_names)
    sections = _sections(model, history, data, snapshots, class_names)
    kind = "TabularModel" if data.tabular else type(model).__name__
    text = _html(title or f"glassnet training report: {kind}", sections)
    write_atomically(path, text.encode("utf-8"))
    return path


def training_report(model, history, frame, path, *, data_path=None, snapshots=None) -> str:
    """The report ``glassnet train ... --report report.html`` writes: a trained
    TabularModel, its History, the training frame (with the target column) and the
    path; ``data_path`` is the training file, which is never overwritten."""
    return report(model, history, frame, None, path, snapshots=snapshots, data_path=data_path)
