"""Speed: glassnet against hand-written NumPy, scikit-learn and PyTorch, side by side.

Every case runs each peer in this one process, with the rounds interleaved (the
order of the peers rotates every round), and reports the median time of each
peer and its ratio to glassnet's. A ratio above 1 means glassnet is faster.
Absolute times on a shared machine mean little; the ratios are the result.

Cases:
  tiny          seed 001's network, 3000 full-batch SGD steps
  per-sample    seed 003's network, batch_size=1, 1000 epochs
  medium        20000 x 64 -> 256 -> 128 -> 10, softmax + cross-entropy, Adam 1e-3,
                batch 128, 2 epochs, float32 and float64
  large         batch 1024, 1024 -> 1024 -> 1024 -> 10, float32, against the time
                the same matrix products take alone
  inference     predict latency for 1 row (the seeds' networks), throughput for
                100 000 rows (the medium network)
  memory        peak memory of the medium case beyond the data itself

PyTorch and scikit-learn are optional: without one, its rows are skipped with a note.

Run:  python benchmarks/run.py [--quick] [--cases tiny,medium] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import platform
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np

import glassnet as gn

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import sklearn
    from sklearn.neural_network import MLPClassifier, MLPRegressor
except ImportError:  # pragma: no cover
    sklearn = None

if torch is not None:
    torch.manual_seed(0)

NOTES: list[str] = []


@contextlib.contextmanager
def blas_threads(n: int):
    """BLAS (every library threadpoolctl finds) and PyTorch's intra-op pool on n threads,
    put back afterwards."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        limiter = contextlib.nullcontext()
        NOTES.append("threadpoolctl is not installed: BLAS keeps its own thread count")
    else:
        limiter = threadpool_limits(limits=n, user_api="blas")
    before = torch.get_num_threads() if torch is not None else None
    with limiter:
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def interleaved(peers: dict, rounds: int, pause: float = 0.2) -> dict[str, float]:
    """Median seconds per peer. ``peers`` maps a name to make(), which returns the
    zero-argument workload to time (so set-up stays outside the timer).

    Before each timed run the process idles for ``pause`` seconds: thread pools
    (PyTorch's OpenMP workers, OpenBLAS's) spin for a while after their last task,
    and must not compete with the next peer's.
    """
    times = {name: [] for name in peers}
    names = list(peers)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            work = peers[name]()
            gc.collect()
            time.sleep(pause)
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


@contextlib.contextmanager
def glassnet_fast(value: str):
    """GLASSNET_FAST set to ``value`` for a block: "1" the compiled path wherever it
    applies, "0" the NumPy path alone (what glassnet does without the fast extra)."""
    import os

    before = os.environ.get("GLASSNET_FAST")
    os.environ["GLASSNET_FAST"] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GLASSNET_FAST", None)
        else:
            os.environ["GLASSNET_FAST"] = before


def numpy_path(make):
    """The same glassnet workload with the compiled path off (what glassnet does
    without the fast extra)."""

    def make_numpy():
        with glassnet_fast("0"):
            work = make()

        def run():
            with glassnet_fast("0"):
                work()

        return run

    return make_numpy


# --- tiny: seed 001 ----------------------------------------------------------------------

SEED_X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
SEED_Y = np.array([[0, 1, 1, 0]], dtype=float).T


def seed001_weights():
    draw = np.random.RandomState(83832)
    return draw.randn(3, 3), draw.randn(3, 1)


