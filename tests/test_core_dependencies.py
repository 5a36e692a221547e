"""The core needs NumPy alone: every optional package is imported only where it is used."""

import subprocess
import sys
import textwrap

OPTIONAL = [
    "scipy",
    "sklearn",
    "pandas",
    "matplotlib",
    "tqdm",
    "safetensors",
    "numba",
    "threadpoolctl",
]


def test_the_core_runs_with_numpy_alone():
    code = textwrap.dedent(f"""
        import sys
        for name in {OPTIONAL!r}:
            sys.modules[name] = None  # importing any of them now fails
        import numpy as np
        import glassnet as gn
        net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], seed=0)
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        net.fit(X, [0, 1, 1, 0], loss="bce", optimizer=gn.Adam(0.05), epochs=300)
        print(gn.fast.available())  # the compiled path is off, quietly, without numba
        print(net.predict(X).round().ravel().tolist())
        print(gn.check_gradients(net, X, [0, 1, 1, 0], loss="bce") < 1e-6)
        try:
            net.save("never-written.glassnet")
        except ImportError as exc:
            print(exc)
        loaded = [m for m in {OPTIONAL!r} if sys.modules.get(m) is not None]
        print("loaded:", loaded)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0] == "False"
    assert lines[1] == "[0.0, 1.0, 1.0, 0.0]"
    assert lines[2] == "True"
    assert "pip install 'glassnet[io]'" in lines[3]
    assert lines[4] == "loaded: []"
