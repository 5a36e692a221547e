"""glassnet explain: one row of a data file through a model file, every number shown."""

import re
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from test_cli import assert_one_line_error, call

pd = pytest.importorskip("pandas")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A classification file with a number and a text column, and its trained model."""
    rng = np.random.default_rng(0)
    n = 90
    frame = pd.DataFrame(
        {
            "price": rng.uniform(1, 20, n).round(2),
            "colour": rng.choice(["red", "green"], n),
        }
    )
    frame["bought"] = np.where((frame["price"] < 10) ^ (frame["colour"] == "red"), "yes", "no")
    folder = tmp_path_factory.mktemp("shop")
    data = folder / "shop.csv"
    frame.to_csv(data, index=False)
    model = gn.TabularModel.fit(frame, "bought", hidden=[3], epochs=5, seed=0)
    path = folder / "shop.glassnet"
    model.save(path)
    return path, data, frame, model


def test_a_row_with_its_target_shows_features_forward_backward_and_chain(capsys, shop):
    path, data, frame, model = shop
    code, out, err = call(capsys, "explain", path, data, "--row", 4)
    assert code == 0, err
    X, _ = model.transform(frame.iloc[[4]])
    first = out.splitlines()[0]
    for name, value in zip(model.features.output_names, X[0]):
        assert f"{name} = {value:.6g}" in first
    assert "colour=green" in out and "colour=red" in out
    assert f"target: {frame['bought'].iloc[4]}" in out
    assert "Backward pass" in out and "The chain rule for w1" in out
    y = model.target.encode([frame["bought"].iloc[4]])
    ex = model.network.explain(X, y, "cross_entropy", training=False)
    assert f"dL/dw1 = {ex.gradient('w1'):.10g} (the engine's dW1[0,0])" in out


def test_the_prediction_explained_is_the_one_predict_gives(capsys, tmp_path):
    """Through the default recipe's network, dropout and all: the explained pass is the
    prediction path, so its output is predict's to the last digit shown."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.1, size=200)
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = gn.TabularModel.fit(frame, "y", epochs=3, ensemble=1, seed=0)
    assert any(isinstance(layer, gn.Dropout) for layer in model.network.layers)
    model.save(tmp_path / "m.glassnet")
    for row in (0, 7):
        code, out, err = call(capsys, "explain", tmp_path / "m.glassnet", tmp_path / "d.csv",
                              "--row", row)  # fmt: skip
        assert code == 0, err
        shown = re.search(r"^prediction: (\S+)", out, flags=re.M)
        assert shown is not None, out
        assert float(shown.group(1)) == float(f"{model.predict(frame.iloc[[row]])[0]:.6g}")
        # the pass is in standardised units, and says how they map to the target's
        said = r"^the network works in standardised units of y: \(value - (\S+)\) / (\S+); its "
        units = re.search(said + r"output (\S+) is the prediction", out, flags=re.M)
        assert units is not None, out
        mean, std, output = map(float, units.groups())
        assert (mean, std) == (float(f"{model.target.mean:.6g}"), float(f"{model.target.std:.6g}"))
        assert output * std + mean == pytest.approx(float(shown.group(1)), rel=1e-4)


def test_a_target_value_and_another_weight_and_an_update(capsys, shop, tmp_path):
    path, data, frame, _ = shop
    unlabelled = tmp_path / "new.csv"
    frame.drop(columns=["bought"]).head(3).to_csv(unlabelled, index=False)
    code, out, _ = call(capsys, "explain", path, unlabelled, "--row", 2)
    assert code == 0
    assert "forward pass alone" in out and "Backward pass" not in out
    code, out, _ = call(
        capsys,
        "explain",
        path,
        unlabelled,
        "--row",
        "2",
        "--target-value",
        "yes",
        "--weight",
        "b2[1]",
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
    )
    assert code == 0
    assert "target: yes" in out and "The chain rule for b" in out and "(b2[1]" in out
    assert "SGD(lr=0.5) would move" in out


def test_a_bare_network_file_uses_numeric_columns(capsys, tmp_path):
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
    path = tmp_path / "net.glassnet"
    net.save(path)
    data = tmp_path / "people.csv"
    pd.DataFrame({"name": ["Alice", "Bob"], "w": [-2, 25], "h": [-1, 6], "f": [1, 0]}).to_csv(
        data, index=False
    )
    code, out, err = call(capsys, "explain", path, data, "--row", 1, "--target", "f")
    assert code == 0, err
    assert "x1 = 25 (w)" in out and "dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1" in out
    expected = net.explain([25, 6], 0).gradient("w1")
    assert f"dL/dw1 = {expected:.10g}" in out
    assert_one_line_error(call(capsys, "explain", path, data), "2 inputs", "3 numeric columns")