def tiny_peers(steps: int) -> dict:
    W1, W2 = seed001_weights()
    x, y, lr = SEED_X, SEED_Y, 1e-3

    def seed_loop():
        w1, w2 = W1.copy(), W2.copy()
        losses = []

        def run():  # the seed's loop, with its print replaced by keeping the loss
            nonlocal w1, w2
            for _ in range(steps):
                h = x.dot(w1)
                h_relu = np.maximum(h, 0)
                y_pred = h_relu.dot(w2)
                loss = np.square(y_pred - y).sum()
                losses.append(loss)
                grad_y_pred = 2.0 * (y_pred - y)
                grad_w2 = h_relu.T.dot(grad_y_pred)
                grad_h_relu = grad_y_pred.dot(w2.T)
                grad_h = grad_h_relu.copy()
                grad_h[h < 0] = 0
                grad_w1 = x.T.dot(grad_h)
                w1 -= lr * grad_w1
                w2 -= lr * grad_w2

        return run

    def glassnet():
        net = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
        net.layers[0].weights, net.layers[1].weights = W1, W2
        return lambda: net.fit(x, y, loss="sse", optimizer=gn.SGD(lr), epochs=steps, shuffle=False)

    peers = {
        "glassnet": glassnet,
        "glassnet, NumPy path": numpy_path(glassnet),
        "hand-written (seed 001)": seed_loop,
    }
    if sklearn is not None:

        def scikit():
            est = MLPRegressor(
                hidden_layer_sizes=(3,),
                solver="sgd",
                learning_rate_init=lr,
                momentum=0.0,
                nesterovs_momentum=False,
                alpha=0.0,
                batch_size=4,
                max_iter=steps,
                shuffle=False,
                tol=0.0,
                n_iter_no_change=steps + 1,
                random_state=0,
            )
            return lambda: est.fit(x, y.ravel())

        peers["scikit-learn"] = scikit
    if torch is not None:

        def pytorch():
            model = torch.nn.Sequential(
                torch.nn.Linear(3, 3, bias=False),
                torch.nn.ReLU(),
                torch.nn.Linear(3, 1, bias=False),
            ).double()
            with torch.no_grad():
                model[0].weight.copy_(torch.from_numpy(W1.T))
                model[2].weight.copy_(torch.from_numpy(W2.T))
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            losses = []

            def run():
                for _ in range(steps):
                    opt.zero_grad()
                    loss = ((model(xt) - yt) ** 2).sum()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())

            return run

        peers["PyTorch"] = pytorch
    return peers


# --- per-sample: seed 003 ------------------------------------------------------------------

GENDER_X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)
GENDER_Y = np.array([1, 0, 0, 1], dtype=float)


