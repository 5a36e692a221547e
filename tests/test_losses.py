"""Losses: stated reductions, values by hand, weights, fused gradients, targets."""

import numpy as np
import pytest

from glassnet import losses

A = np.array([[1.0, 2.0], [3.0, 5.0]])
Y = np.array([[0.0, 2.0], [4.0, 3.0]])
# a - y = [[1, 0], [-1, 2]]; squares [[1, 0], [1, 4]], total 6; |.| total 4.


@pytest.mark.parametrize(
    ("name", "value"),
    [("sse", 6.0), ("mse", 6.0 / 4), ("half_squared_error", 0.5 * 6.0 / 2), ("mae", 4.0 / 4)],
)
def test_reductions(name, value):
    assert losses.get(name)(A, Y) == pytest.approx(value)


def test_huber():
    # r = [[1, 0], [-1, 2]] with delta 1: [[0.5, 0], [0.5, 1 * (2 - 0.5)]] -> mean 2.5 / 4
    assert losses.get("huber")(A, Y) == pytest.approx(2.5 / 4)
    assert losses.Huber(delta=3.0)(A, Y) == pytest.approx((0.5 + 0 + 0.5 + 2.0) / 4)


@pytest.mark.parametrize("name", ["sse", "mse", "half_squared_error", "mae", "huber"])
def test_gradient_is_the_derivative_of_the_value(name):
    loss = losses.get(name)
    a = np.random.default_rng(0).normal(size=(4, 3))
    y = np.random.default_rng(1).normal(size=(4, 3))
    w = np.array([1.0, 0.5, 2.0, 1.5])
    for weights in (None, w):
        g = np.empty_like(a)
        loss.value_and_grad(a.copy(), y, weights, g)
        eps = 1e-6
        numeric = np.empty_like(a)
        for idx in np.ndindex(*a.shape):
            ap, am = a.copy(), a.copy()
            ap[idx] += eps
            am[idx] -= eps
            numeric[idx] = (loss.value(ap, y, weights) - loss.value(am, y, weights)) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_weighted_mean_over_samples():
    w = np.array([3.0, 1.0])
    # per-row squared sums: 1 and 5; weighted sample mean (3*1 + 1*5) / 4 = 2; per element /2.
    assert losses.get("mse").value(A, Y, w) == pytest.approx(2.0 / 2)
    assert losses.get("sse").value(A, Y, w) == pytest.approx(3 * 1 + 5)


def test_bce_from_logits_is_stable_and_correct():
    z = np.array([[-1000.0, 0.0, 2.0, 1000.0]])
    a = 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    y = np.array([[1.0, 1.0, 0.0, 0.0]])
    value = losses.get("bce").value(a, y, z=z)
    # per element: 1000, log 2, softplus(2) = 2 + log(1 + e^-2), 1000
    expected = 1000 + np.log(2) + 2 + np.log1p(np.exp(-2)) + 1000
    assert value == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_from_logits_never_takes_log_zero():
    z = np.array([[0.0, 800.0, -800.0]])
    a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert a[0, 0] == 0.0  # the probability underflows...
    value = losses.get("cross_entropy").value(a, np.array([[1.0, 0.0, 0.0]]), z=z)
    assert value == pytest.approx(800.0)  # ...but the loss is exact


def test_fused_delta_is_a_minus_y_over_n():
    z = np.array([[0.5, -1.0], [2.0, 0.0]])
    a = 1 / (1 + np.exp(-z))
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    out = np.empty_like(a)
    value = losses.get("bce").fused(z, y, None, out)
    np.testing.assert_allclose(out, (a - y) / 2)
    assert value == pytest.approx(losses.get("bce").value(a, y, z=z), rel=1e-12)
    w = np.array([1.0, 3.0])
    losses.get("bce").fused(z, y, w, out)
    np.testing.assert_allclose(out, (a - y) * w[:, None] / 4)


@pytest.mark.parametrize(("name", "f"), [("cross_entropy", "softmax"), ("poisson", "exp")])
def test_fused_equals_activation_then_value(name, f):
    from glassnet import activations

    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3)) * 3
    y = np.eye(3)[[0, 2, 1, 1, 0]] if name == "cross_entropy" else rng.poisson(2, size=(5, 3))
    a = activations.get(f).forward(z.copy())
    out = np.empty_like(z)
    value = losses.get(name).fused(z, y, None, out)
    np.testing.assert_allclose(out, (a - y) / 5, rtol=1e-12, atol=1e-15)
    assert value == pytest.approx(losses.get(name).value(a, y, z=z), rel=1e-12)


