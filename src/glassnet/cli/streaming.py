"""glassnet train on data larger than memory: --stream, or --memory-budget exceeded.

The file is then read in chunks, several times (statistics, the validation rows, one
pass an epoch), through :meth:`glassnet.TabularModel.fit_stream`; memory is bounded by
the chunk and shuffle-buffer sizes.
"""

from __future__ import annotations

import argparse
import logging
import re

from .common import UserError, add_chunk_rows, said
from .inputs import DataFile

__all__ = ["add_stream_options", "memory_size", "choose", "fit"]

_log = logging.getLogger(__name__)

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2}
_UNITS.update({"mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3})
_UNITS.update({"t": 1000**4, "tb": 1000**4, "tib": 1024**4})


def add_stream_options(p) -> None:
    """--stream, --chunk-rows, --buffer-rows, --memory-budget: data larger than memory."""
    g = p.add_argument_group("data larger than memory")
    g.add_argument(
        "--stream",
        action="store_true",
        help="read the file in chunks (several passes: statistics, validation rows, one per "
        "epoch) instead of loading it; memory is bounded by the chunk and buffer sizes",
    )
    add_chunk_rows(g, "read, when streaming,")
    g.add_argument(
        "--buffer-rows",
        type=int,
        default=65_536,
        metavar="N",
        help="rows of the shuffle buffer that mixes the chunks when streaming (default: 65536)",
    )
    g.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="stream (and say so) when training in memory would take more than SIZE, "
        "e.g. 2GiB or 500MB",
    )


def memory_size(text: str) -> int:
    """Bytes from '2GiB', '500MB', '1.5G' or '1000000'."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match and match.group(2).lower()
    if not match or unit not in _UNITS or float(match.group(1)) <= 0:
        raise UserError(f"--memory-budget takes a size such as 2GiB, 500MB or 800MiB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def choose(args: argparse.Namespace, data: DataFile, options) -> bool:
    """Whether to stream: --stream, or --memory-budget exceeded (said on stderr)."""
    budget = memory_size(args.memory_budget) if args.memory_budget else None
    for flag, value, least in (
        ("--chunk-rows", args.chunk_rows, 1),
        ("--buffer-rows", args.buffer_rows, 0),
    ):
        if value < least:
            raise UserError(f"{flag} must be at least {least}, got {value}")
    if not args.stream and budget is None:
        return False
    if data.path == "-":
        raise UserError("streaming reads the data several times; give a file, not standard input")
    if args.report:
        raise UserError("--report needs the data in memory; leave it out when streaming")
    if args.stream:
        return True
    assert budget is not None  # --memory-budget given: without it, choose returned above
    from ..tabular import DataFileError
    from ..tabular.encoding import human_bytes
    from ..tabular.streaming import estimate_in_memory

    try:
        needed, rows, width = estimate_in_memory(data.path, options)
    except DataFileError as exc:
        raise UserError(said(exc)) from None
    if needed <= budget:
        return False
    _log.info(
        f"training in memory would take about {human_bytes(needed)} (some {rows} rows, "
        f"{width} encoded columns), more than --memory-budget {human_bytes(budget)}: "
        f"streaming in chunks of {args.chunk_rows} rows instead"
    )
    return True


def fit(args: argparse.Namespace, data: DataFile, options, **fit_options):
    """TabularModel.fit_stream with the command's options: the model (and its history)."""
    from ..tabular import TabularModel

    return TabularModel.fit_stream(
        data.path,
        args.target,
        chunk_rows=args.chunk_rows,
        buffer_rows=args.buffer_rows,
        read_options=options,
        **fit_options,
    )
