"""A TabularModel trained on a Dask DataFrame: Parquet or CSV files read where they lie,
their preprocessing statistics gathered partition by partition, then ``glassnet.dask.fit``.

``read_files(pattern)`` reads a file, a glob or a folder of Parquet or CSV/TSV files by
the rules of :mod:`glassnet.tabular.reading` (only empty cells are missing, CSV cells
stay the text they are, so a label ``001`` stays ``001``). ``fit_table(data, target)``
takes what it returns, or any Dask DataFrame, and gives the TabularModel (with its
``history``) that :meth:`TabularModel.fit` gives, without gathering the rows:

1. the target column alone: row counts, missing targets, and the classes (or the task);
2. every partition, on its worker: the validation split (per partition, stratified by
   class), then ``FeatureEncoder.partial_fit`` on its training rows; the client joins
   the encoders in partition order (``FeatureEncoder.merge``), which gives what one pass
   over all the rows gives, up to rounding;
3. every partition encoded on its worker and kept there, and the network trained on
   them with :func:`glassnet.dask.fit` (L-BFGS by default).

Messages number rows as the files do (``part-2.csv line 17``). What this module does not
do: JSON Lines or Arrow files, and a split stratified across partitions (each partition
holds out its own share of each class).
"""

from __future__ import annotations

import glob
import operator
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
from dask.dataframe.utils import make_meta

from .. import losses as _losses
from ..network import Network
from ..tabular.columns import as_columns, mark_missing, missing_mask, parse_numbers
from ..tabular.encoding import Accumulator, FeatureEncoder, PreprocessingError, TargetEncoder
from ..tabular.fixes import option
from ..tabular.metrics import SummaryMetrics
from ..tabular.model import TabularModel
from ..tabular.reading import (
    DataFileError,
    ReadOptions,
    check_data_path,
    check_header,
    csv_keywords,
    damaged,
    data_format,
    normalise_numbers,
    read_errors,
    sniff_csv,
)
from ..tabular.recipe import Recipe, ValidationError, check_rows
from ..tabular.survey import Survey
from . import shards as _shards
from .fitting import fit_network

__all__ = ["DataFiles", "ClusterRecipe", "read_files", "fit_table"]

#: The column ``read_files`` adds to a CSV frame, naming each row's file.
PATH_COLUMN = "__glassnet_path__"
#: A partition with more distinct targets than this is no classification.
MAX_CLASSES = 65_536
_GLOB = set("*?[")


@dataclass
class DataFiles:
    """Data files read lazily as one Dask DataFrame.

    Attributes
    ----------
    frame : dask.dataframe.DataFrame
        The rows; a CSV frame also has the column ``PATH_COLUMN``.
    paths : list of str
        The files, in the order their rows come.
    format : "parquet" or "csv"
    rows : list of int, or None
        Each Parquet file's row count (from its footer).
    """

    frame: Any
    paths: list[str]
    format: str
    rows: list[int] | None = None
    pattern: str = ""

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != PATH_COLUMN]


# -- reading ---------------------------------------------------------------------------------


def _expand(pattern: str) -> list[str]:
    """The files a path, a glob or a folder names, sorted (folders: their data files)."""
    if any(ch in _GLOB for ch in pattern):
        paths = sorted(p for p in glob.glob(pattern, recursive=True) if not os.path.isdir(p))
        if not paths:
            raise DataFileError(f"no files match {pattern!r}")
    elif os.path.isdir(pattern):
        paths = sorted(
            os.path.join(pattern, name)
            for name in os.listdir(pattern)
            if not name.startswith((".", "_")) and os.path.isfile(os.path.join(pattern, name))
        )
        if not paths:
            raise DataFileError(f"the folder {pattern} holds no data files")
    else:
        paths = [pattern]
    for path in paths:
        check_data_path(path)
    return paths


