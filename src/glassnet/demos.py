"""The seed stories: their data, and narrated runs that reproduce what the seeds print.

``xor`` retells seeds 000-002 (a ReLU network learning XOR-style data by hand-written
backprop), ``gender`` seed 003 (a sigmoid neuron, then a 2-2-1 network telling gender
from weight and height), and ``exam`` seed 004 (a 2-3-1 network predicting an exam
score). Each prints its story to a stream and returns the key numbers, which the
tests check.

The seeds drew their weights with NumPy's legacy global generator. The demos draw
the same numbers from a private ``numpy.random.RandomState(83832)``, so the global
random state is never touched.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

import numpy as np

from .layers import Dense
from .network import Network
from .optimizers import SGD, Adam
from .training import Callback

__all__ = ["xor", "gender", "exam", "run", "DEMOS"]

# --- the seeds' data ----------------------------------------------------------------

#: Seeds 000-002: three inputs; the target is 1 when exactly one of the first two is 1.
XOR_STYLE_X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
XOR_STYLE_Y = np.array([[0, 1, 1, 0]]).T
#: The real XOR, with the [1, 1] -> 0 pattern the seeds' data leaves out.
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_Y = np.array([0, 1, 1, 0])

#: Seed 003: (weight - 135 lb, height - 66 in) and gender, 1 = female.
GENDER_PEOPLE = ["Alice", "Bob", "Charlie", "Diana"]
GENDER_X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
GENDER_Y = np.array([1, 0, 0, 1])
EMILY = np.array([-7, -3])  # 128 lb, 63 in
FRANK = np.array([20, 2])  # 155 lb, 68 in

#: Seed 004: (hours studying, hours sleeping) and the exam score.
EXAM_X = np.array([[2, 9], [1, 5], [3, 6]], dtype=float)
EXAM_Y = np.array([[92], [86], [89]], dtype=float)
EXAM_NEW = np.array([4, 8], dtype=float)


class _Story:
    """Prints to a stream, with a little indentation for tables."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def __call__(self, text: str = "") -> None:
        print(text, file=self.stream)

    def title(self, text: str) -> None:
        self()
        self(text)
        self("=" * len(text))

    def block(self, text: str, indent: int = 4) -> None:
        for line in str(text).splitlines():
            self(" " * indent + line)


def _array(a, precision: int = 8) -> str:
    return np.array2string(np.asarray(a), precision=precision, suppress_small=True)


class _EveryN(Callback):
    """Print a line every n epochs (and at the last), as the seeds' training loops do."""

    def __init__(self, story: _Story, every: int, epochs: int, line):
        self.story, self.every, self.epochs, self.line = story, every, epochs, line

    def on_epoch_end(self, net, history):
        epoch = history.epochs - 1
        if epoch % self.every == 0 or history.epochs == self.epochs:
            self.story(self.line(net, epoch, history))


def _dense(net: Network, i: int) -> Dense:
    """``net.layers[i]``: a Dense layer, in every network of the demos."""
    layer = net.layers[i]
    assert isinstance(layer, Dense)
    return layer


