"""explain: one pass written out, computed by the engine, equal to central differences."""

import copy
import json
import math
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import numerical_gradient


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def seed003_net(p):
    """Seed 003's 2-2-1 sigmoid network holding w1..w6, b1..b3."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2)
    net.layers[0].weights = [[w1, w3], [w2, w4]]
    net.layers[0].bias = [b1, b2]
    net.layers[1].weights = [[w5], [w6]]
    net.layers[1].bias = [b3]
    return net


def seed003_by_hand(p, x, y_true):
    """Seed 003's own scalar code for one sample: the chain rule's factors for w1."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    sum_h1 = w1 * x[0] + w2 * x[1] + b1
    h1 = sigmoid(sum_h1)
    h2 = sigmoid(w3 * x[0] + w4 * x[1] + b2)
    sum_o1 = w5 * h1 + w6 * h2 + b3
    y_pred = sigmoid(sum_o1)

    def deriv(v):
        return sigmoid(v) * (1 - sigmoid(v))

    d_L_d_ypred = -2 * (y_true - y_pred)
    d_ypred_d_h1 = w5 * deriv(sum_o1)
    d_h1_d_w1 = x[0] * deriv(sum_h1)
    return {
        "h1": h1,
        "y_pred": y_pred,
        "dL/dy_pred": d_L_d_ypred,
        "dy_pred/dh1": d_ypred_d_h1,
        "dh1/dw1": d_h1_d_w1,
        "dL/dw1": d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1,
    }


def lines_with(text, name):
    """The chain section's lines that start with ``name =``."""
    chain = text[text.index("The chain rule for w1") :]
    found = [line.rstrip() for line in chain.splitlines() if line.strip().startswith(f"{name} =")]
    assert found, f"no line for {name} in\n{chain}"
    return found


@pytest.mark.parametrize("start", [0, 1, 2])
def test_seed003_chain_rule_for_w1_has_every_factor_to_4_digits(start):
    rng = np.random.RandomState(start)
    p = rng.normal(size=9)
    x = rng.normal(scale=5, size=2).round(1)
    y_true = float(start % 2)
    expected = seed003_by_hand(p, x, y_true)
    text = str(seed003_net(p).explain(x, y_true))
    assert "dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1" in text
    assert "d_L_d_w1 = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1" in text
    for name in ("dL/dy_pred", "dy_pred/dh1", "dh1/dw1", "dL/dw1"):
        # the factor's own line ends with its value, to 4 significant digits
        ending = f"= {expected[name]:.4g}"
        assert any(line.endswith(ending) for line in lines_with(text, name)), name
    assert f"h1 = sigmoid(z_h1) = {expected['h1']:.4g}" in text
    assert f"y_pred = sigmoid(z_o1) = {expected['y_pred']:.4g}" in text
    # the forward pass gives them to 10 digits
    assert f"h1 = sigmoid(z_h1) = {expected['h1']:.10g}" in text
    assert f"dL/dw1 = {expected['dL/dw1']:.10g} (the engine's dW1[0,0])" in text


def test_seed003_numbers_as_data():
    p = np.random.RandomState(7).normal(size=9)
    x, y_true = np.array([-2.0, -1.0]), 1.0
    expected = seed003_by_hand(p, x, y_true)
    ex = seed003_net(p).explain(x, [y_true])
    hidden, out = ex.layers
    assert hidden.a[0, 0] == pytest.approx(expected["h1"], rel=1e-13)
    assert ex.y_pred[0, 0] == pytest.approx(expected["y_pred"], rel=1e-13)
    assert out.da[0, 0] == pytest.approx(expected["dL/dy_pred"], rel=1e-13)
    assert ex.gradient("w1") == pytest.approx(expected["dL/dw1"], rel=1e-12)
    chain = ex.chain("w1")
    assert [name for name, _ in chain.factors[0]] == ["dL/dy_pred", "dy_pred/dh1", "dh1/dw1"]
    np.testing.assert_allclose(
        [v for _, v in chain.factors[0]],
        [expected["dL/dy_pred"], expected["dy_pred/dh1"], expected["dh1/dw1"]],
        rtol=1e-12,
    )
    assert chain.value == pytest.approx(expected["dL/dw1"], rel=1e-12)


