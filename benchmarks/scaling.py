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
             parameters) and for a wide network (5 000 rows, 32-512-512-2, 280k)
  epoch      one epoch of Adam, batch 256 and 4096, 100 000 rows: samples per second
             for "average" (parameter averaging) and "sync" (synchronous gradients)
  accuracy   Adam and SGD with momentum, batch 256, 8 epochs on 50 000 rows (2 workers):
             held-out accuracy and time per epoch, against in-memory training
  parity     L-BFGS on 2 workers against L-BFGS in memory after 30 to 200 iterations,
             next to in-memory L-BFGS on the same rows in another order

Run:  python benchmarks/scaling.py [--quick] [--cases lbfgs,epoch,accuracy,parity] [--json out.json]
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


def worker_cpu(client) -> float:
    """CPU seconds the cluster's worker processes have used so far, together."""
    return sum(client.run(time.process_time).values())


IN_MEMORY = "in memory (1 thread)"


def measured(clusters: Clusters, peers: dict, rounds: int, in_memory) -> tuple[dict, dict]:
    """Interleaved medians of the cluster ``peers`` and of ``in_memory()`` run in this
    process on one BLAS thread, and the cores each got while it ran (CPU seconds over
    wall seconds): on a shared machine, what the other processes left."""
    cpu = [0.0]

    def make_in_memory():
        def run():
            start = time.process_time()
            with threadpool_limits(1):
                in_memory()
            cpu[0] += time.process_time() - start

        return run

    before = {w: worker_cpu(c) for w, c in clusters.clients.items()}
    medians = interleaved({IN_MEMORY: make_in_memory, **peers}, rounds)
    cores = {IN_MEMORY: cpu[0] / (medians[IN_MEMORY] * rounds)}
    for w, c in clusters.clients.items():
        wall = sum(t for name, t in medians.items() if f"{w} worker" in name) * rounds
        cores[w] = (worker_cpu(c) - before[w]) / wall
    return medians, cores


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
        for _ in range(evals):
            net._loss_and_grad(Xm, labels, None, loss, 0.0)

    load(f"lbfgs n={n} start")
    medians, cores = measured(clusters, peers, rounds, in_memory)
    load(f"lbfgs n={n} end")
    for s in sessions.values():
        s.close()
    return {
        "rows": n,
        "parameters": net.count_params(),
        "flops_per_eval": training_flops(net) * n,
        "evals_per_s": {name: evals / t for name, t in medians.items()},
        "cores": cores,
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

    net = network()
    net.build(FEATURES)

    def in_memory():
        net.fit(Xm, ym, loss="cross_entropy", optimizer=gn.Adam(1e-3), batch_size=batch)

    load(f"epoch batch={batch} start")
    medians, cores = measured(clusters, peers, rounds, in_memory)
    load(f"epoch batch={batch} end")
    for s in sessions:
        s.close()
    return {
        "rows": n,
        "batch": batch,
        "parameters": net.count_params(),
        "seconds_per_epoch": medians,
        "samples_per_s": {name: n / t for name, t in medians.items()},
        "cores": cores,
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


# -- L-BFGS on the cluster against L-BFGS in memory ------------------------------------------


def parity_case(clusters: Clusters, iterations=(30, 60, 100, 200)) -> list[dict]:
    """How far the 2-worker L-BFGS fit is from the in-memory one after so many
    iterations, next to how far the in-memory fit moves when its rows are permuted."""
    import glassnet.dask as gd

    client = clusters.clients[2]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 10))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0)
    Xd, yd = da.from_array(X, chunks=(700, 10)), da.from_array(y, chunks=700)
    order = rng.permutation(3000)
    rows = []
    for hidden, counts in (((16,), iterations), ((), (500,))):
        for epochs in counts:

            def make(hidden=hidden):
                layers = [gn.Dense(h, "tanh") for h in hidden] + [gn.Dense(3, "softmax")]
                return gn.Network(layers, seed=1)

            here, there, alone, permuted = make(), make(), make(), make()
            history = here.fit(X, y, loss="cross_entropy", optimizer="lbfgs", epochs=epochs)
            permuted.fit(X[order], y[order], loss="cross_entropy", optimizer="lbfgs", epochs=epochs)
            gd.fit(there, Xd, yd, loss="cross_entropy", epochs=epochs, client=client)
            gd.fit(alone, Xd, yd, loss="cross_entropy", epochs=epochs, client=clusters.clients[1])

            def rel(a, b):
                return float(np.abs(a.parameters - b.parameters).max() / np.abs(b.parameters).max())

            rows.append(
                {
                    "network": "10-16-3 tanh" if hidden else "10-3 (softmax regression)",
                    "iterations": history.epochs,
                    "cluster_vs_memory": rel(there, here),
                    "permuted_vs_memory": rel(permuted, here),
                    "one_worker_equals_two": bool(
                        np.array_equal(alone.parameters, there.parameters)
                    ),
                }
            )
    return rows


