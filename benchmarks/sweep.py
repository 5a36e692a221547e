"""Training speed across widths and batch sizes: glassnet against PyTorch and
scikit-learn in every cell.

A cell is a network of ``depth`` hidden ReLU layers of ``width`` units on 64 inputs,
softmax and cross-entropy over 10 classes, Adam 1e-3, trained for a fixed number of
steps of ``batch`` rows (each peer computes every batch's loss). Widths 16 to 1024,
batches 1 to 1024, depths 1 and 4, float32 and float64, each at 1 BLAS thread and 2
(PyTorch's intra-op threads follow). Rounds are interleaved (run.interleaved); the
table shows, per cell, glassnet's time per step and each peer's time as a ratio of
glassnet's (above 1: glassnet is faster), and lists the cells where a peer is more than
5% faster.

Run:  python benchmarks/sweep.py [--quick] [--threads 1,2] [--dtypes float32,float64]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

import glassnet as gn
from run import blas_threads, interleaved, sklearn, torch

if sklearn is not None:
    from sklearn.neural_network import MLPClassifier

N_IN, N_OUT = 64, 10
WIDTHS = (16, 64, 256, 1024)
BATCHES = (1, 16, 128, 1024)
DEPTHS = (1, 4)


def steps_for(width: int, batch: int, depth: int) -> int:
    """Enough steps for about 30 ms of work, at least 8."""
    flops = 6 * batch * (N_IN * width + (depth - 1) * width * width + width * N_OUT)
    return int(np.clip(3e8 / max(flops, 1) / 4, 8, 400))


def cell_peers(width: int, batch: int, depth: int, dtype) -> tuple[dict, int]:
    dtype = np.dtype(dtype)
    steps = max(steps_for(width, batch, depth), -(-N_OUT // batch))  # every class seen
    n = steps * batch
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, N_IN)).astype(dtype)
    labels = rng.integers(0, N_OUT, size=n)
    labels[:N_OUT] = np.arange(N_OUT)  # every class present, for scikit-learn
    hidden = (width,) * depth

    def glassnet():
        net = gn.Network(
            [gn.Dense(width, "relu") for _ in hidden] + [gn.Dense(N_OUT, "softmax")], seed=0
        ).build(N_IN, dtype)
        opt = gn.Adam(1e-3)
        return lambda: net.fit(
            X, labels, loss="cross_entropy", optimizer=opt, batch_size=batch, shuffle=False
        )

    peers = {"glassnet": glassnet}
    if torch is not None:

        def pytorch():
            layers = []
            n_in = N_IN
            for units in hidden:
                layers += [torch.nn.Linear(n_in, units), torch.nn.ReLU()]
                n_in = units
            model = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, N_OUT))
            if dtype == np.float64:
                model = model.double()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)

            def run():
                for s in range(0, n, batch):
                    opt.zero_grad()
                    loss = torch.nn.functional.cross_entropy(
                        model(Xt[s : s + batch]), yt[s : s + batch]
                    )
                    loss.backward()
                    opt.step()
                    loss.item()

            return run

        peers["PyTorch"] = pytorch
    if sklearn is not None:

        def scikit():
            est = MLPClassifier(
                hidden_layer_sizes=hidden,
                batch_size=batch,
                max_iter=1,
                shuffle=False,
                tol=0.0,
                n_iter_no_change=10**9,
                random_state=0,
            )

            def run():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X, labels)

            return run

        peers["scikit-learn"] = scikit
    return peers, steps


def sweep(threads: int, dtypes, rounds: int, widths, batches, depths) -> list[dict]:
    rows = []
    with blas_threads(threads):
        for dtype in dtypes:
            for depth in depths:
                for width in widths:
                    for batch in batches:
                        peers, steps = cell_peers(width, batch, depth, dtype)
                        sec = interleaved(peers, rounds, pause=0.05)
                        rows.append(
                            {
                                "threads": threads,
                                "dtype": np.dtype(dtype).name,
                                "depth": depth,
                                "width": width,
                                "batch": batch,
                                "step_us": sec["glassnet"] / steps * 1e6,
                                "ratios": {
                                    p: s / sec["glassnet"]
                                    for p, s in sec.items()
                                    if p != "glassnet"
                                },
                            }
                        )
    return rows


def report(rows) -> list[str]:
    lines = []
    key = None
    behind = []
    for row in rows:
        head = (row["threads"], row["dtype"], row["depth"])
        if head != key:
            key = head
            peers = list(row["ratios"])
            lines.append(
                f"{row['dtype']}, depth {row['depth']}, {row['threads']} thread"
                f"{'s' * (row['threads'] > 1)}: glassnet us/step, then "
                + ", ".join(f"{p} time / glassnet time" for p in peers)
            )
            lines.append(
                f"  {'width':>5} {'batch':>5} {'glassnet':>10} "
                + " ".join(f"{p:>13}" for p in peers)
            )
        cells = " ".join(f"{row['ratios'][p]:>13.2f}" for p in row["ratios"])
        lines.append(f"  {row['width']:>5} {row['batch']:>5} {row['step_us']:>10.1f} {cells}")
        for p, r in row["ratios"].items():
            if r < 1 / 1.05:
                behind.append(
                    f"  {p} {1 / r:.2f}x faster: {row['dtype']}, depth {row['depth']}, "
                    f"width {row['width']}, batch {row['batch']}, {row['threads']} thread(s)"
                )
    lines.append("cells where a peer is more than 5% faster than glassnet:")
    lines += behind or ["  none"]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The compiled path wherever it applies, its kernels loaded (as in a long-lived
    # process): not its per-fit choice, which leaves a short fit on the NumPy path.
    os.environ["GLASSNET_FAST"] = "1"
    parser.add_argument("--quick", action="store_true", help="fewer rounds and cells")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dtypes", default="float32,float64")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 5
    widths, batches, depths = WIDTHS, BATCHES, DEPTHS
    if args.quick:
        widths, batches = (16, 1024), (1, 128)
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        rows += sweep(threads, args.dtypes.split(","), rounds, widths, batches, depths)
    notes = []
    if torch is None:
        notes.append("note: PyTorch is not installed: its columns are skipped")
    if sklearn is None:
        notes.append("note: scikit-learn is not installed: its columns are skipped")
    print("\n".join(notes + report(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
