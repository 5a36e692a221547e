"""The README's examples run and print what the README says they print: every Python block,
as printed, in a folder that holds what the README's commands before it make."""

import ast
import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
#: The section whose blocks run on a cluster, one session from its first block to its last.
CLUSTERS = "Larger than memory, and clusters"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def section(heading):
    """The text of one README section, up to the next '## ' heading."""
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def blocks_in(heading):
    return re.findall(r"```python\n(.*?)```", section(heading), flags=re.S)


def run_block(code, namespace=None, where="README.md"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), {} if namespace is None else namespace)
    return out.getvalue().splitlines()


def printed_as_said(code, lines):
    """Each ``print(...)  # value`` line of a block, where the comment is a value (not prose)
    and every print of the block gave one line: (what the README says, what it printed)."""
    prints = [line for line in code.splitlines() if line.lstrip().startswith("print(")]
    if len(prints) != len(lines):
        return []
    pairs = []
    for statement, line in zip(prints, lines):
        comment = statement.split("  # ", 1)[1].strip() if "  # " in statement else ""
        if re.match(r"^(True|False|\[|\(|-?\d|')", comment):
            pairs.append((comment, line))
    return pairs


@pytest.fixture
def readme_folder(tmp_path, monkeypatch):
    """A folder with what the README's commands make: examples/, and the model.glassnet of
    `glassnet train examples/iris.csv --target species`."""
    from glassnet import cli

    (tmp_path / "examples").mkdir()
    for name in ("iris.csv", "new_flowers.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / "examples" / name)
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["train", "examples/iris.csv", "--target", "species", "--quiet"]) == 0
    return tmp_path


def test_the_ten_line_example_runs_and_learns_xor():
    code = python_blocks()[0]
    assert len(code.strip().splitlines()) <= 12
    assert run_block(code)[0] == "[0. 1. 1. 0.]"


def test_every_python_block_outside_the_cluster_section_runs_as_printed(readme_folder):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    pytest.importorskip("matplotlib")
    clusters = set(blocks_in(CLUSTERS))
    blocks = [code for code in python_blocks() if code not in clusters]
    assert len(blocks) >= 9
    checked = 0
    for i, code in enumerate(blocks):
        lines = run_block(code, where=f"README.md, Python block {i}")
        for said, got in printed_as_said(code, lines):
            assert got == said, (code, got)
            checked += 1
    assert checked >= 5
    # the example of TabularModel.fit: a model, with its history, as the command line trains
    (fit,) = [c for c in blocks if "TabularModel.fit(" in c]
    assert "model = TabularModel.fit(" in fit and "model.history" in fit


def test_the_deployment_section_prints_what_the_command_prints(readme_folder):
    pytest.importorskip("onnxruntime")
    from glassnet import cli

    printed = re.search(
        r"\$ glassnet export .*\n(.*)\n", section("Deploying: ONNX and an HTTP service")
    ).group(1)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["export", "model.glassnet", "iris.onnx"]) == 0
    assert err.getvalue().strip() == printed


def test_the_cluster_section_runs_as_printed(readme_folder):
    """The section's blocks one after the other, as one session: a local Dask client, the
    arrays and frames on it, dask-ml, joblib and Spark, then the files of its command line."""
    for module in ("dask.distributed", "dask_ml", "pyspark", "pyarrow"):
        pytest.importorskip(module)
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    sh = re.findall(r"```sh\n(.*?)```", section(CLUSTERS), flags=re.S)
    make = next(line for block in sh for line in block.splitlines() if "flowers-" in line)
    exec(re.search(r'-c "(.*)"$', make).group(1), {})  # the README's own command: 3 files
    namespace: dict = {}
    try:
        for i, code in enumerate(blocks_in(CLUSTERS)):
            lines = run_block(code, namespace, where=f"README.md, cluster block {i}")
            for said, got in printed_as_said(code, lines):
                assert got == said, (code, got)
    finally:
        if "spark" in namespace:
            namespace["spark"].stop()
        if "client" in namespace:
            namespace["client"].close()
    assert namespace["model"].history is not None
    assert (readme_folder / "flowers.glassnet").exists()


def test_printed_values_are_read_from_the_comments():
    code = 'print(1 + 1)  # 2\nprint("x")  # the letter\n'
    assert printed_as_said(code, ["2", "x"]) == [("2", "2")]
    assert printed_as_said(code, ["2"]) == []


def test_the_python_blocks_import_what_they_use():
    """No block leans on a name only an earlier block defines, but the cluster session's."""
    clusters = set(blocks_in(CLUSTERS))
    for code in python_blocks():
        if code in clusters:
            continue
        tree = ast.parse(code)
        imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}  # fmt: skip
        assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}  # fmt: skip
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        for module in ("glassnet", "gn", "pandas", "np"):
            if module in used:
                assert module in imported or module in assigned, (module, code)


def test_the_readme_mentions_no_tuple_from_fit():
    assert not re.search(r"model, history = .*fit", README)