def _format_of(paths: list[str]) -> tuple[str, str | None]:
    """The one format ("parquet" or "csv"/"tsv") and compression of every file."""
    kinds: dict[tuple[str, str | None], str] = {}  # the first file of each format
    for path in paths:
        fmt, compression = data_format(path)
        if fmt not in ("parquet", "csv", "tsv"):
            raise DataFileError(
                f"{path} is a {fmt} file; on a Dask cluster glassnet reads Parquet and "
                "CSV/TSV files (.parquet, .pq, .csv, .tsv, .txt, .tab, compressed CSV too)"
            )
        kinds.setdefault((fmt, compression), path)
    if len(kinds) > 1:
        (a, pa), (b, pb) = list(kinds.items())[:2]
        raise DataFileError(
            f"the files are not all of one format: {pa} is {_kind_text(a)} but {pb} is "
            f"{_kind_text(b)}"
        )
    return next(iter(kinds))


def _kind_text(kind: tuple[str, str | None]) -> str:
    return kind[0] + (f" ({kind[1]})" if kind[1] else "")


def _family(arrow_type) -> str:
    """What pandas makes of an Arrow type, coarsely: int and float columns may mix."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_dictionary(arrow_type):
        return _family(arrow_type.value_type)
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_null(arrow_type):
        return "null"
    return str(arrow_type)


def _header_difference(first: str, a: list[str], path: str, b: list[str]) -> str:
    """How the columns ``b`` of ``path`` differ from the columns ``a`` of ``first``."""
    extra = [n for n in b if n not in a]
    gone = [n for n in a if n not in b]
    if extra:
        return f"{path} has the column {extra[0]!r}, which {first} lacks"
    if gone:
        return f"{path} lacks the column {gone[0]!r}"
    return f"{path} has the columns in another order"


def _schema_difference(first: str, a, path: str, b) -> str | None:
    if a.names != b.names:
        return _header_difference(first, a.names, path, b.names)
    for name in a.names:
        fa, fb = _family(a.field(name).type), _family(b.field(name).type)
        if fa != fb and "null" not in (fa, fb):
            return (
                f"column {name!r} is {a.field(name).type} in {first} but "
                f"{b.field(name).type} in {path}"
            )
    return None


def _read_parquet(paths: list[str], options: ReadOptions) -> tuple[Any, list[int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas, rows = [], []
    for path in paths:
        try:
            meta = pq.read_metadata(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataFileError(
                f"cannot read {path} as Parquet: {' '.join(str(exc).split())}"
            ) from None
        schemas.append(meta.schema.to_arrow_schema())
        rows.append(meta.num_rows)
    check_header(paths[0], schemas[0].names)
    for path, schema in zip(paths[1:], schemas[1:]):
        problem = _schema_difference(paths[0], schemas[0], path, schema)
        if problem:
            raise DataFileError(f"the files do not share one schema: {problem}")
    frame = dd.read_parquet(paths, split_row_groups=False)  # one partition per file
    tokens = ["", *options.na_values]
    return frame.map_partitions(_text_missing, tokens, meta=make_meta(frame)), rows


def _text_missing(part, tokens: list[str]):
    """Empty cells (and the ``na_values``) of text columns as missing, keeping the dtypes."""
    import pandas as pd

    out = part.copy(deep=False)
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            hit = column.isin(tokens)
            if hit.any():
                out[name] = column.mask(hit)
    return out


def _read_csv(paths, fmt, compression, options: ReadOptions, blocksize) -> Any:
    import fsspec

    heads = []
    for path in paths:
        try:
            with fsspec.open(path, "rb", compression=compression) as f:
                heads.append(f.read(65536))
        except read_errors(compression) as exc:
            raise damaged(path, compression, exc) from None
    first_sep, header = sniff_csv(paths[0], heads[0], fmt, options)
    check_header(paths[0], header)
    fixed = ReadOptions(
        sep=first_sep,
        encoding=options.encoding,
        thousands=options.thousands,
        decimal=options.decimal,
        na_values=options.na_values,
    )
    for path, head in zip(paths[1:], heads[1:]):
        _, other = sniff_csv(path, head, fmt, fixed)
        if other != header:
            problem = _header_difference(paths[0], header, path, other)
            raise DataFileError(f"the files do not share one schema: {problem}")
    frame = dd.read_csv(
        paths,
        **csv_keywords(first_sep, options),
        include_path_column=PATH_COLUMN,
        compression=compression,
        blocksize=None if compression else blocksize,
    )
    if options.decimal != "." or options.thousands:
        frame = frame.map_partitions(_numbers_spelt, fixed, meta=make_meta(frame))
    return frame


def _numbers_spelt(part, options: ReadOptions):
    out = part.copy()
    cells = out.drop(columns=[PATH_COLUMN])
    normalise_numbers(cells, options)
    cells[PATH_COLUMN] = out[PATH_COLUMN]
    return cells[list(out.columns)]


def read_files(
    pattern: str, options: ReadOptions | None = None, *, blocksize: str | int = "default"
) -> DataFiles:
    """Parquet or CSV/TSV files as one lazy Dask DataFrame, read as ``glassnet train`` reads.

    Parameters
    ----------
    pattern : a file, a glob (``"data/part-*.parquet"``, ``**`` for subfolders) or a
        folder (its files, without those whose names start with ``.`` or ``_``). The
        files must be of one format and share one schema (the same columns, in order).
    options : how to read text (separator, encoding, decimal and thousands marks,
        ``na_values``); Parquet uses ``na_values`` for its text columns.
    blocksize : the bytes of CSV per partition (dask's default); a compressed CSV file
        is one partition, and so is each Parquet file.

    Raises
    ------
    DataFileError
        Nothing matches, a file that is no regular file, mixed formats or schemas, an
        unreadable header.
    """
    options = options or ReadOptions()
    paths = _expand(os.fspath(pattern))
    fmt, compression = _format_of(paths)
    if fmt == "parquet":
        frame, rows = _read_parquet(paths, options)
        return DataFiles(frame, paths, "parquet", rows, pattern=str(pattern))
    frame = _read_csv(paths, fmt, compression, options, blocksize)
    return DataFiles(frame, paths, "csv", pattern=str(pattern))


# -- on the workers --------------------------------------------------------------------------


def _table(part, na_values=()):
    """A partition as Columns, its text as the in-memory reading has it: Dask's Arrow
    strings mark a missing cell with pandas' NA, the reading of a file with NaN; the
    cells ``na_values`` names are missing."""
    import pandas as pd

    text = {
        name: pd.StringDtype(dtype.storage, na_value=np.nan)
        for name, dtype in part.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA
    }
    return mark_missing(as_columns(part.astype(text) if text else part), na_values)


def _survey(part, target: str, keep_path: bool, survey: Survey) -> dict:
    """What one partition says: its rows, the target's missing cells and distinct values,
    and ``survey`` (empty, of every feature column) fed its rows, numbered from 0."""
    cols = _table(part, survey.na_values)
    survey.add(cols, ("row", 0))
    values = cols[target]
    missing = missing_mask(values)
    present = values[~missing]
    out = {
        "n": cols.n_rows,
        "path": str(cols[PATH_COLUMN][0]) if keep_path and cols.n_rows else None,
        "missing": int(missing.sum()),
        "survey": survey,
    }
    import pandas as pd

    if present.dtype.kind == "b":
        uniques, counts = np.unique(present, return_counts=True)
    else:
        codes, uniques = pd.factorize(present)
        counts = np.bincount(codes, minlength=len(uniques))
    many = len(uniques) > MAX_CLASSES
    out["uniques"] = None if many else uniques
    out["counts"] = None if many else counts
    numbers, failed = parse_numbers(values, missing)
    out["text_at"] = np.flatnonzero(failed)[:1].tolist()
    out["text"] = str(values[out["text_at"][0]]) if out["text_at"] else None
    out["infinite_at"] = np.flatnonzero(np.isinf(numbers))[:5].tolist()
    return out


@dataclass(frozen=True)
class ClusterRecipe(Recipe):
    """:class:`~glassnet.tabular.recipe.Recipe` on a Dask cluster, which also offers
    L-BFGS (full batch, one iteration per epoch), its default optimizer.

    Parameters
    ----------
    strategy : "average" or "sync"
        How Adam and SGD join the workers' steps (see :func:`glassnet.dask.fit`).
    """

    optimizers: ClassVar[tuple[str, ...]] = ("lbfgs", "adam", "sgd")

    recipe: str = "small"
    optimizer: str = "lbfgs"
    batch_size: int | str | None = None
    ensemble: int | None = 1
    strategy: str = "average"

    def __post_init__(self):
        super().__post_init__()
        if self.ensemble is None:
            object.__setattr__(self, "ensemble", 1)  # (a frozen dataclass)
        if self.ensemble != 1:
            raise PreprocessingError(
                f"an ensemble trains in memory; on a cluster, one network (leave out "
                f"{option('ensemble')})"
            )


@dataclass
class _Plan:
    """Everything a partition's tasks need to know, the same for every partition."""

    target: str
    features: list[str]
    target_enc: TargetEncoder
    recipe: Recipe
    kinds: dict[str, str | None]
    formats: dict[str, str | None]
    feature_enc: FeatureEncoder | None = None

    def rows(self, cols, i: int):
        """The kept rows (their positions in the partition), the training and validation
        positions among them, and the kept columns."""
        cols = self.recipe.mark_missing(cols)
        cols, positions, _ = self.recipe.rows_with_target(cols, self.target, np.arange(cols.n_rows))
        classes = None
        if self.target_enc.task == "classification":
            classes = self.target_enc.class_indices(cols[self.target])
        train, val = self.recipe.split(cols.n_rows, classes, part=i)
        return cols, positions, train, val


def _statistics(part, i: int, plan: _Plan, where=None):
    """Partition ``i``'s feature statistics (on its training rows, read with the kinds
    and date formats the survey of every partition decided), the regression target's
    mean and variance, and its numbers of training and validation rows. Without ``where``
    the rows are counted from 0 and a PreprocessingError becomes ``None`` in place of the
    encoder (the client fits the partition again, numbered, to name the problem)."""
    cols, positions, train, val = plan.rows(_table(part), i)
    acc = Accumulator()
    if plan.target_enc.task == "regression" and len(train):
        numbers, _ = parse_numbers(cols[plan.target], missing_mask(cols[plan.target]))
        acc.add(numbers[train])
    enc = None
    if len(train):
        unit, first = where if where is not None else ("row", 0)
        try:
            enc = plan.recipe.feature_encoder().partial_fit(
                cols.take(train),
                plan.features,
                where=(unit, first + positions[train]),
                kinds=plan.kinds,
                formats=plan.formats,
            )
        except PreprocessingError:
            if where is not None:
                raise
            enc = None
    return {"encoder": enc, "target": acc, "train": len(train), "val": len(val)}


def _encode(part, i: int, plan: _Plan, where) -> tuple:
    """Partition ``i`` as the network's arrays: X and y of its training rows, then of its
    validation rows."""
    assert plan.feature_enc is not None  # fitted before the partitions are encoded
    cols, positions, train, val = plan.rows(_table(part), i)
    out = []
    for rows in (train, val):
        sub = cols.take(rows)
        numbered = (where[0], where[1] + positions[rows])
        X, _ = plan.feature_enc.transform(sub, where=numbered)
        y = plan.target_enc.encode(sub[plan.target], where=numbered)
        out += [X, y]
    return tuple(out)


def _measure(encoded: tuple, net: Network, target_enc: TargetEncoder) -> list[SummaryMetrics]:
    """The kept weights measured on the partition's training rows, then its validation
    rows."""
    results = []
    for X, y in (encoded[:2], encoded[2:]):
        acc = SummaryMetrics(target_enc.task)
        if len(X):
            acc.update_outputs(target_enc, y, net.predict(X))
        results.append(acc)
    return results


def _take(encoded: tuple, positions: np.ndarray) -> np.ndarray:
    """The partition's training rows at ``positions``, encoded."""
    return encoded[0][positions]


def _wrong(encoded: tuple, net: Network) -> tuple[int, int]:
    """How many of the partition's validation rows ``net`` classifies wrong, of how many."""
    X, y = encoded[2], encoded[3]
    if not len(y):
        return 0, 0
    return int(np.count_nonzero(net.predict(X).argmax(axis=1) != y)), len(y)


# -- on the client ---------------------------------------------------------------------------


def _rows(client, encoded: list, counts: list[int], positions: np.ndarray) -> np.ndarray:
    """The encoded training rows at ``positions`` (sorted) of all partitions' training
    rows, in partition order, gathered from the workers."""
    ends = np.cumsum(counts)
    starts = ends - np.asarray(counts)
    futures = []
    for f, lo, hi in zip(encoded, starts, ends):
        mine = positions[(positions >= lo) & (positions < hi)] - lo
        if len(mine):
            futures.append(client.submit(_take, f, mine, pure=False))
    return np.concatenate(_gather(client, futures))


def _val_error(client, encoded: list, stats: list[dict], net: Network) -> float:
    """The share of all partitions' validation rows ``net`` classifies wrong."""
    [shipped] = client.scatter([net], broadcast=True)
    counts = _gather(
        client,
        [client.submit(_wrong, f, shipped, pure=False) for f, s in zip(encoded, stats) if s["val"]],
    )
    return sum(w for w, _ in counts) / sum(n for _, n in counts)


def _numbering(data, surveys: list[dict]) -> list[tuple[str, int]]:
    """How messages number each partition's first row: (unit, number)."""
    if isinstance(data, DataFiles):
        several = len(data.paths) > 1
        if data.format == "csv":
            seen: dict[str, int] = {}
            out = []
            for s in surveys:
                path = s["path"] or ""
                unit = f"{os.path.basename(path)} line" if several else "line"
                out.append((unit, 2 + seen.get(path, 0)))
                seen[path] = seen.get(path, 0) + s["n"]
            return out
        if [s["n"] for s in surveys] == data.rows:  # one partition per file, in order
            return [(f"{os.path.basename(p)} row" if several else "row", 1) for p in data.paths]
    out, offset = [], 1
    for s in surveys:
        out.append(("row", offset))
        offset += s["n"]
    return out


def _gather(client, futures) -> list:
    """The results, with reading errors of the workers as DataFileError."""
    import pandas as pd

    try:
        return client.gather(futures)
    except (PreprocessingError, DataFileError):
        raise
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataFileError(f"cannot read the data: {' '.join(str(exc).split())}") from None
    finally:
        client.cancel(futures)


def _target_encoder(name: str, task: str, surveys, where, n_present: int) -> TargetEncoder:
    """The target's classes (or, for a regression, a placeholder scale) from the surveys."""
    import pandas as pd

    has_text = [(i, s) for i, s in enumerate(surveys) if s["text_at"]]
    if any(s["uniques"] is None for s in surveys):
        if task == "classification" or (task == "auto" and has_text):
            raise PreprocessingError(
                f"the target column {name!r} has more than {MAX_CLASSES} distinct values, "
                f"too many to be classes; for a number, give {option('task', 'regression')}"
            )
        task = "regression"
    else:
        parts = [np.asarray(s["uniques"], dtype=object) for s in surveys if len(s["uniques"])]
        counts = [np.asarray(s["counts"]) for s in surveys if len(s["uniques"])]
        if parts:
            totals = pd.Series(np.concatenate(counts), index=np.concatenate(parts))
            totals = totals.groupby(level=0, sort=False).sum()
            values, seen = totals.index.to_numpy(dtype=object), totals.to_numpy()
        else:
            values, seen = np.array([], dtype=object), np.array([], dtype=np.int64)
        if all(np.asarray(s["uniques"]).dtype.kind == "b" for s in surveys):
            values = values.astype(bool)
        # The task depends on the distinct values, on whether each is seen twice at least
        # and on whether there are at least twice as many values as distinct ones: a
        # sample that keeps each value up to twice, and as many values, decides alike.
        kept = np.repeat(values, np.minimum(seen, 2))
        size = min(n_present, 2 * len(values))
        sample = np.concatenate([kept, np.repeat(values[:1], max(0, size - len(kept)))])
        if task == "auto":
            task = TargetEncoder.infer_task(sample)
        if task == "classification":
            return TargetEncoder.fit(name, sample, "classification")
    if task != "regression":
        raise PreprocessingError(f"unknown task {task!r}; choose classification or regression")
    if has_text:
        i, s = has_text[0]
        unit, first = where[i]
        raise PreprocessingError(
            f"the target column {name!r} holds text ({s['text']!r} on {unit} "
            f"{first + s['text_at'][0]}), so it cannot be a regression target"
        )
    for i, s in enumerate(surveys):
        if s["infinite_at"]:
            unit, first = where[i]
            raise PreprocessingError(
                f"the target column {name!r} holds an infinite value ({unit} "
                f"{first + s['infinite_at'][0]})"
            )
    return TargetEncoder(name, "regression")


def fit_table(
    data,
    target: str,
    *,
    callbacks=(),
    source: str | None = None,
    client=None,
    **options,
) -> TabularModel:
    """Train a TabularModel on a Dask DataFrame, or on what :func:`read_files` returns.

    ``options`` are those of :class:`ClusterRecipe`: :meth:`TabularModel.fit`'s, with
    ``optimizer="lbfgs"`` (the default: full-batch L-BFGS, one iteration per epoch) and,
    for ``"adam"`` and ``"sgd"``, ``strategy`` (see :func:`glassnet.dask.fit`).
    ``val_split`` holds out that share of each partition's rows (of each class, for a
    classification), chosen with ``seed`` and the partition's number; ``early_stopping``
    watches their loss (or the training loss without them) and keeps the best epoch's
    weights.

    Returns
    -------
    TabularModel, as :meth:`TabularModel.fit` (its ``history`` holds the epochs); its
    ``info`` also has ``"cluster"`` (workers, shards, partitions, strategy).

    Raises
    ------
    PreprocessingError
        For the data or the options, naming the column, the file and the line.
    DataFileError
        For a file the workers cannot read.
    """
    recipe = ClusterRecipe.from_options(options, "fit_table")
    client = _shards.get_client(client)
    frame = data.frame if isinstance(data, DataFiles) else data
    if not isinstance(frame, dd.DataFrame):
        raise TypeError(
            f"data must be a Dask DataFrame or what read_files returns, got {type(data).__name__}"
        )
    keep_path = PATH_COLUMN in frame.columns
    names = [str(c) for c in frame.columns if c != PATH_COLUMN]
    feature_names = recipe.feature_columns(names, target)

    # 1. Every row surveyed: the features' kinds, every problem of the data, the target.
    survey_cols = [*feature_names, target] + ([PATH_COLUMN] if keep_path else [])
    pieces = frame[survey_cols].to_delayed()
    empty = recipe.survey(feature_names, target)
    surveys = _gather(
        client,
        client.compute([dask.delayed(_survey)(p, target, keep_path, empty) for p in pieces]),
    )
    where = _numbering(data, surveys)
    survey = recipe.survey(feature_names, target)
    for i, s in enumerate(surveys):
        survey.merge(s["survey"], where=where[i])
    found = survey.finish()
    found.refuse()
    missing = sum(s["missing"] for s in surveys)
    dropped = missing if recipe.drop_missing_target else 0
    n_rows = sum(s["n"] for s in surveys) - dropped
    check_rows(n_rows, dropped)
    target_enc = _target_encoder(target, recipe.task, surveys, where, n_rows)
    recipe.loss_for(target_enc)  # a loss that does not fit the task, before the passes
    plan = _Plan(target, feature_names, target_enc, recipe, found.kinds, found.formats)

    # 2. The statistics of every partition's training rows, joined in order.
    parts = frame[[*feature_names, target]].to_delayed()
    stats = _gather(
        client,
        client.compute([dask.delayed(_statistics)(p, i, plan) for i, p in enumerate(parts)]),
    )
    feature_enc, target_acc = recipe.feature_encoder(), Accumulator()
    for i, s in enumerate(stats):
        target_acc.merge(s["target"])
        enc = s["encoder"]
        if s["train"] == 0:
            continue
        if enc is None:  # read it again, numbered, to name what does not fit
            again = dask.delayed(_statistics)(parts[i], i, plan, where[i])
            enc = _gather(client, [client.compute(again)])[0]["encoder"]
            feature_enc.merge(enc)
        else:
            feature_enc.merge(enc, where=where[i])
    n_train = sum(s["train"] for s in stats)
    n_val = sum(s["val"] for s in stats)
    recipe.check_training_rows(n_train)
    feature_enc.finish()
    feature_enc.check_memory(max(s["n"] for s in surveys))  # the largest partition, encoded
    if target_enc.task == "regression":
        target_enc = TargetEncoder.standardised(target, target_acc)
    plan.feature_enc, plan.target_enc = feature_enc, target_enc

    # 3. Every partition encoded where it is read, and kept there while training.
    encoded = client.compute(
        [dask.delayed(_encode)(p, i, plan, where[i]) for i, p in enumerate(parts)]
    )
    classification = target_enc.task == "classification"
    try:
        k = feature_enc.n_outputs

        def collection(j: int, counts: str):
            chunks = [
                da.from_delayed(
                    dask.delayed(operator.getitem)(f, j),
                    shape=(s[counts], k) if j % 2 == 0 else _y_shape(s[counts], classification),
                    dtype=np.float64 if j % 2 == 0 or not classification else np.int64,
                )
                for f, s in zip(encoded, stats)
                if s[counts]
            ]
            return da.concatenate(chunks) if chunks else None

        X_train, y_train = collection(0, "train"), collection(1, "train")
        validation = (collection(2, "val"), collection(3, "val")) if n_val else None
        training = recipe.training(
            target_enc,
            k,
            n_rows=n_train,
            n_validation=n_val,
            callbacks=callbacks,
            features=feature_enc,
        )
        net = training.network
        start = training.start_rows(n_train)
        if start is not None:  # the rows the layers that start from the data start from
            net.initialize_from(_rows(client, encoded, [s["train"] for s in stats], start))
        for callback in training.callbacks:
            if isinstance(callback, ValidationError) and n_val:
                callback.measured_by(lambda now: _val_error(client, encoded, stats, now))
        history = fit_network(
            net,
            X_train,
            y_train,
            loss=_losses.get(training.loss),
            optimizer=training.optimizer,
            epochs=training.epochs,
            batch_size=training.batch_size,
            shuffle=True,
            validation_data=validation,
            callbacks=training.callbacks,
            schedule=training.schedule,
            strategy=recipe.strategy,
            client=client,
        )
        measured = _gather(
            client, [client.submit(_measure, f, net, target_enc, pure=False) for f in encoded]
        )
    finally:
        client.cancel(encoded)
    train, val = (SummaryMetrics(target_enc.task) for _ in range(2))
    for on_train, on_val in measured:
        train.merge(on_train)
        val.merge(on_val)
    # The command line prints the overfitting note itself, and does not silence the warning
    # for a cluster as it does in memory: the note is kept in the summary, not warned.
    info = recipe.summary(
        training,
        history,
        features=feature_enc,
        target=target_enc,
        rows=n_rows,
        dropped=dropped,
        train=train,
        validation=val,
        source=source,
        warn=False,
    )
    info["cluster"] = dict(net.training_summary.get("cluster", {}))
    model = TabularModel(net, feature_enc, target_enc, info)
    model.history = history
    return model


def _y_shape(n: int, classification: bool) -> tuple:
    return (n,) if classification else (n, 1)
