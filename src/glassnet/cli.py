"""The glassnet command.

``glassnet demo [xor|gender|exam|all]`` retells the seeds.

A user error never shows a traceback: it prints one line, ``glassnet: error: ...``,
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

__all__ = ["main", "build_parser"]


class UserError(Exception):
    """An error in what the user asked for, reported as one line."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demos

    demos.run(args.name, stream=sys.stdout, plot_dir=args.plot)
    if args.plot:
        print(f"\nfigures written to {args.plot}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="A NumPy neural-network library in which nothing is hidden.",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="retell the seed tutorials: data, training, predictions, weights",
        description="Retell the seed tutorials: the data and the network, the training "
        "with its loss printed as the seeds print it, and the predictions, learned weights "
        "and hidden activations.",
    )
    demo.add_argument(
        "name",
        nargs="?",
        default="all",
        choices=["xor", "gender", "exam", "all"],
        help="which story to tell (default: all)",
    )
    demo.add_argument("--plot", metavar="DIR", help="also write the figures as PNGs into DIR")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        parser.exit(2, f"glassnet: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "glassnet: interrupted\n")
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
