"""Columns of any dataframe as NumPy arrays, and text made into values.

A table arrives as a pandas, polars or pyarrow table (through narwhals, so no library
gets its own branch), a mapping of column name to values, or a list of records (dicts,
as a JSON body holds them). :func:`as_columns` turns any of them into a
:class:`Columns`: names in order, and one 1-D NumPy array per column.

Text read from a file is kept as it was written; the encoder turns it into numbers
with :func:`parse_numbers`, :func:`parse_booleans` and :func:`parse_datetimes`. Only
empty cells are missing: ``NA``, ``None`` or ``null`` written in a file are text. What
kind a column is, is decided from all its values by :mod:`.survey`. :func:`where_text`
is how every message names rows.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dates import parse_dates
from .fixes import FixableError

__all__ = [
    "PreprocessingError",
    "Columns",
    "as_columns",
    "missing_mask",
    "mark_missing",
    "parse_numbers",
    "parse_booleans",
    "parse_datetimes",
    "label_text",
    "rows_text",
    "where_text",
    "line_of",
    "KINDS",
    "import_pandas",
]

#: The kinds of feature column, as the model file names them.
KINDS = ("numeric", "categorical", "datetime", "boolean")


class PreprocessingError(FixableError):
    """The data does not fit what the model was trained on (or cannot be encoded). Its
    message spells the options that fix it for a Python caller; :meth:`spelled` for the
    command line or the service (:mod:`.fixes`)."""


def import_pandas():
    """pandas, or an ImportError that names the extra to install."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "glassnet's tabular models need pandas: pip install 'glassnet[cli]'"
        ) from None
    return pd


@dataclass
class Columns:
    """A table as NumPy arrays: ``names`` in order, ``data[name]`` of shape (n_rows,)."""

    names: list[str]
    data: dict[str, np.ndarray]
    n_rows: int

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def take(self, rows: np.ndarray) -> Columns:
        """The rows at these positions (or a boolean mask), as a new Columns."""
        data = {k: v[rows] for k, v in self.data.items()}
        n = int(np.count_nonzero(rows)) if rows.dtype == bool else len(rows)
        return Columns(list(self.names), data, n)


def as_columns(table: Any) -> Columns:
    """Any supported table as :class:`Columns`.

    Parameters
    ----------
    table : pandas / polars / pyarrow table (any dataframe narwhals knows), a mapping
        of column name to a 1-D sequence, one record (a mapping of column name to a
        single value), a list of records (dicts), or a Columns. Column names that are
        not text (a pandas frame made from an array has 0, 1, 2, ...) are read as text.
    """
    if isinstance(table, Columns):
        return table
    if isinstance(table, Mapping):
        if table and all(np.ndim(v) == 0 for v in table.values()):
            return _from_records([table])  # one record, as a JSON body holds it
        return _from_mapping(table)
    if isinstance(table, Sequence) and not isinstance(table, (str, bytes)):
        if all(isinstance(r, Mapping) for r in table):
            return _from_records(table)
    try:
        import narwhals as nw
    except ImportError:
        raise ImportError(
            "glassnet's tabular models read dataframes through narwhals: "
            "pip install 'glassnet[cli]'"
        ) from None
    pandas = type(table).__module__.startswith("pandas") and hasattr(table, "columns")
    native = list(table.columns) if pandas else []  # pandas allows any name, twice
    names = [str(c) for c in native]
    if len(set(names)) != len(names):  # before narwhals, whose message names its own API
        raise ValueError(
            f"the table has a column name twice: {_first_duplicate(names)!r}; give every "
            "column a name of its own"
        )
    nested = next((c for c in native if isinstance(c, tuple)), None)
    if nested is not None:
        raise ValueError(
            f"the table's column names are tuples, such as {nested!r} (a pandas MultiIndex); "
            "give its columns one name each, for example "
            "frame.columns = ['_'.join(map(str, c)) for c in frame.columns]"
        )
    try:
        frame = nw.from_native(table, eager_only=True)
    except TypeError:
        raise TypeError(
            "expected a table (a pandas, polars or pyarrow table, a mapping of columns "
            f"or a list of records), got {type(table).__name__}"
        ) from None
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"the table has a column name twice: {_first_duplicate(names)!r}")
    data = {str(c): _plain_array(frame.get_column(c).to_numpy()) for c in frame.columns}
    return Columns(names, data, len(frame))


