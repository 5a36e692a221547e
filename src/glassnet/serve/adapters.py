"""What each kind of model takes and gives: the adapters between a request's rows and a model.

:func:`adapter_for` picks one for a loaded model: :class:`TabularAdapter` for a
command-line model (named columns of numbers, text, booleans and dates, read by its
encoder), :class:`NetworkAdapter` for a bare network and :class:`EstimatorAdapter` for
a drop-in estimator (rows of numbers, or records by the column names it was fitted
with). Each turns a JSON body's rows (``from_json``) or a CSV table (``from_csv``) into
what its model takes, predicts (:func:`predict_rows`), and describes itself
(``metadata``) and its columns (``columns``, read by the OpenAPI schema). A value is
read the same way whichever body carries it, and as ``glassnet predict`` reads a data
file: a JSON string is a CSV cell (``"1.1"`` is a number in a numeric column, ``""`` is
missing), ``true``/``false`` are the cells ``true``/``false``, and the model's encoder
decides what each cell means. Rows the model cannot take are refused with 422
(:class:`~.errors.BadRequest`), naming the row and column.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .bodies import CsvTable
from .errors import BadRequest, clip, describe, no_columns

__all__ = [
    "Adapter",
    "TabularAdapter",
    "ArrayAdapter",
    "NetworkAdapter",
    "EstimatorAdapter",
    "Matrix",
    "FEATURE_TYPES",
    "adapter_for",
    "levels_of",
    "predict_rows",
    "row_count",
]


def levels_of(spec: dict[str, Any]) -> list[str]:
    """A categorical column's levels as a client sends them: not the empty string, the
    level of missing values (which a client sends as null)."""
    return [level for level in spec.get("categories") or [] if level]


class Adapter:
    """How one kind of model reads rows and answers: the shared part.

    ``from_json`` and ``from_csv`` turn a body's rows into what ``predict`` takes;
    ``predict(data, where)`` answers them, ``where`` numbering the rows for messages as
    :func:`glassnet.tabular.columns.rows_text` does (``("line", 2)`` for CSV)."""

    kind = "model"
    #: How messages number the rows of a JSON body.
    json_rows = ("row", 0)

    def __init__(self, model):
        self.model = model

    @property
    def n_columns(self) -> int:
        """The columns the model reads."""
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        raise NotImplementedError

    def from_json(self, rows: list) -> Any:
        raise NotImplementedError

    def from_csv(self, table: CsvTable) -> Any:
        raise NotImplementedError

    def predict(self, data, where: tuple[str, int]) -> dict[str, Any]:
        raise NotImplementedError


def _plain(values) -> list:
    """JSON-ready values: NumPy scalars as Python ones, non-finite numbers as null."""
    out = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out.append(v)
    return out


def _rows_of(array: np.ndarray) -> list:
    return [_plain(row) for row in array.tolist()] if array.ndim == 2 else _plain(array.tolist())


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer with hundreds of digits
        return False


def _not_finite(*outputs) -> np.ndarray | None:
    """The rows where any of these outputs (arrays of n rows: numbers, or labels, which
    are never refused) is not a finite number; None when every one is."""
    bad = None
    for out in map(np.asarray, outputs):
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            rows = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
            bad = rows if bad is None else bad | rows
    return bad


def _overflow(bad: np.ndarray, where, culprit: tuple[str, Any] | None) -> BadRequest:
    """The refusal of rows whose output is not finite: their numbers, and the input that
    most likely overflowed the network in the first of them."""
    from ..tabular.columns import rows_text

    rows = np.flatnonzero(bad)
    message = f"the network's output is not finite for {rows_text(rows, where)}"
    if culprit is not None:
        name, value = culprit
        message += f" (column {name!r} holds {describe(value)} in {rows_text(rows[:1], where)})"
    return BadRequest(
        422, message + ": the inputs overflow it; send values in the range it was trained on"
    )


def _numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells read as the CSV reader's numbers: the values, and a mask of the cells that
    are missing (empty), not numbers, or not finite."""
    from ..tabular.columns import missing_mask, parse_numbers

    missing = missing_mask(cells)
    values, failed = parse_numbers(cells, missing)
    return values, missing | failed | ~np.isfinite(values)


#: What a request gives for each kind of column.
FEATURE_TYPES = {
    "numeric": "number",
    "categorical": "text",
    "boolean": "boolean",
    "datetime": "datetime",
}


