"""One glassnet command from its arguments to its exit status: the parser, and what each
way of ending becomes.

0: done. 2: a user error, one line ``glassnet: error: ...`` (a usage error says which
``--help`` to read). 70: a bug in glassnet, one line, or its traceback with ``--debug``.
130: interrupted, ``glassnet: interrupted`` on a line of its own. A closed stdout
(``| head``) ends the output quietly with 0. Whatever goes wrong after a Ctrl-C is the
interrupt's doing, and ends as one. ``--quiet``, before or after the subcommand, leaves
only warnings and errors on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from .. import __version__
from . import messages
from .common import UserError, close_stdout, printable, reopen_stdout, said, stdout_closed
from .outputs import Outputs

__all__ = ["COMMANDS", "build_parser", "run"]

#: The subcommands, in the order ``glassnet --help`` lists them; each names a module here.
COMMANDS = ("train", "predict", "evaluate", "inspect", "explain", "demo", "export", "serve")

_QUIET = "only warnings and errors on stderr: no progress bar, no notes"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is."""

    #: The top-level parser's subcommand parsers by name (build_parser sets it).
    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"glassnet: error: {printable(message)} (see '{self.prog} --help')\n")


def build_parser() -> _Parser:
    parser = _Parser(
        prog="glassnet",
        description="A NumPy neural-network library in which nothing is hidden.",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--quiet", action="store_true", help=_QUIET)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).add_parser(sub)
    for command in sub.choices.values():
        # After the subcommand too; SUPPRESS keeps a --quiet given before it.
        command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=_QUIET)
    parser.commands = dict(sub.choices)  # for usage errors that name the subcommand's --help
    return parser


def run(argv: list[str] | None, interrupts) -> int:
    """Run the command ``argv`` (None: the process's arguments); returns its exit status.

    ``interrupts`` is the :class:`~glassnet.cli.interrupts.Interrupts` installed for it;
    a Ctrl-C that came before this call is acted on at once. ``--help``, ``--version``
    and usage errors raise SystemExit, as argparse does. On every way out the command is
    finished (``interrupts.finish()``): a Ctrl-C after that is ignored.
    """
    with messages.shown(interrupts):
        try:
            return _outcome(argv, interrupts)
        except KeyboardInterrupt:  # Ctrl-C while an error was being reported
            return _interrupted(interrupts)


def _outcome(argv: list[str] | None, interrupts) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        interrupts.arm()
        status = _dispatch(argv, interrupts)
        with interrupts.finishing():
            return status
    except KeyboardInterrupt:
        return _interrupted(interrupts)
    except BrokenPipeError:
        interrupts.finish()
        close_stdout()
        return 0
    except SystemExit:
        if interrupts.seen:
            return _interrupted(interrupts)
        interrupts.finish()
        raise
    except BaseException as exc:  # a bug in glassnet, not the user's doing
        if interrupts.seen:
            return _interrupted(interrupts)
        if debug:
            interrupts.finish()
            raise
        return _fail(
            interrupts,
            70,
            f"glassnet: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for the traceback, and please report it)",
        )


def _dispatch(argv: list[str] | None, interrupts) -> int:
    reopen_stdout()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        name = getattr(args, "command", None)
        command = parser if name is None else parser.commands.get(name, parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.quiet:
        messages.quiet()
    try:
        from ..modelfile import ModelFileError
        from ..training import NonFiniteLossError

        errors = (UserError, ModelFileError, NonFiniteLossError, ValueError, TypeError)
        try:
            args.interrupts = interrupts
            with Outputs(interrupts) as args.outputs:
                return args.run(args)
        except errors as exc:
            if interrupts.seen:
                raise KeyboardInterrupt from None
            if args.debug and not isinstance(exc, (UserError, ModelFileError)):
                raise
            return _fail(interrupts, 2, f"glassnet: error: {_one_line(exc)}")
        except MemoryError:
            if args.debug:
                raise
            return _fail(
                interrupts,
                2,
                "glassnet: error: out of memory; leave wide columns out with --ignore, bound "
                "categories with --max-categories, or use fewer rows",
            )
        except ImportError as exc:
            # a missing optional library is the user's to install; glassnet's own module
            # failing to import is glassnet's fault, an internal error
            if args.debug or (exc.name or "").partition(".")[0] == "glassnet":
                raise
            return _fail(interrupts, 2, f"glassnet: error: {_one_line(exc)}")
        except BrokenPipeError:
            raise
        except OSError as exc:
            if args.debug:
                raise
            where = f" ({printable(exc.filename)})" if getattr(exc, "filename", None) else ""
            return _fail(interrupts, 2, f"glassnet: error: {printable(exc.strerror or exc)}{where}")
    finally:
        try:
            if not stdout_closed():
                sys.stdout.flush()
        except BrokenPipeError:
            close_stdout()
        except (OSError, ValueError):
            pass


def _one_line(exc: BaseException) -> str:
    text = said(exc).strip() or type(exc).__name__
    return printable(" ".join(text.split()))


def _fail(interrupts, status: int, message: str) -> int:
    if interrupts.seen:  # the error is the interrupt's doing
        return _interrupted(interrupts)
    interrupts.finish()
    messages.write_line(message)
    return status


def _interrupted(interrupts) -> int:
    interrupts.finish()
    messages.write_line("glassnet: interrupted")
    return 130
