"""Dates and times as people write them, and their true calendar.

Text is read by a strftime format (``%d/%m/%Y``), or as ISO 8601 when the format is
None (``2012-01-31``, ``2012-01-31T14:00:05Z``; a time with a zone is taken in UTC).
:func:`date_shapes` tells, for text that looks like a date in one of the common forms
(``02/12/1977``, ``12.02.1977``, ``1977/02/12``, ``12 Feb 1977``, ``Feb 12, 1977``,
each with an optional time such as ``14:05``, ``14:05:09`` or ``2:05 PM``), the formats
that could have written it; which of them reads every cell of a column is decided by
the caller (:mod:`.survey`), from the whole column.

Parsing is vectorised over the distinct texts and builds ``datetime64[s]`` values with
NumPy's calendar arithmetic, so every year from 1 to 9999 is itself (pandas' nanosecond
timestamps stop at 1677 and 2262, where ``9999-12-31``, the usual "no end date", would
become another year). :func:`calendar_parts` gives year, month, day of week, day of year
and hour by the same proleptic Gregorian calendar as the ONNX export's graph.

This module imports NumPy alone (pandas lazily, to find the distinct texts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = [
    "ISO_DATE",
    "MONTHS",
    "check_format",
    "date_shapes",
    "parse_dates",
    "calendar_parts",
    "describe_format",
]

#: ISO 8601 as glassnet reads it: the date, an optional time, an optional zone.
ISO_DATE = re.compile(
    r"^\s*(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?)?"
    r"(?P<z>Z|[+-]\d{2}:?\d{2})?\s*$"
)

#: English month names and their abbreviations, as %b and %B read them (any case).
MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_WEEKDAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"

# What each strftime directive matches, and the part of the time it gives.
_DIRECTIVES = {
    "Y": (r"(?P<Y>\d{4})", "Y"),
    "y": (r"(?P<y>\d{2})", "y"),
    "m": (r"(?P<m>\d{1,2})", "m"),
    "d": (r"(?P<d>\d{1,2})", "d"),
    "e": (r"\s?(?P<d>\d{1,2})", "d"),
    "b": (r"(?P<b>[A-Za-z]{3,9})", "b"),  # %b and %B read names and abbreviations alike
    "B": (r"(?P<b>[A-Za-z]{3,9})", "b"),
    "h": (r"(?P<b>[A-Za-z]{3,9})", "b"),
    "H": (r"(?P<H>\d{1,2})", "H"),
    "I": (r"(?P<I>\d{1,2})", "I"),
    "p": (r"(?P<p>[AaPp]\.?[Mm]\.?)", "p"),
    "M": (r"(?P<M>\d{1,2})", "M"),
    "S": (r"(?P<S>\d{1,2})", "S"),
    "f": (r"(?P<f>\d{1,9})", "f"),
    "j": (r"(?P<j>\d{1,3})", "j"),
    "z": (r"(?P<z>Z|[+-]\d{2}:?\d{2})", "z"),
    "a": (_WEEKDAYS, None),
    "A": (_WEEKDAYS, None),
    "%": ("%", None),
}
_SHORTHANDS = {"T": "%H:%M:%S", "R": "%H:%M", "D": "%m/%d/%y", "F": "%Y-%m-%d"}


@lru_cache(maxsize=64)
def _compiled(fmt: str) -> re.Pattern:
    """The regular expression that reads text written with the strftime format ``fmt``
    (case-insensitive, blank space around it ignored). ValueError names what it cannot."""
    for short, long in _SHORTHANDS.items():
        fmt = fmt.replace(f"%{short}", long)
    out, seen, i = [], set(), 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(r"\s+" if ch.isspace() else re.escape(ch))
            i += 1
            continue
        if i + 1 >= len(fmt):
            raise ValueError(f"the format {fmt!r} ends with a lone %")
        code = fmt[i + 1]
        if code not in _DIRECTIVES:
            raise ValueError(
                f"%{code} is not a directive glassnet reads (it reads %Y %y %m %d %b %B %H "
                "%I %p %M %S %f %j %z %a %A, and %T %R %D %F)"
            )
        pattern, part = _DIRECTIVES[code]
        if part is not None:
            if part in seen:
                raise ValueError(f"the format {fmt!r} gives the {part} twice")
            seen.add(part)
        out.append(pattern)
        i += 2
    if not ({"Y", "y"} & seen) or not ({"m", "b"} & seen and "d" in seen or "j" in seen):
        raise ValueError(f"the format {fmt!r} must give a year, and a month and day (or %j)")
    if "I" in seen and "p" not in seen:
        raise ValueError(f"the format {fmt!r} has %I (a 12-hour clock) without %p (AM/PM)")
    return re.compile(r"^\s*" + "".join(out) + r"\s*$", re.IGNORECASE)


def check_format(fmt: str) -> None:
    """Raise ValueError, naming the problem, for a strftime format glassnet cannot read."""
    if not isinstance(fmt, str) or not fmt.strip():
        raise ValueError("a date format must be a non-empty strftime format such as %d/%m/%Y")
    _compiled(fmt)


def describe_format(fmt: str | None) -> str:
    """How a message names a format: ``%d/%m/%Y`` or ``ISO 8601``."""
    return "ISO 8601" if fmt is None else fmt


# -- from text to datetime64[s] --------------------------------------------------------------


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object array, by pandas' factorize."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return np.asarray(codes), np.asarray(uniques, dtype=object)


def _fields(texts: Sequence[str], pattern: re.Pattern) -> list[dict | None]:
    return [m.groupdict() if (m := pattern.match(t)) else None for t in texts]


def _number(groups: list[dict | None], key: str, default: int) -> np.ndarray:
    out = np.full(len(groups), default, dtype=np.int64)
    for i, g in enumerate(groups):
        if g is not None and g.get(key) is not None:
            out[i] = int(g[key])
    return out


def _compose(groups: list[dict | None]) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[s] values from matched fields, and which are real times (a 31 February,
    a 13th month or a 25th hour is not)."""
    n = len(groups)
    ok = np.array([g is not None for g in groups], dtype=bool)
    year = _number(groups, "Y", 1970)
    short = np.array([g is not None and g.get("y") is not None for g in groups], dtype=bool)
    if short.any():  # as strptime: 69-99 are 1969-1999, 00-68 are 2000-2068
        yy = _number(groups, "y", 0)
        year[short] = np.where(yy[short] >= 69, 1900 + yy[short], 2000 + yy[short])
    month = _number(groups, "m", 1)
    for i, g in enumerate(groups):
        if g is not None and g.get("b") is not None:
            m = MONTHS.get(g["b"].lower().rstrip("."))
            if m is None:
                ok[i] = False
            else:
                month[i] = m
    day = _number(groups, "d", 1)
    hour = _number(groups, "H", 0)
    twelve = np.array([g is not None and g.get("I") is not None for g in groups], dtype=bool)
    if twelve.any():
        h12 = _number(groups, "I", 0)
        pm = np.array(
            [g is not None and (g.get("p") or "").lower().startswith("p") for g in groups],
            dtype=bool,
        )
        ok &= ~twelve | ((h12 >= 1) & (h12 <= 12))
        hour[twelve] = h12[twelve] % 12 + 12 * pm[twelve]
    minute = _number(groups, "M", 0)
    second = _number(groups, "S", 0)
    zone = np.zeros(n, dtype=np.int64)  # minutes east of UTC
    for i, g in enumerate(groups):
        z = g.get("z") if g is not None else None
        if z and z.upper() != "Z":
            digits = z[1:].replace(":", "")
            zone[i] = (1 if z[0] == "+" else -1) * (int(digits[:2]) * 60 + int(digits[2:]))
    ok &= (year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 60)
    year, month = np.where(ok, year, 1970), np.where(ok, month, 1)
    months = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]")
    ordinal = _number(groups, "j", 0)
    by_ordinal = np.array([g is not None and g.get("j") is not None for g in groups], dtype=bool)
    start = np.where(by_ordinal, (year - 1970).astype("datetime64[Y]"), months)
    offset = np.where(by_ordinal, ordinal, day) - 1
    days = start.astype("datetime64[D]") + np.clip(offset, -1, 366).astype("timedelta64[D]")
    same = np.where(
        by_ordinal,
        days.astype("datetime64[Y]") == (year - 1970).astype("datetime64[Y]"),
        days.astype("datetime64[M]") == months,
    )
    ok &= same & (offset >= 0)
    seconds = hour * 3600 + minute * 60 + second - zone * 60
    t = days.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    t[~ok] = np.datetime64("NaT")
    return t, ok


