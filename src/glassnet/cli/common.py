"""What every glassnet command shares: the one-line error, safe terminal text, stdout
that may close early, warnings, and the options that say how to read a data file.

A command raises :class:`UserError` (or a ``ValueError`` from the library, such as a
:class:`~glassnet.ModelFileError`) for anything the user can fix; ``glassnet.cli.main``
turns it into one line on stderr and exit status 2. :func:`say` prints to stdout and,
when the reader has gone (``| head``), stops printing but lets the work (and the files)
finish. This module imports the standard library alone, so the command starts at once;
pandas and NumPy come with the work. The files a command reads are in :mod:`.inputs`,
those it writes in :mod:`.outputs`.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import sys

__all__ = [
    "UserError",
    "said",
    "printable",
    "say",
    "warn",
    "warn_once",
    "warn_filled",
    "stdout_closed",
    "close_stdout",
    "reopen_stdout",
    "add_read_options",
    "add_impute_option",
    "read_options",
    "reading_of",
    "KEPT_READING",
    "read_table",
    "add_chunk_rows",
    "columns",
]

_log = logging.getLogger(__name__)


class UserError(Exception):
    """An error in what the user asked for, reported as one line."""


def said(exc: BaseException) -> str:
    """An exception's message as the command line says it: the options that fix an
    error of the library's data (:mod:`glassnet.tabular.fixes`) spelled as flags."""
    fixes = sys.modules.get("glassnet.tabular.fixes")  # not loaded: no fix was named
    if fixes is None:
        return str(exc)
    text = exc.message if isinstance(exc, fixes.FixableError) else str(exc)
    return fixes.spell(text, "command line")


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


class _Stdout:
    closed = False  # its reader has gone; nothing more is written to it


_STDOUT = _Stdout()


def close_stdout() -> None:
    """The reader of stdout has gone: point stdout at /dev/null so nothing more (not even
    the flush at exit) fails, and remember it."""
    _STDOUT.closed = True
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def reopen_stdout() -> None:
    """A new command writes to stdout again (main() runs many in one process)."""
    _STDOUT.closed = False


def stdout_closed() -> bool:
    return _STDOUT.closed


def say(*lines: str) -> None:
    """Print lines to stdout; if its reader has gone, print nothing more and carry on."""
    if _STDOUT.closed:
        return
    try:
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        close_stdout()


def warn(message: str) -> None:
    """``glassnet: warning: <message>`` on stderr (a record of the glassnet logger)."""
    _log.warning(message)


def warn_once(messages, seen: set) -> None:
    """Warn each message about a column (``message.column``, a ColumnWarning) once per
    column: ``seen`` holds the columns warned about so far."""
    for message in messages:
        column = getattr(message, "column", message)
        if column not in seen:
            seen.add(column)
            warn(message + " (warned once per column)")


def warn_filled(filled: dict) -> None:
    """Say how many missing cells were filled with the training statistics (by --impute,
    or by a model trained with --impute, which always fills them)."""
    from ..tabular.model import filled_note

    note = filled_note(filled)
    if note:
        warn(note)


# -- reading -------------------------------------------------------------------------------


def add_read_options(parser) -> None:
    """The options that say how to read a data file."""
    g = parser.add_argument_group("reading the data")
    g.add_argument(
        "--sep",
        metavar="C",
        help="the separator of a text file (default: sniffed among , ; tab |; tab for .tsv)",
    )
    remembered = " or, for a command-line model, the one its training read with"
    g.add_argument(
        "--encoding",
        metavar="NAME",
        help=f"the text encoding (default: UTF-8{remembered}, unless the file is plainly UTF-8)",
    )
    g.add_argument(
        "--decimal", metavar="C", help=f"the decimal mark of numbers (default: .{remembered})"
    )
    g.add_argument(
        "--thousands",
        metavar="C",
        help=f"the thousands separator of numbers (default: none{remembered})",
    )
    g.add_argument(
        "--na-values",
        action="append",
        metavar="TEXTS",
        help="cell texts that mean missing, comma-separated (only empty cells by default; "
        "NA, None, null are text unless listed here; a command-line model also reads the "
        "ones its training read as missing)",
    )


