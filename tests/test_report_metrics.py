"""One source of metrics: every number the training report and train's summary state is
the number `glassnet evaluate --json` (or TabularModel.evaluate) gives on the same model
and rows, for every kind of label, with or without rows dropped for a missing target."""

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import glassnet as gn
from glassnet.tabular import Recipe, read_table
from test_cli import inproc

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

N = 240


class Tables(HTMLParser):
    """Every table of a page, by id: a list of rows, each a list of cell texts."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.notes: list[str] = []
        self._table = self._row = self._cell = self._note = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or f"t{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "p" and attrs.get("class") == "note":
            self._note = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "p" and self._note is not None:
            self.notes.append("".join(self._note))
            self._note = None

    def handle_data(self, data):
        for part in (self._cell, self._note):
            if part is not None:
                part.append(data)


def number(cell: str) -> float:
    return float(cell)


def same(cell: str, value: float) -> bool:
    """A number the report states (six significant digits) is this value."""
    return number(cell) == pytest.approx(value, rel=1e-5, abs=1e-300)


def labels_of(kind: str, rng, score: np.ndarray):
    """Labels of one kind for scores (two or three classes)."""
    if kind == "text":
        return np.where(score > 0, "yes", "no")
    if kind == "integers":
        return (score > 0).astype(int)
    if kind == "booleans":
        return score > 0
    if kind == "floats":
        return np.select([score < -0.5, score < 0.5], [0.5, 1.5], 2.5)
    if kind == "codes":
        return np.select([score < -0.5, score < 0.5], ["001", "002"], "010")
    raise AssertionError(kind)


def write_data(folder, kind: str, *, missing: bool = False, scale: float = 1.0):
    rng = np.random.default_rng(len(kind))
    a, b = rng.normal(size=N), rng.normal(size=N)
    score = a + b + rng.normal(0, 0.6, N)
    if kind == "regression":
        y = (3 * a - b + rng.normal(0, 0.3, N)) * scale
    else:
        y = labels_of(kind, rng, score)
    frame = pd.DataFrame({"a": a, "b": b, "y": y})
    if missing:
        frame["y"] = frame["y"].astype(object)
        frame.loc[::9, "y"] = None
    path = folder / f"{kind}{'-missing' * missing}.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def train_and_measure(folder, path, *extra, ensemble=1):
    """Train (one network: its validation rows are held out from the whole model, which
    evaluate can measure again), report and evaluate."""
    model_path, report = folder / f"{path.stem}.glassnet", folder / f"{path.stem}.html"
    trained = inproc(
        "train", path, "--target", "y", "--epochs", "8", "--quiet", "--ensemble", str(ensemble),
        "--out", model_path, "--report", report, *extra,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    evaluated = inproc("evaluate", model_path, path, "--json", "--chunk-rows", "50", *extra)
    assert evaluated.returncode == 0, evaluated.stderr
    return (
        gn.load(model_path),
        trained.stdout,
        Tables(report.read_text()),
        json.loads(evaluated.stdout),
    )


def split_rows(model, frame):
    """The rows training used, and which of them it trained on and held out: the recipe's
    own split (the command line's defaults: 20% held out, seed 0)."""
    kept = frame[frame["y"].notna()].reset_index(drop=True)
    classes = model.target.class_indices(kept["y"].to_numpy()) if model.classes else None
    train, validation = Recipe(val_split=0.2, seed=0).split(len(kept), classes)
    return kept.iloc[train], kept.iloc[validation]


def metric_rows(tables: Tables) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for which, name, value in tables.tables["metrics-table"][1:]:
        rows.setdefault(which, {})[name] = value
    return rows


def check_summary_line(stdout: str, which: str, measured: dict) -> None:
    """train's summary line for these rows states these metrics."""
    line = next(line for line in stdout.splitlines() if line.startswith(f"{which}:"))
    if measured["task"] == "classification":
        shown = float(re.search(r"accuracy ([\d.]+)%", line).group(1)) / 100
        assert shown == pytest.approx(measured["accuracy"], abs=0.0005 + 1e-12)
    else:
        r2, rmse = re.search(r"R² (\S+), RMSE (\S+)", line).groups()
        assert float(r2) == pytest.approx(measured["r2"], abs=0.00005 + 1e-12)
        assert float(rmse) == pytest.approx(measured["rmse"], rel=1e-5)


def check_report(model, stdout: str, tables: Tables, evaluated: dict, frame) -> None:
    rows = metric_rows(tables)
    classification = evaluated["task"] == "classification"
    names = (
        ("accuracy", "balanced_accuracy", "log_loss") if classification else ("r2", "rmse", "mae")
    )
    # the rows measured: the file's rows with a target, as evaluate measures them
    these = rows[f"these {evaluated['rows']} rows"]
    assert set(these) == set(names)
    for name in names:
        assert same(these[name], evaluated[name]), (name, these[name], evaluated[name])
    # the training and validation rows: what the summary kept, and train printed
    train, validation = split_rows(model, frame)
    for label, which, part in (
        ("training rows", "training", train),
        ("validation rows", "validation", validation),
    ):
        measured = model.evaluate(part)
        stated = rows[label]
        assert set(stated) == ({"accuracy"} if classification else {"r2", "rmse"})
        for name, value in stated.items():
            assert same(value, measured[name]), (label, name, value, measured[name])
        check_summary_line(stdout, which, measured)
    if not classification:
        truth = frame["y"].dropna().to_numpy(dtype=float)
        scale = np.abs(truth).max()
        target = {row[0]: row[1] for row in tables.tables["target-summary"][1:]}
        assert same(target["mean"], np.mean(truth / scale) * scale)
        assert same(target["std"], np.std(truth / scale) * scale)
        assert same(target["min"], truth.min()) and same(target["max"], truth.max())
        return
    # the class table, the per-class metrics and the confusion matrix
    per_class = evaluated["per_class"]
    assert [c["class"] for c in per_class] == model.classes
    classes = tables.tables["target-summary"][1:]
    assert [row[0] for row in classes] == [str(c["class"]) for c in per_class]
    assert [int(row[1]) for row in classes] == [c["support"] for c in per_class]
    for row, c in zip(classes, per_class):
        assert row[2] == f"{c['support'] / evaluated['rows']:.1%}"
    table = tables.tables["per-class"][1:]
    assert [row[0] for row in table] == [str(c["class"]) for c in per_class]
    for row, c in zip(table, per_class):
        assert same(row[1], c["precision"]) and same(row[2], c["recall"]) and same(row[3], c["f1"])
        assert int(row[4]) == c["support"]
    cm = evaluated["confusion_matrix"]
    header, *grid = tables.tables["confusion"]
    assert header[1:] == [str(p) for p in cm["predicted"]]
    assert [row[0] for row in grid] == [str(label) for label in cm["labels"]]
    assert [[int(v) for v in row[1:]] for row in grid] == cm["counts"]
    accuracy = np.trace(np.asarray(cm["counts"])) / evaluated["rows"]
    assert same(these["accuracy"], accuracy)  # the table and the matrix agree


@pytest.mark.parametrize("kind", ["text", "integers", "booleans", "floats", "codes", "regression"])
def test_the_report_states_what_evaluate_measures(tmp_path, kind):
    path = write_data(tmp_path, kind)
    model, stdout, tables, evaluated = train_and_measure(tmp_path, path)
    assert evaluated["rows"] == N and evaluated["skipped_missing_target"] == 0
    check_report(model, stdout, tables, evaluated, read_table(str(path)))
    assert tables.notes == []  # two numeric features: every figure drawn


def test_rows_without_a_target_are_left_out_not_counted_as_errors(tmp_path):
    path = write_data(tmp_path, "integers", missing=True)
    model, stdout, tables, evaluated = train_and_measure(tmp_path, path, "--drop-missing-target")
    dropped = len(range(0, N, 9))
    assert evaluated["rows"] == N - dropped and evaluated["skipped_missing_target"] == dropped
    assert model.info["rows"] == N - dropped
    check_report(model, stdout, tables, evaluated, read_table(str(path)))
    assert [row[0] for row in tables.tables["target-summary"][1:]] == ["0", "1"]  # no "nan"
    text = (tmp_path / f"{path.stem}.html").read_text()
    assert f"{N - dropped} rows with a target ({dropped} without one left out" in text


@pytest.mark.parametrize("scale", [1e160, 1e-160])
def test_a_regression_target_near_the_ends_of_float64(tmp_path, scale):
    path = write_data(tmp_path, "regression", scale=scale)
    model, stdout, tables, evaluated = train_and_measure(tmp_path, path)
    check_report(model, stdout, tables, evaluated, read_table(str(path)))
    frame = read_table(str(path))
    truth = frame["y"].to_numpy(dtype=float) / scale
    predicted = model.predict(frame) / scale
    residual = truth - predicted
    # the network computes in float32: evaluate's predictions (read in chunks) and these
    # agree to float32's precision, whatever the scale
    assert evaluated["r2"] == pytest.approx(
        1 - np.sum(residual**2) / np.sum((truth - truth.mean()) ** 2), rel=1e-6
    )
    assert evaluated["rmse"] / scale == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-6)
    assert evaluated["mae"] / scale == pytest.approx(np.mean(np.abs(residual)), rel=1e-6)
    assert np.isfinite(
        [model.info["train_metrics"]["r2"], model.info["train_metrics"]["rmse"]]
    ).all()


