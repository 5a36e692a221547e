"""Reading data files into pandas DataFrames, whole or in chunks, as the user wrote them.

The format follows the extension: ``.csv`` and ``.tsv`` (also compressed: ``.gz``,
``.bz2``, ``.xz``, ``.zst``, ``.zip``), ``.parquet``, ``.feather`` / ``.arrow`` /
``.ipc`` (Arrow IPC), and ``.jsonl`` / ``.ndjson`` (JSON Lines). Any other name is
read as CSV; ``-`` is CSV on standard input.

Text files are read as text: every CSV cell stays the string the file holds
(``001``, ``0.0`` and ``TRUE`` keep their spelling), and only an empty cell is
missing unless ``na_values`` adds more. What a column means is decided later
(:mod:`.columns`, :mod:`.encoding`). The separator is sniffed (comma, semicolon,
tab, or ``|``) unless given; ``decimal`` and ``thousands`` rewrite numbers written
the local way (``1.234,5``) into the usual spelling (``1234.5``), leaving every
other cell as it is.

:func:`iter_chunks` yields DataFrames of at most ``chunk_rows`` rows for every
format (Parquet and Arrow through pyarrow's record batches), each indexed by its
rows' 0-based positions in the file, so memory stays flat however long the file
is; :func:`read_table` is all the chunks at once. :func:`row_numbering` says how
messages should number a format's rows (CSV line 2 is the first row).
Folders, FIFOs and devices are refused before they are opened, and a damaged or
truncated compressed file is a :class:`DataFileError` that names it and what is wrong
(:func:`damaged`), whichever decompressor finds it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .columns import import_pandas
from .fixes import FixableError, option

__all__ = [
    "DataFileError",
    "ReadOptions",
    "read_table",
    "iter_chunks",
    "data_format",
    "row_numbering",
    "check_data_path",
    "plainly_utf8",
    "csv_keywords",
    "sniff_csv",
    "check_header",
    "normalise_numbers",
    "read_errors",
    "damaged",
    "FORMATS",
    "DEFAULT_CHUNK_ROWS",
]

#: Formats by extension (after any compression suffix).
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "arrow",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
#: Tables in formats of their own, named when given (else read as CSV, and refused as
#: binary): what to save them as instead is the same for all.
_UNREAD = {
    ".xlsx": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".ods": "an OpenDocument spreadsheet",
    ".sav": "an SPSS file",
    ".dta": "a Stata file",
    ".sas7bdat": "a SAS file",
    ".rds": "an R data file",
    ".pkl": "a Python pickle",
    ".pickle": "a Python pickle",
    ".h5": "an HDF5 file",
    ".hdf5": "an HDF5 file",
}
_SNIFFED = (",", ";", "\t", "|")
#: What ends a line of a text file: CRLF, LF or a lone CR.
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
#: Rows per chunk that :func:`iter_chunks` yields unless told.
DEFAULT_CHUNK_ROWS = 65_536


class DataFileError(FixableError):
    """A data file is missing, unreadable, or not a table."""


@dataclass
class ReadOptions:
    """How to read text files. ``sep=None`` sniffs; ``encoding=None`` is UTF-8 (with or
    without a byte-order mark); ``na_values`` are cell texts that mean missing, besides
    the empty cell."""

    sep: str | None = None
    encoding: str | None = None
    thousands: str | None = None
    decimal: str = "."
    na_values: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        if self.sep is not None:
            self.sep = {"\\t": "\t", "tab": "\t"}.get(self.sep, self.sep)
            if len(self.sep) != 1:
                raise DataFileError(f"the separator must be one character, got {self.sep!r}")
        for name in ("thousands", "decimal"):
            value = getattr(self, name)
            if value is not None and len(value) != 1:
                raise DataFileError(f"the {name} mark must be one character, got {value!r}")
        if self.thousands is not None and self.thousands == self.decimal:
            raise DataFileError("the thousands mark and the decimal mark must differ")
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise DataFileError(f"unknown encoding {self.encoding!r}") from None


def data_format(path: str) -> tuple[str, str | None]:
    """(format, compression) from a file name: ``("csv", "gzip")`` for ``x.csv.gz``."""
    if path == "-":
        return "csv", None
    name = os.path.basename(os.fspath(path)).lower()
    root, ext = os.path.splitext(name)
    compression = _COMPRESSION.get(ext)
    if compression:
        root, ext = os.path.splitext(root)
    if ext in _UNREAD:
        raise DataFileError(
            f"{path} is {_UNREAD[ext]}, which glassnet does not read; save it as CSV or "
            "Parquet (from Python: pandas reads it, and TabularModel.fit takes the frame)"
        )
    fmt = FORMATS.get(ext, "csv")
    if compression and fmt not in ("csv", "tsv", "jsonl"):
        raise DataFileError(f"{path}: a compressed {fmt} file is not supported; decompress it")
    return fmt, compression


def row_numbering(path: str) -> tuple[str, int]:
    """How messages number the rows of this file: ``("line", 2)`` for CSV (the header is
    line 1), ``("line", 1)`` for JSON Lines, ``("row", 1)`` for Parquet and Arrow."""
    fmt, _ = data_format(path)
    if fmt in ("csv", "tsv"):
        return ("line", 2)
    if fmt == "jsonl":
        return ("line", 1)
    return ("row", 1)


def check_data_path(path: str) -> None:
    """Refuse, before opening, what is not a regular file: missing paths, folders, FIFOs,
    devices."""
    if path == "-":
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataFileError(f"{path} is a folder, not a data file")
    if stat.S_ISFIFO(info.st_mode):
        raise DataFileError(
            f"{path} is a FIFO (a pipe), not a data file; to read a stream, give '-' and "
            "send it to standard input"
        )
    if not stat.S_ISREG(info.st_mode):
        raise DataFileError(f"{path} is a device or socket, not a data file")
    if not os.access(path, os.R_OK):
        raise DataFileError(f"cannot read {path}: permission denied")


def read_table(path: str, options: ReadOptions | None = None):
    """The whole table in a data file, as one pandas DataFrame (see :func:`iter_chunks`)."""
    pd = import_pandas()
    chunks = list(iter_chunks(path, options, chunk_rows=1 << 20))
    if len(chunks) == 1:
        return chunks[0]
    return pd.concat(chunks, copy=False)


def iter_chunks(
    path: str, options: ReadOptions | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator:
    """DataFrames of at most ``chunk_rows`` rows, in file order, indexed by row position.

    Raises
    ------
    DataFileError
        Missing or special files, unknown encodings, unparsable contents, duplicate
        column names, a file with a header but no rows. (Raised from the iterator, so
        also for a problem met halfway through the file.)
    """
    options = options or ReadOptions()
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    check_data_path(path)
    fmt, compression = data_format(path)
    if fmt in ("csv", "tsv"):
        chunks = _csv_chunks(path, fmt, compression, options, chunk_rows)
    elif fmt == "jsonl":
        chunks = _jsonl_chunks(path, compression, options, chunk_rows)
    elif fmt == "parquet":
        chunks = _parquet_chunks(path, options, chunk_rows)
    else:
        chunks = _arrow_chunks(path, options, chunk_rows)
    return _checked(path, chunks)


def _checked(path: str, chunks: Iterator) -> Iterator:
    """Every chunk, and DataFileError for a file that has a header but no rows."""
    any_rows = False
    for chunk in chunks:
        if len(chunk):
            any_rows = True
            yield chunk
    if not any_rows:
        raise DataFileError(f"{path} has a header but no rows")


# -- CSV and TSV ---------------------------------------------------------------------------


def _open_binary(path: str, compression: str | None):
    """A binary stream of the file's (decompressed) bytes."""
    if path == "-":
        return sys.stdin.buffer
    if compression == "zstd":
        import pyarrow as pa

        return pa.input_stream(path, compression="zstd")
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if compression == "bz2":
        import bz2

        return bz2.open(path, "rb")
    if compression == "xz":
        import lzma

        return lzma.open(path, "rb")
    if compression == "zip":
        import zipfile

        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise damaged(path, compression, exc) from None
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            raise DataFileError(f"{path}: a zip archive must hold exactly one file")
        return archive.open(members[0])
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


