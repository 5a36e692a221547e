"""Atomic writes: a writer killed mid-save leaves a temporary file, which the next save to
the same target removes, and nothing else."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet as gn
from glassnet import atomic


def _pid_that_cannot_exist() -> int:
    """A process ID above the kernel's largest: no process has it, now or later."""
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            return int(f.read()) + 1
    except OSError:  # not Linux: PIDs stay below 2**22 on the systems glassnet runs on
        return 2**22 + 1


def _network():
    net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1)], input_size=3, seed=0)
    net.fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=1)
    return net


def test_a_save_killed_before_its_rename_leaves_a_temp_file_the_next_save_removes(tmp_path):
    target = tmp_path / "model.glassnet"
    _network().save(target)
    before = target.read_bytes()
    # A child process whose save is killed (SIGKILL) between writing and renaming.
    script = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np
        import glassnet as gn
        net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1)], input_size=3, seed=1)
        os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        net.save({str(target)!r})
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert child.returncode == -9, child.stderr.decode()
    left = [p for p in tmp_path.iterdir() if p.name != "model.glassnet"]
    assert len(left) == 1 and left[0].name.startswith(".model.glassnet.")
    assert target.read_bytes() == before  # the old model is whole

    _network().save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.glassnet"]


def test_only_stale_temp_files_of_the_target_are_removed(tmp_path):
    target = str(tmp_path / "model.glassnet")
    dead = _pid_that_cannot_exist()
    stale = tmp_path / atomic.temporary_name(target, pid=dead)
    mine = tmp_path / atomic.temporary_name(target)  # this process: running
    other_target = tmp_path / atomic.temporary_name(str(tmp_path / "model"), pid=dead)
    host = re.search(r"\.([0-9a-f]{8})-[0-9]+\.", atomic.temporary_name(target)).group(1)
    elsewhere = "0" * 8 if host != "0" * 8 else "1" * 8
    other_host = tmp_path / f".model.glassnet.{elsewhere}-{dead}.0123abcd.tmp"
    keep = [
        mine,
        other_target,
        other_host,
        tmp_path / f".model.glassnet.{dead}.tmp",  # not glassnet's naming
        tmp_path / ".model.glassnet.abcd1234.tmp",  # an older glassnet's: undecidable
        tmp_path / "model.glassnet.bak",
    ]
    for path in [stale, *keep]:
        path.write_bytes(b"x")
    folder = tmp_path / atomic.temporary_name(target, pid=dead)  # not a regular file
    folder.mkdir()
    link = tmp_path / atomic.temporary_name(target, pid=dead)
    link.symlink_to(tmp_path / "model.glassnet.bak")

    assert atomic.remove_stale(target) == [str(stale)]
    assert not stale.exists()
    assert all(p.exists() for p in keep) and folder.is_dir() and link.is_symlink()


def test_a_temp_file_of_a_running_writer_is_kept(tmp_path):
    target = str(tmp_path / "model.glassnet")
    # A live process that waits for its input to close.
    writer = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        live = tmp_path / atomic.temporary_name(target, pid=writer.pid)
        live.write_bytes(b"being written")
        _network().save(target)
        assert live.exists()
    finally:
        writer.stdin.close()
        writer.wait()
    atomic.remove_stale(target)  # now its writer is gone
    assert not live.exists()


def test_the_temp_file_is_named_for_its_target_host_and_writer(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    atomic.write_atomically(str(tmp_path / "out.txt"), b"hello")
    (name,) = seen
    assert name.startswith(".out.txt.") and name.endswith(".tmp")
    assert f"-{os.getpid()}." in name
    assert (tmp_path / "out.txt").read_bytes() == b"hello"
    assert oct((tmp_path / "out.txt").stat().st_mode & 0o777) == oct(0o644)


@pytest.mark.parametrize("pid", [0, 1])
def test_process_ids_that_answer_or_that_are_not_ours_to_ask_count_as_running(tmp_path, pid):
    # PID 0 (the process group) answers; PID 1 (init) belongs to root: kept either way.
    target = str(tmp_path / "m")
    path = tmp_path / atomic.temporary_name(target, pid=pid)
    path.write_bytes(b"x")
    assert atomic.remove_stale(target) == []
    assert path.exists()
