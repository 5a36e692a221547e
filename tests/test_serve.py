"""The prediction service for every kind of model, on a real uvicorn server and a real client.

Each server runs in a thread of this process on a free local port (``tests/test_cli_serve.py``
starts the real ``glassnet serve`` command instead).
"""

import contextlib
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
pd = pytest.importorskip("pandas")

import glassnet as gn  # noqa: E402
from glassnet import serve  # noqa: E402


@contextlib.contextmanager
def running(model, **limits):
    """A uvicorn server for ``model`` on a free port; yields an httpx client for it."""
    app = serve.create_app(model, source="test", **limits)
    sock = serve.listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    port = sock.getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def post_json(client, payload):
    return client.post("/predict", json=payload)


def post_csv(client, text):
    return client.post("/predict", content=text, headers={"content-type": "text/csv"})


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    for fragment in fragments:
        assert fragment in body["error"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, y


# --- a bare network: rows of numbers ------------------------------------------------------------


@pytest.fixture(scope="module")
def network_server(data):
    X, _ = data
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(2)], input_size=3, seed=0)
    with running(net) as client:
        yield net, client


def test_a_network_takes_rows_as_json_and_csv(network_server, data):
    net, client = network_server
    X, _ = data
    got = post_json(client, X[:5].tolist())
    assert got.status_code == 200
    np.testing.assert_allclose(got.json()["predictions"], net.predict(X[:5]), rtol=1e-15)
    csv = pd.DataFrame(X[:4], columns=["a", "b", "c"]).to_csv(index=False)
    got = post_csv(client, csv)
    np.testing.assert_allclose(got.json()["predictions"], net.predict(X[:4]), rtol=1e-15)


def test_a_network_refuses_rows_that_do_not_fit(network_server):
    _, client = network_server
    assert_error(post_json(client, [[1, 2]]), 422, "row 0 has 2 values", "takes 3")
    assert_error(post_json(client, [[1, 2, "x"]]), 422, "row 0, value 2 is 'x'")
    assert_error(post_json(client, [[1, 2, None]]), 422, "value 2 is null")
    assert_error(post_json(client, [[1, 2, True]]), 422, "value 2 is true")
    assert_error(post_json(client, [[1, 2, 10**400]]), 422, "not a finite number")
    assert_error(post_json(client, [{"a": 1}]), 422, "row 0 is an object", "rows of numbers")
    assert_error(post_csv(client, "a,b\n1,2\n"), 422, "2 columns", "takes 3")
    assert_error(post_csv(client, "a,b,c\n1,2,x\n"), 422, "column 'c' holds 'x' on line 2")
    assert_error(post_csv(client, "a,b,c\n1,,3\n"), 422, "column 'b' is empty", "line 2")


def test_metadata_describes_a_network(network_server):
    _, client = network_server
    about = client.get("/metadata").json()
    assert about["kind"] == "network"
    assert about["features"] == [{"name": f"x{j}", "type": "number"} for j in range(3)]
    assert about["outputs"] == 2
    assert about["request"]["max_body_bytes"] == serve.MAX_BODY_BYTES


def test_non_finite_predictions_are_null_not_a_server_error():
    net = gn.Network([gn.Dense(1, "exp")], input_size=1)
    net.layers[0].weights = [[1000.0]]
    with running(net) as client:
        got = post_json(client, [[1.0], [0.0]])
    assert got.status_code == 200
    assert got.json()["predictions"] == [[None], [pytest.approx(np.exp(net.layers[0].bias[0]))]]


# --- the drop-in estimators: rows, or records by column name ----------------------------------


