"""The HTTP prediction service: a model file behind ``POST /predict``, on Starlette and uvicorn.

:func:`create_app` wraps a loaded model in an ASGI application; :func:`serve` runs it
with uvicorn in this process, :func:`serve_workers` in several worker processes that
share one socket (``glassnet serve MODEL [--workers N]`` on the command line). The
documentation site's page "The prediction service's API" (``docs/serving-api.md``)
tells it all with examples. The routes:

* ``POST /predict``: rows in, predictions out. ``Content-Type: application/json`` takes
  one record, or a list of records (``[{"column": value, ...}, ...]``, one object per
  row; for a bare
  network, or an estimator fitted without column names, a list of rows of numbers);
  ``text/csv`` takes a table with a header row. The answer is
  ``{"predictions": [...]}``, plus ``"probabilities"`` (one list per row, in
  ``"classes"`` order) for a classifier, and ``"warnings"`` (values never seen in
  training, say) when there are any.
* ``GET /health``: ``{"status": "ok"}``.
* ``GET /metadata``: the features with their types, the classes or target, how the model
  was trained, and the request limits.
* ``GET /openapi.json``: the service as an OpenAPI 3.1 document, generated from the
  model: one property per feature column, typed as the model reads it, the answer typed
  by the model's labels, every error, and an example request that the service answers.
* ``GET /docs``: the same document as one HTML page, with nothing loaded from another
  host (inline CSS, no script), to read offline.
* ``GET /metrics``: requests by endpoint, method and status, a histogram of their
  durations, the rows predicted and the model's kind and glassnet version, in
  Prometheus' text format (prometheus_client, a registry per application). With
  several workers each counts its own requests, and ``/metrics`` reports those of the
  worker that answered, unless ``PROMETHEUS_MULTIPROC_DIR`` names an empty folder when
  the service starts: then prometheus_client's multiprocess mode sums them all.

Each request answered is one line on the ``glassnet.serve.access`` logger, at INFO:
client, method, path, status, body bytes, milliseconds (uvicorn's own access log is
turned off, so nothing is logged twice); ``create_app(access_log=False)`` or
``glassnet serve --no-access-log`` leaves it out.

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

The package, one job a module (each imports only those above it in this list):

* :mod:`.errors`: :class:`BadRequest`, the JSON error answer, the wording of messages;
* :mod:`.bodies`: the content type, the body within its limits, JSON rows, CSV tables;
* :mod:`.adapters`: what each kind of model takes and gives;
* :mod:`.openapi`: the OpenAPI document of a model's service;
* :mod:`.page`: the ``/docs`` page, from that document;
* :mod:`.access`: the access log, one line per request;
* :mod:`.metrics`: the counters ``GET /metrics`` answers (prometheus_client);
* :mod:`.observe`: the middleware that times each request for both;
* :mod:`.app`: :func:`create_app` and its routes;
* :mod:`.server`: :func:`listen`, :func:`serve` (uvicorn), :func:`serve_workers` and
  :func:`app_from_environment`, the workers' application factory.
"""

from __future__ import annotations

try:
    import anyio  # noqa: F401
    import prometheus_client  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"glassnet serve needs Starlette, uvicorn and prometheus_client ({exc.name} is "
        "missing): pip install 'glassnet[serve]'"
    ) from None

from .app import create_app
from .bodies import BODY_TIMEOUT, MAX_BODY_BYTES, MAX_EXTRA_COLUMNS, MAX_ROWS
from .errors import BadRequest
from .server import app_from_environment, listen, serve, serve_workers, worker_log_config

__all__ = [
    "create_app",
    "listen",
    "serve",
    "serve_workers",
    "app_from_environment",
    "worker_log_config",
    "BadRequest",
    "MAX_BODY_BYTES",
    "MAX_ROWS",
    "MAX_EXTRA_COLUMNS",
    "BODY_TIMEOUT",
]