_COMPRESSION_NAMES = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz", "zstd": "Zstandard", "zip": "zip"}


def read_errors(compression: str | None) -> tuple[type[BaseException], ...]:
    """What reading a damaged file (of this compression) raises: besides OSError and
    EOFError, each decompressor's own error."""
    import lzma
    import zipfile
    import zlib

    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error]
    errors.append(zipfile.BadZipFile)
    if compression == "zstd":
        import pyarrow as pa

        errors.append(pa.ArrowException)
    return tuple(errors)


def damaged(path: str, compression: str | None, exc: BaseException) -> DataFileError:
    """The one-line error for a file that cannot be read (or decompressed) to its end."""
    reason = " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__
    if isinstance(exc, EOFError):
        return DataFileError(f"{path} is truncated (its compressed data ends early)")
    if compression is None or path == "-":
        return DataFileError(f"cannot read {path}: {reason}")
    kind = _COMPRESSION_NAMES[compression]
    if compression == "zip":
        return DataFileError(
            f"{path} is damaged: it is not a whole zip archive ({reason}); it may be truncated"
        )
    return DataFileError(f"{path} is damaged: its {kind} data cannot be decompressed ({reason})")


def plainly_utf8(path: str) -> bool:
    """Whether a text data file's first 64 KiB (decompressed) hold characters beyond ASCII
    written in UTF-8: a file no other encoding should read. False for standard input, a
    Parquet or Arrow file, or a file that cannot be read (reading it says why)."""
    fmt, compression = data_format(path)
    if path == "-" or fmt not in ("csv", "tsv", "jsonl"):
        return False
    failures: tuple[type[BaseException], ...] = (ValueError, *read_errors(compression))
    try:
        with _open_binary(path, compression) as stream:
            head = stream.read(65536)
    except failures:
        return False  # the reading says why
    if head.isascii():
        return False
    try:  # a character cut at the end of a 64 KiB sample is no fault; at a file's end, is
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < 65536)
    except UnicodeDecodeError:
        return False
    return True


