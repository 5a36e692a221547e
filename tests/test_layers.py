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


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2, 1 - 2**-17])
def test_dropout_rate_is_checked(rate):
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
        gn.Dropout(rate)


def test_dropout_drops_at_its_rate_rounded_up_to_16_bits():
    """The draws are 16-bit integers: the share dropped is the rate rounded up to a multiple
    of 2^-16, within sampling error, at any rate the layer takes."""
    for rate in (0.15, 2**-16, 1 - 2**-16):
        layer = gn.Dropout(rate)
        gn.Network([layer, gn.Dense(1)], seed=0).build(100_000)
        layer.forward(np.ones((10, 100_000)), training=True)
        dropped = float((layer.mask == 0).mean())
        expected = np.ceil(rate * 2**16) / 2**16
        assert abs(dropped - expected) < 5 * np.sqrt(expected * (1 - expected) / 1e6) + 1e-9
        assert (layer.mask[layer.mask > 0] == 1 / (1 - rate)).all()


def test_dropout_draws_are_the_generators_raw_words_cut_into_16_bit_pieces():
    """Four draws from each raw 64-bit word, its least significant 16 bits first, on
    any machine's byte order; an odd count uses the first pieces of the last word."""
    layer = gn.Dropout(0.3)
    net = gn.Network([layer, gn.Dense(1)], seed=4).build(7)
    state = net.rng.bit_generator.state
    draws = layer.draw((3, 7))  # 21 draws: 6 words, the last one's first piece
    net.rng.bit_generator.state = state
    words = net.rng.bit_generator.random_raw(6)
    pieces = [(int(w) >> (16 * i)) & 0xFFFF for w in words for i in range(4)]
    assert draws.dtype == np.uint16 and draws.shape == (3, 7)
    assert draws.ravel().tolist() == pieces[:21]
    # the next draws come after those words: nothing is drawn twice
    assert not np.array_equal(layer.draw((3, 7)), draws)


def test_last_layer_must_be_dense():
    with pytest.raises(ValueError, match="last layer must be a Dense layer"):
        gn.Network([gn.Dense(3), gn.Dropout(0.2)])


# --- the layers of the tabular recipe: Scale, Parametric, Embedding --------------------------


def _tabular_data(n=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 3] = rng.integers(0, 3, n)  # level indices of a 3-level column
    X[:, 4] = rng.integers(0, 4, n)
    return X, rng.normal(size=(n, 2))


@pytest.mark.parametrize("act", ["selu", "mish", "silu", "tanh", "relu"])
def test_scale_and_parametric_layers_match_central_differences(act):
    X, y = _tabular_data()
    net = gn.Network(
        [gn.layers.Scale(6.0), gn.Dense(4), gn.layers.Parametric(act, 0.1), gn.Dense(2)], seed=0
    ).build(5)
    # a generic point: scales and blends away from their starting 1
    net.parameters = np.random.default_rng(1).normal(size=net.count_params())
    assert gn.check_gradients(net, X, y, loss="mse") < 1e-6


def test_embedding_layer_matches_central_differences_first_and_deeper():
    X, y = _tabular_data()
    first = gn.Network(
        [
            gn.layers.Embedding(numeric=[0, 1, 2], categorical=[(3, 3), (4, 4)], size=3),
            gn.Dense(6, "relu"),
            gn.Dense(2),
        ],
        seed=0,
    ).build(5)
    assert gn.check_gradients(first, X, y, loss="mse") < 1e-6
    # deeper, its input needs dL/dx: through the cosines and the passed-on columns
    deeper = gn.Network(
        [gn.Dense(3), gn.layers.Embedding(numeric=[0, 2], dims=3), gn.Dense(2)], seed=0
    ).build(5)
    assert gn.check_gradients(deeper, X, y, loss="mse") < 1e-6


