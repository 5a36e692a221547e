"""TabularModel: honest training from any table, predictions and errors, the model file."""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.tabular import OverfittingWarning, PreprocessingError
from modelfile_tools import edit_document

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 120
    data = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    data["label"] = np.where(data["x"] + (data["kind"] == "a") > 0.5, "high", "low")
    return data


@pytest.fixture(scope="module")
def fitted(frame):
    model = gn.TabularModel.fit(frame, "label", hidden=(8,), epochs=40, seed=1)
    return model, model.history


def test_fit_records_its_training(fitted):
    model, history = fitted
    assert model.info["epochs"] == 40 == history.epochs
    assert model.info["task"] == "classification"
    assert model.info["validation_rows"] == 24 and model.info["stratified"]
    assert model.info["kinds"] == {"x": "numeric", "kind": "categorical"}
    assert 0.8 < model.info["train_metrics"]["accuracy"] <= 1


def test_preprocessing_is_fitted_on_the_training_rows_only():
    rng = np.random.default_rng(3)
    n = 200
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": 3 * x + rng.normal(size=n)})
    standard = gn.TabularModel.fit(frame, "y", hidden=(4,), epochs=2, seed=5, scaling="standard")
    robust = gn.TabularModel.fit(frame, "y", hidden=(4,), epochs=2, seed=5, ensemble=1)
    # the same split, drawn the same way, gives the training rows
    order = np.random.default_rng(5).permutation(n)
    train = np.sort(order[40:])
    column = standard.features.columns[0]
    assert column["mean"] == pytest.approx(x[train].mean(), rel=1e-12)
    assert column["std"] == pytest.approx(x[train].std(), rel=1e-12)
    q25, median, q75 = np.quantile(x[train], [0.25, 0.5, 0.75])
    column = robust.features.columns[0]
    assert (column["mean"], column["std"]) == pytest.approx((median, q75 - q25), rel=1e-12)
    for model in (standard, robust):
        assert model.target.mean == pytest.approx(frame["y"].to_numpy()[train].mean(), rel=1e-12)
    assert model.features.columns[0]["mean"] != pytest.approx(x.mean(), rel=1e-6)


def test_the_validation_split_is_stratified():
    labels = np.array(["rare"] * 10 + ["common"] * 90)
    frame = pd.DataFrame({"x": np.arange(100.0), "y": labels})
    model = gn.TabularModel.fit(frame, "y", hidden=(2,), epochs=1, val_split=0.2)
    from glassnet.tabular.recipe import split_rows

    classes = model.target.class_indices(labels)
    train, val = split_rows(100, 0.2, np.random.default_rng(0), classes)
    assert len(val) == 20 and sorted(np.bincount(classes[val])) == [2, 18]
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 100


def test_early_stopping_restores_the_best_epoch_and_reports_it(frame):
    model = gn.TabularModel.fit(
        frame, "label", recipe="small", hidden=(8,), epochs=500, lr=0.05, patience=5
    )
    history = model.history
    assert history.stopped_early
    best = history.best_epoch
    assert model.info["restored_epoch"] == best + 1
    assert model.info["epoch_val_loss"] == min(history.val_loss)
    assert model.info["epoch_loss"] == history.loss[best]
    X, _ = model.transform(frame)
    y = model.target.encode(frame["label"].to_numpy())
    from glassnet.tabular.recipe import split_rows

    _, val = split_rows(len(frame), 0.2, np.random.default_rng(0), y)
    assert model.network.evaluate(X[val], y[val], loss="cross_entropy") == pytest.approx(
        min(history.val_loss), rel=1e-9
    )


