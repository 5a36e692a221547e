"""The tabular encoder against scikit-learn's ColumnTransformer, rounds interleaved.

glassnet's FeatureEncoder (``fit_transform``: fit, then transform) against
``ColumnTransformer([("num", StandardScaler(), numeric), ("cat",
OneHotEncoder(sparse_output=False, handle_unknown="ignore"), categorical)])``
``.fit_transform`` on the same pandas DataFrame, both producing a dense float64
matrix. The outputs are checked to agree before timing. Reports each peer's median
and the ratio (scikit-learn's time / glassnet's).

    python benchmarks/encoding.py                 # 1 000 000 rows, 5 rounds
    python benchmarks/encoding.py --rows 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def make_frame(n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i, n) for i in range(4)})
    frame["city"] = rng.choice([f"city{i}" for i in range(50)], n).astype(object)
    frame["colour"] = rng.choice(["red", "green", "blue", "grey", "white"], n).astype(object)
    frame["size"] = rng.choice(["S", "M", "L", "XL"], n).astype(object)
    return frame


def glassnet_peer(frame):
    from glassnet.tabular.encoding import FeatureEncoder

    def run():
        X, _ = FeatureEncoder().fit_transform(frame)
        return X

    return run


def sklearn_peer(frame):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in frame.columns if c.startswith("x")]
    categorical = ["city", "colour", "size"]

    def run():
        ct = ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), categorical),
            ]
        )
        return ct.fit_transform(frame)

    return run


def check_same(a: np.ndarray, b: np.ndarray) -> None:
    """The same matrix up to the order of one-hot columns within each block."""
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.sort(a[:, 4:].sum(axis=0)), np.sort(b[:, 4:].sum(axis=0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    frame = make_frame(args.rows)
    peers = {"glassnet": glassnet_peer(frame), "scikit-learn": sklearn_peer(frame)}
    check_same(peers["glassnet"](), peers["scikit-learn"]())
    times: dict[str, list[float]] = {name: [] for name in peers}
    names = list(peers)
    for r in range(args.rounds):
        for name in names[r % 2 :] + names[: r % 2]:  # alternate who goes first
            time.sleep(0.2)
            started = time.perf_counter()
            peers[name]()
            times[name].append(time.perf_counter() - started)
    g = statistics.median(times["glassnet"])
    s = statistics.median(times["scikit-learn"])
    print(
        f"{args.rows} rows, 4 numeric + 3 categorical columns (59 one-hot), "
        f"median of {args.rounds} interleaved rounds"
    )
    print(f"  glassnet FeatureEncoder fit_transform: {g:.3f} s")
    print(f"  scikit-learn ColumnTransformer fit_transform: {s:.3f} s")
    print(
        f"  glassnet is {s / g:.2f}x faster" if g < s else f"  scikit-learn is {g / s:.2f}x faster"
    )


if __name__ == "__main__":
    main()
