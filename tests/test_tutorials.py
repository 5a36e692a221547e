"""Every tutorial in docs/tutorials/ runs, headless, and shows what it says it shows."""

from pathlib import Path

import pytest

from notebook_tools import execute, images_in, kernel_folder, nbformat, stderr_of, text_of

pytest.importorskip("matplotlib")

TUTORIALS = Path(__file__).parent.parent / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))

#: What each tutorial must show: the seeds' printed numbers and glassnet's explanations.
EXPECTED = {
    "seed000-002_xor.ipynb": [
        "0 10.6579261591",  # seed 002's first printed loss
        "499 1.12013092852e-08",  # and its last
        "The chain rule for w4 (W1[0,1]",
        "<table",  # the Network as an HTML table
    ],
    "seed003_gender.ipynb": [
        "0.9990889488055994",
        "0.7216325609518421",
        "0.5",
        "dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1",
        "d_L_d_w1 = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1",
        "Emily: 0.9",
        "Frank: 0.0",
        "seed_name",  # the explanation's data frame
    ],
    "seed004_exam.ipynb": [
        "z_h2 = w3*x1 + w4*x2 = 0.6*2 + 0.3*9 = 3.9",
        "S(3.9) = 0.980159694",
        "output: 0.8567467964",
        "[1.3333 0.8889]",  # the new student, scaled like the training data
    ],
}


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return kernel_folder(tmp_path_factory)


def test_every_tutorial_is_checked():
    assert {p.name for p in NOTEBOOKS} == set(EXPECTED)


def test_tutorials_are_stored_without_outputs():
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tutorial_runs_and_shows_its_results(path, kernels):
    book = execute(nbformat.read(path, as_version=4), kernels)
    shown = text_of(book)
    for expected in EXPECTED[path.name]:
        assert expected in shown, f"{path.name} does not show {expected!r}"
    assert images_in(book) >= 1  # its figures appear as pictures
    assert "Warning" not in stderr_of(book)
