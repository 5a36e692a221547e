"""What every glassnet command shares: the one-line error, safe terminal text, reading data,
and output files that are never lost or left half-written.

A command raises :class:`UserError` (or a ``ValueError`` from the library, such as a
:class:`~glassnet.ModelFileError`) for anything the user can fix; ``glassnet.cli.main``
turns it into one line on stderr and exit status 2. This module imports the standard
library alone, so the command starts at once; pandas and NumPy come with the work.

Outputs: :func:`check_output` refuses, before any work, a path that is a folder or a
special file, that is one of the inputs (the same file, by device and inode, not by
name), or whose folder is missing or read-only. :func:`atomic_path` writes beside the
target and renames over it only when the whole file is written, so an interrupted or
failed write leaves the old file as it was. :func:`say` prints to stdout and, when
the reader has gone (``| head``), stops printing but lets the work (and the files) finish.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Sequence

from ..atomic import atomic_path

__all__ = [
    "UserError",
    "printable",
    "say",
    "warn",
    "stdout_closed",
    "add_read_options",
    "read_options",
    "read_table",
    "add_chunk_rows",
    "check_model_and_data",
    "check_input",
    "check_output",
    "check_distinct",
    "atomic_path",
    "columns",
    "progress_line",
    "close_stdout",
]


class UserError(Exception):
    """An error in what the user asked for, reported as one line."""


# -- text that reaches a terminal ----------------------------------------------------------

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def printable(text: object) -> str:
    """Text with every control character (ANSI escapes, carriage returns, bidi overrides)
    shown as an escape such as ``\\x1b``, so a name from a file cannot drive the terminal."""

    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, str(text))


class _State:
    stdout_closed = False
    partial_line = False  # a progress bar is drawn on stderr without its newline yet


STATE = _State()


def close_stdout() -> None:
    """The reader of stdout has gone: point stdout at /dev/null so nothing more (not even
    the flush at exit) fails, and remember it."""
    STATE.stdout_closed = True
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def stdout_closed() -> bool:
    return STATE.stdout_closed


def say(*lines: str) -> None:
    """Print lines to stdout; if its reader has gone, print nothing more and carry on."""
    if STATE.stdout_closed:
        return
    try:
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        close_stdout()


def warn(message: str) -> None:
    end_progress_line()
    with contextlib.suppress(OSError):
        sys.stderr.write(f"glassnet: warning: {printable(message)}\n")
        sys.stderr.flush()


def progress_line(drawing: bool) -> None:
    """Progress bars report here whether a line of theirs is open on stderr."""
    STATE.partial_line = drawing


def end_progress_line() -> None:
    if STATE.partial_line:
        with contextlib.suppress(OSError):
            sys.stderr.write("\n")
        STATE.partial_line = False


# -- reading -------------------------------------------------------------------------------


def add_read_options(parser) -> None:
    """The options that say how to read a data file."""
    g = parser.add_argument_group("reading the data")
    g.add_argument(
        "--sep",
        metavar="C",
        help="the separator of a text file (default: sniffed among , ; tab |; tab for .tsv)",
    )
    g.add_argument("--encoding", metavar="NAME", help="the text encoding (default: UTF-8)")
    g.add_argument(
        "--decimal", default=".", metavar="C", help="the decimal mark of numbers (default: .)"
    )
    g.add_argument(
        "--thousands", metavar="C", help="the thousands separator of numbers (default: none)"
    )
    g.add_argument(
        "--na-values",
        metavar="TEXTS",
        help="cell texts that mean missing, comma-separated (only empty cells by default; "
        "NA, None, null are text unless listed here)",
    )


def add_chunk_rows(parser, what: str) -> None:
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=65_536,
        metavar="N",
        help=f"rows {what} at a time (default: 65536)",
    )


def check_model_and_data(args) -> list[tuple[str, str]]:
    """The checks predict and evaluate start with; returns the inputs an output must not be."""
    if args.chunk_rows < 1:
        raise UserError(f"--chunk-rows must be at least 1, got {args.chunk_rows}")
    check_input(args.data, "the data")
    return [(args.model, "the model"), (args.data, "the data")]


def read_options(args):
    from ..tabular.reading import DataFileError, ReadOptions

    try:
        return ReadOptions(
            sep=args.sep,
            encoding=args.encoding,
            thousands=args.thousands,
            decimal=args.decimal,
            na_values=tuple(columns(args.na_values, keep_blank=False)),
        )
    except DataFileError as exc:
        raise UserError(str(exc)) from None


def read_table(path: str, options=None):
    """The whole table in a data file, or a UserError; text columns that hold only numbers
    become numeric columns (pandas' usual reading, for commands that select columns by
    type). train, predict and evaluate read the cells as written instead."""
    import numpy as np

    from ..tabular.columns import missing_mask, parse_numbers
    from ..tabular.reading import DataFileError
    from ..tabular.reading import read_table as _read

    try:
        frame = _read(path, options)
    except DataFileError as exc:
        raise UserError(str(exc)) from None
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=object)
        missing = missing_mask(values)
        if missing.all():
            continue
        numbers, failed = parse_numbers(values, missing)
        if not failed.any():
            whole = not missing.any() and bool((numbers == numbers.round()).all())
            whole = whole and float(np.abs(numbers).max()) < 2.0**53
            frame[name] = numbers.astype("int64") if whole else numbers
    return frame


def check_input(path: str, what: str) -> None:
    """Refuse a data file that is missing, a folder, a FIFO or a device, before opening."""
    from ..tabular.reading import DataFileError, check_data_path

    try:
        check_data_path(path)
    except DataFileError as exc:
        raise UserError(f"{what}: {exc}") from None


# -- outputs -------------------------------------------------------------------------------


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str, flag: str, inputs: Sequence[tuple[str, str]] = ()) -> None:
    """Fail before the work, not after it, when an output path cannot or must not be written.

    ``inputs`` are (path, what) pairs: an output that is the same file as one of them (a
    hard link or a symbolic link too) is refused.
    """
    shown = printable(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UserError(f"{flag} {shown}: {exc.strerror}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"{flag} {shown} is a folder; give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{flag} {shown} is not a regular file (a device or a FIFO)")
        for other, what in inputs:
            if other != "-" and _same_file(path, other):
                raise UserError(
                    f"{flag} {shown} is the same file as {what} {printable(other)}; "
                    "writing it would destroy it"
                )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {shown}: the folder {printable(folder)} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{flag} {shown}: the folder {printable(folder)} is not writable")


def check_distinct(outputs: Sequence[tuple[str | None, str]]) -> None:
    """Two outputs must not be one file (by name or, if it exists, by inode)."""
    given = [(p, f) for p, f in outputs if p]
    for i, (a, fa) in enumerate(given):
        for b, fb in given[i + 1 :]:
            if os.path.abspath(a) == os.path.abspath(b) or _same_file(a, b):
                raise UserError(f"{fa} and {fb} name the same file {printable(a)}")


def columns(text: str | None, keep_blank: bool = False) -> list[str]:
    """Names from a comma-separated option value."""
    if not text:
        return []
    parts = [c.strip() for c in text.split(",")]
    return [c for c in parts if c or keep_blank]
