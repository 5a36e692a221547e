"""Files are never lost: outputs checked before the work, written atomically, never an input;
usage errors on one line; names from files escaped; closed pipes handled (Ctrl-C:
test_cli_interrupts.py)."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import glassnet as gn
from test_cli import assert_one_line_error, call, glassnet, inproc

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A small classification file and a model trained on it."""
    folder = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)})
    frame["y"] = np.where(frame["a"] > 0, "yes", "no")
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    model = folder / "model.glassnet"
    result = inproc("train", data, "--target", "y", "--epochs", "3", "--quiet", "--out", model)
    assert result.returncode == 0, result.stderr
    return folder, data, model


def snapshot(*paths):
    return {p: p.read_bytes() for p in paths}


# --- nothing is ever replaced by accident ---------------------------------------------------


def test_train_out_equal_to_the_data_is_refused(work, tmp_path):
    _, data, _ = work
    copy = tmp_path / "data.csv"
    copy.write_bytes(data.read_bytes())
    before = snapshot(copy)
    result = glassnet("train", copy, "--target", "y", "--out", copy, "--quiet")
    assert_one_line_error(result, "is the same file as the training data")
    assert snapshot(copy) == before


def test_a_hard_link_or_symlink_to_an_input_is_the_same_file(work, tmp_path):
    _, data, model = work
    link = tmp_path / "preds.csv"
    os.link(data, link)
    before = snapshot(data)
    assert_one_line_error(inproc("predict", model, data, "--out", link), "same file as the data")
    sym = tmp_path / "sym.glassnet"
    sym.symlink_to(data)
    assert_one_line_error(
        inproc("train", data, "--target", "y", "--out", sym, "--quiet"),
        "same file as the training data",
    )
    assert snapshot(data) == before


def test_train_refuses_to_replace_a_file_that_is_not_a_model(work, tmp_path):
    _, data, _ = work
    other = tmp_path / "notes.csv"
    other.write_text("precious,data\n1,2\n")
    result = inproc("train", data, "--target", "y", "--out", other, "--quiet", "--epochs", "1")
    assert_one_line_error(
        result, f"--out: refusing to replace {other}: not a glassnet model file (it is text"
    )
    assert other.read_text() == "precious,data\n1,2\n"