def per_sample_peers(epochs: int) -> dict:
    p0 = np.random.RandomState(0).normal(size=9)

    def scalar_loop(exp, rows):
        """Seed 003's training loop, one scalar at a time, with ``exp`` on ``rows``."""

        def sigmoid(v):
            return 1 / (1 + exp(-v))

        def run():
            w1, w2, w3, w4, w5, w6, b1, b2, b3 = (float(v) for v in p0)
            for _ in range(epochs):
                for x0, x1, t in rows:
                    h1 = sigmoid(w1 * x0 + w2 * x1 + b1)
                    h2 = sigmoid(w3 * x0 + w4 * x1 + b2)
                    o1 = sigmoid(w5 * h1 + w6 * h2 + b3)
                    d = -2 * (t - o1)
                    do = o1 * (1 - o1)
                    g1, g2 = d * do * w5 * h1 * (1 - h1), d * do * w6 * h2 * (1 - h2)
                    w1 -= 0.1 * g1 * x0
                    w2 -= 0.1 * g1 * x1
                    b1 -= 0.1 * g1
                    w3 -= 0.1 * g2 * x0
                    w4 -= 0.1 * g2 * x1
                    b2 -= 0.1 * g2
                    w5 -= 0.1 * d * do * h1
                    w6 -= 0.1 * d * do * h2
                    b3 -= 0.1 * d * do

        return run

    # The seed's own loop reads its rows from NumPy arrays and calls np.exp; the same
    # loop on Python floats calls math.exp.
    numpy_rows = [(x0, x1, t) for (x0, x1), t in zip(GENDER_X, GENDER_Y)]
    float_rows = [(float(x0), float(x1), float(t)) for x0, x1, t in numpy_rows]

    def seed_loop():
        return scalar_loop(np.exp, numpy_rows)

    def plain_floats():
        return scalar_loop(math.exp, float_rows)

    def as_printed():
        """The seed's own train(), as it prints it (but for its print every ten epochs):
        the data an integer array, each derivative of the sigmoid computed where it is
        used."""
        data = GENDER_X.astype(int)
        trues = GENDER_Y.astype(int)

        def sigmoid(x):
            return 1 / (1 + np.exp(-x))

        def deriv_sigmoid(x):
            fx = sigmoid(x)
            return fx * (1 - fx)

        def run():
            w1, w2, w3, w4, w5, w6, b1, b2, b3 = (np.float64(v) for v in p0)
            learn_rate = 0.1
            for _ in range(epochs):
                for x, y_true in zip(data, trues):
                    sum_h1 = w1 * x[0] + w2 * x[1] + b1
                    h1 = sigmoid(sum_h1)
                    sum_h2 = w3 * x[0] + w4 * x[1] + b2
                    h2 = sigmoid(sum_h2)
                    sum_o1 = w5 * h1 + w6 * h2 + b3
                    o1 = sigmoid(sum_o1)
                    y_pred = o1
                    d_L_d_ypred = -2 * (y_true - y_pred)
                    d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1)
                    d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1)
                    d_ypred_d_b3 = deriv_sigmoid(sum_o1)
                    d_ypred_d_h1 = w5 * deriv_sigmoid(sum_o1)
                    d_ypred_d_h2 = w6 * deriv_sigmoid(sum_o1)
                    d_h1_d_w1 = x[0] * deriv_sigmoid(sum_h1)
                    d_h1_d_w2 = x[1] * deriv_sigmoid(sum_h1)
                    d_h1_d_b1 = deriv_sigmoid(sum_h1)
                    d_h2_d_w3 = x[0] * deriv_sigmoid(sum_h2)
                    d_h2_d_w4 = x[1] * deriv_sigmoid(sum_h2)
                    d_h2_d_b2 = deriv_sigmoid(sum_h2)
                    w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
                    w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
                    b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
                    w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
                    w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
                    b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
                    w5 -= learn_rate * d_L_d_ypred * d_ypred_d_w5
                    w6 -= learn_rate * d_L_d_ypred * d_ypred_d_w6
                    b3 -= learn_rate * d_L_d_ypred * d_ypred_d_b3

        return run

    def glassnet():
        net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2)
        net.layers[0].weights = [[p0[0], p0[2]], [p0[1], p0[3]]]
        net.layers[0].bias = p0[6:8]
        net.layers[1].weights = [[p0[4]], [p0[5]]]
        net.layers[1].bias = p0[8:9]
        return lambda: net.fit(
            GENDER_X,
            GENDER_Y,
            loss="mse",
            optimizer=gn.SGD(0.1),
            epochs=epochs,
            batch_size=1,
            shuffle=False,
        )

    peers = {
        "glassnet": glassnet,
        "glassnet, NumPy path": numpy_path(glassnet),
        "seed 003's own loop": as_printed,
        "hand-written (seed 003)": seed_loop,
        "plain Python floats": plain_floats,
    }
    if sklearn is not None:

        def scikit():
            est = MLPRegressor(
                hidden_layer_sizes=(2,),
                activation="logistic",
                solver="sgd",
                learning_rate_init=0.1,
                momentum=0.0,
                nesterovs_momentum=False,
                alpha=0.0,
                batch_size=1,
                max_iter=epochs,
                shuffle=False,
                tol=0.0,
                n_iter_no_change=epochs + 1,
                random_state=0,
            )
            return lambda: est.fit(GENDER_X, GENDER_Y)

        peers["scikit-learn"] = scikit
    if torch is not None:

        def pytorch():
            model = torch.nn.Sequential(
                torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1), torch.nn.Sigmoid()
            ).double()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            X = torch.from_numpy(GENDER_X)
            Y = torch.from_numpy(GENDER_Y).reshape(-1, 1)

            def run():
                for _ in range(epochs):
                    for i in range(4):
                        opt.zero_grad()
                        loss = ((model(X[i : i + 1]) - Y[i : i + 1]) ** 2).mean()
                        loss.backward()
                        opt.step()
                        loss.item()

            return run

        peers["PyTorch"] = pytorch
    return peers


