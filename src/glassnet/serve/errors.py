"""What the service says when it refuses a request: :class:`BadRequest` (a status and a
message), the JSON answer ``{"error": "..."}`` it becomes, and the helpers that word the
messages (a short description of a value, the columns a record lacks, a long message
clipped). It reads no request and knows no model.
"""

from __future__ import annotations

import numpy as np
from starlette.responses import JSONResponse

__all__ = ["BadRequest", "MESSAGE_CHARS", "error_response", "describe", "no_columns", "clip"]

#: The longest error message or warning answered (a cell of a megabyte stays in the body).
MESSAGE_CHARS = 2000


class BadRequest(Exception):
    """A request the service refuses, with the status code and the message to answer;
    ``close`` ends the connection after the answer (a client whose body stalled)."""

    def __init__(self, status: int, message: str, *, close: bool = False):
        super().__init__(message)
        self.status = status
        self.close = close


def no_columns(what: str, given, names: list[str]) -> str:
    """'record 3 has no column 'age' (nor 'town'); the model takes: ...'."""
    absent = [n for n in names if n not in given]
    return (
        f"{what} has no column {absent[0]!r}"
        + (f" (nor {', '.join(map(repr, absent[1:]))})" if absent[1:] else "")
        + f"; the model takes: {', '.join(names)}"
    )


def describe(v) -> str:
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


def clip(message: str) -> str:
    """A message of at most MESSAGE_CHARS characters (its start and its end kept)."""
    if len(message) <= MESSAGE_CHARS:
        return message
    keep = MESSAGE_CHARS // 2
    return f"{message[:keep]} [... {len(message) - 2 * keep} characters ...] {message[-keep:]}"


def error_response(status: int, message: str, close: bool = False) -> JSONResponse:
    """The answer to a refused request: ``{"error": message}`` (clipped) with ``status``;
    ``close`` ends the connection after it."""
    headers = {"connection": "close"} if close else None
    return JSONResponse({"error": clip(message)}, status_code=status, headers=headers)
