"""What a command says on stderr: the records of the ``glassnet`` logger, one line each.

The library logs through ``logging.getLogger(__name__)``; while a command runs, records of
level INFO and above (WARNING and above with ``--quiet``) are written as ``glassnet:
<message>``, ``glassnet: warning: <message>`` or ``glassnet: error: <message>``, with
control characters escaped. A line goes through ``tqdm.write``, which clears an open
progress bar, writes the line and draws the bar again below it, instead of gluing the
message to the bar's end. :func:`shown` sets this up for one command and puts the
logger back as it was.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from .common import printable

__all__ = ["LOGGER", "LineFormatter", "write_line", "shown", "quiet"]

#: The logger whose records the command shows (the library's loggers are below it).
LOGGER = "glassnet"


def write_line(text: str) -> None:
    """One line on stderr, below any open progress bar."""
    # No bar can be open before tqdm is imported, and importing it for nothing costs.
    tqdm = sys.modules.get("tqdm.std")
    with contextlib.suppress(OSError, ValueError):  # stderr closed: nowhere to say it
        if tqdm is None:
            sys.stderr.write(text + "\n")
        else:
            tqdm.tqdm.write(text, file=sys.stderr)
        sys.stderr.flush()


class LineFormatter(logging.Formatter):
    """A record as the command's line: ``glassnet: [warning: |error: ]<message>``, with
    control characters escaped (a worker process of ``glassnet serve`` formats its
    records with it too)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.ERROR:
            kind = "error: "
        elif record.levelno >= logging.WARNING:
            kind = "warning: "
        else:
            kind = ""
        return f"glassnet: {kind}{printable(record.getMessage())}"


class _Terminal(logging.Handler):
    """Each record as one line on stderr, written whole even if Ctrl-C comes meanwhile."""

    def __init__(self, interrupts) -> None:
        super().__init__()
        self.interrupts = interrupts
        self.setFormatter(LineFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a malformed record: logging's own report of it
            self.handleError(record)
            return
        with self.interrupts.deferred():
            write_line(line)


@contextlib.contextmanager
def shown(interrupts) -> Iterator[None]:
    """Show the ``glassnet`` logger's records on stderr while the block runs, and only
    there (not also through the root logger's handlers); ``interrupts`` is the command's
    :class:`~glassnet.cli.interrupts.Interrupts`."""
    logger = logging.getLogger(LOGGER)
    level, propagate = logger.level, logger.propagate
    handler = _Terminal(interrupts)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def quiet() -> None:
    """From now on only warnings and errors (``--quiet``); :func:`shown` puts it back."""
    logging.getLogger(LOGGER).setLevel(logging.WARNING)
