"""The Python API's own edges: what a table may be, what fit takes, empty tables, and
saving that never destroys a file that is not a model."""

import os

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet.modelfile import ModelFileError
from glassnet.tabular import PreprocessingError
from glassnet.tabular.columns import as_columns


@pytest.fixture(scope="module")
def model():
    frame = pd.DataFrame({"x": np.arange(40.0), "town": ["n", "s"] * 20, "y": ["a", "b"] * 20})
    return gn.TabularModel.fit(frame, "y", hidden=4, epochs=2)


def test_a_frame_made_from_an_array_trains_and_predicts_by_its_column_numbers():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3))).assign(y=np.arange(60.0))
    m = gn.TabularModel.fit(frame, "y", hidden=[4], epochs=2)
    assert m.features.names == ["0", "1", "2"]
    named = frame.head(3).rename(columns=str)  # the same columns, named as text
    np.testing.assert_array_equal(m.predict(frame.head(3)), m.predict(named))


def test_one_record_is_one_row(model):
    row = {"x": 3.0, "town": "s"}
    np.testing.assert_array_equal(model.predict_proba(row), model.predict_proba([row]))
    assert as_columns({"a": 1, "b": "x"}).n_rows == 1


def test_tables_whose_names_cannot_be_columns_are_refused_in_pandas_words():
    with pytest.raises(ValueError, match="a column name twice: 'a'; give every column"):
        as_columns(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    wide = pd.DataFrame(
        np.ones((2, 2)), columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
    )
    with pytest.raises(ValueError, match=r"tuples, such as \('a', 'x'\) \(a pandas MultiIndex\)"):
        as_columns(wide)


def test_the_target_is_a_column_name_not_its_values():
    X = pd.DataFrame({"x": np.arange(20.0)})
    with pytest.raises(TypeError, match=r"got Series; .* fit\(X.assign\(target=y\), 'target'\)"):
        gn.TabularModel.fit(X, pd.Series(np.arange(20.0)))
    with pytest.raises(TypeError, match=r"got list \(\['x'\]\)"):
        gn.TabularModel.fit(X, ["x"])


def test_hidden_takes_one_size_or_a_list_and_names_anything_else():
    frame = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0)})
    one = gn.TabularModel.fit(frame, "y", hidden=5, epochs=1)
    assert one.info["hidden"] == [5]
    units = [layer.units for layer in one.network.layers if hasattr(layer, "units")]
    assert units == [5 * one.info["ensemble"], 1]  # the ensemble's networks side by side
    for bad in ("16,16", 2.5, [16, "a"], True):
        with pytest.raises(PreprocessingError, match="a list of whole numbers such as"):
            gn.TabularModel.fit(frame, "y", hidden=bad)


def test_a_table_without_rows_has_predictions_without_rows(model):
    empty = pd.DataFrame({"x": pd.Series([], dtype=float), "town": pd.Series([], dtype=object)})
    assert model.predict(empty).shape == (0,)
    assert model.predict_proba(empty).shape == (0, 2)
    with pytest.raises(PreprocessingError, match="no rows with a target"):
        model.evaluate(empty.assign(y=pd.Series([], dtype=object)))


def test_save_never_replaces_a_file_that_is_not_a_model(model, tmp_path):
    data = tmp_path / "precious.csv"
    data.write_text("x,y\n1,2\n")
    refused = r"^refusing to replace .*precious.csv: not a glassnet model file \(it is text"
    with pytest.raises(ModelFileError, match=refused):
        model.save(data)
    assert data.read_text() == "x,y\n1,2\n"
    cut = tmp_path / "cut.glassnet"  # a damaged model: perhaps the only copy of one
    model.save(cut)
    cut.write_bytes(cut.read_bytes()[:300])
    with pytest.raises(ModelFileError, match=r"cut.glassnet: the file is truncated: its header"):
        model.save(cut)
    assert len(cut.read_bytes()) == 300
    cut.unlink()
    with pytest.raises(ModelFileError, match="is a folder"):
        model.save(tmp_path)
    with pytest.raises(ModelFileError, match="the folder .*missing does not exist"):
        model.save(tmp_path / "missing" / "m.glassnet")
    assert sorted(os.listdir(tmp_path)) == ["precious.csv"]  # nothing left behind
    path = tmp_path / "m.glassnet"
    path.touch()  # an empty file holds nothing to lose
    model.save(path)
    model.save(path)  # a model replaces a model
    np.testing.assert_array_equal(
        gn.load(path).predict_proba({"x": [1.0], "town": ["n"]}),
        model.predict_proba({"x": [1.0], "town": ["n"]}),
    )


