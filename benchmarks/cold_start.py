"""Cold start: a fresh Python process that imports glassnet and trains seed 001's
network once (3000 full-batch SGD steps), and one that runs ``glassnet demo all``;
with the kernels compiled first-ever, loaded from the on-disk cache, left to the
per-fit choice (the default), or off.

Each run is a new subprocess, timed from outside (wall clock) and by its CPU time
(its own and its children's). "First-ever" points numba at an empty cache folder
(NUMBA_CACHE_DIR) and forces the kernels on (GLASSNET_FAST=1), so every kernel the
work needs is compiled; "cached, on" runs again on that folder; "default (auto)"
leaves GLASSNET_FAST unset, so each fit decides whether its kernels pay (the seed's
fits do not: they stay on NumPy and numba is never imported); "NumPy path" sets
GLASSNET_FAST=0. Goals: the cached cold start under 2 s, and the default no slower
than the NumPy path.

Run:  python benchmarks/cold_start.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """
import time
start = time.perf_counter()
import numpy as np
import glassnet as gn
X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
y = np.array([[0, 1, 1, 0]], dtype=float).T
draw = np.random.RandomState(83832)
net = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
net.layers[0].weights, net.layers[1].weights = draw.randn(3, 3), draw.randn(3, 1)
history = net.fit(X, y, loss="sse", optimizer=gn.SGD(1e-3), epochs=3000, shuffle=False)
"""
DEMO = [str(Path(sys.executable).with_name("glassnet")), "demo", "all"]


def one(command, env) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    workloads = {"seed 001's fit": [sys.executable, "-c", SCRIPT], "glassnet demo all": DEMO}
    results: dict[str, dict[str, list]] = {w: {} for w in workloads}
    with tempfile.TemporaryDirectory() as cache:
        base = {**os.environ, "NUMBA_CACHE_DIR": cache}
        base.pop("GLASSNET_FAST", None)
        modes = {
            "cached, on (GLASSNET_FAST=1)": {**base, "GLASSNET_FAST": "1"},
            "default (auto), cached": base,
            "NumPy path (GLASSNET_FAST=0)": {**base, "GLASSNET_FAST": "0"},
        }
        for name, command in workloads.items():
            results[name]["first-ever, on (compiles)"] = [one(command, modes[next(iter(modes))])]
        for _ in range(args.rounds):  # interleaved
            for name, command in workloads.items():
                for mode, env in modes.items():
                    results[name].setdefault(mode, []).append(one(command, env))
        # The default when nothing is cached yet: a fresh cache folder of its own.
        with tempfile.TemporaryDirectory() as empty:
            for name, command in workloads.items():
                env = {**base, "NUMBA_CACHE_DIR": empty}
                results[name]["default (auto), nothing cached"] = [one(command, env)]
    print("cold start: a new process imports glassnet and works (seconds, medians)")
    goals = []
    for name, rows in results.items():
        print(f"  {name:<38} {'wall':>8} {'CPU':>8}")
        for mode, runs in rows.items():
            wall, cpu = (statistics.median(r[i] for r in runs) for i in range(2))
            print(f"    {mode:<36} {wall:>8.2f} {cpu:>8.2f}")
        cpu = {m: statistics.median(r[1] for r in runs) for m, runs in rows.items()}
        goals.append(
            (
                f"{name}: the default no slower than the NumPy path (CPU, within 10%)",
                cpu["default (auto), cached"] <= 1.1 * cpu["NumPy path (GLASSNET_FAST=0)"],
            )
        )
    fit = statistics.median(r[0] for r in results["seed 001's fit"]["cached, on (GLASSNET_FAST=1)"])
    goals.insert(0, ("seed 001's fit, cached kernels: cold start under 2 s", fit < 2.0))
    print("goals:")
    for text, met in goals:
        print(f"  [{'met' if met else 'MISSED'}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