def add_impute_option(parser, told: str = "stderr") -> None:
    """--impute, for the commands that apply a model (``told``: where the count goes)."""
    parser.add_argument(
        "--impute",
        action="store_true",
        help="fill missing cells as the model's training did (the training median or mean, "
        f"a level of its own, or the most frequent value), and say how many in {told} "
        "(otherwise a missing cell is an error, unless the model was trained with --impute)",
    )


def add_chunk_rows(parser, what: str) -> None:
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=65_536,
        metavar="N",
        help=f"rows {what} at a time (default: 65536)",
    )


def read_options(args, model=None, path: str | None = None):
    """How to read the data file at ``path``: the reading options given. A command-line
    ``model`` also reads as missing the cell texts its training did, and, where they are
    not given, reads numbers with the marks its training read them with, and the file
    in the encoding its training read (unless the file is plainly UTF-8); it says so."""
    from ..tabular.fixes import option, spell, together
    from ..tabular.reading import DataFileError, ReadOptions, plainly_utf8

    na_values = tuple(columns(args.na_values, keep_blank=False))
    given = {name: getattr(args, name) for name in KEPT_READING}
    info = getattr(model, "info", None)
    if isinstance(info, dict):
        na_values += tuple(v for v in info.get("na_values") or () if v not in na_values)
        read = info.get("read")
        taken = {
            name: value
            for name, value in (read.items() if isinstance(read, dict) else ())
            if given.get(name, "") is None and isinstance(value, str)
        }
        if "encoding" in taken and path is not None and plainly_utf8(path):
            del taken["encoding"]
        # a mark given in place of the other (--decimal . over a thousands mark '.')
        for name, other in (("thousands", "decimal"), ("decimal", "thousands")):
            if name in taken and taken[name] == given[other]:
                del taken[name]
        if taken:
            given.update(taken)
            flags = spell(together([option(k, v) for k, v in taken.items()]), "command line")
            _log.info(
                "reading %s as the model's training read its data: %s (give others to read "
                "it otherwise)",
                printable(path or "the data"),
                flags,
            )
    try:
        return ReadOptions(
            sep=args.sep,
            encoding=given["encoding"],
            thousands=given["thousands"],
            decimal=given["decimal"] or ".",
            na_values=na_values,
        )
    except DataFileError as exc:
        raise UserError(said(exc)) from None


def reading_of(args) -> dict[str, str]:
    """The reading options given to train that its model keeps (``info["read"]``), for
    predict, evaluate and explain to read their files the same way: the encoding, the
    decimal and the thousands marks."""
    given = {name: getattr(args, name) for name in KEPT_READING}
    return {name: value for name, value in given.items() if value is not None}


#: The reading options a command-line model keeps (:func:`reading_of`), in
#: ``info["read"]``.
KEPT_READING = ("encoding", "decimal", "thousands")


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
        raise UserError(said(exc)) from None
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


def columns(text: str | list[str] | None, keep_blank: bool = False) -> list[str]:
    """Names from a comma-separated option value, or from each of a repeated option's
    values (``--ignore a --ignore b`` is ``--ignore a,b``), in order. The value is read
    as a line of CSV: a name that holds a comma is given in double quotes
    (``--ignore '"Price, USD",id'``), and blanks around a name are not part of it."""
    if not text:
        return []
    texts = [text] if isinstance(text, str) else text
    parts = []
    for t in texts:
        try:
            parts += next(csv.reader([t], skipinitialspace=True, strict=True), [])
        except csv.Error as exc:
            raise UserError(
                f"cannot read {printable(t)!r} as a list of names ({exc}); give them "
                'separated by commas, a name that holds a comma in double quotes: "a, b",c'
            ) from None
    return [c.strip() for c in parts if c.strip() or keep_blank]
