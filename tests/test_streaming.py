"""Training from a data file read in chunks: the statistics, the split, the shuffle buffer,
the streamed epochs, the command line's --stream and --memory-budget, and partial_fit."""

import math
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.tabular import PreprocessingError, Recipe, TabularModel, TargetEncoder
from glassnet.tabular.columns import as_columns
from glassnet.tabular.reading import iter_chunks, read_table
from glassnet.tabular.streaming import (
    RowSplit,
    ShuffleBuffer,
    gather_statistics,
    memory_bound,
)
from glassnet.training import fit_stream

pd = pytest.importorskip("pandas")

from test_cli import call  # noqa: E402


def _problem(n, seed):
    """Two numbers, a category, a boolean and a date; a class that depends on them, and a
    regression target far from zero (so a naive streamed variance would lose digits)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(3.0, 2.0, size=n)
    town = rng.choice(["north", "south", "east", "001"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    score = a * b / 2 + (town == "north") - (town == "001") * 1.5
    label = np.where(score > 0.6, "high", np.where(score > -0.2, "mid", "low"))
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "town": town,
            "member": rng.choice(["true", "false"], size=n),
            "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "label": label,
            "price": 1e9 + 1000 * score + rng.normal(size=n),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    train, test = folder / "train.csv", folder / "test.csv"
    _problem(3000, 0).to_csv(train, index=False)
    _problem(1000, 1).to_csv(test, index=False)
    return train, test


def _recipe(target, **options):
    """Every column but the two targets is a feature."""
    return Recipe(ignore=["price" if target == "label" else "label"], **options)


# -- the first pass --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["label", "price"])
def test_statistics_equal_the_in_memory_ones_whatever_the_chunk_size(files, target):
    path, _ = files
    whole = as_columns(read_table(str(path)))
    held = RowSplit(0.2, seed=3, stratify=target == "label").held_out(whole[target])
    train = np.flatnonzero(~held)
    names = ["a", "b", "town", "member", "day"]
    encoder = _recipe(target, val_split=0.2, seed=3).feature_encoder()  # robust scaling
    expected_features = encoder.fit(whole.take(train), names).to_json()
    expected_target = TargetEncoder.fit(target, whole[target], scale_rows=train).to_json()
    positions = None
    for chunk_rows in (29, 700, 5000):
        stats = gather_statistics(
            str(path), target, _recipe(target, val_split=0.2, seed=3), chunk_rows=chunk_rows
        )
        got = stats.features.to_json()
        for mine, theirs in zip(got["columns"], expected_features["columns"]):
            assert mine.keys() == theirs.keys()
            for key, value in theirs.items():
                if isinstance(value, float):
                    assert mine[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
                elif key == "parts":
                    for p, q in zip(mine[key], value):
                        assert p["mean"] == pytest.approx(q["mean"], rel=1e-12)
                        assert p["std"] == pytest.approx(q["std"], rel=1e-12)
                else:
                    assert mine[key] == value, key
        target_json = stats.target.to_json()
        if target == "label":
            assert target_json == expected_target
        else:
            assert target_json["mean"] == pytest.approx(expected_target["mean"], rel=1e-15)
            assert target_json["std"] == pytest.approx(expected_target["std"], rel=1e-12)
        if positions is not None:
            np.testing.assert_array_equal(stats.validation_positions, positions)
        positions = stats.validation_positions
    np.testing.assert_array_equal(positions, np.flatnonzero(held))


def test_target_partial_fit_keeps_classes_as_spelled_in_a_stable_order():
    values = np.array(["b", "001", "10", "1", "2", "TRUE", "1.0", "b", "a"], dtype=object)
    whole = TargetEncoder.fit("y", values)
    assert whole.classes == [1, 2, 10, "001", "TRUE", "a", "b"]  # "1" and "1.0": one class
    for size in (1, 2, 4):
        enc = TargetEncoder("y", "auto")
        for s in range(0, len(values), size):
            enc.partial_fit(values[s : s + size])
        assert enc.finish().classes == whole.classes


def test_target_partial_fit_regression_scale_is_stable_far_from_zero():
    rng = np.random.default_rng(0)
    values = 1e12 + rng.normal(size=10_001)
    enc = TargetEncoder("y", "regression")
    for s in range(0, len(values), 333):
        enc.partial_fit(values[s : s + 333])
    enc.finish()
    exact_mean = math.fsum(values) / len(values)
    exact_std = math.sqrt(math.fsum((values - exact_mean) ** 2) / len(values))
    assert enc.mean == pytest.approx(exact_mean, rel=1e-15)
    assert enc.std == pytest.approx(exact_std, rel=1e-9)
    # the task is decided from everything seen: 21 distinct integers are a regression
    ints = TargetEncoder("y", "auto")
    for s in range(0, 42, 5):
        ints.partial_fit(np.arange(42)[s : s + 5] % 21)
    assert ints.finish().task == "regression"
    assert TargetEncoder.fit("y", np.arange(42) % 20).task == "classification"


# -- the split and the buffer ----------------------------------------------------------------


def test_the_split_is_the_same_whatever_the_chunks_and_stratified():
    rng = np.random.default_rng(0)
    labels = rng.choice(np.array(["x", "y", "z"], dtype=object), p=[0.7, 0.25, 0.05], size=5000)
    whole = RowSplit(0.2, seed=1).held_out(labels)
    cuts = np.sort(rng.choice(np.arange(1, 5000), size=60, replace=False))
    split = RowSplit(0.2, seed=1)
    pieces = [split.held_out(part) for part in np.split(labels, cuts)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    for label in "xyz":
        rows = labels == label
        assert abs(whole[rows].sum() - 0.2 * rows.sum()) <= rows.sum() / 100 + 1
    assert not np.array_equal(RowSplit(0.2, seed=2).held_out(labels), whole)
    single = RowSplit(0.5, seed=0).held_out(np.array(["a", "b", "b", "b", "b"], dtype=object))
    assert not single[0]  # a class's first row is always trained on


def test_the_shuffle_buffer_lets_every_row_out_once_in_a_new_order():
    buffer = ShuffleBuffer(50, np.random.default_rng(0))
    X = np.arange(300, dtype=np.float64)[:, None]
    out = []
    for s in range(0, 300, 40):
        got = buffer.push(X[s : s + 40], X[s : s + 40, 0].astype(np.int64))
        assert buffer.fill <= 50
        if got is not None:
            np.testing.assert_array_equal(got[0][:, 0], got[1])  # rows and targets together
            out.append(got[1])
    out.append(buffer.drain()[1])
    seen = np.concatenate(out)
    np.testing.assert_array_equal(np.sort(seen), np.arange(300))
    assert np.mean(seen[:40] >= 40) > 0.3  # the first rows out are not the first rows in


def test_fit_stream_cuts_the_same_batches_as_fit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(103, 3)), rng.normal(size=(103, 1))

    def net():
        return gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0)

    a, b = net(), net()
    h1 = a.fit(X, y, loss="mse", optimizer=gn.Adam(0.01), epochs=3, batch_size=10, shuffle=False)
    cuts = [0, 7, 30, 31, 80, 103]
    h2 = fit_stream(
        b,
        lambda: ((X[s:e], y[s:e]) for s, e in zip(cuts, cuts[1:])),
        loss="mse",
        optimizer=gn.Adam(0.01),
        epochs=3,
        batch_size=10,
    )
    np.testing.assert_allclose(b.parameters, a.parameters, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h2.loss, h1.loss, rtol=1e-13)
    np.testing.assert_allclose(h2.sample_loss, h1.sample_loss, rtol=1e-13)
    with pytest.raises(ValueError, match="3 features, but the network expects 2"):
        fit_stream(gn.Network([gn.Dense(1)], input_size=2), lambda: [(X, y)], batch_size=4)
    with pytest.raises(ValueError, match="LBFGS"):
        fit_stream(net(), lambda: [(X, y)], optimizer="lbfgs")


# -- training on a file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(files):
    path, test = files
    options = dict(recipe="small", epochs=40, patience=5, features=["a", "b", "town"])
    stream = TabularModel.fit_stream(str(path), "label", chunk_rows=256, buffer_rows=512, **options)
    history = stream.history
    memory = TabularModel.fit(read_table(str(path)), "label", **options)
    return stream, history, memory, read_table(str(test))


def test_streamed_training_reaches_the_in_memory_accuracy(trained):
    stream, history, memory, test = trained
    streamed = stream.evaluate(test)["accuracy"]
    in_memory = memory.evaluate(test)["accuracy"]
    assert in_memory > 0.85
    assert streamed >= in_memory - 0.03  # the tolerance docs/scaling.md states
    assert stream.info["training_rows"] + stream.info["validation_rows"] == 3000
    assert stream.info["validation_rows"] == pytest.approx(600, abs=10)
    # early stopping restored the best epoch, as in memory
    kept = history.best_epoch
    assert kept is not None and stream.info["restored_epoch"] == kept + 1
    assert history.val_loss[kept] == min(history.val_loss)


def test_a_streamed_model_file_is_an_ordinary_model_file(trained, tmp_path):
    stream, _, _, test = trained
    stream.save(tmp_path / "m.glassnet")
    loaded = gn.load(tmp_path / "m.glassnet")
    assert isinstance(loaded, TabularModel)
    np.testing.assert_array_equal(loaded.predict(test), stream.predict(test))


def test_validation_rows_are_bounded(files):
    path, _ = files
    model = TabularModel.fit_stream(
        str(path), "price", epochs=1, chunk_rows=500, max_validation_rows=50
    )
    assert model.info["validation_rows"] == 50
    assert model.info["training_rows"] == 2950  # the other held-out rows are trained on
    assert model.info["streamed"]["held_out_rows"] == pytest.approx(600, abs=10)
    assert model.target.task == "regression"


def test_memory_bound_counts_chunk_buffer_and_validation():
    base = memory_bound(10, 5, chunk_rows=1000, buffer_rows=1000, validation_rows=1000)
    assert memory_bound(10, 5, 2000, 1000, 1000) - base == 1000 * (5 * 350 + 4 * 10 * 8 + 80)
    assert memory_bound(10, 5, 1000, 2000, 1000) - base == 1000 * 10 * 8
    assert memory_bound(10, 5, 1000, 1000, 2000) - base == 1000 * 10 * 8


# -- bad input -------------------------------------------------------------------------------


def _with_bad_cell(tmp_path, row, value, column="a", n=1600):
    frame = _problem(n, 2)
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def _first_row(after, held_out):
    """The first row past ``after`` that the default split trains on, or holds out."""
    labels = _problem(1600, 2)["label"].to_numpy(dtype=object)
    mask = RowSplit(0.2, seed=0).held_out(labels)
    return int(np.flatnonzero(mask[after:] == held_out)[0]) + after


@pytest.mark.parametrize("held_out", [False, True])
def test_a_bad_cell_deep_in_the_file_names_its_line_and_column(tmp_path, held_out):
    # chunks of 5 rows: row 1580 starts chunk 317. The survey reads every row, training or
    # held out, before anything is fitted
    row = _first_row(1580, held_out)
    path = _with_bad_cell(tmp_path, row, "oops")
    with pytest.raises(PreprocessingError, match=rf"'a'.*'oops' \(line {row + 2}\)"):
        TabularModel.fit_stream(str(path), "label", chunk_rows=5, epochs=1)


def test_a_missing_cell_deep_in_the_file_is_named(tmp_path):
    path = _with_bad_cell(tmp_path, 1590, None, column="town")
    with pytest.raises(PreprocessingError, match=r"'town'.*line 1592"):
        TabularModel.fit_stream(str(path), "label", chunk_rows=50, epochs=1)


# -- the command line ------------------------------------------------------------------------


def test_train_stream_on_the_command_line(capsys, files, tmp_path):
    path, test = files
    model = tmp_path / "m.glassnet"
    code, out, err = call(
        capsys,
        "train", path, "--target", "label", "--stream", "--chunk-rows", "700",
        "--buffer-rows", "300", "--epochs", "3", "--out", model, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "streamed from the file in chunks of 700 rows, through a shuffle buffer of 300" in out
    assert gn.load(model).info["streamed"]["chunk_rows"] == 700
    code, out, _ = call(capsys, "evaluate", model, test)
    assert code == 0 and "accuracy" in out
    code, out, _ = call(capsys, "predict", model, test)
    assert code == 0 and len(out.splitlines()) == 1001
    code, out, _ = call(capsys, "inspect", model)
    assert code == 0 and "town" in out


def test_memory_budget_switches_to_streaming_and_says_so(capsys, files, tmp_path):
    path, _ = files
    model = tmp_path / "m.glassnet"
    args = ["train", path, "--target", "label", "--epochs", "1", "--out", model]
    code, out, err = call(capsys, *args, "--memory-budget", "100KiB")  # a note: not --quiet
    assert code == 0, err
    assert "more than --memory-budget 100.0 KiB: streaming in chunks of 65536 rows" in err
    assert "streamed" in gn.load(model).info
    # each pass before training says what it did, so a large file is never silent
    rows = gn.load(model).info["rows"]
    passes = [line for line in err.splitlines() if "pass" in line and "--memory" not in line]
    assert passes[0] == f"glassnet: reading {path}: its survey and statistics (two passes " \
        "before training)"  # fmt: skip
    assert re.fullmatch(rf"glassnet: {rows} rows surveyed and measured in [\d.]+ s; now the "
                        r"validation rows \(a third pass\)", passes[1])  # fmt: skip
    assert passes[2].startswith("glassnet: ") and "validation rows encoded in" in passes[2]
    code, out, err = call(capsys, *args, "--memory-budget", "2GiB")
    assert code == 0, err
    assert "streaming" not in err and "streamed" not in gn.load(model).info


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--memory-budget", "lots"], "--memory-budget takes a size such as 2GiB"),
        (["--stream", "--chunk-rows", "0"], "--chunk-rows must be at least 1"),
        (["--stream", "--batch-size", "full"], "--batch-size full needs the data in memory"),
        (["--stream", "--report", "r.html"], "--report needs the data in memory"),
        (["--stream", "--dask", "local:2"], "leave them out with --dask"),
    ],
)
def test_streaming_options_are_checked(capsys, files, tmp_path, extra, fragment):
    path, _ = files
    code, _, err = call(
        capsys, "train", path, "--target", "label", "--out", tmp_path / "m.glassnet", *extra
    )
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


# -- partial_fit -----------------------------------------------------------------------------


def test_partial_fit_on_chunks(files):
    path, test = files
    model = TabularModel.untrained("label", hidden=(16,), features=["a", "b", "town"], lr=0.01)
    for _ in range(3):
        for chunk in iter_chunks(str(path), chunk_rows=500):
            model.partial_fit(chunk, epochs=10)  # 10 passes of its two batches of 256
    assert model.evaluate(read_table(str(test)))["accuracy"] > 0.8  # 0.868 here
    assert model.info["partial_fit_calls"] == 18
    # the first call fixed the preprocessing from that chunk alone
    first = as_columns(next(iter_chunks(str(path), chunk_rows=500)))
    alone = Recipe().feature_encoder().fit(first, ["a", "b", "town"]).to_json()
    assert model.features.to_json() == alone


def test_partial_fit_after_a_first_pass_and_its_errors(files):
    path, _ = files
    model = TabularModel.untrained("label", features=["a", "b"])
    model.fit_statistics(iter_chunks(str(path), chunk_rows=700))
    whole = as_columns(read_table(str(path)))
    expected = Recipe().feature_encoder().fit(whole, ["a", "b"]).to_json()["columns"]
    for mine, theirs in zip(model.features.to_json()["columns"], expected):
        assert mine["mean"] == pytest.approx(theirs["mean"], rel=1e-12)
        assert mine["std"] == pytest.approx(theirs["std"], rel=1e-12)
    assert model.classes == ["high", "low", "mid"]

    first_only = TabularModel.untrained("label", features=["a"])
    first_only.partial_fit({"a": [1.0, 2.0, 3.0], "label": ["x", "y", "x"]})
    with pytest.raises(PreprocessingError, match=r"'label' holds 'z' \(row 2\)"):
        first_only.partial_fit({"a": [1.0, 2.0], "label": ["x", "z"]})
    with pytest.raises(PreprocessingError, match="TabularModel.untrained"):
        model_from_file = TabularModel.fit(
            {"a": [1.0, 2, 3, 4], "y": [1, 2, 3, 5.5]}, "y", epochs=1
        )
        model_from_file.partial_fit({"a": [1.0], "y": [2.0]})


def test_the_scaling_page_s_commands_run_as_printed(capsys, tmp_path, monkeypatch):
    """The commands of docs/scaling.md's 'Data larger than memory', as printed."""
    import re
    import shlex
    import shutil
    from pathlib import Path

    root = Path(__file__).parent.parent
    page = (root / "docs" / "scaling.md").read_text()
    section = page.split("### Data larger than memory\n")[1].split("\n### ")[0]
    (commands,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    (tmp_path / "examples").mkdir()
    shutil.copy(root / "examples" / "iris.csv", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for line in commands.strip().splitlines():
        words = shlex.split(line)
        assert words[0] == ".venv/bin/glassnet"
        code, out, err = call(capsys, *words[1:])
        assert code == 0, (line, err)
        outputs.append((out, err))
    assert "streamed from the file in chunks of 40 rows" in outputs[0][0]
    assert "streamed" not in outputs[1][0] and "streaming" not in outputs[1][1]
    assert "accuracy" in outputs[2][0]


def test_rows_without_a_target_are_dropped_or_named(tmp_path):
    path = _with_bad_cell(tmp_path, 700, None, column="label", n=800)
    with pytest.raises(
        PreprocessingError, match=r"'label' has missing values \(1 empty: line 702\)"
    ):
        TabularModel.fit_stream(str(path), "label", chunk_rows=64, epochs=1)
    model = TabularModel.fit_stream(
        str(path), "label", chunk_rows=64, epochs=1, drop_missing_target=True
    )
    assert model.info["dropped_missing_target"] == 1 and model.info["rows"] == 799
    with pytest.raises(TypeError, match="'where'"):
        TabularModel.fit_stream(str(path), "label", where=("line", 2))


def test_parquet_streams_in_record_batches_with_the_same_split(files, tmp_path):
    path, _ = files
    parquet = tmp_path / "train.parquet"
    read_table(str(path)).astype({"a": float, "b": float}).to_parquet(parquet)
    from_csv = gather_statistics(str(path), "label", _recipe("label"), chunk_rows=1000)
    from_parquet = gather_statistics(str(parquet), "label", _recipe("label"), chunk_rows=384)
    np.testing.assert_array_equal(from_parquet.validation_positions, from_csv.validation_positions)
    for mine, theirs in zip(from_parquet.features.columns, from_csv.features.columns):
        if mine["kind"] == "numeric":
            assert mine["mean"] == pytest.approx(theirs["mean"], rel=1e-12)
    model = TabularModel.fit_stream(str(parquet), "label", chunk_rows=500, epochs=1)
    assert model.info["rows"] == 3000


def test_a_last_chunk_of_rows_without_a_target_is_dropped_like_any_other(tmp_path):
    rows = ["x,y"] + [f"{i},{'ab'[i % 2]}" for i in range(30)] + [f"{i}," for i in range(9)]
    path = tmp_path / "tail.csv"
    path.write_text("\n".join(rows) + "\n")
    for chunk_rows in (3, 7, 9, 30):  # the last chunks hold only rows without a target
        model = TabularModel.fit_stream(
            str(path), "y", chunk_rows=chunk_rows, epochs=1, drop_missing_target=True
        )
        assert model.info["rows"] == 30 and model.info["dropped_missing_target"] == 9
    with pytest.raises(PreprocessingError, match=r"\(9 empty: lines 32, 33, 34, 35, 36 and 4 more"):
        TabularModel.fit_stream(str(path), "y", chunk_rows=7, epochs=1)


@pytest.mark.parametrize("words", [3, 33])
def test_streamed_and_in_memory_training_read_a_column_alike(tmp_path, words):
    """A column of numbers that turns to text after 7 rows: categories when the text is most
    of it, a question when it is a few cells; the same whatever the chunks."""
    z = [str(i) for i in range(7)] + [f"w{i % 3}" for i in range(words)]
    z += [str(i) for i in range(40 - len(z))]
    frame = pd.DataFrame({"x": np.arange(40.0), "z": z, "y": ["a", "b"] * 20})
    path = tmp_path / "turn.csv"
    frame.to_csv(path, index=False)
    outcomes = []
    for fit in (
        lambda: TabularModel.fit(read_table(str(path)), "y", epochs=1, where=("line", 2)),
        lambda: TabularModel.fit_stream(str(path), "y", chunk_rows=5, epochs=1),
    ):
        try:
            outcomes.append(fit().features.kinds)
        except PreprocessingError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    if words == 33:
        assert outcomes[0] == {"x": "numeric", "z": "categorical"}
    else:
        assert outcomes[0].startswith("'z' holds numbers, but also the text 'w0', 'w1', 'w2'")
