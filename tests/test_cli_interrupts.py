"""Ctrl-C: at any moment of a command, every existing file stays as it was, stderr ends with
``glassnet: interrupted`` on a line of its own below the closed progress bar, no traceback,
exit status 130; or the command had finished, and every file is new and whole, status 0.

The real command in subprocesses, interrupted at random moments over its whole run; and
the pieces (:mod:`glassnet.cli.interrupts`, :mod:`glassnet.cli.outputs`) in this process,
with the signal sent where the test wants it.
"""

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.cli.command import run
from glassnet.cli.interrupts import Interrupts
from glassnet.cli.outputs import Outputs

pd = pytest.importorskip("pandas")
pytest.importorskip("tqdm")

EPOCHS = 60


@pytest.fixture(autouse=True)
def ctrl_c_reaches_python():
    """Each test starts from Python's own handling of Ctrl-C, as a terminal's foreground
    job has it, whatever started the suite: a shell's background job ignores SIGINT, and
    so would every process started from it, which no Ctrl-C could then reach."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def importing(pid: int, library: bytes = b"_multiarray_umath", timeout: float = 60.0) -> None:
    """Wait until the process has begun importing numpy (its extension is mapped): from
    then on the command's own code is running. (Before it, the interpreter itself is
    starting, and a signal then is Python's to handle.)"""
    maps = f"/proc/{pid}/maps"
    if not os.path.exists(maps):
        pytest.skip("needs /proc to see what the process has loaded")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(maps, "rb") as f:
                if library in f.read():
                    return
        except OSError:
            return  # it has exited already
        time.sleep(0.002)


def _command(*args):
    return [sys.executable, "-m", "glassnet.cli", *map(str, args)]


# The compiled path decides per fit whether its kernels pay; not what is tried here.
ENV = {**os.environ, "GLASSNET_FAST": "0"}


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    """A data file, and the model file and report that an earlier, shorter training left:
    the files every try starts from (a finished run replaces all of them)."""
    folder = tmp_path_factory.mktemp("interrupts")
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    data = folder / "data.csv"
    pd.DataFrame({"a": a, "y": np.where(a > 0, "yes", "no")}).to_csv(data, index=False)
    result = subprocess.run(
        _command(
            "train", data, "--target", "y", "--epochs", "2", "--quiet",
            "--out", folder / "m.glassnet", "--report", folder / "r.html",
        ),
        capture_output=True, text=True, timeout=300, env=ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    old = {name: (folder / name).read_bytes() for name in ("m.glassnet", "r.html")}
    return data, old


def _try(data, old, folder, delay):
    """Train into a folder holding the old files, Ctrl-C ``delay`` seconds after the
    command's code started (None: never); (exit status, stderr, the folder's files, the
    seconds the run took)."""
    folder.mkdir()
    for name, content in old.items():
        (folder / name).write_bytes(content)
    process = subprocess.Popen(
        _command(
            "train", data, "--target", "y", "--epochs", EPOCHS, "--no-early-stopping",
            "--out", "m.glassnet", "--report", "r.html",
        ),
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    importing(process.pid)
    started = time.monotonic()
    if delay is not None:
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    took = time.monotonic() - started
    return process.returncode, err, {p.name: p.read_bytes() for p in folder.iterdir()}, took


def _judge(status, err, files, old):
    """Interrupted with every file as it was, or finished with every file new and whole."""
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert sorted(files) == sorted(old), err  # nothing staged or temporary left behind
    if status == 130:
        assert files == old, err
        # its own line, after the closed bar: no bar glued before it, none drawn after it
        assert err.split("\n")[-2:] == ["glassnet: interrupted", ""], err
        return "interrupted"
    assert status == 0, f"exit status {status}: {err}"
    assert "interrupted" not in err
    assert all(files[name] != old[name] for name in old)
    assert gn.load(files["m.glassnet"]).info["epochs"] == EPOCHS
    assert files["r.html"].rstrip().endswith(b"</html>")
    return "finished"


def test_ctrl_c_at_any_moment_is_a_clean_interruption(training, tmp_path):
    """Three runs to the end measure how long a run takes alongside two others; then 15
    runs (three at a time) are interrupted: one at the start of the command's own code,
    14 at moments drawn evenly from that start to a little after the longest run would
    have ended (each run of the suite draws its own moments). Whatever the moment, the
    outcome is one of the two whole ones."""
    data, old = training
    rng = random.Random()
    with ThreadPoolExecutor(3) as lanes:
        whole = list(lanes.map(lambda i: _try(data, old, tmp_path / f"whole{i}", None), range(3)))
        for status, err, files, _ in whole:
            assert _judge(status, err, files, old) == "finished"
        longest = max(took for *_, took in whole)
        # 0: as the libraries load, which is certain to be before the end
        delays = [0.0] + [rng.uniform(0, 1.15 * longest) for _ in range(14)]

        def interrupted(i, delay):
            return delay, _try(data, old, tmp_path / f"try{i}", delay)

        tries = list(lanes.map(interrupted, range(len(delays)), delays))
    outcomes = []
    for delay, (status, err, files, _) in tries:
        try:
            outcomes.append(_judge(status, err, files, old))
        except AssertionError as exc:
            raise AssertionError(f"Ctrl-C {delay:.3f} s after the start: {exc}") from None
    assert outcomes[0] == "interrupted"  # the moments do reach into the run


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory):
    """A model, and 360 000 rows to predict: long enough to interrupt."""
    folder = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["x", "y"], 120)})
    frame["y"] = np.where(frame["a"] > 0, "yes", "no")
    model = gn.TabularModel.fit(frame, "y", epochs=3)
    model.save(folder / "model.glassnet")
    big = folder / "big.csv"
    pd.concat([frame] * 3000).to_csv(big, index=False)
    return folder / "model.glassnet", big


