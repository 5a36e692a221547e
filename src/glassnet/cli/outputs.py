"""The files a command writes: checked before the work, written aside, and put in place
together as the command's last act, or not at all.

:func:`check_output` refuses, before any work, a path that is a folder or a special file,
that is one of the inputs (the same file by device and inode, not by name), or whose
folder is missing or read-only. :class:`Outputs` gives each output a path of the same
name in a staging folder beside it, which any writer that takes a path can write (model
files, figures, reports, tables); :meth:`Outputs.commit` then renames them over their
targets (each through :func:`glassnet.atomic.atomic_path`), in a block that Ctrl-C cannot
cut and that runs only if no Ctrl-C came before it. A command that fails or is
interrupted leaves every existing file as it was, and no staging folder behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from types import TracebackType
from typing import Literal

from ..atomic import atomic_path, destination
from .common import UserError, printable
from .inputs import InputFile

__all__ = ["Outputs", "check_output", "check_distinct", "check_plot_path", "save_figure"]


class Outputs:
    """The outputs of one command, staged until :meth:`commit`; ``interrupts`` is the
    command's :class:`~glassnet.cli.interrupts.Interrupts`. As a context manager: staged
    files are committed when the block ends normally, and removed when it fails."""

    def __init__(self, interrupts) -> None:
        self.interrupts = interrupts
        self._staged: list[tuple[str, str, str]] = []  # (staging folder, staged file, target)

    def path(self, target: str) -> str:
        """Where to write the new content of ``target``."""
        folder, name = os.path.split(os.path.abspath(target))
        with self.interrupts.deferred():  # no staging folder is made and then forgotten
            staging = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            self._staged.append((staging, os.path.join(staging, name), target))
        return self._staged[-1][1]

    def commit(self) -> None:
        """Put every staged file in place; raises KeyboardInterrupt instead if Ctrl-C
        came before. The command is then finished: a later Ctrl-C is ignored."""
        with self.interrupts.finishing():
            try:
                for _, staged, target in self._staged:
                    with atomic_path(target) as tmp:
                        os.replace(staged, tmp)
            finally:
                self._discard()

    def _discard(self) -> None:
        with self.interrupts.deferred():
            for staging, _, _ in self._staged:
                shutil.rmtree(staging, ignore_errors=True)
            self._staged.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if kind is None and self._staged:
            self.commit()
        else:
            self._discard()
        return False


def check_output(path: str, flag: str, inputs: Sequence[InputFile] = ()) -> None:
    """Fail before the work, not after it, when an output path cannot or must not be
    written; an output that is one of ``inputs`` is refused."""
    shown = printable(path)
    problem, info = destination(path)
    if problem:
        raise UserError(f"{flag} {shown}{printable(problem)}")
    for source in inputs:
        if info is not None and source.is_file(info):
            raise UserError(
                f"{flag} {shown} is the same file as {source.what} {printable(source.path)}; "
                "writing it would destroy it"
            )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(outputs: Sequence[tuple[str | None, str]]) -> None:
    """Two outputs must not be one file (by name or, if it exists, by inode)."""
    given = [(p, f) for p, f in outputs if p]
    for i, (a, fa) in enumerate(given):
        for b, fb in given[i + 1 :]:
            if os.path.abspath(a) == os.path.abspath(b) or _same_file(a, b):
                raise UserError(f"{fa} and {fb} name the same file {printable(a)}")


def _figure_format(path: str) -> str:
    return os.path.splitext(path)[1].lower().lstrip(".")


def check_plot_path(path: str, flag: str, inputs: Sequence[InputFile]) -> None:
    """A figure path must have an extension matplotlib writes, and matplotlib must be there."""
    check_output(path, flag, inputs)
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(f"{flag} needs matplotlib: pip install 'glassnet[plot]'") from None
    ext = _figure_format(path)
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise UserError(
            f"{flag} {printable(path)}: cannot draw a .{printable(ext) or '(no extension)'} "
            f"file; use one of {', '.join('.' + e for e in sorted(supported))}"
        )


def save_figure(fig, path: str) -> None:
    """Write a figure in the format its extension names (to a path from
    :meth:`Outputs.path`, which keeps the target's name)."""
    fig.savefig(path, format=_figure_format(path), dpi=120)
