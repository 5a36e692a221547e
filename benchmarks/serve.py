"""glassnet serve under load: requests per second and p50/p99 latency at 1, 8 and 64 clients.

The real ``glassnet serve`` command serves a command-line model trained on
examples/iris.csv (4 numeric columns, 3 classes), in a process of its own. Its
peer is the floor of the same stack: a Starlette endpoint on the same uvicorn that
reads the body, parses the JSON and answers a constant, with no model behind it.
The load comes from httpx (asynchronous, one connection per client) in this
process: each client sends one-record JSON requests back to back.

Rounds are interleaved: in every round, each concurrency level runs against both
servers, the order alternating, for a fixed number of requests each. The table
shows the median over rounds, and glassnet's throughput as a share of the floor's.
The client, both servers and anything else on the machine share its cores, so the
absolute numbers are the machine's; the ratio is the point.

Run:  python benchmarks/serve.py [--rounds 3] [--requests 600] [--recipe small] [--ensemble 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
CONCURRENCY = (1, 8, 64)


def floor_server() -> None:
    """The peer: parse the JSON body, answer a constant (run with --floor)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from glassnet.serve import listen

    async def predict(request):
        json.loads(await request.body())
        return JSONResponse({"predictions": ["setosa"]})

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
    sock = listen("127.0.0.1", 0)
    print(f"serving on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def start(command: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"serving on (http://\S+)", line)
        if found:
            # The rest (glassnet serve's access log: a line a request) is read and
            # dropped, so that a full pipe never holds the server up.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"could not start {command}")


async def load(url: str, clients: int, requests: int) -> dict[str, float]:
    """``requests`` requests from ``clients`` concurrent clients: throughput and latency."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    failures = 0
    transport = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as client:
        await client.post("/predict", json=[RECORD])  # connect once before timing
        share = [requests // clients + (i < requests % clients) for i in range(clients)]

        async def one_client(n: int) -> None:
            nonlocal failures
            for _ in range(n):
                t = time.perf_counter()
                r = await client.post("/predict", json=[RECORD])
                latencies.append(time.perf_counter() - t)
                failures += r.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one_client(n) for n in share))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50": latencies[len(latencies) // 2] * 1e3,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1e3,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=600, help="per level, server and round")
    parser.add_argument("--recipe", default="default", help="the model's recipe (default, small)")
    parser.add_argument("--ensemble", type=int, help="its number of networks (the recipe's)")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor_server()
        return

    import pandas as pd

    import glassnet as gn

    folder = Path(tempfile.mkdtemp(prefix="glassnet-serve-bench-"))
    model = gn.TabularModel.fit(
        pd.read_csv(ROOT / "examples" / "iris.csv"),
        "species",
        seed=0,
        recipe=args.recipe,
        ensemble=args.ensemble,
    )
    model.save(folder / "iris.glassnet")
    servers = {
        "glassnet serve": start(
            [
                sys.executable,
                "-m",
                "glassnet.cli",
                "serve",
                str(folder / "iris.glassnet"),
                "--port",
                "0",
            ]
        ),
        "floor (Starlette, constant answer)": start([sys.executable, __file__, "--floor"]),
    }
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        for r in range(args.rounds):
            for clients in CONCURRENCY:
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    time.sleep(0.2)
                    stats = asyncio.run(load(servers[name][1], clients, args.requests))
                    results.setdefault((name, clients), []).append(stats)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)

    print(f"{args.rounds} rounds of {args.requests} one-record requests per level and server\n")
    print("| clients | server | requests/s | p50 (ms) | p99 (ms) | failures |")
    print("|---|---|---|---|---|---|")
    for clients in CONCURRENCY:
        for name in servers:
            runs = results[(name, clients)]
            med = {k: statistics.median(run[k] for run in runs) for k in ("rps", "p50", "p99")}
            fails = sum(run["failures"] for run in runs)
            print(
                f"| {clients} | {name} | {med['rps']:.0f} | {med['p50']:.2f} | "
                f"{med['p99']:.2f} | {fails} |"
            )
    print("\nglassnet serve's throughput as a share of the floor's (median of paired rounds):")
    floor = list(servers)[1]
    for clients in CONCURRENCY:
        ratios = [
            g["rps"] / f["rps"]
            for g, f in zip(results[("glassnet serve", clients)], results[(floor, clients)])
        ]
        print(f"  {clients:>2} clients: {statistics.median(ratios):.0%}")


if __name__ == "__main__":
    main()
