"""The metrics agree with scikit-learn's to 1e-9, in one chunk or many."""

import numpy as np
import pytest

from glassnet.tabular.metrics import ClassificationMetrics, RegressionMetrics, format_metrics

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