# --- medium ----------------------------------------------------------------------------------

MEDIUM = (64, 256, 128, 10)


def medium_data(n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, MEDIUM[0])).astype(dtype)
    labels = np.argmax(X @ rng.normal(size=(MEDIUM[0], MEDIUM[-1])), axis=1)
    return X, labels


def training_flops(sizes, n_samples: int, epochs: int) -> float:
    """Matrix-product FLOPs of training: forward, then dW and dx (no dx for the input)."""
    per_sample = sum(2 * a * b for a, b in zip(sizes, sizes[1:]))
    backward = sum(4 * a * b for a, b in zip(sizes[1:], sizes[2:])) + 2 * sizes[0] * sizes[1]
    return float(n_samples * epochs * (per_sample + backward))


def handwritten_medium(X, labels, batch, epochs, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """A plain NumPy training loop: the way one writes it by hand."""
    rng = np.random.default_rng(1)
    dtype = X.dtype
    sizes = MEDIUM
    Ws = [
        (rng.normal(size=(a, b)) * np.sqrt(2 / a)).astype(dtype) for a, b in zip(sizes, sizes[1:])
    ]
    bs = [np.zeros(b, dtype=dtype) for b in sizes[1:]]
    params = Ws + bs
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    onehot = np.eye(sizes[-1], dtype=dtype)[labels]

    def run():
        t = 0
        n = X.shape[0]
        for _ in range(epochs):
            order = rng.permutation(n)
            for s in range(0, n, batch):
                idx = order[s : s + batch]
                x, y = X[idx], onehot[idx]
                h1 = np.maximum(x @ Ws[0] + bs[0], 0)
                h2 = np.maximum(h1 @ Ws[1] + bs[1], 0)
                z = h2 @ Ws[2] + bs[2]
                z = z - z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                _loss = -np.log(np.maximum((p * y).sum(axis=1), 1e-30)).mean()
                dz = (p - y) / len(idx)
                dh2 = (dz @ Ws[2].T) * (h2 > 0)
                dh1 = (dh2 @ Ws[1].T) * (h1 > 0)
                grads = [x.T @ dh1, h1.T @ dh2, h2.T @ dz, dh1.sum(0), dh2.sum(0), dz.sum(0)]
                t += 1
                step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                for p_, g, m, v in zip(params, grads, ms, vs):
                    m[...] = b1 * m + (1 - b1) * g
                    v[...] = b2 * v + (1 - b2) * g * g
                    p_ -= step * m / (np.sqrt(v) + eps)

    return run


def medium_peers(n: int, dtype, batch: int = 128, epochs: int = 2) -> dict:
    X, labels = medium_data(n, dtype)

    def glassnet():  # built (weights drawn) outside the timer, like the other peers' models
        net = gn.Network(
            [gn.Dense(256, "relu"), gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0
        ).build(MEDIUM[0], dtype)
        return lambda: net.fit(
            X,
            labels,
            loss="cross_entropy",
            optimizer=gn.Adam(1e-3),
            epochs=epochs,
            batch_size=batch,
        )

    peers = {
        "glassnet": glassnet,
        "glassnet, NumPy path": numpy_path(glassnet),
        "hand-written NumPy": lambda: handwritten_medium(X, labels, batch, epochs),
    }
    if sklearn is not None:

        def scikit():
            est = MLPClassifier(
                hidden_layer_sizes=(256, 128),
                solver="adam",
                alpha=0.0,
                batch_size=batch,
                max_iter=epochs,
                tol=0.0,
                n_iter_no_change=epochs + 1,
                random_state=0,
            )
            return lambda: est.fit(X, labels)

        peers["scikit-learn"] = scikit
    if torch is not None:

        def pytorch():
            tdtype = torch.float32 if dtype == np.float32 else torch.float64
            model = torch.nn.Sequential(
                torch.nn.Linear(64, 256),
                torch.nn.ReLU(),
                torch.nn.Linear(256, 128),
                torch.nn.ReLU(),
                torch.nn.Linear(128, 10),
            ).to(tdtype)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)

            def run():
                for _ in range(epochs):
                    order = torch.randperm(Xt.shape[0])
                    for s in range(0, Xt.shape[0], batch):
                        idx = order[s : s + batch]
                        opt.zero_grad()
                        loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
                        loss.backward()
                        opt.step()
                        loss.item()

            return run

        peers["PyTorch"] = pytorch
    return peers


# --- large batch --------------------------------------------------------------------------------

LARGE = (1024, 1024, 1024, 10)


def large_peers(n: int, batch: int, epochs: int, optimizer: str) -> dict:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, LARGE[0])).astype(np.float32)
    labels = rng.integers(0, LARGE[-1], size=n)

    def glassnet():  # built (weights drawn) outside the timer, like the other peers' models
        net = gn.Network(
            [gn.Dense(1024, "relu"), gn.Dense(1024, "relu"), gn.Dense(10, "softmax")], seed=0
        ).build(LARGE[0], np.float32)
        opt = gn.SGD(0.01) if optimizer == "sgd" else gn.Adam(1e-3)
        return lambda: net.fit(
            X,
            labels,
            loss="cross_entropy",
            optimizer=opt,
            epochs=epochs,
            batch_size=batch,
            shuffle=False,
        )

    def matmul_only():
        a, b, c, d = LARGE
        f32 = np.float32
        W = [rng.normal(size=s).astype(f32) for s in ((a, b), (b, c), (c, d))]
        h = [np.empty((batch, k), f32) for k in (b, c, d)]
        dW = [np.empty_like(w) for w in W]
        dh = [np.empty((batch, k), f32) for k in (b, c)]

        def run():  # exactly the products one training step needs, nothing else
            for _ in range(epochs):
                for s in range(0, n, batch):
                    x = X[s : s + batch]
                    np.dot(x, W[0], out=h[0])
                    np.dot(h[0], W[1], out=h[1])
                    np.dot(h[1], W[2], out=h[2])
                    np.dot(h[1].T, h[2], out=dW[2])
                    np.dot(h[2], W[2].T, out=dh[1])
                    np.dot(h[0].T, dh[1], out=dW[1])
                    np.dot(dh[1], W[1].T, out=dh[0])
                    np.dot(x.T, dh[0], out=dW[0])

        return run

    peers = {"glassnet": glassnet, "matrix products alone": matmul_only}
    if torch is not None:

        def pytorch():
            model = torch.nn.Sequential(
                torch.nn.Linear(1024, 1024),
                torch.nn.ReLU(),
                torch.nn.Linear(1024, 1024),
                torch.nn.ReLU(),
                torch.nn.Linear(1024, 10),
            )
            opt = (
                torch.optim.SGD(model.parameters(), lr=0.01)
                if optimizer == "sgd"
                else torch.optim.Adam(model.parameters(), lr=1e-3)
            )
            Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)

            def run():
                for _ in range(epochs):
                    for s in range(0, n, batch):
                        opt.zero_grad()
                        loss = torch.nn.functional.cross_entropy(
                            model(Xt[s : s + batch]), yt[s : s + batch]
                        )
                        loss.backward()
                        opt.step()
                        loss.item()

            return run

        peers["PyTorch"] = pytorch
    return peers