def test_the_default_recipe_keeps_the_epoch_of_fewest_validation_errors(frame):
    """As RealMLP does for a classification: every epoch of the budget runs, and the
    weights kept are the first epoch with the fewest misclassified validation rows."""
    model = gn.TabularModel.fit(frame, "label", ensemble=1, epochs=12)
    history = model.history
    errors = history.metrics["val_error"]
    assert history.epochs == 12 and not history.stopped_early
    assert history.best_epoch == errors.index(min(errors))
    X, _ = model.transform(frame)
    y = model.target.encode(frame["label"].to_numpy())
    from glassnet.tabular.recipe import split_rows

    _, val = split_rows(len(frame), 0.2, np.random.default_rng(0), y)
    wrong = model.network.predict(X[val]).argmax(axis=1) != y[val]
    assert wrong.mean() == min(errors)


def test_overfitting_without_early_stopping_is_warned():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    frame["y"] = rng.choice(["a", "b"], 60)  # noise: nothing to learn but the rows
    with pytest.warns(OverfittingWarning, match="validation loss rose from .* the model overfits"):
        model = gn.TabularModel.fit(
            frame, "y", recipe="small", hidden=(64, 64), epochs=300, lr=0.01, early_stopping=False
        )
    assert model.info["warnings"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverfittingWarning)
        gn.TabularModel.fit(frame, "y", recipe="small", hidden=(64, 64), epochs=300, lr=0.01)


def test_labels_come_back_exactly_as_written():
    frame = {
        "x": np.arange(8.0),
        "code": np.array(["001", "002"] * 4, dtype=object),
        "float": np.array(["0.0", "1.0"] * 4, dtype=object),
        "flag": np.array(["TRUE", "FALSE"] * 4, dtype=object),
    }
    for target in ("code", "float", "flag"):
        features = ["x"]
        model = gn.TabularModel.fit(frame, target, features=features, hidden=(2,), epochs=1)
        spelled = {str(v) for v in model.predict(frame)}
        assert spelled <= set(frame[target]), target
        assert {str(c) for c in model.classes} == set(frame[target])


@pytest.mark.parametrize("library", ["polars", "pyarrow", "records"])
def test_any_table_library(frame, fitted, library):
    model, _ = fitted
    if library == "polars":
        pl = pytest.importorskip("polars")
        table = pl.from_pandas(frame)
    elif library == "pyarrow":
        pa = pytest.importorskip("pyarrow")
        table = pa.Table.from_pandas(frame)
    else:
        table = frame.to_dict("records")
    np.testing.assert_array_equal(model.predict(table), model.predict(frame))
    np.testing.assert_allclose(model.predict_proba(table), model.predict_proba(frame))


def test_training_from_polars_equals_training_from_pandas(frame):
    pl = pytest.importorskip("polars")
    a = gn.TabularModel.fit(frame, "label", hidden=(4,), epochs=3)
    b = gn.TabularModel.fit(pl.from_pandas(frame), "label", hidden=(4,), epochs=3)
    np.testing.assert_array_equal(a.network.parameters, b.network.parameters)


@pytest.mark.parametrize(
    ("records", "fragment"),
    [
        ([{"x": 1.0}], "no column 'kind'"),
        ([{"x": "big", "kind": "a"}], "'x' was numeric in training, but row 1 holds 'big'"),
        ([{"x": None, "kind": "a"}], "'x' (1: row 1)"),
        ([{"x": float("inf"), "kind": "a"}], "'x' holds an infinite value (row 1)"),
    ],
)
def test_prediction_errors_name_the_column(fitted, records, fragment):
    model, _ = fitted
    with pytest.raises(PreprocessingError) as info:
        model.predict(records)
    assert fragment in str(info.value)


def test_a_missing_target_is_refused_or_dropped():
    frame = {"x": np.arange(10.0), "y": np.array([1.5, None, 2.5] + [3.0, 4.5] * 3 + [None])}
    with pytest.raises(
        PreprocessingError,
        match=r"'y' has missing values \(2 empty: rows 2, 10\).*drop_missing_target=True",
    ):
        gn.TabularModel.fit(frame, "y", hidden=(2,), epochs=1)
    model = gn.TabularModel.fit(frame, "y", hidden=(2,), epochs=1, drop_missing_target=True)
    assert model.info["rows"] == 8 and model.info["dropped_missing_target"] == 2


