"""Every number the seeds print, reproduced through the public API.

The printed losses of seeds 001 and 002 live in tests/seed_data/, one
"epoch loss" line each, exactly as the seeds print them (12 significant digits).
"""

import math
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

DATA = Path(__file__).parent / "seed_data"

X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
Y = np.array([[0, 1, 1, 0]]).T


@pytest.fixture(autouse=True, params=["numpy", "compiled", "compiled-layered"])
def engine_path(request, monkeypatch):
    """Every test here runs on the NumPy path, on the compiled path (glassnet.fast: for
    these small networks, the whole-step kernels) and on the compiled path's
    layer-by-layer kernels (the ones wider networks use)."""
    if request.param != "numpy" and not gn.fast.available():
        pytest.skip("the fast extra (numba) is not installed")
    if request.param == "compiled-layered":
        monkeypatch.setattr("glassnet.fast.plan.SMALL_WORK", 0)
    monkeypatch.setenv("GLASSNET_FAST", "0" if request.param == "numpy" else "1")
    return request.param


def printed_losses(name):
    rows = [line.split() for line in (DATA / name).read_text().splitlines()]
    return [(int(t), text) for t, text in rows]


def train_like_the_seed(hidden, lr):
    """np.random.seed(83832); w1 = randn(3, H); w2 = randn(H, 1); then 500 SGD steps."""
    draw = np.random.RandomState(83832)  # the same stream, without the global state
    w1, w2 = draw.randn(3, hidden), draw.randn(hidden, 1)
    net = gn.Network([gn.Dense(hidden, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
    net.layers[0].weights = w1
    net.layers[1].weights = w2
    history = net.fit(X, Y, loss="sse", optimizer=gn.SGD(lr), epochs=500, shuffle=False)
    return net, history


def python2_str(value):
    """How the seeds' Python 2 print shows a float: 12 significant digits."""
    return f"{value:.12g}"


@pytest.mark.parametrize(
    ("name", "hidden", "lr"),
    [("seed001_losses.txt", 3, 1e-3), ("seed002_losses.txt", 2, 0.01)],
)
def test_every_printed_loss(name, hidden, lr):
    _, history = train_like_the_seed(hidden, lr)
    printed = printed_losses(name)
    assert len(printed) in (54, 500)
    for t, text in printed:
        assert python2_str(history.loss[t]) == text, f"epoch {t}"


def test_seed001_final_predictions():
    net, _ = train_like_the_seed(3, 1e-3)
    np.testing.assert_array_equal(
        np.round(net.predict(X).ravel(), 8), [0.0, 0.98919177, 1.00082623, 0.0]
    )


def test_seed002_final_predictions_and_weights():
    net, _ = train_like_the_seed(2, 0.01)
    np.testing.assert_array_equal(
        np.round(net.predict(X).ravel(), 8), [0.0, 0.99992661, 1.00007337, 0.0]
    )
    np.testing.assert_array_equal(
        np.round(net.layers[0].weights, 8),
        [[-0.20401151, 1.01377406], [-0.10186284, 1.01392285], [1.07856887, 0.01873049]],
    )
    np.testing.assert_array_equal(np.round(net.layers[1].weights, 8), [[0.49346731], [0.98634069]])


def test_seed_000_hidden_activations_are_inspectable():
    net, _ = train_like_the_seed(2, 0.01)
    h_relu, y_pred = net.activations(X)
    np.testing.assert_array_equal(h_relu, np.maximum(X @ net.layers[0].weights, 0))
    np.testing.assert_array_equal(y_pred, net.predict(X))


# --- seed 003 ---------------------------------------------------------------------


def test_seed003_neuron():
    neuron = gn.Network([gn.Dense(1, "sigmoid")], input_size=2)
    neuron.layers[0].weights = [[0], [1]]
    neuron.layers[0].bias = [4]
    assert neuron.predict([[2, 3]])[0, 0] == 0.9990889488055994


def test_seed003_network():
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2)
    net.layers[0].weights = [[0, 0], [1, 1]]  # both hidden neurons: w = [0, 1]
    net.layers[0].bias = [0, 0]
    net.layers[1].weights = [[0], [1]]
    net.layers[1].bias = [0]
    assert net.predict([[2, 3]])[0, 0] == 0.7216325609518421


def test_seed003_mse_example():
    assert gn.losses.get("mse")(np.array([0, 0, 0, 0]), np.array([1, 0, 0, 1])) == 0.5


GENDER_X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
GENDER_Y = np.array([1, 0, 0, 1])


def seed003_loop(p, epochs=1000, learn_rate=0.1):
    """Seed 003's training loop, one scalar at a time, from parameters
    p = (w1, w2, w3, w4, w5, w6, b1, b2, b3)."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p

    def f(v):
        return 1 / (1 + math.exp(-v))

    for _ in range(epochs):
        for (x0, x1), y_true in zip(GENDER_X, GENDER_Y):
            h1 = f(w1 * x0 + w2 * x1 + b1)
            h2 = f(w3 * x0 + w4 * x1 + b2)
            o1 = f(w5 * h1 + w6 * h2 + b3)
            d_ypred = -2 * (y_true - o1)
            d_o = o1 * (1 - o1)  # f'(sum_o1)
            d_h1 = w5 * d_o * h1 * (1 - h1)
            d_h2 = w6 * d_o * h2 * (1 - h2)
            w1 -= learn_rate * d_ypred * d_h1 * x0
            w2 -= learn_rate * d_ypred * d_h1 * x1
            b1 -= learn_rate * d_ypred * d_h1
            w3 -= learn_rate * d_ypred * d_h2 * x0
            w4 -= learn_rate * d_ypred * d_h2 * x1
            b2 -= learn_rate * d_ypred * d_h2
            w5 -= learn_rate * d_ypred * h1 * d_o
            w6 -= learn_rate * d_ypred * h2 * d_o
            b3 -= learn_rate * d_ypred * d_o
    return np.array([w1, w2, w3, w4, w5, w6, b1, b2, b3])


def seed003_network(p):
    """A glassnet network holding the seed's nine named parameters."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2)
    net.layers[0].weights = [[w1, w3], [w2, w4]]  # column j feeds hidden neuron j
    net.layers[0].bias = [b1, b2]
    net.layers[1].weights = [[w5], [w6]]
    net.layers[1].bias = [b3]
    return net


def named_parameters(net):
    (W1, b1), (W2, b2) = [(layer.weights, layer.bias) for layer in net.layers]
    return np.array(
        [W1[0, 0], W1[1, 0], W1[0, 1], W1[1, 1], W2[0, 0], W2[1, 0], b1[0], b1[1], b2[0]]
    )


@pytest.mark.parametrize("start", [0, 1, 2])
def test_seed003_per_sample_training_matches_the_seed_loop(start):
    p = np.random.RandomState(start).normal(size=9)  # the seed's nine np.random.normal() draws
    expected = seed003_loop(p)
    net = seed003_network(p)
    net.fit(
        GENDER_X,
        GENDER_Y,
        loss="mse",
        optimizer=gn.SGD(0.1),
        epochs=1000,
        batch_size=1,
        shuffle=False,
    )
    np.testing.assert_allclose(named_parameters(net), expected, rtol=0, atol=1e-9)


def emily_and_frank(seed):
    """Train as seed 003 does (N(0, 1) start, one sample at a time, mse, SGD(0.1), 1000
    epochs), then predict for Emily (128 lb, 63 in) and Frank (155 lb, 68 in)."""
    net = gn.Network(
        [gn.Dense(2, "sigmoid", init="normal"), gn.Dense(1, "sigmoid", init="normal")], seed=seed
    )
    net.fit(
        GENDER_X,
        GENDER_Y,
        loss="mse",
        optimizer=gn.SGD(0.1),
        epochs=1000,
        batch_size=1,
        shuffle=False,
    )
    emily, frank = net.predict([[-7, -3], [20, 2]]).ravel()
    return emily, frank


def test_seed003_emily_and_frank():
    emily, frank = emily_and_frank(seed=0)
    assert emily > 0.9
    assert frank < 0.1


def test_seed003_emily_and_frank_for_most_initialisations():
    results = [emily_and_frank(seed) for seed in range(10)]
    assert sum(emily > 0.9 and frank < 0.1 for emily, frank in results) >= 9


# --- seed 004 ---------------------------------------------------------------------


def test_seed004_worked_example_gives_correct_sigmoids():
    net = gn.Network(
        [gn.Dense(3, "sigmoid", bias=False), gn.Dense(1, "sigmoid", bias=False)], input_size=2
    )
    net.layers[0].weights = [[0.2, 0.6, 0.1], [0.8, 0.3, 0.7]]
    net.layers[1].weights = [[0.4], [0.5], [0.9]]
    hidden, out = net.activations([[2, 9]])
    # The sums are 7.6, 3.9 and 6.5 (the seed prints 7.6000000000000005, 3.8999999999999995, 6.5).
    sums = np.array([2, 9]) @ net.layers[0].weights
    np.testing.assert_allclose(sums, [7.6, 3.9, 6.5], rtol=0, atol=1e-12)
    # S(7.6) = 0.999499799 and S(6.5) = 0.998498818 as printed; the seed's
    # "S(7.5) = 1.000553084" is impossible: S(3.9) = 0.980159694.
    np.testing.assert_array_equal(np.round(hidden[0], 9), [0.999499799, 0.980159694, 0.998498818])
    assert np.all(hidden < 1)
    assert round(float(out[0, 0]), 7) == 0.8567468
    expected = 1 / (1 + np.exp(-(1 / (1 + np.exp(-sums))) @ [0.4, 0.5, 0.9]))
    assert out[0, 0] == pytest.approx(expected, abs=1e-15)


def test_seed004_full_batch_training_is_the_seed_delta_rule():
    X = np.array(([2, 9], [1, 5], [3, 6]), dtype=float)
    y = np.array(([92], [86], [89]), dtype=float)
    X = X / np.amax(X, axis=0)
    y = y / 100
    draw = np.random.RandomState(4)
    W1, W2 = draw.randn(2, 3), draw.randn(3, 1)

    A, B = W1.copy(), W2.copy()  # the seed's loop: o_delta = (y - o) o (1 - o); W += X.T @ delta
    for _ in range(1000):
        z2 = 1 / (1 + np.exp(-(X @ A)))
        o = 1 / (1 + np.exp(-(z2 @ B)))
        o_delta = (y - o) * o * (1 - o)
        z2_delta = (o_delta @ B.T) * z2 * (1 - z2)
        A += X.T @ z2_delta
        B += z2.T @ o_delta

    net = gn.Network(
        [gn.Dense(3, "sigmoid", bias=False), gn.Dense(1, "sigmoid", bias=False)], input_size=2
    )
    net.layers[0].weights = W1
    net.layers[1].weights = W2
    net.fit(X, y, loss="sse", optimizer=gn.SGD(0.5), epochs=1000, shuffle=False)
    np.testing.assert_allclose(net.layers[0].weights, A, rtol=0, atol=1e-9)
    np.testing.assert_allclose(net.layers[1].weights, B, rtol=0, atol=1e-9)
