"""glassnet train --report: the HTML training report, written after training and checked
before it, never over the data or a file that is not a report."""

import numpy as np
import pytest

from test_cli import assert_one_line_error, inproc

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def two_features(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(1)
    n = 160
    frame = pd.DataFrame({"weight": rng.normal(size=n), "height": rng.normal(size=n)})
    frame["sex"] = np.where(frame["weight"] + frame["height"] > 0, "F", "M")
    data = folder / "people.csv"
    frame.to_csv(data, index=False)
    return folder, data


def test_train_writes_a_report_with_the_boundary_as_training_went_on(two_features):
    folder, data = two_features
    report = folder / "report.html"
    result = inproc(
        "train", data, "--target", "sex", "--epochs", "12", "--quiet",
        "--out", folder / "m.glassnet", "--report", report,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"report written to {report}" in result.stdout
    text = report.read_text()
    for ident in ("network-drawing", "loss-curve", "weights-heatmap", "boundary-evolution"):
        assert f'id="{ident}"' in text
    assert "weight" in text and "height" in text  # the features by name
    assert 'src="http' not in text and 'href="http' not in text


def test_the_report_path_is_checked_before_training(two_features, tmp_path):
    _, data = two_features
    model = tmp_path / "m.glassnet"
    assert_one_line_error(
        inproc("train", data, "--target", "sex", "--quiet", "--out", model, "--report", data),
        "same file as the training data",
    )
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my notes</p>")
    assert_one_line_error(
        inproc("train", data, "--target", "sex", "--quiet", "--out", model, "--report", notes),
        "is not a glassnet report",
    )
    assert notes.read_text() == "<p>my notes</p>"
    assert_one_line_error(
        inproc("train", data, "--target", "sex", "--quiet", "--out", model,
               "--report", tmp_path / "r.txt"),
        "name it .html",
    )  # fmt: skip
    same = tmp_path / "both.html"
    assert_one_line_error(
        inproc("train", data, "--target", "sex", "--quiet", "--out", same, "--report", same),
        "--out and --report name the same file",
    )
    assert not model.exists()  # nothing was trained, nothing written
