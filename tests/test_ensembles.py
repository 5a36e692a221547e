"""glassnet.ensembles.average: several networks written as one."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.ensembles import average
from glassnet.gradcheck import numerical_gradient
from glassnet.layers import Dense, Dropout, Embedding, GroupedDense, Parametric, Scale, from_config


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.normal(size=(60, 3)), rng.integers(0, 2, (60, 1)), rng.integers(0, 5, (60, 1))]
    )
    return X, X[:, 0] - X[:, 1] * X[:, 3]


def recipe_like(X, y, seed, outputs=1, embed=True, dtype=np.float64):
    layers = [Embedding(numeric=[0, 1], categorical=[(4, 5)], frequencies=4, dims=3, size=2)]
    layers = layers if embed else []
    layers += [
        Scale(),
        Dense(6, "identity", init="data"),
        Parametric("selu"),
        Dropout(0.1),
        Dense(5, "tanh"),
        Dense(outputs, "identity" if outputs == 1 else "softmax"),
    ]
    net = gn.Network(layers, seed=seed).build(X.shape[1], dtype)
    net.initialize_from(X)
    if outputs == 1:
        net.fit(X, y, loss="mse", epochs=3)
    else:
        net.fit(X, (y > 0).astype(int), loss="cross_entropy", epochs=3)
    return net


@pytest.mark.parametrize("embed", [True, False])
def test_a_regression_ensemble_predicts_the_members_mean(data, embed):
    X, y = data
    nets = [recipe_like(X, y, seed, embed=embed) for seed in range(3)]
    combined = average(nets)
    want = np.mean([net.predict(X) for net in nets], axis=0)
    np.testing.assert_allclose(combined.predict(X), want, rtol=1e-12, atol=1e-12)
    assert combined.layers[-1].units == 1
    assert not any(isinstance(layer, Scale) for layer in combined.layers)  # folded in
    assert combined.training_summary == {"ensemble": 3}


def test_a_softmax_ensemble_is_the_geometric_mean_of_the_probabilities(data):
    X, y = data
    nets = [recipe_like(X, y, seed, outputs=2) for seed in range(4)]
    combined = average(nets)
    log_mean = np.mean([np.log(net.predict(X)) for net in nets], axis=0)
    want = np.exp(log_mean) / np.exp(log_mean).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(combined.predict(X), want, rtol=1e-12, atol=1e-12)


def test_the_ensemble_is_a_network_like_any_other(data, tmp_path):
    """Saved, loaded and exported as it is."""
    pytest.importorskip("safetensors")
    X, y = data
    combined = average([recipe_like(X, y, seed, dtype=np.float32) for seed in range(2)])
    grouped = [layer for layer in combined.layers if isinstance(layer, GroupedDense)]
    assert [layer.groups for layer in grouped] == [2]  # the second hidden layer: 2 blocks
    assert grouped[0].parameter_arrays()["weights"].shape == (2, 6, 5)
    combined.save(tmp_path / "e.glassnet")
    again = gn.load(tmp_path / "e.glassnet")
    np.testing.assert_array_equal(again.predict(X), combined.predict(X))
    ort = pytest.importorskip("onnxruntime")
    proto = gn.to_onnx(combined, "float32")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    np.testing.assert_allclose(got, combined.predict(X), rtol=1e-5, atol=1e-5)


def test_one_network_is_copied(data):
    X, y = data
    net = recipe_like(X, y, 0)
    copy = average([net])
    assert copy is not net
    np.testing.assert_array_equal(copy.predict(X), net.predict(X))


def test_what_cannot_be_averaged_says_why(data):
    X, y = data
    a = recipe_like(X, y, 0)
    b = gn.Network([Dense(3), Dense(1)], seed=0).build(5)
    with pytest.raises(ValueError, match="network 1 has another architecture"):
        average([a, b])
    with pytest.raises(ValueError, match="network 1 takes other inputs"):
        average([a, a.copy().astype(np.float32)])
    with pytest.raises(ValueError, match="at least one"):
        average([])
    scaled = [gn.Network([Scale(), Dropout(0.1), Dense(1)], seed=s).build(5) for s in range(2)]
    with pytest.raises(ValueError, match="Scale layer must be followed by a Dense"):
        average(scaled)
    with pytest.raises(RuntimeError):
        average([gn.Network([Dense(1)]), gn.Network([Dense(1)])])


def block_diagonal(blocks):
    G, i, o = blocks.shape
    whole = np.zeros((G * i, G * o))
    for g in range(G):
        whole[g * i : (g + 1) * i, g * o : (g + 1) * o] = blocks[g]
    return whole


@pytest.mark.parametrize("position", ["first", "hidden"])
def test_a_grouped_dense_layer_is_a_block_diagonal_dense_layer(position):
    """Forward, backward and prediction as a Dense layer holding the block-diagonal
    matrix; its gradients equal central differences in float64."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(7, 6)), rng.normal(size=(7, 2))
    before = [Dense(6, "tanh")] if position == "hidden" else []
    grouped = gn.Network([*before, GroupedDense(9, 3, "tanh"), Dense(2)], seed=1).build(6)
    plain = gn.Network([*before, Dense(9, "tanh"), Dense(2)], seed=1).build(6)
    for g_layer, p_layer in zip(grouped.layers, plain.layers):
        if isinstance(g_layer, GroupedDense):
            p_layer.weights = block_diagonal(g_layer.parameter_arrays()["weights"])
            p_layer.bias = g_layer.bias
        else:
            p_layer.weights, p_layer.bias = g_layer.weights, g_layer.bias
    np.testing.assert_allclose(grouped.predict(X), plain.predict(X), rtol=1e-12, atol=1e-14)
    analytic, numeric, loss = numerical_gradient(grouped, X, y, "mse")
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
    _, _, plain_loss = numerical_gradient(plain, X, y, "mse")
    assert loss == pytest.approx(plain_loss, rel=1e-12)
    layer = next(layer for layer in grouped.layers if isinstance(layer, GroupedDense))
    other = plain.layers[grouped.layers.index(layer)]
    np.testing.assert_allclose(layer.dW, other.dW, rtol=1e-10, atol=1e-14)
    assert np.count_nonzero(layer.dW) <= 3 * 2 * 3  # nothing between the blocks