@pytest.mark.parametrize("delay", [0.2, 1.0, 2.5])
def test_ctrl_c_while_predicting_leaves_no_half_written_output(many_rows, tmp_path, delay):
    model, big = many_rows
    out = tmp_path / "preds.csv"
    out.write_text("y\nold\n")  # an earlier run's predictions, which predict may replace
    process = subprocess.Popen(
        _command("predict", model, big, "--out", out, "--chunk-rows", "500"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    importing(process.pid)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]
    if process.returncode == 0:  # it finished first: then the file is complete
        assert len(pd.read_csv(out)) == 360_000
        return
    assert process.returncode == 130 and err.split("\n")[-2:] == ["glassnet: interrupted", ""]
    assert out.read_text() == "y\nold\n"


def test_an_interrupt_python_drops_still_stops_training_and_keeps_the_files(
    training, tmp_path, monkeypatch, capsys
):
    """As Ctrl-C once landed in importlib's module-lock callback and in llvmlite's ctypes
    callback while the kernels loaded: Python printed it as "Exception ignored", training
    ran on and the model file was replaced. Now it is not printed, training stops at the
    end of the next epoch, and the files stay as they were."""
    data, old = training
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)
    fit = gn.TabularModel.fit

    def fit_after_a_dropped_interrupt(*args, **kwargs):
        class Finalized:
            def __del__(self):
                _interrupt()

        Finalized()
        return fit(*args, **kwargs)

    monkeypatch.setattr(gn.TabularModel, "fit", fit_after_a_dropped_interrupt)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", str(data), "--target", "y", "--out", "m.glassnet", "--report",
                     "r.html", "--epochs", "5"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 130 and err.split("\n")[-2:] == ["glassnet: interrupted", ""], err
    assert "KeyboardInterrupt" not in err and "Exception ignored" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


# --- the pieces, in this process --------------------------------------------------------


def test_importing_the_command_line_leaves_sigint_alone():
    code = (
        "import signal; before = signal.getsignal(signal.SIGINT); "
        "import glassnet.cli, glassnet.cli.__main__; "
        "assert signal.getsignal(signal.SIGINT) is before, signal.getsignal(signal.SIGINT)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_main_puts_back_the_handler_and_the_unraisable_hook(tmp_path, capsys):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, mine)
    hook = sys.unraisablehook
    try:
        assert cli.main(["inspect", str(tmp_path / "missing.glassnet")]) == 2
        assert signal.getsignal(signal.SIGINT) is mine and sys.unraisablehook is hook
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt():
    """Ctrl-C, delivered to this process's handler before the next line runs."""
    signal.raise_signal(signal.SIGINT)


@pytest.fixture
def interrupts():
    ctrl_c = Interrupts().install()
    yield ctrl_c
    ctrl_c.restore()


def test_ctrl_c_while_the_command_imports_ends_it_as_interrupted(interrupts, capsys):
    _interrupt()  # noted only: nothing is raised in the middle of an import
    assert interrupts.seen
    assert run(["--version"], interrupts) == 130
    assert capsys.readouterr() == ("", "glassnet: interrupted\n")


def test_a_deferred_block_runs_whole_and_the_interrupt_comes_at_its_end(interrupts):
    interrupts.arm()
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred():
            _interrupt()
            done.append("the rest of the block")
    assert done == ["the rest of the block"]


def test_an_interrupt_is_raised_once_then_only_noted(interrupts):
    interrupts.arm()
    with pytest.raises(KeyboardInterrupt):
        _interrupt()
    _interrupt()  # a second Ctrl-C while the first is being handled: the clean-up goes on
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()  # at a safe point, an interrupt that came is raised (again)


def test_an_interrupt_dropped_by_python_is_raised_at_the_next_check(interrupts, capsys):
    interrupts.arm()

    class Finalized:
        def __del__(self):
            _interrupt()  # raised inside __del__: Python can only drop it

    Finalized()
    assert "KeyboardInterrupt" not in capsys.readouterr().err  # not reported as ignored
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()


def test_after_the_end_an_interrupt_changes_nothing(interrupts):
    interrupts.arm()
    with interrupts.finishing():
        _interrupt()
    _interrupt()
    interrupts.check()
    assert not interrupts.seen


def test_outputs_are_put_in_place_together_or_not_at_all(interrupts, tmp_path):
    interrupts.arm()
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("before")
    with pytest.raises(KeyboardInterrupt):
        with Outputs(interrupts) as outputs:
            for target in (old, new):
                with open(outputs.path(target), "w") as f:
                    f.write("after")
            _interrupt()
    assert old.read_text() == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_outputs_commit_puts_every_file_in_place(interrupts, tmp_path):
    interrupts.arm()
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("before")
    old.chmod(0o600)
    with Outputs(interrupts) as outputs:
        for target in (old, new):
            with open(outputs.path(target), "w") as f:
                f.write("after")
        outputs.commit()
        _interrupt()  # the command has finished: too late to change anything
    assert old.read_text() == new.read_text() == "after"
    assert old.stat().st_mode & 0o777 == 0o600  # the old file's mode, kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt", "old.txt"]


def test_main_runs_in_another_thread_and_leaves_sigint_to_the_main_one(tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT)
    with ThreadPoolExecutor(1) as other:
        code = other.submit(cli.main, ["inspect", str(tmp_path / "missing.glassnet")]).result()
    assert code == 2 and signal.getsignal(signal.SIGINT) is before


def test_an_ignored_sigint_stays_ignored():
    """As a shell's background job has it: Python leaves it ignored, and so does glassnet."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctrl_c = Interrupts().install()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        ctrl_c.restore()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