def test_imputation_never_touches_the_target():
    frame = {"x": np.array([1.0, None, 3.0, 4.0]), "y": np.array([1.0, 2.0, None, 4.0])}
    with pytest.raises(PreprocessingError) as info:
        gn.TabularModel.fit(frame, "y", hidden=(2,), epochs=1, impute=True)
    message = str(info.value)
    assert "target column 'y' has missing values (1 empty: row 3)" in message
    assert "drop_missing_target=True" in message and "impute" not in message


def test_a_feature_listed_twice_is_refused(frame):
    with pytest.raises(PreprocessingError, match="names column 'x' twice"):
        gn.TabularModel.fit(frame, "label", features=["x", "x"], epochs=1)


def test_a_huge_step_size_stops_with_non_finite_loss(frame):
    with pytest.raises(gn.NonFiniteLossError):
        gn.TabularModel.fit(frame, "label", optimizer="sgd", lr=1e300, epochs=5)


def test_huge_values_train_a_model_that_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=100) * 1e200
    frame = {"x": x, "y": (x > 0).astype(int)}
    model = gn.TabularModel.fit(frame, "y", hidden=(4,), epochs=5)
    model.save(tmp_path / "huge.glassnet")
    assert gn.load(tmp_path / "huge.glassnet").predict(frame).shape == (100,)


def test_evaluate_from_python(fitted, frame):
    model, _ = fitted
    result = model.evaluate(frame)
    assert result["rows"] == 120
    assert result["accuracy"] == pytest.approx(
        np.mean(model.predict(frame) == frame["label"].to_numpy())
    )


def test_round_trip_keeps_weights_preprocessing_and_labels(fitted, frame, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "t.glassnet")
    loaded = gn.load(tmp_path / "t.glassnet")
    assert isinstance(loaded, gn.TabularModel)
    np.testing.assert_array_equal(loaded.network.parameters, model.network.parameters)
    assert loaded.features.to_json() == model.features.to_json()
    assert loaded.classes == model.classes == ["high", "low"]
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.info["saved_at"] and loaded.info["glassnet_version"] == gn.__version__


def test_repr_html_shows_features_layers_and_target(fitted):
    model, _ = fitted
    page = model._repr_html_()
    assert "<td>x</td><td>numeric</td>" in page and "<td>kind</td><td>categorical</td>" in page
    assert "classification over 2 classes (high, low)" in page
    assert "trained for 40 epochs on 120 rows" in page
    assert model.network._repr_html_() in page


def tamper(path, change):
    path.write_bytes(edit_document(path.read_bytes(), change))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["payload"]["target"].update(classes=["only"]), "classes are invalid"),
        (lambda d: d["payload"]["target"].update(classes=["a", "a"]), "classes are invalid"),
        (lambda d: d["payload"]["features"]["columns"].pop(), "preprocessing makes"),
        (lambda d: d["payload"]["features"]["columns"][0].update(std=-1), "non-positive std"),
        (lambda d: d["payload"]["features"]["columns"][0].update(name="label"), "also a feature"),
        (lambda d: d["payload"].update(target="x"), "target description"),
        (lambda d: d["payload"].update(info=[]), "training summary"),
    ],
)
def test_tampered_preprocessing_is_a_model_file_error(fitted, tmp_path, change, fragment):
    model, _ = fitted
    path = tmp_path / "t.glassnet"
    model.save(path)
    tamper(path, change)
    with pytest.raises(gn.ModelFileError, match=fragment):
        gn.load(path)


def test_probabilities_need_a_classifier():
    frame = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) * 1.5})
    model = gn.TabularModel.fit(frame, "y", hidden=(4,), epochs=2)
    assert model.target.task == "regression"
    with pytest.raises(ValueError, match="only for a classification"):
        model.predict_proba(frame)