# --- inference ---------------------------------------------------------------------------------


def latency(fn, repeat: int = 2000) -> float:
    """Median seconds of one call, over batches of calls."""
    for _ in range(100):
        fn()
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - start) / repeat)
    return statistics.median(samples)


def inference_latency() -> dict[str, dict[str, float]]:
    W1, W2 = seed001_weights()
    seed1 = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
    seed1.layers[0].weights, seed1.layers[1].weights = W1, W2
    seed3 = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
    (V1, c1), (V2, c2) = [(layer.weights.copy(), layer.bias.copy()) for layer in seed3.layers]

    def seed3_by_hand(x):  # seed 003's feedforward, on arrays
        h = 1 / (1 + np.exp(-(x.dot(V1) + c1)))
        return 1 / (1 + np.exp(-(h.dot(V2) + c2)))

    rows = {
        "seed 001 network": (seed1, SEED_X[1:2], lambda x: np.maximum(x.dot(W1), 0).dot(W2)),
        "seed 003 network": (seed3, GENDER_X[:1], seed3_by_hand),
    }
    out = {}
    for name, (net, x, by_hand) in rows.items():
        peers = {"glassnet": lambda net=net, x=x: net.predict(x)}  # predictions: NumPy
        if by_hand is not None:
            peers["hand-written"] = lambda x=x, f=by_hand: f(x)
        if torch is not None:
            model = (
                torch.nn.Sequential(
                    torch.nn.Linear(x.shape[1], net.layers[0].units),
                    torch.nn.ReLU(),
                    torch.nn.Linear(net.layers[0].units, 1),
                )
                .double()
                .eval()
            )
            xt = torch.from_numpy(x)

            def torch_predict(model=model, xt=xt):
                with torch.no_grad():
                    return model(xt).numpy()

            peers["PyTorch"] = torch_predict
        if sklearn is not None:
            est = MLPRegressor(
                hidden_layer_sizes=(net.layers[0].units,), max_iter=1, random_state=0
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(np.tile(x, (4, 1)), np.arange(4.0))
            peers["scikit-learn"] = lambda est=est, x=x: est.predict(x)
        out[name] = {}
        for peer, fn in peers.items():
            out[name][peer] = latency(fn)
    return out


def inference_throughput(n: int = 100_000) -> dict[str, float]:
    X, labels = medium_data(n, np.float32)
    net = gn.Network(
        [gn.Dense(256, "relu"), gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0
    )
    net.build(64, np.float32)
    Ws = [layer.weights for layer in net.layers]
    bs = [layer.bias for layer in net.layers]

    def by_hand():
        h1 = np.maximum(X @ Ws[0] + bs[0], 0)
        h2 = np.maximum(h1 @ Ws[1] + bs[1], 0)
        z = h2 @ Ws[2] + bs[2]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    peers = {"glassnet": lambda: lambda: net.predict(X), "hand-written": lambda: by_hand}
    if sklearn is not None:
        est = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X[:1000], labels[:1000])
        peers["scikit-learn"] = lambda: lambda: est.predict_proba(X)
    if torch is not None:
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 10),
            torch.nn.Softmax(dim=1),
        ).eval()
        Xt = torch.from_numpy(X)

        def torch_predict():
            with torch.no_grad():
                return model(Xt).numpy()

        peers["PyTorch"] = lambda: torch_predict
    seconds = interleaved(peers, 5)
    return {peer: n / s for peer, s in seconds.items()}


