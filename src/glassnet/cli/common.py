"""What every glassnet command shares: the one-line user error, reading tables, output files.

A command raises :class:`UserError` (or a ``ValueError`` from the library, such as a
:class:`~glassnet.ModelFileError`) for anything the user can fix; ``glassnet.cli.main``
turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys

__all__ = ["UserError", "pandas", "read_table", "check_writable", "write_csv", "columns"]


class UserError(Exception):
    """An error in what the user asked for, reported as one line."""


def pandas():
    try:
        import pandas as pd
    except ImportError:
        raise UserError(
            "the command line needs pandas to read CSV files: pip install 'glassnet[cli]'"
        ) from None
    return pd


def read_table(path: str):
    """The table in a data file, or a UserError that names the problem."""
    from ..tabular.reading import DataFileError
    from ..tabular.reading import read_table as _read

    pandas()
    try:
        return _read(path)
    except DataFileError as exc:
        raise UserError(str(exc)) from None


def check_writable(path: str, flag: str) -> None:
    """Fail before the work, not after it, when an output path cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"{flag} {path} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{flag} {path}: the folder {folder} is not writable")


def write_csv(frame, path: str | None) -> None:
    if path is None:
        frame.to_csv(sys.stdout, index=False)
        return
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def columns(text: str | None) -> list[str]:
    """Column names from a comma-separated option value."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else []