def _decode_error(path: str, encoding: str | None, exc: UnicodeDecodeError) -> DataFileError:
    if encoding:
        return DataFileError(f"{path} is not {encoding} text ({exc.reason} at byte {exc.start})")
    return DataFileError(
        f"{path} is not UTF-8 text; give its encoding, for example "
        f"{option('encoding', 'latin-1')} (or cp1252)"
    )


def sniff_csv(path: str, head: bytes, fmt: str, options: ReadOptions) -> tuple[str, list[str]]:
    """The separator and the header's column names, from the first bytes of a CSV/TSV file
    (``head``); ``options.sep`` when given, a tab for TSV, else sniffed."""
    encoding = options.encoding or "utf-8-sig"
    if b"\x00" in head[:4096] and not encoding.lower().startswith("utf-16"):
        raise DataFileError(f"{path} is not a text file (it holds NUL bytes)")
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise _decode_error(path, options.encoding, exc) from None
        text = head[: exc.start].decode(encoding)
    lines = [line for line in _LINE_BREAK.split(text) if line.strip()]
    if not lines:
        raise DataFileError(f"{path} is empty")
    if options.sep is not None:
        sep = options.sep
    elif fmt == "tsv":
        sep = "\t"
    else:
        sample = lines[: min(len(lines), 21)]
        if len(lines) > 1 and len(head) >= 65536:
            sample = sample[:-1]  # the last line may be cut short
        sep = _best_separator(sample, options.decimal)
    header = next(csv.reader([lines[0]], delimiter=sep))
    return sep, header


def _check_last_line(path: str, sep: str, width: int, options: ReadOptions) -> None:
    """A file cut short (a copy or a download that stopped) ends in a line with fewer
    fields than the header and no line break: DataFileError, rather than the fields it
    lacks read as empty cells."""
    encoding = (options.encoding or "utf-8").lower().replace("_", "-")
    if encoding.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        return  # a tail cut at any byte cannot be decoded: not judged here
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 65536))
        tail = f.read().decode(encoding, errors="replace")
    lines = _LINE_BREAK.split(tail)
    text = lines[-1]
    if len(lines) < 2 or not text.strip() or text.count('"') % 2:
        return  # ends with a line break or blanks, inside a quoted cell, or one long line
    fields = next(csv.reader([text], delimiter=sep), [])
    if 0 < len(fields) < width:
        raise DataFileError(
            f"{path} ends in a line with {len(fields)} field{'s' * (len(fields) != 1)}, "
            f"no line break after it, and the header has {width}: the file looks cut short "
            f"(it ends with {text[-40:]!r}); complete or remove that line"
        )


def _best_separator(lines: list[str], decimal: str) -> str:
    """The candidate that splits every sampled line into the same number (> 1) of fields;
    of those, the one giving the most fields. A comma is the fallback."""
    best, best_fields = ",", 1
    for sep in _SNIFFED:
        if sep == decimal:
            continue
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1:
            (n,) = counts
            if n > best_fields:
                best, best_fields = sep, n
    return best


