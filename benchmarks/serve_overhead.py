"""What the access log and /metrics cost glassnet serve: CPU time per request, in process.

The application of a command-line model trained on examples/iris.csv is called directly
as ASGI (no socket, no client, no server: only the application's own work), with
one-record JSON requests to POST /predict and requests to GET /health. Three
applications of the same model:

* bare: ``create_app(access_log=False, metrics=False)``, the service as it was before
  either existed (no middleware);
* metrics: /metrics counting every request;
* metrics + access log: and a line per request, formatted and written (to /dev/null,
  through a logging handler, as ``glassnet serve`` writes it to stderr).

Rounds are interleaved (each round runs every application, in an order that rotates)
and the table shows the median over rounds of the process CPU time per request.

Run:  python benchmarks/serve_overhead.py [--rounds 15] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def request(method: str, path: str, body: bytes = b""):
    """An ASGI scope and receive callable for one request."""
    headers = [(b"host", b"bench"), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive():
        return message

    return scope, receive


async def run(app, scope, receive, n: int) -> float:
    """CPU seconds for ``n`` requests."""
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(n):
        await app(scope, receive, send)
    spent = time.process_time() - started
    assert set(statuses) == {200}, statuses[:3]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000, help="per application and round")
    args = parser.parse_args()

    import pandas as pd

    import glassnet as gn
    from glassnet.serve import create_app

    model = gn.TabularModel.fit(pd.read_csv(ROOT / "examples" / "iris.csv"), "species", seed=0)
    access = logging.getLogger("glassnet.serve.access")
    sink = logging.StreamHandler(open(os.devnull, "w"))  # open for the whole run
    sink.setFormatter(logging.Formatter("glassnet: %(message)s"))
    access.addHandler(sink)
    access.setLevel(logging.INFO)
    access.propagate = False
    apps = {
        "bare": create_app(model, access_log=False, metrics=False),
        "metrics": create_app(model, access_log=False, metrics=True),
        "metrics + access log": create_app(model, access_log=True, metrics=True),
    }
    requests = {
        "POST /predict (1 record)": request("POST", "/predict", json.dumps([RECORD]).encode()),
        "GET /health": request("GET", "/health"),
    }
    results: dict[tuple[str, str], list[float]] = {}

    async def rounds() -> None:
        for scope, receive in requests.values():
            for app in apps.values():
                await run(app, scope, receive, 200)  # warm up
        for r in range(args.rounds):
            names = list(apps)
            names = names[r % len(names) :] + names[: r % len(names)]
            for what, (scope, receive) in requests.items():
                for name in names:
                    spent = await run(apps[name], scope, receive, args.requests)
                    results.setdefault((what, name), []).append(spent / args.requests)

    asyncio.run(rounds())
    print(f"{args.rounds} interleaved rounds of {args.requests} requests per application\n")
    print("| request | application | CPU µs per request | vs bare |")
    print("|---|---|---|---|")
    for what in requests:
        bare = statistics.median(results[(what, "bare")])
        for name in apps:
            per = statistics.median(results[(what, name)])
            print(f"| {what} | {name} | {per * 1e6:.1f} | {(per - bare) * 1e6:+.1f} µs |")


if __name__ == "__main__":
    main()
