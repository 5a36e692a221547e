"""The training report: one self-contained HTML file, opened in real headless Chromium."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("matplotlib")
from glassnet.reporting import (  # noqa: E402
    ReportError,
    Snapshots,
    build_report,
    check_destination,
    training_report,
    write_report,
)

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):  # make test installs it (Debian's chromium)
        pytest.skip(
            f"NO BROWSER CHECK OF THE REPORT: {CHROMIUM} is missing; 'make test' installs it "
            "(apt-get install chromium, as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_in(browser, path: Path) -> dict:
    """Load the file; return console errors, requested URLs and every image's state."""
    page = browser.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url[:80]}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    images = page.evaluate(
        "Array.from(document.images).map(i => ({id: i.id, alt: i.alt, complete: i.complete,"
        " width: i.naturalWidth, height: i.naturalHeight}))"
    )
    headings = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    tables = page.evaluate("Array.from(document.querySelectorAll('table')).map(t => t.id)")
    page.close()
    return {
        "errors": errors,
        "requests": requests,
        "images": {i["id"]: i for i in images},
        "headings": headings,
        "tables": tables,
        "ids": ids,
    }


def check_self_contained(seen: dict, path: Path) -> None:
    assert seen["errors"] == []
    assert len(seen["ids"]) == len(set(seen["ids"]))  # every anchor and image id is unique
    others = [u for u in seen["requests"] if u != path.as_uri() and not u.startswith("data:")]
    assert others == []
    for image in seen["images"].values():
        assert image["complete"] and image["width"] > 100 and image["height"] > 100, image
        assert image["alt"]
    text = path.read_text()
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert "default-src 'none'" in text


@pytest.fixture(scope="module")
def xor_report(tmp_path_factory):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([0, 1, 1, 0])
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], seed=0)
    snapshots = Snapshots()
    history = net.fit(X, y, loss="bce", optimizer=gn.Adam(0.05), epochs=200, callbacks=[snapshots])
    path = tmp_path_factory.mktemp("report") / "xor.html"
    written = gn.report(net, history, X, y, path, snapshots=snapshots, feature_names=["a", "b"])
    return Path(written), snapshots


def test_a_network_report_opens_self_contained_with_every_drawing(browser, xor_report):
    path, _ = xor_report
    seen = open_in(browser, path)
    check_self_contained(seen, path)
    assert set(seen["images"]) == {
        "network-drawing",
        "loss-curve",
        "weights-heatmap",
        "boundary-evolution",
        "decision-boundary",
    }
    assert seen["headings"] == [
        "The data",
        "The network",
        "Loss curves",
        "Metrics",
        "Weights",
        "Decision boundary",
    ]
    assert {"data-summary", "target-summary", "metrics-table", "confusion"} <= set(seen["tables"])


def test_the_report_holds_the_numbers(xor_report):
    path, _ = xor_report
    text = path.read_text()
    assert "2 -&gt; 4 tanh -&gt; 1 sigmoid" in text
    assert "<td>accuracy</td><td>1</td>" in text
    assert "<td>a</td><td>numeric</td><td>0.5</td>" in text


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"weight": rng.normal(150, 20, 120), "height": rng.normal(66, 4, 120)})
    frame["sex"] = np.where(frame["weight"] + 3 * frame["height"] > 350, "M", "F")
    folder = tmp_path_factory.mktemp("tabular")
    csv = folder / "people.csv"
    frame.to_csv(csv, index=False)
    snapshots = Snapshots(epochs=[1, 5, 20])
    model = gn.TabularModel.fit(
        frame, "sex", hidden=[6], epochs=40, seed=0, early_stopping=True, callbacks=[snapshots]
    )
    history = model.history
    return model, history, frame, csv, snapshots


def test_a_tabular_report_as_the_command_line_writes_it(browser, tabular):
    model, history, frame, csv, snapshots = tabular
    path = csv.parent / "report.html"
    training_report(model, history, frame, path, data_path=csv, snapshots=snapshots)
    seen = open_in(browser, path)
    check_self_contained(seen, path)
    assert {"network-drawing", "loss-curve", "weights-heatmap", "boundary-evolution"} <= set(
        seen["images"]
    )
    text = path.read_text()
    assert "<td>weight</td><td>numeric</td>" in text
    # the model's own metrics (an ensemble's: out of fold), labelled as the summary names them
    assert model.info["ensemble"] == 3
    assert f"held-out rows, out of fold ({model.info['validation_out_of_fold']} rows)" in text
    assert "<td>F</td>" in text and "<td>M</td>" in text
    # the hidden layers' activation is the learned blend after them, not their identity
    width = 3 * model.info["hidden"][0]
    assert f"<td>2 -&gt; {width} selu, learned -&gt; 2 softmax</td>" in text
    # what the losses are, and why the kept epoch may not have the lowest validation loss
    assert "The loss training minimises, per epoch (against labels smoothed by 0.1); the " \
        "dashed line marks the epoch whose weights were kept: the one with the fewest wrong " \
        "validation rows, which need not be the lowest validation loss." in text  # fmt: skip
    assert "<td>kept epoch (fewest wrong validation rows)</td>" in text


