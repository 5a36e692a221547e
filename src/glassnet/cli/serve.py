"""glassnet serve: a model file behind an HTTP prediction service (Starlette on uvicorn)."""

from __future__ import annotations

import argparse

from .common import UserError

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "serve",
        help="serve a model file over HTTP (POST /predict)",
        description="Serve a model file over HTTP. POST /predict takes JSON records "
        '([{"column": value, ...}]) or a CSV table (Content-Type: application/json or '
        "text/csv) and answers predictions, and probabilities for a classifier; GET /health "
        "and GET /metadata describe the service and the model. Bad requests get a 4xx "
        'answer {"error": "..."}; a body that does not arrive within --body-timeout '
        "seconds gets 408.",
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
    model = modelfile.load(args.model)
    try:
        app = serve.create_app(model, source=args.model, **limits)
    except TypeError as exc:
        raise UserError(f"{args.model}: {exc}") from None
    try:
        sock = serve.listen(args.host, args.port)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    with sock:
        serve.serve(app, sock)
    return 0
