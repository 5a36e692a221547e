"""The glassnet program: the ``glassnet`` script (``[project.scripts]``) and ``python -m
glassnet.cli``. One command, then the process ends with its status.

The Ctrl-C handler goes in before anything else is imported. Once the command has
ended, SIGINT is ignored to the last instant: what is left is the process exiting, and
Python, as it shuts down, would put back the default action (death by the signal, with
the files already written) for any handler of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from .interrupts import Interrupts

__all__ = ["run"]


def run() -> None:
    """Run the command of the process's arguments and exit with its status."""
    interrupts = Interrupts().install()
    try:
        from .command import run as run_command

        status = run_command(None, interrupts)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if status == 130:
        # Once a KeyboardInterrupt has ended Python code that an extension module runs
        # through PyRun_String (as some do while they are imported), Python ends the
        # process by SIGINT at exit, caught or not: end it here, flushed, with 130.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(130)
    sys.exit(status)


if __name__ == "__main__":
    run()
