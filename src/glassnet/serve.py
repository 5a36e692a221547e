"""The HTTP prediction service: a model file behind ``POST /predict``, on Starlette and uvicorn.

:func:`create_app` wraps a loaded model in an ASGI application; :func:`serve` runs it
with uvicorn (``glassnet serve MODEL`` on the command line). The routes:

* ``POST /predict``: rows in, predictions out. ``Content-Type: application/json`` takes
  a list of records (``[{"column": value, ...}, ...]``, one object per row; for a bare
  network, or an estimator fitted without column names, a list of rows of numbers);
  ``text/csv`` takes a table with a header row. The answer is
  ``{"predictions": [...]}``, plus ``"probabilities"`` (one list per row, in
  ``"classes"`` order) for a classifier, and ``"warnings"`` (values never seen in
  training, say) when there are any.
* ``GET /health``: ``{"status": "ok"}``.
* ``GET /metadata``: the features with their types, the classes or target, how the model
  was trained, and the request limits.

A value is read the same way whichever body carries it, and as ``glassnet predict``
reads a data file: a JSON string is a CSV cell (``"1.1"`` is a number in a numeric
column, ``""`` is missing), ``true``/``false`` are the cells ``true``/``false``, and the
model's encoder decides what each cell means. A CSV body follows the command line's
rules (:mod:`glassnet.tabular.reading`: the separator sniffed, every cell as written,
only an empty cell missing), read in a worker thread by pyarrow's CSV reader, which
has no limit on a cell's size and refuses a row with more or fewer fields than the
header; its header is counted first, against the columns the model can use. Messages
number a CSV body's lines as the command line numbers a file's (the header is line 1),
and JSON records from 0.

Every bad request gets a 4xx answer ``{"error": "..."}`` that names the problem: 400 for
a body that cannot be read (malformed JSON or CSV, empty), 408 for a body that does not
arrive within ``body_timeout`` seconds, 413 for one over the limits (bytes, rows,
columns), 415 for another content type, 422 for rows that do not fit the model (missing
columns, wrong types, wrong number of values, values that overflow the network).
Nothing the client sends produces a traceback; a client that leaves mid-body is one
line in the ``glassnet.serve`` log. Needs the ``serve`` extra:
``pip install 'glassnet[serve]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import math
import socket
from typing import Any

import numpy as np

try:
    import anyio
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "glassnet serve needs Starlette and uvicorn: pip install 'glassnet[serve]'"
    ) from None

from . import __version__

__all__ = [
    "create_app",
    "listen",
    "serve",
    "BadRequest",
    "MAX_BODY_BYTES",
    "MAX_ROWS",
    "MAX_EXTRA_COLUMNS",
    "BODY_TIMEOUT",
]

_log = logging.getLogger(__name__)

#: The largest request body accepted (10 MiB), and the most rows in one request.
MAX_BODY_BYTES = 10 * 2**20
MAX_ROWS = 100_000
#: The columns a CSV body may have besides the model's features (an id, the target, notes).
MAX_EXTRA_COLUMNS = 1000
#: The seconds a request body may take to arrive, whole.
BODY_TIMEOUT = 30.0

#: JSON bodies up to this size are read on the event loop itself, and requests with at
#: most this many rows predicted there (they take well under a millisecond); anything
#: larger, and every CSV body, is read and predicted in a worker thread, so it never
#: holds up the small ones or /health.
_INLINE_BYTES = 64 * 2**10
_INLINE_ROWS = 256

#: The longest error message or warning answered (a cell of a megabyte stays in the body).
_MESSAGE_CHARS = 2000

_CONTENT_TYPES = ("application/json", "text/csv")


class BadRequest(Exception):
    """A request the service refuses, with the status code and the message to answer;
    ``close`` ends the connection after the answer (a client whose body stalled)."""

    def __init__(self, status: int, message: str, *, close: bool = False):
        super().__init__(message)
        self.status = status
        self.close = close


# -- what each kind of model takes and gives ------------------------------------------------


class _Adapter:
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

    def from_csv(self, table: _CsvTable) -> Any:
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
    from .tabular.columns import rows_text

    rows = np.flatnonzero(bad)
    message = f"the network's output is not finite for {rows_text(rows, where)}"
    if culprit is not None:
        name, value = culprit
        message += f" (column {name!r} holds {_describe(value)} in {rows_text(rows[:1], where)})"
    return BadRequest(
        422, message + ": the inputs overflow it; send values in the range it was trained on"
    )


def _numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells read as the CSV reader's numbers: the values, and a mask of the cells that
    are missing (empty), not numbers, or not finite."""
    from .tabular.columns import missing_mask, parse_numbers

    missing = missing_mask(cells)
    values, failed = parse_numbers(cells, missing)
    return values, missing | failed | ~np.isfinite(values)


