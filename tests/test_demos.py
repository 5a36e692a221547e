"""The seed stories: their key numbers are the seeds' numbers."""

import io
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import demos

DATA = Path(__file__).parent / "seed_data"


@pytest.fixture(scope="module")
def told():
    stream = io.StringIO()
    results = demos.run("all", stream=stream)
    return results, stream.getvalue()


def printed(name):
    return [line.split()[1] for line in (DATA / name).read_text().splitlines()]


def test_xor_reproduces_the_printed_losses(told):
    results, text = told
    xor = results["xor"]
    assert [f"{v:.12g}" for v in xor["seed001_losses"][:54]] == printed("seed001_losses.txt")
    assert [f"{v:.12g}" for v in xor["seed002_losses"]] == printed("seed002_losses.txt")
    assert "    499 1.12013092852e-08" in text
    np.testing.assert_array_equal(
        np.round(xor["seed002_predictions"], 8), [0, 0.99992661, 1.00007337, 0]
    )
    assert xor["real_xor_accuracy"] == 1.0


def test_gender_numbers(told):
    results, text = told
    gender = results["gender"]
    assert gender["neuron"] == 0.9990889488055994
    assert gender["network"] == 0.7216325609518421
    assert gender["mse_example"] == 0.5
    assert gender["emily"] > 0.9 and gender["frank"] < 0.1
    assert "Emily (128 lb, 63 in): 0.9" in text and "- F" in text
    assert "Frank (155 lb, 68 in): 0.0" in text and "- M" in text


def test_exam_uses_the_training_scaling(told):
    results, text = told
    exam = results["exam"]
    np.testing.assert_allclose(exam["new_input_scaled"], [4 / 3, 8 / 9])
    assert 80 < exam["prediction"] < 100
    assert exam["prediction"] != pytest.approx(exam["seed_scaling_prediction"], abs=0.01)
    np.testing.assert_array_equal(
        np.round(exam["example_hidden"], 9), [0.999499799, 0.980159694, 0.998498818]
    )
    assert round(exam["example_output"], 7) == 0.8567468
    assert "S(7.5) = 1.000553084" in text and "S(3.9) = 0.980159694" in text
    assert "predicted score:" in text


def test_each_story_runs_alone():
    for name in demos.DEMOS:
        stream = io.StringIO()
        assert name in demos.run(name, stream=stream)
        assert stream.getvalue().strip()


def test_unknown_demo():
    with pytest.raises(ValueError, match="unknown demo 'nope'"):
        demos.run("nope")


def test_demos_leave_the_global_random_state_alone():
    before = np.random.get_state()[1].copy()
    demos.run("xor", stream=io.StringIO())
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_gender_writes_seed_003_s_chain_rule_from_the_network(told):
    results, text = told
    gender = results["gender"]
    # the untrained network the demo starts from (seed 0), and Alice, by seed 003's formulas
    net = gn.Network(
        [gn.Dense(2, "sigmoid", init="normal"), gn.Dense(1, "sigmoid", init="normal")],
        input_size=2,
        seed=0,
    )
    (W1, b1), (W2, b2) = [(layer.weights, layer.bias) for layer in net.layers]
    x, y_true = demos.GENDER_X[0], demos.GENDER_Y[0]

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    sum_h1 = W1[0, 0] * x[0] + W1[1, 0] * x[1] + b1[0]
    h1, h2 = sigmoid(x @ W1 + b1)
    sum_o1 = W2[0, 0] * h1 + W2[1, 0] * h2 + b2[0]
    y_pred = sigmoid(sum_o1)
    d_L_d_ypred = -2 * (y_true - y_pred)
    d_ypred_d_h1 = W2[0, 0] * y_pred * (1 - y_pred)
    d_h1_d_w1 = x[0] * sigmoid(sum_h1) * (1 - sigmoid(sum_h1))
    expected = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
    assert gender["first_gradient_w1"] == pytest.approx(expected, rel=1e-12)
    assert gender["first_update_w1"] == pytest.approx(-0.1 * expected, rel=1e-12)
    assert "dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1" in text
    assert (
        f"dL/dy_pred = -2 * (y_true - y_pred) = -2 * (1 - {y_pred:.4g}) = {d_L_d_ypred:.4g}" in text
    )
    assert f"dL/dw1 = {expected:.10g} (the engine's dW1[0,0])" in text
    assert "The chain rule for w5" in text


def test_exam_writes_the_corrected_worked_example_from_the_network(told):
    results, text = told
    exam = results["exam"]
    assert "z_h2 = w3*x1 + w4*x2 = 0.6*2 + 0.3*9 = 3.9" in text
    assert "h2 = sigmoid(z_h2) = 0.9801596943" in text
    assert "y_pred = sigmoid(z_o1) = 0.8567467964" in text
    h = exam["example_hidden"]
    out = exam["example_output"]
    expected = -2 * (0.92 - out) * 0.4 * out * (1 - out) * 2 * h[0] * (1 - h[0])
    assert exam["example_gradient_w1"] == pytest.approx(expected, rel=1e-9)
