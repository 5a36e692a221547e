"""glassnet in MLflow, against a real tracking store (sqlite) and loaded back in a new
process: the flavor, the pyfunc wrapper, autologging, and Pipelines through
mlflow.sklearn with skops."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
pd = pytest.importorskip("pandas")

import glassnet as gn  # noqa: E402
import glassnet.mlflow as gm  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A sqlite tracking store and an artifact folder of this module's own."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    before = mlflow.get_tracking_uri()
    environment = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("glassnet", artifact_location=(root / "art").as_uri())
    # by the environment, not mlflow.set_experiment, whose choice outlives this module in
    # the process (a later test's store has no experiment of this id)
    os.environ["MLFLOW_EXPERIMENT_ID"] = experiment
    yield uri
    gm.autolog(disable=True)
    mlflow.set_tracking_uri(before)
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:  # MLflow sets some
        del os.environ[key]
    os.environ.update(environment)


@pytest.fixture(autouse=True)
def no_autolog():
    yield
    gm.autolog(disable=True)
    while mlflow.active_run() is not None:
        mlflow.end_run()


def in_new_process(store, uri, tmp_path, code: str) -> np.ndarray:
    """Run ``code`` (which sets ``out`` from ``mlflow``, ``np`` and ``uri``) in a fresh
    interpreter on the same tracking store; what it computed, as an array."""
    script = "import mlflow, numpy as np, pandas as pd\n" + code + "\nnp.save(path, out)\n"
    path = tmp_path / "out.npy"
    env = dict(os.environ, MLFLOW_TRACKING_URI=store)
    run = subprocess.run(
        [sys.executable, "-c", f"uri, path = {str(uri)!r}, {str(path)!r}\n" + script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return np.load(path, allow_pickle=False)


def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1


def test_a_network_round_trips_bit_for_bit_in_a_new_process(store, tmp_path):
    X, y = regression_data()
    net = gn.Network([gn.Dense(6, "tanh"), gn.Dense(1)], seed=1)
    net.fit(X, y, epochs=5)
    with mlflow.start_run():
        info = gm.log_model(net, name="net")
    mlmodel = mlflow.models.get_model_info(info.model_uri)
    assert set(mlmodel.flavors) == {"glassnet", "python_function"}
    assert mlmodel.flavors["glassnet"]["kind"] == "network"
    assert mlmodel.signature.inputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 3)
    np.save(tmp_path / "X.npy", X)
    code = f"""
X = np.load({str(tmp_path / "X.npy")!r})
out = mlflow.pyfunc.load_model(uri).predict(X)
"""
    np.testing.assert_array_equal(
        in_new_process(store, info.model_uri, tmp_path, code), net.predict(X)
    )
    again = gm.load_model(info.model_uri)
    assert isinstance(again, gn.Network)
    np.testing.assert_array_equal(again.parameters, net.parameters)


def test_the_stored_model_is_the_glassnet_file_and_its_requirements(store, tmp_path):
    X, y = regression_data()
    net = gn.Network([gn.Dense(1)], seed=0)
    net.fit(X, y, epochs=2)
    path = tmp_path / "saved"
    gm.save_model(net, path, extra_pip_requirements=["something-else==1.0"])
    names = sorted(p.name for p in path.iterdir())
    assert gm.MODEL_FILE in names and not any(n.endswith((".pkl", ".pickle")) for n in names)
    assert gn.load(path / gm.MODEL_FILE).parameters.tobytes() == net.parameters.tobytes()
    requirements = (path / "requirements.txt").read_text().split()
    assert requirements[1].startswith("glassnet[io]==")
    assert any(r.startswith("numpy==") for r in requirements)
    assert requirements[-1] == "something-else==1.0"
    with pytest.raises(FileExistsError, match="new directory"):
        gm.save_model(net, path)
    with pytest.raises(TypeError, match="mlflow.sklearn.log_model"):
        gm.save_model(object(), tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_an_estimator_predicts_through_pyfunc_with_its_column_signature(store, tmp_path):
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    est = gn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(data.data, data.target)
    with mlflow.start_run():
        info = gm.log_model(est, name="est")
    signature = mlflow.models.get_model_info(info.model_uri).signature
    assert signature.inputs.input_names() == list(data.data.columns)
    assert signature.outputs.to_dict() == [{"type": "long", "name": "prediction", "required": True}]
    data.data.to_csv(tmp_path / "iris.csv", index=False)
    code = f"""