def test_choosing_the_weight_every_way():
    p = np.random.RandomState(3).normal(size=9)
    ex = seed003_net(p).explain([1.0, 2.0], 0.0)
    by_seed = ex.chain("w5")
    assert by_seed.parameter == "W2[0,0]"
    assert ex.chain("W2[0,0]").value == by_seed.value
    assert ex.chain("W2[0, 0]").value == by_seed.value
    assert ex.chain(layer=2, i=0, j=0).value == by_seed.value
    assert ex.chain((2, 0, 0)).value == by_seed.value
    assert ex.chain("b3").parameter == "b2[0]"
    assert ex.chain((1, 1)).seed_name == "b2"
    # seed 003's naming: w3 feeds h2 from x1, w4 from x2
    assert ex.chain("w4").parameter == "W1[1,1]"
    assert "d_L_d_w5 = d_L_d_ypred * d_ypred_d_w5" in str(by_seed)
    assert "The chain rule for w6" in ex.text("w6")
    for bad in ("w10", "W3[0,0]", "W1[2,0]", "b9", "nonsense"):
        with pytest.raises(ValueError):
            ex.chain(bad)


ARCHITECTURES = {
    "seed003": lambda: [gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")],
    "tanh-relu-no-bias": lambda: [
        gn.Dense(4, "tanh", bias=False),
        gn.Dense(3, "leaky_relu"),
        gn.Dense(2, bias=False),
    ],
    "dropout": lambda: [gn.Dense(5, "tanh"), gn.Dropout(0.4), gn.Dense(3, "sigmoid")],
    "input-dropout": lambda: [gn.Dropout(0.3), gn.Dense(4, "relu"), gn.Dense(1)],
    "softmax": lambda: [gn.Dense(4, "tanh"), gn.Dense(3, "softmax")],
    "softmax-no-bias": lambda: [gn.Dense(3, "sigmoid", bias=False), gn.Dense(3, "softmax")],
    "exp": lambda: [gn.Dense(3, "tanh"), gn.Dense(2, "exp")],
}
CASES = [
    ("seed003", "mse"),
    ("seed003", "bce"),  # fused with the sigmoid
    ("seed003", "sse"),
    ("tanh-relu-no-bias", "mse"),
    ("tanh-relu-no-bias", "huber"),
    ("tanh-relu-no-bias", "half_squared_error"),
    ("dropout", "bce"),
    ("dropout", "mse"),
    ("input-dropout", "mae"),
    ("softmax", "cross_entropy"),  # fused
    ("softmax", "mse"),  # the softmax's Jacobian, not fused
    ("softmax-no-bias", "cross_entropy"),
    ("exp", "poisson"),
]


def data_for(net, loss, n, rng):
    X = rng.normal(size=(n, 3))
    k = net.output_size
    if loss == "cross_entropy":
        return X, rng.integers(0, k, size=n)
    if loss in ("bce",):
        return X, rng.integers(0, 2, size=(n, k)).astype(float)
    if loss == "poisson":
        return X, rng.poisson(2.0, size=(n, k)).astype(float)
    return X, rng.normal(size=(n, k))


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize(("arch", "loss"), CASES)
def test_gradients_equal_central_differences(arch, loss, n):
    rng = np.random.default_rng(len(arch) * 7 + n)
    net = gn.Network(ARCHITECTURES[arch](), input_size=3, seed=5)
    X, y = data_for(net, loss, n, rng)
    if n == 1:
        X, y = X[0], y[0]  # one sample, as a 1-D row and its target
    ex = net.explain(X, y, loss=loss)
    Y = np.atleast_1d(y) if loss == "cross_entropy" else np.reshape(y, (n, -1))
    analytic, numeric, value = numerical_gradient(net, np.atleast_2d(X), Y, loss=loss)
    np.testing.assert_allclose(ex.gradients, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(ex.gradients, analytic)  # the training step's own gradient
    assert ex.loss == pytest.approx(value, rel=1e-12)
    # the per-layer dW and db are the flat gradient's pieces, and dW = x.T @ dz
    flat = np.concatenate(
        [s.dW.ravel() for s in ex.layers] + [s.db for s in ex.layers if s.db is not None]
    )
    np.testing.assert_array_equal(flat, ex.gradients)
    for step in ex.layers:
        np.testing.assert_allclose(step.dW, step.x.T @ step.dz, rtol=1e-12, atol=1e-15)
    # every parameter's chain rule sums to its gradient
    for name in ("W1[0,0]", "W1[2,1]", f"W{len(ex.layers)}[1,0]"):
        chain = ex.chain(name)
        assert chain.value == ex.gradient(name)
        assert sum(chain.terms) == pytest.approx(chain.value, rel=1e-9, abs=1e-14)
        assert sum(np.prod([v for _, v in f]) for f in chain.factors) == pytest.approx(
            chain.value, rel=1e-9, abs=1e-14
        )
    assert "The chain rule for w1" in str(ex)


def test_a_wrong_backward_is_caught():
    """The check above can fail: a deliberately wrong activation derivative shows."""
    wrong = gn.activations.Activation(
        "wrong_tanh",
        gn.activations.tanh,
        lambda a, da, out=None: np.multiply(da, 1.0 - a, out=out),
    )
    gn.activations.register(wrong)
    net = gn.Network([gn.Dense(3, "wrong_tanh"), gn.Dense(1)], input_size=3, seed=1)
    X = np.random.default_rng(0).normal(size=(2, 3))
    y = np.array([[0.5], [-1.0]])
    ex = net.explain(X, y)
    _, numeric, _ = numerical_gradient(net, X, y)
    assert not np.allclose(ex.gradients, numeric, rtol=1e-5, atol=1e-8)


def test_the_network_and_the_optimizer_are_left_unchanged():
    net = gn.Network([gn.Dense(4, "relu"), gn.Dropout(0.5), gn.Dense(2)], seed=3)
    X = np.random.default_rng(1).normal(size=(20, 3))
    y = np.random.default_rng(2).normal(size=(20, 2))
    opt = gn.Adam(0.01)
    net.fit(X, y, optimizer=opt, epochs=3, batch_size=5)
    params, grads = net.parameters.copy(), net.gradients.copy()
    state = copy.deepcopy(net.rng.bit_generator.state)
    moments, t = opt.m.copy(), opt.t
    ex = net.explain(X[:3], y[:3], optimizer=opt)
    np.testing.assert_array_equal(net.parameters, params)
    np.testing.assert_array_equal(net.gradients, grads)
    assert net.rng.bit_generator.state == state
    np.testing.assert_array_equal(opt.m, moments)
    assert opt.t == t
    assert ex.updates is not None and np.any(ex.updates)


@pytest.mark.parametrize(
    "make_opt",
    [lambda: gn.SGD(0.1), lambda: gn.SGD(0.05, momentum=0.9), lambda: gn.Adam(0.01)],
)
def test_the_update_is_the_optimizer_s_next_step(make_opt):
    net = gn.Network([gn.Dense(3, "tanh"), gn.Dropout(0.25), gn.Dense(1, "sigmoid")], seed=4)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 2, size=6)
    opt = make_opt()
    net.fit(X, y, loss="bce", optimizer=opt, epochs=2)  # the optimizer has state
    ex = net.explain(X, y, loss="bce", optimizer=opt)
    # the same step, really taken: one full-batch epoch on a copy
    stepped, before = net.copy(), net.parameters.copy()
    stepped.fit(X, y, loss="bce", optimizer=copy.deepcopy(opt), epochs=1)
    np.testing.assert_allclose(ex.updates, stepped.parameters - before, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ex.layers[0].update_W.ravel(), ex.updates[: ex.layers[0].W.size])
    assert ex.update("w1") == ex.updates[0]
    if isinstance(opt, gn.SGD) and not opt.momentum:
        np.testing.assert_allclose(ex.updates, -0.1 * ex.gradients, rtol=1e-12)
        assert "w <- w - 0.1 * dL/dw" in str(ex)


def test_l2_penalty_is_in_the_gradient_the_optimizer_sees():
    net = gn.Network([gn.Dense(3, "tanh"), gn.Dense(2)], input_size=2, seed=0)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    ex = net.explain(X, y, l2=0.5)
    _, numeric, value = numerical_gradient(net, X, y, l2=0.5)
    np.testing.assert_allclose(ex.gradients, numeric, rtol=1e-6, atol=1e-9)
    assert ex.loss == pytest.approx(value)
    assert ex.data_loss < ex.loss
    np.testing.assert_allclose(ex.layers[0].penalty_W, 0.5 * net.layers[0].weights / 4)
    assert "L2 penalty" in str(ex)


def test_training_false_explains_the_prediction_path():
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dropout(0.5), gn.Dense(1)], input_size=2, seed=2)
    plain = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], input_size=2)
    plain.parameters = net.parameters
    X, y = np.array([[0.3, -1.2], [1.0, 0.5]]), np.array([0.2, -0.4])
    ex = net.explain(X, y, training=False)
    np.testing.assert_array_equal(ex.y_pred, net.predict(X))
    np.testing.assert_allclose(ex.gradients, plain.explain(X, y).gradients, rtol=1e-15)
    assert ex.layers[1].input_mask is None


