"""The metrics agree with scikit-learn's to 1e-9, in one chunk or many, and hold where
scikit-learn's overflow (targets near 1e160 or 1e-160)."""

import math
import warnings

import numpy as np
import pytest

from glassnet.tabular.metrics import (
    ClassificationMetrics,
    RegressionMetrics,
    SummaryMetrics,
    format_metrics,
    metrics,
    same_class,
)

skm = pytest.importorskip("sklearn.metrics")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("k", "chunks"), [(2, 1), (3, 1), (5, 7)])
def test_classification_matches_scikit_learn(k, chunks):
    rng = np.random.default_rng(k)
    n = 997
    truth = rng.integers(0, k, n)
    proba = softmax(rng.normal(size=(n, k)) + 2.0 * np.eye(k)[truth])
    proba[0] = np.eye(k)[(truth[0] + 1) % k]  # a confident mistake: log loss is clipped
    acc = ClassificationMetrics([f"c{j}" for j in range(k)])
    for part in np.array_split(np.arange(n), chunks):
        acc.update(truth[part], proba[part])
    result = acc.result()
    predicted = proba.argmax(axis=1)
    labels = list(range(k))
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(truth, predicted), abs=1e-9)
    assert result["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(truth, predicted), abs=1e-9
    )
    assert result["log_loss"] == pytest.approx(
        skm.log_loss(truth, proba, labels=labels), rel=1e-9, abs=1e-9
    )
    p, r, f, s = skm.precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    for j, row in enumerate(result["per_class"]):
        assert row["precision"] == pytest.approx(p[j], abs=1e-9)
        assert row["recall"] == pytest.approx(r[j], abs=1e-9)
        assert row["f1"] == pytest.approx(f[j], abs=1e-9)
        assert row["support"] == s[j]
    np.testing.assert_array_equal(
        result["confusion_matrix"]["counts"], skm.confusion_matrix(truth, predicted, labels=labels)
    )


def test_a_class_never_predicted_has_zero_precision():
    acc = ClassificationMetrics(["a", "b", "c"])
    truth = np.array([0, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 1, 1]]
    acc.update(truth, proba)
    result = acc.result()
    p, r, f, _ = skm.precision_recall_fscore_support(
        truth, proba.argmax(1), labels=[0, 1, 2], zero_division=0
    )
    assert [c["precision"] for c in result["per_class"]] == pytest.approx(p)
    assert [c["f1"] for c in result["per_class"]] == pytest.approx(f)
    assert result["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(truth, proba.argmax(1))
    )


