"""The Network: building, flat buffers, dtype, forward/backward, inspection, copying."""

import copy
import pickle

import numpy as np
import pytest

import glassnet as gn


def small(seed=0, **kw):
    return gn.Network([gn.Dense(4, "relu"), gn.Dense(2, "sigmoid")], seed=seed, **kw)


def data(n=10, n_in=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, 2))


# --- building and the flat buffers ------------------------------------------------------


def test_input_size_is_inferred_from_the_first_data():
    net = small()
    assert not net.built
    X, y = data()
    net.fit(X, y)
    assert net.built and net.input_size == 3
    assert net.layers[0].weights.shape == (3, 4)
    assert net.layers[1].bias.shape == (2,)


def test_parameters_are_weights_then_biases_and_layers_are_views():
    net = small(input_size=3)
    P = net.parameters
    assert P.shape == (3 * 4 + 4 * 2 + 4 + 2,) == (net.count_params(),)
    np.testing.assert_array_equal(P[:12], net.layers[0].weights.ravel())
    np.testing.assert_array_equal(P[12:20], net.layers[1].weights.ravel())
    np.testing.assert_array_equal(P[20:24], net.layers[0].bias)
    np.testing.assert_array_equal(P[24:], net.layers[1].bias)
    for layer in net.layers:
        assert np.shares_memory(layer.weights, P)
        assert np.shares_memory(layer.dW, net.gradients)


def test_assigning_weights_copies_into_the_buffer_and_never_rebinds():
    net = small(input_size=3)
    view = net.layers[0].weights
    new = np.arange(12.0).reshape(3, 4)
    net.layers[0].weights = new
    assert net.layers[0].weights is view
    np.testing.assert_array_equal(net.parameters[:12], np.arange(12.0))
    new[0, 0] = 99.0  # the caller's array stays theirs
    assert net.layers[0].weights[0, 0] == 0.0


def test_setting_the_flat_vector_moves_every_layer():
    net = small(input_size=3)
    net.parameters = np.ones(net.count_params())
    assert (net.layers[1].bias == 1).all()


def test_bias_false_has_no_bias():
    net = gn.Network([gn.Dense(3, bias=False)], input_size=2)
    assert net.layers[0].bias is None
    assert net.count_params() == 6


def test_same_seed_same_weights_and_global_state_untouched():
    state = np.random.get_state()[1].copy()
    a, b, c = small(seed=7, input_size=3), small(seed=7, input_size=3), small(seed=8, input_size=3)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, c.parameters)
    X, y = data()
    a.fit(X, y, epochs=3, batch_size=3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# --- dtype -------------------------------------------------------------------------------


def test_float32_data_gives_float32_everything():
    X, y = data()
    net = small()
    history = net.fit(
        X.astype(np.float32), y.astype(np.float32), epochs=3, batch_size=4, optimizer="adam"
    )
    assert net.dtype == np.float32
    assert net.parameters.dtype == np.float32 and net.gradients.dtype == np.float32
    assert net.predict(X.astype(np.float32)).dtype == np.float32
    assert all(a.dtype == np.float32 for a in net.activations(X.astype(np.float32)))
    assert all(np.isfinite(history.loss))


def test_default_is_float64_and_integers_become_float64():
    net = small()
    net.fit(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[0, 1], [1, 0]]))
    assert net.dtype == np.float64
    assert net.predict([[1, 2, 3]]).dtype == np.float64


def test_a_built_network_follows_the_dtype_of_its_training_data():
    net = small(input_size=3)
    before = net.parameters.copy()
    X, y = data()
    net.fit(X.astype(np.float32), y.astype(np.float32), epochs=1, optimizer=gn.SGD(1e-12))
    assert net.dtype == np.float32
    np.testing.assert_allclose(net.parameters, before, rtol=1e-6, atol=1e-9)
    assert np.shares_memory(net.layers[0].weights, net.parameters)


def test_predict_casts_input_to_the_network_dtype():
    X, y = data()
    net = small()
    net.fit(X.astype(np.float32), y, epochs=1)
    assert net.predict(X).dtype == np.float32


# --- forward, backward, and one step by hand ----------------------------------------------------


def test_one_sgd_step_by_hand():
    # One linear unit, y = x @ W + b, with W = [[0.5], [-1.0]], b = [0.25].
    net = gn.Network([gn.Dense(1)], input_size=2)
    net.layers[0].weights = [[0.5], [-1.0]]
    net.layers[0].bias = [0.25]
    X = np.array([[1.0, 2.0], [3.0, 0.0]])
    y = np.array([[0.0], [1.0]])
    # Predictions: 1*0.5 + 2*(-1) + 0.25 = -1.25 and 3*0.5 + 0 + 0.25 = 1.75.
    # Errors a - y: -1.25 and 0.75.  mse = (1.5625 + 0.5625) / 2 = 1.0625.
    # dL/da = 2 (a - y) / n = [-1.25, 0.75].
    # dW = X.T @ dL/da = [1*-1.25 + 3*0.75, 2*-1.25 + 0] = [1.0, -2.5];  db = -0.5.
    # SGD(0.1): W = [0.5 - 0.1, -1.0 + 0.25] = [0.4, -0.75];  b = 0.25 + 0.05 = 0.3.
    history = net.fit(X, y, loss="mse", optimizer=gn.SGD(0.1), epochs=1)
    assert history.loss == [1.0625]
    np.testing.assert_allclose(net.layers[0].dW, [[1.0], [-2.5]])
    np.testing.assert_allclose(net.layers[0].db, [-0.5])
    np.testing.assert_allclose(net.layers[0].weights, [[0.4], [-0.75]])
    np.testing.assert_allclose(net.layers[0].bias, [0.3])