class TabularAdapter(Adapter):
    """A command-line model: named columns of numbers and text, read by its encoder."""

    kind = "tabular"
    json_rows = ("record", 0)

    def __init__(self, model, impute: bool = False):
        super().__init__(model)
        state = model.features.to_json()
        self.columns = state["columns"]
        self.names = [c["name"] for c in self.columns]
        # a model trained with impute always fills missing cells; ``impute`` fills them
        # for any other (``glassnet serve --impute``, as ``predict --impute``)
        self.impute = impute or bool(state.get("impute"))

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def metadata(self) -> dict[str, Any]:
        target = self.model.target.to_json()
        features = []
        for spec in self.columns:
            kind = spec.get("kind")
            entry = {"name": spec["name"], "kind": kind, "type": FEATURE_TYPES.get(kind, kind)}
            if kind == "categorical":
                entry["categories"] = levels_of(spec)
            if kind == "datetime":  # a strftime format, or ISO 8601
                entry["format"] = spec.get("format") or "ISO 8601"
            features.append(entry)
        return {
            "kind": self.kind,
            "task": target["task"],
            "target": target["name"],
            "classes": target.get("classes"),
            "features": features,
            "missing_values": "imputed" if self.impute else "refused",
            "training": self.model.info,
        }

    def from_json(self, rows: list) -> dict[str, np.ndarray]:
        """Each column as an array of the records' values, as a CSV cell would hold them:
        a JSON number stays a number, true/false become the cells "true"/"false", a string
        is a cell's text and null an empty cell; the encoder reads them all."""
        if not all(isinstance(r, dict) for r in rows):
            bad = next(i for i, r in enumerate(rows) if not isinstance(r, dict))
            raise BadRequest(
                422,
                f"record {bad} is {describe(rows[bad])}, not an object; send a list of "
                'records such as [{"column": value, ...}]',
            )
        data = {}
        for spec in self.columns:
            name = spec["name"]
            values = []
            # numbers and nulls alone: a float array, the encoder's fastest; a date column's
            # values stay as sent, so that a message quotes them as they were
            numbers = spec.get("kind") != "datetime"
            for i, record in enumerate(rows):
                if name not in record:
                    raise BadRequest(422, no_columns(f"record {i}", record, self.names))
                v = record[name]
                if isinstance(v, bool):
                    v, numbers = ("true" if v else "false"), False
                elif isinstance(v, (list, dict)):
                    raise BadRequest(422, f"record {i}: column {name!r} holds {describe(v)}")
                elif _is_number(v):
                    if not _finite(v):
                        raise BadRequest(
                            422, f"record {i}: column {name!r} holds {v}, not a finite number"
                        )
                elif v is not None:
                    numbers = False
                values.append(v)
            if numbers:
                data[name] = np.array(values, dtype=float)  # null is NaN: missing
            else:
                data[name] = np.empty(len(values), dtype=object)
                data[name][:] = values
        return data

    def from_csv(self, table: CsvTable) -> dict[str, np.ndarray]:
        if any(n not in table for n in self.names):
            raise BadRequest(422, no_columns("the CSV", table.names, self.names))
        return {name: table.column(name) for name in self.names}

    def predict(self, data, where) -> dict[str, Any]:
        from ..tabular.fixes import FixableError
        from ..tabular.model import filled_note

        model = self.model
        filled: dict[str, int] = {}
        try:
            X, warnings = model.transform(data, where=where, impute=self.impute, filled=filled)
            output = model.network.predict(X)
        except FixableError as exc:  # the encoder's PreprocessingError: fixes a client gives
            raise BadRequest(422, exc.spelled("service")) from None
        except ValueError as exc:  # the network's refusal
            raise BadRequest(422, str(exc)) from None
        predictions = model.target.decode(output)
        bad = _not_finite(output, predictions)
        if bad is not None:
            raise _overflow(bad, where, self._culprit(data, int(np.flatnonzero(bad)[0])))
        answer: dict[str, Any] = {"predictions": _plain(predictions.tolist())}
        if model.target.task == "classification":
            answer["classes"] = _plain(model.target.classes)
            answer["probabilities"] = _rows_of(output)
        note = filled_note(filled)
        warnings = [*warnings, note] if note else warnings
        if warnings:
            answer["warnings"] = [clip(w) for w in warnings]
        return answer

    def _culprit(self, data, row: int) -> tuple[str, Any] | None:
        """The numeric column whose value in this row lies furthest from the training
        data, in standard deviations, and that value."""
        best, culprit = -1.0, None
        for c in self.columns:
            if c.get("kind") != "numeric":
                continue
            cell = data[c["name"]][row : row + 1]
            value, bad = _numbers(cell)
            if bad[0]:
                continue
            with np.errstate(over="ignore"):
                z = abs((float(value[0]) - c["mean"]) / c["std"])
            if z > best:
                best, culprit = z, (c["name"], cell[0])
        return culprit


