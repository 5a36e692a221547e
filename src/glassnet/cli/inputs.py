"""The files a command reads, each examined once: the path as given, what it is to the
command, its ``os.stat`` result and, for a data file, the format its name says.

:func:`data_file` refuses, before the work, what cannot be read as data (a missing path,
a folder, a FIFO, a device, a compressed format that is not supported). From then on the
command passes the :class:`DataFile` along: the reader takes its path, messages number
rows by its format, the model records its name, and the check that no output overwrites
an input compares device and inode with its stat result, instead of asking again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .common import UserError, said

__all__ = ["InputFile", "DataFile", "data_file", "model_and_data"]


@dataclass(frozen=True)
class InputFile:
    """A file the command reads. ``info`` is None for standard input (``-``) and for a
    path that cannot be examined (the reader then says why)."""

    path: str
    what: str  # for messages: "the training data", "the model"
    info: os.stat_result | None

    @classmethod
    def at(cls, path: str, what: str) -> InputFile:
        try:
            info = None if path == "-" else os.stat(path)
        except OSError:
            info = None
        return cls(path, what, info)

    def is_file(self, info: os.stat_result) -> bool:
        """Whether ``info`` is the stat result of this very file (a hard link or a
        symbolic link to it too): the same device and inode."""
        if self.info is None:
            return False
        return (info.st_dev, info.st_ino) == (self.info.st_dev, self.info.st_ino)


@dataclass(frozen=True)
class DataFile(InputFile):
    """A data file, checked: ``format`` and ``compression`` as its name says, and
    ``numbering``, how messages number its rows (``("line", 2)`` for CSV)."""

    format: str
    compression: str | None
    numbering: tuple[str, int]

    @property
    def source(self) -> str:
        """The name a model records as its training data."""
        return "stdin" if self.path == "-" else os.path.basename(self.path)


def data_file(path: str, what: str) -> DataFile:
    """The data file at ``path``, or a UserError that starts with ``what``."""
    from ..tabular.reading import DataFileError, check_data_path, data_format, row_numbering

    try:
        check_data_path(path)
        fmt, compression = data_format(path)
    except DataFileError as exc:
        raise UserError(f"{what}: {said(exc)}") from None
    info = None if path == "-" else os.stat(path)
    return DataFile(path, what, info, fmt, compression, row_numbering(path))


def model_and_data(args) -> tuple[InputFile, DataFile]:
    """What predict and evaluate read, checked (and their --chunk-rows)."""
    if args.chunk_rows < 1:
        raise UserError(f"--chunk-rows must be at least 1, got {args.chunk_rows}")
    return InputFile.at(args.model, "the model"), data_file(args.data, "the data")
