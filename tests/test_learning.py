"""End-to-end learning: the real XOR, a real dataset, and float32 against float64."""

import numpy as np
import pytest

import glassnet as gn

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_Y = np.array([0, 1, 1, 0])


def learns_xor(seed, hidden, optimizer, epochs):
    net = gn.Network([gn.Dense(hidden, "tanh"), gn.Dense(1, "sigmoid")], seed=seed)
    net.fit(XOR_X, XOR_Y, loss="bce", optimizer=optimizer, epochs=epochs)
    return bool(np.all((net.predict(XOR_X).ravel() > 0.5) == XOR_Y))


def test_real_xor_is_learned_from_the_default_initialisation_for_most_seeds():
    learned = sum(learns_xor(seed, 4, gn.Adam(0.05), 500) for seed in range(20))
    assert learned >= 18


def test_real_xor_with_plain_gradient_descent():
    assert all(learns_xor(seed, 8, gn.SGD(0.5), 2000) for seed in range(10))


def test_a_single_layer_cannot_learn_xor():
    net = gn.Network([gn.Dense(1, "sigmoid")], seed=0)
    net.fit(XOR_X, XOR_Y, loss="bce", optimizer=gn.Adam(0.05), epochs=500)
    assert np.mean((net.predict(XOR_X).ravel() > 0.5) == XOR_Y) <= 0.75


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    return X[train], y[train], X[test], y[test]


def digits_accuracy(digits, dtype):
    X, y, Xt, yt = digits
    net = gn.Network([gn.Dense(64, "relu"), gn.Dense(10, "softmax")], seed=0)
    net.fit(
        X.astype(dtype), y, loss="cross_entropy", optimizer=gn.Adam(3e-3), epochs=30, batch_size=64
    )
    return np.mean(net.predict(Xt.astype(dtype)).argmax(axis=1) == yt)


def test_digits_are_learned(digits):
    assert digits_accuracy(digits, np.float64) > 0.95


def test_float32_reaches_the_same_accuracy(digits):
    acc64 = digits_accuracy(digits, np.float64)
    acc32 = digits_accuracy(digits, np.float32)
    assert acc32 > 0.95
    assert abs(acc32 - acc64) < 0.015


def test_regression_fits_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(400, 1))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 0]
    net = gn.Network([gn.Dense(32, "tanh"), gn.Dense(1)], seed=0)
    net.fit(X, y, loss="mse", optimizer=gn.Adam(0.01), epochs=300, batch_size=32)
    assert net.evaluate(X, y, loss="mse") < 1e-3
