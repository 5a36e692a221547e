"""The fixes an error names, spelled for whoever reads it.

A message about the data ends with what to do: leave a column out, fill missing cells,
read a column as categories. The same message reaches a Python caller, a command line
and a client of the HTTP service, and each gives that fix its own way::

    ignore=['id']                (TabularModel.fit)
    --ignore id                  (glassnet train)
    glassnet train --ignore id   (a client of glassnet serve, whose operator trains)

So a message names a fix with :func:`option`, which leaves a marker in its text, and the
error that carries it (a :class:`FixableError`: :class:`PreprocessingError
<.columns.PreprocessingError>`, :class:`DataFileError <.reading.DataFileError>`)
spells its markers when it is shown: ``str(error)`` as Python keywords, and
``error.spelled("command line")`` or ``error.spelled("service")`` for the other two
faces. :func:`spell` does the same for any text.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["FACES", "FixableError", "option", "together", "spell"]

#: Who reads a message: a Python caller, the command line, a client of the service.
FACES = ("python", "command line", "service")

# a marker: U+E000 name U+E001 value as JSON U+E002 (private-use characters, which no
# option or message holds)
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARKER = re.compile(f"{_OPEN}([a-z_]+){_SEP}(.*?){_CLOSE}", re.DOTALL)
# between fixes given together: a blank on a command line, a comma in Python
_AND = "\ue003"
_JOINERS = {"python": ", ", "command line": " ", "service": "; "}

#: The options a fix may name, and how their value is given: a flag ("impute"), a list
#: of names ("ignore"), or a number or a text (``None`` for a placeholder: N for a
#: number, the option's name in capitals for a text).
_FLAGS = {"impute", "drop_missing_target", "early_stopping"}
_LISTS = {"ignore", "categorical", "numeric", "na_values"}
_VALUES = {
    "max_categories",
    "ensemble",
    "epochs",
    "date_format",
    "decimal",
    "thousands",
    "task",
    "sep",
    "encoding",
}
#: The options a client of the service gives in its request: the others are its
#: operator's, given to ``glassnet serve`` or to ``glassnet train``.
_IN_REQUEST = {
    "na_values": "null (JSON) or an empty cell (CSV) in place of those cells",
    "decimal": "numbers written with a '.' decimal mark",
}
_SERVE = {"impute"}
#: The options of reading a file (ReadOptions' fields in Python).
_READING = {"decimal", "thousands", "sep", "encoding"}


def option(name: str, value: Any = None) -> str:
    """A fix that names the option ``name`` (a :class:`~.recipe.Recipe` or
    :class:`~.reading.ReadOptions` field) with ``value``: a list of column names or
    words, a number, a text, a ``{column: format}`` mapping, or None (a flag, or a
    placeholder for the value). The text holds a marker that :func:`spell` spells."""
    if name not in _FLAGS | _LISTS | _VALUES:
        raise ValueError(f"no fix names the option {name!r}")
    if name in _LISTS and value is not None:
        value = [str(v) for v in value]
    return f"{_OPEN}{name}{_SEP}{json.dumps(value)}{_CLOSE}"


def together(fixes: Sequence[str]) -> str:
    """Several fixes (each made by :func:`option`) given at once: ``--impute --ignore id``
    on a command line, ``impute=True, ignore=['id']`` in Python."""
    return _AND.join(fixes)


def _placeholder(name: str) -> str:
    return "N" if name in ("max_categories", "ensemble") else name.upper()


def _python(name: str, value: Any) -> str:
    if name in _FLAGS:
        return f"{name}=True"
    given = f"{name}={_placeholder(name) if value is None else repr(value)}"
    # how a file is read: ReadOptions, which read_table, iter_chunks and fit_stream take
    return f"ReadOptions({given})" if name in _READING else given


def _command_line(name: str, value: Any) -> str:
    # each value shell-quoted when the shell would read it otherwise (blanks, ?, #, quotes)
    flag = "--" + name.replace("_", "-")
    if name in _FLAGS:
        return flag
    if value is None:
        return f"{flag} {_placeholder(name)}"
    if isinstance(value, list):  # read back as a line of CSV: a comma in a name quoted
        return f"{flag} {shlex.quote(','.join(map(_csv_field, value)))}"
    if isinstance(value, Mapping):
        return " ".join(f"{flag} {shlex.quote(f'{k}={v}')}" for k, v in value.items())
    return f"{flag} {shlex.quote(str(value))}"


def _csv_field(name: str) -> str:
    if "," in name or name.startswith('"'):
        return '"' + name.replace('"', '""') + '"'
    return name


def _service(name: str, value: Any) -> str:
    if name in _IN_REQUEST:
        return _IN_REQUEST[name]
    command = "glassnet serve" if name in _SERVE else "glassnet train"
    return f"{command} {_command_line(name, value)}"


_SPELLERS: dict[str, Callable[[str, Any], str]] = {
    "python": _python,
    "command line": _command_line,
    "service": _service,
}


def spell(text: str, face: str = "python") -> str:
    """``text`` with each fix :func:`option` marked in it spelled for ``face``, one of
    :data:`FACES`."""
    speller = _SPELLERS[face]
    text = _MARKER.sub(lambda m: speller(m.group(1), json.loads(m.group(2))), text)
    return text.replace(_AND, _JOINERS[face])


class FixableError(ValueError):
    """An error whose message may name fixes (:func:`option`). ``str(error)`` spells
    them for a Python caller; :meth:`spelled` for any face; :attr:`message` keeps the
    markers, for a message that quotes this one."""

    @property
    def message(self) -> str:
        """The message, its fixes still marked."""
        return str(self.args[0]) if self.args else ""

    def spelled(self, face: str) -> str:
        """The message with its fixes spelled for ``face``, one of :data:`FACES`."""
        return spell(self.message, face)

    def __str__(self) -> str:
        return self.spelled("python")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"
