"""In a notebook executed headless, glassnet shows itself: figures as pictures (with no
%matplotlib inline), a Network as an HTML table, progress without warnings."""

import pytest

from notebook_tools import execute, kernel_folder, nbformat, stderr_of

pytest.importorskip("matplotlib")

SET_UP = """
import numpy as np
import glassnet as gn
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([0, 1, 1, 0])
net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
"""
CELLS = {
    "network": "net",
    "fit": "history = net.fit(X, y, loss='bce', optimizer=gn.Adam(0.05), epochs=50, verbose=1)",
    "figure": "gn.plot.loss_curve(history)",
    "boundary": "gn.plot.decision_boundary(net, X, y)",
    "explanation": "net.explain(X[1], y[1], loss='bce')",
    "tabular": (
        "import pandas as pd\n"
        "frame = pd.DataFrame({'a': [0, 1, 0, 1, 2, 3], 'b': [1, 1, 0, 0, 2, 2],"
        " 't': ['x', 'y', 'x', 'y', 'x', 'y']})\n"
        "model = gn.TabularModel.fit(frame, 't', hidden=[3], epochs=2)\n"
        "model"
    ),
}


def run_cells(kernels, first: str = ""):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(first + SET_UP)] + [
        nbformat.v4.new_code_cell(source) for source in CELLS.values()
    ]
    execute(book, kernels)
    return {name: cell.outputs for name, cell in zip(CELLS, book.cells[1:])}, book


def result_of(outputs):
    results = [o for o in outputs if o.output_type == "execute_result"]
    assert len(results) == 1, outputs
    return results[0].data


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return kernel_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def plain(kernels):
    """A plain Jupyter install: a kernel in which ipywidgets cannot be imported."""
    return run_cells(kernels, first="import sys\nsys.modules['ipywidgets'] = None\n")


@pytest.fixture(scope="module")
def with_widgets(kernels):
    pytest.importorskip("ipywidgets")
    return run_cells(kernels)


def test_a_figure_is_an_image_without_matplotlib_inline(plain):
    cells, _ = plain
    for name in ("figure", "boundary"):
        data = result_of(cells[name])
        assert "image/png" in data, data.keys()
        assert len(data["image/png"]) > 1000


def test_a_network_is_an_html_table(plain):
    cells, _ = plain
    html = result_of(cells["network"])["text/html"]
    assert "<table" in html and "<th>activation</th>" in html and "tanh" in html
    assert "Network 2 -&gt; 4 -&gt; 1: 17 parameters, float64" in html


def test_an_explanation_shows_its_walkthrough(plain):
    cells, _ = plain
    html = result_of(cells["explanation"])["text/html"]
    assert html.startswith("<pre") and "The chain rule for w1" in html


def test_progress_without_widgets_warns_nothing(plain):
    cells, book = plain
    assert "Warning" not in stderr_of(book)
    assert "IProgress" not in stderr_of(book)
    assert any("training" in o.get("text", "") for o in cells["fit"])  # the plain bar


def test_progress_with_widgets_is_a_widget(with_widgets):
    cells, book = with_widgets
    assert "Warning" not in stderr_of(book)
    widgets = [
        o for o in cells["fit"] if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets


def test_a_tabular_model_is_an_html_table(plain):
    cells, _ = plain
    html = result_of(cells["tabular"]).get("text/html", "")
    assert "<table" in html
