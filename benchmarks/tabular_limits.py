"""Time and peak memory of the real glassnet command on the tabular limits.

Each case runs ``glassnet`` in a subprocess and reads the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``) and its wall time. A child's ``ru_maxrss`` starts from
its parent's size at the fork, so this script stays small: it writes the data files in
subprocesses of their own, and imports nothing but NumPy.

- id column: a 0.8 MB CSV with an identifier of 20 000 values, each twice, plus a
  number and a class; ``train`` must finish (train or refuse) in under 10 s and 1 GiB.
- predict: a model applied to 2 000 000 rows (CSV in, CSV out); peak memory must stay
  under 300 MiB, and about the same as for 200 000 rows (memory does not grow with rows).
- evaluate: the same 2 000 000 rows measured.

    python benchmarks/tabular_limits.py              # writes its files in a temporary folder
    python benchmarks/tabular_limits.py --rows 500000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def measure(args: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak MiB, exit status, last line of stderr) of one glassnet command."""
    command = [sys.executable, "-m", "glassnet.cli", *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return seconds, usage.ru_maxrss / 1024, process.returncode, last


def write_rows(path: str, n: int, seed: int = 0) -> None:
    """Write the data file in a subprocess (pandas would grow this process)."""
    subprocess.run([sys.executable, __file__, "--write", path, str(n), str(seed)], check=True)


def _write_rows(path: str, n: int, seed: int) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed)
    block = 500_000
    with open(path, "w") as f:
        for start in range(0, n, block):
            m = min(block, n - start)
            x = rng.normal(size=m)
            frame = pd.DataFrame(
                {
                    "x": x.round(5),
                    "z": rng.normal(size=m).round(5),
                    "kind": rng.choice(["a", "b", "c", "NA"], m),
                    "day": np.datetime_as_string(
                        np.datetime64("2015-01-01") + rng.integers(0, 2000, m).astype("m8[D]")
                    ),
                    "y": np.where(x > 0, "high", "low"),
                }
            )
            frame.to_csv(f, index=False, header=start == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument(
        "--write", nargs=3, metavar=("PATH", "ROWS", "SEED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.write:
        _write_rows(args.write[0], int(args.write[1]), int(args.write[2]))
        return
    folder = tempfile.mkdtemp(prefix="glassnet-limits-")
    rng = np.random.default_rng(0)

    ids = os.path.join(folder, "ids.csv")
    with open(ids, "w") as f:
        f.write("id,x,y\n")
        for i in range(40_000):
            f.write(f"user{i // 2:05d},{rng.normal():.4f},{'ab'[rng.integers(2)]}\n")
    size = os.path.getsize(ids) / 1e6
    seconds, mib, status, last = measure(
        ["train", ids, "--target", "y", "--quiet", "--out", os.path.join(folder, "ids.glassnet")]
    )
    print(
        f"id column ({size:.1f} MB, 20 000 values each twice): train exit {status} in "
        f"{seconds:.1f} s, peak {mib:.0f} MiB"
    )
    print(f"  {last}")
    seconds, mib, status, last = measure(
        [
            "train",
            ids,
            "--target",
            "y",
            "--quiet",
            "--max-categories",
            "100",
            "--out",
            os.path.join(folder, "ids.glassnet"),
        ]
    )
    print(f"  with --max-categories 100: exit {status} in {seconds:.1f} s, peak {mib:.0f} MiB")

    small = os.path.join(folder, "train.csv")
    write_rows(small, 5_000, seed=1)
    model = os.path.join(folder, "m.glassnet")
    seconds, mib, status, _ = measure(
        ["train", small, "--target", "y", "--quiet", "--epochs", "20", "--out", model]
    )
    assert status == 0, "training the model for the prediction cases failed"
    for n in (args.rows // 10, args.rows):
        data = os.path.join(folder, f"rows{n}.csv")
        write_rows(data, n, seed=2)
        out = os.path.join(folder, "preds.csv")
        seconds, mib, status, _ = measure(["predict", model, data, "--proba", "--out", out])
        print(f"predict {n} rows: exit {status} in {seconds:.1f} s, peak {mib:.0f} MiB")
        seconds, mib, status, _ = measure(["evaluate", model, data])
        print(f"evaluate {n} rows: exit {status} in {seconds:.1f} s, peak {mib:.0f} MiB")
        os.unlink(data)
    print(f"(files in {folder})")


if __name__ == "__main__":
    main()