def test_errors_are_one_line(capsys, shop, tmp_path):
    path, data, frame, _ = shop
    assert_one_line_error(call(capsys, "explain", path, data, "--row", 90), "--row 90", "0 to 89")
    assert_one_line_error(call(capsys, "explain", path, data, "--row", -1), "--row -1")
    other = tmp_path / "other.csv"
    frame.drop(columns=["colour"]).to_csv(other, index=False)
    assert_one_line_error(call(capsys, "explain", path, other), "no column 'colour'")
    assert_one_line_error(
        call(capsys, "explain", path, data, "--target-value", "maybe"), "not one of the model's"
    )
    assert_one_line_error(call(capsys, "explain", path, data, "--weight", "W9[0,0]"), "no layer 9")
    assert_one_line_error(call(capsys, "explain", tmp_path / "none.glassnet", data))


def test_the_real_command_prints_no_traceback(shop):
    path, data, _, _ = shop
    result = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", "explain", str(path), str(data), "--row", "999"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.match(r"glassnet: error: --row 999", result.stderr)
    assert (
        "explain"
        in subprocess.run(
            [sys.executable, "-m", "glassnet.cli", "--help"], capture_output=True, text=True
        ).stdout
    )


def test_a_file_written_the_european_way_is_read_with_the_reading_options(capsys, shop, tmp_path):
    path, _, frame, model = shop
    european = tmp_path / "eu.csv"
    frame.to_csv(european, index=False, sep=";", decimal=",")
    result = call(capsys, "explain", path, european, "--row", 2)
    assert_one_line_error(result, "row 2 holds", "price")  # numbered as --row counts
    code, out, err = call(capsys, "explain", path, european, "--row", 2, "--decimal", ",")
    assert code == 0, err
    X, _ = model.transform(frame.iloc[[2]])
    assert f"price = {X[0, 0]:.6g}" in out.splitlines()[0]


def test_names_levels_and_labels_from_the_file_are_escaped(capsys, tmp_path):
    """A column name, a level and a label with terminal escapes reach the screen escaped."""
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame(
        {
            "size\x1b[31m": rng.normal(size=n).round(3),
            "shade": rng.choice(["dark\x1b]0;pwned\x07", "light"], n),
        }
    )
    frame["label"] = np.where(frame["size\x1b[31m"] > 0, "big\x1b[2J", "small")
    frame.to_csv(tmp_path / "evil.csv", index=False)
    model = tmp_path / "evil.glassnet"
    code, _, err = call(capsys, "train", tmp_path / "evil.csv", "--target", "label", "--out",
                        model, "--epochs", "2", "--quiet")  # fmt: skip
    assert code == 0, err
    code, out, err = call(capsys, "explain", model, tmp_path / "evil.csv", "--row", "1")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "size\\x1b[31m" in out and "shade=dark\\x1b]0;pwned\\x07" in out
    assert "big\\x1b[2J" in out


def test_a_row_with_a_missing_cell_is_explained_with_impute(capsys, shop, tmp_path):
    """The error names --impute, and explain takes it as predict does: the row is
    filled with the training statistics, and explain says how many cells."""
    path, data, frame, model = shop
    holed = frame.copy()
    holed.loc[2, "price"] = np.nan
    holed.to_csv(tmp_path / "holed.csv", index=False)
    code, out, err = call(capsys, "explain", path, tmp_path / "holed.csv", "--row", 2)
    assert code != 0 and "--impute" in err
    code, out, err = call(capsys, "explain", path, tmp_path / "holed.csv", "--row", 2, "--impute")
    assert code == 0, err
    assert "filled 1 missing cell with the training statistics ('price': 1)" in err
    X, _ = model.transform(holed.iloc[[2]], impute=True)
    assert f"price = {X[0, 0]:.6g}" in out.splitlines()[0]


def test_an_embedded_category_is_named_by_its_level(capsys, tmp_path):
    """The default recipe embeds a category of many levels: its input is a level index,
    and explain names the level it holds beside it."""
    rng = np.random.default_rng(6)
    n = 400
    frame = pd.DataFrame(
        {"team": rng.choice([f"team {k}" for k in range(12)], n), "x": rng.normal(size=n)}
    )
    frame["won"] = np.where(frame["x"] > 0, "yes", "no")
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = gn.TabularModel.fit(frame, "won", epochs=2, ensemble=1, seed=0)
    assert model.features.output_names[0] == "team.level"
    model.save(tmp_path / "m.glassnet")
    code, out, err = call(capsys, "explain", tmp_path / "m.glassnet", tmp_path / "d.csv",
                          "--row", 5)  # fmt: skip
    assert code == 0, err
    X, _ = model.transform(frame.iloc[[5]])
    assert f"team.level ({frame['team'][5]}) = {X[0, 0]:.6g}" in out.splitlines()[0]
