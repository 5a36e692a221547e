"""The scaling and encoding a command-line model carries in its file.

A :class:`FeatureEncoder` turns named columns into the network's input matrix:
numeric columns are standardised, text (and other non-numeric) columns are
one-hot encoded, and missing values are either an error that names the column
or, when asked for, imputed (numeric: the training mean; text: the most
frequent value). A :class:`TargetEncoder` turns the target column into what the
network learns (class indices, or a standardised number) and back.

Both are fitted once, on the training data, and their state is plain JSON, so a
prediction is always made the way the training was. Columns are given as a
mapping from name to a 1-D array (a pandas DataFrame works as is).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["FeatureEncoder", "TargetEncoder", "PreprocessingError", "is_missing"]

#: A text column with more distinct values than this (and than half the rows) is refused.
MAX_CATEGORIES = 100


class PreprocessingError(ValueError):
    """The data does not fit what the model was trained on (or cannot be encoded)."""


def is_missing(values: np.ndarray) -> np.ndarray:
    """Which entries are missing: NaN, None, pandas' NA, or an empty string."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "biu":
        return np.zeros(values.shape, dtype=bool)
    return np.fromiter((_is_missing_value(v) for v in values), dtype=bool, count=len(values))


def _is_missing_value(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return v.strip() == ""
    return type(v).__name__ in ("NAType", "NaTType")  # pandas' missing markers


def _numeric(values: np.ndarray) -> np.ndarray | None:
    """The column as float64 if it is numeric (bool counts), else None."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    return None


def _row_list(mask: np.ndarray, like: np.ndarray | None = None, limit: int = 5) -> str:
    """'line 4' or 'lines 4, 9 and 3 more': CSV line numbers of the rows a mask selects
    (or, given ``like``, of the row indices in ``mask``)."""
    rows = np.flatnonzero(mask) if like is None else np.asarray(mask)
    shown = ", ".join(str(r + 2) for r in rows[:limit])  # +2: the header is line 1
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"line{'s' * int(len(rows) > 1)} {shown}{more}"


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars become Python ones."""
    if isinstance(value, np.generic):
        return value.item()
    return value


class FeatureEncoder:
    """Standardise numeric columns, one-hot encode the others.

    Parameters
    ----------
    impute : bool
        Fill missing values (numeric: the training mean; text: the most frequent
        value) instead of refusing them.
    """

    def __init__(self, impute: bool = False):
        self.impute = bool(impute)
        self.columns: list[dict[str, Any]] = []

    # -- fitting ------------------------------------------------------------------------

    def fit(self, frame: Mapping[str, Any], names: Sequence[str]) -> FeatureEncoder:
        if not names:
            raise PreprocessingError("there are no feature columns left to learn from")
        self.columns = [self._fit_column(name, np.asarray(frame[name])) for name in names]
        return self

    def _fit_column(self, name: str, values: np.ndarray) -> dict[str, Any]:
        missing = is_missing(values)
        if missing.all():
            raise PreprocessingError(f"column {name!r} has no values at all")
        if missing.any() and not self.impute:
            raise PreprocessingError(
                f"column {name!r} has {int(missing.sum())} missing value"
                f"{'s' * int(missing.sum() > 1)} ({_row_list(missing)}); "
                "remove those rows or pass --impute"
            )
        present = values[~missing]
        numbers = _numeric(present)
        if numbers is not None:
            infinite = ~np.isfinite(numbers)
            if infinite.any():
                raise PreprocessingError(
                    f"column {name!r} holds an infinite value "
                    f"({_row_list(np.flatnonzero(~missing)[infinite], values)})"
                )
            mean = float(numbers.mean())
            std = float(numbers.std())
            return {
                "name": name,
                "kind": "numeric",
                "mean": mean,
                "std": std if std > 0 else 1.0,
                "fill": mean,
            }
        labels = np.array([str(v) for v in present], dtype=object)
        categories, counts = np.unique(labels, return_counts=True)
        if len(categories) > MAX_CATEGORIES and len(categories) > len(values) / 2:
            raise PreprocessingError(
                f"column {name!r} has {len(categories)} distinct text values, which looks like an "
                f"identifier or free text; leave it out with --ignore {name}"
            )
        return {
            "name": name,
            "kind": "categorical",
            "categories": [str(c) for c in categories],
            "fill": str(categories[int(np.argmax(counts))]),
        }

    # -- transforming ------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    @property
    def output_names(self) -> list[str]:
        """The name of every column of the encoded matrix (``color=red`` for one-hot)."""
        out = []
        for c in self.columns:
            if c["kind"] == "numeric":
                out.append(c["name"])
            else:
                out.extend(f"{c['name']}={cat}" for cat in c["categories"])
        return out

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    def transform(self, frame: Mapping[str, Any], dtype=np.float64) -> tuple[np.ndarray, list[str]]:
        """The encoded matrix, and warnings about values never seen in training."""
        available = list(frame.keys()) if hasattr(frame, "keys") else list(frame)
        absent = [c["name"] for c in self.columns if c["name"] not in available]
        if absent:
            raise PreprocessingError(
                f"the data has no column {absent[0]!r}"
                + (f" (nor {', '.join(map(repr, absent[1:]))})" if len(absent) > 1 else "")
                + f"; the model was trained on: {', '.join(self.names)}"
            )
        n = len(np.asarray(frame[self.columns[0]["name"]]))
        blocks, warnings = [], []
        for c in self.columns:
            values = np.asarray(frame[c["name"]])
            missing = is_missing(values)
            if missing.any() and not self.impute:
                raise PreprocessingError(
                    f"column {c['name']!r} has {int(missing.sum())} missing value"
                    f"{'s' * int(missing.sum() > 1)} ({_row_list(missing)}), and the model was "
                    "trained without --impute"
                )
            if c["kind"] == "numeric":
                blocks.append(self._numeric_block(c, values, missing))
            else:
                block, unseen = self._onehot_block(c, values, missing)
                blocks.append(block)
                if unseen:
                    shown = ", ".join(repr(u) for u in unseen[:3])
                    warnings.append(
                        f"column {c['name']!r} has value{'s' * (len(unseen) > 1)} never seen in "
                        f"training ({shown}{', ...' if len(unseen) > 3 else ''}); "
                        "encoded as all zeros"
                    )
        X = np.concatenate(blocks, axis=1) if blocks else np.empty((n, 0))
        return np.ascontiguousarray(X, dtype=dtype), warnings

    def _numeric_block(self, c, values, missing) -> np.ndarray:
        numbers = _numeric(values)
        if numbers is None:
            numbers = np.empty(len(values))
            for i, v in enumerate(values):
                if missing[i]:
                    numbers[i] = np.nan
                    continue
                try:
                    numbers[i] = float(v)
                except (TypeError, ValueError):
                    raise PreprocessingError(
                        f"column {c['name']!r} was numeric in training, but line {i + 2} "
                        f"holds {v!r}"
                    ) from None
        numbers = np.where(missing, c["fill"], numbers)
        infinite = ~np.isfinite(numbers)
        if infinite.any():
            raise PreprocessingError(
                f"column {c['name']!r} holds an infinite value ({_row_list(infinite)})"
            )
        return ((numbers - c["mean"]) / c["std"])[:, np.newaxis]

    def _onehot_block(self, c, values, missing) -> tuple[np.ndarray, list[str]]:
        index = {cat: j for j, cat in enumerate(c["categories"])}
        block = np.zeros((len(values), len(index)))
        unseen: list[str] = []
        for i, v in enumerate(values):
            label = c["fill"] if missing[i] else str(v)
            j = index.get(label)
            if j is None:
                if label not in unseen:
                    unseen.append(label)
                continue
            block[i, j] = 1.0
        return block, unseen

    # -- the model file -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"impute": self.impute, "columns": [dict(c) for c in self.columns]}

    @classmethod
    def from_json(cls, data: Any) -> FeatureEncoder:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise ValueError("feature preprocessing is not a JSON object with columns")
        enc = cls(impute=bool(data.get("impute", False)))
        seen = set()
        for c in data["columns"]:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise ValueError("a feature column has no name")
            if c["name"] in seen:
                raise ValueError(f"feature column {c['name']!r} appears twice")
            seen.add(c["name"])
            if c.get("kind") == "numeric":
                for key in ("mean", "std", "fill"):
                    v = c.get(key)
                    if (
                        not isinstance(v, (int, float))
                        or isinstance(v, bool)
                        or not math.isfinite(v)
                    ):
                        raise ValueError(f"feature column {c['name']!r} has an invalid {key}")
                if c["std"] <= 0:
                    raise ValueError(f"feature column {c['name']!r} has a non-positive std")
            elif c.get("kind") == "categorical":
                cats = c.get("categories")
                if (
                    not isinstance(cats, list)
                    or not cats
                    or not all(isinstance(x, str) for x in cats)
                    or len(set(cats)) != len(cats)
                    or not isinstance(c.get("fill"), str)
                ):
                    raise ValueError(f"feature column {c['name']!r} has invalid categories")
            else:
                raise ValueError(f"feature column {c['name']!r} has unknown kind {c.get('kind')!r}")
            enc.columns.append(dict(c))
        if not enc.columns:
            raise ValueError("the model has no feature columns")
        return enc

    def describe(self) -> list[str]:
        lines = []
        for c in self.columns:
            if c["kind"] == "numeric":
                lines.append(
                    f"{c['name']}: numeric, standardised (mean {c['mean']:.6g}, std {c['std']:.6g})"
                    + (f", missing -> {c['fill']:.6g}" if self.impute else "")
                )
            else:
                cats = c["categories"]
                shown = ", ".join(cats[:8]) + (", ..." if len(cats) > 8 else "")
                lines.append(
                    f"{c['name']}: text, one-hot over {len(cats)} values ({shown})"
                    + (f", missing -> {c['fill']}" if self.impute else "")
                )
        return lines


class TargetEncoder:
    """The target: class labels (classification) or a standardised number (regression)."""

    def __init__(self, name: str, task: str, classes=None, mean=0.0, std=1.0):
        self.name = name
        self.task = task
        self.classes = list(classes) if classes is not None else None
        self.mean = float(mean)
        self.std = float(std)

    @staticmethod
    def infer_task(values: np.ndarray) -> str:
        """Classification for non-numeric targets or a few distinct integers; else regression."""
        numbers = _numeric(values)
        if numbers is None or np.asarray(values).dtype.kind == "b":
            return "classification"
        distinct = np.unique(numbers)
        integral = bool(np.all(distinct == np.round(distinct)))
        if integral and (
            len(distinct) <= 2 or (len(distinct) <= 20 and len(distinct) <= len(numbers) / 2)
        ):
            return "classification"
        return "regression"

    @classmethod
    def fit(cls, name: str, values, task: str = "auto") -> TargetEncoder:
        values = np.asarray(values)
        missing = is_missing(values)
        if missing.any():
            raise PreprocessingError(
                f"the target column {name!r} has {int(missing.sum())} missing value"
                f"{'s' * int(missing.sum() > 1)} ({_row_list(missing)}); remove those rows"
            )
        if task == "auto":
            task = cls.infer_task(values)
        if task == "classification":
            numbers = _numeric(values)
            if numbers is not None and values.dtype.kind != "b":
                integral = np.all(numbers == np.round(numbers))
                classes = np.unique(numbers.astype(np.int64) if integral else numbers)
            else:
                classes = np.unique(np.array([_plain(v) for v in values], dtype=object))
            classes = [_plain(c) for c in classes]
            if len(classes) < 2:
                raise PreprocessingError(
                    f"the target column {name!r} has a single class ({classes[0]!r}); "
                    "there is nothing to learn"
                )
            return cls(name, "classification", classes=classes)
        if task != "regression":
            raise PreprocessingError(f"unknown task {task!r}")
        numbers = _numeric(values)
        if numbers is None:
            raise PreprocessingError(
                f"the target column {name!r} holds text, so it cannot be a regression target"
            )
        std = float(numbers.std())
        return cls(name, "regression", mean=float(numbers.mean()), std=std if std > 0 else 1.0)

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "classification" else 1

    def encode(self, values) -> np.ndarray:
        """Class indices (n,) or the standardised target (n, 1)."""
        values = np.asarray(values)
        if self.task == "classification":
            index = {self._key(c): i for i, c in enumerate(self.classes)}
            out = np.empty(len(values), dtype=np.int64)
            for i, v in enumerate(values):
                j = index.get(self._key(_plain(v)))
                if j is None:
                    raise PreprocessingError(
                        f"the target column {self.name!r} holds {v!r}, which is not one of the "
                        f"model's classes"
                    )
                out[i] = j
            return out
        numbers = _numeric(values)
        if numbers is None:
            raise PreprocessingError(f"the target column {self.name!r} must be numeric")
        return ((numbers - self.mean) / self.std)[:, np.newaxis]

    @staticmethod
    def _key(value):
        if isinstance(value, float) and value == int(value):
            return int(value)
        return value if not isinstance(value, str) else ("s", value)

    def decode(self, output: np.ndarray) -> np.ndarray:
        """Labels (object array) from probabilities, or numbers in the target's units."""
        if self.task == "classification":
            labels = np.empty(len(output), dtype=object)
            labels[:] = [self.classes[i] for i in np.argmax(output, axis=1)]
            return labels
        return output[:, 0].astype(np.float64) * self.std + self.mean

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "task": self.task}
        if self.task == "classification":
            data["classes"] = self.classes
        else:
            data.update(mean=self.mean, std=self.std)
        return data

    @classmethod
    def from_json(cls, data: Any) -> TargetEncoder:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("the target description has no name")
        task = data.get("task")
        if task == "classification":
            classes = data.get("classes")
            if (
                not isinstance(classes, list)
                or len(classes) < 2
                or not all(isinstance(c, (str, int, float, bool)) for c in classes)
            ):
                raise ValueError("the target's classes are invalid")
            return cls(data["name"], task, classes=classes)
        if task == "regression":
            mean, std = data.get("mean"), data.get("std")
            for v in (mean, std):
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                    raise ValueError("the target's scaling is invalid")
            if std <= 0:
                raise ValueError("the target's scale is not positive")
            return cls(data["name"], task, mean=mean, std=std)
        raise ValueError(f"unknown task {task!r}")

    def describe(self) -> str:
        if self.task == "classification":
            shown = ", ".join(map(str, self.classes[:10])) + (
                ", ..." if len(self.classes) > 10 else ""
            )
            return f"{self.name}: classification over {len(self.classes)} classes ({shown})"
        return (
            f"{self.name}: regression, standardised for training "
            f"(mean {self.mean:.6g}, std {self.std:.6g}) and unscaled at prediction"
        )
