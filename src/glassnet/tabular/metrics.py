"""How good a tabular model's predictions are, computed with NumPy, chunk by chunk.

Classification: accuracy, balanced accuracy (the mean recall over the classes the
truth holds), log loss (the mean of -log p(true class), p clipped to [eps, 1 - eps]
as scikit-learn does), per-class precision, recall, F1 and support, and the
confusion matrix (rows: the truth, columns: the prediction). Regression: R²
(1 - SS_res / SS_tot; 1.0 for a perfect fit of a constant truth, else 0.0 there,
as scikit-learn's ``force_finite``), RMSE and MAE. Each agrees with
``sklearn.metrics`` to 1e-9; scikit-learn is not needed.

The accumulators (:class:`ClassificationMetrics`, :class:`RegressionMetrics`) take
the predictions in chunks, so a file of any length is measured in constant memory;
:class:`SummaryMetrics` is the few numbers a training summary keeps (accuracy, or R²
and RMSE), which :func:`metrics` gives for one set of rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .encoding import Accumulator

__all__ = [
    "metrics",
    "format_metrics",
    "ClassificationMetrics",
    "RegressionMetrics",
    "SummaryMetrics",
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
        }


class RegressionMetrics:
    """Sums for R², RMSE and MAE over chunks of (truth, prediction)."""

    def __init__(self):
        self.truth = Accumulator()
        self.abs_sum = 0.0
        self.sq_sum = 0.0
        self.n = 0

    def update(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        truth = np.asarray(truth, dtype=np.float64)
        residual = truth - np.asarray(predicted, dtype=np.float64)
        self.truth.add(truth)
        self.abs_sum += float(np.sum(np.abs(residual)))
        self.sq_sum += float(np.sum(residual * residual))
        self.n += len(truth)

    def merge(self, other: RegressionMetrics) -> RegressionMetrics:
        """Add what ``other`` summed (another chunk's or partition's rows)."""
        self.truth.merge(other.truth)
        self.abs_sum += other.abs_sum
        self.sq_sum += other.sq_sum
        self.n += other.n
        return self

    def result(self) -> dict[str, Any]:
        n = self.n
        ss_tot = self.truth.m2 * self.truth.scale**2
        ss_res = self.sq_sum
        if ss_tot > 0:
            r2 = 1.0 - ss_res / ss_tot
        else:
            r2 = 1.0 if ss_res == 0 else 0.0
        return {
            "task": "regression",
            "rows": n,
            "r2": r2,
            "rmse": math.sqrt(ss_res / n) if n else math.nan,
            "mae": self.abs_sum / n if n else math.nan,
        }


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
        """Add rows: class indices or labels of one type, or numbers."""
        if self.task == "classification":
            self.correct += int(np.sum(np.asarray(truth) == np.asarray(predicted)))
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


def metrics(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy for classification (class indices or labels of one type); R² and RMSE
    for regression (numbers): :class:`SummaryMetrics` of these rows."""
    acc = SummaryMetrics(task)
    acc.update(truth, predicted)
    return acc.result()


def format_metrics(values: Mapping[str, float]) -> str:
    """``accuracy 96.7%`` or ``R² 0.9512, RMSE 2130.4``."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        if key in ("accuracy", "balanced_accuracy"):
            parts.append(f"{key.replace('_', ' ')} {value:.1%}")
        elif key == "r2":
            parts.append(f"R² {value:.4f}")
        elif key == "log_loss":
            parts.append(f"log loss {value:.4f}")
        else:
            parts.append(f"{key.upper()} {value:.6g}")
    return ", ".join(parts)
