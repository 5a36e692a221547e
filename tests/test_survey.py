"""The survey of every row: kinds and date formats from all the data, every problem at once."""

import numpy as np
import pytest

from glassnet.tabular import PreprocessingError
from glassnet.tabular.fixes import spell
from glassnet.tabular.survey import Survey, infer_kind


def text(*values):
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def said(result):
    """A survey's problems as the command line shows them, their fixes spelled as flags."""
    return [spell(p, "command line") for p in result.problems]


def surveyed(table, target=None, chunk=None, **options):
    names = [n for n in table if n != target]
    survey = Survey(names, target, **options)
    n = len(next(iter(table.values())))
    step = chunk or n
    for start in range(0, n, step):
        part = {k: v[start : start + step] for k, v in table.items()}
        survey.add(part, ("line", 2 + start))
    return survey.finish()


def test_a_column_is_read_by_all_its_rows_whatever_the_chunks():
    # numbers for 7 rows, then words: categories, whether read at once or 5 rows at a time
    values = text(*[str(i) for i in range(7)], *[f"w{i % 3}" for i in range(33)])
    whole = surveyed({"z": values})
    chunked = surveyed({"z": values}, chunk=5)
    assert whole.kinds == chunked.kinds == {"z": "categorical"}
    # numbers with a single word 30 rows in: the same question, read at once or in chunks
    values = text(*[str(i) for i in range(30)], "oops", *[str(i) for i in range(9)])
    for found in (surveyed({"z": values}), surveyed({"z": values}, chunk=4)):
        assert said(found) == [
            "'z' holds numbers, but also the text 'oops' (line 32); if that marks missing "
            "values, give --na-values oops; to treat the column as categories, give "
            "--categorical z"
        ]


def test_missing_values_of_every_kind_in_one_message_counted_over_the_whole_table():
    n = 40
    score = text(*["NA" if i % 7 == 3 else str(i) for i in range(n)])
    income = text(*["" if i in (5, 30) else str(i * 100) for i in range(n)])
    sex = text(*["NA" if i == 8 else ("m" if i % 2 else "f") for i in range(n)])
    label = text(*["NA" if i == 39 else ("yes" if i % 3 else "no") for i in range(n)])
    table = {"score": score, "income": income, "sex": sex, "label": label}
    found = surveyed(table, "label", chunk=6)
    assert said(found) == [
        "3 columns have missing values: 'score' (6 'NA': lines 5, 12, 19, 26, 33 and 1 more); "
        "'income' (2 empty: lines 7, 32); 'sex' (1 'NA': line 10); and the target column "
        "'label' has missing values (1 'NA': line 41); give --na-values NA --impute "
        "--drop-missing-target (to read 'NA' as missing, to fill the features' missing cells "
        "(under the default recipe numbers with the training median, text with a level of "
        "its own), to leave out the rows without a target)"
    ]
    assert found.only_missing and found.na_values == ["NA"]
    assert found.impute and found.drop_missing_target
    assert found.kinds == {"score": "numeric", "income": "numeric", "sex": "categorical"}


def test_the_fixes_already_given_are_not_asked_again():
    table = {
        "score": text("1", "NA", "3", "4"),
        "income": text("1", "", "3", "4"),
        "label": text("a", "b", "", "a"),
    }
    found = surveyed(table, "label", na_values=["?"], impute=True, drop_missing_target=True)
    assert said(found) == [
        "a column has missing values: 'score' (1 'NA': line 3); give --na-values '?,NA' "
        "(to read 'NA' as missing)"
    ]
    assert surveyed({"x": text("1", "", "3")}, impute=True).problems == []


def test_a_column_the_fix_would_empty_is_named_with_ignore():
    table = {"x": text("1", "2", "NA"), "notes": text("NA", "NA", "")}
    (message,) = said(surveyed(table))
    assert "'notes' (1 empty: line 4; 2 'NA': lines 2, 3: no values left)" in message
    assert message.endswith(
        "give --na-values NA --impute --ignore notes (to read 'NA' as missing, to fill the "
        "features' missing cells (under the default recipe numbers with the training median, "
        "text with a level of its own), to leave out the columns without values)"
    )


