"""Scaling: glassnet.dask training throughput against the number of workers.

Two local clusters run side by side, one with 1 worker and one with 2 (worker
processes with one thread each), next to the same work in memory in this process
(held to one BLAS thread, as each worker is). The rounds are interleaved: in every
round each configuration runs once, the order rotating, so all of them see the same
machine. Reported: medians, throughput and ratios, the round-trip latency of each
cluster, and how loaded the machine was (load average before, during and after).

Cases:
  lbfgs      L-BFGS loss-and-gradient evaluations per second, for a small and a large
             data set (20 000 and 200 000 rows of 32 features, 32-64-64-2, 6.4k
             parameters) and for a wide network (20 000 rows, 32-1024-1024-2, 1.1M)
  epoch      one epoch of Adam, batch 256 and 4096, 100 000 rows: samples per second
             for "average" (parameter averaging) and "sync" (synchronous gradients)
  accuracy   Adam and SGD with momentum, batch 256, 8 epochs on 50 000 rows (2 workers):
             held-out accuracy and time per epoch, against in-memory training

Run:  python benchmarks/scaling.py [--quick] [--cases lbfgs,epoch,accuracy] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import dask.array as da
import distributed
import numpy as np
from threadpoolctl import threadpool_limits

import glassnet as gn
from glassnet.dask import fitting
from glassnet.dask import shards as _shards

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import interleaved  # noqa: E402  (the suite's interleaved rounds)

FEATURES = 32
LOADS: list[tuple[str, tuple[float, float, float]]] = []


def load(when: str) -> None:
    LOADS.append((when, os.getloadavg()))


def network(hidden=(64, 64), seed=0) -> gn.Network:
    layers = [gn.Dense(h, "tanh") for h in hidden] + [gn.Dense(2, "softmax")]
    return gn.Network(layers, seed=seed)


def dataset(n: int, partitions: int, seed: int = 0):
    """X ~ N(0, 1) and labels from a fixed random teacher network, generated where the
    partitions live (the same values on every cluster)."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, FEATURES), chunks=(-(-n // partitions), FEATURES))
    teacher = np.random.default_rng(seed + 1)
    W1, w2 = teacher.normal(size=(FEATURES, 16)) / np.sqrt(FEATURES), teacher.normal(size=16)
    y = (da.tanh(X @ W1) @ w2 > 0).astype(np.int64)
    return X, y


