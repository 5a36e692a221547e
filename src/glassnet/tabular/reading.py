"""Reading data files into a pandas DataFrame, with errors that name the file and the problem.

This module reads; it does not decide what a column means (see :mod:`.encoding`).
"""

from __future__ import annotations

import os
import sys

__all__ = ["DataFileError", "read_table"]


class DataFileError(ValueError):
    """A data file is missing, unreadable, or not a table."""


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("reading data files needs pandas: pip install 'glassnet[cli]'") from None
    return pd


def read_table(path: str):
    """Read a CSV file with a header row ('-' reads standard input)."""
    pd = _pandas()
    if path != "-" and not os.path.exists(path):
        raise DataFileError(f"no such file: {path}")
    if path != "-" and os.path.isdir(path):
        raise DataFileError(f"{path} is a folder, not a CSV file")
    try:
        frame = pd.read_csv(sys.stdin if path == "-" else path)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path} is empty") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataFileError(f"cannot parse {path} as CSV: {first}") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path} is not a UTF-8 text file") from None
    if len(frame) == 0:
        raise DataFileError(f"{path} has a header but no rows")
    return frame