def _seed_weights(hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """w1, w2 exactly as seeds 001/002 draw them after np.random.seed(83832)."""
    draw = np.random.RandomState(83832)
    return draw.randn(3, hidden), draw.randn(hidden, 1)


def _xor_style_run(story: _Story, hidden: int, lr: float, every: int) -> tuple[Network, list]:
    w1, w2 = _seed_weights(hidden)
    net = Network([Dense(hidden, "relu", bias=False), Dense(1, bias=False)], input_size=3)
    _dense(net, 0).weights = w1
    _dense(net, 1).weights = w2
    story(f"  network: {net!r}")
    story(f"  training: loss='sse', SGD(lr={lr:g}), full batch, 500 epochs")
    story("  (each line: epoch, then the loss before that epoch's update, as the seed prints it)")
    history = net.fit(
        XOR_STYLE_X,
        XOR_STYLE_Y,
        loss="sse",
        optimizer=SGD(lr),
        epochs=500,
        shuffle=False,
        callbacks=[_EveryN(story, every, 500, lambda n, e, h: f"  {e:>5} {h.loss[-1]:.12g}")],
    )
    return net, history.loss


def xor(stream: TextIO | None = None, plot_dir: str | None = None) -> dict:
    """Seeds 000-002: XOR-style data, a ReLU network, sum-of-squares loss and plain SGD."""
    story = _Story(stream or sys.stdout)
    story.title("xor: seeds 000-002, a ReLU network learns XOR-style data")
    story("The data: three inputs; the target is 1 when exactly one of the first two is 1.")
    story.block(f"x = {_array(XOR_STYLE_X)}".replace("\n", "\n    "))
    story.block(f"y = {XOR_STYLE_Y.ravel()}")
    story()
    story("Weights are drawn as the seeds draw them: np.random.seed(83832), then")
    story("randn(3, H) for w1 and randn(H, 1) for w2 (glassnet uses a private generator).")

    story()
    story("Seed 001: H = 3 hidden units, learning rate 1e-3.")
    net1, loss1 = _xor_style_run(story, 3, 1e-3, 100)
    pred1 = net1.predict(XOR_STYLE_X).ravel()
    story(f"  predictions: {_array(pred1)}   (the seed prints [0, 0.98919177, 1.00082623, 0])")

    story()
    story("Seed 002: H = 2 hidden units, learning rate 0.01.")
    net, loss2 = _xor_style_run(story, 2, 0.01, 50)
    hidden, pred = net.activations(XOR_STYLE_X)
    story()
    story("Predictions against the truth:")
    story.block("x          y   prediction")
    for x_row, t, p in zip(XOR_STYLE_X, XOR_STYLE_Y.ravel(), pred.ravel()):
        story.block(f"{_array(x_row):<9}  {t}   {p:.8f}")
    story()
    story("The learned weights (the seed's w1 and w2):")
    story.block("w1 =\n" + _array(_dense(net, 0).weights))
    story.block("w2 =\n" + _array(_dense(net, 1).weights))
    story("The hidden activations, h_relu = max(x @ w1, 0), one row per sample:")
    story.block(_array(hidden))
    story("Row 0 and row 3 are all zeros, so the prediction there is exactly 0: the")
    story("network has no bias, and ReLU of zero is zero.")

    story()
    story("The seeds' data has no [1, 1] row, so it never tests the 'but not both' of XOR.")
    story("The real XOR needs the hidden layer. With 4 tanh units and a sigmoid output:")
    real = Network([Dense(4, "tanh"), Dense(1, "sigmoid")], seed=1)
    real_history = real.fit(XOR_X, XOR_Y, loss="bce", optimizer=Adam(0.05), epochs=500)
    real_pred = real.predict(XOR_X).ravel()
    accuracy = float(np.mean((real_pred > 0.5) == XOR_Y))
    for x_row, t, p in zip(XOR_X, XOR_Y, real_pred):
        story.block(f"{_array(x_row):<6}  {t}   {p:.4f}")
    story(f"  accuracy {accuracy:.0%}, final bce {real_history.loss[-1]:.4f}")

    figures = []
    if plot_dir:
        from . import plot

        figures += plot.save_figures(
            plot_dir,
            {
                "xor_loss.png": plot.loss_curve(loss2, title="seed 002: loss (sse)"),
                "xor_network.png": plot.network(net, title="seed 002: the trained network"),
                "xor_boundary.png": plot.decision_boundary(
                    real, XOR_X, XOR_Y, title="the real XOR", feature_names=["a", "b"]
                ),
            },
        )
    return {
        "seed001_losses": loss1,
        "seed001_predictions": pred1,
        "seed002_losses": loss2,
        "seed002_predictions": pred.ravel(),
        "seed002_w1": _dense(net, 0).weights.copy(),
        "seed002_w2": _dense(net, 1).weights.copy(),
        "seed002_hidden": hidden,
        "real_xor_accuracy": accuracy,
        "figures": figures,
    }


def gender(stream: TextIO | None = None, plot_dir: str | None = None, seed: int = 0) -> dict:
    """Seed 003: a sigmoid neuron, then a 2-2-1 network that tells gender from weight and height."""
    story = _Story(stream or sys.stdout)
    story.title("gender: seed 003, a sigmoid neuron and a 2-2-1 network")

    neuron = Network([Dense(1, "sigmoid")], input_size=2)
    _dense(neuron, 0).weights = [[0], [1]]
    _dense(neuron, 0).bias = [4]
    neuron_out = float(neuron.predict([[2, 3]])[0, 0])
    story("A neuron with weights [0, 1] and bias 4, on the input [2, 3]:")
    story(f"  sigmoid(0*2 + 1*3 + 4) = sigmoid(7) = {neuron_out!r}")

    net = Network([Dense(2, "sigmoid"), Dense(1, "sigmoid")], input_size=2)
    for layer in net.layers:
        assert isinstance(layer, Dense)
        layer.weights = np.tile([[0], [1]], (1, layer.units))[: layer.weights.shape[0]]
        layer.bias = np.zeros(layer.units)
    net_out = float(net.predict([[2, 3]])[0, 0])
    story("A 2-2-1 network in which every neuron has weights [0, 1] and bias 0:")
    story(f"  h1 = h2 = sigmoid(3); o1 = sigmoid(0*h1 + 1*h2) = {net_out!r}")

    mse_example = float(np.mean((np.array([1, 0, 0, 1]) - np.array([0, 0, 0, 0])) ** 2))
    story(f"The mean squared error of predicting 0 for targets [1, 0, 0, 1]: {mse_example}")

    story()
    story("The data: weight (minus 135 lb) and height (minus 66 in); 1 = female.")
    for name, x_row, t in zip(GENDER_PEOPLE, GENDER_X, GENDER_Y):
        story.block(f"{name:<8} {_array(x_row):<9} {t}")
    model = Network(
        [Dense(2, "sigmoid", init="normal"), Dense(1, "sigmoid", init="normal")],
        input_size=2,
        seed=seed,
    )
    story(f"The network: {model!r}; every weight and bias starts N(0, 1), as in the seed.")

    story()
    story("Backpropagation, as the seed writes it out, from the network itself: Alice is the")
    story("first sample of the first epoch. net.explain runs glassnet's own forward and backward")
    story("pass on her and shows the chain rule for w1 (W1[0,0], from weight to h1) and the")
    story("update SGD(0.1) makes, without changing the network:")
    first = model.explain(
        GENDER_X[0], GENDER_Y[0], loss="mse", optimizer=SGD(0.1), input_names=["weight", "height"]
    )
    story.block(str(first.chain("w1")), indent=2)
    story("And for w5 (W2[0,0], from h1 to the output), which needs no hidden layer's slope:")
    story.block(str(first.chain("w5")), indent=2)
    story()
    story("Training as the seed does: one sample at a time, loss 'mse', SGD(0.1), 1000 epochs.")
    story("(each line: epoch, then the mean squared error over all four people after it)")
    every_100 = _EveryN(
        story,
        100,
        1000,
        lambda n, e, h: f"  Epoch {e:>4} loss: {n.evaluate(GENDER_X, GENDER_Y, 'mse'):.3f}",
    )
    history = model.fit(
        GENDER_X,
        GENDER_Y,
        loss="mse",
        optimizer=SGD(0.1),
        epochs=1000,
        batch_size=1,
        shuffle=False,
        callbacks=[every_100],
    )
    hidden, pred = model.activations(GENDER_X)
    story()
    story("Predictions against the truth (with the hidden activations h1, h2):")
    for name, t, p, h in zip(GENDER_PEOPLE, GENDER_Y, pred.ravel(), hidden):
        story.block(f"{name:<8} truth {t}  prediction {p:.3f}   h = {_array(h, 3)}")
    story("The learned weights (column j holds the weights into hidden neuron j):")
    story.block("W1 =\n" + _array(_dense(model, 0).weights, 4))
    story.block(f"b1 = {_array(_dense(model, 0).bias, 4)}")
    story.block("W2 =\n" + _array(_dense(model, 1).weights, 4))
    story.block(f"b2 = {_array(_dense(model, 1).bias, 4)}")
    emily, frank = model.predict(np.vstack([EMILY, FRANK])).ravel()
    story()
    story(f"Emily (128 lb, 63 in): {emily:.3f} - {'F' if emily > 0.5 else 'M'}")
    story(f"Frank (155 lb, 68 in): {frank:.3f} - {'F' if frank > 0.5 else 'M'}")

    figures = []
    if plot_dir:
        from . import plot

        figures += plot.save_figures(
            plot_dir,
            {
                "gender_loss.png": plot.loss_curve(history, title="seed 003: training loss"),
                "gender_network.png": plot.network(
                    model,
                    title="seed 003: the trained network",
                    input_names=["weight", "height"],
                    output_names=["female"],
                ),
                "gender_boundary.png": plot.decision_boundary(
                    model,
                    GENDER_X,
                    GENDER_Y,
                    title="seed 003: female (1) and male (0)",
                    feature_names=["weight - 135 lb", "height - 66 in"],
                    class_names=["male", "female"],
                ),
            },
        )
    return {
        "neuron": neuron_out,
        "network": net_out,
        "mse_example": mse_example,
        "losses": history.loss,
        "emily": float(emily),
        "frank": float(frank),
        "first_gradient_w1": first.gradient("w1"),
        "first_update_w1": first.update("w1"),
        "figures": figures,
    }


def exam(stream: TextIO | None = None, plot_dir: str | None = None, seed: int = 0) -> dict:
    """Seed 004: a 2-3-1 sigmoid network predicting an exam score, scaled correctly."""
    story = _Story(stream or sys.stdout)
    story.title("exam: seed 004, a 2-3-1 network predicts an exam score")
    story("The data: (hours studying, hours sleeping) -> score out of 100.")
    for x_row, t in zip(EXAM_X, EXAM_Y.ravel()):
        story.block(f"{_array(x_row, 0):<8} -> {t:g}")

    story()
    story("The seed's worked example: weights .2 .6 .1 / .8 .3 .7 into the hidden layer,")
    story(".4 .5 .9 into the output, on the input [2, 9], with no biases.")
    example = Network([Dense(3, "sigmoid", bias=False), Dense(1, "sigmoid", bias=False)], 2)
    _dense(example, 0).weights = [[0.2, 0.6, 0.1], [0.8, 0.3, 0.7]]
    _dense(example, 1).weights = [[0.4], [0.5], [0.9]]
    story("net.explain writes the forward pass out (S is the sigmoid; seed 003 names the")
    story("weights w1, w2 into h1, w3, w4 into h2, ...):")
    worked = example.explain([2, 9], 0.92, loss="sse", input_names=["study", "sleep"])
    story.block(worked.text().split("\n\n")[1], indent=2)
    hidden, out = worked.layers[0].a, worked.y_pred
    example_hidden = hidden[0].copy()
    story("In the seed's notation:")
    for z, h in zip(worked.layers[0].z[0], hidden[0]):
        story.block(f"S({z:.1f}) = {h:.9f}")
    story.block(f"output S({float(worked.layers[1].z[0, 0]):.5f}) = {out[0, 0]:.10f}")
    story("The seed prints S(7.5) = 1.000553084 for the second unit. Its sum is")
    story(f"2*.6 + 9*.3 = 3.9, and a sigmoid never exceeds 1: S(3.9) = {hidden[0, 1]:.9f}.")
    story(f"So the output is {out[0, 0]:.7f}, not the seed's .8579443067.")
    story("Against the target .92, the sum of squares and its gradient give the first step of")
    story("the seed's backpropagation; for the weight from study to the first hidden unit:")
    story.block(str(worked.chain("w1")), indent=2)

    story()
    story("Scaling, as the seed does for training: X by each column's maximum, y by 100.")
    x_max = EXAM_X.max(axis=0)
    X, y = EXAM_X / x_max, EXAM_Y / 100
    story.block(f"column maxima {_array(x_max, 0)}")
    draw = np.random.RandomState(seed)
    model = Network([Dense(3, "sigmoid", bias=False), Dense(1, "sigmoid", bias=False)], 2)
    _dense(model, 0).weights = draw.randn(2, 3)
    _dense(model, 1).weights = draw.randn(3, 1)
    story("The network: 2 inputs, 3 sigmoid hidden units, 1 sigmoid output, no biases,")
    story("weights from randn as in the seed. The seed's update W += X.T @ delta is")
    story("gradient descent on the sum of squares with learning rate 0.5.")
    story("(each line: epoch, then the mean squared error the seed prints)")
    every = _EveryN(story, 100, 1000, lambda n, e, h: f"  # {e:>4}  loss {h.loss[-1] / 3:.12g}")
    history = model.fit(
        X, y, loss="sse", optimizer=SGD(0.5), epochs=1000, shuffle=False, callbacks=[every]
    )
    hidden, pred = model.activations(X)
    story()
    story("Predictions against the truth (scores out of 100):")
    for x_row, t, p in zip(EXAM_X, EXAM_Y.ravel(), pred.ravel()):
        story.block(f"{_array(x_row, 0):<8} truth {t:g}  prediction {100 * p:.2f}")
    story("The learned weights (the seed's saveWeights, made legible):")
    story.block("W1 (input -> hidden) =\n" + _array(_dense(model, 0).weights, 6))
    story.block("W2 (hidden -> output) =\n" + _array(_dense(model, 1).weights, 6))
    story("The hidden activations, one row per student:")
    story.block(_array(hidden, 6))

    right = EXAM_NEW / x_max
    wrong = EXAM_NEW / EXAM_NEW.max()
    right_score = 100 * float(model.predict(right[np.newaxis])[0, 0])
    wrong_score = 100 * float(model.predict(wrong[np.newaxis])[0, 0])
    story()
    story("A new student: 4 hours of study, 8 hours of sleep.")
    story(f"  Scaled like the training data (by {_array(x_max, 0)}): {_array(right, 4)}")
    story(f"  predicted score: {right_score:.2f}")
    meant = wrong * x_max
    story(f"  The seed scales it by its own maximum (8) instead: {_array(wrong, 4)}.")
    story(f"  In the training data's units that is {meant[0]:g} hours of study and {meant[1]:g}")
    story(f"  of sleep, a different student, and the network predicts {wrong_score:.2f}.")
    story("  A prediction must reuse the training data's scaling; glassnet's model files")
    story("  store it (see 'glassnet train').")

    figures = []
    if plot_dir:
        from . import plot

        figures += plot.save_figures(
            plot_dir,
            {
                "exam_loss.png": plot.loss_curve(history, title="seed 004: loss (sse)"),
                "exam_network.png": plot.network(
                    model,
                    title="seed 004: the trained network",
                    input_names=["study", "sleep"],
                    output_names=["score"],
                ),
            },
        )
    return {
        "example_hidden": example_hidden,
        "example_output": float(out[0, 0]),
        "example_gradient_w1": worked.gradient("w1"),
        "losses": history.loss,
        "new_input_scaled": right,
        "prediction": right_score,
        "seed_scaling_prediction": wrong_score,
        "figures": figures,
    }


DEMOS = {"xor": xor, "gender": gender, "exam": exam}


def run(name: str = "all", stream: TextIO | None = None, plot_dir: str | None = None) -> dict:
    """Run one demo by name, or all of them; returns {name: results}."""
    if name != "all" and name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; choose from: all, {', '.join(DEMOS)}")
    if plot_dir:
        os.makedirs(plot_dir, exist_ok=True)
    chosen = DEMOS if name == "all" else {name: DEMOS[name]}
    return {key: demo(stream=stream, plot_dir=plot_dir) for key, demo in chosen.items()}