def test_the_summary_is_the_one_train_prints_in_pythons_words(tmp_path, capsys):
    from glassnet import cli

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    frame["grade"] = np.digitize(frame["x"] + frame["z"], [-1.0, 0.0, 1.0])  # 4 whole numbers
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert cli.main(["train", str(tmp_path / "d.csv"), "--target", "grade", "--recipe", "small",
                     "--epochs", "3", "--out", str(tmp_path / "m.glassnet")]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    said = gn.load(tmp_path / "m.glassnet").summary().splitlines()
    assert said[1] == (
        "the target's 4 whole numbers are read as 4 classes; task='regression' predicts a "
        "number instead"
    )
    assert printed[1] == said[1].replace("task='regression'", "--task regression")
    python_to_flags = {"task='regression'": "--task regression", "epochs=6": "--epochs 6"}

    def as_flags(line):
        for python, flag in python_to_flags.items():
            line = line.replace(python, flag)
        return line

    assert printed[: len(said)] == [as_flags(line) for line in said]
    assert said[0].startswith("trained 2 -> 16 -> 16 -> 4 (classification) on 300 rows")
    chosen = gn.TabularModel.fit(frame, "grade", task="classification", recipe="small", epochs=2)
    assert "whole numbers are read as" not in chosen.summary()  # the task was the user's
    loaded = gn.load(tmp_path / "m.glassnet")
    with pytest.raises(PreprocessingError, match="has not been trained"):
        gn.TabularModel(loaded.network, loaded.features, loaded.target).summary()


def test_fit_shows_its_progress_when_asked(capsys):
    frame = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0)})
    model = gn.TabularModel.fit(frame, "y", epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    # one line per epoch of each of the ensemble's networks, as Network.fit(verbose=2)
    assert len(lines) == 2 * model.info["ensemble"]
    assert [line.split()[:2] for line in lines[:2]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    gn.TabularModel.fit(frame, "y", epochs=2)
    assert capsys.readouterr().out == ""
    with pytest.raises(PreprocessingError, match="verbose must be 0, 1 or 2, got 3"):
        gn.TabularModel.fit(frame, "y", verbose=3)


def test_evaluate_reads_the_words_for_missing_in_the_target_too():
    frame = pd.DataFrame({"x": np.arange(40.0), "y": ["a", "b"] * 20})
    model = gn.TabularModel.fit(frame, "y", recipe="small", epochs=2)
    rows = frame.astype(object).copy()
    rows.loc[[3, 8], "y"] = "NA"
    with pytest.raises(PreprocessingError, match=r"'y' has missing values \(rows 4, 9\)"):
        model.evaluate(rows, na_values=["NA"])
    dropped = model.evaluate(rows, na_values=["NA"], drop_missing_target=True)
    assert dropped["rows"] == 38 and dropped["unknown_classes"] == []
    assert dropped == model.evaluate(frame.drop(index=[3, 8]))


def test_a_series_or_a_number_for_a_name_is_told_what_to_give(model):
    with pytest.raises(TypeError, match="expected a table"):
        model.predict(pd.Series({"x": 1.0, "town": "n"}))
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 3)))
    with pytest.raises(TypeError, match=r"got int \(2\); its columns are named as text: give '2'"):
        gn.TabularModel.fit(frame, 2)


def test_partial_fit_trains_in_the_recipes_batches_and_has_a_summary():
    frame = pd.DataFrame({"x": np.arange(64.0), "y": ["a", "b"] * 32})
    model = gn.TabularModel.untrained("y", recipe="small")
    model.fit_statistics([frame])
    history = model.partial_fit(frame)
    assert model.info["batch_size"] == 32  # the recipe's, not one row at a time
    assert len(history.loss) == 1
    lines = model.summary().splitlines()
    assert (
        lines[0] == "trained 1 -> 16 -> 16 -> 2 (classification) by 1 partial_fit call on 64 rows"
    )
    assert lines[-1].startswith("the last call's loss: ")


def test_partial_fit_names_untrained_as_the_place_of_impute():
    full = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]})
    holed = full.assign(x=[1.0, None, 3.0, 4.0])
    for first in (holed, full):  # missing in the first chunk, or in a later one
        model = gn.TabularModel.untrained("y", recipe="small")
        if first is full:
            model.partial_fit(full)
        with pytest.raises(PreprocessingError) as caught:
            model.partial_fit(holed)
        assert "'x' (1: row 2)" in str(caught.value)
        assert "impute=True goes to TabularModel.untrained" in str(caught.value)
    model = gn.TabularModel.untrained("y", recipe="small", impute=True)
    model.partial_fit(full)
    model.partial_fit(holed)  # filled, as the model was made to
    assert model.info["rows"] == 8


def test_a_duration_is_its_number_of_seconds():
    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 3600, 200)
    frame = pd.DataFrame({"dur": pd.to_timedelta(seconds, unit="s"),
                          "y": np.where(seconds > 1800, "long", "short")})  # fmt: skip
    cols = as_columns(frame)
    np.testing.assert_array_equal(cols["dur"], seconds.astype(float))
    with_nat = as_columns({"dur": pd.to_timedelta([1.5, None], unit="s")})["dur"]
    assert with_nat[0] == 1.5 and np.isnan(with_nat[1])
    model = gn.TabularModel.fit(frame, "y", epochs=5, seed=0)
    assert model.features.kinds == {"dur": "numeric"}
    as_numbers = model.predict_proba(frame.assign(dur=seconds.astype(float)))
    np.testing.assert_array_equal(model.predict_proba(frame), as_numbers)


def test_probabilities_of_a_regression_are_refused_before_the_data_is_read():
    frame = pd.DataFrame({"x": np.arange(20.0), "price": np.arange(20.0) * 2})
    model = gn.TabularModel.fit(frame, "price", epochs=1, recipe="small", seed=0)
    said = r"probabilities exist only for a classification model; this one is a regression " \
        r"of 'price': predict gives its numbers"  # fmt: skip
    with pytest.raises(PreprocessingError, match=said):
        model.predict_proba({"x": [1.0]})
    with pytest.raises(PreprocessingError, match=said):
        model.prediction_table({"x": ["not even a number"]}, proba=True)  # before the data
    assert model.prediction_table({"x": [1.0]})[0].columns.tolist() == ["price"]