out = mlflow.pyfunc.load_model(uri).predict(pd.read_csv({str(tmp_path / "iris.csv")!r}))
"""
    out = in_new_process(store, info.model_uri, tmp_path, code)
    np.testing.assert_array_equal(out, est.predict(data.data))


def test_a_pipeline_goes_through_mlflow_sklearn_with_skops(store, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from glassnet.sklearn import SKOPS_TRUSTED_TYPES

    X, y = regression_data()
    pipe = make_pipeline(StandardScaler(), gn.MLPRegressor(max_iter=20, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipe, name="pipe", serialization_format="skops", skops_trusted_types=SKOPS_TRUSTED_TYPES
        )
    np.save(tmp_path / "X.npy", X)
    code = f"""
out = mlflow.sklearn.load_model(uri).predict(np.load({str(tmp_path / "X.npy")!r}))
"""
    np.testing.assert_array_equal(
        in_new_process(store, info.model_uri, tmp_path, code), pipe.predict(X)
    )


def test_autolog_logs_parameters_every_epoch_and_the_model(store):
    X, y = regression_data()
    gm.autolog()
    est = gn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=7, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    run = mlflow.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["max_iter"] == "7" and run.data.params["hidden_layer_sizes"] == "(5,)"
    client = mlflow.MlflowClient()
    curve = client.get_metric_history(run.info.run_id, "loss_curve")
    assert [m.step for m in curve] == list(range(7))
    assert [m.value for m in curve] == pytest.approx(est.loss_curve_, rel=0, abs=0)
    models = mlflow.search_logged_models(filter_string=f"source_run_id = '{run.info.run_id}'")
    assert len(models) == 1
    loaded = gm.load_model(f"models:/{models['model_id'][0]}")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))

    # A Network's fit inside a run the user opened: logged there, once.
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(1)], seed=0)
    with mlflow.start_run() as outer:
        history = net.fit(X, y, epochs=6, validation_data=(X, y))
    logged = client.get_run(outer.info.run_id)
    assert logged.data.params["epochs"] == "6"
    losses = client.get_metric_history(outer.info.run_id, "val_loss")
    assert [m.value for m in losses] == history.val_loss

    gm.autolog(disable=True)
    with mlflow.start_run() as quiet:
        net.fit(X, y, epochs=2)
    assert client.get_run(quiet.info.run_id).data.metrics == {}


def test_autolog_never_breaks_training(store, caplog):
    """A failure to log is a warning; the fit goes on, and a failing fit still fails."""
    X, y = regression_data()
    gm.autolog(log_models=False)
    net = gn.Network([gn.Dense(1)], seed=0)
    with pytest.raises(ValueError):
        net.fit(X, y[:5], epochs=2)
    assert mlflow.last_active_run().info.status == "FAILED"
    assert mlflow.active_run() is None


@pytest.fixture(scope="module")
def flowers():
    root = os.path.join(os.path.dirname(__file__), "..", "examples")
    return pd.read_csv(os.path.join(root, "iris.csv")), pd.read_csv(
        os.path.join(root, "new_flowers.csv")
    )


def test_a_tabular_model_predicts_through_pyfunc_as_glassnet_predict_does(store, tmp_path, flowers):
    """The pyfunc's table is the command line's, in a new process, with the signature of
    the model's columns and classes."""
    from glassnet import cli

    train, new = flowers
    model = gn.TabularModel.fit(train, "species", epochs=5)
    with mlflow.start_run():
        info = gm.log_model(model, name="flowers")
    signature = mlflow.models.get_model_info(info.model_uri).signature
    assert signature.inputs.input_names() == list(model.features.names)
    outputs = signature.outputs.to_dict()
    assert outputs[0] == {"type": "string", "name": "species", "required": True}
    assert [o["name"] for o in outputs[1:]] == [f"proba_{c}" for c in model.classes]
    new.to_csv(tmp_path / "new.csv", index=False)
    code = f"""
frame = mlflow.pyfunc.load_model(uri).predict(pd.read_csv({str(tmp_path / "new.csv")!r}),
                                              params={{"proba": True}})
out = frame.astype(str).to_numpy(dtype=str)
"""
    got = in_new_process(store, info.model_uri, tmp_path, code)
    model.save(tmp_path / "m.glassnet")
    assert cli.main(["predict", str(tmp_path / "m.glassnet"), str(tmp_path / "new.csv"),
                     "--proba", "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    want = pd.read_csv(tmp_path / "p.csv", dtype=str)
    assert got[:, 0].tolist() == want["species"].tolist()
    np.testing.assert_allclose(got[:, 1:].astype(float), want.iloc[:, 1:].astype(float), rtol=1e-15)


def test_train_mlflow_logs_a_command_line_run(store, tmp_path):
    """`glassnet train --mlflow`, the real command in its own process, on the store that
    MLFLOW_TRACKING_URI names: the options, every epoch, the final metrics, the model."""
    root = os.path.join(os.path.dirname(__file__), "..", "examples", "iris.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=store, MLFLOW_EXPERIMENT_NAME="cli")
    out = tmp_path / "cli.glassnet"
    run = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "train", root, "--target", "species",
         "--epochs", "6", "--no-early-stopping", "--out", str(out), "--mlflow", "--quiet"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    # (in tmp_path: the new experiment's artifacts go to ./mlruns, as MLflow's default)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    assert line.startswith("logged to MLflow run ") and store in line
    run_id = line.split()[4]
    client = mlflow.MlflowClient()
    logged = client.get_run(run_id)
    assert logged.data.params["target"] == "species" and logged.data.params["epochs"] == "6"
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(6))
    assert 0 <= logged.data.metrics["validation_accuracy"] <= 1
    again = gm.load_model(f"runs:/{run_id}/model")
    assert again.network.parameters.tobytes() == gn.load(out).network.parameters.tobytes()


def test_train_mlflow_without_a_store_is_one_line(tmp_path):
    root = os.path.join(os.path.dirname(__file__), "..", "examples", "iris.csv")
    env = dict(
        os.environ, MLFLOW_TRACKING_URI="http://127.0.0.1:9", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"
    )
    run = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "train", root, "--target", "species",
         "--epochs", "2", "--out", str(tmp_path / "m.glassnet"), "--mlflow", "--quiet"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2  # the command line's status for an error it explains
    assert "Traceback" not in run.stderr
    assert "the model is written, but logging to MLflow failed" in run.stderr
    assert (tmp_path / "m.glassnet").exists()


def test_the_training_table_passes_the_signature_with_integers_and_text_dates(store):
    """Columns typed as training gave them: a table's int64 columns are ``long`` (MLflow
    refuses int64 in a ``double`` column), numbers with fractions ``double``, dates given
    as text ``string``; the training table itself predicts through pyfunc. A model that
    fills missing values takes a gap anywhere, which a ``long`` column cannot hold."""
    rng = np.random.default_rng(3)
    n = 120
    frame = pd.DataFrame(
        {
            "cylinders": rng.choice([4, 6, 8], n),  # int64
            "weight": rng.normal(3.0, 0.5, n),
            "doors": rng.choice([2.0, 4.0], n),  # whole numbers as floats: float64
            "built": [
                f"{d:02d}/03/20{y:02d}"
                for d, y in zip(rng.integers(13, 29, n), rng.integers(0, 20, n))
            ],  # fmt: skip
        }
    )
    frame["mpg"] = 40 - 2.5 * frame["cylinders"] + rng.normal(0, 1, n)
    model = gn.TabularModel.fit(frame, "mpg", epochs=2)
    with mlflow.start_run():
        info = gm.log_model(model, name="cars")
    types = {c["name"]: c["type"] for c in info.signature.inputs.to_dict()}
    assert types == {"cylinders": "long", "weight": "double", "doors": "double",
                     "built": "string"}  # fmt: skip
    predicted = mlflow.pyfunc.load_model(info.model_uri).predict(frame.drop(columns="mpg"))
    np.testing.assert_array_equal(predicted["mpg"].to_numpy(float), model.predict(frame))
    with pytest.raises(mlflow.exceptions.MlflowException, match="cylinders"):
        mlflow.pyfunc.load_model(info.model_uri).predict(frame.assign(cylinders=4.5))
    imputing = gn.TabularModel.fit(frame, "mpg", epochs=2, impute=True)
    types = {c["name"]: c["type"] for c in gm.infer_signature(imputing).inputs.to_dict()}
    assert types["cylinders"] == "double"
