"""What every column of a table holds, over all its rows, before anything is split or fitted.

A :class:`Survey` reads the whole table, or a file chunk by chunk (:meth:`Survey.add`;
surveys of parts read apart join with :meth:`Survey.merge`), and :meth:`Survey.finish`
decides each feature column's kind (numeric, boolean, datetime with the format its text
is written in, or categorical) from all its values, so that in-memory, streamed and
clustered training read a file alike. It also gathers, in one
:class:`SurveyResult`, every problem a user must settle before training, each with its
fix, counted and numbered over the rows it read (the user's whole file):

- missing values: empty cells, and words such as ``NA`` among a column's numbers,
  booleans or dates, in the features (``--impute``) and the target
  (``--drop-missing-target``); a word that marks missing values anywhere is read as
  missing everywhere once ``--na-values`` names it, so the fixes are counted as they
  will be read;
- text among numbers or dates, which is either a way of writing "missing" or a sign
  that the column holds categories;
- dates whose day and month cannot be told apart from the data (``--date-format``);
- nested values (lists, objects).

The rule for one column of one table is :func:`infer_kind`.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .columns import (
    PreprocessingError,
    as_columns,
    import_pandas,
    line_of,
    missing_mask,
    parse_numbers,
    where_text,
)
from .dates import date_shapes, describe_format, parse_dates
from .fixes import option, together

__all__ = [
    "NA_SPELLINGS",
    "Survey",
    "SurveyResult",
    "ColumnSurvey",
    "infer_kind",
    "date_format_for",
]

#: Words that mark a missing value in files written by R, SAS, Excel, databases: read as
#: missing only when ``--na-values`` names them, but looked for everywhere.
NA_SPELLINGS = frozenset(
    {
        "NA",
        "N/A",
        "n/a",
        "na",
        "NaN",
        "nan",
        "NAN",
        "null",
        "NULL",
        "Null",
        "None",
        "none",
        "NONE",
        "#N/A",
        "#NA",
        "<NA>",
        "nil",
        "NIL",
        "missing",
        "Missing",
        "MISSING",
        "?",
        ".",
        "-",
        "--",
    }
)
#: How many lines a message shows of each problem.
SHOWN_LINES = 5
#: A column whose cells are numbers (or dates) but for at most this share of text is
#: refused with a question (missing values? categories?) instead of being categories.
MIXED_SHARE = 0.1
#: The first cells of a column decide whether to look for numbers in the rest (and the
#: first of those that are not numbers, for dates): when fewer than half of them are
#: numbers (look like dates), none of the column is, wherever the chunks of a file end.
SAMPLE = 1000


@dataclass
class _Lines:
    """A count, and the first lines it was seen on (unit, number)."""

    count: int = 0
    lines: list[tuple[str, int]] = field(default_factory=list)

    def add(self, positions: np.ndarray, where) -> None:
        self.count += len(positions)
        room = SHOWN_LINES - len(self.lines)
        if room > 0:
            self.lines.extend((where[0], line_of(where, p)) for p in positions[:room])

    def merge(self, other: _Lines) -> None:
        self.count += other.count
        self.lines.extend(other.lines[: max(0, SHOWN_LINES - len(self.lines))])

    def text(self) -> str:
        return where_text(self.lines, self.count)


def _renumber(lines: _Lines, where) -> None:
    lines.lines = [(where[0], where[1] + n) for _, n in lines.lines]


#: What a column holds when the date format the user gave it does not read some cells.
_USERS_FORMAT = "the user's format"


def _quoted(texts: Sequence[str]) -> str:
    return ", ".join(repr(t) for t in texts)


def date_format_for(date_format: str | Mapping[str, str] | None, name: str) -> str | None:
    """The date format the user gave for column ``name``: one for every column, or by
    column name."""
    if date_format is None or isinstance(date_format, str):
        return date_format
    return date_format.get(name)


@dataclass
class _Dates:
    """The text cells of one shape (the formats that could have written them): how many
    each combination of formats reads (a bit per format), with a first example and lines."""

    by_valid: dict[int, _Lines] = field(default_factory=dict)
    examples: dict[int, str] = field(default_factory=dict)


@dataclass
class ColumnSurvey:
    """What one column's cells are, counted over the rows read so far.

    ``forced`` is the kind the user gave (``"categorical"`` or ``"numeric"``), and
    ``date_format`` the format the user gave for its dates (or None): for this column by
    name when ``strict`` (then text it does not read is refused), else for every column
    whose text it reads.
    """

    name: str
    forced: str | None = None
    date_format: str | None = None
    strict: bool = False
    rows: int = 0
    empty: _Lines = field(default_factory=_Lines)
    numbers: int = 0
    booleans: int = 0
    datetimes: int = 0  # cells that are times already (datetime64, datetime objects)
    tokens: dict[str, _Lines] = field(default_factory=dict)  # NA spellings
    other: _Lines = field(default_factory=_Lines)  # text that is none of the above
    examples: list[str] = field(default_factory=list)  # the first distinct such texts
    nested: _Lines = field(default_factory=_Lines)
    shapes: dict[tuple[str, ...], _Dates] = field(default_factory=dict)
    user_reads: int = 0  # text cells the user's date format reads
    user_misses: _Lines = field(default_factory=_Lines)  # and those it does not read
    user_examples: list[str] = field(default_factory=list)
    sampled: int = 0  # text cells looked at for dates
    date_like: int = 0  # of them, those that look like a date
    no_dates: bool = False  # the sample says the column holds no dates
    number_sampled: int = 0  # present cells looked at for numbers
    number_like: int = 0  # of them, those that are numbers
    no_numbers: bool = False  # the sample says the column holds no numbers

    @property
    def present(self) -> int:
        return self.rows - self.empty.count

    def add(self, values: np.ndarray, where=("row", 1), missing: np.ndarray | None = None):
        """Count the cells of ``values`` (one chunk of the column), numbered by ``where``."""
        missing = missing_mask(values) if missing is None else missing
        self.rows += len(values)
        self.empty.add(np.flatnonzero(missing), where)
        present = np.flatnonzero(~missing)
        cells = values[present]
        kind = values.dtype.kind
        if kind == "b":
            self.booleans += len(cells)
            return self
        if kind in "iufm":
            self.numbers += len(cells)
            return self
        if kind == "M":
            self.datetimes += len(cells)
            return self
        if kind != "O":
            cells = cells.astype(object)
        failed = self._not_numbers(cells)
        self.numbers += int((~failed).sum())
        rest, cells = present[failed], cells[failed]
        if not len(cells):
            return self
        pd = import_pandas()
        none = np.zeros(len(cells), dtype=bool)
        if pd.api.types.infer_dtype(cells, skipna=False) == "string":  # text: by its values
            codes, uniques = pd.factorize(cells)
            distinct = pd.Series(uniques, dtype=object)
            boolean = distinct.str.strip().str.lower().isin(("true", "false")).to_numpy()[codes]
            is_str, timed, nested = ~none, none, none
        else:  # a mix of types (records, JSON): cell by cell
            series = pd.Series(cells, dtype=object)
            is_str = series.map(type).eq(str).to_numpy()
            words = series.where(is_str, "").str.strip().str.lower()
            boolean = words.isin(("true", "false")).to_numpy().copy()
            boolean |= series.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            timed = series.map(_is_time).to_numpy(dtype=bool)
            nested = series.map(_is_nested).to_numpy(dtype=bool)
        self.booleans += int(boolean.sum())
        token = is_str & ~boolean
        token[token] = pd.Series(cells[token], dtype=object).isin(NA_SPELLINGS).to_numpy()
        if token.any():
            for word, idx in pd.Series(np.flatnonzero(token)).groupby(cells[token]):
                self.tokens.setdefault(str(word), _Lines()).add(rest[idx.to_numpy()], where)
        left = ~boolean & ~token
        timed = left & timed
        self.datetimes += int(timed.sum())
        left &= ~timed
        nested = left & nested
        if nested.any():
            self.nested.add(rest[nested], where)
        text = left & ~nested
        if text.any():
            texts = cells[text]
            if not is_str[text].all():  # numbers of other types, say: as text
                texts = np.array([str(v) for v in texts], dtype=object)
            self._add_text(texts, rest[text], where)
        return self

    def _not_numbers(self, cells: np.ndarray) -> np.ndarray:
        """Which cells are not numbers. The column's first cells decide whether to look at
        the rest: when fewer than half of them are numbers, none of the column is."""
        failed = np.ones(len(cells), dtype=bool)
        if self.no_numbers or not len(cells):
            return failed
        head = max(0, SAMPLE - self.number_sampled)
        if head:
            _, failed[:head] = parse_numbers(cells[:head], np.zeros(len(cells[:head]), dtype=bool))
            self.number_sampled += min(head, len(cells))
            self.number_like += int((~failed[:head]).sum())
            if self.number_sampled >= SAMPLE and self.number_like < self.number_sampled / 2:
                self.no_numbers = True
                return failed
        if len(cells) > head:
            rest = cells[head:]
            _, failed[head:] = parse_numbers(rest, np.zeros(len(rest), dtype=bool))
        return failed

    def _add_text(self, texts: np.ndarray, positions: np.ndarray, where) -> None:
        self.other.add(positions, where)
        if len(self.examples) < 3:
            for t in dict.fromkeys(texts[:1000].tolist()):
                if t not in self.examples and len(self.examples) < 3:
                    self.examples.append(t)
        if self.date_format is not None:
            _, failed = parse_dates(texts, self.date_format)
            self.user_reads += int((~failed).sum())
            self.user_misses.add(positions[failed], where)
            for t in texts[failed][:3].tolist():
                if t not in self.user_examples and len(self.user_examples) < 3:
                    self.user_examples.append(t)
        if self.no_dates:
            return
        if self.sampled < SAMPLE:  # the first cells decide whether to look further
            head = SAMPLE - self.sampled
            self._add_dates(texts[:head], positions[:head], where)
            self.sampled += min(head, len(texts))
            if self.sampled >= SAMPLE and self.date_like < self.sampled / 2:
                self.no_dates = True
                return
            texts, positions = texts[head:], positions[head:]
        if len(texts):
            self._add_dates(texts, positions, where)

    def _add_dates(self, texts: np.ndarray, positions: np.ndarray, where) -> None:
        if not len(texts):
            return
        shape_of, shapes, valid = date_shapes(texts)
        for k, shape in enumerate(shapes):  # () too: the text that looks like no date
            rows = shape_of == k
            if self.sampled < SAMPLE and shape:
                self.date_like += int(rows[: SAMPLE - self.sampled].sum())
            dates = self.shapes.setdefault(shape, _Dates())
            for bits in np.unique(valid[rows]).tolist():
                hit = rows & (valid == bits)
                dates.by_valid.setdefault(bits, _Lines()).add(positions[hit], where)
                dates.examples.setdefault(bits, str(texts[np.flatnonzero(hit)[0]]))

    def merge(self, other: ColumnSurvey, where=None) -> ColumnSurvey:
        """Add what ``other`` counted (on later rows of the same column). ``where`` renumbers
        its lines when it numbered its rows from 0: ``(unit, number of its first row)``."""
        other = copy.deepcopy(other)
        if where is not None:
            for lines in (
                other.empty,
                other.other,
                other.nested,
                other.user_misses,
                *other.tokens.values(),
            ):
                _renumber(lines, where)
            for dates in other.shapes.values():
                for lines in dates.by_valid.values():
                    _renumber(lines, where)
        self.rows += other.rows
        self.empty.merge(other.empty)
        self.numbers += other.numbers
        self.booleans += other.booleans
        self.datetimes += other.datetimes
        for word, lines in other.tokens.items():
            self.tokens.setdefault(word, _Lines()).merge(lines)
        self.other.merge(other.other)
        for t in other.examples:
            if t not in self.examples and len(self.examples) < 3:
                self.examples.append(t)
        self.nested.merge(other.nested)
        for shape, dates in other.shapes.items():
            mine = self.shapes.setdefault(shape, _Dates())
            for bits, lines in dates.by_valid.items():
                mine.by_valid.setdefault(bits, _Lines()).merge(lines)
                mine.examples.setdefault(bits, dates.examples[bits])
        self.user_reads += other.user_reads
        self.user_misses.merge(other.user_misses)
        for t in other.user_examples:
            if t not in self.user_examples and len(self.user_examples) < 3:
                self.user_examples.append(t)
        self.sampled += other.sampled
        self.date_like += other.date_like
        self.no_dates = self.no_dates or other.no_dates
        self.number_sampled += other.number_sampled
        self.number_like += other.number_like
        self.no_numbers = self.no_numbers or other.no_numbers
        return self

    # -- the verdict ---------------------------------------------------------------------------

    def _best_format(self) -> tuple[str | None, int, list[str]]:
        """(the format that reads the most text cells, how many it reads, the other formats
        that read as many): ISO 8601 is None."""
        reads: dict[str, int] = {}
        for shape, dates in self.shapes.items():
            for bit, fmt in enumerate(shape):
                n = sum(lines.count for bits, lines in dates.by_valid.items() if bits >> bit & 1)
                reads[fmt] = reads.get(fmt, 0) + n
        if not reads:
            return None, 0, []
        best = max(reads.values())
        tied = [fmt for fmt, n in reads.items() if n == best]
        if len(tied) > 1 and all("." in f.split(" ")[0] for f in tied):
            tied.sort(key=lambda f: not f.startswith("%d"))  # dots: day first, by convention
            tied = tied[:1]
        first = tied[0]
        return (None if first == "ISO" else first), best, tied[1:]

    def _unread(self, fmt: str | None) -> tuple[_Lines, list[str]]:
        """The text cells the date format ``fmt`` does not read: lines and examples."""
        key = "ISO" if fmt is None else fmt
        count, lines, examples = 0, [], []
        for shape, dates in self.shapes.items():
            bit = shape.index(key) if key in shape else None
            for bits, found in dates.by_valid.items():
                if bit is None or not bits >> bit & 1:
                    count += found.count
                    lines.extend(found.lines)
                    examples.append((found.lines[0][1] if found.lines else 0, dates.examples[bits]))
        lines.sort(key=lambda line: line[1])  # each group's first lines: the first overall
        return _Lines(count, lines[:SHOWN_LINES]), [t for _, t in sorted(examples)][:3]

    def verdict(self) -> _Verdict:
        """The column's kind (None: no values), its date format, the NA spellings that stand
        in its way (words among numbers, booleans or dates), and its other problems."""
        rest = self.present - sum(t.count for t in self.tokens.values())
        name = self.name
        if self.nested.count:
            return _Verdict(
                "categorical",
                problems=[
                    f"{name!r} holds nested values, lists or objects, not single values "
                    f"({self.nested.text()}); leave it out with {option('ignore', [name])}"
                ],
            )
        if self.forced == "categorical" or (self.present and rest == 0 and not self.forced):
            return _Verdict("categorical")
        if self.present == 0:
            return _Verdict(self.forced)
        blocking = sorted(self.tokens)
        if self.forced == "numeric":
            if rest > self.numbers:
                lines, examples = self._text_cells()
                return _Verdict("numeric", blocking, text=("numeric", examples, lines.text()))
            return _Verdict("numeric", blocking)
        if self.booleans == rest:
            return _Verdict("boolean", blocking)
        if self.numbers == rest:
            return _Verdict("numeric", blocking)
        if self.datetimes == rest:
            return _Verdict("datetime", blocking)
        text = self.other.count
        dates_only = self.numbers == 0 and self.booleans == 0
        if dates_only and self.date_format is not None and self.user_reads == text:
            return _Verdict("datetime", blocking, fmt=self.date_format)
        if self.strict and self.date_format is not None:  # the user's format for this column
            what = _USERS_FORMAT
            lines = self.user_misses
            if self.numbers or self.booleans:
                lines = _Lines(rest - self.user_reads, list(self.user_misses.lines))
            examples = self.user_examples or ["a number"]
            return _Verdict("datetime", blocking, fmt=self.date_format,
                            text=(what, examples, lines.text()))  # fmt: skip
        fmt, reads, tied = self._best_format()
        if dates_only and reads + self.datetimes == rest and reads:
            if tied:
                # ISO 8601 reads cells no other format reads: tied, it would not read them all
                assert fmt is not None
                return _Verdict("datetime", blocking, fmt=fmt, ambiguous=[fmt, *tied])
            return _Verdict("datetime", blocking, fmt=fmt)
        if self.numbers and self.numbers >= (1 - MIXED_SHARE) * rest:
            lines, examples = self._text_cells()
            return _Verdict("numeric", blocking, text=("numbers", examples, lines.text()))
        if self.date_format is not None and dates_only and self.user_reads:
            fmt, reads = self.date_format, self.user_reads
        if dates_only and reads and reads + self.datetimes >= (1 - MIXED_SHARE) * rest:
            lines, examples = self._unread(fmt)
            what = f"dates ({describe_format(fmt)})"
            return _Verdict("datetime", blocking, fmt=fmt, text=(what, examples, lines.text()))
        return _Verdict("categorical")

    def _text_cells(self) -> tuple[_Lines, list[str]]:
        """The cells of a numeric column that are not numbers (nor NA spellings)."""
        lines = _Lines(self.other.count + self.booleans + self.datetimes, list(self.other.lines))
        return lines, list(self.examples) or ["true/false"]


def _is_time(v: Any) -> bool:
    return isinstance(v, (np.datetime64, _dt.date))


def _is_nested(v: Any) -> bool:
    return isinstance(v, (list, dict, tuple, set, np.ndarray))


@dataclass
class _Verdict:
    kind: str | None
    tokens: list[str] = field(default_factory=list)  # NA spellings in the way of the kind
    problems: list[str] = field(default_factory=list)
    fmt: str | None = None
    ambiguous: list[str] = field(default_factory=list)  # the formats that read it alike
    text: tuple[str, list[str], str] | None = None  # (what it holds, the text, its lines)

    def text_problem(self, name: str, na_values: Sequence[str]) -> list[str]:
        """The problem of text among the column's numbers or dates, with both ways out
        (``na_values``: the words read as missing so far, to add the text to)."""
        if self.text is None:
            return []
        what, examples, lines = self.text
        shown = list(dict.fromkeys([*na_values, *examples]))
        if what == _USERS_FORMAT:
            return [
                f"{option('date_format', {name: self.fmt})} does not read {_quoted(examples)} "
                f"in {name!r} ({lines}); give the format its dates are written in, or "
                f"correct those cells ({option('na_values', shown)} if they mark missing values)"
            ]
        if what == "numeric":
            numeric = option("numeric", [name])
            return [
                f"{name!r} is numeric ({numeric}) but holds the text {_quoted(examples)} "
                f"({lines}); correct those cells, or leave out {numeric} to read the "
                "column by its values"
            ]
        other_way = (
            f"to treat the column as categories, give {option('categorical', [name])}"
            if what == "numbers"
            else "otherwise correct those cells"
        )
        return [
            f"{name!r} holds {what}, but also the text {_quoted(examples)} ({lines}); if that "
            f"marks missing values, give {option('na_values', shown)}; {other_way}"
        ]


def infer_kind(
    name: str,
    values: np.ndarray,
    missing: np.ndarray | None = None,
    *,
    date_format: str | None = None,
    where=("row", 1),
) -> tuple[str | None, str | None]:
    """(kind, date format) of one column from its values alone: what :class:`Survey`
    decides for a table of one chunk. Raises PreprocessingError for text among numbers,
    words such as ``NA`` among them, dates whose day and month cannot be told apart."""
    survey = ColumnSurvey(name, date_format=date_format).add(values, where, missing)
    verdict = survey.verdict()
    problems = [*verdict.problems, *verdict.text_problem(name, verdict.tokens)]
    if verdict.tokens and not problems and verdict.kind != "categorical":
        problems.append(_token_problem(survey, verdict.tokens))
    if verdict.ambiguous:
        problems.append(_ambiguous_problem([(name, survey, verdict)]))
    if problems:
        raise PreprocessingError("; ".join(problems))
    return verdict.kind, verdict.fmt


def _token_problem(survey: ColumnSurvey, tokens: Sequence[str]) -> str:
    found = " and ".join(f"{t!r} ({survey.tokens[t].text()})" for t in tokens)
    return (
        f"{survey.name!r} holds {_kind_words(survey)}, but also the text {found}; if that marks "
        f"missing values, give {option('na_values', tokens)}; to treat the column as "
        f"categories, give {option('categorical', [survey.name])}"
    )


def _kind_words(survey: ColumnSurvey) -> str:
    if survey.numbers:
        return "numbers"
    if survey.booleans:
        return "true/false"
    return "dates"


def _ambiguous_problem(columns: Sequence[tuple[str, ColumnSurvey, _Verdict]]) -> str:
    """One message for every date column whose day and month the data cannot tell apart."""
    parts, fixes = [], []
    for name, survey, verdict in columns:
        example = next(
            (d.examples[b] for shape, d in survey.shapes.items() for b in d.examples if b == 3),
            "",
        )
        parts.append(f"{name!r} (such as {example!r})")
        fixes.append((name, verdict.ambiguous))
    options = {tuple(f) for _, f in fixes}
    if len(options) == 1:
        first, second = fixes[0][1][:2]
        how = f"{option('date_format', first)}, or {option('date_format', second)}"
    else:
        how = option("date_format", {n: f[0] for n, f in fixes})
        how += " (or the other order of day and month)"
    head = "holds dates" if len(parts) == 1 else "hold dates"
    return (
        f"{' and '.join(parts)} {head} whose day and month cannot be told apart (no value "
        f"above 12 in either place); say which comes first with {how}"
    )


@dataclass
class SurveyResult:
    """What :meth:`Survey.finish` decided: each feature column's kind and date format, the
    problems (each with its fix), and the fixes of missing values, so that a caller can
    try them (``na_values``: the words to read as missing; ``impute``; ``drop_missing_target``;
    ``ignore``: columns left without values) to find what else training would refuse
    before saying everything at once."""

    kinds: dict[str, str | None]
    formats: dict[str, str | None]
    problems: list[str]
    na_values: list[str]
    impute: bool
    drop_missing_target: bool
    ignore: list[str]
    only_missing: bool  # every problem is one of missing values, settled by the fixes

    def refuse(self, more: str | None = None) -> None:
        """Raise one PreprocessingError with every problem (and ``more``), if any."""
        problems = [*self.problems, *([more] if more else [])]
        if not problems:
            return
        if len(problems) == 1:
            raise PreprocessingError(problems[0])
        numbered = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
        raise PreprocessingError(f"{len(problems)} problems with the data: {numbered}")


class Survey:
    """Every feature column, and the target's missing cells, over all the rows fed to it.

    Parameters
    ----------
    features : the feature columns
    target : the target column, or None
    categorical, numeric : columns whose kind the user gave
    date_format : a strftime format for every date column not in ISO 8601, or one per
        column name
    na_values : the words already read as missing (to repeat them in a fix)
    impute, drop_missing_target : the options that settle missing values
    """

    def __init__(
        self,
        features: Sequence[str],
        target: str | None = None,
        *,
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        date_format: str | Mapping[str, str] | None = None,
        na_values: Sequence[str] = (),
        impute: bool = False,
        drop_missing_target: bool = False,
    ):
        self.features = list(features)
        self.target = target
        self.na_values = list(na_values)
        self.impute = impute
        self.drop_missing_target = drop_missing_target
        self.columns = {
            name: ColumnSurvey(
                name,
                "categorical" if name in categorical else "numeric" if name in numeric else None,
                date_format_for(date_format, name),
                strict=isinstance(date_format, Mapping) and name in date_format,
            )
            for name in self.features
        }
        self.target_survey = ColumnSurvey(target) if target is not None else None

    def add(self, table, where=("row", 1)) -> Survey:
        """Count one table (or chunk), its rows numbered by ``where``: (unit, number of its
        first row, or an array of every row's number). With ``drop_missing_target``, the
        rows without a target are left out, as training leaves them."""
        cols = as_columns(table)
        keep = None
        if self.target_survey is not None:
            assert self.target is not None  # the target's survey is there when a target is
            values = cols[self.target]
            missing = missing_mask(values)
            self.target_survey.add(values, where, missing)
            if self.drop_missing_target and missing.any():
                keep = ~missing
        if keep is not None:
            cols = cols.take(keep)
            numbers = _numbers(where, len(keep))[keep]
            where = (where[0], numbers)
        for name, survey in self.columns.items():
            survey.add(cols[name], where)
        return self

    def merge(self, other: Survey, *, where=None) -> Survey:
        """Add what ``other`` counted (later rows of the same columns, surveyed apart);
        ``where`` renumbers its lines, as :meth:`ColumnSurvey.merge` does."""
        for name, survey in self.columns.items():
            survey.merge(other.columns[name], where)
        if self.target_survey is not None and other.target_survey is not None:
            self.target_survey.merge(other.target_survey, where)
        return self

    @property
    def rows(self) -> int:
        """The rows read (of them, those with a target, with ``drop_missing_target``)."""
        first = next(iter(self.columns.values()), None)
        return first.rows if first is not None else 0

    def finish(self) -> SurveyResult:
        """Decide every column's kind and date format, and gather every problem (see the
        module's docstring) in a :class:`SurveyResult`; raises nothing."""
        verdicts = {name: s.verdict() for name, s in self.columns.items()}
        words = {t for v in verdicts.values() if v.kind != "categorical" for t in v.tokens}
        target = self.target_survey
        if target is not None:
            tv = target.verdict()
            if tv.kind in ("numeric", "boolean", "datetime") and tv.text is None:
                words.update(tv.tokens)
        na_values = [*self.na_values, *sorted(words)]
        problems: list[str] = []
        for name, v in verdicts.items():
            problems.extend([*v.problems, *v.text_problem(name, na_values)])
        ambiguous = [(n, self.columns[n], v) for n, v in verdicts.items() if v.ambiguous]
        if ambiguous:
            problems.append(_ambiguous_problem(ambiguous))
        only_missing = not problems
        fix = self._missing(sorted(words))
        if fix is not None:
            message, impute, drop, ignore = fix
            problems.insert(0, message)
        else:
            impute, drop, ignore = self.impute, self.drop_missing_target, []
        return SurveyResult(
            kinds={n: v.kind for n, v in verdicts.items()},
            formats={n: v.fmt for n, v in verdicts.items()},
            problems=problems,
            na_values=na_values,
            impute=impute,
            drop_missing_target=drop,
            ignore=ignore,
            only_missing=only_missing,
        )

    def _missing(self, words: list[str]):
        """The message on missing values, as they will be once ``words`` are read as
        missing, and the fixes: (message, impute, drop_missing_target, columns to
        ignore); None when nothing is missing that the options do not settle."""
        parts, ignore, need_impute = [], [], False
        for name, survey in self.columns.items():
            found = _missing_cells(survey, words)
            if not found:
                continue
            if _missing_count(survey, words) >= survey.rows:
                ignore.append(name)
                parts.append(f"{name!r} ({found}: no values left)")
            elif not self.impute or any(w in survey.tokens for w in words):
                need_impute = need_impute or not self.impute
                parts.append(f"{name!r} ({found})")
        need_drop, about_target = False, ""
        target = self.target_survey
        if target is not None:
            found = _missing_cells(target, words)
            if found and (not self.drop_missing_target or any(w in target.tokens for w in words)):
                need_drop = not self.drop_missing_target
                about_target = f"the target column {target.name!r} has missing values ({found})"
        if not words and not need_impute and not need_drop and not ignore:
            return None
        fixes, why = [], []
        if words:
            fixes.append(option("na_values", [*self.na_values, *words]))
            why.append(f"to read {_quoted(words)} as missing")
        if need_impute:
            fixes.append(option("impute"))
            why.append(
                "to fill the features' missing cells (under the default recipe numbers with the "
                "training median, text with a level of its own)"
            )
        if need_drop:
            fixes.append(option("drop_missing_target"))
            why.append("to leave out the rows without a target")
        if ignore:
            fixes.append(option("ignore", ignore))
            why.append("to leave out the columns without values")
        n = len(parts)
        said = []
        if parts:
            said.append(
                f"{'a column has' if n == 1 else f'{n} columns have'} missing values: "
                + "; ".join(parts)
            )
        if about_target:
            said.append(about_target)
        message = "; and ".join(said) + f"; give {together(fixes)} ({', '.join(why)})"
        return message, self.impute or need_impute, self.drop_missing_target or need_drop, ignore


def _missing_count(survey: ColumnSurvey, words: Sequence[str]) -> int:
    return survey.empty.count + sum(survey.tokens[w].count for w in words if w in survey.tokens)


def _missing_cells(survey: ColumnSurvey, words: Sequence[str]) -> str:
    """'3 empty: lines 4, 7, 9; 2 'NA': lines 5, 8', or '' when none."""
    found = []
    if survey.empty.count:
        found.append(f"{survey.empty.count} empty: {survey.empty.text()}")
    for w in words:
        if w in survey.tokens:
            found.append(f"{survey.tokens[w].count} {w!r}: {survey.tokens[w].text()}")
    return "; ".join(found)


def _numbers(where, n: int) -> np.ndarray:
    if isinstance(where[1], np.ndarray):
        return where[1]
    return np.arange(n, dtype=np.int64) + int(where[1])