def _first_duplicate(names: Sequence[str]) -> str:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return ""


def _plain_array(values: Any) -> np.ndarray:
    """A 1-D NumPy array; pandas' nullable and string arrays become object arrays, and
    durations (timedelta64) their number of seconds (NaN where missing)."""
    array = np.asarray(values)
    if array.ndim != 1:
        array = np.asarray(list(values), dtype=object)
        if array.ndim != 1:
            raise ValueError("every column must be one-dimensional")
    if array.dtype.kind == "m":
        return array / np.timedelta64(1, "s")
    if array.dtype.kind in "OSU" or array.dtype.kind not in "biufcMmO":
        array = array.astype(object)
    return array


def _from_mapping(table: Mapping) -> Columns:
    names = [str(k) for k in table]
    data = {str(k): _plain_array(v) for k, v in table.items()}
    lengths = {len(v) for v in data.values()}
    if len(lengths) > 1:
        raise ValueError(f"the columns have different lengths: {sorted(lengths)}")
    return Columns(names, data, lengths.pop() if lengths else 0)


def _from_records(records: Sequence[Mapping]) -> Columns:
    names: list[str] = []
    seen: set[str] = set()
    for r in records:
        for k in r:
            if k not in seen:
                seen.add(k)
                names.append(k)
    data = {}
    for name in names:
        column = np.empty(len(records), dtype=object)
        column[:] = [r.get(name) for r in records]
        data[str(name)] = column
    return Columns([str(n) for n in names], data, len(records))


# -- missing values and kinds --------------------------------------------------------------


def missing_mask(values: np.ndarray) -> np.ndarray:
    """Which entries are missing: NaN, None, NaT, pandas' NA, or an empty string."""
    kind = values.dtype.kind
    if kind == "f":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    if kind != "O":
        return np.zeros(values.shape, dtype=bool)
    pd = import_pandas()
    mask = np.asarray(pd.isna(values), dtype=bool)
    present = ~mask  # pandas' NA compares as NA, so only present cells are compared
    with np.errstate(all="ignore"):
        empty = values[present] == ""  # an empty string is an empty cell (spaces are data)
    if isinstance(empty, np.ndarray):
        mask[present] = empty.astype(bool, copy=False)
    return mask


def mark_missing(cols: Columns, words: Sequence[str]) -> Columns:
    """The table with every text cell that is one of ``words`` made missing (None), as
    reading it with ``--na-values`` would have; other cells are untouched."""
    if not words:
        return cols
    pd = import_pandas()
    data = dict(cols.data)
    for name, values in data.items():
        if values.dtype.kind != "O":
            continue
        hit = pd.Series(values, dtype=object).isin(list(words)).to_numpy(dtype=bool)
        if hit.any():
            values = values.copy()
            values[hit] = None
            data[name] = values
    return Columns(list(cols.names), data, cols.n_rows)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_))


