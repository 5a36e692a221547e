"""The glassnet command, tried as a new user would, on CSV files it has never seen."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.cli.command import COMMANDS

pd = pytest.importorskip("pandas")


def glassnet(*args, input=None, cwd=None):
    """Run the real command in a subprocess (to see exactly what a user sees)."""
    return subprocess.run(
        [sys.executable, "-m", "glassnet.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        input=input,
        cwd=cwd,
    )


def validation_metrics(out: str) -> str:
    """What train's summary states of the validation rows (an ensemble's, out of fold)."""
    found = re.search(r"^validation(?: \(out of fold, \d+ rows\))?: (.*)$", out, re.M)
    assert found, out
    return found.group(1)


def inproc(*args, cwd=None):
    """Run in this process, for behaviour that is glassnet's code rather than the process's
    (quicker than a subprocess); returns what subprocess.run would."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def call(capsys, *args):
    """Run in-process; returns (exit code, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(result_or_tuple, *fragments):
    if isinstance(result_or_tuple, tuple):
        code, _, err = result_or_tuple
    else:
        code, err = result_or_tuple.returncode, result_or_tuple.stderr
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("glassnet: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def animals(tmp_path):
    """Three well-separated blobs labelled with words."""
    rng = np.random.default_rng(0)
    centres = {"cat": (0, 0), "dog": (4, 4), "bird": (-4, 4)}
    rows = []
    for label, (cx, cy) in centres.items():
        for _ in range(60):
            rows.append((cx + rng.normal(), cy + rng.normal(), label))
    frame = pd.DataFrame(rows, columns=["width", "height", "animal"]).sample(frac=1, random_state=0)
    path = tmp_path / "animals.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture
def houses(tmp_path):
    """A price that depends on a number and on a text column."""
    rng = np.random.default_rng(1)
    n = 300
    area = rng.uniform(50, 200, n)
    town = rng.choice(["north", "south", "east"], n)
    price = 1000 * area + np.select([town == "north", town == "south"], [50_000, -20_000], 0)
    price = price + rng.normal(0, 2000, n)
    frame = pd.DataFrame({"area": area, "town": town, "price": price})
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    return path, frame


# --- help -----------------------------------------------------------------------------------------


def test_help():
    result = glassnet("--help")
    assert result.returncode == 0
    for command in ("train", "predict", "evaluate", "inspect", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(capsys, command):
    code, out, _ = call(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: glassnet {command}")
    assert "%%" not in out  # a percent sign escaped for argparse where argparse does not expand


def test_help_texts_show_percent_signs_as_written(capsys):
    _, out, _ = call(capsys, "train", "--help")
    assert "By default 20% of the rows" in " ".join(out.split())
    assert "%%" not in out and "%d/%m/%Y (day first)" in " ".join(out.split())


# --- string class labels --------------------------------------------------------------------------


def test_string_class_labels(capsys, animals, tmp_path):
    path, frame = animals
    model_path = tmp_path / "animals.glassnet"
    code, out, _ = call(
        capsys,
        "train",
        path,
        "--target",
        "animal",
        "--out",
        model_path,
        "--epochs",
        "60",
        "--quiet",
    )
    assert code == 0
    assert "(classification)" in out
    assert float(validation_metrics(out).split("accuracy ")[1].split("%")[0]) > 90
    new = frame.drop(columns="animal").head(20)
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    preds_path = tmp_path / "preds.csv"
    code, _, err = call(capsys, "predict", model_path, new_path, "--out", preds_path, "--proba")
    assert code == 0
    preds = pd.read_csv(preds_path)
    assert list(preds.columns) == ["animal", "proba_bird", "proba_cat", "proba_dog"]
    assert (preds["animal"] == frame["animal"].head(20).to_numpy()).mean() > 0.9
    # float32 probabilities, each written to 8 significant digits: their sum is 1 to a
    # few float32 roundings
    np.testing.assert_allclose(preds.filter(like="proba_").sum(axis=1), 1.0, rtol=1e-6)


def test_a_command_line_model_loads_in_python_and_predicts_the_same(capsys, animals, tmp_path):
    path, frame = animals
    model_path = tmp_path / "m.glassnet"
    call(
        capsys,
        "train",
        path,
        "--target",
        "animal",
        "--out",
        model_path,
        "--epochs",
        "20",
        "--quiet",
    )
    code, out, _ = call(capsys, "predict", model_path, path, "--proba")
    assert code == 0
    from io import StringIO

    cli_preds = pd.read_csv(StringIO(out))
    model = gn.load(model_path)
    assert isinstance(model, gn.TabularModel)
    assert model.classes == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(model.predict(frame), cli_preds["animal"].to_numpy())
    # the file holds each probability as its float type writes it (float32: 8 digits)
    rtol = 1e-6 if model.network.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        model.predict_proba(frame),
        cli_preds[["proba_bird", "proba_cat", "proba_dog"]].to_numpy(),
        rtol=rtol,
    )


def test_integer_labels_stay_integers(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": (X[:, 0] > 0).astype(int) + 3})
    frame.to_csv(tmp_path / "d.csv", index=False)
    call(
        capsys,
        "train",
        tmp_path / "d.csv",
        "--target",
        "label",
        "--out",
        tmp_path / "m.glassnet",
        "--quiet",
        "--epochs",
        "30",
    )
    code, out, _ = call(capsys, "predict", tmp_path / "m.glassnet", tmp_path / "d.csv")
    assert set(out.split()[1:]) <= {"3", "4"}


# --- regression and a categorical feature ---------------------------------------------------------


def test_regression_with_a_categorical_feature(capsys, houses, tmp_path):
    path, frame = houses
    model_path = tmp_path / "houses.glassnet"
    code, out, _ = call(
        capsys,
        "train",
        path,
        "--target",
        "price",
        "--out",
        model_path,
        "--epochs",
        "300",
        "--quiet",
    )
    assert code == 0
    assert "(regression)" in out and "R²" in out and "RMSE" in out
    r2 = float(validation_metrics(out).split("R² ")[1].split(",")[0])
    assert r2 > 0.95
    model = gn.load(model_path)
    assert model.features.output_names == ["area", "town=east", "town=north", "town=south"]
    # predictions come back in the target's units (unscaled)
    predicted = model.predict(frame.head(50))
    assert abs(np.mean(predicted) - frame["price"].head(50).mean()) < 10_000


def test_inspect_shows_layers_preprocessing_training_and_weights(capsys, houses, tmp_path):
    path, _ = houses
    model_path = tmp_path / "h.glassnet"
    call(
        capsys,
        "train",
        path,
        "--target",
        "price",
        "--out",
        model_path,
        "--epochs",
        "5",
        "--quiet",
        "--recipe",
        "small",
        "--hidden",
        "3",
    )
    code, out, _ = call(capsys, "inspect", model_path, "--weights")
    assert code == 0
    assert "Network 4 -> 3 -> 1: 19 parameters, float64" in out
    assert "town: text, one-hot over 3 values (east, north, south)" in out
    assert "area: numeric, standardised" in out
    assert "price: regression" in out
    assert "data: houses.csv, 300 rows, 60 held out for validation" in out
    assert "epochs: 5" in out and "glassnet 0.1.0" in out
    assert "town=north" in out and "unit 3" in out and "layer 1: bias" in out


def test_missing_values_are_named_and_imputable(capsys, tmp_path):
    frame = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3, 4, 5, 6],
            "b": ["x", "y", None, "x", "y", "x"],
            "t": [0, 1, 0, 1, 0, 1],
        }
    )
    frame.to_csv(tmp_path / "m.csv", index=False)
    result = call(capsys, "train", tmp_path / "m.csv", "--target", "t", "--quiet")
    assert_one_line_error(
        result,
        "2 columns have missing values: 'a' (1 empty: line 3); 'b' (1 empty: line 4)",
        "--impute",
    )
    code, out, _ = call(
        capsys,
        "train",
        tmp_path / "m.csv",
        "--target",
        "t",
        "--quiet",
        "--impute",
        "--out",
        tmp_path / "m.glassnet",
        "--epochs",
        "3",
    )
    assert code == 0


# --- errors a new user will make ------------------------------------------------------------------


def test_wrong_columns_at_prediction_time(animals, tmp_path):
    path, frame = animals
    model_path = tmp_path / "m.glassnet"
    assert (
        glassnet(
            "train", path, "--target", "animal", "--out", model_path, "--epochs", "5", "--quiet"
        ).returncode
        == 0
    )
    wrong = tmp_path / "wrong.csv"
    frame.drop(columns=["height"]).to_csv(wrong, index=False)
    assert_one_line_error(
        glassnet("predict", model_path, wrong), "no column 'height'", "trained on: width, height"
    )


def test_target_column_that_does_not_exist(animals):
    path, _ = animals
    assert_one_line_error(
        glassnet("train", path, "--target", "animals"),
        "no target column 'animals'",
        "did you mean 'animal'",
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "{tmp}/none.csv", "--target", "x"], "no such file"),
        (["train", "{animals}", "--target", "animal", "--hidden", "8,x"], "--hidden takes"),
        (["train", "{animals}", "--target", "animal", "--epochs", "0"], "--epochs must be"),
        (["train", "{animals}", "--target", "animal", "--loss", "mse"], "cross_entropy"),
        (
            ["train", "{animals}", "--target", "animal", "--out", "{tmp}/no/m.glassnet"],
            "does not exist",
        ),
        (["predict", "{tmp}/none.glassnet", "{animals}"], "no such model file"),
        (["inspect", "{animals}"], "not a glassnet model file"),
        (["predict", "{broken}", "{animals}"], "truncated"),
        (["train", "{empty}", "--target", "x"], "is empty"),
        (
            ["train", "{animals}", "--target", "animal", "--seed", "-1"],
            "--seed must be from 0 to 4294967295 (2**32 - 1), got -1",
        ),
        (["train", "{animals}", "--target", "animal", "--seed", str(2**32)], "--seed must be"),
        (
            ["train", "{animals}", "--target", "animal", "--date-format", "%d/%m"],
            "--date-format %d/%m: the format '%d/%m' must give a year",
        ),
        (
            ["train", "{animals}", "--target", "animal", "--date-format", "when=%d/%m/%Y"],
            "no column to read dates of 'when'",
        ),
    ],
)
def test_user_errors_are_one_line(capsys, animals, tmp_path, args, fragment):
    path, _ = animals
    (tmp_path / "empty.csv").write_text("")
    model = gn.Network([gn.Dense(1)], input_size=2)
    model.save(tmp_path / "ok.glassnet")
    (tmp_path / "broken.glassnet").write_bytes((tmp_path / "ok.glassnet").read_bytes()[:100])
    filled = [
        a.format(
            tmp=tmp_path,
            animals=path,
            empty=tmp_path / "empty.csv",
            broken=tmp_path / "broken.glassnet",
        )
        for a in args
    ]
    assert_one_line_error(call(capsys, *filled), fragment)


def test_diverging_training_is_one_line(capsys, houses):
    path, _ = houses
    result = call(
        capsys,
        "train",
        path,
        "--target",
        "price",
        "--quiet",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--out",
        path.parent / "x.glassnet",
    )
    assert_one_line_error(result, "loss became", "lowering the learning rate")


def test_progress_bar_shows_loss_and_validation_loss(houses, tmp_path):
    path, _ = houses
    result = glassnet(
        "train", path, "--target", "price", "--epochs", "3", "--out", tmp_path / "m.glassnet"
    )
    assert result.returncode == 0
    assert "3/3" in result.stderr and "loss=" in result.stderr and "val_loss=" in result.stderr


def test_train_plot_writes_a_png(capsys, houses, tmp_path):
    pytest.importorskip("matplotlib")
    path, _ = houses
    png = tmp_path / "loss.png"
    code, out, _ = call(
        capsys,
        "train",
        path,
        "--target",
        "price",
        "--epochs",
        "3",
        "--quiet",
        "--out",
        tmp_path / "m.glassnet",
        "--plot",
        png,
    )
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- demo -----------------------------------------------------------------------------------------


def test_demo_gender(capsys):
    code, out, _ = call(capsys, "demo", "gender")
    assert code == 0
    assert "0.9990889488055994" in out and "Emily" in out


def test_demo_plot_writes_figures(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, out, _ = call(capsys, "demo", "exam", "--plot", tmp_path / "figs")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "exam_loss.png",
        "exam_network.png",
    ]


def test_bad_demo_name_is_one_line_and_no_traceback():
    result = glassnet("demo", "bogus")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid choice: 'bogus'" in result.stderr


def test_the_readme_walkthrough(capsys, tmp_path):
    examples = __import__("pathlib").Path(__file__).parent.parent / "examples"
    model = tmp_path / "model.glassnet"
    code, out, _ = call(
        capsys,
        "train",
        examples / "iris.csv",
        "--target",
        "species",
        "--recipe",
        "small",
        "--early-stopping",
        "--epochs",
        "500",
        "--quiet",
        "--out",
        model,
    )
    assert code == 0 and "stopped early" in out
    code, out, _ = call(capsys, "predict", model, examples / "new_flowers.csv", "--proba")
    rows = out.strip().splitlines()
    assert rows[0] == "species,proba_setosa,proba_versicolor,proba_virginica"
    assert [row.split(",")[0] for row in rows[1:]] == ["setosa", "versicolor", "virginica"]


def test_the_readme_command_line_section_runs_as_printed(tmp_path):
    """Every command of the walkthrough, as the README prints it, from a fresh folder."""
    import re
    import shutil
    from pathlib import Path

    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    section = readme.split("## The command line\n")[1].split("\n## ")[0]
    shutil.copytree(root / "examples", tmp_path / "examples")
    commands = re.findall(r"^\$ glassnet (.*)$", section, flags=re.M)
    assert [c.split()[0] for c in commands][:3] == ["train", "predict", "evaluate"]
    for command in commands:
        if "penguins.csv" in command:
            continue  # a file the README only describes
        result = glassnet(*command.split(), cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        first = section.split(f"$ glassnet {command}\n")[1].splitlines()
        printed = first[0] if not first[0].startswith("training:") else first[1]
        assert result.stdout.splitlines()[0].split(":")[0] == printed.split(":")[0]
    block = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    namespace = {"glassnet": gn, "pandas": pd}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(block, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert isinstance(namespace["model"], gn.TabularModel)
