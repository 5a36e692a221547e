"""glassnet serve: a model file behind an HTTP prediction service (Starlette on uvicorn).

One process by default; ``--workers N`` runs N worker processes on one socket, each
loading the model file (checked here first, so that a bad file is one line, at once).
Each request is one line on stderr (``--no-access-log`` turns them off), at INFO:
``--log-level`` chooses the least severe messages shown (``--quiet`` is ``warning``).
"""

from __future__ import annotations

import argparse
import logging
import os

from . import messages
from .common import UserError, add_impute_option

_LEVELS = ("debug", "info", "warning", "error")

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "serve",
        help="serve a model file over HTTP (POST /predict)",
        description="Serve a model file over HTTP. POST /predict takes JSON records "
        '([{"column": value, ...}]) or a CSV table (Content-Type: application/json or '
        "text/csv) and answers predictions, and probabilities for a classifier; GET /health "
        "and GET /metadata describe the service and the model; GET /openapi.json is its "
        "OpenAPI 3.1 document, GET /docs the same as a web page, and GET /metrics its "
        "counters for Prometheus. Bad requests get a 4xx answer "
        '{"error": "..."}; a body that does not arrive within --body-timeout seconds gets '
        "408. Each request is one line on stderr (client, method, path, status, bytes, "
        "milliseconds).",
    )
    p.add_argument("model", metavar="MODEL", help="a model file (any kind glassnet saves)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8000, help="the port to listen on (8000; 0 picks a free one)"
    )
    p.add_argument(
        "--max-body",
        type=int,
        metavar="BYTES",
        default=None,
        help="the largest request body accepted (default 10 MiB)",
    )
    p.add_argument(
        "--max-rows", type=int, default=None, help="the most rows in one request (100000)"
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        default=None,
        help="the seconds a request body may take to arrive, whole; a slower one is "
        "answered 408 (default 30)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        default=1,
        help="worker processes, each with the model loaded (1); with more than one, set "
        "PROMETHEUS_MULTIPROC_DIR to an empty folder for /metrics to count them all",
    )
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line on stderr per request (on; --no-access-log turns it off)",
    )
    p.add_argument(
        "--log-level",
        choices=_LEVELS,
        default=None,
        help="the least severe messages shown on stderr: debug (uvicorn's too), info "
        "(the default: the access log and notes), warning (as --quiet) or error",
    )
    add_impute_option(p, "the answer's warnings")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import modelfile

    try:
        from .. import serve
    except ImportError as exc:
        raise UserError(str(exc)) from None
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {args.port}")
    limits = {}
    for flag, value, key in (
        ("--max-body", args.max_body, "max_body_bytes"),
        ("--max-rows", args.max_rows, "max_rows"),
    ):
        if value is not None:
            if value < 1:
                raise UserError(f"{flag} must be a positive number, got {value}")
            limits[key] = value
    if args.body_timeout is not None:
        if not 0 < args.body_timeout < float("inf"):
            raise UserError(
                f"--body-timeout must be a positive number of seconds, got {args.body_timeout}"
            )
        limits["body_timeout"] = args.body_timeout
    if args.workers < 1:
        raise UserError(f"--workers must be a positive number, got {args.workers}")
    level = _log_level(args)
    options = {"source": args.model, "access_log": args.access_log, **limits}
    if args.impute:
        options["impute"] = True
    _check_metrics_folder()
    model = modelfile.load(args.model)
    try:  # with workers, a check that the model can be served: each worker loads its own
        app = serve.create_app(model, **{**options, "metrics": args.workers == 1})
    except TypeError as exc:
        raise UserError(f"{args.model}: {exc}") from None
    try:
        sock = serve.listen(args.host, args.port)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    uvicorn_level = "debug" if level == "debug" else "warning" if level != "error" else "error"
    with sock:
        if args.workers == 1:
            serve.serve(app, sock, log_level=uvicorn_level)
            return 0
        del app, model
        config = serve.worker_log_config(level, f"{messages.__name__}.LineFormatter")
        try:
            serve.serve_workers(
                sock,
                args.workers,
                args.model,
                options=options,
                log_level=uvicorn_level,
                log_config=config,
            )
        except RuntimeError as exc:
            raise UserError(str(exc)) from None
    return 0


def _log_level(args: argparse.Namespace) -> str:
    """The level of the glassnet logger while the service runs: --log-level's, else the
    command's (info, or warning with --quiet)."""
    logger = logging.getLogger(messages.LOGGER)
    if args.log_level is not None:
        logger.setLevel(args.log_level.upper())  # messages.shown puts it back at the end
    return logging.getLevelName(logger.getEffectiveLevel()).lower()


def _check_metrics_folder() -> None:
    """PROMETHEUS_MULTIPROC_DIR, when set, names a folder the service can write."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(
            f"PROMETHEUS_MULTIPROC_DIR={folder} is not a folder this process can write; "
            "create it, empty, or unset the variable"
        )
    if any(name.endswith(".db") for name in os.listdir(folder)):
        logging.getLogger(messages.LOGGER).warning(
            "PROMETHEUS_MULTIPROC_DIR=%s holds the counts of an earlier run, which "
            "/metrics adds in; empty it before starting for counts of this run alone",
            folder,
        )
