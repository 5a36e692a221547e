"""The glassnet command: from a data file to a model file to predictions.

    glassnet train DATA --target COL [options]    train, print metrics, write a model
    glassnet predict MODEL DATA [--out F]         predictions as CSV
    glassnet inspect MODEL [--weights]            layers, preprocessing, training summary
    glassnet demo [xor|gender|exam|all]           the seed stories

Each command is a module of this package with ``add_parser(subparsers)`` and
``run(args) -> exit status``; :mod:`.common` holds what they share. A user error
never shows a traceback: it prints one line, ``glassnet: error: ...``, and exits
with status 2. ``--debug`` shows the traceback of anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib

from .. import __version__
from .common import UserError

__all__ = ["main", "build_parser", "UserError", "COMMANDS"]

#: The subcommands, in the order ``glassnet --help`` lists them; each names a module here.
COMMANDS = ("train", "predict", "inspect", "demo", "explain")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="A NumPy neural-network library in which nothing is hidden.",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    from ..modelfile import ModelFileError
    from ..training import NonFiniteLossError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UserError, ModelFileError, NonFiniteLossError, ValueError, TypeError) as exc:
        if args.debug:
            raise
        parser.exit(2, f"glassnet: error: {_one_line(exc)}\n")
    except ImportError as exc:
        parser.exit(2, f"glassnet: error: {_one_line(exc)}\n")
    except OSError as exc:
        if args.debug:
            raise
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        parser.exit(2, f"glassnet: error: {exc.strerror or _one_line(exc)}{where}\n")
    except KeyboardInterrupt:
        parser.exit(130, "glassnet: interrupted\n")
    except Exception as exc:  # a bug in glassnet, not the user's doing
        if args.debug:
            raise
        parser.exit(
            70,
            f"glassnet: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for the traceback, and please report it)\n",
        )
    return 0
