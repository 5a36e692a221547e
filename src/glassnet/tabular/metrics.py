"""How good a tabular model's predictions are, computed with NumPy, chunk by chunk.

Classification: accuracy, balanced accuracy (the mean recall over the classes the
truth holds), log loss (the mean of -log p(true class), p clipped to [eps, 1 - eps]
as scikit-learn does), per-class precision, recall, F1 and support, and the
confusion matrix (rows: the truth, columns: the prediction). Regression: R²
(1 - SS_res / SS_tot; 1.0 for a perfect fit of a constant truth, else 0.0 there,
as scikit-learn's ``force_finite``), RMSE and MAE. Each agrees with
``sklearn.metrics`` to 1e-9; scikit-learn is not needed. Regression sums are kept in
units of a power of two as large as the values, so targets near 1e160 or 1e-160 are
measured without overflow or underflow (scikit-learn overflows there).

This module is the one source of every metric glassnet states: ``glassnet evaluate``,
``TabularModel.evaluate``, the training summary that ``train`` and ``inspect`` print,
and the HTML report all take their numbers from these classes, on the rows they name.

The accumulators (:class:`ClassificationMetrics`, :class:`RegressionMetrics`) take
the predictions in chunks, so a file of any length is measured in constant memory;
:class:`SummaryMetrics` is the few numbers a training summary keeps (accuracy, or R²
and RMSE), which :func:`metrics` gives for one set of rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .encoding import Accumulator, class_identity

__all__ = [
    "never_predicted_note",
    "metrics",
    "format_metrics",
    "summary_sets",
    "ClassificationMetrics",
    "RegressionMetrics",
    "SummaryMetrics",
    "same_class",
]


class ClassificationMetrics:
    """Confusion counts and the log-loss sum over chunks of (true index, probabilities).

    ``classes`` are the model's classes; a true label outside them is added as an
    extra row of the confusion matrix (``unknown``), and makes the log loss undefined.
    """

    def __init__(self, classes: Sequence):
        self.classes = list(classes)
        self.k = len(self.classes)
        self.confusion = np.zeros((self.k, self.k), dtype=np.int64)
        self.unknown: dict[str, np.ndarray] = {}
        self.log_loss_sum = 0.0
        self.n = 0

    def update(self, true_index: np.ndarray, proba: np.ndarray, unknown_labels=None) -> None:
        """Add a chunk: true class indices (-1 for a label that is no class, named in
        ``unknown_labels``), and the model's probabilities (n, k)."""
        true_index = np.asarray(true_index, dtype=np.int64)
        proba = np.asarray(proba, dtype=np.float64)
        predicted = np.argmax(proba, axis=1)
        known = true_index >= 0
        np.add.at(self.confusion, (true_index[known], predicted[known]), 1)
        if not known.all():
            labels = np.asarray(unknown_labels, dtype=object)[~known]
            for label in dict.fromkeys(labels.tolist()):
                row = self.unknown.setdefault(str(label), np.zeros(self.k, dtype=np.int64))
                np.add.at(row, predicted[~known][labels == label], 1)
        eps = np.finfo(np.float64).eps
        p_true = np.clip(proba[known, true_index[known]], eps, 1 - eps)
        self.log_loss_sum -= float(np.sum(np.log(p_true)))
        self.n += len(true_index)

    def result(self) -> dict[str, Any]:
        C = self.confusion
        rows = np.vstack([C, *self.unknown.values()]) if self.unknown else C
        true_counts = rows.sum(axis=1)
        predicted_counts = C.sum(axis=0)
        tp = np.diag(C).astype(np.float64)
        n = int(rows.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted_counts > 0, tp / predicted_counts, 0.0)
            recall_known = np.where(true_counts[: self.k] > 0, tp / true_counts[: self.k], 0.0)
            f1 = np.where(
                precision + recall_known > 0,
                2 * tp / (predicted_counts + true_counts[: self.k]),
                0.0,
            )
        recalls = np.concatenate([recall_known, np.zeros(len(self.unknown))])
        present = true_counts > 0
        per_class = [
            {
                "class": c,
                "precision": float(precision[j]),
                "recall": float(recall_known[j]),
                "f1": float(f1[j]),
                "support": int(true_counts[j]),
            }
            for j, c in enumerate(self.classes)
        ]
        per_class += [
            {"class": label, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": int(r.sum())}
            for label, r in self.unknown.items()
        ]
        return {
            "task": "classification",
            "rows": n,
            "accuracy": float(tp.sum() / n) if n else math.nan,
            "balanced_accuracy": float(recalls[present].mean()) if present.any() else math.nan,
            "log_loss": (self.log_loss_sum / n) if n and not self.unknown else None,
            "per_class": per_class,
            "confusion_matrix": {
                "labels": [*self.classes, *self.unknown],
                "predicted": list(self.classes),
                "counts": rows.tolist(),
            },
            "unknown_classes": list(self.unknown),
            # classes in the rows that the model predicted for none: precision 0 of 0,
            # reported as 0 (scikit-learn's zero_division=0)
            "never_predicted": [
                c
                for j, c in enumerate(self.classes)
                if predicted_counts[j] == 0 and true_counts[j] > 0
            ],
        }


def never_predicted_note(classes: Sequence, show: Callable[[Any], str] = str) -> str:
    """The note on classes in the rows that the model predicted for none of them (a
    result's ``never_predicted``), each shown by ``show``."""
    shown = ", ".join(show(c) for c in classes[:5]) + (" ..." if len(classes) > 5 else "")
    if len(classes) == 1:
        return (
            f"class {shown} is in these rows but was never predicted: its precision (0 right "
            "of 0 predictions) is shown as 0"
        )
    return (
        f"classes {shown} are in these rows but were never predicted: their precision (0 "
        "right of 0 predictions) is shown as 0"
    )


class RegressionMetrics:
    """Sums for R², RMSE and MAE over chunks of (truth, prediction).

    The truth's spread is an :class:`Accumulator` whose scale starts at the first
    chunk's largest magnitude (up or down), and the residuals' sums are kept in units
    of ``2 ** power``, the power of two above the largest residual seen: no square
    overflows for targets near 1e160, none underflows near 1e-160, and rescaling by a
    power of two is exact. A metric too large for a float is infinite, never an error.
    """

    def __init__(self):
        self.truth = Accumulator()
        self.power: int | None = None  # the residual sums are in units of 2 ** power
        self.abs_sum = 0.0  # sum of |residual| / 2 ** power
        self.sq_sum = 0.0  # sum of (residual / 2 ** power) ** 2
        self.n = 0

    def update(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        truth = np.asarray(truth, dtype=np.float64).reshape(-1)
        predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
        if truth.shape != predicted.shape:
            raise ValueError(f"{len(truth)} true values but {len(predicted)} predictions")
        if not truth.size:
            return
        seen = self.truth
        if not (seen.mean or seen.shift or seen.m2):  # none but zeros yet: a scale as
            power = _power_above(truth)  # large as these values, however small
            if power is not None:
                self.truth = Accumulator(n=seen.n, scale=math.ldexp(1.0, min(power, 1023)))
        self.truth.add(truth)
        # both over a power of two at least as large: their difference is at most 2 ...
        unit = _power_above(truth, predicted) or 0
        residual = np.ldexp(truth, -unit) - np.ldexp(predicted, -unit)
        # ... and the residuals over their own largest, so their squares keep their digits
        power = _power_above(residual)
        if power is not None:
            residual = np.ldexp(residual, -power)
            power += unit
        self._add(power, float(np.sum(np.abs(residual))), float(np.sum(residual * residual)))
        self.n += len(truth)

    def _add(self, power: int | None, abs_sum: float, sq_sum: float) -> None:
        """Add sums in units of ``2 ** power`` (None: sums of zeros, or not finite, which
        any unit holds)."""
        if power is not None:
            if self.power is None or (self.abs_sum == 0 and self.sq_sum == 0):
                self.power = power
            elif power > self.power:  # rescaled by a power of two: exact, or towards 0
                shift = self.power - power
                self.abs_sum = math.ldexp(self.abs_sum, shift)
                self.sq_sum = math.ldexp(self.sq_sum, 2 * shift)
                self.power = power
            else:
                shift = power - self.power
                abs_sum, sq_sum = math.ldexp(abs_sum, shift), math.ldexp(sq_sum, 2 * shift)
        self.abs_sum += abs_sum
        self.sq_sum += sq_sum

    def merge(self, other: RegressionMetrics) -> RegressionMetrics:
        """Add what ``other`` summed (another chunk's or partition's rows)."""
        self.truth.merge(other.truth)
        if other.n:
            self._add(other.power, other.abs_sum, other.sq_sum)
        self.n += other.n
        return self

    def result(self) -> dict[str, Any]:
        n = self.n
        power = self.power or 0
        # SS_tot = m2 * scale**2 and SS_res = sq_sum * 4**power: compared, never squared
        _, scale_power = math.frexp(self.truth.scale)  # scale = 2 ** (scale_power - 1)
        if not n:
            r2 = math.nan
        elif self.truth.m2 > 0:
            r2 = 1.0 - _times_power_of_two(
                self.sq_sum / self.truth.m2, 2 * (power - (scale_power - 1))
            )
        else:
            r2 = 1.0 if self.sq_sum == 0 else 0.0
        return {
            "task": "regression",
            "rows": n,
            "r2": r2,
            "rmse": _times_power_of_two(math.sqrt(self.sq_sum / n), power) if n else math.nan,
            "mae": _times_power_of_two(self.abs_sum / n, power) if n else math.nan,
        }


def _power_above(*arrays: np.ndarray) -> int | None:
    """The least ``p`` with every finite value's magnitude below ``2 ** p`` (None when
    there is no finite value but zero)."""
    top = 0.0
    for values in arrays:
        finite = np.abs(values[np.isfinite(values)])
        if finite.size:
            top = max(top, float(finite.max()))
    if top == 0.0:
        return None
    return math.frexp(top)[1]  # top = m * 2 ** p with 0.5 <= m < 1


def _times_power_of_two(x: float, p: int) -> float:
    """``x * 2 ** p``, infinite when that is too large for a float (never OverflowError)."""
    try:
        return math.ldexp(x, p)
    except OverflowError:
        return math.copysign(math.inf, x)


class SummaryMetrics:
    """What a training summary says of a set of rows: accuracy for a classification, R²
    and RMSE for a regression. Rows come chunk by chunk (:meth:`update`, or
    :meth:`update_outputs` with what the network sees), and parts join (:meth:`merge`)."""

    def __init__(self, task: str):
        self.task = task
        self.correct = 0
        self.regression = RegressionMetrics()
        self.n = 0

    def update(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        """Add rows: class indices or labels (compared by :func:`same_class`), or numbers."""
        if self.task == "classification":
            self.correct += int(np.sum(same_class(truth, predicted)))
        else:
            self.regression.update(truth, predicted)
        self.n += len(truth)

    def update_outputs(self, target, y: np.ndarray, output: np.ndarray) -> None:
        """Add rows as the network sees them: ``target`` (a TargetEncoder) encoded ``y``,
        and the network gave ``output``."""
        if self.task == "classification":
            self.update(y, np.argmax(output, axis=1))
        else:
            self.update(target.decode(y), target.decode(output))

    def merge(self, other: SummaryMetrics) -> SummaryMetrics:
        self.correct += other.correct
        self.regression.merge(other.regression)
        self.n += other.n
        return self

    def result(self) -> dict[str, float]:
        """``{"accuracy": ...}`` or ``{"r2": ..., "rmse": ...}``; empty without rows."""
        if not self.n:
            return {}
        if self.task == "classification":
            return {"accuracy": self.correct / self.n}
        result = self.regression.result()
        return {"r2": result["r2"], "rmse": result["rmse"]}


def same_class(truth, predicted) -> np.ndarray:
    """Whether each true label and predicted label name one class: numbers by value
    (class indices, or ``1``, ``1.0`` and ``True`` alike), and text as written, except
    text that spells a number exactly (``"0"`` is the class 0, ``"001"`` is text), as
    :func:`~.encoding.class_identity` says; a file's labels are text as written."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    if truth.dtype.kind in "biuf" and predicted.dtype.kind in "biuf":
        return truth == predicted
    keys: dict[Any, Any] = {}

    def key(value):
        try:
            if value not in keys:
                keys[value] = class_identity(value)[1]
            return keys[value]
        except TypeError:  # an unhashable label is no class
            return object()

    return np.fromiter(
        (key(a) == key(b) for a, b in zip(truth.tolist(), predicted.tolist())),
        dtype=bool,
        count=len(truth),
    )


def metrics(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy for classification (class indices, or labels compared by
    :func:`same_class`); R² and RMSE for regression (numbers): :class:`SummaryMetrics`
    of these rows."""
    acc = SummaryMetrics(task)
    acc.update(truth, predicted)
    return acc.result()


def format_metrics(values: Mapping[str, Any]) -> str:
    """``accuracy 96.7%`` or ``R² 0.9512, RMSE 2130.4``.

    Anything else (a value that is no number, or ``values`` that is no mapping, as in a
    model file edited by hand) is shown as it is, never an error; None is left out."""
    if not isinstance(values, Mapping):
        return f"{values!r} (not a set of metrics)"
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        name = str(key)
        if not _is_number(value) or not math.isfinite(value):
            shown = f"{float(value)}" if _is_number(value) else repr(value)
            label = {"r2": "R²", "log_loss": "log loss"}.get(name, name.replace("_", " "))
            parts.append(f"{label} {shown}")
        elif name in ("accuracy", "balanced_accuracy"):
            parts.append(f"{name.replace('_', ' ')} {value:.1%}")
        elif name == "r2":
            parts.append(f"R² {value:.4f}")
        elif name == "log_loss":
            parts.append(f"log loss {value:.4f}")
        else:
            parts.append(f"{name.upper()} {value:.6g}")
    return ", ".join(parts)


def summary_sets(info: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The sets of metrics a training summary keeps, each as (key, label, metrics): the
    training rows', and the validation rows' (for an ensemble whose networks held out
    other rows, those rows measured out of fold: each by the networks that did not train
    on it). The one place that names them, for ``train``, ``inspect``, the HTML repr and
    the report; a set that is missing is left out."""
    out_of_fold = info.get("validation_out_of_fold")
    validation = (
        f"held-out rows, out of fold ({out_of_fold} rows)" if out_of_fold else "validation rows"
    )
    return [
        (key, label, info[key])
        for key, label in (("train_metrics", "training rows"), ("validation_metrics", validation))
        if info.get(key)
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
