"""glassnet demo: the seed tutorials, retold on glassnet."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "demo",
        help="retell the seed tutorials: data, training, predictions, weights",
        description="Retell the seed tutorials: the data and the network, the training "
        "with its loss printed as the seeds print it, and the predictions, learned weights "
        "and hidden activations.",
    )
    p.add_argument(
        "name",
        nargs="?",
        default="all",
        choices=["xor", "gender", "exam", "all"],
        help="which story to tell (default: all)",
    )
    p.add_argument("--plot", metavar="DIR", help="also write the figures as PNGs into DIR")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import demos

    demos.run(args.name, stream=sys.stdout, plot_dir=args.plot)
    if args.plot:
        print(f"\nfigures written to {args.plot}/")
    return 0
