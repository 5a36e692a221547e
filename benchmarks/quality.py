"""Quality of glassnet's default recipe against the MLPs and trees practitioners use.

On public datasets that install with Python packages (scikit-learn's bundled sets,
statsmodels, vega_datasets, palmerpenguins) and generated ones of 100 000 rows, each
split 80/20 (stratified for classification) with fixed seeds, it fits:

- ``glassnet``: ``TabularModel.fit(train, target)`` with its defaults, on the raw table;
- ``scikit-learn MLP``: ``MLPClassifier`` / ``MLPRegressor`` at their defaults in the
  standard pipeline (median imputation, standardised numbers, one-hot categories;
  the regressor's target standardised);
- ``HistGradientBoosting``: scikit-learn's, at its defaults, categories native;
- ``RealMLP-TD``: ``pytabkit``'s tuned defaults (Holzmueller et al., 2024), when pytabkit
  and PyTorch are installed (``pip install pytabkit torch``), on the CPU.

and reports the test accuracy (classification) or R² (regression) as the mean over the
seeds, their spread (max - min), and the training time of each, every library on one
CPU thread. Results go to a JSON file too; ``--reuse FILE`` skips the peers' fits already
in it (RealMLP-TD takes minutes a fit).

Run:  python benchmarks/quality.py [--quick] [--datasets fair,penguins] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one CPU thread for every library, before they load

import numpy as np  # noqa: E402  (after the thread settings, which it reads as it loads)
import pandas as pd  # noqa: E402

import glassnet as gn  # noqa: E402


@dataclass
class Dataset:
    name: str
    load: Callable[[], pd.DataFrame]
    target: str
    task: str  # "classification" or "regression"
    seeds: int = 5
    source: str = ""


# --- the datasets ---------------------------------------------------------------------------


def _sklearn(loader, target="target", classes=False):
    def load():
        from sklearn import datasets

        bunch = getattr(datasets, loader)(as_frame=True)
        frame = bunch.frame.copy()
        if classes:
            frame[target] = frame[target].map(lambda v: f"c{v}")
        return frame

    return load


def _statsmodels(name, prepare):
    def load():
        import statsmodels.api as sm

        return prepare(getattr(sm.datasets, name).load_pandas().data.copy())

    return load


def _vega(name, prepare):
    def load():
        from vega_datasets import local_data

        return prepare(getattr(local_data, name.replace("-", "_"))())

    return load


def _fair(frame):
    frame["affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    return frame


def _randhie(frame):
    frame["visits"] = np.where(frame.pop("mdvis") > 0, "some", "none")
    return frame


def _temps(frame):
    frame = frame.rename(columns={"date": "when"})
    return frame[["when", "temp"]]


def _seattle_weather(frame):
    return frame.rename(columns={"date": "day"})


def _cars(frame):
    frame = frame.drop(columns=["Name"]).dropna()  # RealMLP-TD refuses missing numbers
    return frame.rename(columns={"Year": "year"})


def _star98(frame):
    above, below = frame.pop("NABOVE"), frame.pop("NBELOW")
    frame["above"] = above / (above + below)  # the share of pupils above the median
    return frame


def _penguins():
    import palmerpenguins

    return palmerpenguins.load_penguins().dropna()  # RealMLP-TD refuses missing numbers


def _generated_classification():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=100_000,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        flip_y=0.05,
        class_sep=0.8,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    rng = np.random.default_rng(0)
    # a categorical column whose level shifts the class odds
    levels = rng.integers(0, 30, len(frame))
    frame["group"] = [f"g{v}" for v in levels]
    flip = rng.random(len(frame)) < (levels % 5) * 0.03
    frame["label"] = np.where(flip, 1 - y, y)
    return frame


def _generated_regression():
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=100_000, n_features=10, noise=1.0, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    frame["y"] = y
    return frame


def _anes96(frame):
    return frame.assign(vote=frame["vote"].map({0.0: "clinton", 1.0: "dole"}))


C, R = "classification", "regression"
DATASETS = [
    Dataset("fair", _statsmodels("fair", _fair), "affair", C, 3, "statsmodels"),
    Dataset("randhie", _statsmodels("randhie", _randhie), "visits", C, 3, "statsmodels"),
    Dataset("seattle-temps", _vega("seattle-temps", _temps), "temp", R, 3, "vega_datasets"),
    Dataset("sf-temps", _vega("sf-temps", _temps), "temp", R, 3, "vega_datasets"),
    Dataset("classification-100k", _generated_classification, "label", C, 1, "generated"),
    Dataset("friedman1-100k", _generated_regression, "y", R, 1, "generated"),
    Dataset("seattle-weather", _vega("seattle-weather", _seattle_weather), "weather", C, 5, "vega"),
    Dataset("digits", _sklearn("load_digits", classes=True), "target", C, 5, "scikit-learn"),
    Dataset("anes96", _statsmodels("anes96", _anes96), "vote", C, 5, "statsmodels"),
    Dataset("breast-cancer", _sklearn("load_breast_cancer", True), "target", C, 5, "scikit-learn"),
    Dataset("cars", _vega("cars", _cars), "Miles_per_Gallon", R, 5, "vega_datasets"),
    Dataset("diabetes", _sklearn("load_diabetes"), "target", R, 5, "scikit-learn"),
    Dataset("penguins", _penguins, "species", C, 5, "palmerpenguins"),
    Dataset("star98", _statsmodels("star98", _star98), "above", R, 5, "statsmodels"),
]


# --- splitting and scoring ------------------------------------------------------------------


def split(frame: pd.DataFrame, data: Dataset, seed: int):
    from sklearn.model_selection import train_test_split

    stratify = frame[data.target] if data.task == "classification" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def score(task: str, truth, predicted) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classification":
        return float(
            accuracy_score(np.asarray(truth).astype(str), np.asarray(predicted).astype(str))
        )
    return float(r2_score(np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)))


def _features(frame: pd.DataFrame, target: str):
    X = frame.drop(columns=[target])
    for name in X.columns:  # dates as numbers for the peers that need numbers
        if pd.api.types.is_datetime64_any_dtype(X[name]) or (
            X[name].dtype == object and _looks_like_dates(X[name])
        ):
            when = pd.to_datetime(X[name])
            X[f"{name}_dayofyear"] = when.dt.dayofyear
            X[f"{name}_hour"] = when.dt.hour
            X[f"{name}_year"] = when.dt.year
            X = X.drop(columns=[name])
    return X


def _looks_like_dates(column) -> bool:
    sample = column.dropna().astype(str).head(20)
    try:
        pd.to_datetime(sample)
    except (ValueError, TypeError):
        return False
    return len(sample) > 0


# --- the peers ------------------------------------------------------------------------------


def fit_glassnet(train, test, data: Dataset, seed: int):
    # glassnet refuses missing values unless told to impute; the peers impute on their own
    impute = bool(train.drop(columns=[data.target]).isna().any().any())
    model = gn.TabularModel.fit(train, data.target, seed=seed, impute=impute)
    if isinstance(model, tuple):  # (model, history), as older versions return
        model = model[0]
    return model.predict(test)


def _sklearn_pipeline(train, estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    other = [c for c in train.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                other,
            ),
        ]
    )
    return make_pipeline(prep, estimator)


def fit_sklearn_mlp(train, test, data: Dataset, seed: int):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    X, Xt = _features(train, data.target), _features(test, data.target)
    if data.task == "classification":
        model = _sklearn_pipeline(X, MLPClassifier(random_state=seed))
    else:
        model = TransformedTargetRegressor(
            _sklearn_pipeline(X, MLPRegressor(random_state=seed)), transformer=StandardScaler()
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, train[data.target])
    return model.predict(Xt)


def fit_hgb(train, test, data: Dataset, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X, Xt = _features(train, data.target), _features(test, data.target)
    for name in X.columns:
        if not pd.api.types.is_numeric_dtype(X[name]):
            X[name] = X[name].astype("category")
            Xt[name] = pd.Categorical(Xt[name], categories=X[name].cat.categories)
    cls = (
        HistGradientBoostingClassifier
        if data.task == "classification"
        else HistGradientBoostingRegressor
    )
    model = cls(random_state=seed, categorical_features="from_dtype")
    model.fit(X, train[data.target])
    return model.predict(Xt)


def fit_realmlp(train, test, data: Dataset, seed: int):
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    torch.set_num_threads(1)
    X, Xt = _features(train, data.target), _features(test, data.target)
    for name in X.columns:
        if not pd.api.types.is_numeric_dtype(X[name]):
            X[name] = X[name].astype(str).astype("category")
            Xt[name] = pd.Categorical(Xt[name].astype(str), categories=X[name].cat.categories)
    cls = RealMLP_TD_Classifier if data.task == "classification" else RealMLP_TD_Regressor
    model = cls(device="cpu", random_state=seed, n_threads=1, verbosity=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, train[data.target].to_numpy())
    return model.predict(Xt)


def _realmlp_installed() -> bool:
    try:
        import pytabkit  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


PEERS = {
    "glassnet": fit_glassnet,
    "scikit-learn MLP": fit_sklearn_mlp,
    "HistGradientBoosting": fit_hgb,
    "RealMLP-TD": fit_realmlp,
}


# --- running and reporting ------------------------------------------------------------------


def run(datasets, peers, seeds_cap: int | None, reuse: dict, save=None, fits=None) -> dict:
    """Each peer's fits on each dataset, kept from ``reuse`` when it has them all;
    only the peers in ``fits`` (default: all) are fitted."""
    results = dict(reuse)
    for data in datasets:
        frame = data.load()
        n_seeds = data.seeds if seeds_cap is None else min(seeds_cap, data.seeds)
        for peer in peers:
            key = f"{data.name} | {peer}"
            done = results.get(key, {"scores": [], "seconds": []})
            if peer != "glassnet" and len(done["scores"]) >= n_seeds:
                continue
            if fits is not None and peer not in fits:
                continue
            done = {"scores": [], "seconds": []}
            for seed in range(n_seeds):
                train, test = split(frame, data, seed)
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    predicted = PEERS[peer](train, test, data, seed)
                seconds = time.perf_counter() - started
                done["scores"].append(score(data.task, test[data.target], predicted))
                done["seconds"].append(seconds)
                print(
                    f"  {data.name:<20} {peer:<20} seed {seed}: "
                    f"{done['scores'][-1]:.4f} in {seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
            done.update(rows=len(frame), test_rows=len(frame) - len(train), task=data.task)
            results[key] = done
            if save is not None:
                save(results)
    return results


def table(results: dict, datasets, peers) -> list[str]:
    metric = {"classification": "accuracy", "regression": "R²"}
    header = "| dataset | rows | metric | " + " | ".join(peers) + " |"
    lines = [header, "|" + "---|" * (3 + len(peers))]
    for data in datasets:
        cells = []
        rows = None
        for peer in peers:
            r = results.get(f"{data.name} | {peer}")
            if not r or not r["scores"]:
                cells.append("-")
                continue
            rows = r["rows"]
            mean = statistics.mean(r["scores"])
            spread = max(r["scores"]) - min(r["scores"])
            cells.append(
                f"{mean:.4f} ±{spread / 2:.3f} ({sum(r['seconds']) / len(r['seconds']):.1f} s)"
            )
        lines.append(f"| {data.name} | {rows} | {metric[data.task]} | " + " | ".join(cells) + " |")
    return lines


def summary(results: dict, datasets, peers) -> list[str]:
    """Median differences to glassnet, and total training time, per peer."""
    out = []
    for peer in peers:
        if peer == "glassnet":
            continue
        diffs, big, seconds, g_time = [], [], 0.0, 0.0  # times over the datasets both ran
        for d in datasets:
            g, p = results.get(f"{d.name} | glassnet"), results.get(f"{d.name} | {peer}")
            if not (g and p and g["scores"] and p["scores"]):
                continue
            diff = statistics.mean(g["scores"]) - statistics.mean(p["scores"])
            diffs.append(diff)
            if g["test_rows"] >= 500:
                big.append(diff)
            seconds += sum(p["seconds"])
            g_time += sum(g["seconds"])
        if not diffs:
            continue
        line = (
            f"glassnet - {peer}: median {statistics.median(diffs):+.4f} over {len(diffs)} "
            f"datasets (min {min(diffs):+.4f})"
        )
        if big:
            line += (
                f"; on the {len(big)} with 500+ test rows: "
                f"median {statistics.median(big):+.4f}, min {min(big):+.4f}"
            )
        if seconds:
            ratio = seconds / max(g_time, 1e-9)
            line += f"; time: glassnet {g_time:.0f} s, {peer} {seconds:.0f} s ({ratio:.1f}x)"
        out.append(line)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", help="comma-separated names (default: all)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers")
    parser.add_argument("--quick", action="store_true", help="one seed per dataset")
    parser.add_argument("--json", metavar="FILE", help="write the results here")
    parser.add_argument("--reuse", metavar="FILE", help="keep the peers' results from this file")
    args = parser.parse_args(argv)
    datasets = DATASETS
    if args.datasets:
        wanted = args.datasets.split(",")
        datasets = [d for d in DATASETS if d.name in wanted]
    peers = [p for p in args.peers.split(",") if p in PEERS]
    reuse = {}
    if args.reuse and os.path.exists(args.reuse):
        with open(args.reuse) as f:
            reuse = json.load(f)
    fits = list(peers)
    if "RealMLP-TD" in peers and not _realmlp_installed():
        # its results from --reuse are still reported, beside fits made here
        note = "note: pytabkit or PyTorch is not installed: RealMLP-TD is not fitted"
        print(note, file=sys.stderr)
        fits.remove("RealMLP-TD")
        if not any(key.endswith("| RealMLP-TD") for key in reuse):
            peers.remove("RealMLP-TD")

    def save(results):
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)

    results = run(datasets, peers, 1 if args.quick else None, reuse, save, fits)
    print("\n".join(table(results, datasets, peers)))
    print()
    print("\n".join(summary(results, datasets, peers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