def round_trip(client, repeat: int = 20) -> float:
    """Median seconds of one task submitted and its result gathered."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.submit(len, [1], pure=False).result()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_flops(net: gn.Network) -> float:
    """Floating-point operations per sample of one forward and backward pass (the
    matrix products: 2 per weight forward, 4 backward)."""
    return 6.0 * net.n_weights


class Clusters:
    """The 1-worker and 2-worker clusters, each with its own Client."""

    def __init__(self):
        self.clients = {}
        for workers in (1, 2):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.clients[workers] = distributed.Client(cluster, set_as_default=False)

    def close(self):
        for client in self.clients.values():
            cluster = client.cluster
            client.close()
            cluster.close()


# -- L-BFGS evaluations ------------------------------------------------------------------------


def lbfgs_case(clusters: Clusters, n: int, hidden, evals: int, rounds: int) -> dict:
    X, y = dataset(n, partitions=8)
    loss = gn.losses.get("cross_entropy")
    sessions, peers = {}, {}
    for workers, client in clusters.clients.items():
        net = network(hidden)
        sessions[workers] = fitting.Session(net, X, y, None, loss, client)
        params = net.parameters.copy()

        def make(s=sessions[workers], params=params):
            return lambda: [s.shards.run(_shards.loss_and_grad, params) for _ in range(evals)]

        peers[f"{workers} worker{'s' * (workers > 1)}"] = make
    net = network(hidden)
    Xm, ym = clusters.clients[1].compute([X, y], sync=True)
    net._prepare_training(Xm, loss)
    labels = net._prepare_target(ym, n, loss)

    def in_memory():
        def run():
            with threadpool_limits(1):
                for _ in range(evals):
                    net._loss_and_grad(Xm, labels, None, loss, 0.0)

        return run

    peers = {"in memory (1 thread)": in_memory, **peers}
    load(f"lbfgs n={n} start")
    medians = interleaved(peers, rounds)
    load(f"lbfgs n={n} end")
    for s in sessions.values():
        s.close()
    return {
        "rows": n,
        "parameters": net.count_params(),
        "flops_per_eval": training_flops(net) * n,
        "evals_per_s": {name: evals / t for name, t in medians.items()},
    }


# -- epochs of Adam ---------------------------------------------------------------------------


def epoch_case(clusters: Clusters, n: int, batch: int, rounds: int) -> dict:
    X, y = dataset(n, partitions=8)
    loss = gn.losses.get("cross_entropy")
    peers = {}
    sessions = []
    for workers, client in clusters.clients.items():
        for strategy in ("average", "sync"):
            session = fitting.Session(network(), X, y, None, loss, client)
            sessions.append(session)

            def make(s=session, strategy=strategy):
                opt = gn.Adam(1e-3)
                return lambda: s.train(opt, epochs=1, batch_size=batch, strategy=strategy)

            peers[f"{strategy}, {workers} worker{'s' * (workers > 1)}"] = make
    Xm, ym = clusters.clients[1].compute([X, y], sync=True)

    def in_memory():
        net = network()
        net.build(FEATURES)

        def run():
            with threadpool_limits(1):
                net.fit(Xm, ym, loss="cross_entropy", optimizer=gn.Adam(1e-3), batch_size=batch)

        return run

    peers = {"in memory (1 thread)": in_memory, **peers}
    load(f"epoch batch={batch} start")
    medians = interleaved(peers, rounds)
    load(f"epoch batch={batch} end")
    for s in sessions:
        s.close()
    return {
        "rows": n,
        "batch": batch,
        "seconds_per_epoch": medians,
        "samples_per_s": {name: n / t for name, t in medians.items()},
    }


# -- accuracy against single-machine training --------------------------------------------------


def accuracy_case(clusters: Clusters, n: int, epochs: int) -> dict:
    X, y = dataset(n + 10_000, partitions=9)
    client = clusters.clients[2]
    Xm, ym = client.compute([X, y], sync=True)
    X_test, y_test = Xm[n:], ym[n:]
    X_train, y_train = X[:n], y[:n]
    results = {}
    for name, make_opt in (
        ("Adam(1e-3)", lambda: gn.Adam(1e-3)),
        ("SGD(0.05, momentum=0.9)", lambda: gn.SGD(0.05, momentum=0.9)),
    ):
        row = {}
        net = network()
        with threadpool_limits(1):
            start = time.perf_counter()
            net.fit(
                Xm[:n],
                ym[:n],
                loss="cross_entropy",
                optimizer=make_opt(),
                epochs=epochs,
                batch_size=256,
            )
            seconds = time.perf_counter() - start
        row["in memory"] = (float((net.predict(X_test).argmax(1) == y_test).mean()), seconds)
        for strategy in ("average", "sync"):
            net = network()
            start = time.perf_counter()
            fitting.fit_network(
                net,
                X_train,
                y_train,
                loss=gn.losses.get("cross_entropy"),
                client=client,
                optimizer=make_opt(),
                epochs=epochs,
                batch_size=256,
                strategy=strategy,
            )
            seconds = time.perf_counter() - start
            accuracy = float((net.predict(X_test).argmax(1) == y_test).mean())
            row[f"{strategy}, 2 workers"] = (accuracy, seconds)
        results[name] = row
        load(f"accuracy {name}")
    return {"rows": n, "epochs": epochs, "batch": 256, "accuracy_and_seconds": results}


# -- the report -------------------------------------------------------------------------------


def report(results: dict) -> None:
    print(f"\nmachine: {os.cpu_count()} cores; load average (1, 5, 15 min) over the run:")
    for when, avg in LOADS:
        print(f"  {when:<28} {avg[0]:5.2f} {avg[1]:5.2f} {avg[2]:5.2f}")
    print("round trip (submit one task, gather its result):")
    for workers, seconds in results["round_trip"].items():
        print(f"  {workers} worker cluster: {seconds * 1e3:.1f} ms")
    for case in results.get("lbfgs", []):
        rates = case["evals_per_s"]
        one, two = rates["1 worker"], rates["2 workers"]
        mem = rates["in memory (1 thread)"]
        gflops = case["flops_per_eval"] * mem / 1e9
        print(
            f"\nL-BFGS evaluations, {case['rows']} rows, {case['parameters']} parameters "
            f"(in memory: {gflops:.1f} GFLOP/s):"
        )
        for name, rate in rates.items():
            print(f"  {name:<22} {rate:8.2f} evals/s  {rate * case['rows'] / 1e6:8.2f} M rows/s")
        print(f"  2 workers / 1 worker: {two / one:.2f}x;  2 workers / in memory: {two / mem:.2f}x")
    for case in results.get("epoch", []):
        print(f"\nAdam epoch, {case['rows']} rows, batch {case['batch']}:")
        mem = case["seconds_per_epoch"]["in memory (1 thread)"]
        for name, seconds in case["seconds_per_epoch"].items():
            rate = case["samples_per_s"][name]
            print(
                f"  {name:<22} {seconds:8.3f} s  {rate / 1e3:9.1f} k samples/s  "
                f"{mem / seconds:6.2f}x in memory"
            )
    acc = results.get("accuracy")
    if acc:
        print(
            f"\naccuracy on 10 000 held-out rows after {acc['epochs']} epochs of batch "
            f"{acc['batch']} on {acc['rows']} rows:"
        )
        for opt, row in acc["accuracy_and_seconds"].items():
            cells = "  ".join(
                f"{name}: {a:.4f} ({s / acc['epochs']:.2f} s/epoch)" for name, (a, s) in row.items()
            )
            print(f"  {opt:<24} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller cases")
    parser.add_argument("--cases", default="lbfgs,epoch,accuracy")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    rounds = args.rounds or (2 if args.quick else 3)
    warnings.filterwarnings("ignore", category=UserWarning)
    load("before starting the clusters")
    clusters = Clusters()
    results: dict = {}
    try:
        load("clusters started")
        results["round_trip"] = {w: round_trip(c) for w, c in clusters.clients.items()}
        if "lbfgs" in cases:
            sizes = [(20_000, (64, 64), 20), (200_000, (64, 64), 5), (20_000, (1024, 1024), 3)]
            if args.quick:
                sizes = [(20_000, (64, 64), 10), (100_000, (64, 64), 3)]
            results["lbfgs"] = [lbfgs_case(clusters, n, h, e, rounds) for n, h, e in sizes]
        if "epoch" in cases:
            n = 30_000 if args.quick else 100_000
            results["epoch"] = [epoch_case(clusters, n, b, rounds) for b in (256, 4096)]
        if "accuracy" in cases:
            n, epochs = (20_000, 3) if args.quick else (50_000, 8)
            results["accuracy"] = accuracy_case(clusters, n, epochs)
        results["round_trip_after"] = {w: round_trip(c) for w, c in clusters.clients.items()}
        load("end")
    finally:
        clusters.close()
    results["load"] = LOADS
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)


if __name__ == "__main__":
    main()
