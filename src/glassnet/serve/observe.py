"""Watching every request once: an ASGI middleware that times each request and hands its
status, size and duration to the access log and the metrics.

It wraps the application's routes (inside Starlette's handler of internal errors, so a
request that ends in one is seen as a 500). The clock starts when the request arrives
and stops when its answer has been sent, or has failed.
"""

from __future__ import annotations

import time

from .access import AccessLog
from .metrics import Metrics

__all__ = ["Observer"]


class Observer:
    """ASGI middleware: ``app`` observed by ``access`` (or None: no access log) and
    ``metrics`` (or None: no counting)."""

    def __init__(self, app, access: AccessLog | None, metrics: Metrics | None):
        self.app = app
        self.access = access
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, size = 500, 0

        async def sending(message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope["path"], scope["method"], status, seconds)
            if self.access is not None:
                self.access.write(scope, status, size, seconds)
