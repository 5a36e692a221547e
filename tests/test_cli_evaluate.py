"""glassnet evaluate: metrics of a model on a held-out file, as scikit-learn computes them."""

import json
from io import StringIO

import numpy as np
import pytest

import glassnet as gn
from glassnet.tabular import read_table
from test_cli import assert_one_line_error, inproc

pd = pytest.importorskip("pandas")
skm = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def species(tmp_path_factory):
    """Three classes spelled as codes, a training file and a held-out file."""
    folder = tmp_path_factory.mktemp("evaluate")
    rng = np.random.default_rng(0)
    n = 600
    label = rng.choice(["001", "002", "010"], n)
    centre = {"001": 0.0, "002": 1.5, "010": 3.0}
    frame = pd.DataFrame(
        {
            "width": [centre[c] + rng.normal() for c in label],
            "island": rng.choice(["NA", "Dream"], n),
            "label": label,
        }
    )
    frame.iloc[:400].to_csv(folder / "train.csv", index=False)
    frame.iloc[400:].to_csv(folder / "test.csv", index=False)
    model = folder / "m.glassnet"
    result = inproc(
        "train",
        folder / "train.csv",
        "--target",
        "label",
        "--quiet",
        "--epochs",
        "20",
        "--out",
        model,
    )
    assert result.returncode == 0, result.stderr
    return folder, model


def test_classification_metrics_agree_with_scikit_learn(species):
    folder, model = species
    result = inproc("evaluate", model, folder / "test.csv", "--json", "--chunk-rows", "37")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    test = read_table(str(folder / "test.csv"))
    loaded = gn.load(model)
    proba = loaded.predict_proba(test)
    truth = test["label"].to_numpy()
    predicted = loaded.predict(test)
    assert loaded.classes == ["001", "002", "010"]
    assert report["rows"] == 200
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(truth, predicted), abs=1e-9)
    assert report["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(truth, predicted), abs=1e-9
    )
    # evaluate predicts in chunks of 37 rows: the same probabilities to float32's precision
    assert report["log_loss"] == pytest.approx(
        skm.log_loss(truth, proba, labels=loaded.classes),
        abs=1e-6 if loaded.network.dtype == np.float32 else 1e-9,
    )
    p, r, f, s = skm.precision_recall_fscore_support(
        truth, predicted, labels=loaded.classes, zero_division=0
    )
    assert [c["class"] for c in report["per_class"]] == ["001", "002", "010"]
    for j, row in enumerate(report["per_class"]):
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (p[j], r[j], f[j]), abs=1e-9
        )
        assert row["support"] == s[j]
    assert (
        report["confusion_matrix"]["counts"]
        == skm.confusion_matrix(truth, predicted, labels=loaded.classes).tolist()
    )


def test_the_text_report_shows_the_tables(species):
    folder, model = species
    result = inproc("evaluate", model, folder / "test.csv")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "evaluated on 200 rows" in out and "balanced accuracy" in out and "log loss" in out
    assert "class  precision  recall      f1  support" in out
    assert "confusion matrix (rows: true class, columns: predicted class)" in out
    table = out.split("confusion matrix")[1].splitlines()
    assert table[1].split() == ["001", "002", "010"]
    assert [row.split()[0] for row in table[2:5]] == ["001", "002", "010"]


def test_a_wide_confusion_matrix_numbers_its_columns():
    from glassnet.cli.evaluate import WIDE, report_lines

    names = [f"{kind} of the northern provinces" for kind in "ABCDEFGHI"]
    counts = [[(i * 7 + j * 3) % 11 for j in range(9)] for i in range(10)]
    metrics = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1}
    result = {
        "rows": 500,
        "task": "classification",
        "accuracy": 0.5,
        "balanced_accuracy": 0.5,
        "log_loss": None,
        "per_class": [{"class": c, **metrics} for c in names],
        "confusion_matrix": {
            "labels": [*names, "J (never seen)"],
            "predicted": names,
            "counts": counts,
        },
        "unknown_classes": ["J (never seen)"],
    }
    lines = report_lines(result, "test.csv")
    at = lines.index(
        "confusion matrix (rows: true class, columns: predicted class, numbered as the rows)"
    )
    table = lines[at + 1 : at + 12]
    assert table[0].split() == [str(j) for j in range(1, 10)]
    for i, row in enumerate(table[1:10]):
        assert row.startswith(f"{i + 1} {names[i]}")
        assert row.split()[-9:] == [str(c) for c in counts[i]]
    assert table[10].startswith("- J (never seen)")  # no column predicts it
    assert max(map(len, table)) <= WIDE
    # with short names, the columns keep them
    short = dict(
        result,
        confusion_matrix=dict(
            result["confusion_matrix"], labels=[*"ABCDEFGHIJ"], predicted=[*"ABCDEFGHI"]
        ),
    )
    assert "confusion matrix (rows: true class, columns: predicted class)" in report_lines(
        short, "t"
    )


