"""Reading a request: its content type, its whole body within the limits of bytes and
seconds, and the rows it holds.

A JSON body is a record (one row), a list of records, or (for a bare network, or an
estimator fitted without column names) a list of rows of numbers: :func:`json_rows`
gives the list, checked against ``max_rows``. A CSV body is read as ``glassnet
predict`` reads a CSV file (:mod:`glassnet.tabular.reading`: the separator sniffed,
every cell as written, only an empty cell missing) by pyarrow's CSV reader, which has no
limit on a cell's size and refuses a row with more or fewer fields than the header; its
header is counted first, against the columns the model can use (:func:`csv_table`).
What the rows mean is the model adapter's business (:mod:`.adapters`), not this module's.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import io
import json
import logging

import anyio
import numpy as np
from starlette.requests import ClientDisconnect, Request

from .errors import BadRequest, describe

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ROWS",
    "MAX_EXTRA_COLUMNS",
    "BODY_TIMEOUT",
    "CONTENT_TYPES",
    "charset",
    "CSV_LINES",
    "CsvTable",
    "content_type",
    "read_body",
    "json_rows",
    "csv_table",
]

# The messages of the service as a whole (a client that left mid-body) go to the
# package's logger, ``glassnet.serve``.
_log = logging.getLogger(__package__)

#: The largest request body accepted (10 MiB), and the most rows in one request.
MAX_BODY_BYTES = 10 * 2**20
MAX_ROWS = 100_000
#: The columns a CSV body may have besides the model's features (an id, the target, notes).
MAX_EXTRA_COLUMNS = 1000
#: The seconds a request body may take to arrive, whole.
BODY_TIMEOUT = 30.0

#: The content types ``POST /predict`` reads.
CONTENT_TYPES = ("application/json", "text/csv")

#: How messages number a CSV body's rows: as the command line numbers a CSV file's
#: (``tabular.reading.row_numbering``), the header is line 1; JSON records from 0.
CSV_LINES = ("line", 2)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, within ``limit`` bytes and ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the body has {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with _deadline(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BadRequest(413, f"the body is larger than the limit of {limit} bytes")
                chunks.append(chunk)
    except (TimeoutError, ClientDisconnect) as exc:
        came = f"{size}{f' of {declared}' if declared else ''} bytes came"
        if isinstance(exc, TimeoutError):
            raise BadRequest(
                408,
                f"the body did not arrive within {timeout:g} seconds ({came}); send it whole, "
                "and promptly",
                close=True,
            ) from None
        client = request.client
        _log.info(
            "%s %s: the client%s disconnected before its body was complete (%s); nothing "
            "was answered",
            request.method,
            request.url.path,
            f" {client.host}:{client.port}" if client else "",
            came,
        )
        raise BadRequest(400, "the client disconnected before its body was complete") from None
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not body.strip():
        raise BadRequest(400, "the request body is empty; send JSON records or a CSV table")
    return body


if hasattr(asyncio, "timeout"):  # Python 3.11+: a third of the cost of anyio's cancel scope
    _deadline = asyncio.timeout
else:  # pragma: no cover - Python 3.10

    @contextlib.asynccontextmanager
    async def _deadline(seconds: float):
        with anyio.fail_after(seconds):
            yield


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


def _utf8(body: bytes, charset: str | None, what: str, hint: str = "") -> bytes:
    """The body as UTF-8 bytes: as it is, or decoded from the ``charset`` its
    Content-Type names; 400 for bytes that are not text in it."""
    if charset is None or codecs.lookup(charset).name == "utf-8":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(
                400,
                f"{what} is not UTF-8 text; name its encoding in the Content-Type (for "
                f"example charset=latin-1), or re-encode it{hint}",
            ) from None
        return body
    try:
        return body.decode(charset).encode("utf-8")
    except UnicodeError as exc:
        raise BadRequest(
            400, f"{what} is not {charset} text, as its Content-Type says ({exc})"
        ) from None


def json_rows(body: bytes, max_rows: int, charset: str | None = None) -> list:
    """The records of a JSON body (one record is a list of one), in the Content-Type's
    ``charset`` (UTF-8 when it names none)."""
    text = _utf8(body, charset, "the body").decode("utf-8")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"malformed JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(400, f"malformed JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]  # one record
    if not isinstance(data, list):
        raise BadRequest(
            422,
            f"the JSON is {describe(data)}; send a list of records such as "
            '[{"column": value, ...}]',
        )
    if not data:
        raise BadRequest(422, "the JSON list is empty; send at least one record")
    if len(data) > max_rows:
        raise BadRequest(413, f"{len(data)} rows in one request; the limit is {max_rows}")
    return data


class CsvTable:
    """A CSV body's data rows as text: ``names`` from the header, ``column(name)`` an
    object array of each row's cell (``""`` where the cell is empty), ``where`` how
    messages number the rows."""

    def __init__(self, names: list[str], table, where: tuple[str, int]):
        self.names = names
        self.n_rows = table.num_rows
        self.where = where
        self._table = table
        self._index: dict[str, int] = {}
        for j, name in enumerate(names):
            self._index.setdefault(name, j)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def column(self, name: str) -> np.ndarray:
        return self._table.column(self._index[name]).to_numpy(zero_copy_only=False)


def _header_width(text: str, sep: str) -> int:
    """The number of fields in a CSV's header (its first line that is not blank),
    without reading anything else."""
    text = text.lstrip("\r\n")
    ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
    line = text[: min(ends)] if ends else text
    if '"' not in line:
        return line.count(sep) + 1
    try:  # quoted names, which may hold the separator or a line break
        return len(next(csv.reader(io.StringIO(text), delimiter=sep)))
    except csv.Error as exc:
        raise BadRequest(400, f"malformed CSV header: {exc}") from None


def csv_table(
    body: bytes, max_rows: int, max_columns: int, features: int, charset: str | None = None
) -> CsvTable:
    """A CSV body read as ``glassnet predict`` reads a CSV file: the separator sniffed
    (comma, semicolon, tab or |), each cell as written, a header naming each column
    once, in the Content-Type's ``charset`` (UTF-8 when it names none). The header is
    counted before anything else is read: more than ``max_columns`` columns (the model's
    ``features`` and some others) are refused."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from ..tabular.reading import DataFileError, ReadOptions, check_header, sniff_csv

    body = _utf8(body, charset, "the CSV", " (for a Latin-1 file: iconv -f LATIN1 -t UTF-8)")
    text = body.decode("utf-8-sig")
    try:
        sep, _ = sniff_csv("the CSV", body[:65536], "csv", ReadOptions())
    except DataFileError as exc:
        raise BadRequest(400, str(exc)) from None
    width = _header_width(text, sep)
    if width > max_columns:
        raise BadRequest(
            413,
            f"the CSV has {width} columns; the limit is {max_columns} (the model's "
            f"{features} and {max_columns - features} others)",
        )
    raw = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    keys = [str(j) for j in range(width)]
    invalid = []

    def refuse(row) -> str:
        invalid.append(row)
        return "error"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(raw),
            read_options=pa_csv.ReadOptions(
                column_names=keys, use_threads=False, block_size=min(len(raw) + 1, 2**31 - 1)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep, newlines_in_values=True, invalid_row_handler=refuse
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if invalid:  # pyarrow numbers rows as the command line does: the header is 1
            row = invalid[0]
            raise BadRequest(
                400,
                f"malformed CSV: line {row.number} has {row.actual_columns} field"
                f"{'s' * (row.actual_columns != 1)}, but the header has {row.expected_columns}",
            ) from None
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise BadRequest(400, f"malformed CSV: {first}") from None
    names = [table.column(j)[0].as_py() for j in range(width)]
    try:
        check_header("the CSV", names)
    except DataFileError as exc:
        raise BadRequest(400, str(exc)) from None
    if table.num_rows == 1:
        raise BadRequest(422, "the CSV has a header but no rows")
    if table.num_rows - 1 > max_rows:
        raise BadRequest(413, f"{table.num_rows - 1} rows in one request; the limit is {max_rows}")
    return CsvTable(names, table.slice(1), CSV_LINES)


def content_type(request: Request) -> str:
    """The request's content type, one of :data:`CONTENT_TYPES` (415 for any other)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CONTENT_TYPES:
        given = f"Content-Type {kind!r}" if kind else "no Content-Type"
        raise BadRequest(415, f"{given}; send application/json (records) or text/csv")
    return kind


def charset(request: Request) -> str | None:
    """The ``charset`` parameter of the request's Content-Type (``text/csv;
    charset=latin-1``), or None; 415 for an encoding Python does not know."""
    for parameter in request.headers.get("content-type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip('"')
            try:  # a text encoding: not hex, base64 or zlib, which codecs also knows
                "".encode(value)
                b"".decode(value)
            except LookupError:
                raise BadRequest(
                    415, f"unknown charset {value!r} in the Content-Type; send UTF-8"
                ) from None
            return value
    return None