def print_parity(rows: list[dict]) -> None:
    print("\nL-BFGS, 3000 rows in 5 chunks: largest parameter difference / largest parameter")
    for r in rows:
        print(
            f"  {r['network']:<26} {r['iterations']:4d} iterations: cluster vs in memory "
            f"{r['cluster_vs_memory']:.1e}; in memory with the rows permuted "
            f"{r['permuted_vs_memory']:.1e}; 1 worker = 2 workers bit for bit: "
            f"{r['one_worker_equals_two']}",
            flush=True,
        )


# -- the report: each case against the model of benchmarks/README.md -------------------------


def bandwidth(client, mb: int = 32) -> float:
    """Bytes per second of a result gathered from a worker (beyond the round trip)."""
    data = client.submit(np.ones, mb * 2**17, pure=False)  # mb MiB of float64
    client.submit(len, data, pure=False).result()  # made, and still on its worker
    start = time.perf_counter()
    client.submit(np.copy, data, pure=False).result()
    seconds = time.perf_counter() - start
    return mb * 2**20 / max(seconds - round_trip(client, 3), 1e-4)


def modelled(compute: float, cores: float, workers: int, trips: int, vectors: float, P: int, net):
    """Seconds by the model: the in-memory compute (on one core) spread over ``cores``,
    one round trip per exchange, and ``vectors`` float64 vectors of P values per worker
    each way."""
    return compute / cores + trips * (
        net["latency"][workers] + 16 * vectors * P * workers / net["bandwidth"]
    )