def _csv_chunks(path, fmt, compression, options: ReadOptions, chunk_rows: int) -> Iterator:
    pd = import_pandas()
    errors = read_errors(compression)
    stream = _open_binary(path, compression)
    try:
        try:
            if path == "-":
                head = stream.peek(65536)[:65536] if hasattr(stream, "peek") else b""
            else:
                head = stream.read(65536)
                stream.close()
                stream = _open_binary(path, compression)
        except errors as exc:
            raise damaged(path, compression, exc) from None
        if not head.strip():
            raise DataFileError(f"{path} is empty")
        sep, header = sniff_csv(path, head, fmt, options)
        check_header(path, header)
        if path != "-" and compression is None:
            _check_last_line(path, sep, len(header), options)
        if options.decimal == sep:  # (a mark may be the separator in quoted cells alone)
            raise DataFileError(
                f"the separator {sep!r} is also the decimal mark; give the separator with "
                f"{option('sep')}"
            )
        try:  # the reader reads its first block at once
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                reader = pd.read_csv(
                    stream,
                    **csv_keywords(sep, options),
                    index_col=False,  # never a row's extra leading fields as its index
                    chunksize=chunk_rows,
                    engine="c",
                    skipinitialspace=False,
                )
        except errors as exc:
            raise damaged(path, compression, exc) from None
        except pd.errors.ParserWarning:
            raise DataFileError(_longer_than_header(path, compression, sep, options)) from None
        offset = 0
        while True:
            try:
                with warnings.catch_warnings():
                    # pandas warns, and drops the fields, of a row longer than the header
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    chunk = next(reader)
            except StopIteration:
                break
            except pd.errors.ParserWarning:
                message = _longer_than_header(path, compression, sep, options)
                raise DataFileError(message) from None
            except pd.errors.EmptyDataError:
                raise DataFileError(f"{path} is empty") from None
            except pd.errors.ParserError as exc:
                first = " ".join(str(exc).split())
                raise DataFileError(f"cannot read {path} as CSV: {first}") from None
            except UnicodeDecodeError as exc:
                raise _decode_error(path, options.encoding, exc) from None
            except errors as exc:
                raise damaged(path, compression, exc) from None
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            if options.decimal != "." or options.thousands:
                normalise_numbers(chunk, options)
            yield chunk
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _longer_than_header(path, compression, sep: str, options: ReadOptions) -> str:
    """What is wrong with a CSV file that has a row with more fields than its header:
    read again, on this error path only, to name the first such line."""
    line = None
    if path != "-":
        stream = io.TextIOWrapper(
            _open_binary(path, compression), encoding=options.encoding or "utf-8-sig"
        )
        with stream:
            rows = csv.reader(stream, delimiter=sep)
            width = len(next(rows, []))
            line = next((rows.line_num for row in rows if len(row) > width), None)
    where = f"line {line} has" if line is not None else "a row has"
    return (
        f"cannot read {path} as CSV: {where} more fields than the header line names; if the "
        "first column holds row names without a name of their own (R's write.table), add a "
        "name for it to the header line"
    )


def csv_keywords(sep: str, options: ReadOptions) -> dict:
    """pandas' read_csv keywords (dask's too) that read every cell as written: text,
    missing only when empty or one of ``options.na_values``, blank lines skipped."""
    return {
        "sep": sep,
        "dtype": str,
        "keep_default_na": False,
        "na_values": ["", *options.na_values],
        "encoding": options.encoding or "utf-8-sig",
        "skip_blank_lines": True,
    }