#: What a request gives for each kind of column.
_TYPES = {"numeric": "number", "categorical": "text", "boolean": "boolean", "datetime": "datetime"}


class _TabularAdapter(_Adapter):
    """A command-line model: named columns of numbers and text, read by its encoder."""

    kind = "tabular"
    json_rows = ("record", 0)

    def __init__(self, model):
        super().__init__(model)
        self.columns = model.features.to_json()["columns"]
        self.names = [c["name"] for c in self.columns]
        self.impute = bool(model.features.to_json().get("impute"))

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def metadata(self) -> dict[str, Any]:
        target = self.model.target.to_json()
        features = []
        for spec in self.columns:
            kind = spec.get("kind")
            entry = {"name": spec["name"], "kind": kind, "type": _TYPES.get(kind, kind)}
            if kind == "categorical":
                entry["categories"] = spec.get("categories")
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
                f"record {bad} is {_describe(rows[bad])}, not an object; send a list of "
                'records such as [{"column": value, ...}]',
            )
        data = {}
        for name in self.names:
            values = []
            numbers = True  # numbers and nulls alone: a float array, the encoder's fastest
            for i, record in enumerate(rows):
                if name not in record:
                    raise BadRequest(422, _no_columns(f"record {i}", record, self.names))
                v = record[name]
                if isinstance(v, bool):
                    v, numbers = ("true" if v else "false"), False
                elif isinstance(v, (list, dict)):
                    raise BadRequest(422, f"record {i}: column {name!r} holds {_describe(v)}")
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

    def from_csv(self, table: _CsvTable) -> dict[str, np.ndarray]:
        if any(n not in table for n in self.names):
            raise BadRequest(422, _no_columns("the CSV", table.names, self.names))
        return {name: table.column(name) for name in self.names}

    def predict(self, data, where) -> dict[str, Any]:
        model = self.model
        try:
            X, warnings = model.transform(data, where=where)
            output = model.network.predict(X)
        except ValueError as exc:  # the encoder's PreprocessingError, or the network's refusal
            raise BadRequest(422, str(exc)) from None
        predictions = model.target.decode(output)
        bad = _not_finite(output, predictions)
        if bad is not None:
            raise _overflow(bad, where, self._culprit(data, int(np.flatnonzero(bad)[0])))
        answer: dict[str, Any] = {"predictions": _plain(predictions.tolist())}
        if model.target.task == "classification":
            answer["classes"] = _plain(model.target.classes)
            answer["probabilities"] = _rows_of(output)
        if warnings:
            answer["warnings"] = [_clip(w) for w in warnings]
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


class _Matrix:
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


