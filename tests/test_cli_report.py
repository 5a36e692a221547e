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


@pytest.mark.parametrize(
    ("column", "values", "word"),
    [
        ("colour", ["blue", "red"], "categorical (text)"),
        ("born", ["1977-02-12", "1980-06-01"], "a date"),
    ],
)
def test_a_report_over_a_text_or_date_column_is_written_with_a_note(tmp_path, column, values, word):
    rng = np.random.default_rng(2)
    n = 120
    frame = pd.DataFrame({"size": rng.normal(size=n), column: rng.choice(values, n)})
    frame["label"] = np.where(frame["size"] > 0, "big", "small")
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    model, report = tmp_path / "m.glassnet", tmp_path / "r.html"
    result = inproc(
        "train", data, "--target", "label", "--epochs", "3", "--quiet",
        "--out", model, "--report", report,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert model.exists() and report.exists()
    text = report.read_text()
    assert 'id="decision-boundary"' not in text and 'id="boundary-evolution"' not in text
    assert f"and &#x27;{column}&#x27; is {word}.</p>" in text
