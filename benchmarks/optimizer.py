"""The optimizer update alone: glassnet's fused Adam (and SGD) against its NumPy
reference and PyTorch's fused Adam, on flat float32 vectors of 1 and 3 million
parameters.

Each peer updates the same parameters from the same gradients for a fixed number of
steps; rounds are interleaved (run.interleaved) and the table shows medians per step
and ratios. The NumPy path is what glassnet does without the fast extra (and did
before it); PyTorch's is ``torch.optim.Adam(fused=True)`` (``SGD(foreach=False)``
for SGD, its plain loop being one in-place ``add_``).

Run:  python benchmarks/optimizer.py [--quick] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import glassnet as gn
from run import blas_threads, interleaved, table, torch

STEPS = 20


def peers(n: int, kind: str) -> dict:
    rng = np.random.default_rng(0)
    start = rng.normal(size=n).astype(np.float32)
    grads = rng.normal(size=n).astype(np.float32) * 1e-2

    def glassnet(compiled: bool):
        def make():
            params = start.copy()
            opt = gn.Adam(1e-3) if kind == "adam" else gn.SGD(1e-2)
            opt.prepare(params, n)
            update = opt.update
            if compiled:  # the compiled path's fused update, as a fit on it uses
                from glassnet.fast.steps import CompiledSteps

                net = gn.Network([gn.Dense(1)], input_size=n - 1).build(n - 1, np.float32)
                loss = gn.losses.get("mse")
                update = CompiledSteps(net, loss, opt, 0.0, False, 1, covered=False).update

            def run():
                for _ in range(STEPS):
                    update(params, grads, None)

            return run

        return make

    out = {"glassnet": glassnet(True), "glassnet, NumPy path": glassnet(False)}
    if torch is not None:

        def pytorch():
            p = torch.nn.Parameter(torch.from_numpy(start.copy()))
            p.grad = torch.from_numpy(grads.copy())
            opt = (
                torch.optim.Adam([p], lr=1e-3, fused=True)
                if kind == "adam"
                else torch.optim.SGD([p], lr=1e-2, foreach=False)
            )

            def run():
                for _ in range(STEPS):
                    opt.step()

            return run

        out["PyTorch" + (" fused Adam" if kind == "adam" else " SGD")] = pytorch
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", default="1,2", help="BLAS/PyTorch thread counts to run")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    lines = []
    if torch is None:
        lines.append("note: PyTorch is not installed: its rows are skipped")
    for threads in [int(t) for t in args.threads.split(",")]:
        with blas_threads(threads):
            for kind in ("adam", "sgd"):
                for n in (1_000_000, 3_000_000):
                    sec = interleaved(peers(n, kind), rounds)
                    lines += table(
                        f"{kind} update alone, {n / 1e6:g}M float32 parameters, "
                        f"{threads} thread{'s' * (threads > 1)} (time per step)",
                        {k: v / STEPS for k, v in sec.items()},
                        "ms",
                        1e3,
                    )
                    lines.append("")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