def print_machine(results: dict) -> None:
    net = results["network"]
    print(
        f"machine: {os.cpu_count()} cores, shared; load average (1, 5, 15 min): "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    for workers in (1, 2):
        print(f"  {workers}-worker cluster: round trip {net['latency'][workers] * 1e3:.1f} ms")
    print(f"  worker to client: {net['bandwidth'] / 1e9:.2f} GB/s", flush=True)


def print_lbfgs(case: dict, net: dict) -> None:
    rates = case["evals_per_s"]
    mem = rates[IN_MEMORY]
    print(
        f"\nL-BFGS evaluations, {case['rows']} rows, {case['parameters']} parameters "
        f"(in memory {case['flops_per_eval'] * mem / 1e9:.1f} GFLOP/s on one core):"
    )
    for name, rate in rates.items():
        line = f"  {name:<22} {1e3 / rate:9.1f} ms/eval  {rate * case['rows'] / 1e6:7.3f} M rows/s"
        if name != IN_MEMORY:
            w = int(name[0])
            one_core = case["cores"][IN_MEMORY] / mem  # seconds on a whole core
            free = modelled(one_core, w, w, 1, 1, case["parameters"], net)
            got = modelled(one_core, case["cores"][w], w, 1, 1, case["parameters"], net)
            line += f"   model {free * 1e3:7.1f} ms on {w} free cores, {got * 1e3:7.1f} as loaded"
        print(line)
    two, one = rates["2 workers"], rates["1 worker"]
    print(f"  2 workers / 1 worker: {two / one:.2f}x;  2 workers / in memory: {two / mem:.2f}x")
    print_cores(case["cores"])


def print_cores(cores: dict) -> None:
    print(
        f"  cores obtained while running: in memory {cores[IN_MEMORY]:.2f}, "
        f"1-worker cluster {cores[1]:.2f}, 2-worker cluster {cores[2]:.2f}",
        flush=True,
    )


def print_epoch(case: dict, net: dict) -> None:
    print(f"\nAdam epoch, {case['rows']} rows, batch {case['batch']}:")
    mem = case["seconds_per_epoch"][IN_MEMORY]
    steps = -(-case["rows"] // case["batch"])
    for name, seconds in case["seconds_per_epoch"].items():
        line = (
            f"  {name:<22} {seconds:8.3f} s  {case['samples_per_s'][name] / 1e3:8.1f} k rows/s"
            f"  {mem / seconds:5.2f}x in memory"
        )
        if name != IN_MEMORY:
            w = int(name.split(", ")[1][0])
            one_core = mem * case["cores"][IN_MEMORY]
            # sync: one exchange per step, the parameters out and the gradient back;
            # average: one per epoch, the parameters and Adam's two moments each way.
            trips, vectors = (steps, 1) if name.startswith("sync") else (1, 3)
            free = modelled(one_core, w, w, trips, vectors, case["parameters"], net)
            got = modelled(one_core, case["cores"][w], w, trips, vectors, case["parameters"], net)
            line += f"   model {free:6.2f} s on {w} free cores, {got:6.2f} as loaded"
        print(line, flush=True)
    print_cores(case["cores"])


def print_accuracy(acc: dict) -> None:
    print(
        f"\naccuracy on 10 000 held-out rows after {acc['epochs']} epochs of batch "
        f"{acc['batch']} on {acc['rows']} rows:"
    )
    for opt, row in acc["accuracy_and_seconds"].items():
        print(f"  {opt}")
        for name, (a, seconds) in row.items():
            print(f"    {name:<20} accuracy {a:.4f}   {seconds / acc['epochs']:7.3f} s/epoch")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller cases")
    parser.add_argument("--cases", default="lbfgs,epoch,accuracy,parity")
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
        net = {
            "latency": {w: round_trip(c) for w, c in clusters.clients.items()},
            "bandwidth": bandwidth(clusters.clients[2]),
        }
        results["network"] = net
        print_machine(results)
        if "lbfgs" in cases:
            sizes = [(20_000, (64, 64), 10), (200_000, (64, 64), 3), (5_000, (512, 512), 3)]
            if args.quick:
                sizes = [(20_000, (64, 64), 10), (100_000, (64, 64), 3)]
            results["lbfgs"] = []
            for n, hidden, evals in sizes:
                results["lbfgs"].append(lbfgs_case(clusters, n, hidden, evals, rounds))
                print_lbfgs(results["lbfgs"][-1], net)
        if "epoch" in cases:
            n = 30_000 if args.quick else 100_000
            results["epoch"] = []
            for batch in (256, 4096):
                results["epoch"].append(epoch_case(clusters, n, batch, rounds))
                print_epoch(results["epoch"][-1], net)
        if "parity" in cases:
            results["parity"] = parity_case(clusters)
            print_parity(results["parity"])
        if "accuracy" in cases:
            n, epochs = (20_000, 3) if args.quick else (50_000, 8)
            results["accuracy"] = accuracy_case(clusters, n, epochs)
            print_accuracy(results["accuracy"])
        results["latency_after"] = {w: round_trip(c) for w, c in clusters.clients.items()}
        load("end")
    finally:
        clusters.close()
    results["load"] = LOADS
    print("load average (1, 5, 15 min) through the run:")
    for when, avg in LOADS:
        print(f"  {when:<34} {avg[0]:5.2f} {avg[1]:5.2f} {avg[2]:5.2f}")
    after = results.get("latency_after", {})
    if after:
        print(
            "round trip at the end: "
            + ", ".join(f"{w} worker{'s' * (w > 1)} {t * 1e3:.1f} ms" for w, t in after.items())
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)


if __name__ == "__main__":
    main()