def test_fit_returns_the_model_trained_as_the_command_line_trains(frame):
    model = gn.TabularModel.fit(frame, "label")
    assert isinstance(model, gn.TabularModel)
    assert model.predict(frame).shape == (len(frame),)
    history = model.history
    assert model.info["validation_rows"] == 24  # 20% held out
    # early stopping watches the validation loss and keeps its best epoch's weights
    assert history.best_epoch is not None
    assert model.info["restored_epoch"] == history.best_epoch + 1
    assert model.info["epochs"] == history.epochs
    assert gn.TabularModel.fit(frame, "label", epochs=3, early_stopping=False).history.epochs == 3


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_a_seed_out_of_numpys_range_is_named(frame, seed):
    with pytest.raises(PreprocessingError, match=r"the seed must be an integer from 0 to 2\*\*32"):
        gn.TabularModel.fit(frame, "label", seed=seed)


def test_dates_of_any_year_predict_as_the_onnx_graph_computes_them():
    """The graph takes seconds since 1970 and computes the calendar itself: Python's parts,
    from text, must be the same for 9999-12-31 and the 16th century alike."""
    pytest.importorskip("onnxruntime")
    from glassnet.onnx import to_onnx
    from test_onnx import run

    rng = np.random.default_rng(0)
    n = 200
    days = rng.integers(-150_000, 2_900_000, n)  # from 1559 to 9909
    when = (np.datetime64("1970-01-01") + days.astype("timedelta64[D]")).astype(str)
    when[::9] = "9999-12-31"
    frame = pd.DataFrame({"when": when, "x": rng.normal(size=n)})
    frame["y"] = np.where((days % 7 < 3) ^ (frame["x"] > 0), "p", "q")
    model = gn.TabularModel.fit(frame, "y", epochs=20, seed=0)
    assert model.features.kinds["when"] == "datetime"
    seconds = (np.array(frame["when"], dtype="datetime64[s]").astype(np.int64)).astype(float)
    out = run(to_onnx(model), {"when": seconds[:, None], "x": frame[["x"]].to_numpy()})
    np.testing.assert_array_equal(out["label"], model.predict(frame))
    tolerance = 1e-6 if model.network.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(frame), atol=tolerance)


def test_a_constant_column_and_a_model_worse_than_the_mean_are_noted(tmp_path, capsys):
    from glassnet import cli
    from glassnet.tabular import TrainingWarning

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "const": 7.0, "same": "s", "y": rng.normal(size=300)})
    with pytest.warns(TrainingWarning) as caught:
        model = gn.TabularModel.fit(frame, "y", recipe="small", epochs=1, seed=0)
    said = [str(w.message) for w in caught if issubclass(w.category, TrainingWarning)]
    assert said[0] == (
        "columns 'const', 'same' held one value in every training row: they carry nothing to "
        "learn from; leave them out with ignore=['const', 'same']"
    )
    r2 = model.info["validation_metrics"]["r2"]
    assert r2 < 0 and said[1].startswith(f"the validation R² is {r2:.4g}, below 0: the model")
    assert "train it longer (epochs=2)" in said[1] and model.info["warnings"] == said
    assert "\ue000" in model.info["warnings_marked"][0]  # for the command line to spell
    # a column with a missing cell, or with two values, is not constant; a good fit, no note
    frame = frame.assign(const=[7.0] * 299 + [8.0], y=3 * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        model = gn.TabularModel.fit(frame.drop(columns="same"), "y", seed=0)
    assert model.info["warnings"] == []
    # the command line spells the fix its way
    frame = frame.drop(columns="same").assign(const=7.0, y=rng.normal(size=300))
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert cli.main(["train", str(tmp_path / "d.csv"), "--target", "y", "--recipe", "small",
                     "--epochs", "1", "--quiet", "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "glassnet: warning: column 'const' held one value in every training row: it " \
        "carries nothing to learn from; leave it out with --ignore const\n" in err  # fmt: skip
