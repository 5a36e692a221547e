"""The same call gives the same bits, whatever the process ran before.

Each fit chooses how its steps run from its own arguments alone (glassnet.fast.choice),
and nothing in the library keeps process-wide state that changes arithmetic. So the
same calls give bit-identical parameters in a new process and in one that has run many
other fits first (short ones, and a long one that runs on the compiled path), in the
default mode and with GLASSNET_FAST set either way.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet as gn

CALLS = textwrap.dedent("""
    import hashlib
    import numpy as np
    import glassnet as gn

    def digest(array):
        return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]

    def calls():
        rng = np.random.default_rng(7)
        X = rng.normal(size=(300, 8))
        labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
        out = {}
        for dtype in ("float32", "float64"):
            net = gn.Network([gn.Dense(16, "relu"), gn.Dense(3, "softmax")], seed=1)
            net.fit(X.astype(dtype), labels, loss="cross_entropy", optimizer=gn.Adam(0.01),
                    epochs=15, batch_size=32)
            out[f"adam {dtype}"] = digest(net.parameters)
        # seed 003: the gender network, one sample a step
        gx = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)
        gy = np.array([1.0, 0.0, 0.0, 1.0])
        net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], seed=0)
        net.fit(gx, gy, loss="mse", optimizer=gn.SGD(0.1), epochs=1000, batch_size=1,
                shuffle=False)
        out["seed 003"] = digest(net.parameters)
        est = gn.MLPRegressor(hidden_layer_sizes=(12,), max_iter=30, random_state=0)
        est.fit(X.astype(np.float32), X[:, 0] * 2 - X[:, 3])
        out["MLPRegressor float32"] = digest(est.network_.parameters)
        # long enough that "auto" runs it on the compiled path, when numba is there
        net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=0)
        net.fit(gx[:, :1] / 10, gy, loss="sse", optimizer=gn.SGD(1e-2), epochs=40000)
        out["long"] = digest(net.parameters)
        return out
""")

OTHER_FITS = textwrap.dedent("""
    rng = np.random.default_rng(0)
    for i in range(30):  # short fits of every kind, in both dtypes
        X = rng.normal(size=(50, 4)).astype("float32" if i % 2 else "float64")
        y = rng.integers(0, 2, size=50)
        net = gn.Network([gn.Dense(5, "tanh"), gn.Dense(2, "softmax")], seed=i)
        net.fit(X, y, loss="cross_entropy", epochs=3, batch_size=1 + i % 7)
    for dtype in ("float32", "float64"):  # long fits: the compiled path in auto
        X = rng.normal(size=(400, 8)).astype(dtype)
        for opt in (gn.Adam(0.01), gn.SGD(0.01)):
            small = gn.Network([gn.Dense(8, "relu"), gn.Dense(1)], seed=0)
            small.fit(X, X[:, 0], optimizer=opt, epochs=300, batch_size=4)
        big = gn.Network([gn.Dense(96, "relu"), gn.Dense(96, "relu"), gn.Dense(1)], seed=0)
        big.fit(X, X[:, 0], epochs=40, batch_size=4)
    gn.MLPRegressor(hidden_layer_sizes=(8,), max_iter=5).fit(X[:200], X[:200, 1])
""")


def run(setting: str | None, warm_up: bool) -> dict:
    code = CALLS + (OTHER_FITS if warm_up else "") + "\nprint(repr(calls()))\n"
    env = dict(os.environ)
    env.pop("GLASSNET_FAST", None)
    if setting is not None:
        env["GLASSNET_FAST"] = setting
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # a dict of hex strings


@pytest.mark.parametrize("setting", [None, "0", "1"], ids=["default", "FAST=0", "FAST=1"])
def test_the_same_calls_give_the_same_bits_in_a_new_process_and_after_many_fits(setting):
    if setting == "1" and not gn.fast.available():
        pytest.skip("the fast extra (numba) is not installed")
    fresh, after = run(setting, False), run(setting, True)
    assert fresh == after


def test_the_same_call_twice_in_one_process_with_others_between():
    def one():
        rng = np.random.default_rng(3)
        X = rng.normal(size=(120, 5)).astype(np.float32)
        net = gn.Network([gn.Dense(10, "relu"), gn.Dense(1)], seed=4)
        net.fit(X, X.sum(axis=1), optimizer=gn.Adam(0.01), epochs=20, batch_size=8)
        return net.parameters.copy()

    first = one()
    for i in range(5):  # other fits, one long enough for the compiled path in auto
        other = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=i)
        other.fit(np.eye(3), [1.0, 2.0, 3.0], epochs=20000 if i == 2 else 50)
    np.testing.assert_array_equal(one(), first)