class Matrix:
    """Rows of numbers for a network or an estimator: X (n_rows, n_features), and the
    names messages give its columns."""

    def __init__(self, X: np.ndarray, labels: list[str]):
        self.X = X
        self.labels = labels

    def __len__(self) -> int:
        return len(self.X)

    def culprit(self, row: int) -> tuple[str, Any]:
        """The column with the largest magnitude in this row, and its value."""
        j = int(np.argmax(np.abs(self.X[row])))
        return self.labels[j], float(self.X[row, j])


class ArrayAdapter(Adapter):
    """A bare network or a drop-in estimator: rows of numbers (or records, by the column
    names an estimator was fitted with)."""

    def __init__(self, model, n_features: int, names: list[str] | None):
        super().__init__(model)
        self.n_features = n_features
        self.names = names

    @property
    def n_columns(self) -> int:
        return self.n_features

    def labels(self) -> list[str]:
        return self.names or [f"x{j}" for j in range(self.n_features)]

    def feature_list(self) -> list[dict[str, str]]:
        return [{"name": name, "type": "number"} for name in self.labels()]

    def from_json(self, rows: list) -> Matrix:
        """X from rows of numbers; a string is read as a CSV cell (``"1.5"`` is 1.5)."""
        records = self.names is not None and all(isinstance(r, dict) for r in rows)
        if records:
            rows = [self._record_row(r, i) for i, r in enumerate(rows)]
        X = np.empty((len(rows), self.n_features))
        texts: list[tuple[int, int, str]] = []
        for i, row in enumerate(rows):
            if not isinstance(row, list):
                takes = "records (objects) or rows" if self.names else "rows"
                raise BadRequest(
                    422, f"row {i} is {describe(row)}; the model takes {takes} of numbers"
                )
            if len(row) != self.n_features:
                raise BadRequest(
                    422, f"row {i} has {len(row)} values, but the model takes {self.n_features}"
                )
            for j, v in enumerate(row):
                if isinstance(v, str):
                    texts.append((i, j, v))
                    X[i, j] = 0.0
                elif not _is_number(v) or not _finite(v):
                    raise BadRequest(
                        422, f"{self._value(i, j, records)} is {describe(v)}, not a finite number"
                    )
                else:
                    X[i, j] = v
        if texts:
            cells = np.empty(len(texts), dtype=object)
            cells[:] = [text for _, _, text in texts]
            values, bad = _numbers(cells)
            if bad.any():
                i, j, text = texts[int(np.flatnonzero(bad)[0])]
                raise BadRequest(
                    422, f"{self._value(i, j, records)} is {describe(text)}, not a finite number"
                )
            X[[i for i, _, _ in texts], [j for _, j, _ in texts]] = values
        return Matrix(X, self.labels())

    def _value(self, i: int, j: int, records: bool) -> str:
        if not records:
            return f"row {i}, value {j}"
        assert self.names is not None  # records come with the column names
        return f"record {i}: column {self.names[j]!r}"

    def _record_row(self, record: dict, i: int) -> list:
        assert self.names is not None  # records come with the column names
        absent = [n for n in self.names if n not in record]
        if absent:
            raise BadRequest(422, no_columns(f"record {i}", record, self.names))
        return [record[n] for n in self.names]

    def from_csv(self, table: CsvTable) -> Matrix:
        from ..tabular.columns import rows_text

        if self.names is not None:
            if any(n not in table for n in self.names):
                raise BadRequest(422, no_columns("the CSV", table.names, self.names))
            names = self.names
        elif len(table.names) != self.n_features:
            raise BadRequest(
                422,
                f"the CSV has {len(table.names)} columns, but the model takes {self.n_features}",
            )
        else:
            names = table.names
        X = np.empty((table.n_rows, len(names)))
        for j, name in enumerate(names):
            cells = table.column(name)
            X[:, j], bad = _numbers(cells)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                line = rows_text([row], table.where)
                if cells[row] == "":
                    raise BadRequest(422, f"column {name!r} is empty on {line}")
                raise BadRequest(
                    422,
                    f"column {name!r} holds {describe(cells[row])} on {line}, but the model "
                    "takes finite numbers",
                )
        return Matrix(X, list(names))


