"""What ``GET /metrics`` answers: the service's counters and timings, through prometheus_client.

Each application has :class:`Metrics` of its own, in a registry of its own (never
prometheus_client's global default registry, so two applications in one process count
apart):

* ``glassnet_requests_total{endpoint, method, status}``: requests answered;
* ``glassnet_request_duration_seconds{endpoint}``: a histogram of the seconds from a
  request's arrival to the end of its answer;
* ``glassnet_rows_predicted_total``: rows answered by ``POST /predict`` with 200;
* ``glassnet_model_info{kind, task, glassnet_version}``: 1, the model served.

``endpoint`` is the route (``/predict``, ``/health``...), or ``unmatched`` for a path
that is none, so that no client can make the number of series grow.

Several worker processes (``glassnet serve --workers N``) each count their own requests.
With the environment variable ``PROMETHEUS_MULTIPROC_DIR`` naming an empty, writable
folder when the service starts, prometheus_client's multiprocess mode adds them up:
each process writes its counts there, and ``/metrics``, whichever worker answers,
reports the sum over all of them. Without it, ``/metrics`` reports the counts of the
one worker that answered.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

__all__ = ["Metrics", "MULTIPROCESS_VARIABLE", "DURATION_BUCKETS", "UNMATCHED"]

#: The environment variable that turns prometheus_client's multiprocess mode on.
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: The histogram's upper bounds, in seconds: a one-row JSON request takes about a
#: millisecond, a CSV of 100 000 rows some seconds.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

#: The endpoint label of a request for a path that is no route.
UNMATCHED = "unmatched"

_METHODS = frozenset(("GET", "POST", "HEAD"))


class Metrics:
    """The counters of one application.

    Parameters
    ----------
    endpoints : the routes' paths, the only values of the ``endpoint`` label besides
        :data:`UNMATCHED`
    info : the labels of ``glassnet_model_info`` (kind, task, glassnet_version)
    """

    def __init__(self, endpoints, info: dict[str, str]):
        self.endpoints = frozenset(endpoints)
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_VARIABLE))
        self.registry = CollectorRegistry()
        if self.multiprocess:
            from prometheus_client import multiprocess

            # The counts live in the folder's files, summed over the processes when
            # collected: the metrics themselves are registered nowhere.
            multiprocess.MultiProcessCollector(self.registry)
            owner = None
        else:
            owner = self.registry
        self.requests = Counter(
            "glassnet_requests",
            "Requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=owner,
        )
        self.duration = Histogram(
            "glassnet_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by endpoint.",
            ["endpoint"],
            buckets=DURATION_BUCKETS,
            registry=owner,
        )
        self.rows = Counter(
            "glassnet_rows_predicted", "Rows answered by POST /predict with 200.", registry=owner
        )
        self.info = Gauge(
            "glassnet_model_info",
            "The model served: 1, with its kind, task and the glassnet version as labels.",
            list(info),
            registry=owner,
            multiprocess_mode="max",
        )
        self.info.labels(**info).set(1)
        # The labelled children, made once each: .labels() takes a lock and checks.
        self._counts: dict[tuple[str, str, int], Counter] = {}
        self._timings: dict[str, Histogram] = {}

    def endpoint(self, path: str) -> str:
        """The ``endpoint`` label of a request for ``path``."""
        return path if path in self.endpoints else UNMATCHED

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        """Count one request answered and its duration."""
        endpoint = self.endpoint(path)
        # A method no route takes (answered 405) is counted as "other", so that no
        # client can make the series grow.
        key = (endpoint, method if method in _METHODS else "other", status)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = self.requests.labels(*key[:2], str(status))
        count.inc()
        timing = self._timings.get(endpoint)
        if timing is None:
            timing = self._timings[endpoint] = self.duration.labels(endpoint)
        timing.observe(seconds)

    def predicted(self, rows: int) -> None:
        """Count rows answered by ``POST /predict``."""
        self.rows.inc(rows)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The counters as text, in the format the ``Accept`` header asks for
        (Prometheus' text format, or OpenMetrics), and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
