"""Initialisers: distributions, defaults per activation, and private randomness."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import initializers


def draw(name, fan_in=400, fan_out=300, seed=0):
    return initializers.get(name)(np.random.default_rng(seed), fan_in, fan_out)


def test_he_normal_scale():
    assert draw("he").std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_glorot_uniform_bounds_and_scale():
    W = draw("glorot")
    limit = np.sqrt(6 / 700)
    assert W.min() >= -limit and W.max() <= limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)


def test_normal_is_standard_normal_with_normal_biases():
    net = gn.Network([gn.Dense(500, init="normal")], input_size=200, seed=0)
    assert net.layers[0].weights.std() == pytest.approx(1.0, rel=0.02)
    assert net.layers[0].bias.std() == pytest.approx(1.0, rel=0.2)


def test_defaults_follow_the_activation():
    assert gn.Dense(3, "relu").init == "he_normal"
    assert gn.Dense(3, "leaky_relu").init == "he_normal"
    for name in ("sigmoid", "tanh", "softmax", "identity"):
        assert gn.Dense(3, name).init == "glorot_uniform"
    net = gn.Network([gn.Dense(3, "relu")], input_size=2)
    np.testing.assert_array_equal(net.layers[0].bias, 0.0)


def test_every_name_draws_the_right_shape():
    for name in initializers.names():
        assert draw(name, 3, 5).shape == (3, 5)


def test_nothing_touches_the_global_random_state():
    before = np.random.get_state()[1].copy()
    gn.Network([gn.Dense(4, "relu"), gn.Dense(2)], input_size=3)  # seed=None: fresh entropy
    np.testing.assert_array_equal(np.random.get_state()[1], before)