def test_embedding_output_layout():
    X, _ = _tabular_data()
    layer = gn.layers.Embedding(numeric=[1], categorical=[(3, 3)], frequencies=4, dims=3, size=2)
    net = gn.Network([layer, gn.Dense(1)], seed=0).build(5)
    out = layer.predict(X)
    assert layer.output_size(5) == out.shape[1] == 3 + 3 + 2
    np.testing.assert_array_equal(out[:, :3], X[:, [0, 2, 4]])  # passed on, in order
    p = layer.parameter_arrays()
    c = 2 * np.pi * X[:, 1:2] * p["frequencies"][0] + p["phases"][0]
    mixed = np.cos(c) @ p["mix"][0] + p["mix_bias"][0]
    np.testing.assert_allclose(out[:, 3:5], mixed, rtol=1e-12)
    np.testing.assert_array_equal(out[:, 5], X[:, 1])  # then the column itself
    np.testing.assert_array_equal(out[:, 6:], p["table_0"][X[:, 3].astype(int)])
    assert net.predict(X).shape == (9, 1)


def test_new_layers_rebuild_from_their_config():
    from glassnet.layers import from_config

    for layer in (
        gn.layers.Scale(6.0),
        gn.layers.Parametric("mish", 0.1),
        gn.layers.Embedding(numeric=[0], categorical=[(1, 4)], frequencies=8, size=5),
        gn.Dense(3, "selu", lr_factor=0.5, bias_lr_factor=0.1),
    ):
        again = from_config(layer.config())
        assert type(again) is type(layer) and again.config() == layer.config()


def test_learning_rate_factors_lay_out_like_the_parameters():
    net = gn.Network([gn.Dense(3, lr_factor=0.5, bias_lr_factor=0.1), gn.Dense(1)], seed=0)
    net.build(2)
    factors = net.lr_factors
    first = net.layers[0]
    weights, bias = first.weights, first.bias
    start = net.parameters.__array_interface__["data"][0]

    def at(view):
        return (view.__array_interface__["data"][0] - start) // 8

    assert (factors[at(weights) : at(weights) + weights.size] == 0.5).all()
    assert (factors[at(bias) : at(bias) + bias.size] == 0.1).all()
    assert (factors[at(net.layers[1].weights) :][:3] == 1.0).all()
    assert gn.Network([gn.Dense(2)], input_size=2).lr_factors is None


def test_data_dependent_start_gives_unit_spread_and_kinks_in_the_data():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(200, 4))
    net = gn.Network([gn.Dense(16, "relu", init="data"), gn.Dense(1)], seed=0).build(4)
    net.initialize_from(X)
    z = X @ net.layers[0].weights + net.layers[0].bias
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-9)
    # each unit's kink (z = 0) lies within the sample: some rows on either side
    assert ((z > 0).mean(axis=0) > 0).all() and ((z < 0).mean(axis=0) > 0).all()


def test_dropout_trains_again_after_a_pass_without_training():
    """A pass without training (predicting between two training passes) used to leave
    the next training pass of the same batch size without its mask buffer."""
    net = gn.Network([gn.Dense(4), gn.Dropout(0.5), gn.Dense(1)], seed=0).build(3)
    X = np.ones((5, 3))
    first = net.forward(X, training=True).copy()
    np.testing.assert_array_equal(net.forward(X, training=False), net.predict(X))
    assert net.layers[1].mask is None
    again = net.forward(X, training=True)
    assert net.layers[1].mask is not None and not np.array_equal(again, first)  # a new mask


def test_dense_descriptions_name_the_learned_activation_and_the_ensemble_s_blocks():
    from glassnet.ensembles import average
    from glassnet.layers import Dropout, Embedding, Parametric, dense_descriptions

    def member(seed):
        layers = [Embedding(numeric=[0, 1], categorical=[], size=2), gn.Dense(4),
                  Parametric("selu"), Dropout(0.1), gn.Dense(4), Parametric("mish"),
                  gn.Dense(2, "softmax")]  # fmt: skip
        return gn.Network(layers, seed=seed).build(2)

    one = member(0)
    assert dense_descriptions(one.layers) == [
        ("4", "selu, learned"), ("4", "mish, learned"), ("2", "softmax")
    ]  # fmt: skip
    both = average([one, member(1)])
    described = dense_descriptions(both.layers)
    assert described[1] == ("8 = 2 x 4", "mish, learned") and described[-1][1] == "softmax"
    plain = gn.Network([gn.Dense(3, "tanh"), gn.Dense(1)], seed=0).build(2)
    assert dense_descriptions(plain.layers) == [("3", "tanh"), ("1", "identity")]
