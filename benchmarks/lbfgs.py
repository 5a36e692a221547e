"""L-BFGS: glassnet's MLPClassifier(solver="lbfgs") against scikit-learn's, on iris,
breast_cancer and digits.

Both fit a StandardScaler pipeline with default parameters otherwise (one hidden layer
of 100 ReLU units, max_iter=200, tol=1e-4), the same random_state, back to back with the
order alternating between rounds. Both hand scipy's L-BFGS-B the loss and gradient of
the flat parameter vector, so the difference is the cost of a function evaluation and
of what surrounds it; the iterations each takes are shown too, and the time per
iteration (the two draw different initial weights, so they do not stop after the same
number).

Run:  python benchmarks/lbfgs.py [--rounds 7] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

from sklearn import datasets
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet
from run import blas_threads

DATASETS = {
    "iris": datasets.load_iris,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


def fit(cls, X, y):
    pipe = make_pipeline(StandardScaler(), cls(solver="lbfgs", random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        pipe.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, pipe[-1].n_iter_, pipe.score(X, y)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The compiled path wherever it applies, its kernels loaded (as in a long-lived
    # process): not its per-fit choice, which leaves a short fit on the NumPy path.
    os.environ["GLASSNET_FAST"] = "1"
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args(argv)
    peers = {"scikit-learn": SkClassifier, "glassnet": glassnet.MLPClassifier}
    lines, goals = [], []
    for threads in [int(t) for t in args.threads.split(",")]:
        with blas_threads(threads):
            lines.append(f"L-BFGS, {threads} BLAS thread{'s' * (threads > 1)}")
            lines.append(
                f"  {'dataset':<14} {'peer':<13} {'fit ms':>9} {'iterations':>10} "
                f"{'ms/iter':>8} {'train acc':>9}"
            )
            for name, load in DATASETS.items():
                X, y = load(return_X_y=True)
                runs = {k: [] for k in peers}
                for r in range(args.rounds):
                    order = list(peers) if r % 2 == 0 else list(reversed(peers))
                    for key in order:
                        runs[key].append(fit(peers[key], X, y))
                med = {
                    k: (
                        statistics.median(s for s, _, _ in v),
                        v[0][1],
                        statistics.median(s / i for s, i, _ in v),
                        v[0][2],
                    )
                    for k, v in runs.items()
                }
                for key, (sec, iters, per_iter, acc) in med.items():
                    lines.append(
                        f"  {name:<14} {key:<13} {sec * 1e3:>9.1f} {iters:>10} "
                        f"{per_iter * 1e3:>8.2f} {acc:>9.4f}"
                    )
                speed = med["scikit-learn"][0] / med["glassnet"][0]
                per_iter = med["scikit-learn"][2] / med["glassnet"][2]
                lines.append(
                    f"  {'':<14} glassnet is {speed:.2f}x as fast per fit, "
                    f"{per_iter:.2f}x per iteration"
                )
                goals.append(
                    (f"L-BFGS: faster than scikit-learn on {name} ({threads} thread(s))", speed > 1)
                )
            lines.append("")
    print("\n".join(lines))
    print("goals:")
    for text, ok in goals:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