class _ArrayAdapter(_Adapter):
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

    def from_json(self, rows: list) -> _Matrix:
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
                    422, f"row {i} is {_describe(row)}; the model takes {takes} of numbers"
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
                        422, f"{self._value(i, j, records)} is {_describe(v)}, not a finite number"
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
                    422, f"{self._value(i, j, records)} is {_describe(text)}, not a finite number"
                )
            X[[i for i, _, _ in texts], [j for _, j, _ in texts]] = values
        return _Matrix(X, self.labels())

    def _value(self, i: int, j: int, records: bool) -> str:
        return f"record {i}: column {self.names[j]!r}" if records else f"row {i}, value {j}"

    def _record_row(self, record: dict, i: int) -> list:
        absent = [n for n in self.names if n not in record]
        if absent:
            raise BadRequest(422, _no_columns(f"record {i}", record, self.names))
        return [record[n] for n in self.names]

    def from_csv(self, table: _CsvTable) -> _Matrix:
        from .tabular.columns import rows_text

        if self.names is not None:
            if any(n not in table for n in self.names):
                raise BadRequest(422, _no_columns("the CSV", table.names, self.names))
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
                    f"column {name!r} holds {_describe(cells[row])} on {line}, but the model "
                    "takes finite numbers",
                )
        return _Matrix(X, list(names))


class _NetworkAdapter(_ArrayAdapter):
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

    def predict(self, data: _Matrix, where) -> dict[str, Any]:
        try:
            output = self.model.predict(data.X)
        except ValueError as exc:  # the network's own refusal of its input
            raise BadRequest(422, str(exc)) from None
        bad = _not_finite(output)
        if bad is not None:
            raise _overflow(bad, where, data.culprit(int(np.flatnonzero(bad)[0])))
        return {"predictions": _rows_of(output)}


class _EstimatorAdapter(_ArrayAdapter):
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

    def predict(self, data: _Matrix, where) -> dict[str, Any]:
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


def _adapter(model) -> _Adapter:
    from .network import Network

    kind = getattr(model, "model_file_kind", None)
    if kind == "tabular":
        return _TabularAdapter(model)
    if isinstance(model, Network):
        return _NetworkAdapter(model)
    if kind in ("MLPClassifier", "MLPRegressor"):
        return _EstimatorAdapter(model)
    raise TypeError(f"glassnet serve cannot serve a {type(model).__name__}")


def _no_columns(what: str, given, names: list[str]) -> str:
    """'record 3 has no column 'age' (nor 'town'); the model takes: ...'."""
    absent = [n for n in names if n not in given]
    return (
        f"{what} has no column {absent[0]!r}"
        + (f" (nor {', '.join(map(repr, absent[1:]))})" if absent[1:] else "")
        + f"; the model takes: {', '.join(names)}"
    )