def test_regression_metrics_agree_with_scikit_learn(tmp_path):
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame({"area": rng.uniform(50, 200, n), "town": rng.choice(["n", "s"], n)})
    frame["price"] = (
        1000 * frame["area"] + np.where(frame["town"] == "n", 5e4, 0) + rng.normal(0, 5e3, n)
    )
    frame.iloc[:350].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[350:].to_csv(tmp_path / "test.csv", index=False)
    model = tmp_path / "m.glassnet"
    result = inproc(
        "train",
        tmp_path / "train.csv",
        "--target",
        "price",
        "--quiet",
        "--epochs",
        "30",
        "--out",
        model,
    )
    assert result.returncode == 0, result.stderr
    result = inproc("evaluate", model, tmp_path / "test.csv", "--json", "--chunk-rows", "64")
    report = json.loads(result.stdout)
    test = pd.read_csv(tmp_path / "test.csv")
    # predicted in the chunks evaluate read: a float32 product's last bit may depend on
    # how many rows BLAS multiplies at once, and the check is of the metrics' formulas
    fitted = gn.load(model)
    predicted = np.concatenate([fitted.predict(test[i : i + 64]) for i in range(0, len(test), 64)])
    assert report["r2"] == pytest.approx(skm.r2_score(test["price"], predicted), abs=1e-9)
    assert report["rmse"] == pytest.approx(
        np.sqrt(skm.mean_squared_error(test["price"], predicted)), rel=1e-9
    )
    assert report["mae"] == pytest.approx(
        skm.mean_absolute_error(test["price"], predicted), rel=1e-9
    )
    text = inproc("evaluate", model, tmp_path / "test.csv").stdout
    assert "R²" in text and "RMSE" in text and "MAE" in text


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_plot_writes_the_figure(species, tmp_path, kind):
    pytest.importorskip("matplotlib")
    folder, model = species
    if kind == "regression":
        frame = pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50.0) * 2.5 + 0.1})
        frame.to_csv(tmp_path / "r.csv", index=False)
        model = tmp_path / "r.glassnet"
        inproc(
            "train", tmp_path / "r.csv", "--target", "y", "--quiet", "--epochs", "3", "--out", model
        )
        data = tmp_path / "r.csv"
    else:
        data = folder / "test.csv"
    png = tmp_path / "fig.png"
    result = inproc("evaluate", model, data, "--plot", png)
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and "figure written to" in result.stdout


def test_evaluate_errors_are_one_line(species, tmp_path):
    folder, model = species
    test = read_table(str(folder / "test.csv"))
    test.drop(columns="label").to_csv(tmp_path / "nolabel.csv", index=False)
    assert_one_line_error(
        inproc("evaluate", model, tmp_path / "nolabel.csv"), "no target column 'label'"
    )
    assert_one_line_error(
        inproc("evaluate", model, folder / "test.csv", "--plot", tmp_path / "x.txt"),
        "cannot draw a .txt",
    )
    net = gn.Network([gn.Dense(1)], input_size=2)
    net.save(tmp_path / "bare.glassnet")
    assert_one_line_error(
        inproc("evaluate", tmp_path / "bare.glassnet", folder / "test.csv"),
        "not a command-line model",
    )


def test_missing_targets_are_named_or_skipped(species, tmp_path):
    folder, model = species
    test = read_table(str(folder / "test.csv"))
    test.loc[[3, 7], "label"] = None
    test.to_csv(tmp_path / "holes.csv", index=False)
    assert_one_line_error(
        inproc("evaluate", model, tmp_path / "holes.csv"),
        "missing values (lines 5, 9)",
        "--drop-missing-target",
    )
    result = inproc("evaluate", model, tmp_path / "holes.csv", "--drop-missing-target", "--json")
    report = json.loads(result.stdout)
    assert report["rows"] == 198 and report["skipped_missing_target"] == 2


def test_a_class_the_model_never_saw_is_reported(species, tmp_path):
    folder, model = species
    test = read_table(str(folder / "test.csv"))
    test.loc[0, "label"] = "999"
    test.to_csv(tmp_path / "new_class.csv", index=False)
    result = inproc("evaluate", model, tmp_path / "new_class.csv", "--json")
    report = json.loads(result.stdout)
    assert report["unknown_classes"] == ["999"] and report["log_loss"] is None
    text = inproc("evaluate", model, tmp_path / "new_class.csv").stdout
    assert "classes in the data that the model never saw: 999" in text
    df = pd.read_csv(StringIO(text.split("\n\n")[1]), sep=r"\s+")
    assert "999" in df["class"].astype(str).tolist()


def test_a_class_never_predicted_is_noted_under_the_tables():
    from glassnet.cli.evaluate import report_lines
    from glassnet.tabular.metrics import ClassificationMetrics

    acc = ClassificationMetrics(["a", "b", "rare"])
    acc.update(np.array([0, 1, 2, 1]), np.eye(3)[[0, 1, 1, 1]])
    lines = report_lines(acc.result(), "rows.csv")
    assert lines[-2:] == [
        "",
        "class rare is in these rows but was never predicted: its precision (0 right of 0 "
        "predictions) is shown as 0",
    ]
    assert "never predicted" not in "\n".join(report_lines(ClassificationMetrics(["a"]).result()
                                                           | {"rows": 0}, "x"))  # fmt: skip