def test_true_labels_the_model_never_saw():
    acc = ClassificationMetrics(["a", "b"])
    acc.update(np.array([0, -1, 1]), np.eye(2)[[0, 1, 1]], unknown_labels=["a", "z", "b"])
    result = acc.result()
    assert result["unknown_classes"] == ["z"]
    assert result["log_loss"] is None
    assert result["confusion_matrix"]["labels"] == ["a", "b", "z"]
    assert result["confusion_matrix"]["counts"] == [[1, 0], [0, 1], [0, 1]]
    assert result["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("chunks", [1, 9])
def test_regression_matches_scikit_learn(chunks):
    rng = np.random.default_rng(0)
    truth = rng.normal(1e6, 50.0, 1001)
    predicted = truth + rng.normal(0, 20.0, 1001)
    acc = RegressionMetrics()
    for part in np.array_split(np.arange(1001), chunks):
        acc.update(truth[part], predicted[part])
    result = acc.result()
    assert result["r2"] == pytest.approx(skm.r2_score(truth, predicted), abs=1e-9)
    assert result["rmse"] == pytest.approx(
        np.sqrt(skm.mean_squared_error(truth, predicted)), rel=1e-9
    )
    assert result["mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted), rel=1e-9)


def test_r2_of_a_constant_truth_follows_scikit_learn():
    for predicted in (np.full(4, 3.0), np.array([3.0, 3.0, 3.0, 4.0])):
        acc = RegressionMetrics()
        acc.update(np.full(4, 3.0), predicted)
        assert acc.result()["r2"] == skm.r2_score(np.full(4, 3.0), predicted)


def test_format_metrics():
    assert (
        format_metrics({"accuracy": 0.9667, "log_loss": 0.25}) == "accuracy 96.7%, log loss 0.2500"
    )
    assert format_metrics({"r2": 0.95, "rmse": 2130.4}) == "R² 0.9500, RMSE 2130.4"


# --- the ends of float64 ------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e160, 1e-160, 2.0**1000, 1e-300])
@pytest.mark.parametrize("chunks", [1, 7])
def test_regression_metrics_near_the_ends_of_float64(scale, chunks):
    rng = np.random.default_rng(3)
    truth = rng.normal(3.0, 1.0, 500)
    predicted = truth + rng.normal(0, 0.4, 500)
    expected = {
        "r2": skm.r2_score(truth, predicted),
        "rmse": np.sqrt(skm.mean_squared_error(truth, predicted)),
        "mae": skm.mean_absolute_error(truth, predicted),
    }
    parts = np.array_split(np.arange(500), chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, underflow or invalid value on the way
        acc = RegressionMetrics()
        for part in parts:
            acc.update(truth[part] * scale, predicted[part] * scale)
        merged = RegressionMetrics()
        for part in reversed(parts):  # partitions joined in another order
            one = RegressionMetrics()
            one.update(truth[part] * scale, predicted[part] * scale)
            merged.merge(one)
        for result in (acc.result(), merged.result()):
            assert result["r2"] == pytest.approx(expected["r2"], abs=1e-12)
            assert result["rmse"] / scale == pytest.approx(expected["rmse"], rel=1e-12)
            assert result["mae"] / scale == pytest.approx(expected["mae"], rel=1e-12)


def test_a_metric_too_large_for_a_float_is_infinite_not_an_error():
    acc = RegressionMetrics()
    acc.update(np.array([1e308, -1e308]), np.array([-1e308, 1e308]))
    result = acc.result()
    assert result["rmse"] == math.inf and result["mae"] == math.inf
    assert result["r2"] == pytest.approx(-3.0)  # SS_res / SS_tot = 8e616 / 2e616


def test_tiny_values_after_zeros_keep_their_digits():
    truth, predicted = np.array([0.0, 0.0, 1e-200, 2e-200]), np.zeros(4)
    whole = RegressionMetrics()
    whole.update(truth, predicted)
    chunked = RegressionMetrics()
    chunked.update(truth[:2], predicted[:2])
    chunked.update(truth[2:], predicted[2:])
    scaled = truth * 1e200
    for result in (whole.result(), chunked.result()):
        assert result["r2"] == pytest.approx(skm.r2_score(scaled, predicted), rel=1e-12)
        assert result["rmse"] == pytest.approx(np.sqrt(np.mean(scaled**2)) * 1e-200, rel=1e-12)


# --- labels -------------------------------------------------------------------------------


def test_labels_read_as_text_are_the_classes_they_spell():
    as_read = np.array(["0", "1", "1", "001", "True", "0.5"], dtype=object)
    predicted = np.array([0, 1, 0, 1, True, 0.5], dtype=object)
    assert same_class(as_read, predicted).tolist() == [True, True, False, False, True, True]
    assert metrics("classification", as_read, predicted) == {"accuracy": pytest.approx(4 / 6)}
    assert same_class(np.array([0, 1, 2]), np.array([0.0, 1.0, 1.0])).tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="3 true labels but 2"):
        same_class(np.zeros(3), np.zeros(2))


def test_summary_metrics_agree_with_the_full_metrics():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 300)
    proba = softmax(rng.normal(size=(300, 3)) + 1.5 * np.eye(3)[truth])
    summary = SummaryMetrics("classification")
    summary.update(truth, proba.argmax(axis=1))
    full = ClassificationMetrics(["a", "b", "c"])
    full.update(truth, proba)
    assert summary.result()["accuracy"] == full.result()["accuracy"]
    values = rng.normal(1e160, 1e159, 300)
    guess = values + rng.normal(0, 1e158, 300)
    summary = SummaryMetrics("regression")
    summary.update(values, guess)
    full = RegressionMetrics()
    full.update(values, guess)
    assert summary.result() == {"r2": full.result()["r2"], "rmse": full.result()["rmse"]}


def test_format_metrics_shows_what_a_summary_holds_as_it_is():
    assert format_metrics({"accuracy": "high", "r2": math.nan, "rmse": None}) == (
        "accuracy 'high', R² nan"
    )
    assert format_metrics({"rmse": [1, 2], "mae": True}) == "rmse [1, 2], mae True"
    assert format_metrics(["accuracy", 0.9]) == "['accuracy', 0.9] (not a set of metrics)"


def test_classes_never_predicted_are_named_and_noted():
    from glassnet.tabular.metrics import never_predicted_note

    acc = ClassificationMetrics(["a", "b", "c", "d"])
    acc.update(np.array([0, 1, 2, 2]), np.eye(4)[[0, 1, 1, 1]])  # c never predicted; d absent
    result = acc.result()
    assert result["never_predicted"] == ["c"]
    assert never_predicted_note(result["never_predicted"]) == (
        "class c is in these rows but was never predicted: its precision (0 right of 0 "
        "predictions) is shown as 0"
    )
    assert never_predicted_note(list("cdefghi"), repr).startswith(
        "classes 'c', 'd', 'e', 'f', 'g' ... are in these rows but were never predicted"
    )
    acc.update(np.array([2]), np.eye(4)[[2]])
    assert acc.result()["never_predicted"] == []
