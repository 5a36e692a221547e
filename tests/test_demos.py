"""The seed stories: their key numbers are the seeds' numbers."""

import io
from pathlib import Path

import numpy as np
import pytest

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
