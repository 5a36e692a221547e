"""glassnet predict: apply a model file to the rows of a data file, chunk by chunk."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from typing import TYPE_CHECKING, TextIO

from .common import (
    UserError,
    add_chunk_rows,
    add_impute_option,
    add_read_options,
    columns,
    printable,
    read_options,
    said,
    warn_filled,
    warn_once,
)
from .inputs import model_and_data
from .outputs import check_output

if TYPE_CHECKING:  # for the hints only
    import pyarrow.parquet

__all__ = ["add_parser", "run", "OUTPUT_FORMATS"]

_log = logging.getLogger(__name__)

#: What --out can write, by extension.
OUTPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "predict",
        help="predict for every row of a data file with a model file",
        description="Predict for every row of a data file. Columns are matched to the model's "
        "by name (a target column in the file is ignored), the stored preprocessing is applied, "
        "and a table with a column named after the target is written: CSV to stdout, or CSV or "
        "Parquet to --out (chosen by its extension, written atomically). The data is read and "
        "written in chunks, so memory does not grow with the number of rows.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file from 'glassnet train'")
    p.add_argument("data", metavar="DATA", help="the rows to predict ('-' for CSV on stdin)")
    p.add_argument(
        "--out", metavar="FILE", help="write here (.csv, .tsv, .parquet) instead of stdout"
    )
    p.add_argument("--proba", action="store_true", help="add a probability column per class")
    p.add_argument(
        "--keep",
        action="append",
        metavar="COLS",
        help="copy these input columns (an id, say) into the output (comma-separated, or "
        "the option repeated)",
    )
    add_impute_option(p)
    add_chunk_rows(p, "read, predicted and written")
    add_read_options(p)
    p.set_defaults(run=run)


def output_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUTPUT_FORMATS:
        raise UserError(
            f"--out {printable(path)}: cannot write "
            f"{printable(ext) or 'files without an extension'}; give a name ending in .csv, "
            ".tsv or .parquet"
        )
    return OUTPUT_FORMATS[ext]


def check_not_a_model(path: str, flag: str) -> None:
    """Refuse to replace a glassnet model file with a table."""
    if not os.path.isfile(path):
        return
    with open(path, "rb") as f:
        head = f.read(4096)
    if b'"glassnet"' in head or b"glassnet_sha256" in head:
        raise UserError(
            f"{flag} {printable(path)} is a glassnet model file; refusing to replace it"
        )


def _header(path: str, fmt: str) -> list[str] | None:
    """The column names of an existing table file (None: it cannot be read as one)."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with open(path, encoding="utf-8", newline="") as f:
            line = f.readline(1 << 20)
        return next(csv.reader([line], delimiter="\t" if fmt == "tsv" else ","), [])
    except (OSError, ValueError, csv.Error):  # not a table: pyarrow's errors are ValueErrors
        return None


