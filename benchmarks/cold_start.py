"""Cold start: a fresh Python process that imports glassnet and trains seed 001's
network once (3000 full-batch SGD steps), with the compiled path loading its kernels
from the on-disk cache, compiling them first-ever, or off.

Each run is a new subprocess, timed from outside (wall clock) and by its own CPU time.
"First-ever" points numba at an empty cache folder (NUMBA_CACHE_DIR), so every kernel
the fit needs is compiled; "cached" runs again on that folder; "NumPy path" sets
GLASSNET_FAST=0. Goal: the cached cold start under 2 s.

Run:  python benchmarks/cold_start.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = """
import time, resource
start = time.perf_counter()
import numpy as np
import glassnet as gn
X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
y = np.array([[0, 1, 1, 0]], dtype=float).T
draw = np.random.RandomState(83832)
net = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
net.layers[0].weights, net.layers[1].weights = draw.randn(3, 3), draw.randn(3, 1)
imported = time.perf_counter()
history = net.fit(X, y, loss="sse", optimizer=gn.SGD(1e-3), epochs=3000, shuffle=False)
done = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(imported - start, done - imported, usage.ru_utime + usage.ru_stime, history.loss[-1])
"""


def one(env) -> tuple[float, float, float, float]:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=900
    )
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    imported, fit, cpu, _ = (float(v) for v in run.stdout.split())
    return wall, imported, fit, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        base = {**os.environ, "NUMBA_CACHE_DIR": cache}
        results["first-ever (compiles)"] = [one(base)]
        cached, numpy_path = [], []
        for _ in range(args.rounds):  # interleaved
            cached.append(one(base))
            numpy_path.append(one({**base, "GLASSNET_FAST": "0"}))
        results["cached"] = cached
        results["NumPy path (GLASSNET_FAST=0)"] = numpy_path
    print("cold start: a new process imports glassnet and fits seed 001's network (3000 steps)")
    print(f"  {'':<30} {'wall':>8} {'import':>8} {'fit':>8} {'CPU':>8}  (seconds, medians)")
    for name, runs in results.items():
        cols = [statistics.median(r[i] for r in runs) for i in range(4)]
        print(f"  {name:<30} " + " ".join(f"{c:>8.2f}" for c in cols))
    cached_wall = statistics.median(r[0] for r in results["cached"])
    print(f"goals:\n  [{'met' if cached_wall < 2.0 else 'MISSED'}] cached cold start under 2 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
