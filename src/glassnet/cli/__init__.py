"""The glassnet command: from a data file to a model file to predictions and their measure.

    glassnet train DATA --target COL [options]    train, print metrics, write a model
    glassnet predict MODEL DATA [--out F]         predictions as CSV or Parquet
    glassnet evaluate MODEL DATA [--json]         how good the model is on labelled data
    glassnet inspect MODEL [--weights]            layers, preprocessing, training summary
    glassnet explain MODEL DATA [--row N]         one sample's pass and every gradient, written out
    glassnet demo [xor|gender|exam|all]           the seed stories
    glassnet export MODEL OUT.onnx                the model, preprocessing included, as ONNX
    glassnet serve MODEL [--port N]               predictions over HTTP (JSON or CSV bodies)

Each command is a module of this package with ``add_parser(subparsers)`` and
``run(args) -> exit status``; :mod:`.common` holds what they share. A user error
never shows a traceback: it prints one line, ``glassnet: error: ...``, and exits
with status 2 (a usage error says which ``--help`` to read). Ctrl-C prints
``glassnet: interrupted`` and exits 130; a closed stdout (``| head``) ends the
output quietly with status 0. ``--debug`` shows the traceback of anything unexpected.
Importing this package imports the standard library alone: the libraries load when a
command runs, inside the handlers above.
"""

from __future__ import annotations

import _signal  # the C module: installing the handler must not wait for signal's imports


class _Interrupts:
    """Ctrl-C is noted at once; while this package is being imported it is acted on as
    soon as main() starts (a KeyboardInterrupt in the middle of an import can surface as
    any error, so main() also asks whether one was noted)."""

    seen = False
    defer = True


def _on_sigint(signum, frame):
    _Interrupts.seen = True
    if not _Interrupts.defer:
        raise KeyboardInterrupt


_signal.signal(_signal.SIGINT, _on_sigint)

import argparse  # noqa: E402 - after the handler, so Ctrl-C during imports is caught
import contextlib  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from .. import __version__  # noqa: E402
from .common import STATE, UserError, end_progress_line, printable  # noqa: E402

__all__ = ["main", "build_parser", "UserError", "COMMANDS"]

#: The subcommands, in the order ``glassnet --help`` lists them; each names a module here.
COMMANDS = ("train", "predict", "evaluate", "inspect", "explain", "demo", "export", "serve")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is."""

    def error(self, message: str):
        self.exit(2, f"glassnet: error: {printable(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glassnet",
        description="A NumPy neural-network library in which nothing is hidden.",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    parser.commands = dict(sub.choices)  # for usage errors that name the subcommand's --help
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return printable(" ".join(text.split()))


def _fail(status: int, message: str) -> int:
    if _Interrupts.seen and status != 130:  # the error is the interrupt's doing
        return _interrupted()
    end_progress_line()
    with contextlib.suppress(OSError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    return status


def _interrupted() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the message
    _Interrupts.seen = False
    return _fail(130, "glassnet: interrupted")


def _pipe_closed() -> int:
    from .common import close_stdout

    close_stdout()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit status (0 ok, 2 user error, 130 interrupted).

    As the program itself (no ``argv``), an interrupted run ends the process at once with
    status 130, once everything is cleaned up and flushed. Python would otherwise exit by
    SIGINT whenever the interrupt happened to land inside code an extension module runs
    while it is imported, even though glassnet caught it: an exit status that depends on
    timing."""
    status = _main(argv)
    if status == 130 and argv is None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(130)
    return status


def _main(argv: list[str] | None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    if signal.getsignal(signal.SIGINT) is not _on_sigint:
        signal.signal(signal.SIGINT, _on_sigint)
    _Interrupts.defer = False
    try:
        if _Interrupts.seen:
            raise KeyboardInterrupt
        status = _run(argv)
        if _Interrupts.seen:
            return _interrupted()
        return status
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return _pipe_closed()
    except SystemExit:
        if _Interrupts.seen:
            return _interrupted()
        raise
    except BaseException as exc:  # a bug in glassnet, not the user's doing
        if _Interrupts.seen:
            return _interrupted()
        if debug:
            raise
        return _fail(
            70,
            f"glassnet: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for the traceback, and please report it)",
        )


def _run(argv: list[str] | None) -> int:
    STATE.stdout_closed = False
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = parser.commands.get(getattr(args, "command", None), parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        from ..modelfile import ModelFileError
        from ..training import NonFiniteLossError

        errors = (UserError, ModelFileError, NonFiniteLossError, ValueError, TypeError)
        try:
            return args.run(args)
        except errors as exc:
            if _Interrupts.seen:
                raise KeyboardInterrupt from None
            if args.debug and not isinstance(exc, (UserError, ModelFileError)):
                raise
            return _fail(2, f"glassnet: error: {_one_line(exc)}")
        except MemoryError:
            if args.debug:
                raise
            return _fail(
                2,
                "glassnet: error: out of memory; leave wide columns out with --ignore, bound "
                "categories with --max-categories, or use fewer rows",
            )
        except ImportError as exc:
            return _fail(2, f"glassnet: error: {_one_line(exc)}")
        except BrokenPipeError:
            raise
        except OSError as exc:
            if args.debug:
                raise
            where = f" ({printable(exc.filename)})" if getattr(exc, "filename", None) else ""
            return _fail(2, f"glassnet: error: {printable(exc.strerror or exc)}{where}")
    finally:
        try:
            if not STATE.stdout_closed:
                sys.stdout.flush()
        except BrokenPipeError:
            _pipe_closed()
        except (OSError, ValueError):
            pass