def _iso_fields(texts: Sequence[str]) -> list[dict | None]:
    return _fields(texts, ISO_DATE)


def parse_dates(values: np.ndarray, fmt: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Times of present cells (no missing ones), and which of them are not times.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Text, datetimes (``datetime64`` of any unit, Python or pandas datetimes and
        dates), or a mix.
    fmt : a strftime format for the text, or None for ISO 8601

    Returns
    -------
    times : datetime64[s] of shape (n,), NaT where a cell is not a time
    failed : bool of shape (n,)
    """
    n = len(values)
    if values.dtype.kind == "M":
        times = values.astype("datetime64[s]")
        return times, np.isnat(times)
    times = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    if n == 0:
        return times, np.zeros(0, dtype=bool)
    codes, uniques = _distinct(values)
    text = np.array([isinstance(u, str) for u in uniques], dtype=bool)
    parsed = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[s]")
    if text.any():
        texts = uniques[text].tolist()
        groups = _iso_fields(texts) if fmt is None else _fields(texts, _compiled(fmt))
        parsed[text], _ = _compose(groups)
    for i in np.flatnonzero(~text):
        parsed[i] = _datetime_value(uniques[i])
    times = parsed[codes]
    return times, np.isnat(times)


def _datetime_value(value) -> np.datetime64:
    """A datetime (Python's, pandas', NumPy's; in UTC when it has a zone) or a date, to
    the second; NaT for anything else."""
    import datetime as dt

    if isinstance(value, np.datetime64):
        return value.astype("datetime64[s]")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return np.datetime64(value.replace(microsecond=0), "s")
    if isinstance(value, dt.date):
        return np.datetime64(value, "D").astype("datetime64[s]")
    return np.datetime64("NaT", "s")


# -- which formats could have written a text -------------------------------------------------

_TIME = (
    r"(?P<tsep>[ T])(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?P<frac>\.\d{1,9})?)?"
    r"(?:(?P<psep> ?)(?P<ampm>[AaPp]\.?[Mm]\.?))?"
)
_NUMERIC = re.compile(
    rf"^\s*(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}})"
    rf"(?:{_TIME})?\s*$"
)
_YEAR_FIRST = re.compile(
    rf"^\s*(?P<y>\d{{4}})(?P<sep>[/.-])(?P<a>\d{{1,2}})(?P=sep)(?P<b>\d{{1,2}})(?:{_TIME})?\s*$"
)
_DAY_NAMED = re.compile(
    rf"^\s*(?P<a>\d{{1,2}})(?P<sep>[ -])(?P<mon>[A-Za-z]{{3,9}})(?P<dot>\.?)(?P=sep)"
    rf"(?P<y>\d{{4}}|\d{{2}})(?:{_TIME})?\s*$"
)
_NAMED_DAY = re.compile(
    rf"^\s*(?P<mon>[A-Za-z]{{3,9}})(?P<dot>\.?) (?P<a>\d{{1,2}})(?P<comma>,?) (?P<y>\d{{4}})"
    rf"(?:{_TIME})?\s*$"
)


def _time_format(g: dict) -> str | None:
    if g.get("hh") is None:
        return ""
    clock = "%I" if g.get("ampm") else "%H"
    fmt = f"{g['tsep']}{clock}:%M"
    if g.get("ss") is not None:
        fmt += ":%S"
        if g.get("frac"):
            fmt += ".%f"
    if g.get("ampm"):
        fmt += f"{g['psep']}%p"
    return fmt


def _shape(text: str) -> tuple[str, ...]:
    """The strftime formats (one or two) that could have written this text, in a
    canonical order; () when it looks like no date."""
    if ISO_DATE.match(text):
        return ("ISO",)
    m = _NUMERIC.match(text)
    if m:
        g = m.groupdict()
        s, year = g["sep"], "%Y" if len(g["y"]) == 4 else "%y"
        time = _time_format(g)
        return (f"%d{s}%m{s}{year}{time}", f"%m{s}%d{s}{year}{time}")
    m = _YEAR_FIRST.match(text)
    if m:
        g = m.groupdict()
        s = g["sep"]
        return (f"%Y{s}%m{s}%d{_time_format(g)}",)
    for pattern, day_first in ((_DAY_NAMED, True), (_NAMED_DAY, False)):
        m = pattern.match(text)
        if m:
            g = m.groupdict()
            if g["mon"].lower() not in MONTHS:
                return ()
            month = "%b" + g["dot"]  # %b reads abbreviations and full names alike
            time = _time_format(g)
            if day_first:
                s, year = g["sep"], "%Y" if len(g["y"]) == 4 else "%y"
                return (f"%d{s}{month}{s}{year}{time}",)
            return (f"{month} %d{g['comma']} %Y{time}",)
    return ()


def date_shapes(texts: np.ndarray) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    """For text cells: each cell's shape (an index into the list of shapes), the shapes
    (tuples of the formats that could have written them, ``("ISO",)`` for ISO 8601, ``()``
    for no date), and for each cell which of its shape's formats read it as a real date
    (a bit per format: 1 for the first, 2 for the second).

    Parameters
    ----------
    texts : object ndarray of str, shape (n,)
    """
    codes, uniques = _distinct(texts)
    shapes: list[tuple[str, ...]] = []
    index: dict[tuple[str, ...], int] = {}
    shape_of = np.empty(len(uniques), dtype=np.int64)
    for i, u in enumerate(uniques.tolist()):
        s = _shape(u) if isinstance(u, str) else ()
        shape_of[i] = index.setdefault(s, len(index))
        if shape_of[i] == len(shapes):
            shapes.append(s)
    valid = np.zeros(len(uniques), dtype=np.int64)
    for k, s in enumerate(shapes):
        members = np.flatnonzero(shape_of == k)
        texts_k = uniques[members].tolist()
        for bit, fmt in enumerate(s):
            groups = _iso_fields(texts_k) if fmt == "ISO" else _fields(texts_k, _compiled(fmt))
            _, ok = _compose(groups)
            valid[members[ok]] |= 1 << bit
    return shape_of[codes], shapes, valid[codes]


# -- the calendar ------------------------------------------------------------------------------


def calendar_parts(times: np.ndarray) -> dict[str, np.ndarray]:
    """Year, month (1-12), dayofweek (Monday 0 - Sunday 6), dayofyear (1-366) and hour
    (0-23) of datetime64 values, as float64 (NaN where NaT), and ``"_clock"``: which
    have a time of day other than midnight. Any year from 1 to 9999 is exact: the
    arithmetic is on whole seconds, never on nanosecond timestamps."""
    t = np.asarray(times).astype("datetime64[s]")
    nat = np.isnat(t)
    seconds = np.where(nat, 0, t.astype(np.int64))
    days = np.floor_divide(seconds, 86_400)
    clock = seconds - days * 86_400
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    parts = {
        "year": y.astype(np.int64) + 1970,
        "month": (d.astype("datetime64[M]") - y.astype("datetime64[M]")).astype(np.int64) + 1,
        "dayofweek": (days + 3) % 7,  # 1970-01-01 was a Thursday
        "dayofyear": (d - y.astype("datetime64[D]")).astype(np.int64) + 1,
        "hour": clock // 3600,
    }
    out = {}
    for name, value in parts.items():
        v = value.astype(np.float64)
        v[nat] = np.nan
        out[name] = v
    out["_clock"] = (clock != 0) & ~nat
    return out
