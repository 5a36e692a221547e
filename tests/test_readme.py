"""The README's examples run and print what the README says they print."""

import contextlib
import io
import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_ten_line_example_runs_and_learns_xor():
    code = python_blocks()[0]
    assert len(code.strip().splitlines()) <= 12
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().splitlines()[0] == "[0. 1. 1. 0.]"


def section(heading):
    """The text of one README section, up to the next '## ' heading."""
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def blocks_in(heading):
    return re.findall(r"```python\n(.*?)```", section(heading), flags=re.S)


def run_block(code, where="README.md"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), {})
    return out.getvalue().splitlines()


def test_the_models_in_memory_example_runs():
    (code,) = blocks_in("Model files")
    assert run_block(code) == ["True"]


def test_the_deployment_examples_run(tmp_path, monkeypatch):
    import pytest

    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    import shutil

    import pandas

    import glassnet as gn

    examples = Path(__file__).parent.parent / "examples"
    (tmp_path / "examples").mkdir()
    for name in ("iris.csv", "new_flowers.csv"):
        shutil.copy(examples / name, tmp_path / "examples" / name)
    model = gn.TabularModel.fit(pandas.read_csv(examples / "iris.csv"), "species", epochs=30)
    model.save(tmp_path / "model.glassnet")
    monkeypatch.chdir(tmp_path)
    onnx_example, pipeline_example = blocks_in("Deploying: ONNX and an HTTP service")
    assert run_block(onnx_example) == ["True"]
    assert run_block(pipeline_example) == ["['label', 'probabilities']"]
    # the export line the section prints is what the command says for such a model
    from glassnet import cli

    printed = re.search(
        r"\$ glassnet export .*\n(.*)\n", section("Deploying: ONNX and an HTTP service")
    ).group(1)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["export", "model.glassnet", "iris.onnx"]) == 0
    assert err.getvalue().strip() == printed
