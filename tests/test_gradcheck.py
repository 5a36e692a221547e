"""Backprop against central differences, in float64, for every combination."""

import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations, losses

HIDDEN = [
    "identity",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softmax",
    "exp",
    "selu",
    "silu",
    "mish",
]
OUTPUTS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "exp"]
ANY_OUTPUT_LOSSES = ["sse", "mse", "half_squared_error", "mae", "huber"]
LOGIT_LOSSES = {"bce": "sigmoid", "cross_entropy": "softmax", "poisson": "exp"}

COMBINATIONS = [
    (hidden, output, loss, bias)
    for hidden, bias in itertools.product(HIDDEN, [True, False])
    for output, loss in [
        *itertools.product(OUTPUTS, ANY_OUTPUT_LOSSES),
        *((out, name) for name, out in LOGIT_LOSSES.items()),
    ]
]


@pytest.fixture(autouse=True, params=["numpy", "compiled", "compiled-layered"])
def engine_path(request, monkeypatch):
    """Every test here runs on the NumPy path, on the compiled path (glassnet.fast: for
    these small networks, the whole-step kernels) and on the compiled path's
    layer-by-layer kernels (the ones wider networks use)."""
    if request.param != "numpy" and not gn.fast.available():
        pytest.skip("the fast extra (numba) is not installed")
    if request.param == "compiled-layered":
        monkeypatch.setattr("glassnet.fast.plan.SMALL_WORK", 0)
    if request.param != "numpy":
        # The check differentiates Network.loss_and_grad, the reference pass; here it
        # differentiates the pass training runs instead, through the compiled kernels.
        from glassnet.fast import scope
        from glassnet.fast.plan import Plan

        reference = gn.Network.loss_and_grad
        plans = {}

        def compiled(net, x, y, w, loss, l2=0.0):
            if type(x) is not np.ndarray or not scope.covers(net, loss):
                return reference(net, x, y, w, loss, l2)
            key = (id(net), id(loss), id(net.parameters))
            if key not in plans:
                plans[key] = (net, loss, Plan(net, loss))  # the objects keep their ids
            return plans[key][2].loss_and_grad(x, y, w, l2)

        monkeypatch.setattr(gn.Network, "loss_and_grad", compiled)
    monkeypatch.setenv("GLASSNET_FAST", "0" if request.param == "numpy" else "1")
    return request.param


def problem(output, loss, n=6, n_in=3, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if loss == "bce":
        y = rng.integers(0, 2, size=(n, n_out)).astype(float)
    elif loss == "cross_entropy":
        y = rng.integers(0, n_out, size=n)
    elif loss == "poisson":
        y = rng.poisson(1.5, size=(n, n_out)).astype(float)
    else:
        y = rng.normal(size=(n, n_out))
    return X, y


def network(hidden, output, bias, seed=0, n_out=3):
    """A 3-4-3-n_out network at a generic point: every parameter, biases included,
    drawn at random, so no ReLU sits exactly on its kink (zero initial biases would
    put z = 0 exactly wherever all of a layer's inputs are zero)."""
    net = gn.Network(
        [
            gn.Dense(4, hidden, bias=bias),
            gn.Dense(3, hidden, bias=bias),
            gn.Dense(n_out, output, bias=bias),
        ],
        input_size=3,
        seed=seed,
    )
    # Stacked exponentials at this scale would output ~1e23, where central differences
    # lose their accuracy to truncation error; keep those networks at a sane scale.
    scale = 0.3 if "exp" in (hidden, output) else 0.7
    net.parameters = np.random.default_rng(seed + 100).normal(0, scale, net.count_params())
    return net


def test_there_are_many_combinations():
    assert len(COMBINATIONS) == len(HIDDEN) * 2 * (len(OUTPUTS) * 5 + 3)


@pytest.mark.parametrize(("hidden", "output", "loss", "bias"), COMBINATIONS)
def test_gradient_matches_central_differences(hidden, output, loss, bias):
    X, y = problem(output, loss)
    net = network(hidden, output, bias)
    assert gn.check_gradients(net, X, y, loss=loss) < 1e-6


@pytest.mark.parametrize("loss", ["mse", "bce", "cross_entropy", "sse", "huber"])
def test_gradient_with_sample_weights_and_l2(loss):
    output = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, "tanh")
    X, y = problem(output, loss, n=8)
    net = network("relu", output, True, seed=3)
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=8)
    assert gn.check_gradients(net, X, y, loss=loss, sample_weight=w, l2=0.3) < 1e-6


def test_gradient_through_dropout_with_a_fixed_mask():
    X, y = problem("identity", "mse", n=8)
    net = gn.Network(
        [gn.Dense(6, "tanh"), gn.Dropout(0.3), gn.Dense(4, "relu"), gn.Dropout(0.5), gn.Dense(3)],
        input_size=3,
        seed=2,
    )
    assert gn.check_gradients(net, X, y, loss="mse") < 1e-6


def test_gradient_check_leaves_the_network_unchanged():
    X, y = problem("identity", "mse")
    net = network("tanh", "identity", True)
    before = net.parameters.copy()
    gn.check_gradients(net, X, y)
    np.testing.assert_array_equal(net.parameters, before)


def test_gradient_check_on_a_float32_network_checks_the_math_in_float64():
    X, y = problem("identity", "mse")
    net = network("tanh", "identity", True)
    net.fit(X.astype(np.float32), y.astype(np.float32), epochs=1)
    assert net.dtype == np.float32
    assert gn.check_gradients(net, X, y) < 1e-6


# --- the check must catch a wrong gradient --------------------------------------------


def wrong_sigmoid_backward(a, da, out=None):
    return np.multiply(da, a, out=out)  # forgets the (1 - a) factor


WRONG_SIGMOID = activations.Activation(
    "wrong_sigmoid", activations.sigmoid, wrong_sigmoid_backward, "glorot"
)


class HalvedMSE(losses.MSE):
    """Reports the MSE but returns half its gradient."""

    name = "halved_mse"

    def value_and_grad(self, a, y, w, out):
        value = super().value_and_grad(a, y, w, out)
        out *= 0.5
        return value


def test_check_catches_a_wrong_activation_derivative():
    X, y = problem("identity", "mse")
    net = gn.Network([gn.Dense(4, WRONG_SIGMOID), gn.Dense(3)], input_size=3, seed=0)
    assert gn.check_gradients(net, X, y) > 1e-2


def test_check_catches_a_wrong_loss_gradient():
    X, y = problem("identity", "mse")
    net = network("tanh", "identity", True)
    assert gn.check_gradients(net, X, y, loss=HalvedMSE()) > 0.1


def test_check_catches_a_wrong_layer_backward():
    class NoBiasGradient(gn.Dense):
        def backward_linear(self, dz):
            dx = super().backward_linear(dz)
            if self._db is not None:
                self._db[...] = 0.0
            return dx

    X, y = problem("identity", "mse")
    net = gn.Network([NoBiasGradient(4, "tanh"), gn.Dense(3)], input_size=3, seed=0)
    assert gn.check_gradients(net, X, y) > 0.1


def test_numerical_gradient_agrees_with_the_flat_gradient_vector():
    X, y = problem("identity", "mse")
    net = network("sigmoid", "identity", True)
    analytic, numeric, _ = gn.gradcheck.numerical_gradient(net, X, y, loss="mse")
    assert analytic.shape == (net.count_params(),)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