def test_sample_weight_and_float32():
    net = gn.Network([gn.Dense(3, "sigmoid"), gn.Dense(1)], input_size=2, seed=0)
    X, y, w = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([1.0, 0.0]), np.array([3.0, 1.0])
    ex = net.explain(X, y, sample_weight=w)
    _, numeric, _ = numerical_gradient(net, X, y, sample_weight=w)
    np.testing.assert_allclose(ex.gradients, numeric, rtol=1e-6, atol=1e-9)
    net32 = net.copy().astype(np.float32)
    ex32 = net32.explain(X.astype(np.float32), y)
    assert ex32.gradients.dtype == np.float32
    np.testing.assert_allclose(ex32.gradients, net.explain(X, y).gradients, rtol=1e-4)


def test_to_dict_and_to_frame():
    pytest.importorskip("pandas")
    p = np.random.RandomState(0).normal(size=9)
    ex = seed003_net(p).explain(
        [-2, -1], 1, optimizer=gn.SGD(0.1), input_names=["weight", "height"]
    )
    data = ex.to_dict()
    json.dumps(data)  # plain numbers all the way down
    assert data["layers"][0]["dL/dW"] == ex.layers[0].dW.tolist()
    frame = ex.to_frame()
    assert len(frame) == 9
    row = frame.set_index("seed_name").loc["w1"]
    assert row["parameter"] == "W1[0,0]" and row["from"] == "weight" and row["to"] == "h1"
    assert row["gradient"] == ex.gradient("w1")
    assert row["update"] == pytest.approx(-0.1 * ex.gradient("w1"))
    units = ex.to_frame("units")
    assert list(units["unit"]) == ["h1", "h2", "y_pred"]
    assert units["dL/dz"].iloc[2] == ex.layers[1].dz[0, 0]
    assert "x1 = -2 (weight)" in str(ex)
    with pytest.raises(ValueError, match="parameters"):
        ex.to_frame("nope")