def test_a_report_without_two_features_has_no_boundary(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=60),
            "b": rng.normal(size=60),
            "town": rng.choice(["north", "south"], 60),
        }
    )
    frame["price"] = frame["a"] * 3 + (frame["town"] == "north") + rng.normal(0, 0.1, 60)
    model = gn.TabularModel.fit(frame, "price", hidden=[4], epochs=10, seed=0)
    history = model.history
    path = gn.report(model, history, frame, "price", tmp_path / "r.html")
    text = Path(path).read_text()
    assert 'id="weights-heatmap"' in text and 'id="decision-boundary"' not in text
    assert "<td>town</td><td>categorical: 2 values</td>" in text
    assert "The predictions figure is drawn for a model of two feature columns; this one has 3" in (
        text
    )
    assert "rmse" in text and "r2" in text


def test_the_report_never_replaces_data_or_other_files(tmp_path):
    net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1)], input_size=3, seed=0)
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8.0)
    data = tmp_path / "data.csv"
    data.write_text("a,b,c,y\n1,2,3,4\n")
    before = data.read_bytes()
    with pytest.raises(ReportError, match="overwrite the training data"):
        gn.report(net, None, X, y, data, data_path=data)
    assert data.read_bytes() == before
    other = tmp_path / "notes.html"
    other.write_text("<html>my notes</html>")
    with pytest.raises(ReportError, match="not a glassnet report"):
        gn.report(net, None, X, y, other)
    assert other.read_text() == "<html>my notes</html>"
    with pytest.raises(ReportError, match="folder"):
        gn.report(net, None, X, y, tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        gn.report(net, None, X, y, tmp_path / "nowhere" / "r.html")
    # an earlier report is replaced, atomically: no temporary file is left behind
    path = tmp_path / "again.html"
    gn.report(net, None, X, y, path, title="first")
    gn.report(net, None, X, y, path, title="second")
    assert "<title>second</title>" in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.html", "data.csv", "notes.html"]


def test_report_input_errors(tmp_path):
    net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1)], input_size=3, seed=0)
    with pytest.raises(ValueError, match="needs the data"):
        gn.report(net, None, None, None, tmp_path / "r.html")
    with pytest.raises(ValueError, match="expects 3"):
        gn.report(net, None, np.zeros((4, 2)), np.zeros(4), tmp_path / "r.html")
    with pytest.raises(ValueError, match="rows"):
        gn.report(net, None, np.zeros((4, 3)), np.zeros(5), tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_snapshots_record_the_chosen_epochs():
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([1.0, 0.0])
    net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1)], seed=0)
    default = Snapshots()
    net.fit(X, y, optimizer=gn.SGD(0.1), epochs=25, callbacks=[default])
    assert [e for e, _ in default.snapshots] == [0, 1, 2, 5, 10, 20, 25]
    chosen = Snapshots(epochs=[3, 4], before=False)
    start = net.parameters.copy()
    net.fit(X, y, optimizer=gn.SGD(0.1), epochs=6, callbacks=[chosen])
    assert [e for e, _ in chosen.snapshots] == [3, 4, 6]
    np.testing.assert_array_equal(chosen.snapshots[-1][1], net.parameters)
    assert not np.array_equal(chosen.snapshots[0][1], start)
    with pytest.raises(ValueError, match="counted from 1"):
        Snapshots(epochs=[0, 2])


def test_glassnet_report_is_the_function_whatever_was_imported():
    import glassnet.reporting as module

    assert gn.report is module.report and gn.Snapshots is module.Snapshots


def test_a_report_for_an_estimator(browser, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(60, 2)), columns=["left", "right"])
    labels = np.where(frame["left"] + frame["right"] > 0, "yes", "no")
    clf = gn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=40, random_state=0).fit(frame, labels)
    path = Path(gn.report(clf, None, frame, labels, tmp_path / "clf.html"))
    seen = open_in(browser, path)
    check_self_contained(seen, path)
    assert {"loss-curve", "decision-boundary", "network-drawing"} <= set(seen["images"])
    text = path.read_text()
    assert "<td>left</td><td>numeric</td>" in text
    accuracy = float(np.mean(clf.predict(frame) == labels))
    assert f"<td>accuracy</td><td>{accuracy:.6g}</td>" in text


# --- the report never fails after training ------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Two feature columns of which one is text, or a date: no decision boundary applies."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    n = 150
    size = rng.normal(size=n)
    frames = {
        "colour": pd.DataFrame({"size": size, "colour": rng.choice(["blue", "red"], n)}),
        "born": pd.DataFrame(
            {
                "size": size,
                "born": (
                    pd.Timestamp("1977-02-12") + pd.to_timedelta(rng.integers(0, 4000, n), "D")
                ).strftime("%Y-%m-%d"),
            }
        ),
    }
    for frame in frames.values():
        frame["label"] = np.where(size + rng.normal(0, 0.5, n) > 0, "big", "small")
    return tmp_path_factory.mktemp("mixed"), frames