def test_an_ensembles_validation_metrics_are_out_of_fold_and_say_so(tmp_path):
    """Each network of an ensemble holds out other rows: the validation metrics are those
    rows scored by the networks that did not train on them, labelled so, with their
    number; the training rows' are the model's, as evaluate measures them."""
    path = write_data(tmp_path, "text")
    model, stdout, tables, evaluated = train_and_measure(tmp_path, path, ensemble=3)
    frame = read_table(str(path))
    classes = model.target.class_indices(frame["y"].to_numpy())
    recipe = Recipe(val_split=0.2, seed=0)
    held = set()
    for member in range(3):
        held.update(recipe.split(N, classes, member=member)[1].tolist())
    info = model.info
    assert info["ensemble"] == 3 and info["validation_out_of_fold"] == len(held) > 0.2 * N
    rows = metric_rows(tables)
    label = f"held-out rows, out of fold ({len(held)} rows)"
    assert set(rows) == {f"these {N} rows", "training rows", label}
    assert same(rows[label]["accuracy"], info["validation_metrics"]["accuracy"])
    assert "held out for validation, stratified, other rows for each of the 3 networks" in stdout
    line = next(line for line in stdout.splitlines() if line.startswith("validation"))
    assert line.startswith(f"validation (out of fold, {len(held)} rows): accuracy ")
    shown = float(re.search(r"accuracy ([\d.]+)%", line).group(1)) / 100
    assert shown == pytest.approx(info["validation_metrics"]["accuracy"], abs=0.0005 + 1e-12)
    train, _ = split_rows(model, frame)
    assert same(rows["training rows"]["accuracy"], model.evaluate(train)["accuracy"])
    assert label in model._repr_html_()
