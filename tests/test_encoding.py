"""Feature and target encoders: kinds, scaling, one-hot, chunks, missing values, JSON state."""

import math

import numpy as np
import pytest

from glassnet.tabular.columns import missing_mask
from glassnet.tabular.encoding import (
    Accumulator,
    FeatureEncoder,
    PreprocessingError,
    TargetEncoder,
)

pd = pytest.importorskip("pandas")

FRAME = {
    "size": np.array([1.0, 2.0, 3.0, 4.0]),
    "color": np.array(["red", "blue", "red", "green"], dtype=object),
    "flag": np.array([True, False, True, True]),
}


def text(*values):
    return np.array(values, dtype=object)


def test_numeric_columns_are_standardised_and_text_one_hot():
    enc = FeatureEncoder().fit(FRAME, ["size", "color"])
    X, warnings = enc.transform(FRAME)
    assert enc.output_names == ["size", "color=blue", "color=green", "color=red"]
    np.testing.assert_allclose(X[:, 0], (FRAME["size"] - 2.5) / np.std(FRAME["size"]))
    np.testing.assert_array_equal(X[:, 1:], [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert warnings == []


def test_numbers_written_as_text_are_numbers():
    enc = FeatureEncoder().fit({"x": text("1", "2.5", " 4", "1e1")})
    assert enc.kinds == {"x": "numeric"}
    X, _ = enc.transform({"x": text("1", "2.5", " 4", "1e1")})
    values = np.array([1, 2.5, 4, 10])
    np.testing.assert_allclose(X[:, 0], (values - values.mean()) / values.std())


def test_booleans_are_their_own_kind_in_any_spelling():
    enc = FeatureEncoder().fit({"b": text("TRUE", "false", "True", "FALSE")})
    assert enc.kinds == {"b": "boolean"}
    X, _ = enc.transform({"b": np.array([True, False, True, False])})
    np.testing.assert_allclose(X[:, 0], [1, -1, 1, -1])  # mean 0.5, std 0.5
    with pytest.raises(PreprocessingError, match="'b' was true/false in training, but row 2"):
        enc.transform({"b": text("true", "maybe")})


def test_python_bools_in_an_object_column_are_booleans():
    """JSON records give a column of Python bools (with None where missing)."""
    enc = FeatureEncoder().fit({"b": text(True, False, True, False)})
    assert enc.kinds == {"b": "boolean"}
    X, _ = enc.transform({"b": text(True, True, False, False)})
    np.testing.assert_allclose(X[:, 0], [1, 1, -1, -1])
    imputed = FeatureEncoder(impute=True).fit({"b": text(True, None, True, False)})
    X, _ = imputed.transform({"b": text(None, False)})
    assert np.isfinite(X).all() and X[1, 0] < X[0, 0]


def test_dates_become_standardised_parts():
    dates = text("2012-01-01", "2012-06-15", "2013-12-31", "2014-03-09")
    enc = FeatureEncoder().fit({"d": dates})
    assert enc.output_names == ["d.year", "d.month", "d.dayofweek", "d.dayofyear"]
    X, _ = enc.transform({"d": dates})
    index = pd.DatetimeIndex(dates.astype(str))
    for j, part in enumerate([index.year, index.month, index.day_of_week, index.day_of_year]):
        v = np.asarray(part, dtype=float)
        np.testing.assert_allclose(X[:, j], (v - v.mean()) / v.std())


def test_robust_scaling_clips_date_parts_smoothly_as_it_clips_numbers():
    dates = text("2012-01-01", "2012-06-15", "2013-12-31", "2014-03-09")
    enc = FeatureEncoder(scaling="robust").fit({"d": dates})
    plain = FeatureEncoder().fit({"d": dates})
    far = text("2013-01-01", "9999-12-31", "0001-01-01")
    X, _ = enc.transform({"d": far})
    Z, _ = plain.transform({"d": far})
    np.testing.assert_array_equal(X, Z / np.sqrt(1 + (Z / 3) ** 2))
    assert np.abs(Z[:, 0]).max() > 1000 and np.abs(X).max() < 3  # the year, tamed
    back = FeatureEncoder.from_json(enc.to_json())
    np.testing.assert_array_equal(back.transform({"d": far})[0], X)
    assert "each standardised and smoothly clipped to +-3" in enc.describe()[0]
    state = enc.to_json()
    state["columns"][0]["clip"] = -1.0
    with pytest.raises(ValueError, match="invalid clip"):
        FeatureEncoder.from_json(state)


def test_hours_appear_only_when_the_times_have_them():
    times = text("2012-01-01 00:00", "2012-01-01 13:30", "2012-01-02T23:00:00Z")
    enc = FeatureEncoder().fit({"t": times})
    assert enc.output_names[-1] == "t.hour"
    X, _ = enc.transform({"t": times})
    hours = np.array([0, 13, 23.0])
    np.testing.assert_allclose(X[:, -1], (hours - hours.mean()) / hours.std())
    typed = {"t": np.array(["2012-01-01", "2013-01-01"], dtype="datetime64[ns]")}
    assert "t.hour" not in FeatureEncoder().fit(typed).output_names


def test_forced_kinds_override_inference():
    codes = {"code": np.array([1, 2, 3, 1, 2, 3]), "n": text("1", "2", "3", "4", "5", "6")}
    enc = FeatureEncoder(categorical=["code"], numeric=["n"]).fit(codes)
    assert enc.kinds == {"code": "categorical", "n": "numeric"}
    assert enc.output_names[:3] == ["code=1", "code=2", "code=3"]
    with pytest.raises(ValueError, match="both categorical and numeric"):
        FeatureEncoder(categorical=["a"], numeric=["a"])


def test_a_constant_column_does_not_divide_by_zero():
    enc = FeatureEncoder().fit({"c": np.ones(5)})
    X, _ = enc.transform({"c": np.ones(5)})
    np.testing.assert_array_equal(X, 0.0)


def test_unseen_categories_are_zeros_with_a_warning():
    enc = FeatureEncoder().fit(FRAME, ["color"])
    X, warnings = enc.transform({"color": text("purple", "red")})
    np.testing.assert_array_equal(X, [[0, 0, 0], [0, 0, 1]])
    assert warnings == [
        "column 'color' has value never seen in training ('purple') in 1 row; encoded as all zeros"
    ]


def test_max_categories_keeps_the_most_frequent_and_an_other_level():
    values = text(*("a" * 5 + "b" * 4 + "c" * 3 + "d" * 2 + "e"))
    enc = FeatureEncoder(max_categories=3).fit({"v": values})
    assert enc.output_names == ["v=a", "v=b", "v=(other)"]
    X, warnings = enc.transform({"v": text("a", "c", "zzz", "b")})
    np.testing.assert_array_equal(X, [[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0]])
    assert warnings == []  # unseen values go to "other" when it exists
    few = FeatureEncoder(max_categories=10).fit({"v": values})
    assert few.output_names == ["v=a", "v=b", "v=c", "v=d", "v=e"]  # no "other" needed


def test_identifier_like_text_is_refused_quickly():
    ids = text(*[f"id{i // 2}" for i in range(400)])
    with pytest.raises(PreprocessingError, match=r"'ids' has 200 distinct.*ignore=\['ids'\]"):
        FeatureEncoder().fit({"ids": ids})
    enc = FeatureEncoder(max_categories=20).fit({"ids": ids})
    assert enc.n_outputs == 20


def test_every_column_with_missing_values_is_named_in_one_message():
    frame = {
        "a": np.array([1.0, np.nan, 3.0, np.nan]),
        "b": text("x", None, "", "x"),
        "c": text("1", "2", "3", "4"),
    }
    with pytest.raises(PreprocessingError) as info:
        FeatureEncoder().fit(frame, where=("line", 2))
    message = str(info.value)
    assert "2 columns have missing values" in message
    assert "'a' (2: lines 3, 5)" in message and "'b' (2: lines 3, 4)" in message
    assert "'c'" not in message and "fill them with impute=True" in message


def test_missing_values_imputed_from_the_training_rows():
    frame = {"a": np.array([1.0, np.nan, 3.0]), "b": text("x", None, "x")}
    enc = FeatureEncoder(impute=True).fit(frame)
    X, _ = enc.transform(frame)
    assert X[1, 0] == 0.0  # the training mean, standardised
    np.testing.assert_array_equal(X[:, 1], [1, 1, 1])  # the most frequent text


def test_na_none_and_null_are_text_not_missing():
    frame = {"country": text("NA", "None", "null", "DE", "NA")}
    enc = FeatureEncoder().fit(frame)
    assert enc.columns[0]["categories"] == ["DE", "NA", "None", "null"]


def test_numbers_with_a_few_text_cells_ask_what_they_mean():
    column = text(*[str(i) for i in range(40)], "NA", "NA")
    with pytest.raises(PreprocessingError) as info:
        FeatureEncoder().fit({"bill": column}, where=("line", 2))
    message = str(info.value)
    assert "'bill' holds numbers, but also the text 'NA' (lines 42, 43)" in message
    assert "na_values=['NA']" in message and "categorical=['bill']" in message


def test_infinite_values_name_column_and_line():
    with pytest.raises(PreprocessingError, match=r"'x' holds an infinite value \(line 4\)"):
        FeatureEncoder().fit({"x": text("1", "2", "inf")}, where=("line", 2))
    enc = FeatureEncoder().fit({"x": np.array([1.0, 2.0])})
    with pytest.raises(PreprocessingError, match=r"'x' holds an infinite value \(row 2\)"):
        enc.transform({"x": np.array([1.0, -np.inf])})


def test_huge_values_are_scaled_without_overflow():
    x = np.array([1e200, 3e200, 2e200, 5e307, -4e307])
    enc = FeatureEncoder().fit({"x": x})
    c = enc.columns[0]
    assert math.isfinite(c["mean"]) and math.isfinite(c["std"]) and c["std"] > 0
    np.testing.assert_allclose(c["mean"], np.mean(x / 1e300) * 1e300, rtol=1e-12)
    np.testing.assert_allclose(c["std"], np.std(x / 1e300) * 1e300, rtol=1e-12)
    X, _ = enc.transform({"x": x})
    assert np.isfinite(X).all()


def test_partial_fit_over_chunks_equals_one_fit():
    rng = np.random.default_rng(0)
    n = 1000
    frame = pd.DataFrame(
        {
            "x": rng.normal(1e8, 3.0, n),
            "k": rng.choice(["a", "b", "c"], n),
            "d": pd.date_range("2020-01-01", periods=n, freq="7h").astype(str),
        }
    )
    whole = FeatureEncoder(max_categories=2).fit(frame)
    chunked = FeatureEncoder(max_categories=2)
    for start in range(0, n, 137):
        chunked.partial_fit(frame.iloc[start : start + 137])
    chunked.finish()
    for a, b in zip(whole.columns, chunked.columns):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-9)
            elif key == "parts":
                for pa, pb in zip(a[key], b[key]):
                    assert pa["mean"] == pytest.approx(pb["mean"], rel=1e-12)
                    assert pa["std"] == pytest.approx(pb["std"], rel=1e-12)
            else:
                assert a[key] == b[key]


def test_chan_accumulator_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(5, 2, 10_000) * 10.0 ** rng.integers(-3, 3, 10_000)
    acc = Accumulator()
    for part in np.array_split(x, 17):
        acc.add(part)
    assert acc.n == len(x)
    assert acc.value_mean == pytest.approx(x.mean(), rel=1e-12)
    assert acc.std == pytest.approx(x.std(), rel=1e-12)


def test_a_later_chunk_that_contradicts_the_kind_names_its_line():
    enc = FeatureEncoder().partial_fit({"x": text("1", "2")}, where=("line", 2))
    with pytest.raises(PreprocessingError, match=r"'x' holds numbers, but line 4 holds 'abc'"):
        enc.partial_fit({"x": text("abc", "3")}, where=("line", 4))


def test_text_in_a_numeric_column_at_prediction():
    enc = FeatureEncoder().fit(FRAME, ["size"])
    with pytest.raises(PreprocessingError, match="numeric in training, but row 2 holds 'big'"):
        enc.transform({"size": text(1, "big")})


def test_decimal_commas_in_a_numeric_column_at_prediction_ask_for_decimal():
    enc = FeatureEncoder().fit(FRAME, ["size"])
    alone = r"holds '12,5'.*give ReadOptions\(decimal=','\) \(and ReadOptions\(thousands='.'\) "
    with pytest.raises(PreprocessingError, match=alone + r"if points mark thousands\)$"):
        enc.transform({"size": text(1, "12,5")})
    both = r"give ReadOptions\(decimal=','\), ReadOptions\(thousands='.'\) \(points mark "
    with pytest.raises(PreprocessingError, match=r"holds '1.012,5'.*" + both + r"thousands\)$"):
        enc.transform({"size": text(1, "1.012,5")})


def test_absent_columns_are_all_named():
    enc = FeatureEncoder().fit(FRAME)
    with pytest.raises(PreprocessingError, match="no columns 'size', 'color' and 'flag'"):
        enc.transform({"other": np.arange(3)})


def test_missing_at_prediction_without_impute():
    enc = FeatureEncoder().fit(FRAME, ["size"])
    with pytest.raises(PreprocessingError, match="trained without imputing.*give impute=True"):
        enc.transform({"size": np.array([1.0, np.nan])})


def test_every_problem_at_prediction_is_named_in_one_message():
    train = {
        "size": FRAME["size"],
        "weight": np.array([5.0, 6.0, 7.0, 8.0]),
        "day": text("2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"),
        "color": FRAME["color"],
    }
    enc = FeatureEncoder().fit(train)
    rows = {
        "size": text("", "2"),  # missing, which the encoder was not fitted to fill
        "weight": text("7", "NA"),  # text in a numeric column
        "day": text("2020-05-01", "soon"),  # not a date
        "color": text("red", "blue"),
    }
    with pytest.raises(PreprocessingError) as caught:
        enc.transform(rows, where=("line", 2))
    message = str(caught.value)
    assert "'size' (1: line 2)" in message and "give impute=True" in message
    assert "'weight' was numeric in training, but line 3 holds 'NA'" in message
    assert "give na_values=['NA'] (and impute=True to fill them)" in message
    assert "'day' was dates" in message and "line 3 holds 'soon'" in message
    # the same fixes as the command line and a client of the service give them
    cli = caught.value.spelled("command line")
    assert "give --impute to fill" in cli and "give --na-values NA (and --impute" in cli
    assert cli.replace("--impute", "impute=True").replace("--na-values NA", "na_values=['NA']") == (
        message
    )
    served = caught.value.spelled("service")
    assert "give glassnet serve --impute to fill" in served
    assert "give null (JSON) or an empty cell (CSV) in place of those cells" in served


def test_memory_refusal_before_allocating():
    enc = FeatureEncoder().fit({f"x{i}": np.arange(5.0) for i in range(50)})
    enc.check_memory(1000)  # small: fine
    with pytest.raises(PreprocessingError, match="of memory available.*max_categories=N"):
        enc.check_memory(10**12)


def test_json_round_trip_of_every_kind():
    frame = {
        "n": np.array([1.0, 2.0, np.nan]),
        "b": text("true", "false", "true"),
        "d": text("2020-01-01 10:00", "2021-05-01", None),
        "c": text("x", "y", "z"),
    }
    enc = FeatureEncoder(impute=True, max_categories=2).fit(frame)
    again = FeatureEncoder.from_json(enc.to_json())
    np.testing.assert_array_equal(again.transform(frame)[0], enc.transform(frame)[0])
    assert again.to_json() == enc.to_json()


def test_model_files_of_glassnet_0_1_still_load():
    old = {
        "impute": False,
        "columns": [
            {"name": "a", "kind": "numeric", "mean": 1.0, "std": 2.0, "fill": 1.0},
            {"name": "t", "kind": "categorical", "categories": ["x", "y"], "fill": "x"},
        ],
    }
    enc = FeatureEncoder.from_json(old)
    X, _ = enc.transform({"a": np.array([3.0]), "t": text("y")})
    np.testing.assert_array_equal(X, [[1.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    "bad",
    [
        {"columns": [{"name": "a", "kind": "numeric", "mean": 0, "std": 0, "fill": 0}]},
        {"columns": [{"name": "a", "kind": "numeric", "mean": 0, "std": 1}]},
        {"columns": [{"name": "a", "kind": "categorical", "categories": [], "fill": "x"}]},
        {"columns": [{"name": "a", "kind": "categorical", "categories": ["x", "x"], "fill": "x"}]},
        {"columns": [{"name": "a", "kind": "datetime", "parts": [{"part": "minute"}]}]},
        {"columns": [{"name": "a", "kind": "boolean", "mean": 0.5, "std": -1}]},
        {"columns": [{"name": "a", "kind": "weird"}]},
        {"columns": [{"name": "a", "kind": "boolean", "mean": 0.5, "std": 1}] * 2},
        {"columns": []},
        {"columns": "nope"},
        {"columns": [], "impute": "yes"},
    ],
)
def test_invalid_json_is_refused(bad):
    with pytest.raises(ValueError):
        FeatureEncoder.from_json(bad)


# -- the target ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (text("a", "b", "a"), "classification"),
        (np.array([0, 1, 1, 0]), "classification"),
        (np.array([1, 2, 3, 1, 2, 3, 1, 2]), "classification"),
        (text("001", "002", "001", "002"), "classification"),
        (text("0.0", "1.0", "1.0"), "classification"),
        (np.array([92, 86, 89]), "regression"),  # seed 004's scores: distinct integers
        (np.array([0.5, 1.25, 3.0, 0.5]), "regression"),
        (text("0.5", "1.25", "3.0", "7"), "regression"),
        (np.array([True, False, True]), "classification"),
        # a count with a tail of values seen once: a number, not 8 classes
        (np.array([0] * 20 + [1] * 9 + [2] * 5 + [3] * 3 + [4, 4, 7, 12, 48]), "regression"),
        (np.array([0] * 20 + [1] * 9 + [2] * 5 + [3] * 3 + [4, 4]), "classification"),
        (np.array([0, 0, 1, 2, 2]), "regression"),  # 1 alone
        (np.array([0, 2, 5, 20, 50, 100, 250] * 5), "regression"),  # amounts, not codes
        (np.tile(text("0", "2", "5", "20", "50", "100", "250"), 5), "regression"),  # as in a CSV
        (text("001", "002", "010", "001", "002", "010"), "classification"),  # codes as text
        (np.array([1, 2, 4, 1, 2, 4]), "classification"),  # codes with a gap
        (np.array([0, 100] * 3), "classification"),  # two values: a binary label
    ],
)
def test_task_inference(values, task):
    assert TargetEncoder.infer_task(values) == task


def test_a_value_seen_once_in_each_of_two_chunks_is_a_class():
    """The counts behind the task add up chunk by chunk."""
    encoder = TargetEncoder("visits", "auto").partial_fit(np.array([0, 0, 1, 1, 2]))
    assert encoder.partial_fit(np.array([0, 1, 2, 0])).finish().task == "classification"
    encoder = TargetEncoder("visits", "auto").partial_fit(np.array([0, 0, 1, 1, 2]))
    assert encoder.partial_fit(np.array([0, 1, 0, 1])).finish().task == "regression"


@pytest.mark.parametrize(
    ("values", "classes"),
    [
        (text("001", "002", "001"), ["001", "002"]),
        (text("0.0", "1.0", "0.0"), [0.0, 1.0]),
        (text("TRUE", "FALSE"), ["FALSE", "TRUE"]),
        (text("3", "4", "3"), [3, 4]),
        (text("no", "yes", "no"), ["no", "yes"]),
    ],
)
def test_classes_keep_their_spelling(values, classes):
    target = TargetEncoder.fit("y", values)
    assert target.classes == classes
    decoded = target.decode(np.eye(len(classes)))
    assert [str(label) for label in decoded] == [str(c) for c in classes]
    spelled = [str(c) for c in classes]
    np.testing.assert_array_equal(target.encode(values), [spelled.index(v) for v in values])


def test_classes_match_values_of_another_type():
    target = TargetEncoder.fit("y", text("0.0", "1.0"))
    np.testing.assert_array_equal(target.class_indices(np.array([1.0, 0.0, 2.0])), [1, 0, -1])
    flags = TargetEncoder.fit("y", text("TRUE", "FALSE"))
    np.testing.assert_array_equal(flags.class_indices(np.array([True, False])), [1, 0])


def test_regression_target_is_scaled_on_the_given_rows_only():
    values = np.array([10.0, 20.0, 30.0, 1000.0])
    target = TargetEncoder.fit("y", values, task="regression", scale_rows=np.array([0, 1, 2]))
    assert target.mean == pytest.approx(20.0) and target.std == pytest.approx(np.std([10, 20, 30]))
    np.testing.assert_allclose(target.decode(target.encode(values)), values)


def test_target_errors():
    with pytest.raises(PreprocessingError, match="single class"):
        TargetEncoder.fit("y", text("a", "a"))
    with pytest.raises(PreprocessingError, match="target column 'y' has 1 missing value"):
        TargetEncoder.fit("y", np.array([1.0, np.nan, 2.0]))
    with pytest.raises(PreprocessingError, match="holds text"):
        TargetEncoder.fit("y", text("a", "b"), task="regression")
    with pytest.raises(PreprocessingError, match=r"infinite value \(line 3\)"):
        TargetEncoder.fit("y", text("1.5", "inf", "2.5"), task="regression", where=("line", 2))


def test_pandas_string_columns_with_pd_na_are_read_as_missing_cells():
    values = pd.array(["a", None, "", "b"], dtype="string").to_numpy(dtype=object)
    assert missing_mask(values).tolist() == [False, True, True, False]


def test_accumulators_merge_as_if_their_values_were_added_to_one():
    rng = np.random.default_rng(0)
    values = 1e9 + rng.normal(size=3000) * 1e3
    whole = Accumulator()
    whole.add(values)
    parts = [Accumulator() for _ in range(3)]
    for part, chunk in zip(parts, np.split(values, [1000, 1700])):
        part.add(chunk)
    merged = Accumulator()
    for part in parts:
        merged.merge(part)
    assert merged.n == 3000
    assert merged.value_mean == pytest.approx(np.mean(values), rel=1e-15)
    assert merged.std == pytest.approx(np.std(values), rel=1e-12)
    assert whole.std == pytest.approx(np.std(values), rel=1e-12)


def test_a_one_hot_block_is_bounded_before_it_is_allocated():
    from glassnet.tabular.encoding import MAX_ONE_HOT_BYTES

    levels = [f"c{i}" for i in range(7_500)]
    enc = FeatureEncoder().fit({"city": text(*(levels * 11))})  # not rare: no identifier
    enc.check_memory(1_000)  # 1000 rows x 7500 levels x 8 bytes x 2 copies: 120 MB, fine
    rows = MAX_ONE_HOT_BYTES // (7_500 * 8 * 2) + 1
    with pytest.raises(PreprocessingError) as info:
        enc.check_memory(rows)
    message = str(info.value)
    assert message.startswith(f"'city' has 7500 levels, and one-hot encoding it for {rows} rows")
    assert "more than the 1.0 GiB a column may take" in message
    assert "keep its most frequent values with max_categories=7499 (or fewer" in message
    assert message.endswith("or leave it out with ignore=['city']")


def test_a_date_format_is_kept_in_the_json_and_read_back():
    enc = FeatureEncoder().fit({"d": text("13/02/1977 10:00", "01/12/2001 23:00")})
    (column,) = enc.to_json()["columns"]
    assert column["format"] == "%d/%m/%Y %H:%M"
    again = FeatureEncoder.from_json(enc.to_json())
    X, _ = again.transform({"d": text("01/12/2001 23:00")})
    np.testing.assert_allclose(X, enc.transform({"d": text("01/12/2001 23:00")})[0])
    with pytest.raises(PreprocessingError, match=r"was dates \(%d/%m/%Y %H:%M\) in training"):
        again.transform({"d": text("2001-12-01")})
    bad = enc.to_json()
    bad["columns"][0]["format"] = "%Q"
    with pytest.raises(ValueError, match="invalid date format"):
        FeatureEncoder.from_json(bad)
    assert "d: date/time (%d/%m/%Y %H:%M) -> year" in enc.describe()[0]


def test_transform_fills_with_the_training_statistics_when_asked():
    enc = FeatureEncoder().fit(
        {"x": np.array([1.0, 3.0]), "c": text("a", "a"), "b": text("true", "false")}
    )
    holes = {"x": np.array([np.nan, 2.0]), "c": text("", "a"), "b": text("true", None)}
    with pytest.raises(PreprocessingError, match="give impute=True to fill them"):
        enc.transform(holes)
    filled: dict = {}
    X, _ = enc.transform(holes, impute=True, filled=filled)
    assert filled == {"x": 1, "c": 1, "b": 1}
    assert X[0, 0] == 0.0 and X[0, 1] == 1.0 and X[1, 2] == 0.0  # the mean, the most frequent


def test_warnings_about_unseen_values_name_their_column():
    enc = FeatureEncoder().fit({"c": text("a", "b")})
    _, (warning,) = enc.transform({"c": text("z")})
    assert warning.column == "c" and warning.startswith("column 'c' has value never seen")


def test_a_boolean_column_reads_1_and_0_as_text_too():
    """A CSV cell "1" in a boolean column is true, as the JSON number 1 is."""
    enc = FeatureEncoder().fit({"flag": np.array(["true", "false", "TRUE"], dtype=object)})
    as_text, _ = enc.transform({"flag": np.array(["1", "0", " 1 "], dtype=object)})
    as_numbers, _ = enc.transform({"flag": np.array([1, 0, 1])})
    as_words, _ = enc.transform({"flag": np.array(["true", "false", "true"], dtype=object)})
    np.testing.assert_array_equal(as_text, as_words)
    np.testing.assert_array_equal(as_numbers, as_words)
    with pytest.raises(PreprocessingError, match="'2'"):
        enc.transform({"flag": np.array(["2"], dtype=object)})


def test_the_description_says_what_a_missing_date_or_boolean_becomes():
    """Filled without a trace in the matrix (each part 0 after scaling: the training mean),
    so the description says it, as it does for numbers and text."""
    table = {"d": text("2001-12-01", None, "2003-01-05"), "b": text("true", "false", None)}
    lines = FeatureEncoder(impute=True).fit(table).describe()
    assert lines[0].endswith("each standardised, missing -> each part's training mean")
    assert lines[1].endswith("missing -> 0.5 (the training mean)")
    assert "missing" not in " ".join(FeatureEncoder().fit({"d": text("2001-12-01")}).describe())


def test_a_long_level_is_shown_by_its_start_and_length():
    from glassnet.tabular.encoding import shown_level

    long = "L" * 2_000_000
    enc = FeatureEncoder().fit({"t": np.array(["short", long] * 5, dtype=object)})
    (line,) = enc.describe()
    assert len(line) < 200 and "LLLL... (2,000,000 characters), short" in line
    target = TargetEncoder.fit("y", np.array(["a", long] * 5, dtype=object))
    assert len(target.describe()) < 200
    assert shown_level("x" * 55) == "x" * 55  # shortened, it would be no shorter
    assert shown_level("x" * 56) == "x" * 28 + "... (56 characters)"


def test_three_decimals_after_a_leading_zero_are_a_decimal_comma_not_thousands():
    counts = {"0,125": 3, "0,250": 2, "1,5": 1}
    enc = FeatureEncoder()
    with pytest.raises(PreprocessingError, match="written with a decimal comma") as caught:
        enc.fit({"share": np.array(list(counts) * 4, dtype=object)})
    assert "thousands=','" not in str(caught.value)
    with pytest.raises(PreprocessingError, match="written with commas between thousands"):
        FeatureEncoder().fit({"price": np.array(["16,310", "1,234,567", "310"] * 4, dtype=object)})
