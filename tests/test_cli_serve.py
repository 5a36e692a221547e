"""glassnet serve: the real command in a subprocess, a real HTTP client, bad requests and load."""

import asyncio
import contextlib
import io
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
pd = pytest.importorskip("pandas")

import glassnet as gn  # noqa: E402
from test_cli import assert_one_line_error, call  # noqa: E402


def start(*args, timeout=120, **popen):
    """Start ``glassnet serve`` on a free port; returns (process, base URL). ``popen``:
    more of Popen's arguments (env, start_new_session)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "glassnet.cli", "serve", *map(str, args), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    chosen = selectors.DefaultSelector()
    chosen.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        if chosen.select(timeout=1):
            line = proc.stderr.readline()
            seen += line
            found = re.search(r"serving on (http://\S+)", line)
            if found:
                return proc, found.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"glassnet serve did not start: {seen}{proc.stderr.read()}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    n = 150
    data = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "town": rng.choice(["north", "south", "east"], n),
            "age": rng.integers(1, 80, n).astype(float),
        }
    )
    data["label"] = np.where(data["size"] + 3 * (data["town"] == "north") > 11, "big", "small")
    data.loc[4, "age"] = np.nan
    return data


@pytest.fixture(scope="module")
def service(tmp_path_factory, frame):
    """A command-line model with text and numeric columns, served by the real command."""
    folder = tmp_path_factory.mktemp("serve")
    model = gn.TabularModel.fit(frame, "label", epochs=10, impute=True)
    model.save(folder / "model.glassnet")
    proc, url = start(folder / "model.glassnet")
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield model, client, url
    finally:
        stop(proc)
    assert "Traceback" not in proc.stderr.read()


def records(frame, n=8):
    rows = frame.drop(columns=["label"]).head(n).to_dict("records")
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]


def test_it_answers_the_predictions_python_gives(service, frame):
    model, client, _ = service
    got = client.post("/predict", json=records(frame)).json()
    expected = model.predict(frame.head(8))
    assert got["predictions"] == list(expected)
    assert got["classes"] == ["big", "small"]
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(frame.head(8)))
    csv = frame.head(8).to_csv(index=False)  # the target column is ignored, as in predict
    by_csv = client.post("/predict", content=csv, headers={"content-type": "text/csv"}).json()
    assert by_csv["predictions"] == list(expected)
    one = client.post("/predict", json=records(frame, 1)[0]).json()  # one object: one row
    assert one["predictions"] == [expected[0]]


def test_unseen_levels_come_back_as_warnings(service, frame):
    _, client, _ = service
    rows = records(frame, 2)
    rows[1]["town"] = "west"
    got = client.post("/predict", json=rows).json()
    assert len(got["predictions"]) == 2
    assert "west" in got["warnings"][0] and "never seen in training" in got["warnings"][0]


def test_health_and_metadata(service):
    model, client, _ = service
    assert client.get("/health").json() == {"status": "ok"}
    about = client.get("/metadata").json()
    assert about["kind"] == "tabular" and about["target"] == "label"
    kinds = {f["name"]: f["type"] for f in about["features"]}
    assert kinds == {"size": "number", "town": "text", "age": "number"}
    assert about["classes"] == ["big", "small"]
    assert about["training"]["epochs"] == model.info["epochs"]
    assert about["model_file"].endswith("model.glassnet")


def test_a_body_in_the_charset_its_content_type_names_is_read_in_it(service):
    model, client, _ = service
    text = "size,town,age\n1,north,3\n2,Köln,5\n"
    expected = model.predict(pd.read_csv(io.StringIO(text))).tolist()
    for charset in ("latin-1", "cp1252", '"ISO-8859-1"', "utf-16"):
        body = text.encode(charset.strip('"'))
        got = client.post(
            "/predict", content=body, headers={"content-type": f"text/csv; charset={charset}"}
        )
        assert got.status_code == 200, got.text
        assert got.json()["predictions"] == expected
        assert "Köln" in got.json()["warnings"][0]  # the town as sent, never seen in training
    records = json.dumps([{"size": 2, "town": "Köln", "age": 5}]).encode("utf-16")
    got = client.post(
        "/predict", content=records, headers={"content-type": "application/json; charset=UTF-16"}
    )
    assert got.status_code == 200 and got.json()["predictions"] == expected[1:], got.text


JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}
GOOD = '{"size": 1, "town": "north", "age": 3}'

BAD_REQUESTS = [
    ("malformed JSON", JSON, b'[{"size": 1,', 400, "malformed JSON"),
    ("not UTF-8", JSON, b"\xff\xfe[1]", 400, "not UTF-8 text; name its encoding in the Content"),
    ("a Latin-1 CSV", CSV, "size,town,age\n1,Köln,3\n".encode("latin-1"), 400, "iconv -f LATIN1"),
    (
        "UTF-8 called Shift JIS",
        {"content-type": "text/csv; charset=shift_jis"},
        b"size,town,age\n1,\x82\xa0\xff,3\n",
        400,
        "the CSV is not shift_jis text, as its Content-Type says",
    ),
    (
        "a codec that is no text encoding",
        {"content-type": "text/csv; charset=hex"},
        b"size,town,age\n1,a,3\n",
        415,
        "unknown charset 'hex'",
    ),
    (
        "an unknown charset",
        {"content-type": "text/csv; charset=klingon"},
        b"size,town,age\n1,a,3\n",
        415,
        "unknown charset 'klingon'",
    ),
    ("empty body", JSON, b"", 400, "empty"),
    ("blank body", JSON, b"   \n", 400, "empty"),
    ("NaN literal", JSON, b'[{"size": NaN, "town": "a", "age": 1}]', 400, "NaN is not valid"),
    ("a number, not records", JSON, b"42", 422, "the JSON is 42"),
    ("an empty list", JSON, b"[]", 422, "empty"),
    ("a list of lists", JSON, b"[[1, 2, 3]]", 422, "record 0 is a list of 3, not an object"),
    ("a missing column", JSON, b'[{"size": 1, "town": "a"}]', 422, "record 0 has no column 'age'"),
    (
        "text in a number",
        JSON,
        b'[{"size": "big", "town": "a", "age": 1}]',
        422,
        "column 'size' was numeric in training, but record 0 holds 'big'",
    ),
    ("a list in a cell", JSON, b'[{"size": [1], "town": "a", "age": 1}]', 422, "holds a list"),
    (
        "an overflowing number",
        JSON,
        b'[{"size": 1e999, "town": "a", "age": 1}]',
        422,
        "not a finite number",
    ),
    (
        "an integer too large for a float",
        JSON,
        b'[{"size": 1' + b"0" * 400 + b', "town": "a", "age": 1}]',
        422,
        "not a finite number",
    ),
    ("one bad record of two", JSON, f"[{GOOD}, 7]".encode(), 422, "record 1 is 7"),
    ("deep nesting", JSON, b"[" * 100000 + b"]" * 100000, 400, "malformed JSON"),
    ("CSV without the columns", CSV, b"a,b\n1,2\n", 422, "no column 'size' (nor 'town', 'age')"),
    (
        "CSV with text for a number",
        CSV,
        b"size,town,age\nbig,north,3\n",
        422,
        "column 'size' was numeric in training",
    ),
    ("CSV with a header only", CSV, b"size,town,age\n", 422, "no rows"),
    ("CSV with ragged rows", CSV, b"size,town,age\n1,2,3,4,5\n1\n", 400, "malformed CSV"),
    ("CSV with a short row", CSV, b"size,town,age\n1,north,3\n1,north\n", 400, "line 3 has 2"),
    ("CSV wider than the limit", CSV, b",".join([b"c"] * 1004) + b"\n", 413, "limit is 1003"),
    ("CSV with a name twice", CSV, b"size,town,age,town\n1,a,3,b\n", 400, "'town' appears twice"),
    ("another content type", {"content-type": "text/plain"}, b"hello", 415, "'text/plain'"),
    ("no content type", {}, b"[]", 415, "no Content-Type"),
    ("too large a body", JSON, b"[" + b"1," * (6 * 2**20) + b"1]", 413, "the limit is"),
]


@pytest.mark.parametrize(
    ("headers", "body", "status", "fragment"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_every_bad_request_is_a_4xx_that_names_the_problem(
    service, headers, body, status, fragment
):
    _, client, _ = service
    got = client.post("/predict", content=body, headers=headers)
    assert got.status_code == status, got.text
    assert set(got.json()) == {"error"}
    assert fragment in got.json()["error"]
    assert "Traceback" not in got.text


def test_serve_numbers_a_bad_csv_body_as_the_command_line_numbers_the_file(
    service, tmp_path, capsys
):
    _, client, _ = service
    model_file = client.get("/metadata").json()["model_file"]
    bodies = {
        "text in a number": "size,town,age\n1,north,3\n2,south,4\n12 cm,east,5\n",
        "an infinite number": "size,town,age\n1,north,3\n1e999,south,4\n",
        "a row too long": "size,town,age\n1,north,3\n2,south,4,5\n",
    }
    for name, body in bodies.items():
        (tmp_path / "rows.csv").write_text(body)
        code, _, err = call(capsys, "predict", model_file, tmp_path / "rows.csv")
        cli_line = re.search(r"line \d+", err)
        got = client.post("/predict", content=body, headers=CSV)
        assert code == 2 and cli_line, (name, err)
        assert got.status_code in (400, 422), (name, got.text)
        assert re.findall(r"line \d+", got.json()["error"]) == [cli_line.group()], (name, err)
        if got.status_code == 422:  # the model's own message, word for word, but its fixes:
            # the service names the command that takes an option (glassnet.tabular.fixes)
            served = got.json()["error"]
            assert "--" not in served or "glassnet train --" in served, served
            command_line = re.sub(r"glassnet (train|serve) --", "--", served)
            assert err.strip() == f"glassnet: error: {command_line}"


def test_a_csv_cell_over_128_kib_gives_the_command_lines_prediction(service, tmp_path, capsys):
    _, client, _ = service
    model_file = client.get("/metadata").json()["model_file"]
    body = f"size,town,age\n9.5,north,30\n11,{'w' * 200_000},40\n"
    (tmp_path / "rows.csv").write_text(body)
    code, out, _ = call(capsys, "predict", model_file, tmp_path / "rows.csv", "--quiet")
    got = client.post("/predict", content=body, headers=CSV)
    assert code == 0 and got.status_code == 200, got.text[:300]
    assert got.json()["predictions"] == out.split()[1:]


def test_slow_and_vanishing_clients_get_408_and_one_log_line(tmp_path):
    net = gn.Network([gn.Dense(1)], input_size=2)
    net.save(tmp_path / "net.glassnet")
    proc, url = start(tmp_path / "net.glassnet", "--body-timeout", "0.5")
    port = int(url.rsplit(":", 1)[1])
    partial = (
        b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 100\r\n\r\na,b\n1,"
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as stalled:
            stalled.sendall(partial)  # and then nothing
            reply = b""
            while chunk := stalled.recv(65536):
                reply += chunk
        with socket.create_connection(("127.0.0.1", port), timeout=120) as leaving:
            leaving.sendall(partial)
        lines = []
        chosen = selectors.DefaultSelector()
        chosen.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        while not any("disconnected" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            if chosen.select(timeout=1):
                lines.append(proc.stderr.readline())
        health = httpx.get(f"{url}/health", timeout=30)
    finally:
        stop(proc)
    lines += proc.stderr.read().splitlines()
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert re.search(rb"did not arrive within 0.5 seconds \([0-6] of 100 bytes came\)", reply)
    assert health.json() == {"status": "ok"}
    (left,) = [line for line in lines if "disconnected" in line]
    assert left.startswith("glassnet: POST /predict: the client 127.0.0.1:")
    assert re.search(r"\([0-6] of 100 bytes came\)", left)  # as many as came before the end
    assert not [line for line in lines if "Traceback" in line or "ERROR" in line], lines


def test_wrong_routes_and_methods_are_json_too(service):
    _, client, _ = service
    assert client.get("/nowhere").status_code == 404
    assert "no route /nowhere" in client.get("/nowhere").json()["error"]
    assert client.get("/predict").status_code == 405
    assert client.delete("/health").json() == {"error": "DELETE is not allowed on /health"}


def test_it_keeps_serving_a_burst_of_concurrent_requests(service, frame):
    model, _, url = service
    good = records(frame, 4)
    expected = list(model.predict(frame.head(4)))

    async def burst():
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            gate = asyncio.Semaphore(64)

            async def one(i):
                async with gate:
                    if i % 5 == 4:  # a malformed request now and then
                        r = await client.post("/predict", content=b"[{", headers=JSON)
                        return r.status_code, None
                    r = await client.post("/predict", json=good)
                    return r.status_code, r.json()["predictions"]

            return await asyncio.gather(*(one(i) for i in range(250)))

    answers = asyncio.run(burst())
    assert sum(status == 200 for status, _ in answers) == 200
    assert all(p == expected for status, p in answers if status == 200)
    assert all(status == 400 for status, p in answers if p is None)
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/health").status_code == 200


def test_a_bare_network_file_is_served_as_rows_of_numbers(tmp_path):
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], input_size=2, seed=0)
    net.save(tmp_path / "net.glassnet")
    proc, url = start(tmp_path / "net.glassnet")
    try:
        got = httpx.post(f"{url}/predict", json=[[1.0, 2.0], [0.5, -1.0]], timeout=30).json()
    finally:
        stop(proc)
    np.testing.assert_allclose(got["predictions"], net.predict([[1.0, 2.0], [0.5, -1.0]]))


def test_start_up_problems_are_one_line_errors(tmp_path, capsys):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    net = gn.Network([gn.Dense(1)], input_size=2)
    net.save(tmp_path / "net.glassnet")
    (tmp_path / "notes.txt").write_text("not a model\n")
    try:
        for args, fragment in (
            (["--port", busy.getsockname()[1]], "cannot listen on 127.0.0.1:"),
            (["--port", "70000"], "--port must be"),
            (["--max-rows", "0"], "--max-rows must be"),
            (["--max-body", "-5"], "--max-body must be"),
            (["--body-timeout", "0"], "--body-timeout must be"),
            (["--body-timeout", "nan"], "--body-timeout must be"),
            (["--host", "no such host"], "cannot listen on no such host"),
        ):
            result = call(capsys, "serve", tmp_path / "net.glassnet", *args)
            assert_one_line_error(result, fragment)
        for path in (tmp_path / "missing.glassnet", tmp_path / "notes.txt"):
            assert_one_line_error(call(capsys, "serve", path), path.name)
    finally:
        busy.close()


# --- the access log, the log level, the workers ------------------------------------------------


ACCESS_LINE = re.compile(
    r'^glassnet: 127\.0\.0\.1:\d+ "(GET|POST) (/\S*)" (\d{3}) (\d+) bytes \d+\.\d\d ms$'
)


def requests_and_log(model_file, *options, **popen):
    """Serve ``model_file``, send three requests, stop; returns the answers and every
    line the command wrote on stderr."""
    proc, url = start(model_file, *options, **popen)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            answers = [
                client.get("/health"),
                client.post("/predict", json=[[1.0, 2.0], [3.0, 4.0]]),
                client.post("/predict", content=b"[{", headers=JSON),
            ]
    finally:
        stop(proc)
    return answers, proc.stderr.read().splitlines()


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], input_size=2, seed=0)
    path = tmp_path_factory.mktemp("net") / "net.glassnet"
    net.save(path)
    return net, path


def test_each_request_is_one_access_log_line_on_stderr(net_file):
    _, path = net_file
    answers, lines = requests_and_log(path)
    access = [ACCESS_LINE.match(line) for line in lines if ACCESS_LINE.match(line)]
    assert [(m[1], m[2], int(m[3]), int(m[4])) for m in access] == [
        ("GET", "/health", 200, len(answers[0].content)),
        ("POST", "/predict", 200, len(answers[1].content)),
        ("POST", "/predict", 400, len(answers[2].content)),
    ]
    # uvicorn's own access log is off: no second line for any request
    assert [line for line in lines if "/health" in line or "/predict" in line] == [
        m.group() for m in access
    ]
    assert not [line for line in lines if "Traceback" in line]


def test_no_access_log(net_file):
    _, path = net_file
    answers, lines = requests_and_log(path, "--no-access-log")
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert not [line for line in lines if "/health" in line or "/predict" in line], lines


def free_port_start(*args, attempts=5):
    """Start ``glassnet serve`` on a port chosen here (for options that hide the
    'serving on' line); returns (process, base URL) once /health answers."""
    for _ in range(attempts):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "glassnet.cli", "serve", *map(str, args), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    return proc, url
            time.sleep(0.05)
        stop(proc)
        err = proc.stderr.read()
        if "cannot listen" not in err:  # another program took the port meanwhile: again
            raise AssertionError(f"glassnet serve did not start: {err}")
    raise AssertionError("no free port")


def test_log_level_warning_shows_neither_notes_nor_access_lines(net_file):
    _, path = net_file
    proc, url = free_port_start(path, "--log-level", "warning")
    try:
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
        assert httpx.post(f"{url}/predict", json=[[1.0, 2.0]], timeout=30).status_code == 200
    finally:
        stop(proc)
    assert proc.stderr.read() == ""


def test_log_level_debug_shows_uvicorns_messages_too(net_file):
    _, path = net_file
    _, lines = requests_and_log(path, "--log-level", "debug")
    assert len([line for line in lines if ACCESS_LINE.match(line)]) == 3
    assert any("Started server process" in line for line in lines), lines  # uvicorn's own


def processes():
    """{pid: (parent pid, state, command line)} of the processes on this machine."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry)] = (int(parent), state, command)
    return found


