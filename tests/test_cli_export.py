"""glassnet export: every kind of model file to ONNX, run in onnxruntime; what it refuses."""

import os
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")

import glassnet as gn  # noqa: E402
from test_cli import assert_one_line_error, call, glassnet  # noqa: E402


def session(path):
    onnx.checker.check_model(str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    frame = pd.read_csv("examples/iris.csv")
    model = gn.TabularModel.fit(frame, "species", epochs=20)
    model.save(folder / "iris.glassnet")
    return folder, frame, model


def test_a_command_line_model_exports_with_its_preprocessing(iris):
    folder, frame, model = iris
    run = glassnet("export", folder / "iris.glassnet", folder / "iris.onnx")
    assert run.returncode == 0, run.stderr
    assert "inputs: sepal_length, sepal_width, petal_length, petal_width" in run.stderr
    features = frame.drop(columns=["species"])
    dtype = model.network.dtype  # the graph's float type: the model's own
    feeds = {name: features[[name]].to_numpy(dtype=dtype) for name in features}
    label, proba = session(folder / "iris.onnx").run(None, feeds)
    np.testing.assert_array_equal(label, model.predict(frame))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba, model.predict_proba(frame), rtol=rtol, atol=rtol * 1e-3)


def test_float32_on_request_and_an_existing_onnx_file_is_replaced(iris, capsys):
    folder, frame, _ = iris
    out = folder / "small.onnx"
    assert call(capsys, "export", folder / "iris.glassnet", out)[0] == 0
    code, _, err = call(capsys, "export", folder / "iris.glassnet", out, "--dtype", "float32")
    assert code == 0, err
    assert {i.type for i in session(out).get_inputs()} == {"tensor(float)"}


def test_networks_and_estimator_files_export_too(tmp_path, capsys):
    pytest.importorskip("sklearn")
    X = np.random.default_rng(0).normal(size=(40, 3))
    net = gn.Network([gn.Dense(4, "leaky_relu"), gn.Dense(2, "softmax")], input_size=3)
    net.save(tmp_path / "net.glassnet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = gn.MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=5).fit(
            X, X[:, 0] ** 2
        )
    est.save(tmp_path / "est.glassnet")
    for name, expected in (("net", net.predict(X)), ("est", est.predict(X)[:, None])):
        code, _, err = call(
            capsys, "export", tmp_path / f"{name}.glassnet", tmp_path / f"{name}.onnx"
        )
        assert code == 0, err
        (out,) = session(tmp_path / f"{name}.onnx").run(None, {"X": X})
        np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_it_never_overwrites_the_model_or_a_file_that_is_not_onnx(iris, tmp_path, capsys):
    folder, _, _ = iris
    model = folder / "iris.glassnet"
    before = model.read_bytes()
    assert_one_line_error(
        call(capsys, "export", model, model), "is the same file as the model file"
    )
    notes = tmp_path / "notes.onnx"
    notes.write_text("my notes\n")
    assert_one_line_error(call(capsys, "export", model, notes), "is not an ONNX file")
    assert notes.read_text() == "my notes\n" and model.read_bytes() == before
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    assert_one_line_error(call(capsys, "export", model, fifo), "is not a regular file")
    assert_one_line_error(
        call(capsys, "export", tmp_path / "none.glassnet", tmp_path / "x.onnx"), "none.glassnet"
    )
    assert_one_line_error(
        call(capsys, "export", model, tmp_path / "no" / "x.onnx"), "does not exist"
    )
    assert not (tmp_path / "x.onnx").exists()
