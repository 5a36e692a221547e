"""Dates as people write them, read by a format, and their true calendar in any year."""

import datetime as dt

import numpy as np
import pytest

from glassnet.tabular.dates import calendar_parts, check_format, date_shapes, parse_dates


def text(*values):
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@pytest.mark.parametrize(
    ("value", "formats"),
    [
        ("2012-01-31", ("ISO",)),
        ("2012-01-31T14:05:09Z", ("ISO",)),
        ("02/12/1977", ("%d/%m/%Y", "%m/%d/%Y")),
        ("12.02.1977", ("%d.%m.%Y", "%m.%d.%Y")),
        ("12-02-77", ("%d-%m-%y", "%m-%d-%y")),
        ("1977/02/12", ("%Y/%m/%d",)),
        ("12 Feb 1977", ("%d %b %Y",)),
        ("12-February-1977", ("%d-%b-%Y",)),
        ("Feb 12, 1977", ("%b %d, %Y",)),
        ("02/12/1977 14:05", ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M")),
        ("12.02.1977 14:05:09", ("%d.%m.%Y %H:%M:%S", "%m.%d.%Y %H:%M:%S")),
        ("Feb 12, 1977 2:05 PM", ("%b %d, %Y %I:%M %p",)),
        ("caseid-17", ()),
        ("12.5", ()),
    ],
)
def test_the_formats_that_could_have_written_a_text(value, formats):
    shape_of, shapes, _ = date_shapes(text(value))
    assert shapes[shape_of[0]] == formats


def test_which_formats_read_a_text_as_a_real_date():
    # 13/02: only day first; 02/13: only month first; 02/12: both; 31/02: neither
    _, _, valid = date_shapes(text("13/02/1977", "02/13/1977", "02/12/1977", "31/02/1977"))
    assert valid.tolist() == [1, 2, 3, 0]


def test_text_read_by_a_format_and_as_iso():
    times, failed = parse_dates(text("12/02/1977", "29/02/2000", "29/02/1900", "x"), "%d/%m/%Y")
    assert times[:2].astype(str).tolist() == ["1977-02-12T00:00:00", "2000-02-29T00:00:00"]
    assert failed.tolist() == [False, False, True, True]  # 1900 was no leap year
    times, failed = parse_dates(text("2012-01-31T10:00:00+02:00", "2012-01-31 23:59"))
    assert times.astype(str).tolist() == ["2012-01-31T08:00:00", "2012-01-31T23:59:00"]
    times, _ = parse_dates(
        text("Feb 12, 1977 12:05 AM", "feb 12, 1977 12:05 pm"), "%b %d, %Y %I:%M %p"
    )
    assert times.astype(str).tolist() == ["1977-02-12T00:05:00", "1977-02-12T12:05:00"]


def test_years_outside_pandas_nanosecond_range_keep_their_calendar():
    # pandas' datetime64[ns] stops at 1677 and 2262: 9999-12-31 once became 1816-03-29
    values = text("9999-12-31", "0001-01-01", "1500-03-01 13:00", "2262-04-12")
    times, failed = parse_dates(values)
    assert not failed.any()
    parts = calendar_parts(times)
    for i, value in enumerate(values):
        when = dt.datetime.fromisoformat(value)
        assert parts["year"][i] == when.year
        assert parts["month"][i] == when.month
        assert parts["dayofweek"][i] == when.weekday()
        assert parts["dayofyear"][i] == when.timetuple().tm_yday
        assert parts["hour"][i] == when.hour


def test_the_calendar_agrees_with_python_on_random_days_and_times():
    rng = np.random.default_rng(0)
    seconds = rng.integers(-62135596800, 253402300799, 2000)  # 0001-01-01 to 9999-12-31
    times = seconds.astype("datetime64[s]")
    parts = calendar_parts(times)
    for i in range(0, 2000, 7):
        when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(seconds[i]))
        assert (parts["year"][i], parts["month"][i], parts["hour"][i]) == (
            when.year,
            when.month,
            when.hour,
        )
        assert parts["dayofweek"][i] == when.weekday()
        assert parts["dayofyear"][i] == when.timetuple().tm_yday
    assert np.isnan(calendar_parts(np.array(["NaT"], dtype="datetime64[s]"))["year"][0])


def test_datetime_values_of_any_kind():
    values = text(dt.date(9999, 12, 31), dt.datetime(2000, 1, 1, 5), np.datetime64("1999-05-06"))
    times, failed = parse_dates(values)
    assert times.astype(str).tolist() == [
        "9999-12-31T00:00:00",
        "2000-01-01T05:00:00",
        "1999-05-06T00:00:00",
    ]
    assert not failed.any()


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [
        ("%d/%m", "must give a year"),
        ("%Q/%m/%Y", "%Q is not a directive"),
        ("%I:%M %d/%m/%Y", "without %p"),
        ("%d/%m/%Y %", "lone %"),
        ("", "non-empty"),
    ],
)
def test_formats_it_cannot_read_are_named(fmt, fragment):
    with pytest.raises(ValueError, match=fragment):
        check_format(fmt)