def check_header(path: str, header: list[str]) -> None:
    """Refuse a header that names a column twice (empty names aside)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen and name != "":
            raise DataFileError(
                f"{path}: the column name {name!r} appears twice (columns {seen[name] + 1} "
                f"and {i + 1}); column names must be unique"
            )
        seen[name] = i


def normalise_numbers(chunk, options: ReadOptions) -> None:
    """Rewrite, in place, the cells of a text frame that are numbers written with
    ``options``' decimal and thousands marks into the usual spelling (``1.234,5`` ->
    ``1234.5``)."""
    dec = re.escape(options.decimal)
    if options.thousands:
        th = re.escape(options.thousands)
        whole = rf"(?:\d{{1,3}}(?:{th}\d{{3}})+|\d+)"
    else:
        whole = r"\d+"
    pattern = rf"\s*[+-]?(?:{whole}(?:{dec}\d*)?|{dec}\d+)(?:[eE][+-]?\d+)?\s*"
    for name in chunk.columns:
        column = chunk[name]
        matches = column.str.fullmatch(pattern).fillna(False).astype(bool)
        if not matches.any():
            continue
        cells = column[matches]
        if options.thousands:
            _check_grouping(name, column, matches, options.thousands)
            cells = cells.str.replace(options.thousands, "", regex=False)
        if options.decimal != ".":
            cells = cells.str.replace(options.decimal, ".", regex=False)
        chunk.loc[matches, name] = cells


def _check_grouping(name, column, matches, thousands: str) -> None:
    """A column whose numbers use ``thousands`` both to group thousands (``1.234``) and as
    a decimal mark (``20.25``) is not written with these marks: DataFileError, rather
    than reading ``1.234`` as 1234 when it may mean 1.234."""
    grouped = matches & column.str.contains(thousands, regex=False).fillna(False).astype(bool)
    if not grouped.any():
        return
    decimal = rf"\s*[+-]?\d+{re.escape(thousands)}\d+\s*"
    pointed = ~matches & column.str.fullmatch(decimal).fillna(False).astype(bool)
    if pointed.any():
        first, other = column[grouped].iloc[0], column[pointed].iloc[0]
        raise DataFileError(
            f"column {name!r} holds {first!r}, read with {thousands!r} marking thousands, "
            f"and {other!r}, where {thousands!r} marks decimals; if it marks the decimals "
            f"of this file's numbers, give {option('decimal', thousands)} and no thousands "
            "mark"
        )


# -- JSON Lines, Parquet, Arrow ------------------------------------------------------------


def _mark_missing(chunk, options: ReadOptions):
    """Empty strings, and any ``na_values``, become missing in text columns."""
    pd = import_pandas()
    tokens = {"", *options.na_values}
    for name in chunk.columns:
        column = chunk[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            hit = column.isin(tokens).to_numpy(dtype=bool)
            if hit.any():
                column = column.astype(object)
                column[hit] = None
                chunk[name] = column
    return chunk


def _jsonl_chunks(path, compression, options: ReadOptions, chunk_rows: int) -> Iterator:
    pd = import_pandas()
    errors = read_errors(compression)
    stream = _open_binary(path, compression)
    try:
        text = io.TextIOWrapper(stream, encoding=options.encoding or "utf-8-sig")
        reader = pd.read_json(
            text, lines=True, chunksize=chunk_rows, dtype=False, convert_dates=False
        )
        offset = 0
        names: list[str] | None = None
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(path, options.encoding, exc) from None
            except errors as exc:
                raise damaged(path, compression, exc) from None
            except ValueError as exc:
                raise DataFileError(
                    f"cannot read {path} as JSON Lines: {' '.join(str(exc).split())}"
                ) from None
            chunk.columns = [str(c) for c in chunk.columns]
            if names is None:
                names = list(chunk.columns)
            else:
                for name in names:  # a key missing from every record of this chunk
                    if name not in chunk.columns:
                        chunk[name] = None
                chunk = chunk[names + [c for c in chunk.columns if c not in names]]
                names = list(chunk.columns)
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            yield _mark_missing(chunk, options)
    finally:
        stream.close()


def _arrow_error(path: str, what: str, exc: Exception) -> DataFileError:
    return DataFileError(f"cannot read {path} as {what}: {' '.join(str(exc).split())}")


def _batches_to_frames(batches, options: ReadOptions, chunk_rows: int) -> Iterator:
    pd = import_pandas()
    offset = 0
    for batch in batches:
        for start in range(0, max(batch.num_rows, 1), chunk_rows):
            piece = batch.slice(start, chunk_rows)
            frame = piece.to_pandas()
            frame.columns = [str(c) for c in frame.columns]
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield _mark_missing(frame, options)


def _parquet_chunks(path, options: ReadOptions, chunk_rows: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise _arrow_error(path, "Parquet", exc) from None
    names = parquet.schema_arrow.names
    check_header(path, names)
    try:
        yield from _batches_to_frames(
            parquet.iter_batches(batch_size=chunk_rows), options, chunk_rows
        )
    except (pa.ArrowException, OSError) as exc:
        raise _arrow_error(path, "Parquet", exc) from None
    finally:
        parquet.close()


def _arrow_chunks(path, options: ReadOptions, chunk_rows: int) -> Iterator:
    import pyarrow as pa

    source = pa.memory_map(path, "r")
    try:
        try:
            reader = pa.ipc.open_file(source)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            schema = reader.schema
        except pa.ArrowInvalid:
            source.seek(0)
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid as exc:
                raise _arrow_error(path, "Arrow IPC (Feather)", exc) from None
            batches, schema = iter(reader), reader.schema
        check_header(path, schema.names)
        try:
            yield from _batches_to_frames(batches, options, chunk_rows)
        except (pa.ArrowException, OSError) as exc:
            raise _arrow_error(path, "Arrow IPC (Feather)", exc) from None
    finally:
        source.close()
