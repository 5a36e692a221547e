"""The application: :func:`create_app` wraps a loaded model in a Starlette app and its routes.

``POST /predict`` reads the body (:mod:`.bodies`), turns its rows into what the model
takes and predicts (:mod:`.adapters`); ``GET /health`` and ``GET /metadata`` answer at
once. Small JSON requests are read and predicted on the event loop itself (well under a
millisecond); anything larger, and every CSV body, in a worker thread, so it never holds
up the small ones or ``/health``. Every refusal is a JSON answer ``{"error": "..."}``
(:mod:`.errors`), and so are wrong routes, wrong methods and internal errors.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from .access import AccessLog
from .adapters import adapter_for, predict_rows, row_count
from .bodies import (
    BODY_TIMEOUT,
    CONTENT_TYPES,
    MAX_BODY_BYTES,
    MAX_EXTRA_COLUMNS,
    MAX_ROWS,
    charset,
    content_type,
    csv_table,
    json_rows,
    read_body,
)
from .errors import BadRequest, error_response
from .metrics import Metrics
from .observe import Observer
from .openapi import openapi_document
from .page import docs_page

__all__ = ["create_app"]

#: JSON bodies up to this size are read on the event loop itself, and requests with at
#: most this many rows predicted there (they take well under a millisecond); anything
#: larger, and every CSV body, is read and predicted in a worker thread, so it never
#: holds up the small ones or /health.
_INLINE_BYTES = 64 * 2**10
_INLINE_ROWS = 256


def create_app(
    model,
    *,
    source: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    max_extra_columns: int = MAX_EXTRA_COLUMNS,
    body_timeout: float = BODY_TIMEOUT,
    access_log: bool = True,
    metrics: bool = True,
    impute: bool = False,
) -> Starlette:
    """An ASGI application that serves ``model`` (a TabularModel, Network or drop-in
    estimator, as :func:`glassnet.load` gives them). ``source`` names the model file in
    ``/metadata``. A CSV body may have the model's columns and ``max_extra_columns``
    others; a body must arrive whole within ``body_timeout`` seconds.

    ``access_log``: one line per request on the ``glassnet.serve.access`` logger, at
    INFO (:mod:`.access`). ``metrics``: ``GET /metrics``, the counters of this
    application in a registry of its own (:mod:`.metrics`); without it, ``/metrics`` is
    no route. With neither, requests go straight to the routes, as they did before
    either existed. ``impute``: a command-line model fills the missing cells of a
    request with its training statistics, and its answer's ``warnings`` say how many (a
    model trained with impute always does)."""
    if not body_timeout > 0:
        raise ValueError(f"body_timeout must be a positive number of seconds, got {body_timeout}")
    adapter = adapter_for(model, impute)
    max_columns = adapter.n_columns + max_extra_columns
    about = adapter.metadata()
    about.update(
        model_file=source,
        glassnet_version=__version__,
        request={
            "content_types": list(CONTENT_TYPES),
            "max_body_bytes": max_body_bytes,
            "max_rows": max_rows,
            "max_columns": max_columns,
            "body_timeout_seconds": body_timeout,
        },
    )
    about = json.loads(json.dumps(about, default=str))  # JSON-ready once, at start
    described = openapi_document(adapter, about, metrics=metrics)
    document = json.dumps(described).encode()
    page = docs_page(described)
    paths = ["/predict", "/health", "/metadata", "/openapi.json", "/docs"]
    counters = None
    if metrics:
        labels = {
            "kind": about["kind"],
            "task": str(about.get("task") or ""),
            "glassnet_version": __version__,
        }
        counters = Metrics([*paths, "/metrics"], labels)

    def answer(kind: str, body: bytes, encoding: str | None) -> dict[str, Any]:
        """Read the body and predict (in a worker thread)."""
        if kind == "application/json":
            rows = json_rows(body, max_rows, encoding)
            return predict_rows(adapter, adapter.from_json(rows), None)
        table = csv_table(body, max_rows, max_columns, adapter.n_columns, encoding)
        return predict_rows(adapter, adapter.from_csv(table), table.where)

    async def predict(request: Request) -> JSONResponse:
        try:
            kind, encoding = content_type(request), charset(request)
            body = await read_body(request, max_body_bytes, body_timeout)
            if kind == "application/json" and len(body) <= _INLINE_BYTES:
                data = adapter.from_json(json_rows(body, max_rows, encoding))
                if row_count(data) <= _INLINE_ROWS:
                    result = predict_rows(adapter, data, None)
                else:
                    result = await run_in_threadpool(predict_rows, adapter, data, None)
            else:
                result = await run_in_threadpool(answer, kind, body, encoding)
        except BadRequest as exc:
            return error_response(exc.status, str(exc), close=exc.close)
        if counters is not None:
            counters.predicted(len(result["predictions"]))
        return JSONResponse(result)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(about)

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page.render(str(request.base_url).rstrip("/")))

    async def exposition(request: Request) -> Response:
        assert counters is not None  # the route is there with the counters alone
        text, kind = counters.exposition(request.headers.get("accept"))
        return Response(text, headers={"content-type": kind})

    # Typed for any Exception, as exception_handlers takes them; Starlette hands this one
    # the HTTPExceptions (its key) alone.
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(404, f"no route {request.url.path}; try POST /predict, GET /docs")
        if exc.status_code == 405:
            return error_response(405, f"{request.method} is not allowed on {request.url.path}")
        return error_response(exc.status_code, str(exc.detail))

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error ({type(exc).__name__}); please report it")

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metadata", metadata, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
    if counters is not None:
        routes.append(Route("/metrics", exposition, methods=["GET"]))
    watch = access_log or counters is not None
    access = AccessLog() if access_log else None
    return Starlette(
        routes=routes,
        middleware=[Middleware(Observer, access=access, metrics=counters)] if watch else None,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
