"""TabularModel: training from a table, and its model file round trip."""

import numpy as np
import pytest

import glassnet as gn
from modelfile_tools import edit_document

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "kind": rng.choice(["a", "b"], n),
        }
    )
    frame["label"] = np.where(frame["x"] + (frame["kind"] == "a") > 0.5, "high", "low")
    model, history = gn.TabularModel.fit(frame, "label", hidden=(8,), epochs=40, seed=1)
    return model, history, frame


def test_fit_records_its_training(fitted):
    model, history, _ = fitted
    assert model.info["epochs"] == 40 == history.epochs
    assert model.info["task"] == "classification"
    assert model.info["validation_rows"] == 24
    assert 0.8 < model.info["train_metrics"]["accuracy"] <= 1


def test_round_trip_keeps_weights_preprocessing_and_labels(fitted, tmp_path):
    model, _, frame = fitted
    model.save(tmp_path / "t.glassnet")
    loaded = gn.load(tmp_path / "t.glassnet")
    assert isinstance(loaded, gn.TabularModel)
    np.testing.assert_array_equal(loaded.network.parameters, model.network.parameters)
    assert loaded.features.to_json() == model.features.to_json()
    assert loaded.classes == model.classes == ["high", "low"]
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.info["saved_at"] and loaded.info["glassnet_version"] == gn.__version__


def tamper(path, change):
    path.write_bytes(edit_document(path.read_bytes(), change))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["payload"]["target"].update(classes=["only"]), "classes are invalid"),
        (lambda d: d["payload"]["features"]["columns"].pop(), "preprocessing makes"),
        (lambda d: d["payload"]["features"]["columns"][0].update(std=-1), "non-positive std"),
        (lambda d: d["payload"].update(target="x"), "target description"),
    ],
)
def test_tampered_preprocessing_is_a_model_file_error(fitted, tmp_path, change, fragment):
    model, _, _ = fitted
    path = tmp_path / "t.glassnet"
    model.save(path)
    tamper(path, change)
    with pytest.raises(gn.ModelFileError, match=fragment):
        gn.load(path)


def test_probabilities_need_a_classifier():
    frame = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) * 1.5})
    model, _ = gn.TabularModel.fit(frame, "y", hidden=(4,), epochs=2)
    assert model.target.task == "regression"
    with pytest.raises(ValueError, match="only for a classification"):
        model.predict_proba(frame)