def test_deep_networks_and_batches_read_per_layer():
    net = gn.Network(
        [gn.Dense(3, "relu"), gn.Dense(3, "tanh"), gn.Dense(2, "softmax")], input_size=2, seed=1
    )
    X = np.array([[0.5, -1.0], [2.0, 1.0], [-0.3, 0.7]])
    ex = net.explain(X, [0, 1, 1], loss="cross_entropy", output_names=["no", "yes"])
    text = str(ex)
    assert "Forward pass, sample 3" in text and "Backward pass, sample 3" in text
    assert "h1.1" in text and "h2.3" in text and "o2 = softmax(z_o2)" in text
    assert "(yes)" in text
    assert "dL/dw1 = the sum over the samples" in text
    assert "fused with the softmax" in text
    assert re.search(r"dL/dh1\.1 = dL/dz_h2\.1 \* w7", text)


def test_errors_are_clear():
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2)
    with pytest.raises(ValueError, match="expects 2"):
        net.explain([1, 2, 3], 1)
    with pytest.raises(ValueError, match="at most 100 rows"):
        net.explain(np.zeros((101, 2)), np.zeros(101))
    with pytest.raises(ValueError, match="L-BFGS"):
        net.explain([1, 2], 1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="needs a softmax"):
        net.explain([1, 2], 1, loss="cross_entropy")
    with pytest.raises(ValueError, match="input_names has 3"):
        net.explain([1, 2], 1, input_names=["a", "b", "c"])
    with pytest.raises(RuntimeError, match="built"):
        gn.Network([gn.Dense(1)]).explain([1, 2], 1)
    with pytest.raises(ValueError, match="rows"):
        net.explain([[1, 2], [3, 4]], [1, 0, 1])