def test_train_replaces_an_older_model(work, tmp_path):
    _, data, model = work
    target = tmp_path / "m.glassnet"
    target.write_bytes(model.read_bytes())
    result = inproc("train", data, "--target", "y", "--out", target, "--quiet", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert gn.load(target).info["epochs"] == 2


def test_predict_out_that_is_the_model_or_the_data_is_refused(work):
    _, data, model = work
    before = snapshot(data, model)
    assert_one_line_error(glassnet("predict", model, data, "--out", data), "same file as the data")
    assert_one_line_error(
        glassnet("predict", model, data, "--out", model), "cannot write .glassnet"
    )
    assert snapshot(data, model) == before


def test_predict_refuses_to_overwrite_a_model_under_a_csv_name(work, tmp_path):
    _, data, model = work
    disguised = tmp_path / "model.csv"
    disguised.write_bytes(model.read_bytes())
    assert_one_line_error(
        inproc("predict", model, data, "--out", disguised), "is a glassnet model file"
    )
    assert disguised.read_bytes() == model.read_bytes()


@pytest.mark.parametrize("name", ["preds.json", "preds.xlsx", "preds"])
def test_predict_refuses_formats_it_cannot_write(work, tmp_path, name):
    _, data, model = work
    result = inproc("predict", model, data, "--out", tmp_path / name)
    assert_one_line_error(result, "give a name ending in .csv, .tsv or .parquet")
    assert not (tmp_path / name).exists()


def test_predict_writes_parquet_and_tsv(work, tmp_path):
    _, data, model = work
    for name in ("p.parquet", "p.tsv"):
        result = inproc("predict", model, data, "--out", tmp_path / name, "--proba")
        assert result.returncode == 0, result.stderr
    table = pd.read_parquet(tmp_path / "p.parquet")
    tsv = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(table.columns) == ["y", "proba_no", "proba_yes"] == list(tsv.columns)
    np.testing.assert_allclose(table["proba_yes"], tsv["proba_yes"])


def test_a_failed_prediction_leaves_the_old_output_as_it_was(work, tmp_path):
    folder, data, model = work
    out = tmp_path / "preds.csv"
    out.write_text("y\nold predictions\n")
    bad = tmp_path / "bad.csv"
    rows = pd.read_csv(data)
    rows["a"] = rows["a"].astype(object)
    rows.loc[100, "a"] = "oops"  # late in the file: the first chunks are already written
    rows.to_csv(bad, index=False)
    result = glassnet("predict", model, bad, "--out", out, "--chunk-rows", "16")
    assert_one_line_error(result, "'a' was numeric in training, but line 102 holds 'oops'")
    assert out.read_text() == "y\nold predictions\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_predict_replaces_earlier_predictions_and_nothing_else(work, tmp_path):
    """The predictions of an earlier run are replaced; a data file, notes, or a file that
    is no table are refused before anything is read, and stay as they were."""
    folder, data, model = work
    out = tmp_path / "preds.csv"
    assert inproc("predict", model, data, "--out", out, "--keep", "a").returncode == 0
    assert inproc("predict", model, data, "--out", out, "--keep", "a").returncode == 0
    assert out.read_text().startswith("a,y\n")
    # a feature kept then, not now: the file holds inputs this run would lose
    assert_one_line_error(inproc("predict", model, data, "--out", out),
                          "holds the model's feature columns 'a'")  # fmt: skip
    copy = tmp_path / "copy.csv"  # a data file: features and the target
    copy.write_bytes(data.read_bytes())
    notes, parquet = tmp_path / "notes.csv", tmp_path / "p.parquet"
    notes.write_text("who,what\nme,everything\n")
    parquet.write_text("y\nnot parquet\n")
    for path, why in [(copy, "holds the model's feature columns 'a', 'b'"),
                      (notes, "it has no column 'y', as this model's predictions have; its "
                              "columns: 'who', 'what'"),
                      (parquet, "it cannot be read as a table")]:  # fmt: skip
        before = path.read_bytes()
        result = inproc("predict", model, data, "--out", path)
        assert_one_line_error(result, f"--out {path} exists and is not this model's predictions",
                              why, "refusing to replace it")  # fmt: skip
        assert path.read_bytes() == before
    empty = tmp_path / "empty.parquet"
    empty.touch()  # nothing to lose
    assert inproc("predict", model, data, "--out", empty).returncode == 0
    assert inproc("predict", model, data, "--out", empty, "--proba").returncode == 0


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--plot", "loss.txt", "cannot draw a .txt file"),
        ("--plot", "missing/loss.png", "does not exist"),
        ("--out", "missing/m.glassnet", "does not exist"),
        ("--out", "/dev/null", "not a regular file"),
        ("--out", ".", "is a folder"),
    ],
)
def test_train_checks_every_output_before_training(work, flag, value, fragment):
    folder, data, _ = work
    started = time.perf_counter()
    result = inproc(
        "train",
        data,
        "--target",
        "y",
        "--epochs",
        "100000",
        "--no-early-stopping",
        flag,
        value,
        cwd=folder,
    )
    assert_one_line_error(result, fragment)
    assert time.perf_counter() - started < 60  # refused, not trained for 100000 epochs


def test_out_and_plot_must_differ(work, tmp_path):
    _, data, _ = work
    same = tmp_path / "x.png"
    result = inproc("train", data, "--target", "y", "--out", same, "--plot", same)
    assert_one_line_error(result, "name the same file")


def test_the_plot_is_written_atomically_as_the_format_its_name_gives(work, tmp_path):
    pytest.importorskip("matplotlib")
    _, data, _ = work
    out = tmp_path / "m.glassnet"
    result = inproc(
        "train",
        data,
        "--target",
        "y",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        out,
        "--plot",
        tmp_path / "loss.svg",
    )
    assert result.returncode == 0, result.stderr
    assert b"<svg" in (tmp_path / "loss.svg").read_bytes()[:500]


# --- damaged and special model files --------------------------------------------------------


def test_a_flipped_byte_in_the_model_is_one_line(work, tmp_path):
    _, data, model = work
    blob = bytearray(model.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    damaged = tmp_path / "damaged.glassnet"
    damaged.write_bytes(bytes(blob))
    assert_one_line_error(glassnet("predict", damaged, data), "damaged")
    for command in (("evaluate", damaged, data), ("inspect", damaged)):
        assert_one_line_error(inproc(*command), "damaged")


def test_special_files_as_model_or_data_do_not_hang(work, tmp_path):
    _, data, model = work
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_one_line_error(glassnet("predict", fifo, data), "is a FIFO")
    assert_one_line_error(glassnet("predict", model, fifo), "is a FIFO")
    assert_one_line_error(glassnet("predict", "/dev/zero", data), "is a device")
    assert_one_line_error(glassnet("train", "/dev/zero", "--target", "y"), "device")
    assert_one_line_error(glassnet("predict", model, tmp_path), "is a folder")


def test_a_large_file_that_is_not_a_model_is_refused_by_its_header(tmp_path):
    big = tmp_path / "big.glassnet"
    with open(big, "wb") as f:
        f.write(b"\xff" * 8)
        f.seek(200 * 1024 * 1024)
        f.write(b"\0")  # sparse: 200 MiB that are never read
    started = time.perf_counter()
    assert_one_line_error(glassnet("inspect", big), "not a glassnet model file")
    assert time.perf_counter() - started < 30


# --- the terminal -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["train"],
        ["train", "d.csv"],
        ["train", "d.csv", "--target"],
        ["train", "d.csv", "--target", "y", "--epochs", "many"],
        ["predict", "m.glassnet"],
        ["predict", "m.glassnet", "d.csv", "--loud"],
        ["evaluate"],
        ["bogus"],
        [],
    ],
)
def test_a_usage_error_is_one_line_pointing_at_help(capsys, args):
    code, _, err = call(capsys, *args)  # in-process: argparse's exits are the command's own
    assert_one_line_error((code, "", err), "--help')")
    if args and args[0] in ("train", "predict", "evaluate"):
        assert f"(see 'glassnet {args[0]} --help')" in err


