"""Feature and target encoders: standardising, one-hot, missing values, JSON state."""

import numpy as np
import pytest

from glassnet.tabular.encoding import FeatureEncoder, PreprocessingError, TargetEncoder

FRAME = {
    "size": np.array([1.0, 2.0, 3.0, 4.0]),
    "color": np.array(["red", "blue", "red", "green"], dtype=object),
    "flag": np.array([True, False, True, True]),
}


def test_numeric_columns_are_standardised_and_text_one_hot():
    enc = FeatureEncoder().fit(FRAME, ["size", "color"])
    X, warnings = enc.transform(FRAME)
    assert enc.output_names == ["size", "color=blue", "color=green", "color=red"]
    np.testing.assert_allclose(X[:, 0], (FRAME["size"] - 2.5) / np.std(FRAME["size"]))
    np.testing.assert_array_equal(X[:, 1:], [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert warnings == []


def test_booleans_are_numbers():
    enc = FeatureEncoder().fit(FRAME, ["flag"])
    assert enc.columns[0]["kind"] == "numeric"


def test_a_constant_column_does_not_divide_by_zero():
    enc = FeatureEncoder().fit({"c": np.ones(5)}, ["c"])
    X, _ = enc.transform({"c": np.ones(5)})
    np.testing.assert_array_equal(X, 0.0)


def test_unseen_categories_are_zeros_with_a_warning():
    enc = FeatureEncoder().fit(FRAME, ["color"])
    X, warnings = enc.transform({"color": np.array(["purple", "red"], dtype=object)})
    np.testing.assert_array_equal(X, [[0, 0, 0], [0, 0, 1]])
    assert warnings == [
        "column 'color' has value never seen in training ('purple'); encoded as all zeros"
    ]


def test_missing_values_refused_or_imputed():
    frame = {"a": np.array([1.0, np.nan, 3.0]), "b": np.array(["x", None, "x"], dtype=object)}
    with pytest.raises(PreprocessingError, match=r"column 'a' has 1 missing value \(line 3\)"):
        FeatureEncoder().fit(frame, ["a", "b"])
    enc = FeatureEncoder(impute=True).fit(frame, ["a", "b"])
    X, _ = enc.transform(frame)
    assert X[1, 0] == 0.0  # the training mean, standardised
    np.testing.assert_array_equal(X[:, 1], [1, 1, 1])  # the most frequent text


def test_missing_at_prediction_without_impute():
    enc = FeatureEncoder().fit(FRAME, ["size"])
    with pytest.raises(PreprocessingError, match="trained without --impute"):
        enc.transform({"size": np.array([1.0, np.nan])})


def test_identifier_like_text_is_refused():
    ids = np.array([f"id{i}" for i in range(300)], dtype=object)
    with pytest.raises(PreprocessingError, match="looks like an identifier.*--ignore ids"):
        FeatureEncoder().fit({"ids": ids}, ["ids"])


def test_text_in_a_numeric_column_at_prediction():
    enc = FeatureEncoder().fit(FRAME, ["size"])
    with pytest.raises(PreprocessingError, match="numeric in training, but line 3 holds 'big'"):
        enc.transform({"size": np.array([1, "big"], dtype=object)})


def test_json_round_trip():
    enc = FeatureEncoder(impute=True).fit(FRAME, ["size", "color"])
    again = FeatureEncoder.from_json(enc.to_json())
    np.testing.assert_array_equal(again.transform(FRAME)[0], enc.transform(FRAME)[0])


@pytest.mark.parametrize(
    "bad",
    [
        {"columns": [{"name": "a", "kind": "numeric", "mean": 0, "std": 0, "fill": 0}]},
        {"columns": [{"name": "a", "kind": "categorical", "categories": [], "fill": "x"}]},
        {"columns": [{"name": "a", "kind": "weird"}]},
        {"columns": []},
        {"columns": "nope"},
    ],
)
def test_invalid_json_is_refused(bad):
    with pytest.raises(ValueError):
        FeatureEncoder.from_json(bad)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (np.array(["a", "b", "a"], dtype=object), "classification"),
        (np.array([0, 1, 1, 0]), "classification"),
        (np.array([1, 2, 3, 1, 2, 3, 1, 2]), "classification"),
        (np.array([92, 86, 89]), "regression"),  # seed 004's scores: distinct integers
        (np.array([0.5, 1.25, 3.0, 0.5]), "regression"),
        (np.array([True, False, True]), "classification"),
    ],
)
def test_task_inference(values, task):
    assert TargetEncoder.infer_task(values) == task


def test_classes_are_kept_as_they_appear():
    target = TargetEncoder.fit("y", np.array(["no", "yes", "no"], dtype=object))
    assert target.classes == ["no", "yes"]
    np.testing.assert_array_equal(target.encode(np.array(["yes", "no"], dtype=object)), [1, 0])
    labels = target.decode(np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert list(labels) == ["no", "yes"]


def test_regression_target_is_scaled_and_unscaled():
    values = np.array([10.0, 20.0, 30.0])
    target = TargetEncoder.fit("y", values, task="regression")
    encoded = target.encode(values)
    assert encoded.mean() == pytest.approx(0) and encoded.std() == pytest.approx(1)
    np.testing.assert_allclose(target.decode(encoded), values)


def test_target_errors():
    with pytest.raises(PreprocessingError, match="single class"):
        TargetEncoder.fit("y", np.array(["a", "a"], dtype=object))
    with pytest.raises(PreprocessingError, match="target column 'y' has 1 missing value"):
        TargetEncoder.fit("y", np.array([1.0, np.nan, 2.0]))
    with pytest.raises(PreprocessingError, match="holds text"):
        TargetEncoder.fit("y", np.array(["a", "b"], dtype=object), task="regression")