def check_replaceable(path: str, model, keep: list[str]) -> None:
    """An existing --out is replaced only when it is empty or holds predictions like the
    ones this model writes: a column named as its prediction, and no column of the
    model's features that this run does not keep. Anything else (a data file, notes) is
    refused before the work."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return
    from ..network import Network
    from ..tabular import TabularModel

    if isinstance(model, TabularModel):
        predicted = {model.target.name, f"{model.target.name}_predicted"}
        features = set(model.features.names)
    elif isinstance(model, Network):
        predicted, features = {"output", "output_0"}, set()
    else:  # a scikit-learn drop-in estimator
        predicted = {"prediction"}
        features = {str(n) for n in getattr(model, "feature_names_in_", ())}
    header = _header(path, output_format(path))
    if header is None:
        why = "it cannot be read as a table"
    elif not predicted.intersection(header):
        listed = ", ".join(map(repr, header[:6])) + (" ..." if len(header) > 6 else "")
        why = (
            f"it has no column {min(predicted)!r}, as this model's predictions have; its "
            f"columns: {listed}"
        )
    elif inputs := sorted(features.intersection(header) - set(keep)):
        why = f"it holds the model's feature columns {', '.join(map(repr, inputs[:6]))}"
    else:
        return
    raise UserError(
        f"--out {printable(path)} exists and is not this model's predictions "
        f"({printable(why)}); refusing to replace it: remove it, or choose another name"
    )


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Writer:
    """Chunks of a table to CSV on stdout (``path`` None), or to a CSV or Parquet file:
    ``target``, the --out path that names the format, written at ``path``."""

    def __init__(self, path: str | None, target: str | None):
        self.path = path
        self.fmt = output_format(target) if target else "csv"
        self.rows = 0
        self._parquet: pyarrow.parquet.ParquetWriter | None = None
        self._file: TextIO | None = None

    def __enter__(self):
        if self.path is None:
            self._file = sys.stdout
        elif self.fmt != "parquet":
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        return self

    def write(self, frame) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.path, self._schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            assert self._file is not None  # __enter__ opened it, for CSV and TSV
            if self.path is None and _isatty(self._file):  # text must not drive a terminal
                import pandas as pd

                for name in frame.columns:
                    column = frame[name]
                    if column.dtype == object or pd.api.types.is_string_dtype(column):
                        frame[name] = column.map(printable, na_action="ignore")
                frame.columns = [printable(name) for name in frame.columns]
            frame.to_csv(
                self._file,
                index=False,
                header=self.rows == 0,
                sep="\t" if self.fmt == "tsv" else ",",
                lineterminator="\n",
            )
            if self.path is None:
                self._file.flush()
        self.rows += len(frame)

    def __exit__(self, kind, exc, tb):
        if self.path is None:
            return False
        try:
            if self._parquet is not None:
                self._parquet.close()
        finally:
            if self._file is not None:
                self._file.close()
        return False


def _bare_inputs(model, chunk, where):
    """The numeric columns of a chunk for a network without column names."""
    import numpy as np

    from ..tabular.columns import as_columns, missing_mask, parse_numbers

    cols = as_columns(chunk)
    blocks = []
    for name in cols.names:
        values = cols[name]
        numbers, failed = parse_numbers(values, missing_mask(values))
        if not failed.any():
            blocks.append(numbers)
    if len(blocks) != model.input_size:
        raise UserError(
            f"the model is a bare network with {model.input_size} inputs and no column "
            f"names; the data has {len(blocks)} numeric columns"
        )
    X = np.column_stack(blocks) if blocks else np.empty((cols.n_rows, 0))
    if np.isnan(X).any():
        raise UserError("the data has missing values, which a bare network cannot take")
    return X


def predictions(
    model,
    chunk,
    proba: bool,
    keep: list[str],
    where,
    seen_warnings: set,
    impute: bool = False,
    filled: dict | None = None,
):
    """The output table of one chunk: the kept columns, the prediction, probabilities.
    ``impute`` fills missing cells with the training statistics, counted in ``filled``."""
    import pandas as pd

    from ..network import Network
    from ..tabular import TabularModel

    if isinstance(model, TabularModel):
        out, warnings = model.prediction_table(
            chunk, proba=proba, keep=keep, where=where, impute=impute, filled=filled
        )
        warn_once(warnings, seen_warnings)
        return out
    out = pd.DataFrame({name: chunk[name].to_numpy() for name in keep})
    if isinstance(model, Network):
        output = model.predict(_bare_inputs(model, chunk, where))
        for j in range(output.shape[1]):
            out[f"output_{j}" if output.shape[1] > 1 else "output"] = output[:, j]
    else:  # a scikit-learn drop-in estimator
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            absent = [n for n in names if n not in chunk.columns]
            if absent:
                raise UserError(f"the data has no column {printable(absent[0])!r}")
            data = chunk[list(names)].apply(pd.to_numeric, errors="raise")
        else:
            data = _bare_inputs(model.network_, chunk, where)
        out["prediction"] = model.predict(data)
        if proba and hasattr(model, "predict_proba"):
            for j, label in enumerate(model.classes_):
                out[f"proba_{label}"] = model.predict_proba(data)[:, j]
    return out


def run(args: argparse.Namespace) -> int:
    from .. import modelfile

    model_input, data = model_and_data(args)
    if args.out:
        output_format(args.out)
        check_output(args.out, "--out", [model_input, data])
        check_not_a_model(args.out, "--out")
    model = modelfile.load(args.model)
    options = read_options(args, model, data.path)
    if not hasattr(model, "predict"):
        raise UserError(f"{printable(args.model)} holds nothing that can predict")
    from ..network import Network
    from ..tabular import DataFileError, PreprocessingError, TabularModel
    from ..tabular.reading import iter_chunks

    keep = columns(args.keep)
    if args.out:
        check_replaceable(args.out, model, keep)
    if args.proba and isinstance(model, TabularModel) and model.target.task != "classification":
        raise UserError("--proba needs a classification model; this one is a regression")
    if args.proba and isinstance(model, Network):
        raise UserError("--proba needs a classification model; this is a bare network")
    if args.impute and not isinstance(model, TabularModel):
        raise UserError("--impute needs a command-line model, which keeps what to fill with")
    unit, first = data.numbering
    seen: set = set()
    filled: dict = {}
    path = args.outputs.path(args.out) if args.out else None
    try:
        with _Writer(path, args.out) as writer:
            for chunk in iter_chunks(data.path, options, chunk_rows=args.chunk_rows):
                if writer.rows == 0:
                    for name in keep:
                        if name not in chunk.columns:
                            raise UserError(
                                f"--keep names column {printable(name)!r}, which the data "
                                "does not have"
                            )
                where = (unit, first + int(chunk.index[0]))
                writer.write(
                    predictions(model, chunk, args.proba, keep, where, seen, args.impute, filled)
                )
    except (PreprocessingError, DataFileError) as exc:
        raise UserError(said(exc)) from None
    warn_filled(filled)
    if args.out:
        args.outputs.commit()
        _log.info("%d predictions written to %s", writer.rows, args.out)
    return 0
