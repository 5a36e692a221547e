"""Every error names its fixes as its reader gives them: Python keywords, command-line
flags, or the command an operator of the service runs."""

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.tabular import DataFileError, PreprocessingError
from glassnet.tabular.fixes import FACES, FixableError, option, spell, together


def test_each_face_spells_each_kind_of_option():
    text = (
        f"give {together([option('na_values', ['NA', 'n/a']), option('impute')])}; or "
        f"{option('ignore', ['my id'])}; or {option('max_categories')}; or "
        f"{option('date_format', {'when': '%d/%m/%Y'})}"
    )
    assert spell(text, "python") == (
        "give na_values=['NA', 'n/a'], impute=True; or ignore=['my id']; or "
        "max_categories=N; or date_format={'when': '%d/%m/%Y'}"
    )
    assert spell(text, "command line") == (
        "give --na-values NA,n/a --impute; or --ignore 'my id'; or --max-categories N; or "
        "--date-format when=%d/%m/%Y"
    )
    assert spell(text, "service") == (
        "give null (JSON) or an empty cell (CSV) in place of those cells; glassnet serve "
        "--impute; or glassnet train "
        "--ignore 'my id'; or glassnet train --max-categories N; or glassnet train "
        "--date-format when=%d/%m/%Y"
    )
    for face in FACES:
        assert "\ue000" not in spell(text, face) and "\ue003" not in spell(text, face)
    with pytest.raises(ValueError, match="no fix names the option 'imputes'"):
        option("imputes")


def test_an_error_is_spelled_for_python_unless_asked_and_keeps_its_markers_when_quoted():
    error = PreprocessingError(f"column 'x' is empty; leave it out with {option('ignore', ['x'])}")
    assert isinstance(error, FixableError) and isinstance(error, ValueError)
    assert str(error) == "column 'x' is empty; leave it out with ignore=['x']"
    assert repr(error) == f"PreprocessingError({str(error)!r})"  # no marker in a traceback
    assert str(DataFileError(f"give {option('encoding', 'latin-1')}")) == (
        "give ReadOptions(encoding='latin-1')"  # how read_table and fit_stream take it
    )
    assert spell(option("na_values", ["#N/A", "?"]), "command line") == "--na-values '#N/A,?'"
    assert error.spelled("command line").endswith("leave it out with --ignore x")
    quoted = PreprocessingError(f"partition 2: {error.message}")
    assert quoted.spelled("command line") == "partition 2: " + error.spelled("command line")


def test_the_same_problem_is_told_in_python_and_on_the_command_line(tmp_path, capsys):
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(200)], "x": np.arange(200.0),
                          "y": ["a", "b"] * 100})  # fmt: skip
    with pytest.raises(PreprocessingError) as caught:
        gn.TabularModel.fit(frame, "y")
    assert "leave it out with ignore=['id'], or keep its most frequent values with " \
        "max_categories=16 (the others then share one level)" in str(caught.value)  # fmt: skip
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert cli.main(["train", str(tmp_path / "d.csv"), "--target", "y", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "leave it out with --ignore id, or keep its most frequent values with " \
        "--max-categories 16" in err and "\ue000" not in err  # fmt: skip
    assert err.strip() == f"glassnet: error: {caught.value.spelled('command line')}"
