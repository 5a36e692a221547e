"""glassnet.ensembles.average: several networks written as one."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.ensembles import average
from glassnet.layers import Dense, Dropout, Embedding, Parametric, Scale


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
