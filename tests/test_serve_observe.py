"""The access log and /metrics, on a real uvicorn server (in a thread) and a real client.

The access log is read from the ``glassnet.serve.access`` logger, through a handler of
the test's; /metrics through prometheus_client's own parser of its text format.
``tests/test_cli_serve.py`` reads both from the real ``glassnet serve`` command.
"""

import contextlib
import logging
import re
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
parser = pytest.importorskip("prometheus_client.parser")

import glassnet as gn  # noqa: E402
from glassnet.serve.access import ACCESS_LOGGER  # noqa: E402
from test_serve import running  # noqa: E402

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def net():
    return gn.Network([gn.Dense(3, "tanh"), gn.Dense(2)], input_size=3, seed=0)


@contextlib.contextmanager
def access_records():
    """The records of the access logger, at INFO."""
    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def wait_for(predicate, what, timeout=120):
    """Poll until ``predicate()`` holds (the server writes a request's line, and counts
    it, after the answer has gone)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


def test_each_request_is_one_access_log_line(net):
    with running(net) as client, access_records() as records:
        answers = [
            client.get("/health"),
            client.post("/predict", json=[[1.0, 2.0, 3.0]] * 2),
            client.post("/predict", content=b"[{", headers=JSON),
            client.get("/nowhere?x=1"),
            client.delete("/health"),
        ]
        wait_for(lambda: len(records) >= len(answers), "access log lines")
        assert len(records) == len(answers)
    port = client.base_url.port
    expected = [
        ("GET", "/health", 200),
        ("POST", "/predict", 200),
        ("POST", "/predict", 400),
        ("GET", "/nowhere", 404),
        ("DELETE", "/health", 405),
    ]
    for record, answer, (method, path, status) in zip(records, answers, expected):
        assert record.name == ACCESS_LOGGER and record.levelno == logging.INFO
        assert (record.method, record.path, record.status) == (method, path, status)
        assert record.status == answer.status_code
        assert record.bytes == len(answer.content)
        assert 0 < record.duration_ms < 120_000
        assert re.fullmatch(r"127\.0\.0\.1:\d+", record.client)
        assert int(record.client.rsplit(":", 1)[1]) != port  # the client's port, not ours
        line = record.getMessage()
        assert line == (
            f'{record.client} "{method} {path}" {status} {record.bytes} bytes '
            f"{record.duration_ms:.2f} ms"
        )


def test_the_access_log_can_be_turned_off(net):
    with running(net, access_log=False) as client, access_records() as records:
        assert client.get("/health").status_code == 200
        client.get("/metrics")  # the metrics still count: a request after /health's end
    assert records == []


def samples(client):
    """The /metrics samples, as {(name, sorted labels): value}."""
    got = client.get("/metrics")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/plain")
    out = {}
    for family in parser.text_string_to_metric_families(got.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def count(found, endpoint, method, status):
    labels = (("endpoint", endpoint), ("method", method), ("status", str(status)))
    return found.get(("glassnet_requests_total", labels), 0)


def test_metrics_count_requests_rows_and_durations(net):
    with running(net) as client:
        for rows in (1, 2, 5):
            assert client.post("/predict", json=[[0.5, 1.0, 2.0]] * rows).status_code == 200
        assert client.post("/predict", content=b"[{", headers=JSON).status_code == 400
        csv = "a,b,c\n1,2,3\n4,5,6\n"
        assert client.post("/predict", content=csv, headers={"content-type": "text/csv"})
        client.get("/health")
        for path in ("/nowhere", "/elsewhere"):
            client.get(path)
        client.request("BREW", "/predict")

        def counted():
            return count(samples(client), "/health", "GET", 200) == 1

        wait_for(counted, "count of /health")
        found = samples(client)
    assert count(found, "/predict", "POST", 200) == 4
    assert count(found, "/predict", "POST", 400) == 1
    assert count(found, "unmatched", "GET", 404) == 2  # one series for every unknown path
    assert count(found, "/predict", "other", 405) == 1
    assert found[("glassnet_rows_predicted_total", ())] == 1 + 2 + 5 + 2
    duration = ("glassnet_request_duration_seconds_count", (("endpoint", "/predict"),))
    assert found[duration] == 6
    info = {
        labels: value for (name, labels), value in found.items() if name == "glassnet_model_info"
    }
    assert info == {(("glassnet_version", gn.__version__), ("kind", "network"), ("task", "")): 1.0}


def test_two_apps_in_one_process_count_apart(net):
    other = gn.Network([gn.Dense(1)], input_size=2, seed=1)
    with running(net) as first, running(other) as second:
        for _ in range(3):
            assert first.post("/predict", json=[[1.0, 2.0, 3.0]]).status_code == 200
        assert second.post("/predict", json=[[1.0, 2.0]]).status_code == 200
        wait_for(lambda: count(samples(second), "/predict", "POST", 200) == 1, "second's count")
        wait_for(lambda: count(samples(first), "/predict", "POST", 200) == 3, "first's count")
        assert samples(second)[("glassnet_rows_predicted_total", ())] == 1


def test_without_metrics_there_is_no_route_and_no_document_of_one(net):
    with running(net, metrics=False) as client:
        assert client.get("/metrics").status_code == 404
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]
        got = client.post("/predict", json=[[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(got.json()["predictions"], net.predict([[1.0, 2.0, 3.0]]))


def test_an_openmetrics_scraper_gets_openmetrics(net):
    with running(net) as client:
        got = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert got.headers["content-type"].startswith("application/openmetrics-text")
    assert got.text.rstrip().endswith("# EOF")
