"""The access log: one line per request answered, on the ``glassnet.serve.access`` logger.

A line reads ``127.0.0.1:52014 "POST /predict" 200 61 bytes 0.84 ms``: the client, the
method and path, the status, the bytes of the answer's body, and the milliseconds from
the request's arrival to the end of its answer. The same values are on the log record
as attributes (``method``, ``path``, ``status``, ``bytes``, ``duration_ms``,
``client``), for a handler that writes JSON. The path is the request's own, as sent
(percent-escapes kept), so a line is always one line.

It goes through Python's :mod:`logging`, at INFO: a program that serves an application
decides where it goes, and at what level (``glassnet serve`` writes it on stderr, as
``glassnet: ...``; ``--no-access-log`` turns it off). When the logger would drop an INFO
record, nothing is formatted. uvicorn's own access log is a second copy of the same:
:func:`.server.serve` turns it off.
"""

from __future__ import annotations

import logging

__all__ = ["ACCESS_LOGGER", "AccessLog"]

#: The logger of the access log.
ACCESS_LOGGER = "glassnet.serve.access"


class AccessLog:
    """Writes the access log's lines on ``logger`` (the ``glassnet.serve.access`` logger)."""

    def __init__(self, logger: logging.Logger | None = None):
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def write(self, scope: dict, status: int, size: int, seconds: float) -> None:
        """One line for the request of this ASGI ``scope``, answered with ``status`` and
        ``size`` bytes of body after ``seconds``."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope.get("path", "")
        client = scope.get("client")
        who = f"{client[0]}:{client[1]}" if client else "-"
        ms = seconds * 1e3
        method = scope.get("method", "")
        self.logger.info(
            '%s "%s %s" %d %d bytes %.2f ms',
            who,
            method,
            path,
            status,
            size,
            ms,
            extra={
                "client": who,
                "method": method,
                "path": path,
                "status": status,
                "bytes": size,
                "duration_ms": ms,
            },
        )
