"""glassnet train --dask, on a real two-worker LocalCluster (worker processes, one thread each).

The cluster is started once for the module; the command line reaches it by its scheduler
address, in this process. One test runs ``--dask local:2`` in a subprocess, which starts
and closes a cluster of its own.
"""

import contextlib
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet import cli

IRIS = Path(__file__).parent.parent / "examples" / "iris.csv"

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from glassnet.dask.tabular import fit_table, read_files  # noqa: E402
from glassnet.tabular import FeatureEncoder, TargetEncoder, read_table  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(c, set_as_default=False)
    try:
        yield c, client
    finally:
        client.close()
        c.close()


@pytest.fixture(scope="module")
def client(cluster):
    return cluster[1]


@pytest.fixture(scope="module")
def address(cluster):
    return cluster[0].scheduler_address


def table(n=240, seed=0) -> pd.DataFrame:
    """Numbers, codes spelt with leading zeros, booleans, dates, a few empty cells, and a
    three-class label one of whose spellings is ``001``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 1e3 + 5e3
    z = rng.normal(size=n)
    code = rng.choice(["001", "01", "1", "abc"], size=n)
    flag = rng.choice(["true", "FALSE"], size=n)
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    label = np.where(x + 800 * z > 5e3, "001", np.where(code == "abc", "b", "c"))
    frame = pd.DataFrame(
        {
            "x": [f"{v:.6f}" for v in x],
            "z": [f"{v:.6f}" for v in z],
            "code": code,
            "flag": flag,
            "day": day.strftime("%Y-%m-%d"),
            "label": label,
            "amount": [f"{v:.4f}" for v in 3 * x + z],
        }
    )
    frame.loc[[5, 77, 200], "z"] = ""
    frame.loc[[9, 150], "code"] = ""
    return frame


def write_parts(frame, folder, kind: str, sizes=(70, 90, 80)):
    """The frame in consecutive files part-0, part-1, ... (CSV text, or Parquet of text)."""
    folder.mkdir(exist_ok=True)
    start = 0
    for i, size in enumerate(sizes):
        part = frame.iloc[start : start + size]
        start += size
        if kind == "csv":
            part.to_csv(folder / f"part-{i}.csv", index=False)
        else:
            part.replace("", None).to_parquet(folder / f"part-{i}.parquet", index=False)
    return str(folder / f"part-*.{kind}")


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def in_memory_concat(pattern) -> pd.DataFrame:
    return pd.concat([read_table(p) for p in read_files(pattern).paths], ignore_index=True)


def assert_same_columns(ours: FeatureEncoder, theirs: FeatureEncoder) -> None:
    assert [c["name"] for c in ours.columns] == [c["name"] for c in theirs.columns]
    for a, b in zip(ours.columns, theirs.columns):
        assert a["kind"] == b["kind"], a["name"]
        if a["kind"] == "categorical":
            assert a["categories"] == b["categories"] and a["fill"] == b["fill"]
        elif a["kind"] == "datetime":
            for pa, pb in zip(a["parts"], b["parts"]):
                assert pa["part"] == pb["part"]
                assert rel(pa["mean"], pb["mean"]) < 1e-12 and rel(pa["std"], pb["std"]) < 1e-12
        else:
            assert rel(a["mean"], b["mean"]) < 1e-12 and rel(a["std"], b["std"]) < 1e-12


# -- the statistics are those of one pass over all the rows ---------------------------------


def test_statistics_over_a_csv_glob_equal_the_in_memory_encoders(client, tmp_path):
    pattern = write_parts(table(), tmp_path / "csv", "csv")
    data = read_files(pattern)
    assert data.frame.npartitions == 3
    model = fit_table(data, "label", impute=True, val_split=0, epochs=1, client=client)
    whole = in_memory_concat(pattern)
    names = [c for c in whole.columns if c != "label"]
    expected = FeatureEncoder(impute=True).fit(whole, names)
    assert_same_columns(model.features, expected)
    kinds = model.features.kinds
    assert kinds == {
        "x": "numeric",
        "z": "numeric",
        "code": "categorical",
        "flag": "boolean",
        "day": "datetime",
        "amount": "numeric",
    }
    assert model.features.columns[2]["categories"] == ["001", "01", "1", "abc"]  # as spelt
    assert model.classes == TargetEncoder.fit("label", whole["label"]).classes == ["001", "b", "c"]


@pytest.mark.parametrize(("lone", "task"), [(None, "classification"), (7, "regression")])
def test_the_task_counts_each_value_over_every_partition(client, tmp_path, lone, task):
    """5 is seen once in the first file and once in the last: a class, as in memory. A
    whole number seen once in all the files (7) makes the target a number."""
    rng = np.random.default_rng(3)
    visits = [5, *rng.choice([0, 1, 2, 3], size=238).tolist(), 5]
    if lone is not None:
        visits[120] = lone
    frame = pd.DataFrame({"x": rng.normal(size=240), "visits": visits})
    assert TargetEncoder.infer_task(frame["visits"].to_numpy()) == task
    data = read_files(write_parts(frame, tmp_path / "csv", "csv"))
    model = fit_table(data, "visits", val_split=0, epochs=1, client=client)
    assert model.target.task == task


def test_csv_glob_lbfgs_equals_in_memory_lbfgs_and_the_split_holds_out_each_class(client, tmp_path):
    pattern = write_parts(table(seed=1).drop(columns=["amount"]), tmp_path / "csv", "csv")
    model = fit_table(
        read_files(pattern),
        "label",
        hidden=(5,),
        activation="tanh",
        impute=True,
        val_split=0,
        epochs=12,
        seed=4,
        client=client,
    )
    history = model.history
    whole = in_memory_concat(pattern)
    enc = FeatureEncoder(impute=True).fit(whole, [c for c in whole.columns if c != "label"])
    X, _ = enc.transform(whole)
    y = model.target.encode(whole["label"])
    net = gn.Network([gn.Dense(5, "tanh"), gn.Dense(3, "softmax")], seed=4)
    same = net.fit(X, y, loss="cross_entropy", optimizer="lbfgs", epochs=12)
    assert history.epochs == same.epochs
    assert rel(model.network.parameters, net.parameters) < 1e-8
    np.testing.assert_allclose(history.loss, same.loss, rtol=1e-9)
    # With a split: a quarter of each partition's rows of each class.
    held = fit_table(read_files(pattern), "label", impute=True, val_split=0.25, epochs=2,
                        client=client)  # fmt: skip
    info = held.info
    assert info["training_rows"] + info["validation_rows"] == 240
    assert 55 <= info["validation_rows"] <= 65 and info["stratified"]
    assert set(info["validation_metrics"]) == {"accuracy"}


def test_the_default_recipe_starts_from_the_training_rows(client, tmp_path):
    # 240 rows, all training (fewer than START_ROWS: the start looks at every one); a rate
    # of 1e-9 keeps the start through the one epoch
    pattern = write_parts(table(seed=2).drop(columns=["amount"]), tmp_path / "csv", "csv")
    model = fit_table(read_files(pattern), "label", recipe="default", optimizer="adam",
                      impute=True, val_split=0, epochs=1, lr=1e-9, seed=3,
                      client=client)  # fmt: skip
    X, _ = model.transform(in_memory_concat(pattern))
    net = model.network
    first = next(i for i, layer in enumerate(net.layers) if isinstance(layer, gn.Dense))
    z = net.activations(X.astype(np.float64))[first]
    # Dense(init="data") scales each unit's z to a standard deviation of 1 over the rows
    np.testing.assert_allclose(z.std(axis=0), 1, rtol=1e-2)


def test_the_default_recipe_keeps_the_epoch_of_fewest_validation_errors(client, tmp_path):
    pattern = write_parts(table(seed=2).drop(columns=["amount"]), tmp_path / "csv", "csv")
    model = fit_table(read_files(pattern), "label", recipe="default", optimizer="adam",
                      impute=True, val_split=0.25, epochs=4, seed=3, client=client)  # fmt: skip
    errors = model.history.metrics["val_error"]
    assert len(errors) == 4 and all(0 <= e <= 1 for e in errors)
    # the kept weights are those of the fewest errors, which the validation rows confirm
    accuracy = model.info["validation_metrics"]["accuracy"]
    assert accuracy == pytest.approx(1 - min(errors), abs=1e-12)


# -- the real command line ------------------------------------------------------------------


def test_local_2_on_a_parquet_glob_through_the_command_line(tmp_path):
    frame = table(seed=2).drop(columns=["amount", "code"])
    frame.loc[[5, 77, 200], "z"] = "0.5"
    frame = frame.astype({"x": float, "z": float})  # numbers in Parquet, labels as text
    pattern = write_parts(frame, tmp_path / "pq", "parquet")
    out = tmp_path / "m.glassnet"
    args = [pattern, "--target", "label", "--dask", "local:2", "--hidden", "6", "--activation",
            "tanh", "--val-split", "0", "--no-early-stopping", "--epochs", "15",
            "--out", out]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "train", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "on a Dask cluster: 2 workers, 3 partitions" in result.stdout
    # the cluster's own default, and the way to the in-memory one, said once it trained
    assert "glassnet: on a cluster the recipe is small, trained by L-BFGS" in result.stderr
    assert "--recipe default --optimizer adam trains the in-memory default" in result.stderr
    model = gn.load(out)
    whole = in_memory_concat(pattern)
    enc = FeatureEncoder().fit(whole, [c for c in whole.columns if c != "label"])
    assert_same_columns(model.features, enc)
    X, _ = enc.transform(whole)
    net = gn.Network([gn.Dense(6, "tanh"), gn.Dense(3, "softmax")], seed=0)
    net.fit(X, model.target.encode(whole["label"]), loss="cross_entropy", optimizer="lbfgs",
            epochs=15)  # fmt: skip
    assert rel(model.network.parameters, net.parameters) < 1e-8
    assert list(model.predict(whole)) == list(model.target.decode(net.predict(X)))
    inspect = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "inspect", str(out)], capture_output=True, text=True
    )
    assert "LBFGS" in inspect.stdout and "label: classification over 3 classes" in inspect.stdout


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_on_a_running_scheduler_with_adam(capsys, address, tmp_path):
    pattern = write_parts(table(seed=3), tmp_path / "csv", "csv")
    out = tmp_path / "m.glassnet"
    code, stdout, err = run(capsys, "train", pattern, "--target", "amount", "--dask", address,
                            "--optimizer", "adam", "--lr", "0.01", "--epochs", "3", "--impute",
                            "--val-split", "0", "--quiet", "--out", out)  # fmt: skip
    assert code == 0, err
    assert "(regression) on 240 rows" in stdout and "strategy average" in stdout
    model = gn.load(out)
    whole = in_memory_concat(pattern)
    target = TargetEncoder.fit("amount", whole["amount"])  # the scale of all training rows
    assert model.target.task == "regression"
    assert rel(model.target.mean, target.mean) < 1e-12 and rel(model.target.std, target.std) < 1e-12
    assert model.info["optimizer"].startswith("Adam") and model.info["cluster"]["workers"] == 2
    code, stdout, _ = run(capsys, "evaluate", out, pattern.replace("*", "1"))
    assert code == 0 and "rmse" in stdout.lower()


# -- errors -----------------------------------------------------------------------------------


def one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_a_scheduler_that_is_not_there_is_an_error_within_seconds(capsys, tmp_path):
    pattern = write_parts(table(), tmp_path / "csv", "csv")
    started = time.monotonic()
    code, _, err = run(capsys, "train", pattern, "--target", "label", "--dask",
                       "tcp://127.0.0.1:9", "--out", tmp_path / "m.glassnet")  # fmt: skip
    assert time.monotonic() - started < 20
    one_line_error(code, err, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "m.glassnet").exists()


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--report", "r.html"], ["--report", "cannot apply with --dask"]),
        (["--lr", "0.1"], ["--lr cannot apply to --optimizer lbfgs"]),
        (["--batch-size", "64", "--strategy", "sync"], ["--batch-size, --strategy cannot"]),
        (["--dask", "local:0"], ["at least 1"]),
        (["--dask", "not an address"], ["scheduler address such as tcp://"]),
    ],
)
def test_options_that_cannot_apply_with_dask_are_named(capsys, tmp_path, extra, fragments):
    pattern = write_parts(table(), tmp_path / "csv", "csv")
    args = ["train", pattern, "--target", "label", "--dask", "local:1", *extra]
    one_line_error(*run(capsys, *args)[::2], *fragments)


def test_options_of_dask_alone_are_refused_without_it(capsys):
    code, _, err = run(capsys, "train", IRIS, "--target", "species", "--strategy",
                       "sync")  # fmt: skip
    one_line_error(code, err, "--strategy", "give --dask")
    code, _, err = run(capsys, "train", "-", "--target", "s", "--dask", "local:1")
    one_line_error(code, err, "not standard input")


def test_files_that_cannot_be_read_together(capsys, tmp_path):
    def train(pattern):
        return run(capsys, "train", pattern, "--target", "label", "--dask", "local:1")[::2]

    one_line_error(*train(str(tmp_path / "nothing-*.parquet")), "no files match")
    frame = table()
    pattern = write_parts(frame, tmp_path / "pq", "parquet")
    frame.iloc[:10].drop(columns=["z"]).to_parquet(tmp_path / "pq" / "part-9.parquet")
    one_line_error(*train(pattern), "do not share one schema", "part-9.parquet", "'z'")
    numbers = frame.iloc[:10].assign(x=np.arange(10.0))
    numbers.replace("", None).to_parquet(tmp_path / "pq" / "part-9.parquet", index=False)
    one_line_error(*train(pattern), "column 'x' is large_string in", "double in")
    csvs = write_parts(frame, tmp_path / "csv", "csv")
    frame.iloc[:5].rename(columns={"x": "X"}).to_csv(tmp_path / "csv" / "part-9.csv", index=False)
    one_line_error(*train(csvs), "do not share one schema", "part-9.csv", "'X'")
    (tmp_path / "csv" / "part-9.csv").unlink()
    frame.to_parquet(tmp_path / "csv" / "part-8.parquet")
    one_line_error(*train(csvs.replace(".csv", ".*")), "not all of one format")


def test_data_errors_name_the_column_the_file_and_its_line(capsys, client, address, tmp_path):
    frame = table()
    pattern = write_parts(frame, tmp_path / "csv", "csv")
    base = ["train", pattern, "--dask", address, "--out", tmp_path / "m.glassnet"]
    one_line_error(*run(capsys, *base, "--target", "nope")[::2], "no target column 'nope'")
    # Missing values without --impute: every column, with its lines in its file.
    code, _, err = run(capsys, *base, "--target", "label", "--val-split", "0")
    one_line_error(
        code, err, "'z' (3 empty: part-0.csv line 7, part-1.csv line 9, part-2.csv line 42)",
        "'code' (2 empty: part-0.csv line 11, part-1.csv line 82)",
    )  # fmt: skip
    # Text in a column of numbers, in the second file only: read as one pass would read it.
    broken = frame.copy()
    broken.loc[100, "x"] = "oops"
    pattern = write_parts(broken, tmp_path / "broken", "csv")
    code, _, err = run(capsys, "train", pattern, "--dask", address, "--target", "label",
                       "--impute", "--val-split", "0")  # fmt: skip
    one_line_error(code, err, "'x' holds numbers, but also the text 'oops' (part-1.csv line 32)")
    # A missing target, numbered by file.
    frame.loc[[3, 150], "label"] = ""
    pattern = write_parts(frame, tmp_path / "target", "csv")
    code, _, err = run(capsys, "train", pattern, "--dask", address, "--target", "label",
                       "--impute")  # fmt: skip
    one_line_error(
        code, err, "'label' has missing values (2 empty: part-0.csv line 5, part-1.csv line 82)"
    )
    model = fit_table(read_files(pattern), "label", impute=True, drop_missing_target=True,
                         val_split=0, epochs=1, client=client)  # fmt: skip
    assert model.info["rows"] == 238 and model.info["dropped_missing_target"] == 2


# -- the page: docs/scaling.md ------------------------------------------------------------------


def test_the_scaling_page_s_commands_and_python_run_as_printed(
    capsys, client, address, tmp_path, monkeypatch
):
    """The --dask commands of docs/scaling.md, with the module's cluster (by its address) in
    place of local:2, and its Python block on that cluster."""
    import re
    import shlex
    import shutil

    import glassnet.dask

    page = (Path(__file__).parent.parent / "docs" / "scaling.md").read_text()
    section = page.split("### From files, on the command line\n")[1].split("\n## ")[0]
    commands = re.findall(r"```sh\n(.*?)```", section, flags=re.S)[0].strip().splitlines()
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (tmp_path / "examples").mkdir()
    for name in ("iris.csv", "new_flowers.csv"):
        shutil.copy(IRIS.parent / name, tmp_path / "examples" / name)
    monkeypatch.chdir(tmp_path)
    make, train, predict = (shlex.split(c) for c in commands)
    assert make[:2] == [".venv/bin/python", "-c"]
    exec(make[2], {})
    assert train[:2] == [".venv/bin/glassnet", "train"] and "local:2" in train
    train = [address if a == "local:2" else a for a in train]
    code_, out, err = run(capsys, *train[1:], "--quiet")
    assert code_ == 0, err
    assert "on a Dask cluster: 2 workers, 3 partitions" in out
    code_, out, err = run(capsys, *predict[1:])
    assert code_ == 0, err
    assert out.splitlines() == ["species", "setosa", "versicolor", "virginica"]
    printed = io.StringIO()
    with client.as_current(), contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/scaling.md", "exec"), {"glassnet": glassnet})
    expected = re.findall(r"^print\(.*\)\s+# (.*)$", code, flags=re.M)
    assert printed.getvalue().splitlines() == expected
    assert gn.load("flowers.glassnet").info["cluster"]["partitions"] == 3


def test_ctrl_c_while_training_on_a_cluster_is_one_line_and_keeps_the_model(tmp_path):
    """Ctrl-C cuts the client's gathers short: asyncio reported each as "Task exception
    was never retrieved" with a traceback before "glassnet: interrupted"."""
    import signal
    import threading

    frame = table(seed=3).drop(columns=["amount", "code"]).astype({"x": float})
    frame["z"] = pd.to_numeric(frame["z"]).fillna(0.5)
    pattern = write_parts(frame, tmp_path / "pq", "parquet")
    out = tmp_path / "m.glassnet"
    out.write_bytes(b"")  # an empty file, which a finished run would replace
    args = [pattern, "--target", "label", "--dask", "local:1", "--recipe", "default", "--optimizer",
            "adam", "--no-early-stopping", "--epochs", "100000", "--out", out]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "glassnet.cli", "train", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    err, training = bytearray(), threading.Event()

    def read():
        while chunk := process.stderr.read1(4096):
            err.extend(chunk)
            if b"0/100000" in err:  # the first epoch is starting on the cluster
                training.set()
        training.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert training.wait(timeout=300) and process.poll() is None, err.decode()
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=30)
    text = err.decode()
    assert status == 130, text
    assert "Traceback" not in text and "never retrieved" not in text, text
    assert text.replace("\r", "\n").rstrip("\n").split("\n")[-1] == "glassnet: interrupted"
    assert out.read_bytes() == b""


def test_a_missing_dask_extra_is_one_line_and_another_import_error_is_glassnet_s(
    capsys, monkeypatch, tmp_path
):
    pattern = write_parts(table(seed=4), tmp_path / "csv", "csv")
    args = ("train", pattern, "--target", "label", "--dask", "local:1", "--out", tmp_path / "m")
    for name in ("glassnet.dask", "glassnet.dask.tabular"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were absent
    code, _, err = run(capsys, *args)
    assert code == 2 and err == (
        "glassnet: error: glassnet.dask needs Dask and dask.distributed: pip install "
        "'glassnet[dask]'\n"
    )
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "glassnet.dask.tabular", None)  # a module of its own
    code, _, err = run(capsys, *args)
    assert code == 70 and "internal error" in err and "pip install" not in err, err
