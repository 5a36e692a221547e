"""glassnet inspect, and a TabularModel's HTML repr, print whatever training summary a model
file holds: a missing or unexpected value is printed as such, never a traceback."""

import html

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli.inspect import training_lines
from glassnet.tabular import format_metrics
from modelfile_tools import edit_document
from test_cli import assert_one_line_error, inproc

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "z": rng.normal(size=80)})
    frame["label"] = np.where(frame["x"] > 0, "high", "low")
    model = gn.TabularModel.fit(frame, "label", hidden=[3], epochs=4, seed=0, ensemble=1)
    path = tmp_path_factory.mktemp("inspect") / "m.glassnet"
    model.save(path)
    return model, path


#: Summaries edited by hand: (the change to the summary, what inspect prints of it).
TAMPERED = [
    (lambda info: info.clear(), ["data: missing, missing rows", "epochs: missing; final loss"]),
    (lambda info: info.update(train_metrics="very good"), ["training:   'very good' (not a set"]),
    (
        lambda info: info.update(train_metrics={"accuracy": "high", "f1": [1, 2]}),
        ["training:   accuracy 'high', f1 [1, 2]"],
    ),
    (lambda info: info.update(validation_metrics=[0.5]), ["validation: [0.5] (not a set"]),
    (
        lambda info: info.update(hidden=7, activation=None, optimizer=3, loss=["mse"]),
        ['hidden layers: 7 (missing); loss ["mse"]; 3'],
    ),
    (
        lambda info: info.update(epochs="many", restored_epoch="x", epoch_loss="low"),
        ["epochs: many; kept epoch x: loss low"],
    ),
    (
        lambda info: info.update(data=["a", "b"], rows=None, validation_rows="some"),
        ['data: ["a", "b"], missing rows, some held out for validation'],
    ),
    (lambda info: info.update(epoch_val_loss={"v": 1}), ['validation loss {"v": 1}']),
    (lambda info: info.update(trained_at=12.5), ["trained 12.5 with glassnet"]),
]


@pytest.mark.parametrize(("change", "shown"), TAMPERED)
def test_inspect_prints_a_summary_edited_by_hand(trained, tmp_path, change, shown):
    model, path = trained
    edited = tmp_path / "edited.glassnet"
    edited.write_bytes(edit_document(path.read_bytes(), lambda d: change(d["payload"]["info"])))
    result = inproc("inspect", edited)
    if result.returncode == 2:  # a loader that refuses such a summary: one line, no traceback
        assert_one_line_error(result, "training summary")
        return
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for text in shown:
        assert text in result.stdout, result.stdout


@pytest.mark.parametrize(("change", "shown"), TAMPERED)
def test_the_summary_lines_show_any_value_as_it_is(trained, change, shown):
    model, _ = trained
    info = dict(model.info)
    change(info)
    text = "\n".join(f"  {line}" for line in training_lines(info, "0.1.0"))
    for fragment in shown:
        assert fragment in text, text
    assert training_lines("not a summary") == [
        "(the training summary is not a set of values: not a summary)"
    ]


def test_inspect_states_the_metrics_as_format_metrics_does(trained):
    model, path = trained
    result = inproc("inspect", path)
    assert result.returncode == 0, result.stderr
    assert f"training:   {format_metrics(model.info['train_metrics'])}" in result.stdout
    assert f"validation: {format_metrics(model.info['validation_metrics'])}" in result.stdout


def test_a_network_file_with_a_summary_that_is_no_mapping(tmp_path):
    net = gn.Network([gn.Dense(2)], input_size=2, seed=0)
    path = tmp_path / "net.glassnet"
    net.save(path)
    path.write_bytes(edit_document(path.read_bytes(), lambda d: d.update(training=["x", 1])))
    result = inproc("inspect", path)
    if result.returncode == 2:
        assert_one_line_error(result)
        return
    assert result.returncode == 0, result.stderr
    assert '(not a set of values: ["x", 1])' in result.stdout


@pytest.mark.parametrize(("change", "shown"), TAMPERED)
def test_the_html_repr_shows_any_summary(trained, change, shown):
    model, _ = trained
    info = dict(model.info)
    change(info)
    other = gn.TabularModel(model.network, model.features, model.target, info)
    page = other._repr_html_()
    assert page.startswith("<div><strong>TabularModel</strong>")
    for key, label in (("train_metrics", "training"), ("validation_metrics", "validation")):
        if info.get(key):
            assert f"{label} rows: {html.escape(format_metrics(info[key]))}" in page


def test_the_html_repr_states_the_summary_metrics(trained):
    model, _ = trained
    page = model._repr_html_()
    assert f"training rows: {html.escape(format_metrics(model.info['train_metrics']))}" in page
    assert "validation rows: accuracy " in page


def test_the_reading_a_model_keeps_is_shown_as_predict_s_options_whatever_the_file_holds():
    info = {"rows": 3, "read": {"decimal": ",", "encoding": "latin 1", "sep": ";"}}
    (first, *_) = training_lines(info)
    assert first.endswith("3 rows, read with --decimal , --encoding 'latin 1' sep: ;")