def test_public_forward_and_backward_fill_the_gradients():
    X, y = data()
    net = small(input_size=3)
    out = net.forward(X, training=True).copy()
    np.testing.assert_allclose(out, net.predict(X))
    grad = 2 * (out - y) / y.size  # dL/da of the mse
    net.backward(grad)
    first = net.gradients.copy()
    analytic, numeric, _ = gn.gradcheck.numerical_gradient(net, X, y, loss="mse")
    np.testing.assert_allclose(first, analytic, rtol=1e-12)
    # Gradients are overwritten, never accumulated.
    net.forward(X, training=True)
    net.backward(grad)
    np.testing.assert_array_equal(net.gradients, first)


def test_backward_checks_its_input():
    net = small(input_size=3)
    with pytest.raises(RuntimeError, match="forward"):
        net.backward(np.ones((2, 2)))
    net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="grad must have the output's shape"):
        net.backward(np.ones((4, 2)))


def test_activations_are_every_layer_output():
    X, _ = data()
    net = small(input_size=3)
    hidden, out = net.activations(X)
    np.testing.assert_allclose(
        hidden, np.maximum(X @ net.layers[0].weights + net.layers[0].bias, 0)
    )
    np.testing.assert_allclose(out, net.predict(X))


def test_predictions_are_fresh_arrays():
    X, y = data()
    net = small()
    net.fit(X, y)
    first = net.predict(X)
    first_copy = first.copy()
    net.predict(X * 2)
    np.testing.assert_array_equal(first, first_copy)


def test_evaluate_returns_the_loss():
    X, y = data()
    net = small(input_size=3)
    pred = net.predict(X)
    assert net.evaluate(X, y, loss="mse") == pytest.approx(np.mean((pred - y) ** 2), rel=1e-12)
    assert net.evaluate(X, y, loss="sse") == pytest.approx(np.sum((pred - y) ** 2), rel=1e-12)
    assert isinstance(net.evaluate(X, y), float)


# --- printing, copying, pickling -----------------------------------------------------------------


def test_summary_is_a_table():
    net = small(input_size=3)
    text = str(net)
    assert "Network 3 -> 4 -> 2: 26 parameters, float64" in text
    assert "relu" in text and "sigmoid" in text
    lines = text.splitlines()
    assert lines[1].split() == ["layer", "type", "units", "activation", "bias", "parameters"]
    assert lines[3].split() == ["0", "Dense", "4", "relu", "yes", "16"]
    assert lines[4].split() == ["1", "Dense", "2", "sigmoid", "yes", "10"]
    assert net.summary(print_=False) == text


def test_summary_prints(capsys):
    small(input_size=3).summary()
    assert "26 parameters" in capsys.readouterr().out


def test_repr_rebuilds_the_architecture():
    net = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1)], input_size=2, seed=5)
    assert repr(net) == "Network([Dense(3, 'relu', bias=False), Dense(1)], input_size=2, seed=5)"


@pytest.mark.parametrize("clone", [pickle.loads.__call__, copy.deepcopy])
def test_pickle_and_deepcopy_keep_the_flat_buffer(clone):
    X, y = data()
    net = small()
    net.fit(X, y, epochs=2)
    other = copy.deepcopy(net) if clone is copy.deepcopy else pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(other.predict(X), net.predict(X))
    for layer in other.layers:
        assert np.shares_memory(layer.weights, other.parameters)
    other.layers[0].weights = np.zeros((3, 4))
    assert not np.array_equal(net.layers[0].weights, 0)  # independent
    other.fit(X, y, epochs=2)  # and trainable


def test_copy_is_independent():
    net = small(input_size=3)
    twin = net.copy()
    twin.parameters = np.zeros(twin.count_params())
    assert net.parameters.any()


def test_many_rows_are_predicted_and_evaluated_in_blocks(monkeypatch):
    X, y = data(n=50)
    net = small(input_size=3)
    whole = net.activations(X)[-1]  # every layer over all rows at once
    loss = net.evaluate(X, y, loss="mse")
    monkeypatch.setattr(gn.Network, "BLOCK_ROWS", 7)  # 50 rows: 7 blocks and a remainder
    np.testing.assert_allclose(net.predict(X), whole, rtol=1e-12)
    assert net.evaluate(X, y, loss="mse") == pytest.approx(loss, rel=1e-12)
    classifier = gn.Network([gn.Dense(4, "relu"), gn.Dense(3, "softmax")], input_size=3, seed=0)
    labels = np.arange(50) % 3
    ce = classifier.evaluate(X, labels, loss="cross_entropy")
    monkeypatch.setattr(gn.Network, "BLOCK_ROWS", 2048)
    assert classifier.evaluate(X, labels, loss="cross_entropy") == pytest.approx(ce, rel=1e-12)


def test_html_repr_is_the_layer_table_with_sizes_dtype_and_state():
    model = gn.Network([gn.Dense(3, "relu"), gn.Dropout(0.1), gn.Dense(1)], seed=1)
    assert "not built" in model._repr_html_()
    model.build(2, np.float32)
    html = model._repr_html_()
    assert "Network 2 -&gt; 3 -&gt; 1: 13 parameters, float32" in html
    assert html.count("<tr>") == 4  # the header and three layers
    assert "<td>relu</td>" in html and "<td>Dropout(0.1)</td>" in html