def parse_numbers(values: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a column: float64 values (NaN where missing) and a mask of the cells
    that are present but not numbers (text such as ``NA``, ``abc``, or ``nan`` spelled out)."""
    kind = values.dtype.kind
    if kind in "biuf":
        return values.astype(np.float64), np.zeros(values.shape, dtype=bool)
    if kind != "O":
        return np.full(values.shape, np.nan), ~missing
    pd = import_pandas()
    out = np.full(values.shape, np.nan)
    present = ~missing
    cells = values[present]
    inferred = pd.api.types.infer_dtype(cells, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        parsed = cells.astype(np.float64)
    elif inferred == "string" or len(cells) == 0:
        parsed = pd.to_numeric(cells, errors="coerce").astype(np.float64, copy=False)
    else:  # a mix of types: numbers as they are, text parsed, the rest not numbers
        typed = np.fromiter((_is_number(v) for v in cells), dtype=bool, count=len(cells))
        parsed = np.full(len(cells), np.nan)
        parsed[typed] = np.array([float(v) for v in cells[typed]])
        strings = pd.Series(cells[~typed], dtype=object)
        is_str = strings.map(type).eq(str)
        parsed[~typed] = pd.to_numeric(strings.where(is_str), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    bad = np.isnan(parsed)  # present, yet not a number ("nan" written out counts as text)
    out[present] = parsed
    failed = np.zeros(values.shape, dtype=bool)
    failed[present] = bad
    return out, failed


def parse_booleans(values: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1.0 / 0.0 from booleans, ``true``/``false`` in any case, or 1 and 0 (as numbers or
    as text, so a CSV cell reads as a JSON number does); returns (values with NaN where
    missing, mask of cells that are none of these)."""
    out = np.full(values.shape, np.nan)
    if values.dtype.kind == "b":
        return values.astype(np.float64), np.zeros(values.shape, dtype=bool)
    present = ~missing
    if values.dtype.kind in "iuf":
        v = values[present].astype(np.float64)
        out[present] = v
        failed = np.zeros(values.shape, dtype=bool)
        failed[present] = ~np.isin(v, (0.0, 1.0))
        return out, failed
    pd = import_pandas()
    cells = pd.Series(values[present], dtype=object)
    # astype(str): the cells may be Python bools alone (JSON records), which .str refuses
    words = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}
    text = cells.astype(str).str.strip().str.lower().map(words)
    typed = cells.map({True: 1.0, False: 0.0})  # also the numbers 1 and 0, which hash alike
    v = text.fillna(typed).to_numpy(dtype=np.float64, na_value=np.nan)
    out[present] = v
    failed = np.zeros(values.shape, dtype=bool)
    failed[present] = np.isnan(v)
    return out, failed


def parse_datetimes(
    values: np.ndarray, missing: np.ndarray, fmt: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[s] values (NaT where missing) from datetimes, or text read with the
    strftime format ``fmt`` (None: ISO 8601, a time with a zone taken in UTC), and a mask
    of the cells that are present but not dates (see :func:`~.dates.parse_dates`)."""
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    failed = np.zeros(values.shape, dtype=bool)
    present = ~missing
    out[present], failed[present] = parse_dates(values[present], fmt)
    return out, failed


def label_text(values: np.ndarray) -> np.ndarray:
    """Category labels as text: strings as written, whole numbers without '.0', bools as
    True/False. Returns an object array of str."""
    if values.dtype.kind in "iub":
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        out = values.astype(str).astype(object)
        out[whole] = values[whole].astype(np.int64).astype(str)
        return out
    pd = import_pandas()
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values  # text already: kept as written
    out = np.empty(len(values), dtype=object)
    out[:] = [_label(v) for v in values]
    return out


def _label(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and v == round(v):
        return str(int(v))
    return str(v)


def line_of(where: tuple[str, Any], position: int) -> int:
    """The number a message gives the row at this position of the table."""
    first = where[1]
    if isinstance(first, np.ndarray):
        return int(first[position])
    return int(position) + int(first)


def where_text(lines: Sequence[tuple[str, int]], total: int) -> str:
    """'line 4', 'lines 4, 9 and 3 more', or 'a.csv line 4, b.csv line 9' across files:
    the first ``lines`` (unit, number) of ``total`` rows."""
    more = f" and {total - len(lines)} more" if total > len(lines) else ""
    units = list(dict.fromkeys(u for u, _ in lines))
    if len(units) == 1:
        numbers = ", ".join(str(n) for _, n in lines)
        return f"{units[0]}{'s' * (total > 1)} {numbers}{more}"
    return ", ".join(f"{u} {n}" for u, n in lines) + more


def rows_text(
    positions: np.ndarray | Sequence[int], where: tuple[str, Any] = ("row", 1), limit: int = 5
) -> str:
    """'line 4' or 'rows 4, 9, 12 and 3 more': how a message names rows, given how the
    table numbers them. ``where`` is (unit, the number of the table's first row), or
    (unit, an array of every row's number) for a table whose rows were picked from a file."""
    unit = where[0]
    positions = np.asarray(positions)
    shown = ", ".join(str(line_of(where, p)) for p in positions[:limit])
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"{unit}{'s' * int(len(positions) > 1)} {shown}{more}"
