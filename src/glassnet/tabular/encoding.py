"""The preprocessing a tabular model carries in its file: feature columns in, a matrix out.

A :class:`FeatureEncoder` turns named columns into the network's input matrix, one
block of columns per feature, vectorised (no loop over rows in Python). It is
fitted by accumulation, so the same encoder learns from one table or from a stream
of chunks, with the same result up to rounding::

    enc = FeatureEncoder(max_categories=20)
    for chunk in chunks:                 # DataFrames, Arrow tables, mappings, records
        enc.partial_fit(chunk, names)    # counts, means and variances accumulate
    enc.finish()                         # decide levels, scales; refuse what is wrong
    X, warnings = enc.transform(table)   # (n_rows, enc.n_outputs)

``fit(table, names)`` is ``partial_fit`` then ``finish``. Means and variances are
combined across chunks with Chan's parallel update on values divided by a power of
two at least as large as the largest magnitude seen, so values near 1e300 neither
overflow the variance nor lose precision. A :class:`TargetEncoder` does the same for
the target (class labels, or a standardised number) and back.

Kinds of column (inferred from the values, see :func:`~.survey.infer_kind`, given by a
:class:`~.survey.Survey` of the whole data with ``partial_fit(kinds=...)``, or forced
with ``categorical=`` / ``numeric=``): numeric, categorical, datetime (with the format
its text is written in) and boolean. Missing cells are refused, every such column named
in one message, unless ``impute=True`` (at fitting, or at ``transform``: the fill values
are always stored). Infinite values are refused, naming column and line. A categorical
column whose one-hot block would take more memory than :data:`MAX_ONE_HOT_BYTES` is
refused before it is allocated (:meth:`FeatureEncoder.check_memory`).

The JSON of the preprocessing (``FeatureEncoder.to_json``), stored in the model
file. It is stable: an exporter rebuilds the same transform from it. The matrix
has one block of columns per entry of ``columns``, in order::

    {"impute": bool, "max_categories": int | null, "columns": [COLUMN, ...]}

    numeric      {"name": str, "kind": "numeric", "mean": float, "std": float (> 0),
                  "fill": float}
                 one output: (x - mean) / std; a missing x (when impute) is ``fill``
                 (``mean``, so 0 after scaling: the training mean, or the median under
                 robust scaling). ``"integers": true`` (optional) records that every
                 training value was there and a whole number given as an integer (a schema of
                 the inputs, such as MLflow's, types the column so); it changes
                 nothing in the transform.
    boolean      {"name": str, "kind": "boolean", "mean": float, "std": float (> 0)}
                 one output: (b - mean) / std with b = 1 for true (a boolean true, the
                 text true in any case, or the number 1) and 0 for false; missing -> 0.
    categorical  {"name": str, "kind": "categorical", "categories": [str, ...],
                  "other": bool, "fill": str}
                 one output per category, in order, then one more for the "other"
                 level when ``other`` is true: 1 where the value's text equals the
                 category, else 0. The text of a value: a string as written; a whole
                 number without ".0" (3.0 -> "3"); True/False for booleans. A value
                 that is no category goes to "other" when it exists, else the row is
                 all zeros (with a warning). A missing value (when impute) is ``fill``:
                 the empty string, a level of its own, when the training values had
                 missing ones and ``indicators`` is on; else the most frequent level.
    datetime     {"name": str, "kind": "datetime", "parts": [{"part": P, "mean": float,
                  "std": float (> 0)}, ...], "format": str (optional)}
                 one output per part, in order: (part(t) - mean) / std, where P is
                 "year", "month" (1-12), "dayofweek" (Monday 0 - Sunday 6),
                 "dayofyear" (1-366) or "hour" (0-23, only when the training times
                 have one), in the proleptic Gregorian calendar for any year 1-9999.
                 t is the value as a datetime, or text written in ``format`` (a
                 strftime format, see :mod:`.dates`), ISO 8601 without it; a time
                 with a zone is first converted to UTC. Missing (when impute) -> 0.
                 ``"text": true`` (optional) records that training gave the dates as
                 text, not as datetimes (for a schema of the inputs, as ``integers``).

Model files of glassnet 0.1 (numeric and categorical columns without ``other``) load
as they are.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np

from ..validation import is_integer
from .columns import (
    KINDS,
    PreprocessingError,
    as_columns,
    import_pandas,
    label_text,
    line_of,
    missing_mask,
    parse_booleans,
    parse_datetimes,
    parse_numbers,
    rows_text,
)
from .dates import calendar_parts, check_format, describe_format
from .fixes import option, together
from .survey import NA_SPELLINGS, date_format_for, infer_kind

__all__ = [
    "FeatureEncoder",
    "TargetEncoder",
    "PreprocessingError",
    "ColumnWarning",
    "Accumulator",
    "refuse_missing",
    "is_missing",
    "human_bytes",
    "class_identity",
    "MAX_ONE_HOT_BYTES",
    "shown_level",
    "smooth_clip",
    "FAR",
]

#: Without ``max_categories``, a column with more levels than this, most of them rare
#: (fewer than ten rows each on average), is refused as an identifier.
IDENTIFIER_LEVELS = 100
#: When categorical columns with many levels are embedded (``embed_levels``), a column is
#: still refused as an identifier when it has more than IDENTIFIER_LEVELS levels of fewer
#: than this many rows each on average: nearly every value (nearly) unique, nothing for
#: an embedding to learn from.
IDENTIFIER_ROWS = 3
#: The smooth clipping of robust scaling: z -> z / sqrt(1 + (z / CLIP)^2), which is z near
#: 0 and tends to +-CLIP (RealMLP's bound, Holzmueller et al., 2024).
CLIP = 3.0
#: The most values of a column kept to find its median and quartiles (robust scaling);
#: past it, an evenly spaced subsample.
SAMPLE_SIZE = 1 << 17
#: The most memory one categorical column's one-hot block may take, for the rows encoded
#: at once (all of them in memory; a chunk and the shuffle buffer when streaming): the one
#: bound on one-hot width, which a later change may replace by an embedding.
MAX_ONE_HOT_BYTES = 1 << 30
DATE_PARTS = ("year", "month", "dayofweek", "dayofyear", "hour")
_OTHER = "(other)"
#: How the level of missing values (the empty string) is shown in names and summaries.
_MISSING = "(missing)"


class ColumnWarning(str):
    """A warning about one column (values never seen in training): text, as any warning,
    with the ``column`` it is about, so that a caller can warn once per column."""

    column: str

    def __new__(cls, column: str, text: str) -> ColumnWarning:
        out = super().__new__(cls, text)
        out.column = column
        return out


# -- numerically stable accumulation -------------------------------------------------------


@dataclass
class Accumulator:
    """Count, mean and variance of a stream of values, combined chunk by chunk (Chan et
    al.'s parallel update) on values divided by a power of two ``scale`` no smaller than
    the largest magnitude seen, so nothing overflows, and shifted by the first value
    seen, so values far from zero (1e9 + a few) keep their digits whatever the chunks."""

    n: int = 0
    mean: float = 0.0  # of x / scale - shift
    m2: float = 0.0  # sum of squared deviations of x / scale
    scale: float = 1.0
    shift: float = 0.0  # the first value seen, over scale

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return
        top = float(np.max(np.abs(x)))
        if top > self.scale:
            new = 2.0 ** math.ceil(math.log2(top)) if top < 2.0**1023 else 2.0**1023
            if new > self.scale:
                ratio = self.scale / new
                self.mean *= ratio
                self.shift *= ratio
                self.m2 *= ratio * ratio
                self.scale = new
        if self.n == 0:
            self.shift = float(x.flat[0]) / self.scale
        xs = x / self.scale - self.shift
        n_b = xs.size
        mean_b = float(xs.mean())
        m2_b = float(np.sum((xs - mean_b) ** 2))
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n

    def merge(self, other: Accumulator) -> Accumulator:
        """Add what ``other`` accumulated, as if its values had been added here (Chan et
        al.'s update for two parts; the scales are powers of two, so rescaling is exact)."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean, other.m2
            self.scale, self.shift = other.scale, other.shift
            return self
        scale = max(self.scale, other.scale)
        mine, theirs = self.scale / scale, other.scale / scale
        shift = self.shift * mine  # other's mean is moved onto this shift, shifts first
        mean_a, m2_a = self.mean * mine, self.m2 * mine * mine
        mean_b = (other.shift * theirs - shift) + other.mean * theirs
        m2_b = other.m2 * theirs * theirs
        n = self.n + other.n
        delta = mean_b - mean_a
        self.mean = mean_a + delta * other.n / n
        self.m2 = m2_a + m2_b + delta * delta * self.n * other.n / n
        self.n, self.scale, self.shift = n, scale, shift
        return self

    @property
    def value_mean(self) -> float:
        return (self.mean + self.shift) * self.scale

    @property
    def std(self) -> float:
        """The population standard deviation (as scikit-learn's StandardScaler)."""
        if self.n == 0:
            return 0.0
        return math.sqrt(max(self.m2, 0.0) / self.n) * self.scale


@dataclass
class Sample:
    """An evenly spaced subsample of a stream of values, of at most SAMPLE_SIZE: every
    ``stride``-th value, the stride doubling (and the sample halving) when it would
    outgrow the bound. The same values in the same chunks give the same sample."""

    values: list[np.ndarray] = field(default_factory=list)
    stride: int = 1
    seen: int = 0
    size: int = 0

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        start = (-self.seen) % self.stride
        self.seen += x.size
        kept = x[start :: self.stride]
        self.values.append(kept.copy())
        self.size += kept.size
        while self.size > SAMPLE_SIZE:
            joined = np.concatenate(self.values)[::2]
            self.values, self.size, self.stride = [joined], joined.size, self.stride * 2

    def merge(self, other: Sample) -> Sample:
        """Add ``other``'s values (thinned to this sample's stride, roughly)."""
        step = max(1, self.stride // other.stride)
        for part in other.values:
            self.values.append(part[::step])
            self.size += self.values[-1].size
        self.seen += other.seen
        while self.size > SAMPLE_SIZE:
            joined = np.concatenate(self.values)[::2]
            self.values, self.size, self.stride = [joined], joined.size, self.stride * 2
        return self

    def array(self) -> np.ndarray:
        return np.concatenate(self.values) if self.values else np.empty(0)


def robust_scale(x: np.ndarray) -> tuple[float, float]:
    """(centre, scale) of robust scaling: the median, and the interquartile range, or half
    the range when the quartiles are equal, or 1 for a constant (RealMLP's rule)."""
    if x.size == 0:
        return 0.0, 1.0
    q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    scale = float(q75 - q25)
    if not scale > 0:
        scale = float(x.max() - x.min()) / 2
    if not (scale > 0 and math.isfinite(scale)):
        scale = 1.0
    return float(median), scale


#: How far, in clip bounds, :func:`smooth_clip` takes z as it is: beyond, z counts as
#: +-FAR * bound (its result then differs from +-bound by less than 1e-36), so that the
#: square cannot overflow, in float64 here or in float32 in an exported graph.
FAR = 1e18


def smooth_clip(z: np.ndarray, bound: float) -> np.ndarray:
    """z / sqrt(1 + (z / bound)^2): close to z near 0, within +-bound always, and
    monotonic however far z is (``1e308`` is +-bound, not 0: see :data:`FAR`)."""
    z = np.clip(z, -FAR * bound, FAR * bound)
    return z / np.sqrt(1.0 + np.square(z / bound))


def _clipped(z: np.ndarray, column: dict) -> np.ndarray:
    """z smoothly clipped when the column has a ``clip`` (robust scaling), else z."""
    return smooth_clip(z, column["clip"]) if column.get("clip") else z


@dataclass
class _Column:
    """What is learnt about one feature column while fitting."""

    name: str
    kind: str | None  # None until a chunk with values decides it
    forced: bool = False
    n: int = 0
    missing: int = 0
    missing_lines: list[tuple[str, int]] = field(default_factory=list)
    fmt: str | None = None  # the format of a datetime column's text (None: ISO 8601)
    stats: Accumulator = field(default_factory=Accumulator)
    sample: Sample = field(default_factory=Sample)
    counts: dict[str, int] = field(default_factory=dict)
    parts: dict[str, Accumulator] = field(default_factory=dict)
    has_time: bool = False
    integers: bool = True  # every value so far a whole number given as an integer
    text: bool = True  # every value so far given as text


def _constant(c: _Column) -> bool:
    """Whether a fitted column held one value in every row (none missing)."""
    if c.missing or c.n < 2:
        return False
    if c.kind in ("numeric", "boolean"):
        return c.stats.std == 0
    if c.kind == "categorical":
        return len(c.counts) == 1
    return False


def _lines(positions: np.ndarray, where: tuple[str, int | np.ndarray]) -> str:
    return rows_text(positions, where)


def _unnamed(name: str) -> bool:
    """Whether a column name is a blank header, as a reader names it ("" or pandas'
    "Unnamed: 0")."""
    return re.fullmatch(r"\s*|Unnamed: \d+", name) is not None


#: How many of a chunk's values are looked at to tell how they were given (the parsed
#: numbers are all checked to be whole).
_GIVEN_SAMPLE = 10_000


def _given_as_integers(values: np.ndarray, numbers: np.ndarray) -> bool:
    """Whether a numeric column's values (its present ones, and those parsed) are whole
    numbers given as integers: an integer array, or integers and text such as "12" (no
    decimal point or exponent, in the first _GIVEN_SAMPLE values) in an object array."""
    if values.dtype.kind in "iu":
        return values.dtype.itemsize < 8 or values.dtype.kind == "i"  # uint64 is no int64
    if values.dtype.kind != "O" or not bool(np.all(numbers == np.floor(numbers))):
        return False
    return all(
        is_integer(v) or (isinstance(v, str) and _INTEGER_TEXT.fullmatch(v) is not None)
        for v in values[:_GIVEN_SAMPLE]
    )


def _given_as_text(values: np.ndarray) -> bool:
    """Whether a date column's values (its present ones) were given as text (looking at
    the first _GIVEN_SAMPLE)."""
    return values.dtype.kind in "OUS" and all(isinstance(v, str) for v in values[:_GIVEN_SAMPLE])


_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _row_numbers(c) -> bool:
    """Whether a numeric column being fitted is a written-out row index: no header, at
    least ten values, each a different whole number (in the values kept to sample it)."""
    if not _unnamed(c.name) or c.missing:
        return False
    x = c.sample.array()
    return x.size >= 10 and bool((x == np.round(x)).all()) and np.unique(x).size == x.size


class FeatureEncoder:
    """Standardise numbers, booleans and date parts; one-hot encode categories.

    Parameters
    ----------
    impute : bool
        Fill missing values (numbers: the centre of their scaling, the training mean or
        median; booleans, date parts: the training mean;
        categories: a level of their own with ``indicators``, else the most frequent
        level) instead of refusing them.
    max_categories : int, optional
        At most this many one-hot columns per categorical feature: the
        ``max_categories - 1`` most frequent levels, and one "other" level for the
        rest (and for levels never seen in training). Without it, a column with
        more than 100 levels that looks like an identifier is refused.
    categorical, numeric : sequence of str
        Columns to treat as categories (integer codes, say) or as numbers,
        whatever their values look like.
    date_format : str or mapping of str to str, optional
        The strftime format of dates that are not ISO 8601 (``"%d/%m/%Y"``), for every
        column or by column name; without it, the format is inferred from the values.
    scaling : "standard" or "robust"
        Numbers standardised by their mean and standard deviation, or centred on their
        median, divided by their interquartile range and smoothly clipped to +-3
        (:func:`smooth_clip`), which tames outliers.
    indicators : bool
        With ``impute``: one more output per numeric column with missing training values,
        1 where the value was missing (and filled), else 0; and a level of its own, the
        empty string (shown as ``(missing)``), for the missing values of a categorical
        column that had some.
    embed_levels : int, optional
        A categorical column with more levels than this becomes one output, the index of
        its level, for a network's learned embedding (:class:`~glassnet.layers.Embedding`)
        instead of one-hot columns; levels seen once share the last index with the
        levels never seen. Such a column is refused as an identifier only when its levels
        have fewer than :data:`IDENTIFIER_ROWS` rows each on average.
    """

    def __init__(
        self,
        impute: bool = False,
        *,
        max_categories: int | None = None,
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        date_format: str | Mapping[str, str] | None = None,
        scaling: str = "standard",
        indicators: bool = False,
        embed_levels: int | None = None,
    ):
        if scaling not in ("standard", "robust"):
            raise ValueError(f"scaling is 'standard' or 'robust', not {scaling!r}")
        if embed_levels is not None and (
            not isinstance(embed_levels, (int, np.integer)) or embed_levels < 1
        ):
            raise ValueError(f"embed_levels must be a positive integer, got {embed_levels!r}")
        if max_categories is not None and (
            not isinstance(max_categories, (int, np.integer)) or max_categories < 2
        ):
            raise ValueError(
                f"max_categories must be an integer of at least 2, got {max_categories!r}"
            )
        both = set(categorical) & set(numeric)
        if both:
            raise ValueError(f"column {sorted(both)[0]!r} cannot be both categorical and numeric")
        for fmt in [date_format] if isinstance(date_format, str) else (date_format or {}).values():
            try:
                check_format(fmt)
            except ValueError as exc:
                raise PreprocessingError(f"{option('date_format', fmt)}: {exc}") from None
        self.impute = bool(impute)
        #: The feature columns that held one value in every training row, no cell
        #: missing, as the last fit found them (known while training, not kept in a file).
        self.constant: list[str] = []
        self.max_categories = None if max_categories is None else int(max_categories)
        self.categorical = list(categorical)
        self.numeric = list(numeric)
        self.date_format = date_format
        self.scaling = scaling
        self.indicators = bool(indicators)
        self.embed_levels = None if embed_levels is None else int(embed_levels)
        self.columns: list[dict[str, Any]] = []
        self._fitting: list[_Column] | None = None

    # -- fitting ------------------------------------------------------------------------

    def fit(self, table, names: Sequence[str] | None = None, *, where=("row", 1)) -> FeatureEncoder:
        """Learn from one table: ``partial_fit`` then ``finish``."""
        self._fitting = None
        return self.partial_fit(table, names, where=where).finish()

    def fit_transform(
        self, table, names: Sequence[str] | None = None, dtype=np.float64, *, where=("row", 1)
    ) -> tuple[np.ndarray, list[str]]:
        """``fit`` then ``transform`` of the same table, reading its columns once."""
        cols = as_columns(table)
        self.fit(cols, names, where=where)
        return self.transform(cols, dtype, where=where)

    def partial_fit(
        self,
        table,
        names: Sequence[str] | None = None,
        *,
        where: tuple[str, int | np.ndarray] = ("row", 1),
        kinds: dict[str, str | None] | None = None,
        formats: dict[str, str | None] | None = None,
    ) -> FeatureEncoder:
        """Accumulate what one chunk says about each column.

        Parameters
        ----------
        table : a dataframe, a mapping of columns, or a list of records
        names : the feature columns (the first chunk decides; default: all of them)
        where : how messages number this chunk's rows, (unit, number of its first row, or
            an array of every row's number): ``("line", 2)`` for the first chunk of a CSV
            file with a header.
        kinds, formats : for the first chunk: each column's kind and date format, as a
            :class:`~.survey.Survey` of all the data decided them (or, for an encoder
            that continues others, to be joined with :meth:`merge`, their
            ``fitting_kinds``), so that every chunk is read as the whole data says;
            without them, a column's kind is inferred from its first chunk with values.
        """
        cols = as_columns(table)
        if self._fitting is None:
            names = list(cols.names if names is None else names)
            if not names:
                raise PreprocessingError("there are no feature columns left to learn from")
            for name in [*self.categorical, *self.numeric]:
                if name not in names:
                    raise PreprocessingError(
                        f"column {name!r} is given a kind, but it is not a feature column"
                    )
            self._fitting = [
                _Column(
                    n,
                    "categorical"
                    if n in self.categorical
                    else "numeric"
                    if n in self.numeric
                    else None,
                    forced=n in self.categorical or n in self.numeric,
                )
                for n in names
            ]
            for c in self._fitting:
                if kinds and (c.kind is None or c.kind == kinds.get(c.name)):
                    c.kind = kinds.get(c.name)
                    c.fmt = (formats or {}).get(c.name)
            self.columns = []
        absent = [c.name for c in self._fitting if c.name not in cols]
        if absent:
            raise PreprocessingError(_absent_message(absent, cols.names, "the data"))
        for c in self._fitting:
            self._accumulate(c, cols[c.name], where)
        return self

    def _accumulate(self, c: _Column, values: np.ndarray, where) -> None:
        missing = missing_mask(values)
        n_missing = int(missing.sum())
        if n_missing:
            c.missing += n_missing
            if len(c.missing_lines) < 5:
                first = np.flatnonzero(missing)[: 5 - len(c.missing_lines)]
                c.missing_lines.extend((where[0], line_of(where, p)) for p in first)
        present = ~missing
        c.n += int(present.sum())
        if not present.any():
            return
        if c.kind is None:
            fmt = date_format_for(self.date_format, c.name)
            c.kind, c.fmt = infer_kind(c.name, values, missing, date_format=fmt, where=where)
        if c.kind == "numeric":
            numbers, failed = parse_numbers(values, missing)
            self._check_parsed(c, values, failed, where, "numbers")
            x = numbers[present]
            infinite = np.isinf(x)
            if infinite.any():
                rows = np.flatnonzero(present)[infinite]
                raise PreprocessingError(
                    f"column {c.name!r} holds an infinite value ({_lines(rows, where)}); "
                    "remove or fix those rows"
                )
            c.stats.add(x)
            c.integers = c.integers and _given_as_integers(values[present], x)
            if self.scaling == "robust" or _unnamed(c.name):
                c.sample.add(x)
        elif c.kind == "boolean":
            flags, failed = parse_booleans(values, missing)
            self._check_parsed(c, values, failed, where, "true/false")
            c.stats.add(flags[present])
        elif c.kind == "datetime":
            times, failed = parse_datetimes(values, missing, c.fmt)
            self._check_parsed(c, values, failed, where, f"dates ({describe_format(c.fmt)})")
            c.text = c.text and _given_as_text(values[present])
            parts = calendar_parts(times[present])
            if parts.pop("_clock").any():
                c.has_time = True
            for part in DATE_PARTS:
                c.parts.setdefault(part, Accumulator()).add(parts[part])
        else:
            labels = label_text(values[present])
            pd = import_pandas()
            counts = pd.Series(labels, dtype=object).value_counts(sort=False)
            for label, count in zip(counts.index.tolist(), counts.to_numpy().tolist()):
                c.counts[label] = c.counts.get(label, 0) + count

    @staticmethod
    def _check_parsed(c: _Column, values, failed, where, what: str) -> None:
        if failed.any():
            rows = np.flatnonzero(failed)
            example = values[rows[0]]
            hint = (
                f"; give {option('categorical', [c.name])} to treat it as categories"
                if what != "numbers" or not c.forced
                else ""
            )
            raise PreprocessingError(
                f"column {c.name!r} holds {what}, but {_lines(rows[:1], where)} holds "
                f"{str(example)!r}{' (and more)' if len(rows) > 1 else ''}{hint}"
            )

    @property
    def fitting_kinds(self) -> dict[str, str | None]:
        """While fitting: each column's kind as decided so far (None: no values yet)."""
        return {c.name: c.kind for c in self._fitting or ()}

    @property
    def fitting_formats(self) -> dict[str, str | None]:
        """While fitting: each date column's format as decided so far."""
        return {c.name: c.fmt for c in self._fitting or ()}

    def merge(self, other: FeatureEncoder, *, where: tuple[str, int] | None = None):
        """Add what ``other`` accumulated (``partial_fit`` on other rows of the same
        columns) as if its chunks had followed this encoder's: counts, means and
        variances combine exactly as one pass over all the chunks would, up to rounding.
        This is how partitions fitted apart (on a cluster's workers) are joined, in order.

        ``where`` renumbers the rows ``other`` recorded (for the messages about missing
        values): when ``other`` was fitted with ``where=("row", 0)`` (positions), they
        become ``(unit, first + position)``.

        Raises
        ------
        PreprocessingError
            When a column has a different kind in ``other`` (fit it again with
            ``partial_fit(kinds=self.fitting_kinds)``, which reads it as this encoder
            does and names what does not fit).
        """
        if other._fitting is None:
            raise PreprocessingError("nothing to merge: call partial_fit on the other first")
        theirs = copy.deepcopy(other._fitting)
        if where is not None:
            for c in theirs:
                c.missing_lines = [(where[0], where[1] + p) for _, p in c.missing_lines]
        if self._fitting is None:
            self._fitting, self.columns = theirs, []
            return self
        if [c.name for c in self._fitting] != [c.name for c in theirs]:
            raise PreprocessingError("cannot merge encoders fitted on different columns")
        for a, b in zip(self._fitting, theirs):
            if a.kind is not None and b.kind is not None and a.kind != b.kind:
                raise PreprocessingError(
                    f"column {a.name!r} was read as {a.kind} in one part and {b.kind} in another"
                )
            if a.kind is None:
                a.kind, a.fmt = b.kind, b.fmt
            a.n += b.n
            a.missing += b.missing
            a.missing_lines.extend(b.missing_lines[: max(0, 5 - len(a.missing_lines))])
            a.stats.merge(b.stats)
            a.sample.merge(b.sample)
            for label, count in b.counts.items():
                a.counts[label] = a.counts.get(label, 0) + count
            for part, acc in b.parts.items():
                a.parts.setdefault(part, Accumulator()).merge(acc)
            a.has_time = a.has_time or b.has_time
            a.integers, a.text = a.integers and b.integers, a.text and b.text
        return self

    def finish(self) -> FeatureEncoder:
        """Decide every column's scale or levels from what was accumulated.

        Raises
        ------
        PreprocessingError
            Missing values without ``impute`` (every such column named at once),
            columns with no values, identifier-like categorical columns.
        """
        if self._fitting is None:
            raise PreprocessingError("nothing to finish: call partial_fit first")
        fitting, self._fitting = self._fitting, None
        self.constant = [c.name for c in fitting if _constant(c)]
        empty = [c.name for c in fitting if c.n == 0]
        if empty:
            raise PreprocessingError(
                f"{_names(empty)} {'has' if len(empty) == 1 else 'have'} no values at all; "
                f"leave {'it' if len(empty) == 1 else 'them'} out with {option('ignore', empty)}"
            )
        with_missing = [c for c in fitting if c.missing]
        if with_missing and not self.impute:
            raise PreprocessingError(_missing_message(with_missing, fix=True))
        ids = []
        indexes = [c.name for c in fitting if c.kind == "numeric" and _row_numbers(c)]
        commas = []  # text columns whose levels are numbers written with a decimal comma
        columns = []
        for c in fitting:
            if c.kind == "numeric":
                if self.scaling == "robust":
                    mean, std = robust_scale(c.sample.array())
                else:
                    mean, std = c.stats.value_mean, c.stats.std
                    std = std if std > 0 and math.isfinite(std) else 1.0
                column = {"name": c.name, "kind": "numeric", "mean": mean, "std": std, "fill": mean}
                if self.scaling == "robust":
                    column["clip"] = CLIP
                if self.impute and self.indicators and c.missing:
                    column["indicator"] = True
                if c.integers and not c.missing:  # (a table's integers with gaps are floats)
                    column["integers"] = True
                columns.append(column)
            elif c.kind == "boolean":
                std = c.stats.std
                columns.append(
                    {
                        "name": c.name,
                        "kind": "boolean",
                        "mean": c.stats.value_mean,
                        "std": std if std > 0 else 1.0,
                    }
                )
            elif c.kind == "datetime":
                parts = [p for p in DATE_PARTS if p != "hour" or c.has_time]
                column = {
                    "name": c.name,
                    "kind": "datetime",
                    "parts": [
                        {
                            "part": p,
                            "mean": c.parts[p].value_mean,
                            "std": c.parts[p].std if c.parts[p].std > 0 else 1.0,
                        }
                        for p in parts
                    ],
                }
                if c.fmt is not None:
                    column["format"] = c.fmt
                if c.text:
                    column["text"] = True
                if self.scaling == "robust":  # a year far from training's stays in range
                    column["clip"] = CLIP
                if self.impute and self.indicators and c.missing:
                    column["indicator"] = True
                columns.append(column)
            else:
                counts = dict(c.counts)
                if self.impute and self.indicators and c.missing:
                    counts[""] = c.missing  # missing is a level of its own: "" is no text
                by_count = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                levels = len(by_count)
                # numbers read as text, however many levels (unless declared categorical)
                comma = None if c.forced else _comma_decimals(c.counts)
                if comma:
                    commas.append((c.name, comma))
                    continue
                many = levels > IDENTIFIER_LEVELS
                if self.embed_levels is not None:
                    identifier = many and levels * IDENTIFIER_ROWS > c.n
                else:
                    identifier = many and levels > c.n / 10
                if self.max_categories is None and identifier:
                    ids.append((c.name, levels, c.n + c.missing))
                    continue
                other, kept = False, by_count
                if self.max_categories is not None and levels > self.max_categories:
                    other, kept = True, by_count[: self.max_categories - 1]
                embed = self.embed_levels is not None and len(kept) > self.embed_levels
                if embed:  # a level seen once learns nothing of its own: it joins "other"
                    frequent = [kv for kv in kept if kv[1] > 1]
                    other = other or len(frequent) < len(kept)
                    kept = frequent or kept[:1]
                categories = sorted(label for label, _ in kept)
                # missing values fill in as their own level, or as "other" when theirs
                # was too rare to keep; else as the most frequent level
                own = "" in counts and ("" in categories or other)
                column = {
                    "name": c.name,
                    "kind": "categorical",
                    "categories": categories,
                    "other": bool(other),
                    "fill": "" if own else next(label for label, _ in by_count if label),
                }
                if embed:
                    column["embed"] = True
                columns.append(column)
        if commas:
            names = ", ".join(repr(name) for name, _ in commas)
            one = len(commas) == 1
            example = commas[0][1]
            if _thousands_commas([e for _, e in commas]):
                written, fix = "commas between thousands", option("thousands", ",")
            else:
                written, fix = "a decimal comma", _comma_marks([example])
            raise PreprocessingError(
                f"{names} {'holds' if one else 'hold'} numbers written with {written} "
                f"(such as {example!r}), read as text; give {fix}, or keep "
                f"{'it' if one else 'them'} as categories with "
                f"{option('categorical', [name for name, _ in commas])}"
            )
        problems = []
        if indexes:
            one = len(indexes) == 1
            problems.append(
                f"{_names(indexes)} {'has' if one else 'have'} no header and a different whole "
                f"number in every row: the row numbers a table was written with (pandas' "
                f"to_csv without index=False), which a model cannot learn from; leave "
                f"{'it' if one else 'them'} out with {option('ignore', indexes)}"
            )
        if ids:
            shown = "; ".join(
                f"{name!r} has {levels} distinct values in the {n} training rows"
                for name, levels, n in ids
            )
            # a tenth of its values, at most 100: a number to start from, not a rule
            keep = min(100, max(2, min(levels for _, levels, _ in ids) // 10))
            problems.append(
                f"{shown}: that looks like an identifier, which a model cannot learn from; "
                f"leave it out with {option('ignore', [n for n, *_ in ids])}, or keep its "
                f"most frequent values with {option('max_categories', keep)} (the others "
                "then share one level)"
            )
        if problems:
            raise PreprocessingError("; and ".join(problems))
        self.columns = columns
        return self

    def check_memory(self, n_rows: int, dtype=np.float64, copies: float = 2.0) -> None:
        """Refuse, before allocating, an encoded matrix of ``n_rows`` rows that would not fit.

        First each categorical column's one-hot block, ``n_rows x levels`` values
        ``copies`` times, against :data:`MAX_ONE_HOT_BYTES` (naming the column, its
        levels, the memory and the fixes); then the whole matrix against the memory
        available. ``copies`` counts the matrix and what training makes of it (the
        training and validation rows are gathered into their own arrays).
        """
        itemsize = np.dtype(dtype).itemsize
        wide = []
        for c in self.columns:
            width = _width(c)
            block = n_rows * width * itemsize * copies
            if c["kind"] == "categorical" and block > MAX_ONE_HOT_BYTES:
                fits = int(MAX_ONE_HOT_BYTES // (n_rows * itemsize * copies))
                wide.append((c["name"], width, block, fits))
        if wide:
            shown = "; ".join(
                f"{name!r} has {width} levels, and one-hot encoding it for {n_rows} rows would "
                f"take {human_bytes(block)}"
                for name, width, block, _ in wide
            )
            fits = min(f for *_, f in wide)
            bound = (
                f"keep its most frequent values with {option('max_categories', fits)} (or "
                "fewer: that many keep it within bounds), or "
                if fits >= 2
                else "no number of categories fits; "
            )
            raise PreprocessingError(
                f"{shown}, more than the {human_bytes(MAX_ONE_HOT_BYTES)} a column may take; "
                f"{bound}leave it out with {option('ignore', [name for name, *_ in wide])}"
            )
        needed = n_rows * self.n_outputs * itemsize * copies
        available = available_memory()
        if available is None or needed <= available:
            return
        widths = sorted(((len(_output_names(c)), c["name"]) for c in self.columns), reverse=True)[
            :2
        ]
        widest = ", ".join(f"{name!r} makes {w} columns" for w, name in widths)
        raise PreprocessingError(
            f"the encoded data would be {n_rows} rows x {self.n_outputs} columns "
            f"({human_bytes(n_rows * self.n_outputs * itemsize)}, and training needs about "
            f"{human_bytes(needed)}), more than the {human_bytes(available)} of memory available "
            f"({widest}); bound the categories with {option('max_categories')}, or leave "
            f"columns out with {option('ignore', ['COLUMN'])}"
        )

    # -- what it makes ----------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The feature columns, in order."""
        return [c["name"] for c in self.columns]

    @property
    def kinds(self) -> dict[str, str]:
        return {c["name"]: c["kind"] for c in self.columns}

    @property
    def output_names(self) -> list[str]:
        """The name of every column of the encoded matrix (``color=red``, ``date.month``)."""
        out: list[str] = []
        for c in self.columns:
            out.extend(_output_names(c))
        return out

    @property
    def output_columns(self) -> list[str]:
        """The feature column of every column of the encoded matrix."""
        return [c["name"] for c in self.columns for _ in range(_width(c))]

    @property
    def n_outputs(self) -> int:
        return sum(_width(c) for c in self.columns)

    def embedding_inputs(self) -> tuple[list[int], list[tuple[int, int]]]:
        """Where, in the encoded matrix, a network's :class:`~glassnet.layers.Embedding`
        finds its inputs: the positions of the continuous values (numbers and date parts;
        not true/false, one-hot or missing-indicator columns), and each embedded
        categorical column's (position, number of levels, "other" and unseen included)."""
        numeric: list[int] = []
        categorical: list[tuple[int, int]] = []
        start = 0
        for c in self.columns:
            if c["kind"] == "numeric":
                numeric.append(start)
            elif c["kind"] == "datetime":
                numeric.extend(range(start, start + len(c["parts"])))
            elif c.get("embed"):
                categorical.append((start, len(c["categories"]) + 1))
            start += _width(c)
        return numeric, categorical

    def transform(
        self,
        table,
        dtype=np.float64,
        *,
        where: tuple[str, int | np.ndarray] = ("row", 1),
        impute: bool | None = None,
        filled: dict[str, int] | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        """The encoded matrix (n_rows, n_outputs), and warnings about values never seen
        in training (each a :class:`ColumnWarning`).

        Parameters
        ----------
        impute : fill missing cells as fitting decided (the mean; a category's ``fill``:
            the level of missing values, or the most frequent level); default: as the
            encoder was fitted
        filled : if given, the number of cells filled in each column is added to it

        Raises
        ------
        PreprocessingError
            A feature column is absent, holds missing values (without impute; every
            such column named at once), or holds values of the wrong kind (text in a
            numeric column, say), or an infinite value; each names column and line.
        """
        if not self.columns:
            raise PreprocessingError("the encoder has not been fitted")
        impute = self.impute if impute is None else bool(impute)
        cols = as_columns(table)
        absent = [c["name"] for c in self.columns if c["name"] not in cols]
        if absent:
            raise PreprocessingError(
                _absent_message(absent, cols.names, "the data")
                + f"; the model was trained on: {', '.join(self.names)}"
            )
        n = cols.n_rows
        missing = {c["name"]: missing_mask(cols[c["name"]]) for c in self.columns}
        problems: list[str] = []  # every column's, told in one message
        if not impute:
            with_missing = _missing_columns(missing, where)
            if with_missing:
                problems.append(
                    _missing_message(with_missing) + ", which the model fills only when asked "
                    f"(it was trained without imputing); give {option('impute')} to fill them "
                    "as training would (the training median or mean, a level of its own, or "
                    "the most frequent value)"
                )
        elif filled is not None:
            for name, m in missing.items():
                if m.any():
                    filled[name] = filled.get(name, 0) + int(m.sum())
        warnings: list[str] = []
        dense: list[tuple[int, np.ndarray]] = []  # (output column, its values)
        hot: list[tuple[int, np.ndarray]] = []  # (first output column, level codes; -1: none)
        start = 0
        for c in self.columns:
            try:
                warning = self._encode(c, cols[c["name"]], missing[c["name"]], start, where,
                                       dense, hot)  # fmt: skip
            except PreprocessingError as problem:
                problems.append(problem.message)
            else:
                if warning:
                    warnings.append(warning)
            start += _width(c)
        if problems:
            raise PreprocessingError("; ".join(problems))
        return _assemble(n, start, dtype, dense, hot), warnings

    def _encode(self, c: dict, values, miss, start: int, where, dense: list, hot: list):
        """Column ``c``'s encoded values, added to ``dense`` or ``hot`` from output column
        ``start``; returns its ColumnWarning, if any; raises PreprocessingError for values
        of the wrong kind."""
        kind = c["kind"]
        if kind == "numeric":
            x, failed = parse_numbers(values, miss)
            self._refuse_wrong(c, values, failed, where, "numeric")
            x[miss] = c["fill"]
            dense.append((start, _clipped(self._scaled(x, c["mean"], c["std"], c, where), c)))
            if c.get("indicator"):
                dense.append((start + 1, miss.astype(np.float64)))
        elif kind == "boolean":
            x, failed = parse_booleans(values, miss)
            self._refuse_wrong(c, values, failed, where, "true/false")
            x[miss] = c["mean"]
            dense.append((start, self._scaled(x, c["mean"], c["std"], c, where)))
        elif kind == "datetime":
            fmt = c.get("format")
            t, failed = parse_datetimes(values, miss, fmt)
            self._refuse_wrong(c, values, failed, where, f"dates ({describe_format(fmt)})")
            parts = calendar_parts(t)
            for j, p in enumerate(c["parts"]):
                x = parts[p["part"]]
                x[miss] = p["mean"]
                z = self._scaled(x, p["mean"], p["std"], c, where)
                dense.append((start + j, _clipped(z, c)))
            if c.get("indicator"):
                dense.append((start + len(c["parts"]), miss.astype(np.float64)))
        else:
            codes, message = self._one_hot_codes(c, values, miss)
            if c.get("embed"):  # the level's index; the last for "other" and unseen
                codes[codes < 0] = len(c["categories"])
                dense.append((start, codes.astype(np.float64)))
                message = message and message.replace(
                    "encoded as all zeros", "encoded as the level for rare values"
                )
            else:
                hot.append((start, codes))
            if message:
                return ColumnWarning(c["name"], message)
        return None

    @staticmethod
    def _refuse_wrong(c, values, failed, where, what: str) -> None:
        if not failed.any():
            return
        rows = np.flatnonzero(failed)
        name = c["name"]
        example = str(values[rows[0]])
        texts = list(dict.fromkeys(str(v) for v in values[rows[:1000]]))
        words = [t for t in texts if t in NA_SPELLINGS]
        if words:
            hint = (
                f"; if {', '.join(map(repr, words))} marks missing values, give "
                f"{option('na_values', words)} (and {option('impute')} to fill them)"
            )
        elif what == "numeric" and all(_GROUPED_COMMAS.fullmatch(t) for t in texts):
            hint = f"; if ',' marks thousands, give {option('thousands', ',')}"
        elif what == "numeric" and all(_COMMA_DECIMAL.fullmatch(t) for t in texts):
            hint = f"; if ',' is the decimal mark, give {_comma_marks(texts)}"
        elif what == "numeric":
            hint = (
                f"; give a number, or, if the column holds categories (it was read as numbers "
                f"because every training value was one), train again with "
                f"{option('categorical', [name])}"
            )
        elif what.startswith("dates"):
            hint = f"; give a date such as {_example_date(c.get('format'))!r}"
        else:
            hint = ""
        raise PreprocessingError(
            f"column {name!r} was {what} in training, but {_lines(rows[:1], where)} "
            f"holds {example!r}"
            + (f" ({len(rows) - 1} more such row{'s' * (len(rows) > 2)})" if len(rows) > 1 else "")
            + hint
        )

    @staticmethod
    def _scaled(x, mean, std, c, where) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            z = (x - mean) / std
        # a finite number that scales beyond float64 is, smoothly clipped, the bound
        bad = ~np.isfinite(x if c.get("clip") else z)
        if bad.any():
            rows = np.flatnonzero(bad)
            infinite = np.isinf(x[rows[0]])
            raise PreprocessingError(
                f"column {c['name']!r} holds "
                + ("an infinite value" if infinite else "a value too large to scale")
                + f" ({_lines(rows, where)})"
            )
        return z

    @staticmethod
    def _one_hot_codes(c, values, miss) -> tuple[np.ndarray, str | None]:
        pd = import_pandas()
        labels = label_text(values)
        if miss.any():
            labels = labels.copy()
            labels[miss] = c["fill"]
        levels = pd.Index(c["categories"], dtype=object)
        codes = levels.get_indexer(pd.Index(labels, dtype=object, copy=False))
        unseen = codes < 0
        message = None
        if unseen.any():
            if c.get("other"):
                codes[unseen] = len(c["categories"])
            else:
                values_unseen = list(dict.fromkeys(labels[unseen][:1000].tolist()))
                shown = ", ".join(repr(u) for u in values_unseen[:3])
                message = (
                    f"column {c['name']!r} has value{'s' * (len(values_unseen) > 1)} never seen "
                    f"in training ({shown}{', ...' if len(values_unseen) > 3 else ''}) in "
                    f"{int(unseen.sum())} row{'s' * int(unseen.sum() > 1)}; encoded as all zeros"
                )
        return codes, message

    # -- the model file -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "impute": self.impute,
            "max_categories": self.max_categories,
            "scaling": self.scaling,
            "indicators": self.indicators,
            "embed_levels": self.embed_levels,
            "columns": [dict(c) for c in self.columns],
        }

    @classmethod
    def from_json(cls, data: Any) -> FeatureEncoder:
        """Rebuild from :meth:`to_json`, checking every field (ValueError if invalid)."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise ValueError("feature preprocessing is not a JSON object with columns")
        max_categories = data.get("max_categories")
        if max_categories is not None and (not _is_int(max_categories) or max_categories < 2):
            raise ValueError(f"invalid max_categories {max_categories!r}")
        impute = data.get("impute", False)
        if not isinstance(impute, bool):
            raise ValueError("the preprocessing's impute flag is not true or false")
        scaling = data.get("scaling", "standard")
        if scaling not in ("standard", "robust"):
            raise ValueError(f"invalid scaling {scaling!r}")
        indicators = data.get("indicators", False)
        if not isinstance(indicators, bool):
            raise ValueError("the preprocessing's indicators flag is not true or false")
        embed_levels = data.get("embed_levels")
        if embed_levels is not None and (not _is_int(embed_levels) or embed_levels < 1):
            raise ValueError(f"invalid embed_levels {embed_levels!r}")
        enc = cls(
            impute=impute,
            max_categories=max_categories,
            scaling=scaling,
            indicators=indicators,
            embed_levels=embed_levels,
        )
        seen = set()
        for c in data["columns"]:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise ValueError("a feature column has no name")
            name = c["name"]
            if name in seen:
                raise ValueError(f"feature column {name!r} appears twice")
            seen.add(name)
            kind = c.get("kind")
            if kind not in KINDS:
                raise ValueError(f"feature column {name!r} has unknown kind {kind!r}")
            clip = c.get("clip")
            if (
                kind in ("numeric", "datetime")
                and clip is not None
                and not (
                    isinstance(clip, (int, float))
                    and not isinstance(clip, bool)
                    and clip > 0
                    and math.isfinite(clip)
                )
            ):
                raise ValueError(f"feature column {name!r} has an invalid clip {clip!r}")
            if kind in ("numeric", "boolean"):
                _check_scale(
                    name, c, ("mean", "std", "fill") if kind == "numeric" else ("mean", "std")
                )
                if not isinstance(c.get("indicator", False), bool):
                    raise ValueError(f"feature column {name!r} has an invalid indicator flag")
                if not isinstance(c.get("integers", False), bool):
                    raise ValueError(f"feature column {name!r} has an invalid integers flag")
            elif kind == "datetime":
                parts = c.get("parts")
                if not isinstance(parts, list) or not parts:
                    raise ValueError(f"feature column {name!r} has no date parts")
                names = [p.get("part") if isinstance(p, dict) else None for p in parts]
                if any(p not in DATE_PARTS for p in names) or len(set(names)) != len(names):
                    raise ValueError(f"feature column {name!r} has invalid date parts")
                for p in parts:
                    _check_scale(name, p, ("mean", "std"))
                if not isinstance(c.get("indicator", False), bool):
                    raise ValueError(f"feature column {name!r} has an invalid indicator flag")
                if not isinstance(c.get("text", False), bool):
                    raise ValueError(f"feature column {name!r} has an invalid text flag")
                fmt = c.get("format")
                if fmt is not None:
                    try:
                        check_format(fmt)
                    except ValueError:
                        raise ValueError(
                            f"feature column {name!r} has an invalid date format"
                        ) from None
            else:
                cats = c.get("categories")
                if (
                    not isinstance(cats, list)
                    or not cats
                    or not all(isinstance(x, str) for x in cats)
                    or len(set(cats)) != len(cats)
                    or not isinstance(c.get("fill"), str)
                    or not isinstance(c.get("other", False), bool)
                    or not isinstance(c.get("embed", False), bool)
                ):
                    raise ValueError(f"feature column {name!r} has invalid categories")
                c = {**c, "other": c.get("other", False)}
            enc.columns.append(dict(c))
        if not enc.columns:
            raise ValueError("the model has no feature columns")
        return enc

    def describe(self) -> list[str]:
        """One line per feature column: its kind and how it is encoded."""
        lines = []
        for c in self.columns:
            fill = ""
            if c["kind"] == "numeric":
                if self.impute:
                    fill = f", missing -> {c['fill']:.6g}"
                if c.get("clip"):
                    how = (
                        f"robust scaling (median {c['mean']:.6g}, scale {c['std']:.6g}), "
                        f"smoothly clipped to +-{c['clip']:g}"
                    )
                else:
                    how = f"standardised (mean {c['mean']:.6g}, std {c['std']:.6g})"
                if c.get("indicator"):
                    fill += ", and a column that is 1 where it was missing"
                lines.append(f"{c['name']}: numeric, {how}{fill}")
            elif c["kind"] == "boolean":
                if self.impute:
                    fill = f", missing -> {c['mean']:.6g} (the training mean)"
                lines.append(
                    f"{c['name']}: boolean, 1 for true, standardised (mean {c['mean']:.6g}, "
                    f"std {c['std']:.6g}){fill}"
                )
            elif c["kind"] == "datetime":
                parts = ", ".join(p["part"] for p in c["parts"])
                if self.impute:
                    fill = ", missing -> each part's training mean"
                if c.get("indicator"):
                    fill += ", and a column that is 1 where it was missing"
                clip = f" and smoothly clipped to +-{c['clip']:g}" if c.get("clip") else ""
                lines.append(
                    f"{c['name']}: date/time ({describe_format(c.get('format'))}) -> {parts}, "
                    f"each standardised{clip}{fill}"
                )
            else:
                cats = [shown_level(cat) if cat else _MISSING for cat in c["categories"]]
                shown = ", ".join(cats[:8]) + (", ..." if len(cats) > 8 else "")
                other = " + other" if c.get("other") else ""
                if self.impute:
                    own = "a level of its own" if "" in c["categories"] else "other"
                    fill = f", missing -> {c['fill'] or own}"
                encoded = "a learned embedding of" if c.get("embed") else "one-hot over"
                lines.append(
                    f"{c['name']}: text, {encoded} {len(cats)} values{other} ({shown}){fill}"
                )
        return lines


def is_missing(values) -> np.ndarray:
    """Which entries of a column are missing (see :func:`~.columns.missing_mask`)."""
    array = np.asarray(values)
    return missing_mask(array if array.dtype.kind in "biufmMO" else array.astype(object))


def _missing_columns(missing: dict[str, np.ndarray], where) -> list[_Column]:
    return [
        _Column(
            name,
            None,
            missing=int(m.sum()),
            missing_lines=[(where[0], line_of(where, p)) for p in np.flatnonzero(m)[:5]],
        )
        for name, m in missing.items()
        if m.any()
    ]


def refuse_missing(table, names: Sequence[str], where=("row", 1)) -> None:
    """Raise one PreprocessingError naming every one of these columns that has missing
    values (with their count and first lines)."""
    cols = as_columns(table)
    with_missing = _missing_columns({n: missing_mask(cols[n]) for n in names}, where)
    if with_missing:
        raise PreprocessingError(_missing_message(with_missing, fix=True))


def _assemble(n: int, width: int, dtype, dense, hot) -> np.ndarray:
    """The encoded matrix, filled a block of rows at a time so that every write stays in
    cache (column by column, each write would touch a new line of memory)."""
    X = (np.zeros if hot else np.empty)((n, width), dtype=dtype)  # zeros: pages come zeroed
    step = max(1, (1 << 18) // max(width, 1))  # about 2 MB of float64 a block
    for s in range(0, n, step):
        block = X[s : s + step]
        for j, z in dense:
            block[:, j] = z[s : s + step]
        for offset, codes in hot:
            part = codes[s : s + step]
            rows = np.flatnonzero(part >= 0)
            block[rows, offset + part[rows]] = 1
    return X


def _width(c: dict) -> int:
    if c["kind"] == "categorical":
        if c.get("embed"):
            return 1
        return len(c["categories"]) + int(bool(c.get("other")))
    if c["kind"] == "datetime":
        return len(c["parts"]) + int(bool(c.get("indicator")))
    return 1 + int(bool(c.get("indicator")))


def _output_names(c: dict) -> list[str]:
    if c.get("embed"):
        return [f"{c['name']}.level"]
    if c["kind"] == "datetime":
        parts = [f"{c['name']}.{p['part']}" for p in c["parts"]]
        return parts + [f"{c['name']}.missing"] if c.get("indicator") else parts
    if c.get("indicator"):
        return [c["name"], f"{c['name']}.missing"]
    if c["kind"] == "categorical":
        names = [f"{c['name']}={cat or _MISSING}" for cat in c["categories"]]
        return names + [f"{c['name']}={_OTHER}"] if c.get("other") else names
    return [c["name"]]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scale(name: str, c: dict, keys: Sequence[str]) -> None:
    for key in keys:
        v = c.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"feature column {name!r} has an invalid {key}")
    if c["std"] <= 0:
        raise ValueError(f"feature column {name!r} has a non-positive std")


def _names(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    if len(quoted) == 1:
        return f"column {quoted[0]}"
    return f"columns {', '.join(quoted[:-1])} and {quoted[-1]}"


def _missing_message(columns: Sequence[_Column], *, fix: bool = False) -> str:
    parts = []
    for c in columns:
        unit = c.missing_lines[0][0] if c.missing_lines else "row"
        more = " ..." if c.missing > len(c.missing_lines[:5]) else ""
        if len({u for u, _ in c.missing_lines}) > 1:  # rows of several files
            shown = ", ".join(f"{u} {line}" for u, line in c.missing_lines[:5])
            parts.append(f"{c.name!r} ({c.missing}: {shown}{more})")
            continue
        shown = ", ".join(str(line) for _, line in c.missing_lines[:5])
        parts.append(f"{c.name!r} ({c.missing}: {unit}{'s' * (c.missing > 1)} {shown}{more})")
    head = (
        f"{'a column has' if len(parts) == 1 else f'{len(parts)} columns have'} missing values: "
        + "; ".join(parts)
    )
    if fix:
        head += f"; fill them with {option('impute')} or remove those rows"
    return head


def _absent_message(absent: Sequence[str], available: Sequence[str], what: str) -> str:
    from ..validation import did_you_mean

    hint = did_you_mean(absent[0], list(available)) if len(absent) == 1 else ""
    return f"{what} has no {_names(absent)}{hint}"


_COMMA_DECIMAL = re.compile(r"\s*[+-]?\d{1,3}(?:\.\d{3})*,\d+\s*|\s*[+-]?\d+,\d+\s*")


#: A number with commas between its thousands, and a point before its fraction if it
#: has one: ``16,310``, ``1,234,567.5`` (a spreadsheet's export, the cells quoted).
_GROUPED_COMMAS = re.compile(r"\s*[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?\s*")
#: A number as text with a point for its fraction, if it has one.
_PLAIN_NUMBER = re.compile(r"\s*[+-]?\d+(?:\.\d+)?\s*")
#: A number with points between its thousands and one before its fraction: what a
#: decimal comma became when the comma was read as the decimal mark but the points that
#: mark thousands were not (``1.274,29`` read with ``--decimal ,`` alone).
_POINTED_THOUSANDS = re.compile(r"\s*[+-]?\d{1,3}(?:\.\d{3})+\.\d+\s*")


def _comma_marks(examples: Sequence[str]) -> str:
    """The fix for numbers written with a decimal comma, such as ``examples``: the decimal
    mark, and the thousands mark when they hold points."""
    if any("." in example for example in examples):
        both = together([option("decimal", ","), option("thousands", ".")])
        return f"{both} (points mark thousands)"
    return f"{option('decimal', ',')} (and {option('thousands', '.')} if points mark thousands)"


def _example_date(fmt: str | None) -> str:
    """A date as a format writes it (ISO 8601 without one), for a message."""
    when = _dt.datetime(2020, 5, 13, 14, 30)
    return when.strftime(fmt) if fmt else when.date().isoformat()


def _comma_decimals(counts: dict) -> str | None:
    """An example level, when nearly every level of a text column is a number written with a
    decimal comma (``39,1``, or ``1.274.29`` when only the comma was read as the decimal
    mark), or with commas between thousands (``16,310``, ``1,234.5``): the sign of a file
    that needs ``--decimal ,`` (and ``--thousands .``), or ``--thousands ,``."""
    labels = [label for label in counts if isinstance(label, str)]
    hits = [
        label
        for label in labels
        if _COMMA_DECIMAL.fullmatch(label)
        or _POINTED_THOUSANDS.fullmatch(label)
        or _GROUPED_COMMAS.fullmatch(label)
    ]
    # with --decimal , alone, 684,38 is read as the number 684.38 but 1.274,29 stays text
    plain = sum(1 for label in labels if _PLAIN_NUMBER.fullmatch(label))
    return hits[0] if hits and len(hits) + plain >= 0.9 * len(labels) else None


def _thousands_commas(examples: Sequence[str]) -> bool:
    """Whether numbers with commas (``16,310``, ``1,234,567.5``) all group thousands with
    them: read so, rather than as decimal commas, when every comma has three digits
    after it (a decimal comma with three decimals everywhere is the rarer reading)."""
    commas = [e for e in examples if "," in e]
    return bool(commas) and all(_GROUPED_COMMAS.fullmatch(e) for e in commas)


def shown_level(text: str, width: int = 40) -> str:
    """A level or class as a summary shows it: as it is, or, past ``width`` characters,
    its start and its length (a 2 MB cell would otherwise be a 2 MB line)."""
    if len(text) <= width + 15:  # shortened, it would be no shorter
        return text
    return f"{text[: width - 12]}... ({len(text):,} characters)"


def available_memory() -> int | None:
    """Bytes of memory available to this process (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# -- the target ----------------------------------------------------------------------------


def _class_value(text: str) -> Any:
    """A label read as text, as the value it spells when the spelling round-trips exactly
    (``3`` -> 3, ``0.5`` -> 0.5, ``True`` -> True); otherwise the text (``001``, ``TRUE``)."""
    if text in ("True", "False"):
        return text == "True"
    try:
        if str(int(text)) == text:
            return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
        if repr(number) == text and math.isfinite(number):
            return number
    except ValueError:
        pass
    return text


def _match_key(value: Any) -> Any:
    """What a class and a value must share to match: numbers by value, true/false in any
    case or type alike, other text exactly."""
    if isinstance(value, (bool, np.bool_)):
        return ("b", bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ("n", float(value))
    text = str(value)
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return ("b", lowered == "true")
    try:
        number = float(text)
        if math.isfinite(number):
            return ("n", number)
    except ValueError:
        pass
    return ("s", text)


def _sort_key(value: Any):
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0.0, str(value))


#: A classification target read in chunks keeps every label it has seen while the first
#: pass reads the file; past this many it is refused (or, with task auto, a regression).
MAX_STREAMED_CLASSES = 65_536


def _is_finite_number(value: Any) -> TypeGuard[int | float]:
    """An int or a finite float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _too_many_classes(name: str) -> str:
    return (
        f"the target column {name!r} has more than {MAX_STREAMED_CLASSES} distinct values; "
        f"that many classes cannot be learnt (give {option('task', 'regression')} for a number)"
    )


def _class_label(v: Any) -> Any:
    """The class a raw target value stands for: text as the value it spells when the
    spelling round-trips (``3``), otherwise as written; numpy scalars as Python values."""
    if isinstance(v, str):
        return _class_value(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return int(v) if v == int(v) else float(v)
    return str(v)


def class_identity(v: Any) -> tuple[Any, tuple]:
    """(the class a raw target value stands for, the key the values of one class share):
    1, 1.0 and True are one class, as in a Python set; the text ``"01"``, kept as
    written, is another."""
    label = _class_label(v)
    return label, (type(label) is str, str(label) if type(label) is str else label)


@dataclass
class _TargetStats:
    """What a target's chunks have said so far: enough to choose the task, the classes
    and the regression scale without keeping the values."""

    n: int = 0  # values (none missing)
    all_bool: bool = True
    text: tuple[str, str] | None = None  # (example, rows) of the first cells not numbers
    infinite: str | None = None  # the rows of the first infinite values
    distinct: dict = field(default_factory=dict)  # distinct numbers (up to 21): their counts
    integral: bool = True
    labels: dict | None = field(default_factory=dict)  # class by identity, first seen first
    scale: Accumulator = field(default_factory=Accumulator)

    def add_numbers(self, values: np.ndarray, scale, where) -> None:
        self.n += len(values)
        self.all_bool = self.all_bool and values.dtype.kind == "b"
        numbers, failed = parse_numbers(values, np.zeros(len(values), dtype=bool))
        if failed.any() and self.text is None:
            rows = np.flatnonzero(failed)
            self.text = (str(values[rows[0]]), rows_text(rows, where))
        infinite = np.isinf(numbers)
        if infinite.any() and self.infinite is None:
            self.infinite = rows_text(np.flatnonzero(infinite), where)
        good = numbers[~failed]
        if len(self.distinct) <= 20:
            seen, counts = np.unique(good, return_counts=True)
            for value, count in zip(seen[:21].tolist(), counts[:21].tolist()):
                self.distinct[value] = self.distinct.get(value, 0) + count
        self.integral = self.integral and bool(np.all(np.isfinite(good) & (good == np.round(good))))
        if self.text is None and self.infinite is None:
            self.scale.add(numbers if scale is None else numbers[scale])

    def add_labels(self, values: np.ndarray) -> None:
        if self.labels is None:
            return
        pd = import_pandas()
        for v in pd.unique(values):
            label, key = class_identity(v)
            self.labels.setdefault(key, label)
        if len(self.labels) > MAX_STREAMED_CLASSES:
            self.labels = None

    def task(self) -> str:
        """The rule of :meth:`TargetEncoder.infer_task`."""
        if self.n and self.all_bool:
            return "classification"
        if self.text is not None or not self.n:
            return "classification"
        k = len(self.distinct)
        # A few whole numbers are classes (codes: 1, 2, 3; 0 to 9; 001, 002, 010), unless
        # one of them is seen once (a class of a single row can be neither learnt nor held
        # out: such a tail, as in visits to a doctor, 0, 1, 2, ... 24, 48, is a count), or
        # they are written as plain numbers spread over more than twice their number
        # (amounts: 0, 2, 5, 20, 50, 100, 250).
        few = k <= 20 and k <= self.n / 2 and min(self.distinct.values(), default=0) >= 2
        plain = self.labels is not None and not any(
            isinstance(label, str) for label in self.labels.values()
        )
        if few and k > 2 and plain:
            few = max(self.distinct) - min(self.distinct) + 1 <= 2 * k
        if self.integral and (k <= 2 or few):
            return "classification"
        if k <= 2 and not self.integral:
            return "classification"  # two values such as 0.0 / 0.5: a binary label
        return "regression"


class TargetEncoder:
    """The target: class labels (classification) or a standardised number (regression).

    JSON (``to_json``): ``{"name": str, "task": "classification", "classes": [label, ...]}``
    with labels str, int, float or bool in output order (the network's output ``j`` is
    ``classes[j]``), or ``{"name": str, "task": "regression", "mean": float, "std": float}``
    with the prediction ``output * std + mean``.
    """

    def __init__(self, name: str, task: str, classes=None, mean=0.0, std=1.0):
        self.name = name
        self.task = task
        self.classes = list(classes) if classes is not None else None
        self.mean = float(mean)
        self.std = float(std)
        # how class_indices finds a class: ("key" or "text", class index by key or text)
        self._index: tuple[str, dict[Any, int]] | None = None
        self._fitting: _TargetStats | None = None

    @staticmethod
    def infer_task(values) -> str:
        """Classification for text, booleans, two values, or a few distinct integers
        (at most 20, at most half as many as the values, each seen twice at least, and,
        unless written as codes such as 001, spread over at most twice their number);
        else regression."""
        values = np.asarray(values) if not isinstance(values, np.ndarray) else values
        stats = _TargetStats()
        present = values[~missing_mask(values)]
        stats.add_numbers(present, None, ("row", 1))
        stats.add_labels(present)  # how they are written: codes (001) or plain numbers
        return stats.task()

    @classmethod
    def fit(
        cls, name: str, values, task: str = "auto", *, scale_rows=None, where=("row", 1)
    ) -> TargetEncoder:
        """Classes from all ``values``; for a regression, mean and std from the rows
        ``scale_rows`` (the training rows) only. ``partial_fit`` then ``finish``."""
        return cls(name, task).partial_fit(values, scale=scale_rows, where=where).finish()

    def partial_fit(self, values, *, scale=None, where=("row", 1)) -> TargetEncoder:
        """Accumulate one chunk of the target column.

        Classes are every distinct label seen, kept as spelled (``001`` stays text, ``3``
        is the number 3), in the order of :meth:`finish` (numbers, then text), whatever
        the chunks; for a regression, mean and standard deviation of the rows ``scale``
        (a mask or indices of this chunk; default all), combined chunk by chunk as
        :class:`Accumulator` does. With ``task="auto"`` both are gathered until
        :meth:`finish` decides. ``where`` numbers this chunk's rows for messages.
        """
        if self.task not in ("auto", "classification", "regression"):
            raise PreprocessingError(
                f"unknown task {self.task!r}; choose classification or regression"
            )
        values = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if values.dtype.kind not in "biufcMmO":
            values = values.astype(object)
        missing = missing_mask(values)
        if missing.any():
            rows = np.flatnonzero(missing)
            raise PreprocessingError(
                f"the target column {self.name!r} has {len(rows)} missing value"
                f"{'s' * int(len(rows) > 1)} ({rows_text(rows, where)}); remove those rows "
                f"or give {option('drop_missing_target')}"
            )
        if self._fitting is None:
            self._fitting = _TargetStats()
        stats = self._fitting
        if self.task != "classification":
            stats.add_numbers(values, scale, where)
            if self.task == "regression":
                self._refuse_unscalable(stats)
        if self.task != "regression":
            stats.add_labels(values)
            if stats.labels is None and self.task == "classification":
                raise PreprocessingError(_too_many_classes(self.name))
        return self

    def finish(self) -> TargetEncoder:
        """Decide the task (when ``"auto"``), the classes or the scale."""
        stats, self._fitting = self._fitting, None
        if stats is None:
            raise PreprocessingError("nothing to finish: call partial_fit first")
        task = stats.task() if self.task == "auto" else self.task
        self._index = None
        if task == "classification":
            if stats.labels is None:
                raise PreprocessingError(_too_many_classes(self.name))
            classes = sorted(stats.labels.values(), key=_sort_key)
            if len(classes) < 2:
                shown = f" ({classes[0]!r})" if classes else ""
                raise PreprocessingError(
                    f"the target column {self.name!r} has a single class{shown}; "
                    "there is nothing to learn"
                )
            self.task, self.classes = task, classes
            return self
        self._refuse_unscalable(stats)
        scaled = TargetEncoder.standardised(self.name, stats.scale)
        self.task, self.classes, self.mean, self.std = "regression", None, scaled.mean, scaled.std
        return self

    @classmethod
    def standardised(cls, name: str, scale: Accumulator) -> TargetEncoder:
        """A regression target scaled by the mean and std of the values ``scale``
        accumulated (the training rows'); a std of 0 or an infinite one is taken as 1."""
        std = scale.std if scale.std > 0 and math.isfinite(scale.std) else 1.0
        return cls(name, "regression", mean=scale.value_mean, std=std)

    def _refuse_unscalable(self, stats: _TargetStats) -> None:
        if stats.text is not None:
            example, rows = stats.text
            raise PreprocessingError(
                f"the target column {self.name!r} holds text ({example!r} on {rows}), so it "
                "cannot be a regression target"
            )
        if stats.infinite is not None:
            raise PreprocessingError(
                f"the target column {self.name!r} holds an infinite value ({stats.infinite})"
            )

    @property
    def n_outputs(self) -> int:
        if self.task == "classification":
            assert self.classes is not None  # a classification target has its classes
            return len(self.classes)
        return 1

    def _lookup(self) -> tuple[str, dict[Any, int]]:
        """Class index by match key (numbers by value, ...), or by exact text when two
        classes would share a key (``1`` and ``01``)."""
        if self._index is None:
            assert self.classes is not None  # only a classification target looks up classes
            keys = [_match_key(c) for c in self.classes]
            if len(set(keys)) == len(keys):
                self._index = ("key", {k: i for i, k in enumerate(keys)})
            else:
                self._index = ("text", {str(c): i for i, c in enumerate(self.classes)})
        return self._index

    def class_indices(self, values) -> np.ndarray:
        """The class index of each value, -1 for a value that is no class."""
        pd = import_pandas()
        values = np.asarray(values) if not isinstance(values, np.ndarray) else values
        mode, index = self._lookup()
        inverse, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
        if mode == "key":
            codes = np.array([index.get(_match_key(u), -1) for u in uniques], dtype=np.int64)
        else:
            codes = np.array([index.get(str(u), -1) for u in uniques], dtype=np.int64)
        return codes[inverse] if len(codes) else np.full(len(values), -1, dtype=np.int64)

    def encode(self, values, *, where=("row", 1)) -> np.ndarray:
        """Class indices (n,) or the standardised target (n, 1)."""
        values = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if self.task == "classification":
            assert self.classes is not None  # a classification target has its classes
            codes = self.class_indices(values)
            bad = codes < 0
            if bad.any():
                rows = np.flatnonzero(bad)
                raise PreprocessingError(
                    f"the target column {self.name!r} holds {str(values[rows[0]])!r} "
                    f"({rows_text(rows, where)}), which is not one of the model's classes "
                    f"({', '.join(map(str, self.classes[:10]))})"
                )
            return codes
        missing = missing_mask(values)
        numbers, failed = parse_numbers(values, missing)
        if failed.any() or missing.any():
            rows = np.flatnonzero(failed | missing)
            raise PreprocessingError(
                f"the target column {self.name!r} must hold numbers "
                f"({rows_text(rows, where)} does not)"
            )
        return ((numbers - self.mean) / self.std)[:, np.newaxis]

    def decode(self, output: np.ndarray) -> np.ndarray:
        """Labels (object array) from probabilities, or numbers in the target's units."""
        if self.task == "classification":
            assert self.classes is not None  # a classification target has its classes
            labels = np.empty(len(output), dtype=object)
            classes = np.empty(len(self.classes), dtype=object)
            classes[:] = self.classes
            labels[:] = classes[np.argmax(output, axis=1)]
            return labels
        return output[:, 0].astype(np.float64) * self.std + self.mean

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "task": self.task}
        if self.task == "classification":
            data["classes"] = self.classes
        else:
            data.update(mean=self.mean, std=self.std)
        return data

    @classmethod
    def from_json(cls, data: Any) -> TargetEncoder:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("the target description has no name")
        task = data.get("task")
        if task == "classification":
            classes = data.get("classes")
            if (
                not isinstance(classes, list)
                or len(classes) < 2
                or not all(isinstance(c, (str, int, float, bool)) for c in classes)
                or any(isinstance(c, float) and not math.isfinite(c) for c in classes)
                or len({(type(c) is str, str(c)) for c in classes}) != len(classes)
            ):
                raise ValueError("the target's classes are invalid")
            return cls(data["name"], task, classes=classes)
        if task == "regression":
            mean, std = data.get("mean"), data.get("std")
            if not (_is_finite_number(mean) and _is_finite_number(std)):
                raise ValueError("the target's scaling is invalid")
            if std <= 0:
                raise ValueError("the target's scale is not positive")
            return cls(data["name"], task, mean=mean, std=std)
        raise ValueError(f"unknown task {task!r}")

    def describe(self) -> str:
        if self.task == "classification":
            assert self.classes is not None  # a classification target has its classes
            shown = ", ".join(shown_level(str(c)) for c in self.classes[:10]) + (
                ", ..." if len(self.classes) > 10 else ""
            )
            return f"{self.name}: classification over {len(self.classes)} classes ({shown})"
        return (
            f"{self.name}: regression, standardised for training "
            f"(mean {self.mean:.6g}, std {self.std:.6g}) and unscaled at prediction"
        )