def descendants(pid):
    """The live processes below ``pid``: {pid: command line}."""
    table = processes()
    below, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, state, command) in table.items():
            if ppid == parent and child not in below and state != "Z":
                below[child] = command
                todo.append(child)
    return below


def still_running(pids):
    table = processes()
    return [pid for pid in pids if pid in table and table[pid][1] != "Z"]


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_workers_answer_together_and_all_stop(net_file, tmp_path, how):
    net, path = net_file
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if how == "SIGTERM":  # and /metrics counts every worker's requests
        (tmp_path / "metrics").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    proc, url = start(path, "--workers", "2", env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len([c for c in descendants(proc.pid).values() if "spawn_main" in c]) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, "no 2 workers"
            time.sleep(0.05)
        rows = [[1.0, 2.0], [0.5, -1.0]]
        answers = [httpx.post(f"{url}/predict", json=rows, timeout=60) for _ in range(8)]
        for answer in answers:  # each on a connection of its own: either worker's
            assert answer.status_code == 200, answer.text
            np.testing.assert_allclose(answer.json()["predictions"], net.predict(rows))
        if how == "SIGTERM":
            deadline = time.monotonic() + 120
            while True:
                text = httpx.get(f"{url}/metrics", timeout=60).text
                counted = re.search(
                    r'^glassnet_requests_total\{endpoint="/predict",method="POST",'
                    r'status="200"\} (\S+)$',
                    text,
                    re.MULTILINE,
                )
                if counted and float(counted[1]) == 8:
                    break
                assert time.monotonic() < deadline, text
                time.sleep(0.05)
            assert re.search(r"^glassnet_rows_predicted_total 16\.0$", text, re.MULTILINE)
        below = descendants(proc.pid)
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:  # a terminal's Ctrl-C: SIGINT to the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        status = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read()
    assert status == (-signal.SIGTERM if how == "SIGTERM" else 130), err
    if how == "Ctrl-C":
        assert err.splitlines()[-1] == "glassnet: interrupted"
    deadline = time.monotonic() + 120
    while still_running(below):  # the workers (and multiprocessing's helper) end too
        assert time.monotonic() < deadline, f"left running: {still_running(below)}"
        time.sleep(0.05)
    assert "Traceback" not in err and "ERROR" not in err, err


def test_worker_start_up_problems_are_one_line_errors(tmp_path, capsys, monkeypatch):
    net = gn.Network([gn.Dense(1)], input_size=2)
    net.save(tmp_path / "net.glassnet")
    (tmp_path / "notes.txt").write_text("not a model\n")
    for path in (tmp_path / "missing.glassnet", tmp_path / "notes.txt"):
        assert_one_line_error(call(capsys, "serve", path, "--workers", "2"), path.name)
    for args, fragment in (
        (["--workers", "0"], "--workers must be a positive number"),
        (["--log-level", "loud"], "invalid choice: 'loud'"),
    ):
        assert_one_line_error(call(capsys, "serve", tmp_path / "net.glassnet", *args), fragment)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "nowhere"))
    result = call(capsys, "serve", tmp_path / "net.glassnet", "--workers", "2")
    assert_one_line_error(result, "PROMETHEUS_MULTIPROC_DIR=", "is not a folder")
