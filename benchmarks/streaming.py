"""Peak memory and accuracy of streamed training (``glassnet train --stream``) against
training in memory, on a generated CSV of several million rows.

The data: 12 columns, eight numbers, three categories (4, 12 and 40 values) and a class
of three values that depends on them non-linearly, with 10% label noise. A held-out file
of 200 000 rows from the same source measures each model (``glassnet evaluate --json``).

Each command runs in a subprocess and its peak resident memory is that child's
``ru_maxrss`` (``os.wait4``, as ``tabular_limits.py`` measures). The streamed run is
repeated on a file twice as long: its peak must not move, and must stay under the bound
that the chunk, buffer and validation sizes set (``glassnet.tabular.streaming.
memory_bound`` plus the size of the process before it reads any data).

    python benchmarks/streaming.py                    # 3 000 000 rows, then 6 000 000
    python benchmarks/streaming.py --rows 500000 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tabular_limits import measure  # noqa: E402

CHUNK_ROWS = 65_536
BUFFER_ROWS = 65_536
VALIDATION_ROWS = 100_000


def write_rows(path: str, n: int, seed: int) -> None:
    """Write the data file in a subprocess (pandas would grow this process)."""
    subprocess.run([sys.executable, __file__, "--write", path, str(n), str(seed)], check=True)


def _write_rows(path: str, n: int, seed: int) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed)
    towns = np.array([f"town{i}" for i in range(12)])
    shops = np.array([f"s{i:02d}" for i in range(40)])
    town_effect = np.linspace(-1, 1, 12)
    shop_effect = np.random.default_rng(99).normal(0, 0.5, 40)  # the same in every file
    block = 250_000
    with open(path, "w") as f:
        for start in range(0, n, block):
            m = min(block, n - start)
            x = rng.normal(size=(m, 8))
            kind = rng.integers(0, 4, m)
            town = rng.integers(0, 12, m)
            shop = rng.integers(0, 40, m)
            score = (
                x[:, 0] * x[:, 1]
                + np.sin(2 * x[:, 2])
                + 0.5 * x[:, 3]
                - 0.3 * x[:, 4] ** 2
                + (kind == 2) * 0.8
                + town_effect[town]
                + shop_effect[shop]
            )
            label = np.where(score > 0.5, "high", np.where(score > -0.5, "mid", "low"))
            noise = rng.random(m) < 0.1
            label[noise] = rng.choice(["high", "mid", "low"], int(noise.sum()))
            frame = pd.DataFrame({f"x{i}": x[:, i].round(4) for i in range(8)})
            frame["kind"] = np.array(list("abcd"))[kind]
            frame["town"] = towns[town]
            frame["shop"] = shops[shop]
            frame["label"] = label
            frame.to_csv(f, index=False, header=start == 0)


def train(data: str, out: str, epochs: int, stream: bool) -> tuple[float, float]:
    args = ["train", data, "--target", "label", "--epochs", str(epochs), "--batch-size", "128"]
    args += ["--out", out, "--quiet"]
    if stream:
        args += ["--stream", "--chunk-rows", str(CHUNK_ROWS), "--buffer-rows", str(BUFFER_ROWS)]
    seconds, peak, status, last = measure(args)
    if status != 0:
        raise SystemExit(f"glassnet {' '.join(args)} failed: {last}")
    return seconds, peak


def accuracy(model: str, data: str) -> float:
    result = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "evaluate", model, data, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["accuracy"]


def baseline_mib(folder: str) -> float:
    """Peak memory of streamed training on 2 000 rows: Python, NumPy, pandas, pyarrow and
    glassnet loaded, and next to no data."""
    tiny = os.path.join(folder, "tiny.csv")
    write_rows(tiny, 2_000, 3)
    return train(tiny, os.path.join(folder, "tiny.glassnet"), 1, True)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-double", action="store_true", help="skip the file twice as long")
    args = parser.parse_args()

    from glassnet.tabular.streaming import memory_bound

    with tempfile.TemporaryDirectory() as folder:
        big, test = os.path.join(folder, "big.csv"), os.path.join(folder, "test.csv")
        write_rows(big, args.rows, 0)
        write_rows(test, 200_000, 1)
        size = os.path.getsize(big) / 2**20
        print(f"{args.rows} rows x 12 columns, {size:.0f} MiB of CSV; {args.epochs} epochs")
        # 8 numbers + 4 + 12 + 40 one-hot columns; 12 raw columns
        bound = memory_bound(64, 12, CHUNK_ROWS, BUFFER_ROWS, VALIDATION_ROWS) / 2**20
        base = baseline_mib(folder)
        print(
            f"bound for streaming: {base:.0f} MiB (streaming 2 000 rows) + "
            f"{bound:.0f} MiB (chunk {CHUNK_ROWS}, buffer {BUFFER_ROWS}, validation "
            f"{VALIDATION_ROWS} rows, 64 encoded columns) = {base + bound:.0f} MiB"
        )
        rows = []
        for name, stream in (("in memory", False), ("--stream", True)):
            model = os.path.join(folder, f"{'s' if stream else 'm'}.glassnet")
            seconds, peak = train(big, model, args.epochs, stream)
            rows.append((name, args.rows, seconds, peak, accuracy(model, test)))
        if not args.no_double:
            double = os.path.join(folder, "double.csv")
            write_rows(double, 2 * args.rows, 2)
            os.remove(big)
            model = os.path.join(folder, "d.glassnet")
            seconds, peak = train(double, model, args.epochs, True)
            rows.append(("--stream", 2 * args.rows, seconds, peak, accuracy(model, test)))
        print(f"{'training':<10} {'rows':>9} {'seconds':>8} {'peak MiB':>9} {'accuracy':>9}")
        for name, n, seconds, peak, acc in rows:
            print(f"{name:<10} {n:>9} {seconds:>8.0f} {peak:>9.0f} {acc:>9.4f}")
        streamed = [peak for name, _, _, peak, _ in rows if name == "--stream"]
        verdict = "under" if max(streamed) <= base + bound else "OVER"
        print(f"streamed peak {max(streamed):.0f} MiB: {verdict} the bound {base + bound:.0f} MiB")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--write":
        _write_rows(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