class NetworkAdapter(ArrayAdapter):
    kind = "network"

    def __init__(self, net):
        super().__init__(net, net.input_size, None)

    def metadata(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "features": self.feature_list(),
            "outputs": self.model.output_size,
            "network": repr(self.model),
            "training": self.model.training_summary,
        }

    def predict(self, data: Matrix, where) -> dict[str, Any]:
        try:
            output = self.model.predict(data.X)
        except ValueError as exc:  # the network's own refusal of its input
            raise BadRequest(422, str(exc)) from None
        bad = _not_finite(output)
        if bad is not None:
            raise _overflow(bad, where, data.culprit(int(np.flatnonzero(bad)[0])))
        return {"predictions": _rows_of(output)}


class EstimatorAdapter(ArrayAdapter):
    kind = "estimator"

    def __init__(self, est):
        names = getattr(est, "feature_names_in_", None)
        super().__init__(est, est.n_features_in_, None if names is None else list(names))
        self.classifier = hasattr(est, "predict_proba")

    def metadata(self) -> dict[str, Any]:
        est = self.model
        return {
            "kind": self.kind,
            "estimator": type(est).__name__,
            "task": "classification" if self.classifier else "regression",
            "classes": _plain(est.classes_.tolist()) if self.classifier else None,
            "features": self.feature_list(),
            "parameters": {k: v for k, v in est.get_params().items() if _jsonable(v)},
            "training": {"n_iter": est.n_iter_, "loss": est.loss_, **_network_summary(est)},
        }

    def predict(self, data: Matrix, where) -> dict[str, Any]:
        import pandas as pd

        est = self.model
        X = data.X if self.names is None else pd.DataFrame(data.X, columns=self.names)
        try:
            outputs = [est.predict_proba(X)] if self.classifier else []
            predictions = np.asarray(est.predict(X))
        except ValueError as exc:  # the estimator's own refusal of its input
            raise BadRequest(422, str(exc)) from None
        bad = _not_finite(predictions, *outputs)
        if bad is not None:
            raise _overflow(bad, where, data.culprit(int(np.flatnonzero(bad)[0])))
        answer: dict[str, Any] = {"predictions": _rows_of(predictions)}
        if self.classifier:
            answer["classes"] = _plain(est.classes_.tolist())
            answer["probabilities"] = _rows_of(outputs[0])
        return answer


def _network_summary(est) -> dict:
    return dict(getattr(est.network_, "training_summary", {}) or {})


def _jsonable(v) -> bool:
    try:
        json.dumps(v, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def adapter_for(model, impute: bool = False) -> Adapter:
    """How to serve ``model``; ``impute`` fills the missing cells of a command-line
    model's rows with its training statistics."""
    from ..network import Network

    kind = getattr(model, "model_file_kind", None)
    if kind == "tabular":
        return TabularAdapter(model, impute)
    if impute:
        raise TypeError(
            "impute needs a command-line model, which keeps what to fill with; a "
            f"{type(model).__name__} takes numbers alone"
        )
    if isinstance(model, Network):
        return NetworkAdapter(model)
    if kind in ("MLPClassifier", "MLPRegressor"):
        return EstimatorAdapter(model)
    raise TypeError(f"glassnet serve cannot serve a {type(model).__name__}")


def row_count(data) -> int:
    """The number of rows of a mapping of columns, or of a Matrix."""
    if isinstance(data, dict):
        return len(next(iter(data.values()))) if data else 0
    return len(data)


def predict_rows(adapter: Adapter, data, where: tuple[str, int] | None) -> dict[str, Any]:
    """The adapter's answer to these rows (from ``from_json`` when ``where`` is None,
    else from ``from_csv``, whose rows ``where`` numbers); BadRequest for rows refused."""
    # An overflow is refused by row (see _overflow), not a warning in the log.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return adapter.predict(data, adapter.json_rows if where is None else where)