def test_without_a_target_the_forward_pass_alone():
    p = np.random.RandomState(4).normal(size=9)
    net = seed003_net(p)
    ex = net.explain([-7, -3], None)
    np.testing.assert_array_equal(ex.y_pred, net.predict([[-7, -3]]))
    text = str(ex)
    assert "y_pred = sigmoid(z_o1)" in text and "forward pass alone" in text
    assert "Backward pass" not in text and ex.loss is None and ex.gradients is None
    assert ex.to_dict()["gradients"] is None
    with pytest.raises(ValueError, match="no target"):
        ex.chain("w1")


def test_explain_needs_numpy_alone():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        for name in ["scipy", "sklearn", "pandas", "matplotlib", "tqdm", "safetensors"]:
            sys.modules[name] = None
        import glassnet as gn
        net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
        ex = net.explain([-2, -1], 1, optimizer="sgd")
        print("The chain rule for w1" in str(ex))
        try:
            ex.to_frame()
        except ImportError as exc:
            print(exc)
        try:
            gn.report(net, None, [[0, 1]], [1], "never-written.html")
        except ImportError as exc:
            print(exc)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "True"
    assert "pip install 'glassnet[cli]'" in lines[1]
    assert "pip install 'glassnet[plot]'" in lines[2]


def test_the_recipe_s_layers_are_written_out_with_their_numbers():
    from glassnet.layers import Embedding, Parametric, Scale

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 4))
    X[:, 3] = rng.integers(0, 3, 3)
    net = gn.Network(
        [
            Embedding(numeric=[0, 1], categorical=[(3, 3)], size=2, frequencies=3, dims=2),
            Scale(6.0),
            gn.Dense(3),
            Parametric("mish", 0.1),
            gn.Dense(2, "softmax"),
        ],
        seed=0,
    ).build(4)
    ex = net.explain(X[0], 1, loss="cross_entropy", optimizer="adam")
    kinds = [other.kind for other in ex.others]
    assert kinds == ["Embedding", "Scale", "Parametric"]
    embedding = ex.others[0]
    # every embedding parameter's gradient is the one the training step computes
    work = net.copy()
    Y = np.array([1])
    work.loss_and_grad(X[:1], Y, None, gn.losses.get("cross_entropy"))
    for name, grad in work.layers[0].gradient_arrays().items():
        np.testing.assert_allclose(embedding.gradients[name], grad, rtol=1e-12, atol=1e-15)
    text = str(ex)
    w = embedding.params["frequencies"][0]
    assert "net.layers[0] (Embedding)" in text and f"{w[0]:.6f}"[:6] in text
    assert "x4 = level" in text and "alpha = " in text
    assert "net.layers[0] (Embedding) dL/dtable_0" in text
    assert "h1'" in text  # the Dense layer after the blend sees h1 changed
    document = ex.to_dict()
    assert [o["type"] for o in document["other_layers"]] == kinds


