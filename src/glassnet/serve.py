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

Every bad request gets a 4xx answer ``{"error": "..."}`` that names the problem: 400 for
a body that cannot be read (malformed JSON or CSV, empty), 413 for one over the limits,
415 for another content type, 422 for rows that do not fit the model (missing columns,
wrong types, wrong number of values). Nothing the client sends produces a traceback.
Needs the ``serve`` extra: ``pip install 'glassnet[serve]'``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import socket
from typing import Any

import numpy as np

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "glassnet serve needs Starlette and uvicorn: pip install 'glassnet[serve]'"
    ) from None

from . import __version__

__all__ = ["create_app", "listen", "serve", "BadRequest", "MAX_BODY_BYTES", "MAX_ROWS"]

#: The largest request body accepted (10 MiB), and the most rows in one request.
MAX_BODY_BYTES = 10 * 2**20
MAX_ROWS = 100_000

#: Requests with at most this many rows are predicted on the event loop itself (they
#: take well under a millisecond); larger ones in a worker thread, so they never hold
#: up the small ones or /health.
_INLINE_ROWS = 256

_CONTENT_TYPES = ("application/json", "text/csv")


class BadRequest(Exception):
    """A request the service refuses, with the status code and the message to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# -- what each kind of model takes and gives ------------------------------------------------


class _Adapter:
    """How one kind of model reads rows and answers: the shared part."""

    kind = "model"

    def __init__(self, model):
        self.model = model

    def metadata(self) -> dict[str, Any]:
        raise NotImplementedError

    def from_json(self, rows: list) -> Any:
        raise NotImplementedError

    def from_frame(self, frame) -> Any:
        raise NotImplementedError

    def predict(self, data) -> dict[str, Any]:
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


#: What a request gives for each kind of column.
_TYPES = {"numeric": "number", "categorical": "text", "boolean": "boolean", "datetime": "datetime"}


class _TabularAdapter(_Adapter):
    """A command-line model: named columns of numbers and text."""

    kind = "tabular"

    def __init__(self, model):
        super().__init__(model)
        self.columns = model.features.to_json()["columns"]
        self.impute = bool(model.features.to_json().get("impute"))

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

    def from_json(self, rows: list):
        if not all(isinstance(r, dict) for r in rows):
            bad = next(i for i, r in enumerate(rows) if not isinstance(r, dict))
            raise BadRequest(
                422,
                f"record {bad} is {_describe(rows[bad])}, not an object; send a list of "
                'records such as [{"column": value, ...}]',
            )
        data = {}
        for spec in self.columns:
            name, kind = spec["name"], spec.get("kind")
            values = []
            for i, record in enumerate(rows):
                if name not in record:
                    absent = [c["name"] for c in self.columns if c["name"] not in record]
                    raise BadRequest(
                        422,
                        f"record {i} has no column {absent[0]!r}"
                        + (f" (nor {', '.join(map(repr, absent[1:]))})" if absent[1:] else "")
                        + f"; the model takes: {', '.join(c['name'] for c in self.columns)}",
                    )
                values.append(self._check_value(record[name], i, name, kind))
            data[name] = values
        # Columns as arrays: the encoder reads a mapping several times faster than a
        # DataFrame of a few rows.
        return {
            name: np.array(values, dtype=float if spec.get("kind") == "numeric" else object)
            for spec, (name, values) in zip(self.columns, data.items())
        }

    def _check_value(self, v, i: int, name: str, kind):
        if v is None:
            if not self.impute:
                raise BadRequest(
                    422,
                    f"record {i}: column {name!r} is null, and the model was trained "
                    "without imputing missing values",
                )
            return np.nan if kind == "numeric" else None
        if isinstance(v, (list, dict)):
            raise BadRequest(422, f"record {i}: column {name!r} holds {_describe(v)}")
        if kind == "numeric":
            if not _is_number(v):  # true is not a number, as "true" is not in a CSV file
                raise BadRequest(
                    422, f"record {i}: column {name!r} takes a number, not {_describe(v)}"
                )
            if not _finite(v):
                raise BadRequest(422, f"record {i}: column {name!r} holds {v}, not a finite number")
            return float(v)
        if kind == "boolean" and isinstance(v, bool):
            return "true" if v else "false"  # as text, which the encoder reads beside nulls
        return v  # text, a code such as 7, a date: the encoder reads them

    def from_frame(self, frame):
        return {name: frame[name].to_numpy() for name in frame.columns}

    def predict(self, frame) -> dict[str, Any]:
        from .tabular import PreprocessingError

        model = self.model
        try:
            X, warnings = model.transform(frame)
        except PreprocessingError as exc:
            raise BadRequest(422, str(exc)) from None
        output = model.network.predict(X)
        answer: dict[str, Any] = {"predictions": _plain(model.target.decode(output).tolist())}
        if model.target.task == "classification":
            answer["classes"] = _plain(model.target.classes)
            answer["probabilities"] = _rows_of(output)
        if warnings:
            answer["warnings"] = list(warnings)
        return answer


class _ArrayAdapter(_Adapter):
    """A bare network or a drop-in estimator: rows of numbers (or records, by the column
    names an estimator was fitted with)."""

    def __init__(self, model, n_features: int, names: list[str] | None):
        super().__init__(model)
        self.n_features = n_features
        self.names = names

    def feature_list(self) -> list[dict[str, str]]:
        names = self.names or [f"x{j}" for j in range(self.n_features)]
        return [{"name": name, "type": "number"} for name in names]

    def from_json(self, rows: list) -> np.ndarray:
        if self.names is not None and all(isinstance(r, dict) for r in rows):
            rows = [self._record_row(r, i) for i, r in enumerate(rows)]
        X = np.empty((len(rows), self.n_features))
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
                if not _is_number(v) or not _finite(v):
                    raise BadRequest(
                        422, f"row {i}, value {j} is {_describe(v)}, not a finite number"
                    )
            X[i] = row
        return X

    def _record_row(self, record: dict, i: int) -> list:
        absent = [n for n in self.names if n not in record]
        if absent:
            raise BadRequest(
                422,
                f"record {i} has no column {absent[0]!r}; the model takes: "
                + ", ".join(self.names),
            )
        return [record[n] for n in self.names]

    def from_frame(self, frame) -> np.ndarray:
        if self.names is not None:
            absent = [n for n in self.names if n not in frame.columns]
            if absent:
                raise BadRequest(
                    422,
                    f"the CSV has no column {absent[0]!r}; the model takes: "
                    + ", ".join(self.names),
                )
            frame = frame[self.names]
        elif frame.shape[1] != self.n_features:
            raise BadRequest(
                422, f"the CSV has {frame.shape[1]} columns, but the model takes {self.n_features}"
            )
        import pandas as pd

        X = np.empty(frame.shape)
        for j, name in enumerate(frame.columns):
            cells = frame[name]
            X[:, j] = pd.to_numeric(cells, errors="coerce")
            text = np.isnan(X[:, j]) & cells.notna().to_numpy()
            if text.any():
                row = int(np.flatnonzero(text)[0])
                raise BadRequest(
                    422,
                    f"column {name!r} holds {cells.iloc[row]!r} on line {row + 2}, but the "
                    "model takes numbers",
                )
        if not np.isfinite(X).all():
            row, col = np.argwhere(~np.isfinite(X))[0]
            raise BadRequest(
                422, f"column {frame.columns[col]!r} is empty or not finite on line {row + 2}"
            )
        return X


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

    def predict(self, X) -> dict[str, Any]:
        return {"predictions": _rows_of(self.model.predict(X))}


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

    def predict(self, X) -> dict[str, Any]:
        import pandas as pd

        est = self.model
        if self.names is not None:
            X = pd.DataFrame(X, columns=self.names)
        answer: dict[str, Any] = {"predictions": _rows_of(np.asarray(est.predict(X)))}
        if self.classifier:
            answer["classes"] = _plain(est.classes_.tolist())
            answer["probabilities"] = _rows_of(est.predict_proba(X))
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


def _describe(v) -> str:
    """A short description of a JSON value, for an error message."""
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


# -- reading a request ----------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the body has {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise BadRequest(400, "the request body is empty; send JSON records or a CSV table")
    return body


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


def _check_widths(text: str) -> None:
    """Every row has as many fields as the header (pandas would quietly take extra
    leading fields for an index, and pad short rows with missing values)."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    for line, row in enumerate(rows, start=2):
        if row and len(row) != len(header):
            raise BadRequest(
                400,
                f"malformed CSV: line {line} has {len(row)} fields, but the header has "
                f"{len(header)}",
            )