def _describe(v) -> str:
    """A short description of a JSON value or a cell, for an error message."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return repr(v)


def _clip(message: str) -> str:
    """A message of at most _MESSAGE_CHARS characters (its start and its end kept)."""
    if len(message) <= _MESSAGE_CHARS:
        return message
    keep = _MESSAGE_CHARS // 2
    return f"{message[:keep]} [... {len(message) - 2 * keep} characters ...] {message[-keep:]}"


# -- reading a request ----------------------------------------------------------------------


async def _body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, within ``limit`` bytes and ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the body has {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with _deadline(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BadRequest(413, f"the body is larger than the limit of {limit} bytes")
                chunks.append(chunk)
    except (TimeoutError, ClientDisconnect) as exc:
        came = f"{size}{f' of {declared}' if declared else ''} bytes came"
        if isinstance(exc, TimeoutError):
            raise BadRequest(
                408,
                f"the body did not arrive within {timeout:g} seconds ({came}); send it whole, "
                "and promptly",
                close=True,
            ) from None
        client = request.client
        _log.info(
            "%s %s: the client%s disconnected before its body was complete (%s); nothing "
            "was answered",
            request.method,
            request.url.path,
            f" {client.host}:{client.port}" if client else "",
            came,
        )
        raise BadRequest(400, "the client disconnected before its body was complete") from None
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not body.strip():
        raise BadRequest(400, "the request body is empty; send JSON records or a CSV table")
    return body


if hasattr(asyncio, "timeout"):  # Python 3.11+: a third of the cost of anyio's cancel scope
    _deadline = asyncio.timeout
else:  # pragma: no cover - Python 3.10

    @contextlib.asynccontextmanager
    async def _deadline(seconds: float):
        with anyio.fail_after(seconds):
            yield


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


def _json_rows(body: bytes, max_rows: int) -> list:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"malformed JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(400, f"malformed JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]  # one record
    if not isinstance(data, list):
        raise BadRequest(
            422,
            f"the JSON is {_describe(data)}; send a list of records such as "
            '[{"column": value, ...}]',
        )
    if not data:
        raise BadRequest(422, "the JSON list is empty; send at least one record")
    if len(data) > max_rows:
        raise BadRequest(413, f"{len(data)} rows in one request; the limit is {max_rows}")
    return data


class _CsvTable:
    """A CSV body's data rows as text: ``names`` from the header, ``column(name)`` an
    object array of each row's cell (``""`` where the cell is empty), ``where`` how
    messages number the rows."""

    def __init__(self, names: list[str], table, where: tuple[str, int]):
        self.names = names
        self.n_rows = table.num_rows
        self.where = where
        self._table = table
        self._index: dict[str, int] = {}
        for j, name in enumerate(names):
            self._index.setdefault(name, j)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def column(self, name: str) -> np.ndarray:
        return self._table.column(self._index[name]).to_numpy(zero_copy_only=False)


def _header_width(text: str, sep: str) -> int:
    """The number of fields in a CSV's header (its first line that is not blank),
    without reading anything else."""
    text = text.lstrip("\r\n")
    ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
    line = text[: min(ends)] if ends else text
    if '"' not in line:
        return line.count(sep) + 1
    try:  # quoted names, which may hold the separator or a line break
        return len(next(csv.reader(io.StringIO(text), delimiter=sep)))
    except csv.Error as exc:
        raise BadRequest(400, f"malformed CSV header: {exc}") from None


def _csv_table(body: bytes, max_rows: int, max_columns: int, features: int) -> _CsvTable:
    """A CSV body read as ``glassnet predict`` reads a CSV file: the separator sniffed
    (comma, semicolon, tab or |), each cell as written, a header naming each column
    once. The header is counted before anything else is read: more than ``max_columns``
    columns (the model's ``features`` and some others) are refused."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from .tabular.reading import DataFileError, ReadOptions, check_header, sniff_csv

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(400, "the CSV is not UTF-8 text") from None
    try:
        sep, _ = sniff_csv("the CSV", body[:65536], "csv", ReadOptions())
    except DataFileError as exc:
        raise BadRequest(400, str(exc)) from None
    width = _header_width(text, sep)
    if width > max_columns:
        raise BadRequest(
            413,
            f"the CSV has {width} columns; the limit is {max_columns} (the model's "
            f"{features} and {max_columns - features} others)",
        )
    raw = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    keys = [str(j) for j in range(width)]
    invalid = []

    def refuse(row) -> str:
        invalid.append(row)
        return "error"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(raw),
            read_options=pa_csv.ReadOptions(
                column_names=keys, use_threads=False, block_size=min(len(raw) + 1, 2**31 - 1)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep, newlines_in_values=True, invalid_row_handler=refuse
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if invalid:  # pyarrow numbers rows as the command line does: the header is 1
            row = invalid[0]
            raise BadRequest(
                400,
                f"malformed CSV: line {row.number} has {row.actual_columns} field"
                f"{'s' * (row.actual_columns != 1)}, but the header has {row.expected_columns}",
            ) from None
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise BadRequest(400, f"malformed CSV: {first}") from None
    names = [table.column(j)[0].as_py() for j in range(width)]
    try:
        check_header("the CSV", names)
    except DataFileError as exc:
        raise BadRequest(400, str(exc)) from None
    if table.num_rows == 1:
        raise BadRequest(422, "the CSV has a header but no rows")
    if table.num_rows - 1 > max_rows:
        raise BadRequest(413, f"{table.num_rows - 1} rows in one request; the limit is {max_rows}")
    return _CsvTable(names, table.slice(1), _CSV_LINES)


def _content_type(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _CONTENT_TYPES:
        given = f"Content-Type {kind!r}" if kind else "no Content-Type"
        raise BadRequest(415, f"{given}; send application/json (records) or text/csv")
    return kind


#: How messages number a CSV body's rows: as the command line numbers a CSV file's
#: (``tabular.reading.row_numbering``), the header is line 1.
_CSV_LINES = ("line", 2)


# -- the application ------------------------------------------------------------------------


def create_app(
    model,
    *,
    source: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    max_extra_columns: int = MAX_EXTRA_COLUMNS,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """An ASGI application that serves ``model`` (a TabularModel, Network or drop-in
    estimator, as :func:`glassnet.load` gives them). ``source`` names the model file in
    ``/metadata``. A CSV body may have the model's columns and ``max_extra_columns``
    others; a body must arrive whole within ``body_timeout`` seconds."""
    if not body_timeout > 0:
        raise ValueError(f"body_timeout must be a positive number of seconds, got {body_timeout}")
    adapter = _adapter(model)
    max_columns = adapter.n_columns + max_extra_columns
    about = adapter.metadata()
    about.update(
        model_file=source,
        glassnet_version=__version__,
        request={
            "content_types": list(_CONTENT_TYPES),
            "max_body_bytes": max_body_bytes,
            "max_rows": max_rows,
            "max_columns": max_columns,
            "body_timeout_seconds": body_timeout,
        },
    )
    about = json.loads(json.dumps(about, default=str))  # JSON-ready once, at start

    def answer(kind: str, body: bytes) -> dict[str, Any]:
        """Read the body and predict (in a worker thread)."""
        if kind == "application/json":
            return _predict(adapter, adapter.from_json(_json_rows(body, max_rows)), None)
        table = _csv_table(body, max_rows, max_columns, adapter.n_columns)
        return _predict(adapter, adapter.from_csv(table), table.where)

    async def predict(request: Request) -> JSONResponse:
        try:
            kind = _content_type(request)
            body = await _body(request, max_body_bytes, body_timeout)
            if kind == "application/json" and len(body) <= _INLINE_BYTES:
                data = adapter.from_json(_json_rows(body, max_rows))
                if _rows(data) <= _INLINE_ROWS:
                    result = _predict(adapter, data, None)
                else:
                    result = await run_in_threadpool(_predict, adapter, data, None)
            else:
                result = await run_in_threadpool(answer, kind, body)
        except BadRequest as exc:
            return _error(exc.status, str(exc), close=exc.close)
        return JSONResponse(result)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(about)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _error(404, f"no route {request.url.path}; try POST /predict, GET /metadata")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}")
        return _error(exc.status_code, str(exc.detail))

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error ({type(exc).__name__}); please report it")

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metadata", metadata, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )


def _rows(data) -> int:
    """The number of rows of a mapping of columns, or of a _Matrix."""
    if isinstance(data, dict):
        return len(next(iter(data.values()))) if data else 0
    return len(data)


def _predict(adapter: _Adapter, data, where: tuple[str, int] | None) -> dict[str, Any]:
    # An overflow is refused by row (see _overflow), not a warning in the log.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return adapter.predict(data, adapter.json_rows if where is None else where)


def _error(status: int, message: str, close: bool = False) -> JSONResponse:
    headers = {"connection": "close"} if close else None
    return JSONResponse({"error": _clip(message)}, status_code=status, headers=headers)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening (so a client that connects before
    uvicorn is up waits in the queue instead of being refused); raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so, and without it every answer waits 40 ms for a delayed acknowledgement.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(app: Starlette, sock: socket.socket, log_level: str = "warning") -> None:
    """Run ``app`` with uvicorn on a bound socket until interrupted."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    _log.info("serving on http://%s:%s (Ctrl+C to stop)", shown, port)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
