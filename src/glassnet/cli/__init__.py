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
``run(args) -> exit status``; :mod:`.command` holds the parser and turns every way a
command ends into its status (:mod:`.common`, :mod:`.inputs` and :mod:`.outputs` hold
what the commands share). A user error never shows a traceback: it prints one line,
``glassnet: error: ...``, and exits with status 2. Ctrl-C prints ``glassnet:
interrupted`` and exits 130, leaving every file as it was (:mod:`.interrupts`).

Importing this package does nothing but define :func:`main`: the Ctrl-C handler and the
messages' handler are put in when a command starts, and taken out when it ends. The
program itself (the ``glassnet`` script, ``python -m glassnet.cli``) is :mod:`.__main__`.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run one glassnet command in this process; returns its exit status (0 done, 2 a
    user error, 70 an internal error, 130 interrupted).

    ``argv`` are the command's arguments (default: the process's). While it runs, Ctrl-C
    ends it as ``glassnet: interrupted`` and the ``glassnet`` logger's messages go to
    stderr; both are put back as they were before it returns. ``--help``, ``--version``
    and usage errors raise SystemExit, as argparse does.
    """
    from .interrupts import Interrupts  # the standard library alone: in before the rest

    interrupts = Interrupts().install()
    try:
        from .command import run  # a Ctrl-C meanwhile is noted, and acted on as run starts

        return run(argv, interrupts)
    finally:
        interrupts.restore()
