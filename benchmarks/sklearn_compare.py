"""glassnet's MLPClassifier/MLPRegressor against scikit-learn's, at default parameters.

For each of scikit-learn's bundled datasets (digits, breast_cancer, wine, iris,
diabetes), both estimators are fitted inside a StandardScaler pipeline with the
same random_state, on five stratified train/test splits. The script prints the
mean test score (accuracy, or R^2 for diabetes), the fit time of each, and the
size of each fitted estimator's pickle.

Timing: for every split the two fits run back to back, the order alternating
between rounds, so both see the same machine state; the speed-up is the median
of these paired ratios (robust to load that comes and goes on a shared
machine). Iteration counts are shown too: both estimators stop on the same
tolerance rule, so a speed-up is per-epoch speed and (sometimes) a different
number of epochs; the per-epoch ratio is reported separately.

Run:  python benchmarks/sklearn_compare.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet

DATASETS = {
    "digits": (datasets.load_digits, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "iris": (datasets.load_iris, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
SPEED_GOALS = {"digits": 2.0, "breast_cancer": 2.0}  # glassnet at least 2x faster
SCORE_GOAL = 0.01  # classification: within 1 point of accuracy


def fit_once(estimator_cls, X_train, y_train, seed):
    pipe = make_pipeline(StandardScaler(), estimator_cls(random_state=seed))
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    return pipe, time.perf_counter() - start


def run(name: str, rounds: int) -> dict:
    loader, task = DATASETS[name]
    X, y = loader(return_X_y=True)
    splitter = (StratifiedShuffleSplit if task == "classification" else ShuffleSplit)(
        n_splits=5, test_size=0.25, random_state=0
    )
    peers = (
        {"scikit-learn": SkClassifier, "glassnet": glassnet.MLPClassifier}
        if task == "classification"
        else {"scikit-learn": SkRegressor, "glassnet": glassnet.MLPRegressor}
    )
    scores = {k: [] for k in peers}
    times = {k: [] for k in peers}
    epochs = {k: [] for k in peers}
    pickles = {k: [] for k in peers}
    ratios = []
    for split, (train, test) in enumerate(splitter.split(X, y)):
        for r in range(rounds):
            order = list(peers) if (split + r) % 2 == 0 else list(reversed(peers))
            pair = {}
            for key in order:
                pipe, seconds = fit_once(peers[key], X[train], y[train], split)
                times[key].append(seconds)
                pair[key] = seconds
                if r == 0:
                    scores[key].append(pipe.score(X[test], y[test]))
                    epochs[key].append(pipe[-1].n_iter_)
                    pickles[key].append(len(pickle.dumps(pipe[-1])))
            ratios.append(pair["scikit-learn"] / pair["glassnet"])
    sk_t, gn_t = statistics.median(times["scikit-learn"]), statistics.median(times["glassnet"])
    sk_e, gn_e = np.mean(epochs["scikit-learn"]), np.mean(epochs["glassnet"])
    return {
        "dataset": name,
        "task": task,
        "score_sklearn": float(np.mean(scores["scikit-learn"])),
        "score_glassnet": float(np.mean(scores["glassnet"])),
        "fit_sklearn": sk_t,
        "fit_glassnet": gn_t,
        "speedup": statistics.median(ratios),
        "epochs_sklearn": sk_e,
        "epochs_glassnet": gn_e,
        "per_epoch_speedup": (sk_t / sk_e) / (gn_t / gn_e),
        "pickle_ratio": float(np.mean(pickles["glassnet"]) / np.mean(pickles["scikit-learn"])),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed fits per split and peer")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    rows = [run(name, args.rounds) for name in args.datasets.split(",")]
    header = (
        f"{'dataset':<14} {'metric':<8} {'scikit-learn':>12} {'glassnet':>9} {'diff':>7}  "
        f"{'fit sklearn':>11} {'fit glassnet':>12} {'speed-up':>8}  {'epochs sk/gn':>13}  "
        f"{'per-epoch':>9}  {'pickle gn/sk':>12}"
    )
    print(header)
    print("-" * len(header))
    failures = []
    for r in rows:
        metric = "accuracy" if r["task"] == "classification" else "R^2"
        diff = r["score_glassnet"] - r["score_sklearn"]
        print(
            f"{r['dataset']:<14} {metric:<8} {r['score_sklearn']:>12.4f}"
            f" {r['score_glassnet']:>9.4f} {diff:>+7.4f}"
            f"  {1e3 * r['fit_sklearn']:>9.0f}ms {1e3 * r['fit_glassnet']:>10.0f}ms"
            f" {r['speedup']:>7.2f}x  {r['epochs_sklearn']:>6.0f}/{r['epochs_glassnet']:<6.0f}"
            f"  {r['per_epoch_speedup']:>8.2f}x  {r['pickle_ratio']:>11.2f}x"
        )
        if r["pickle_ratio"] > 1:
            failures.append(f"{r['dataset']}: the pickle is {r['pickle_ratio']:.2f}x larger")
        if r["task"] == "classification" and diff < -SCORE_GOAL:
            failures.append(f"{r['dataset']}: glassnet's accuracy is {-diff:.4f} below")
        goal = SPEED_GOALS.get(r["dataset"])
        if goal and r["speedup"] < goal:
            failures.append(f"{r['dataset']}: speed-up {r['speedup']:.2f}x is under {goal}x")
    print()
    print(
        f"mean test score over 5 stratified splits (test size 0.25); fit time: median of "
        f"{5 * args.rounds} interleaved fits; speed-up: median of the {5 * args.rounds} "
        f"back-to-back pairs' ratios; numpy {np.__version__}, "
        f"glassnet {glassnet.__version__}"
    )
    if failures:
        print("goals missed: " + "; ".join(failures))
        return 1
    print(
        "goals met: classification scores within 1 point, at least 2x faster on digits and "
        "breast_cancer, pickles no larger than scikit-learn's"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