def test_names_from_files_are_escaped_before_the_terminal(tmp_path):
    evil = "\x1b[31mred\x1b[0m\r"
    frame = pd.DataFrame({"a": np.arange(40.0), "y": ["ok", evil] * 20})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    result = inproc("train", tmp_path / "evil.csv", "--target", "yy", "--quiet")
    assert_one_line_error(result, "no target column 'yy'")
    model = tmp_path / "m.glassnet"
    result = inproc(
        "train", tmp_path / "evil.csv", "--target", "y", "--quiet", "--epochs", "1", "--out", model
    )
    assert result.returncode == 0, result.stderr
    for command in (("inspect", model), ("evaluate", model, tmp_path / "evil.csv")):
        result = inproc(*command)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\r" not in result.stdout
        assert "\\x1b[31mred" in result.stdout
    bad_header = tmp_path / "evil_header.csv"
    bad_header.write_text("a,\x1b]0;pwned\x07b\n1,\n")
    result = inproc("train", bad_header, "--target", "a", "--quiet")
    assert result.returncode == 2 and "\x1b" not in result.stderr and "\x07" not in result.stderr


# --- closed pipes -------------------------------------------------------------------------


def _command(*args):
    return [sys.executable, "-m", "glassnet.cli", *map(str, args)]


def test_a_closed_pipe_exits_quietly_and_the_files_are_still_written(work, tmp_path):
    pytest.importorskip("matplotlib")
    _, data, model = work
    big = tmp_path / "big.csv"
    pd.concat([pd.read_csv(data)] * 400).to_csv(big, index=False)
    reader = subprocess.Popen(["head", "-n", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    writer = subprocess.Popen(
        _command("predict", model, big, "--chunk-rows", "1000"),
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
    )
    reader.stdin.close()
    _, err = writer.communicate(timeout=300)
    assert reader.stdout.read().decode().splitlines()[0] == "y"
    reader.wait(timeout=60)
    assert writer.returncode == 0 and err == b""
    # train: the summary goes to a closed pipe, the model and the figure still get written
    out, png = tmp_path / "m.glassnet", tmp_path / "loss.png"
    train = subprocess.Popen(
        _command(
            "train", data, "--target", "y", "--epochs", "3", "--quiet", "--out", out, "--plot", png
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    train.stdout.close()  # the reader is gone before anything is printed
    err = train.stderr.read()
    assert train.wait(timeout=300) == 0 and err == b""
    assert gn.load(out).info["epochs"] == 3 and png.read_bytes()[:4] == b"\x89PNG"


def test_predictions_to_a_terminal_are_escaped(tmp_path):
    """On a terminal (a pseudo-terminal here), labels and the header's names cannot carry
    escape sequences; a pipe gets them byte for byte."""
    import pty

    evil = "\x1b[2Jgone"
    target = "y\x1b[5m"
    frame = pd.DataFrame({"a": np.arange(40.0), target: ["ok", evil] * 20})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    model = tmp_path / "m.glassnet"
    result = inproc(
        "train", tmp_path / "evil.csv", "--target", target, "--quiet", "--epochs", "1", "--out",
        model,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        _command("predict", model, tmp_path / "evil.csv", "--proba", "--keep", target),
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert process.wait(timeout=120) == 0
    shown = b"".join(chunks)
    assert b"\x1b" not in shown and b"\\x1b[2Jgone" in shown
    header = shown.splitlines()[0]
    assert header.startswith(b"y\\x1b[5m,y\\x1b[5m_predicted,proba_\\x1b[2Jgone,"), header
    piped = inproc("predict", model, tmp_path / "evil.csv", "--proba", "--keep", target)
    assert evil in piped.stdout  # a pipe: the data as it is
    assert piped.stdout.splitlines()[0].startswith(f"{target},{target}_predicted,proba_{evil},")
