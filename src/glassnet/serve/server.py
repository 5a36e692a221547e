"""Running an application: :func:`listen` binds the socket, :func:`serve` runs uvicorn on it
until it is interrupted.
"""

from __future__ import annotations

import logging
import socket

import uvicorn
from starlette.applications import Starlette

__all__ = ["listen", "serve"]

_log = logging.getLogger(__package__)


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
