"""Layers: the Dense contract, configs, and Dropout."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import from_config


def test_dense_forward_is_x_at_w_plus_b_then_f():
    net = gn.Network([gn.Dense(2, "tanh")], input_size=3, seed=0)
    layer = net.layers[0]
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(layer.predict(x), np.tanh(x @ layer.weights + layer.bias))
    np.testing.assert_allclose(layer.forward(x, training=True), layer.predict(x))


def test_activation_is_named():
    assert gn.Dense(3, "logistic").activation == "sigmoid"
    assert gn.Dense(3).activation == "identity"


def test_unbuilt_layers_explain_themselves():
    layer = gn.Dense(3)
    with pytest.raises(RuntimeError, match="no weights yet"):
        _ = layer.weights


@pytest.mark.parametrize(
    "layer",
    [gn.Dense(3, "relu", bias=False), gn.Dense(2, "softmax", init="normal"), gn.Dropout(0.25)],
)
def test_config_round_trip(layer):
    assert from_config(layer.config()).config() == layer.config()


def test_dropout_zeroes_and_rescales_in_training_only():
    net = gn.Network(
        [gn.Dense(200, init="zeros"), gn.Dropout(0.4), gn.Dense(1)], input_size=2, seed=0
    )
    net.layers[0].bias = np.ones(200)  # the dense layer outputs all ones
    x = np.zeros((50, 2))
    kept = net.layers[1].forward(net.layers[0].forward(x, True), training=True)
    frac_zero = np.mean(kept == 0)
    assert 0.35 < frac_zero < 0.45
    np.testing.assert_allclose(kept[kept != 0], 1 / 0.6)
    np.testing.assert_array_equal(net.layers[1].predict(np.ones((3, 200))), np.ones((3, 200)))
    np.testing.assert_array_equal(
        net.layers[1].forward(np.ones((3, 200)), training=False), np.ones((3, 200))
    )


def test_dropout_changes_training_but_not_prediction():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    plain = gn.Network([gn.Dense(16, "relu"), gn.Dense(1)], seed=1)
    dropped = gn.Network([gn.Dense(16, "relu"), gn.Dropout(0.5), gn.Dense(1)], seed=1)
    plain.build(3)
    dropped.build(3)
    np.testing.assert_array_equal(plain.parameters, dropped.parameters)
    np.testing.assert_array_equal(plain.predict(X), dropped.predict(X))  # same weights
    hp = plain.fit(X, y, optimizer=gn.SGD(0.01), epochs=5, shuffle=False)
    hd = dropped.fit(X, y, optimizer=gn.SGD(0.01), epochs=5, shuffle=False)
    assert hp.loss != hd.loss
    before = dropped.predict(X)
    np.testing.assert_array_equal(dropped.predict(X), before)  # prediction is deterministic


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2])
def test_dropout_rate_is_checked(rate):
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
        gn.Dropout(rate)


def test_last_layer_must_be_dense():
    with pytest.raises(ValueError, match="last layer must be a Dense layer"):
        gn.Network([gn.Dense(3), gn.Dropout(0.2)])
