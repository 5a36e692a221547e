"""The glassnet command: help on every subcommand, one-line errors, no tracebacks."""

import subprocess
import sys

import pytest

from glassnet import cli


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "glassnet.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_help():
    result = run("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout


@pytest.mark.parametrize("command", ["demo"])
def test_every_subcommand_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: glassnet " + command in result.stdout


def test_demo_gender(capsys):
    assert cli.main(["demo", "gender"]) == 0
    out = capsys.readouterr().out
    assert "0.9990889488055994" in out and "Emily" in out


def test_bad_demo_name_is_one_line_and_no_traceback():
    result = run("demo", "bogus")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid choice: 'bogus'" in result.stderr
