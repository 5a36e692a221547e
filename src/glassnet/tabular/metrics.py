"""How good a tabular model's predictions are: accuracy, or R^2 and RMSE."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["metrics", "format_metrics"]


def metrics(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy for classification; R^2 and RMSE (in the target's units) for regression."""
    if task == "classification":
        return {"accuracy": float(np.mean([a == b for a, b in zip(truth, predicted)]))}
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    residual = float(np.sum((truth - predicted) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
    return {"r2": r2, "rmse": math.sqrt(residual / len(truth))}


def format_metrics(values: Mapping[str, float]) -> str:
    parts = []
    for key, value in values.items():
        if key == "accuracy":
            parts.append(f"accuracy {value:.1%}")
        elif key == "r2":
            parts.append(f"R² {value:.4f}")
        else:
            parts.append(f"{key.upper()} {value:.6g}")
    return ", ".join(parts)