@pytest.mark.parametrize(("column", "word"), [("colour", "categorical (text)"), ("born", "a date")])
def test_a_boundary_over_text_or_a_date_is_left_out_with_a_note(browser, mixed, column, word):
    folder, frames = mixed
    frame = frames[column]
    snapshots = Snapshots(epochs=[1, 3])
    model = gn.TabularModel.fit(frame, "label", hidden=[4], epochs=6, seed=0, callbacks=[snapshots])
    path = folder / f"{column}.html"
    training_report(model, model.history, frame, path, snapshots=snapshots)
    seen = open_in(browser, path)
    check_self_contained(seen, path)
    assert set(seen["images"]) == {"network-drawing", "loss-curve", "weights-heatmap"}
    assert seen["headings"][-1] == "Left out"
    text = path.read_text()
    note = (
        "The decision boundary figure is drawn over two numeric feature columns, and "
        f"&#x27;{column}&#x27; is {word}."
    )
    assert f'<p class="note">{note}</p>' in text
    if column == "born":  # a date column is summarised as dates, not as text
        born = np.asarray(frame["born"], dtype="datetime64[D]")
        cells = re.search(r"<td>born</td><td>datetime</td>((<td>[^<]*</td>){5})", text).group(1)
        mean, std, low, high, missing = re.findall(r"<td>([^<]*)</td>", cells)
        assert (low, high, missing) == (str(born.min()), str(born.max()), "0")
        assert born.min() < np.datetime64(mean) < born.max() and std.endswith(" days")
    else:
        counts = frame["colour"].value_counts()
        assert f"<td>colour</td><td>categorical: 2 values</td><td>{counts.index[0]} (" in text


def test_build_report_builds_in_memory_and_writes_nothing(tmp_path, tabular):
    model, history, frame, _, snapshots = tabular
    before = sorted(tmp_path.iterdir())
    text = build_report(model, history, frame, snapshots=snapshots)
    assert text.startswith("<!DOCTYPE html>") and 'id="boundary-evolution"' in text
    assert sorted(tmp_path.iterdir()) == before
    # a report that cannot be built says so, and nothing is written
    with pytest.raises(ReportError, match="cannot build the report: .*'height'"):
        build_report(model, history, frame.drop(columns=["height"]))
    with pytest.raises(ReportError, match="cannot build the report"):
        gn.report(model, history, frame.drop(columns=["height"]), None, tmp_path / "r.html")
    assert sorted(tmp_path.iterdir()) == before
    path = write_report(text, tmp_path / "r.html")
    assert Path(path).read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_the_destination_is_checked_before_any_work(tmp_path):
    assert check_destination(tmp_path / "r.html") == str(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []  # the writability probe is gone again
    with pytest.raises(ReportError, match="is a folder"):
        check_destination(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        check_destination(tmp_path / "nowhere" / "r.html")
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    with pytest.raises(ReportError, match="overwrite the training data"):
        check_destination(data, data_path=[str(data)])
    with pytest.raises(ReportError, match="not a glassnet report"):
        check_destination(data)
    if os.path.isdir("/proc/self"):  # a folder no one can create files in, root included
        with pytest.raises(ReportError, match="not writable"):
            check_destination("/proc/self/report.html")


def test_a_figure_that_cannot_be_drawn_is_left_out_with_its_reason(tmp_path, xor_report):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([0, 1, 1, 0])
    net = gn.Network([gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")], seed=0)
    history = net.fit(X, y, loss="bce", optimizer=gn.Adam(0.05), epochs=5)
    _, other = xor_report  # snapshots of a network of another size
    path = gn.report(net, history, X, y, tmp_path / "r.html", snapshots=other)
    text = Path(path).read_text()
    assert 'id="decision-boundary"' in text and 'id="boundary-evolution"' not in text
    assert "The decision boundary as training went on could not be drawn: snapshot 0 has" in text


def test_a_network_with_one_hot_targets_states_the_metrics_of_its_classes(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(90, 3))
    truth = np.argmax(X, axis=1)
    net = gn.Network([gn.Dense(5, "tanh"), gn.Dense(3, "softmax")], seed=0)
    history = net.fit(X, np.eye(3)[truth], loss="cross_entropy", optimizer=gn.Adam(0.05), epochs=30)
    names = ["left", "middle", "right"]
    path = gn.report(net, history, X, np.eye(3)[truth], tmp_path / "r.html", class_names=names)
    text = Path(path).read_text()
    predicted = net.predict(X).argmax(axis=1)
    accuracy = float(np.mean(predicted == truth))
    assert f"<td>these 90 rows</td><td>accuracy</td><td>{accuracy:.6g}</td>" in text
    assert '<table id="per-class">' in text and '<table id="confusion">' in text
    assert "drawn for a model of two inputs; this one has 3" in text