def test_a_classifier_fitted_on_a_frame_takes_records_by_name(data):
    pytest.importorskip("sklearn")
    X, y = data
    frame = pd.DataFrame(X, columns=["width", "height", "depth"])
    labels = np.array(["low", "mid", "high"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
        model.fit(frame, labels)
    with running(model) as client:
        records = frame[["depth", "width", "height"]].head(6).to_dict("records")  # any order
        got = post_json(client, records).json()
        assert got["predictions"] == list(model.predict(frame.head(6)))
        assert got["classes"] == list(model.classes_)
        np.testing.assert_allclose(got["probabilities"], model.predict_proba(frame.head(6)))
        rows = post_json(client, X[:6].tolist()).json()  # plain rows, in fit's column order
        assert rows["predictions"] == got["predictions"]
        csv = post_csv(client, frame.head(6).to_csv(index=False)).json()
        assert csv["predictions"] == got["predictions"]
        assert_error(post_json(client, [{"width": 1, "height": 2}]), 422, "no column 'depth'")
        about = client.get("/metadata").json()
        assert about["estimator"] == "MLPClassifier" and about["classes"] == ["high", "low", "mid"]
        assert [f["name"] for f in about["features"]] == ["width", "height", "depth"]


def test_a_regressor_answers_numbers(data):
    pytest.importorskip("sklearn")
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = gn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
    with running(model) as client:
        got = post_json(client, X[:7].tolist()).json()
    assert set(got) == {"predictions"}
    np.testing.assert_allclose(got["predictions"], model.predict(X[:7]), rtol=1e-15)


# --- the limits ----------------------------------------------------------------------------------


def test_bodies_and_row_counts_over_the_limits_are_413(network_server):
    net, _ = network_server
    with running(net, max_body_bytes=200, max_rows=3) as client:
        assert post_json(client, [[1, 2, 3]] * 3).status_code == 200
        assert_error(post_json(client, [[1, 2, 3]] * 4), 413, "4 rows", "limit is 3")
        assert_error(post_json(client, [[1.5, 2.5, 3.5]] * 30), 413, "limit is 200")

        def chunks():  # no Content-Length: the limit holds on the stream itself
            for _ in range(50):
                yield b"[1.0, 2.0, 3.0],"

        streamed = client.post(
            "/predict", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_error(streamed, 413, "larger than the limit of 200 bytes")
        assert client.get("/health").json() == {"status": "ok"}


def test_a_command_line_model_with_every_column_kind_takes_json_values():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "member": rng.choice([True, False], n),
            "when": pd.to_datetime(rng.integers(1.2e9, 1.7e9, n), unit="s"),
            "code": rng.choice([101, 202], n),
        }
    )
    frame["label"] = np.where(frame["size"] + frame["member"] > 10.5, "big", "small")
    model = gn.TabularModel.fit(frame, "label", epochs=3, categorical=["code"], impute=True)
    records = [
        {"size": 9.5, "member": True, "when": "2021-03-04T05:06:07", "code": 101},
        {"size": None, "member": False, "when": None, "code": "202"},
    ]
    expected = pd.DataFrame(
        {
            "size": [9.5, np.nan],
            "member": ["true", "false"],
            "when": ["2021-03-04T05:06:07", None],
            "code": ["101", "202"],
        }
    )
    with running(model) as client:
        got = post_json(client, records)
        wrong = post_json(client, [{**records[0], "size": True}])
    assert got.status_code == 200, got.text
    np.testing.assert_allclose(got.json()["probabilities"], model.predict_proba(expected))
    assert_error(wrong, 422, "column 'size' takes a number, not true")


def test_csv_cells_are_kept_as_written():
    rng = np.random.default_rng(2)
    n = 120
    frame = pd.DataFrame({"size": rng.normal(size=n), "region": rng.choice(["NA", "EU", "001"], n)})
    frame["label"] = np.where(frame["region"] == "NA", "yes", "no")
    model = gn.TabularModel.fit(frame, "label", epochs=20, seed=0)
    assert model.features.to_json()["columns"][1]["categories"] == ["001", "EU", "NA"]
    with running(model) as client:
        got = post_csv(client, "size,region\n0.5,NA\n0.5,001\n").json()
    assert "warnings" not in got  # "NA" and "001" are the levels, not missing or 1
    expected = model.predict_proba(pd.DataFrame({"size": [0.5, 0.5], "region": ["NA", "001"]}))
    np.testing.assert_allclose(got["probabilities"], expected)