def test_the_data_decides_the_order_of_day_and_month():
    month_first = surveyed({"d": text("02/12/1977", "02/13/1977", "11/30/2001")})
    assert month_first.kinds == {"d": "datetime"} and month_first.formats == {"d": "%m/%d/%Y"}
    day_first = surveyed({"d": text("02/12/1977 10:00", "13/02/1977 11:30")}, chunk=1)
    assert day_first.formats == {"d": "%d/%m/%Y %H:%M"}
    dots = surveyed({"d": text("02.12.1977", "03.04.2000")})  # dots: day first, by custom
    assert dots.formats == {"d": "%d.%m.%Y"} and not dots.problems
    named = surveyed({"d": text("12 Feb 1977", "3 March 2001"), "e": text("1977/02/12", "")})
    assert named.formats == {"d": "%d %b %Y", "e": "%Y/%m/%d"}


def test_dates_the_data_cannot_order_ask_for_a_format():
    table = {"born": text("02/12/1977", "03/04/1980"), "seen": text("01-02-2020", "05-06-2021")}
    (message,) = said(surveyed(table))
    assert message == (
        "'born' (such as '02/12/1977') and 'seen' (such as '01-02-2020') hold dates whose day "
        "and month cannot be told apart (no value above 12 in either place); say which comes "
        "first with --date-format born=%d/%m/%Y --date-format seen=%d-%m-%Y (or the other "
        "order of day and month)"
    )
    one = said(surveyed({"born": table["born"]}))[0]
    assert one.endswith(
        "say which comes first with --date-format %d/%m/%Y, or --date-format %m/%d/%Y"
    )
    given = surveyed(table, date_format={"born": "%m/%d/%Y", "seen": "%d-%m-%Y"})
    assert given.formats == {"born": "%m/%d/%Y", "seen": "%d-%m-%Y"} and not given.problems
    assert surveyed({"born": table["born"]}, date_format="%d/%m/%Y").formats == {"born": "%d/%m/%Y"}


def test_a_date_column_with_a_few_bad_cells_names_them():
    values = text(*[f"{d:02d}/03/2001" for d in range(1, 29)], "31/02/2001")
    (message,) = said(surveyed({"d": values}))
    assert message.startswith(
        "'d' holds dates (%d/%m/%Y), but also the text '31/02/2001' (line 30)"
    )


def test_surveys_of_parts_merge_as_one_pass():
    rng = np.random.default_rng(0)
    values = text(*[str(v) if v > 0.1 else "NA" for v in rng.random(50)])
    dates = text(
        *[f"{d}/{m}/1999" for d, m in zip(rng.integers(1, 29, 50), rng.integers(1, 13, 50))]
    )
    table = {"x": values, "d": dates}
    one = Survey(["x", "d"]).add(table, ("line", 2))
    first = Survey(["x", "d"]).add({k: v[:20] for k, v in table.items()}, ("row", 0))
    second = Survey(["x", "d"]).add({k: v[20:] for k, v in table.items()}, ("row", 0))
    merged = Survey(["x", "d"]).merge(first, where=("line", 2)).merge(second, where=("line", 22))
    assert merged.finish() == one.finish()


def test_infer_kind_is_the_same_rule_for_one_column():
    assert infer_kind("x", text("1", "2.5", "")) == ("numeric", None)
    assert infer_kind("x", text("TRUE", "false")) == ("boolean", None)
    assert infer_kind("x", text("NA", "NA")) == ("categorical", None)
    assert infer_kind("x", text("2012-01-31", "2012-02-01")) == ("datetime", None)
    assert infer_kind("x", text("31.12.1999", "01.01.2000")) == ("datetime", "%d.%m.%Y")
    with pytest.raises(PreprocessingError, match="'x' holds true/false, but also the text 'NA'"):
        infer_kind("x", text("TRUE", "NA", "FALSE"))
    with pytest.raises(PreprocessingError, match="nested values"):
        infer_kind("x", text([1, 2], [3]))


def test_a_format_given_for_a_column_must_read_all_of_it():
    table = {"born": text("02/12/1977", "x", "03/04/1980")}
    (message,) = said(surveyed(table, date_format={"born": "%Y-%m-%d"}))
    assert message.startswith(
        "--date-format born=%Y-%m-%d does not read '02/12/1977', 'x', '03/04/1980' in 'born' "
        "(lines 2, 3, 4); give the format its dates are written in"
    )
    (message,) = said(surveyed(table, date_format={"born": "%d/%m/%Y"}))
    assert "does not read 'x' in 'born' (line 3)" in message
    # one format for every column reads those it can, and leaves the others to their values
    found = surveyed({**table, "n": text("1", "2", "3")}, date_format="%d/%m/%Y")
    assert found.kinds == {"born": "categorical", "n": "numeric"}