def test_poisson_matches_half_deviance():
    z = np.array([[0.2], [1.0], [-0.5]])
    a = np.exp(z)
    y = np.array([[0.0], [3.0], [1.0]])
    value = losses.get("poisson").value(a, y, z=z)
    terms = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / a), 0) - y + a
    assert value == pytest.approx(terms.mean(), rel=1e-12)


def test_cross_entropy_takes_integer_labels_as_an_index_vector():
    loss = losses.get("cross_entropy")
    labels = np.array([2, 0, 1])
    assert loss.labels(labels, 3, 3) is labels.astype(np.intp, copy=False)
    np.testing.assert_array_equal(loss.labels(np.array([[2.0], [0.0], [1.0]]), 3, 3), [2, 0, 1])
    assert loss.labels(np.eye(3), 3, 3) is None  # one-hot rows stay rows
    with pytest.raises(ValueError, match="non-integer"):
        loss.labels(np.array([0.5, 1.0, 2.0]), 3, 3)
    with pytest.raises(ValueError, match="labels 0..2; y holds values from 0 to 3"):
        loss.labels(np.array([0, 3, 1]), 3, 3)


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_labels_and_one_hot_rows_agree(weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2, 0])
    w = rng.uniform(0.5, 2, size=6) if weighted else None
    loss = losses.get("cross_entropy")
    g_labels, g_rows = np.empty_like(z), np.empty_like(z)
    v_labels = loss.fused(z, labels, w, g_labels)
    v_rows = loss.fused(z, np.eye(4)[labels], w, g_rows)
    assert v_labels == pytest.approx(v_rows, rel=1e-14)
    np.testing.assert_allclose(g_labels, g_rows, rtol=1e-14, atol=1e-17)


def test_names():
    assert losses.get("mean_squared_error").name == "mse"
    assert losses.get("binary_crossentropy").name == "bce"
    assert set(losses.names()) >= {"sse", "mse", "bce", "cross_entropy", "mae", "huber"}
    with pytest.raises(ValueError, match="huber delta must be positive"):
        losses.Huber(0)


@pytest.mark.parametrize("spread", [1.0, 2000.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_softmax_cross_entropy_for_narrow_and_wide_logits(spread, dtype):
    # Narrow logits share one shift; logits wider than exp's range are shifted per row.
    rng = np.random.default_rng(0)
    z = (rng.normal(size=(6, 4)) * spread).astype(dtype)
    y = np.eye(4, dtype=dtype)[[0, 1, 2, 3, 0, 1]]
    out = np.empty_like(z)
    value = losses.get("cross_entropy").fused(z, y, None, out)
    z64 = z.astype(np.float64)
    lse = z64.max(axis=1) + np.log(np.exp(z64 - z64.max(axis=1, keepdims=True)).sum(axis=1))
    softmax = np.exp(z64 - lse[:, None])
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.isfinite(out).all() and out.dtype == dtype
    np.testing.assert_allclose(out, (softmax - y) / 6, rtol=tol, atol=tol)
    assert value == pytest.approx(np.mean(lse - (y * z64).sum(axis=1)), rel=tol)


@pytest.mark.parametrize("name", losses.names())
def test_the_denominator_combines_parts_into_the_whole(name):
    """loss(all) = sum_p loss(part p) * denominator(p) / denominator(all), for any split."""
    from glassnet import activations

    loss = losses.get(name)
    rng = np.random.default_rng(3)
    n, k = 9, 3
    z = rng.normal(size=(n, k))
    y = rng.uniform(0.1, 1, size=(n, k))
    if name == "cross_entropy":
        y /= y.sum(axis=1, keepdims=True)
    w = rng.uniform(0.5, 2, size=n)
    act = activations.get(loss.output)

    def value(rows):
        a = act.forward(z[rows].copy())
        return loss.value(a, y[rows], w[rows], z[rows])

    parts = [np.arange(0, 4), np.arange(4, 9)]
    combined = sum(value(p) * loss.denominator(len(p), k, w[p]) for p in parts)
    whole = value(np.arange(n))
    assert combined / loss.denominator(n, k, w) == pytest.approx(whole, rel=1e-12)
