"""Running an application: :func:`listen` binds the socket; :func:`serve` runs uvicorn on it
in this process, and :func:`serve_workers` in several worker processes, until stopped.

With workers, the socket is bound once, here, and shared: each worker is a process of
its own (started by uvicorn's supervisor, as ``uvicorn --workers`` does), which loads
the model file itself through :func:`app_from_environment`, the application factory
that reads the file's path and :func:`~.app.create_app`'s options from the environment
variables :data:`MODEL_VARIABLE` and :data:`OPTIONS_VARIABLE` (set for the workers
while they run, and put back as they were after). A worker that dies is replaced.
SIGINT (Ctrl-C) or SIGTERM stops every worker, each finishing the requests it has
begun, before :func:`serve_workers` returns the signal to its caller: the signal
handlers it found are put back first, and the signal raised again, as uvicorn does in
one process. Nothing happens at import: uvicorn's supervisor is imported when it runs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette

__all__ = [
    "listen",
    "serve",
    "serve_workers",
    "app_from_environment",
    "worker_log_config",
    "MODEL_VARIABLE",
    "OPTIONS_VARIABLE",
]

_log = logging.getLogger(__package__)

#: The environment variable that names the model file a worker serves.
MODEL_VARIABLE = "GLASSNET_SERVE_MODEL"
#: The environment variable that holds create_app's keyword arguments, as JSON.
OPTIONS_VARIABLE = "GLASSNET_SERVE_OPTIONS"


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
    _log.info("serving on %s (Ctrl+C to stop)", _address(sock))
    # The application writes the access log (glassnet.serve.access): uvicorn's own would
    # write every line twice.
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve_workers(
    sock: socket.socket,
    workers: int,
    model_file: str,
    *,
    options: dict[str, Any] | None = None,
    log_level: str = "warning",
    log_config: dict[str, Any] | None = None,
) -> None:
    """Serve ``model_file`` on a bound socket with ``workers`` processes until SIGINT or
    SIGTERM, which is raised again here once every worker has stopped.

    ``options`` are :func:`~.app.create_app`'s keyword arguments (JSON values), the same
    in every worker. ``log_level`` is uvicorn's. A worker starts with no logging set
    up: ``log_config`` is the :func:`logging.config.dictConfig` each one applies first
    (see :func:`worker_log_config`; None: uvicorn's own). Check the model file before:
    a worker that cannot load it stops them all, and RuntimeError says so here.
    """
    from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    environment = {
        MODEL_VARIABLE: os.path.abspath(model_file),
        OPTIONS_VARIABLE: json.dumps(options or {}),
    }
    config = uvicorn.Config(
        f"{__name__}:app_from_environment",
        factory=True,
        workers=workers,
        log_level=log_level,
        access_log=False,
        lifespan="off",
    )
    # uvicorn applies log_config in each process that makes or starts from this Config:
    # this one's logging is set up already; the workers get the caller's.
    if log_config is not None:
        config.log_config = log_config

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, noting the signal that stopped it."""

        stopped_by: int | None = None

        def handle_int(self) -> None:
            self.stopped_by = signal.SIGINT
            super().handle_int()

        def handle_term(self) -> None:
            self.stopped_by = signal.SIGTERM
            super().handle_term()

    _log.info("serving on %s with %d workers (Ctrl+C to stop)", _address(sock), workers)
    with _environment(environment), _handlers_restored(SIGNALS):
        supervisor = Supervisor(config, sockets=[sock])
        supervisor.run()
    if supervisor.stopped_by is None:
        raise RuntimeError("the workers stopped: they could not start (see the messages above)")
    signal.raise_signal(supervisor.stopped_by)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """These environment variables set while the block runs (the workers started then
    inherit them), and put back as they were after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _handlers_restored(signals) -> Iterator[None]:
    """The handlers of these signals put back, after the block, as they were before it."""
    before = {sig: signal.getsignal(sig) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in before.items():
            # None: a handler set outside Python, which Python cannot set again
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def app_from_environment() -> Starlette:
    """The application of a worker process: the model file :data:`MODEL_VARIABLE` names,
    served with the options :data:`OPTIONS_VARIABLE` holds (uvicorn's factory)."""
    from ..modelfile import load
    from .app import create_app

    path = os.environ.get(MODEL_VARIABLE)
    if not path:
        raise RuntimeError(
            f"{MODEL_VARIABLE} names no model file: app_from_environment serves the file "
            "that serve_workers (glassnet serve --workers) names there"
        )
    options = json.loads(os.environ.get(OPTIONS_VARIABLE) or "{}")
    return create_app(load(path), **options)


def worker_log_config(level: str, formatter: str | None = None) -> dict[str, Any]:
    """A worker's logging: uvicorn's own configuration, plus the ``glassnet`` logger on
    stderr at ``level`` (its access log and messages), its records formatted by the
    :class:`logging.Formatter` class that ``formatter`` names (``"package.module.Class"``;
    None: the message alone)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["glassnet"] = {"()": formatter} if formatter else {"format": "%(message)s"}
    config["handlers"]["glassnet"] = {
        "class": "logging.StreamHandler",
        "formatter": "glassnet",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["glassnet"] = {
        "handlers": ["glassnet"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
