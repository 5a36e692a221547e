"""Type checking: mypy finds no error in glassnet, and a user's script that loads a model
type-checks against glassnet's own hints (shipped with py.typed).

mypy runs as a subprocess, with the configuration in pyproject.toml ([tool.mypy]); its
cache (.mypy_cache) makes a second run take a second.
"""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy comes with the dev extra")

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mypy_finds_no_error_in_glassnet():
    run = _mypy(cwd=ROOT)
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 2: mypy itself failed
    errors = [line for line in run.stdout.splitlines() if re.match(r"\S+:\d+: error:", line)]
    assert not errors, "mypy errors:\n" + "\n".join(errors)


def test_a_script_that_loads_a_model_type_checks(tmp_path):
    script = tmp_path / "use_glassnet.py"
    script.write_text(
        textwrap.dedent(
            """\
            import numpy as np

            import glassnet

            model = glassnet.load("model.glassnet")
            reveal_type(model)
            X = np.zeros((2, 3))
            predictions = model.predict(X)
            if isinstance(model, glassnet.Network):
                output: np.ndarray = model.predict(X)
                print(output.shape, model.summary(print_=False))
            """
        )
    )
    # --strict: among other things, names glassnet/__init__.py does not re-export fail.
    cache = ROOT / ".mypy_cache" / "user-script"
    run = _mypy("--strict", "--cache-dir", str(cache), script.name, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert "import-untyped" not in output, output  # py.typed is there
    assert run.returncode == 0, output
    union = (
        "glassnet.network.Network | glassnet.tabular.model.TabularModel"
        " | glassnet.sklearn.estimators.MLPClassifier | glassnet.sklearn.estimators.MLPRegressor"
    )
    assert f'Revealed type is "{union}"' in output, output


def test_the_names_type_checkers_see_are_the_lazy_ones():
    """glassnet/__init__.pyi gives type checkers the public names that __init__.py hands
    out lazily when running: the two lists are the same."""
    import glassnet

    tree = ast.parse((ROOT / "src" / "glassnet" / "__init__.pyi").read_text())
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    seen = (imported | defined) - {"__getattr__"}
    assert seen == set(glassnet._NAMES) | set(glassnet._MODULES)