# --- memory ---------------------------------------------------------------------------------------


def peak_memory(n: int, batch: int) -> float:
    """Peak bytes NumPy allocates during a medium float32 fit, beyond the data itself."""
    X, labels = medium_data(n, np.float32)
    net = gn.Network(
        [gn.Dense(256, "relu"), gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0
    )
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    net.fit(X, labels, loss="cross_entropy", optimizer=gn.Adam(1e-3), epochs=1, batch_size=batch)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


# --- the machine's matmul throughput --------------------------------------------------------------


def matmul_gflops(dtype, size: int = 2048) -> float:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(size, size)).astype(dtype)
    b = rng.normal(size=(size, size)).astype(dtype)
    out = np.empty_like(a)
    np.dot(a, b, out=out)
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        np.dot(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# --- reporting ------------------------------------------------------------------------------------


def table(
    title: str,
    seconds: dict[str, float],
    unit: str = "ms",
    scale: float = 1e3,
    extra: dict[str, str] | None = None,
) -> list[str]:
    base = seconds["glassnet"]
    lines = [title]
    for peer, value in seconds.items():
        ratio = value / base
        note = (
            ""
            if peer == "glassnet"
            else f"   glassnet is {ratio:.2f}x faster"
            if ratio >= 1
            else f"   glassnet takes {1 / ratio:.2f}x the time"
        )
        more = f"  {extra[peer]}" if extra and peer in extra else ""
        lines.append(f"  {peer:<26} {value * scale:>10.2f} {unit}{note}{more}")
    return lines


def _cases(args, cases, rounds, results, out, goals, ratio, f32, f64, threads) -> None:
    """Every selected case, once, at the current thread count; appends to out and goals."""
    tag = f"{threads} thread{'s' * (threads > 1)}"

    def goal(text, ok):
        goals.append((f"{text} ({tag})", bool(ok)))

    def keep(name, value):
        results["cases"][f"{name}, {tag}"] = value

    if "tiny" in cases:
        steps = 1000 if args.quick else 3000
        sec = interleaved(tiny_peers(steps), rounds)
        keep("tiny", sec)
        out += table(
            f"tiny: seed 001's network, {steps} full-batch SGD steps (time per step)",
            {k: v / steps for k, v in sec.items()},
            "us",
            1e6,
        )
        goal(
            "tiny: no slower than the seed's hand-written NumPy loop",
            ratio(sec, "hand-written (seed 001)") >= 1.0,
        )
        goal(
            "tiny, NumPy path: no slower than the seed's hand-written NumPy loop",
            sec["hand-written (seed 001)"] / sec["glassnet, NumPy path"] >= 1.0,
        )
        out.append("")

    if "per-sample" in cases:
        epochs = 300 if args.quick else 1000
        sec = interleaved(per_sample_peers(epochs), rounds)
        keep("per-sample", sec)
        out += table(
            f"per-sample: seed 003's network, batch_size=1, {epochs} epochs (time per sample)",
            {k: v / (4 * epochs) for k, v in sec.items()},
            "us",
            1e6,
        )
        goal(
            "per-sample: at least 3x faster than the seed's own loop",
            ratio(sec, "hand-written (seed 003)") >= 3,
        )
        goal("per-sample: faster than plain Python floats", ratio(sec, "plain Python floats") > 1)
        goal(
            "per-sample, NumPy path: no slower than the seed's own loop",
            sec["seed 003's own loop"] / sec["glassnet, NumPy path"] >= 1.0,
        )
        out.append("")

    if "medium" in cases:
        n = 5000 if args.quick else 20000
        flops = training_flops(MEDIUM, n, 2)
        for dtype, peak in ((np.float32, f32), (np.float64, f64)):
            sec = interleaved(medium_peers(n, dtype), max(3, rounds - 2))
            name = np.dtype(dtype).name
            keep(f"medium {name}", sec)
            gflops = {
                p: f"{flops / s / 1e9:5.1f} GFLOP/s ({flops / s / 1e9 / peak:.0%} of matmul)"
                for p, s in sec.items()
            }
            out += table(
                f"medium, {name}: {n} x 64 -> 256 -> 128 -> 10, Adam, batch 128, 2 epochs",
                sec,
                extra=gflops,
            )
            if dtype == np.float32:
                if "scikit-learn" in sec:
                    goal(
                        "medium float32: at least 2.5x faster than scikit-learn",
                        ratio(sec, "scikit-learn") >= 2.5,
                    )
                if "PyTorch" in sec:
                    goal(
                        "medium float32: at least 2x faster than PyTorch",
                        ratio(sec, "PyTorch") >= 2.0,
                    )
            out.append("")

    if "large" in cases:
        n, epochs = (2048, 1) if args.quick else (4096, 2)
        for optimizer in ("sgd", "adam"):
            sec = interleaved(large_peers(n, 1024, epochs, optimizer), max(3, rounds - 4))
            keep(f"large {optimizer}", sec)
            share = sec["matrix products alone"] / sec["glassnet"]
            flops = training_flops(LARGE, n, epochs)
            out += table(
                f"large batch, float32, {optimizer.upper() if optimizer == 'sgd' else 'Adam'}:"
                f" batch 1024, 1024 -> 1024 -> 1024 -> 10, {n * epochs // 1024} steps",
                sec,
                extra={
                    "glassnet": f"{flops / sec['glassnet'] / 1e9:.0f} GFLOP/s, "
                    f"{share:.0%} of the matrix-product bound"
                },
            )
            if optimizer == "sgd":
                goal("large batch: at least 95% of the matrix-product bound (SGD)", share >= 0.95)
            out.append("")

    if "inference" in cases:
        lat = inference_latency()
        keep("latency", lat)
        for name, sec in lat.items():
            out += table(f"inference latency, 1 row, {name}", sec, "us", 1e6)
        goal(
            "inference: predicting 1 row of seed 003's network takes under 5 us",
            lat["seed 003 network"]["glassnet"] < 5e-6,
        )
        thr = inference_throughput()
        keep("throughput", thr)
        out.append("inference throughput, 100 000 rows, medium network, float32")
        for peer, rows_per_s in thr.items():
            out.append(
                f"  {peer:<26} {rows_per_s / 1e6:>10.2f} M rows/s"
                f"   glassnet is {thr['glassnet'] / rows_per_s:.2f}x as fast"
            )
        out.append("")

    if "memory" in cases and threads == 1:
        sizes = [(20000, 128), (80000, 128), (20000, 512)]
        mem = {f"n={n}, batch={b}": peak_memory(n, b) for n, b in sizes}
        keep("memory", mem)
        out.append("memory: peak allocated during a medium float32 fit, beyond the data")
        for key, value in mem.items():
            out.append(f"  {key:<26} {value / 2**20:>10.2f} MiB")
        per_sample = (mem["n=80000, batch=128"] - mem["n=20000, batch=128"]) / 60000
        data_per_sample = MEDIUM[0] * 4  # float32 features
        out.append(
            f"  each extra sample adds {per_sample:.1f} bytes "
            f"(its data is {data_per_sample} bytes; the shuffle order takes 8)"
        )
        goal(
            "memory: grows with batch x width, not with the number of samples",
            per_sample <= 8 and mem["n=20000, batch=512"] > mem["n=20000, batch=128"],
        )
        out.append("")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller workloads")
    parser.add_argument("--cases", default="tiny,per-sample,medium,large,inference,memory")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--threads", default="1,2", help="BLAS/PyTorch thread counts to run")
    args = parser.parse_args(argv)
    # "glassnet" is the compiled path wherever it applies (GLASSNET_FAST=1), its kernels
    # loaded as in a long-lived process: not the default per-fit choice, which leaves a
    # short fit on the NumPy path (the "NumPy path" rows).
    with glassnet_fast("1"):
        return _main(args)


def _main(args) -> int:
    cases = args.cases.split(",")
    thread_counts = [int(t) for t in args.threads.split(",")]
    rounds = 3 if args.quick else 7
    warnings.simplefilter("ignore")
    if torch is None:
        NOTES.append("PyTorch is not installed: its rows are skipped (pip install torch)")
    if sklearn is None:
        NOTES.append("scikit-learn is not installed: its rows are skipped")

    results: dict = {"machine": {}, "cases": {}}
    f32, f64 = matmul_gflops(np.float32), matmul_gflops(np.float64)
    results["machine"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "sklearn": getattr(sklearn, "__version__", None),
        "matmul_gflops_float32": f32,
        "matmul_gflops_float64": f64,
    }
    out = [
        f"glassnet {gn.__version__}, numpy {np.__version__}, "
        f"scikit-learn {getattr(sklearn, '__version__', '-')}, "
        f"PyTorch {getattr(torch, '__version__', '-')}; "
        f"machine matmul: {f32:.0f} GFLOP/s float32, {f64:.0f} GFLOP/s float64",
        "",
    ]
    goals: list[tuple[str, bool]] = []

    def ratio(sec, peer):
        return sec[peer] / sec["glassnet"] if peer in sec else None

    for threads in thread_counts:
        out.append(f"=== {threads} BLAS thread{'s' * (threads > 1)} (PyTorch: as many) ===")
        out.append("")
        with blas_threads(threads):
            _cases(args, cases, rounds, results, out, goals, ratio, f32, f64, threads)

    print("\n".join(out))
    for note in NOTES:
        print(f"note: {note}")
    print("goals:")
    for text, ok in goals:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    results["goals"] = {text: ok for text, ok in goals}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=float)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
