"""What a command says on stderr: the glassnet logger's records as ``glassnet: ...`` lines,
below the progress bar, escaped; --quiet before or after the subcommand; and the logging
configuration put back as it was when main() returns."""

import logging
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.cli import messages
from glassnet.cli.interrupts import Interrupts

pd = pytest.importorskip("pandas")
tqdm = pytest.importorskip("tqdm")


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    """A model that knows three towns, and rows from a fourth it has never seen."""
    folder = tmp_path_factory.mktemp("messages")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=90), "town": ["north", "south", "east"] * 30})
    frame["y"] = np.where(frame["size"] > 0, "big", "small")
    model = gn.TabularModel.fit(frame, "y", epochs=2)
    model.save(folder / "model.glassnet")
    frame.assign(town="west").to_csv(folder / "new.csv", index=False)
    return folder


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_notes_and_warnings_are_glassnet_lines(capsys, towns, tmp_path):
    code, err = run(capsys, "predict", towns / "model.glassnet", towns / "new.csv", "--out",
                    tmp_path / "p.csv")  # fmt: skip
    assert code == 0
    assert err.splitlines() == [
        "glassnet: warning: column 'town' has value never seen in training ('west') in 90 "
        "rows; encoded as all zeros (warned once per column)",
        f"glassnet: 90 predictions written to {tmp_path / 'p.csv'}",
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_leaves_warnings_and_errors(capsys, towns, tmp_path, where):
    args = ["predict", towns / "model.glassnet", towns / "new.csv", "--out", tmp_path / "p.csv"]
    code, err = run(capsys, *(["--quiet", *args] if where == "before" else [*args, "--quiet"]))
    assert code == 0
    assert len(err.splitlines()) == 1 and err.startswith("glassnet: warning: column 'town'")
    code, err = run(capsys, "--quiet", "predict", towns / "missing.glassnet", towns / "new.csv")
    assert code == 2 and err.startswith("glassnet: error: ")


def test_main_puts_the_logging_configuration_back(capsys, towns, tmp_path):
    logger = logging.getLogger("glassnet")
    before = (list(logger.handlers), logger.level, logger.propagate)
    for quiet in ([], ["--quiet"]):
        run(capsys, *quiet, "predict", towns / "model.glassnet", towns / "new.csv",
            "--out", tmp_path / "p.csv")  # fmt: skip
        assert (list(logger.handlers), logger.level, logger.propagate) == before


def test_a_message_is_written_below_an_open_progress_bar(capsys):
    """Never glued to the end of the bar: the bar is cleared, the line written, the bar
    drawn again below it."""
    with messages.shown(Interrupts()):
        bar = tqdm.tqdm(total=10, file=sys.stderr, desc="training")
        bar.update(3)
        logging.getLogger("glassnet.somewhere").warning("a \x1b[2J note")
        bar.update(3)
        bar.close()
    err = capsys.readouterr().err
    before, line, after = err.partition("glassnet: warning: a \\x1b[2J note\n")
    assert line, err  # written whole, and escaped
    assert before.endswith("\r") and before.rstrip("\r ").endswith("it/s]")  # the bar, cleared
    assert after.startswith("\rtraining:")  # and drawn again on the next line


def test_library_records_below_info_and_from_other_loggers_are_not_shown(capsys):
    with messages.shown(Interrupts()):
        logging.getLogger("glassnet.somewhere").debug("detail")
        logging.getLogger("elsewhere").warning("not ours")
        logging.getLogger("glassnet.somewhere").error("broken")
    err = capsys.readouterr().err
    assert "detail" not in err and "glassnet: error: broken\n" in err
    assert "glassnet: not ours" not in err and "glassnet: warning: not ours" not in err