def _csv_frame(body: bytes, max_rows: int):
    import pandas as pd

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the CSV is not UTF-8 text") from None
    try:
        _check_widths(text)
        # Cells as written, as the command line reads them: "NA" and "001" stay text,
        # only an empty cell is missing; the model's encoder decides what is a number.
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except csv.Error as exc:
        raise BadRequest(400, f"malformed CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise BadRequest(400, "the CSV is empty") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRequest(400, f"malformed CSV: {first}") from None
    if len(frame) == 0:
        raise BadRequest(422, "the CSV has a header but no rows")
    if len(frame) > max_rows:
        raise BadRequest(413, f"{len(frame)} rows in one request; the limit is {max_rows}")
    return frame


def _content_type(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _CONTENT_TYPES:
        given = f"Content-Type {kind!r}" if kind else "no Content-Type"
        raise BadRequest(415, f"{given}; send application/json (records) or text/csv")
    return kind


# -- the application ------------------------------------------------------------------------


def create_app(
    model,
    *,
    source: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
) -> Starlette:
    """An ASGI application that serves ``model`` (a TabularModel, Network or drop-in
    estimator, as :func:`glassnet.load` gives them). ``source`` names the model file in
    ``/metadata``."""
    adapter = _adapter(model)
    about = adapter.metadata()
    about.update(
        model_file=source,
        glassnet_version=__version__,
        request={
            "content_types": list(_CONTENT_TYPES),
            "max_body_bytes": max_body_bytes,
            "max_rows": max_rows,
        },
    )
    about = json.loads(json.dumps(about, default=str))  # JSON-ready once, at start

    async def predict(request: Request) -> JSONResponse:
        try:
            kind = _content_type(request)
            body = await _body(request, max_body_bytes)
            if kind == "application/json":
                data = adapter.from_json(_json_rows(body, max_rows))
            else:
                data = adapter.from_frame(_csv_frame(body, max_rows))
            if _rows(data) <= _INLINE_ROWS:
                answer = _predict(adapter, data)
            else:
                answer = await run_in_threadpool(_predict, adapter, data)
        except BadRequest as exc:
            return _error(exc.status, str(exc))
        return JSONResponse(answer)

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
    """The number of rows of an array, or of a mapping of columns."""
    if isinstance(data, dict):
        return len(next(iter(data.values()))) if data else 0
    return len(data)


def _predict(adapter: _Adapter, data) -> dict[str, Any]:
    # An overflow (an exp output, say) is a null in the answer, not a warning in the log.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return adapter.predict(data)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


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
    logging.getLogger(__name__).info("serving on http://%s:%s (Ctrl+C to stop)", shown, port)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