def test_the_chain_rule_after_an_embedding_names_the_embedded_inputs():
    """When the first Dense layer takes an Embedding's outputs (more of them than there are
    columns), its chain rule names the embedded input it starts from, not a column, and
    its value is the engine's gradient."""
    net = gn.Network(
        [
            gn.layers.Embedding([0, 1], [], frequencies=4, dims=3, sigma=0.1, size=2),
            gn.Dense(3, "tanh"),
            gn.Dense(1, "sigmoid"),
        ],
        seed=0,
    ).build(2, np.float64)
    assert net.layers[0].output_size(2) == 6
    x, y = np.array([[0.3, -1.2]]), np.array([[1.0]])
    ex = net.explain(x, y, input_names=["height", "weight"])
    chain = ex.chain((1, 5, 2))
    assert str(chain).splitlines()[0] == "The chain rule for w18 (W1[5,2]: from e6 to h3)"
    # the engine's gradient of that weight, itself checked against central differences
    analytic, numeric, _ = numerical_gradient(net, x, y, ex.loss_name)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
    # W1[5,2]'s place in the flat vector: the Dense layer's weights are a view into it
    W, flat = net.layers[1].parameter_arrays()["weights"], net.parameters
    start = (W.__array_interface__["data"][0] - flat.__array_interface__["data"][0]) // W.itemsize
    where = start + 5 * W.shape[1] + 2
    value = float(chain.value)
    assert value != 0
    assert value == pytest.approx(analytic[where], rel=1e-12)
    assert value == pytest.approx(numeric[where], rel=1e-6)


def test_wide_layers_are_shortened_in_the_text_and_kept_whole_in_the_arrays():
    from glassnet.explain.prose import SHOWN_NUMBERS

    wide = gn.Network([gn.Dense(SHOWN_NUMBERS + 50, "tanh"), gn.Dense(1)], seed=0).build(3)
    ex = wide.explain([0.1, 0.2, 0.3], 0.5)
    text = ex.text()
    assert f"arrays of more than {SHOWN_NUMBERS} numbers are shortened" in text
    assert "..." in text and len(text.splitlines()) < 200
    assert ex.layers[0].a.shape == (1, SHOWN_NUMBERS + 50)  # every number is in the arrays
    seedlike = gn.Network([gn.Dense(3, "sigmoid"), gn.Dense(1, "sigmoid")], seed=0).build(2)
    text = seedlike.explain([0.1, 0.2], 0.5).text()
    assert "shortened" not in text and "..." not in text
    # five rows of 30 units: 150 numbers in all, but each row's 30 are shown whole
    thirty = gn.Network([gn.Dense(30, "relu"), gn.Dense(1)], seed=0).build(3)
    text = thirty.explain(np.ones((5, 3)), np.zeros(5)).text()
    assert "shortened" not in text


@pytest.mark.parametrize("depth", [1, 2])
def test_the_chain_rule_goes_through_the_recipe_s_blends(depth):
    """Between the default recipe's Dense layers a Parametric blend h' = h + alpha (f(h) -
    h) changes what the next layer reads: the written chain rule multiplies by its slope
    dh'/dh, so its factors give the engine's gradient, after one hidden layer or two."""
    from glassnet.layers import Parametric

    layers = [gn.Dense(3), Parametric("selu", 0.1)]
    if depth == 2:
        layers += [gn.Dense(3), Parametric("mish", 0.1)]
    net = gn.Network([*layers, gn.Dense(1, "sigmoid")], seed=0).build(2, np.float64)
    net.parameters = np.random.default_rng(1).normal(size=net.count_params())
    ex = net.explain(np.array([[0.3, -1.2]]), np.array([[1.0]]), loss="bce")
    for number, i, j in ((1, 0, 0), (1, 1, 2)):
        chain = ex.chain((number, i, j))
        product = np.prod([value for _, value in chain.factors[0]])
        assert product == pytest.approx(chain.value, rel=1e-12)
        assert "(1 - alpha) + alpha * selu'(h" in str(chain)
    assert "(the blend)" in str(ex)
    # the summary names the blend after each Dense product, not its identity
    acts = "learned selu, sigmoid" if depth == 1 else "learned selu, learned mish, sigmoid"
    assert ex.architecture.endswith(f"({acts})")