def test_a_grouped_dense_layer_keeps_its_blocks_only(tmp_path):
    pytest.importorskip("safetensors")
    layer = GroupedDense(4, 2, "relu", lr_factor=0.5)
    net = gn.Network([layer, Dense(1)], seed=0).build(6)
    assert layer.parameter_arrays()["weights"].shape == (2, 3, 2)
    again = from_config(layer.config())
    assert isinstance(again, GroupedDense) and again.config() == layer.config()
    with pytest.raises(ValueError, match="zero outside its blocks"):
        layer.weights = np.ones((6, 4))
    layer.weights = block_diagonal(np.arange(12.0).reshape(2, 3, 2))
    np.testing.assert_array_equal(layer.parameter_arrays()["weights"].ravel(), np.arange(12.0))
    net.save(tmp_path / "g.glassnet")
    X = np.random.default_rng(0).normal(size=(5, 6))
    np.testing.assert_array_equal(gn.load(tmp_path / "g.glassnet").predict(X), net.predict(X))
    with pytest.raises(ValueError, match="multiple of groups"):
        GroupedDense(5, 2)
    with pytest.raises(ValueError, match="multiple of groups"):
        gn.Network([GroupedDense(4, 2), Dense(1)]).build(5)


def test_a_grouped_dense_layer_starts_from_the_data_block_by_block():
    """init="data": each unit's z has unit standard deviation over the sample, and each
    unit's bias puts its kink among the sample's z (as Dense's start does)."""
    X = np.random.default_rng(5).normal(size=(50, 6)) * [1, 2, 3, 4, 5, 6]
    layer = GroupedDense(4, 2, init="data")
    net = gn.Network([layer, Dense(1)], seed=0).build(6)
    net.initialize_from(X)
    z = layer.linear(X)
    np.testing.assert_allclose((z - layer.bias).std(axis=0), 1.0, rtol=1e-12)
    assert ((z.min(axis=0) < 0) & (z.max(axis=0) > 0)).all()
    blocks = layer.parameter_arrays()["weights"]
    np.testing.assert_array_equal(layer.weights[:3, 2:], 0)  # nothing between the blocks
    assert blocks.shape == (2, 3, 2) and np.count_nonzero(blocks) == 12
