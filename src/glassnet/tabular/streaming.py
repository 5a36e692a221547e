"""Training a TabularModel on a data file read in chunks, so that memory is bounded by the
chunk, the shuffle buffer and the validation rows, never by the length of the file.

The file is read several times, always in file order:

0. **survey**: every row of every chunk is read by a :class:`~.survey.Survey`, which
   decides each column's kind (and a date column's format) from the whole file, as
   training in memory does, and refuses in one message what must be settled first
   (missing values, text among numbers, dates whose day and month cannot be told apart),
   counting and numbering the file's own lines;
1. **statistics**: every chunk's rows are split into training and held-out rows
   (:class:`RowSplit`, the same split whatever the chunk size), the encoders accumulate
   the training rows (``FeatureEncoder.partial_fit``, ``TargetEncoder.partial_fit``: the
   classes from every row, the scale from the training rows), and a bounded sample of
   the held-out rows is chosen to measure the validation loss;
2. **validation**: the held-out rows are encoded (so a bad cell among them is an error
   before training starts) and the sampled ones kept, encoded, in memory;
3. **each epoch**: chunks are encoded and their training rows pass through a
   :class:`ShuffleBuffer` into :func:`glassnet.training.fit_stream`, which cuts the
   mini-batches; early stopping watches the validation rows and restores the best
   epoch, as the in-memory path does;
4. **metrics**: one last pass measures the kept weights on the training rows.

Peak memory, with ``w`` the encoded width and ``k`` the file's columns, is about
``chunk_rows x (350 k + 32 w)`` bytes (the chunk as read and parsed, and encoded)
``+ (buffer_rows + chunk_rows) x 8 w`` (the buffer's pool) ``+ max_validation_rows x 8 w``
on top of the process itself; :func:`memory_bound` computes it. None of it grows
with the file.

It does not read several files, or train across processes (see :mod:`glassnet.dask`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import numpy as np

from ..network import Network
from ..training import Callback, History, fit_stream
from .columns import as_columns, import_pandas
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder, class_identity
from .metrics import SummaryMetrics
from .reading import DEFAULT_CHUNK_ROWS, ReadOptions, data_format, iter_chunks, row_numbering
from .recipe import Recipe, check_rows, check_target
from .survey import Survey, SurveyResult

__all__ = [
    "RowSplit",
    "ShuffleBuffer",
    "Statistics",
    "survey_file",
    "gather_statistics",
    "encoded_chunks",
    "fit_file",
    "memory_bound",
    "estimate_in_memory",
    "DEFAULT_BUFFER_ROWS",
    "DEFAULT_VALIDATION_ROWS",
]

_log = logging.getLogger(__name__)

DEFAULT_BUFFER_ROWS = 65_536
DEFAULT_VALIDATION_ROWS = 100_000

#: Each class's rows are split in blocks of this many (in file order): every full block
#: holds out round(fraction x 100) of them, chosen at random.
SPLIT_BLOCK = 100
#: The first this-many distinct target values are strata of their own; rows of any later
#: value share one (a regression target, an identifier), split block by block all the same.
SPLIT_STRATA = 1024

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: uint64 in, well-mixed uint64 out (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(seed: int, *keys: np.ndarray | int) -> np.ndarray:
    """A uint64 hash of (seed, keys...), element by element."""
    h = _mix(np.full(np.shape(keys[0]), np.uint64(seed & 0xFFFFFFFFFFFFFFFF), dtype=np.uint64))
    for key in keys:
        h = _mix(h ^ np.asarray(key).astype(np.uint64))
    return h


class RowSplit:
    """Which rows of a file are held out for validation, decided from each row's place in
    the file alone, so that any chunk size gives the same split.

    The rows of each class (each distinct target value that is text or a whole number,
    up to ``SPLIT_STRATA`` of them; numbers with a fraction and later values share one
    stratum, as do all rows when ``stratify`` is false) are taken in file order in
    blocks of 100: block ``k``
    holds out ``round((k + 1) 100 f) - round(k 100 f)`` of its rows, chosen by a seeded
    hash of (class, block, place in block). So every class gives the fraction ``f`` to
    within one row in a hundred (stratified, in one pass), and the first row of a class is
    always kept for training. Feed every row of the file once, in order, to
    :meth:`held_out`.
    """

    def __init__(self, fraction: float, seed: int | None = 0, stratify: bool = True):
        if not 0 <= fraction < 1:
            raise ValueError(f"the validation fraction must be in [0, 1), got {fraction}")
        self.fraction = float(fraction)
        self.seed = 0 if seed is None else int(seed)
        self.stratify = bool(stratify)
        self._strata: dict[Any, int] = {}
        self._seen = np.zeros(SPLIT_STRATA + 1, dtype=np.int64)

    def strata(self, target_values: np.ndarray) -> np.ndarray:
        """Each row's stratum: its class's place in the order of first appearance."""
        if not self.stratify:
            return np.full(len(target_values), SPLIT_STRATA, dtype=np.int64)
        pd = import_pandas()
        codes, uniques = pd.factorize(pd.Series(target_values, dtype=object), sort=False)
        ids = np.empty(len(uniques), dtype=np.int64)
        for i, value in enumerate(uniques):
            label, key = class_identity(value)
            if isinstance(label, float):  # a measurement, not a class
                ids[i] = SPLIT_STRATA
                continue
            found = self._strata.get(key)
            if found is None:
                found = len(self._strata) if len(self._strata) < SPLIT_STRATA else SPLIT_STRATA
                if found < SPLIT_STRATA:
                    self._strata[key] = found
            ids[i] = found
        return ids[codes]

    def held_out(self, target_values: np.ndarray) -> np.ndarray:
        """A mask of the rows, of the next rows of the file, that are held out."""
        n = len(target_values)
        if not self.fraction or not n:
            return np.zeros(n, dtype=bool)
        stratum = self.strata(target_values)
        order = np.argsort(stratum, kind="stable")
        sorted_strata = stratum[order]
        starts = np.flatnonzero(np.r_[True, sorted_strata[1:] != sorted_strata[:-1]])
        sizes = np.diff(np.r_[starts, n])
        within = np.arange(n) - np.repeat(starts, sizes)
        place = np.empty(n, dtype=np.int64)
        place[order] = within + self._seen[sorted_strata]
        np.add.at(self._seen, sorted_strata[starts], sizes)

        block, slot = place // SPLIT_BLOCK, place % SPLIT_BLOCK
        pairs, row_pair = np.unique(np.stack([stratum, block]), axis=1, return_inverse=True)
        row_pair = row_pair.ravel()
        slots = np.arange(SPLIT_BLOCK)
        hashes = _hash(self.seed, pairs[0][:, None], pairs[1][:, None], slots[None, :])
        rank = np.argsort(np.argsort(hashes, axis=1, kind="stable"), axis=1, kind="stable")
        quota = SPLIT_BLOCK * self.fraction
        take = np.floor((block + 1) * quota + 0.5) - np.floor(block * quota + 0.5)
        return (rank[row_pair, slot] < take) & (place > 0)


class ShuffleBuffer:
    """Rows in, rows out in random order, holding ``capacity`` rows in between.

    Each block pushed joins the rows held in a pool, and a random selection of the pool,
    as many rows as the pool holds beyond ``capacity``, leaves in random order; the rest
    stay. A row can so leave at once or many blocks later, and the rows of one chunk of
    the file spread over the epoch. :meth:`drain` lets out what is left, shuffled.
    Memory: the pool, ``(capacity + largest block) x width``, allocated once.
    """

    def __init__(self, capacity: int, rng: np.random.Generator):
        if capacity < 0:
            raise ValueError(f"the buffer size must be at least 0 rows, got {capacity}")
        self.capacity = int(capacity)
        self.rng = rng
        self.X: np.ndarray | None = None  # the pool, made by the first push
        self.Y: np.ndarray | None = None
        self.fill = 0

    def _room(self, X: np.ndarray, Y: np.ndarray) -> None:
        need = self.fill + X.shape[0]
        if self.X is not None and need <= self.X.shape[0]:
            return
        size = max(need, self.capacity + X.shape[0])
        X_pool = np.empty((size, *X.shape[1:]), dtype=X.dtype)
        Y_pool = np.empty((size, *Y.shape[1:]), dtype=Y.dtype)
        if self.X is not None:
            assert self.Y is not None  # the pools are made together
            X_pool[: self.fill] = self.X[: self.fill]
            Y_pool[: self.fill] = self.Y[: self.fill]
        self.X, self.Y = X_pool, Y_pool

    def push(
        self, X: np.ndarray, Y: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Add rows (those where the mask ``rows`` is true, without a copy of them);
        return the rows that leave (None while the buffer fills)."""
        m = X.shape[0] if rows is None else int(np.count_nonzero(rows))
        if not m:
            return None
        self._room(X[:m], Y[:m])
        assert self.X is not None and self.Y is not None  # _room made the pools
        if rows is None:
            self.X[self.fill : self.fill + m] = X
            self.Y[self.fill : self.fill + m] = Y
        else:
            np.compress(rows, X, axis=0, out=self.X[self.fill : self.fill + m])
            np.compress(rows, Y, axis=0, out=self.Y[self.fill : self.fill + m])
        self.fill += m
        if self.fill <= self.capacity:
            return None
        pool = self.fill
        leave = pool - self.capacity
        order = self.rng.permutation(pool)
        out, stay = order[:leave], order[leave:]
        X_out, Y_out = self.X[out], self.Y[out]  # copies, before the holes are filled
        holes = np.sort(out[out < self.capacity])
        fillers = np.sort(stay[stay >= self.capacity])
        self.X[holes] = self.X[fillers]
        self.Y[holes] = self.Y[fillers]
        self.fill = self.capacity
        return X_out, Y_out

    def drain(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows still held, in random order; the buffer is then empty."""
        if not self.fill:
            return None
        assert self.X is not None and self.Y is not None  # rows were pushed into them
        order = self.rng.permutation(self.fill)
        self.fill = 0
        return self.X[order], self.Y[order]


@dataclass
class Statistics:
    """What the first pass learns: the fitted encoders, the rows, and which held-out rows
    measure the validation loss (their 0-based positions in the file, sorted)."""

    features: FeatureEncoder
    target: TargetEncoder
    rows: int
    dropped: int
    held_out: int
    validation_positions: np.ndarray


def _where(path: str, positions: np.ndarray) -> tuple[str, np.ndarray]:
    unit, first = row_numbering(path)
    return unit, np.asarray(positions, dtype=np.int64) + first


def _chunks_with_target(path, target: str, recipe: Recipe, chunk_rows, options):
    """(chunk, file positions, target values, dropped rows) for each chunk."""
    for chunk in iter_chunks(path, options, chunk_rows):
        cols = as_columns(chunk)
        check_target(cols.names, target)
        positions = chunk.index.to_numpy(dtype=np.int64)
        cols, positions, dropped = recipe.rows_with_target(cols, target, positions)
        yield cols, positions, cols[target], dropped


class _Reading(TypedDict):
    """How every pass over the file reads it: encoded_chunks' keyword arguments."""

    chunk_rows: int
    options: ReadOptions


def _reading(recipe: Recipe, options: ReadOptions | None) -> ReadOptions:
    """The reading options, with the recipe's ``na_values`` read as missing too."""
    options = options or ReadOptions()
    words = list(dict.fromkeys([*options.na_values, *recipe.na_values]))
    return replace(options, na_values=tuple(words))


def survey_file(
    path: str,
    target: str,
    recipe: Recipe,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    options: ReadOptions | None = None,
) -> tuple[list[str], SurveyResult]:
    """The survey of every row of the file (the first pass): its feature columns, and what
    the :class:`~.survey.Survey` of them decided. ``options`` are read as they are."""
    names: list[str] | None = None
    survey: Survey | None = None
    for chunk in iter_chunks(path, options, chunk_rows):
        cols = as_columns(chunk)
        if survey is None:  # the first chunk
            names = recipe.feature_columns(cols.names, target)
            survey = recipe.survey(names, target)
        check_target(cols.names, target)
        survey.add(cols, _where(path, chunk.index.to_numpy(dtype=np.int64)))
    assert names is not None and survey is not None  # iter_chunks yields a chunk or raises
    return names, survey.finish()


def gather_statistics(
    path: str,
    target: str,
    recipe: Recipe,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_validation_rows: int = DEFAULT_VALIDATION_ROWS,
    options: ReadOptions | None = None,
    trial: bool = False,
) -> Statistics:
    """The first passes over the file (see the module's docstring), as ``recipe`` says:
    the survey (the feature columns, their kinds, every problem refused at once), then
    the split and the encoders. ``options`` gain the recipe's ``na_values``.

    Of the held-out rows, the ``max_validation_rows`` with the smallest seeded hash of
    their position measure the validation loss (all of them when there are fewer);
    held-out rows beyond those are trained on in the epochs.
    """
    options = _reading(recipe, options)
    names, found = survey_file(path, target, recipe, chunk_rows=chunk_rows, options=options)
    if found.problems:
        if trial:
            found.refuse()

        def attempt(fixed: Recipe) -> Statistics:
            return gather_statistics(
                path,
                target,
                fixed,
                chunk_rows=chunk_rows,
                max_validation_rows=max_validation_rows,
                options=options,
                trial=True,
            )

        recipe.refuse(found, attempt)
    split = RowSplit(recipe.val_split, recipe.seed, stratify=recipe.task != "regression")
    features = recipe.feature_encoder()
    target_enc = TargetEncoder(target, recipe.task)
    rows = dropped = held = trained = 0
    sample_hash = np.empty(0, dtype=np.uint64)
    sample_pos = np.empty(0, dtype=np.int64)
    for cols, positions, y_raw, n_dropped in _chunks_with_target(
        path, target, recipe, chunk_rows, options
    ):
        dropped += n_dropped
        if not len(positions):
            continue
        where = _where(path, positions)
        out = split.held_out(y_raw)
        train = ~out
        target_enc.partial_fit(y_raw, scale=train, where=where)
        if train.any():
            features.partial_fit(
                cols.take(train),
                names,
                where=(where[0], where[1][train]),
                kinds=found.kinds,
                formats=found.formats,
            )
            trained += int(train.sum())
        rows += len(positions)
        if out.any():
            held += int(out.sum())
            sample_pos = np.concatenate([sample_pos, positions[out]])
            sample_hash = np.concatenate([sample_hash, _hash(split.seed, positions[out], 1)])
            if len(sample_pos) > max_validation_rows:
                keep = np.lexsort((sample_pos, sample_hash))[:max_validation_rows]
                sample_pos, sample_hash = sample_pos[keep], sample_hash[keep]
    check_rows(rows, dropped)
    recipe.check_training_rows(trained)
    target_enc.finish()
    features.finish()
    return Statistics(features, target_enc, rows, dropped, held, np.sort(sample_pos))


def encoded_chunks(
    path: str,
    stats: Statistics,
    recipe: Recipe,
    *,
    chunk_rows: int,
    options: ReadOptions | None,
    dtype=np.float64,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(X, y, is a validation row) for each chunk, encoded as the statistics say."""
    target = stats.target
    for cols, positions, y_raw, _ in _chunks_with_target(
        path, target.name, recipe, chunk_rows, options
    ):
        if not len(positions):
            continue
        where = _where(path, positions)
        X, _ = stats.features.transform(cols, dtype, where=where)
        y = target.encode(y_raw, where=where)
        if y.ndim == 2:
            y = y.astype(dtype, copy=False)
        yield X, y, np.isin(positions, stats.validation_positions)


def memory_bound(
    width: int, raw_columns: int, chunk_rows: int, buffer_rows: int, validation_rows: int
) -> int:
    """Bytes the streamed data takes at its peak, at most, beyond the process itself.

    Per row of a chunk: 350 bytes a raw cell (the text pandas parses and holds, and the
    columns parsed from it) and four encoded rows (the encoded chunk, the rows the
    buffer lets out, and what encoding and batching make on the way), 8 bytes a value;
    the buffer's pool, ``(buffer_rows + chunk_rows)`` encoded rows; the validation rows,
    encoded. The constants are measured upper bounds (``benchmarks/streaming.py``); the
    network and the optimizer come on top (a few copies of the parameter vector).
    """
    per_chunk_row = raw_columns * 350 + 4 * width * 8
    pool = (buffer_rows + chunk_rows) * width * 8
    return int(chunk_rows * per_chunk_row + pool + validation_rows * width * 8)


def estimate_in_memory(path: str, options: ReadOptions | None = None, sample_rows: int = 10_000):
    """(bytes, rows, encoded width): a rough estimate of what training on the whole file in
    memory would take, from its size and its first ``sample_rows`` rows: the frame as
    pandas holds it, and the encoded matrix twice (all rows, and the training rows'
    copy), 8 bytes a value.

    The number of rows comes from Parquet and Arrow metadata, or from the file's size over
    the bytes per line of its first megabyte (uncompressed text; a compressed file is
    taken to expand five times).
    """
    head = next(iter_chunks(path, options, sample_rows))
    enc = FeatureEncoder(impute=True, max_categories=None)
    cols = as_columns(head)
    try:
        enc.fit(cols, cols.names)
        width = enc.n_outputs
    except PreprocessingError:
        width = len(cols.names)
    frame_bytes = float(head.memory_usage(deep=True).sum()) / max(len(head), 1)
    rows = _estimate_rows(path, len(head))
    return int(rows * (frame_bytes + 2 * width * 8)), rows, width


def _estimate_rows(path: str, sampled: int) -> int:
    fmt, compression = data_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt == "arrow":
        import pyarrow as pa

        with pa.memory_map(path, "r") as source:
            try:
                reader = pa.ipc.open_file(source)
            except pa.ArrowInvalid:
                return sampled
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    if path == "-":
        return sampled
    size = os.path.getsize(path)
    if compression:
        size *= 5
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    lines = head.count(b"\n")
    if compression or not lines:
        return max(sampled, int(size / 100))
    per_line = len(head) / lines
    return max(sampled, int(math.ceil(size / per_line)) - 1)


def fit_file(
    path: str,
    target: str,
    recipe: Recipe,
    *,
    callbacks: Sequence[Callback] = (),
    source: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    buffer_rows: int = DEFAULT_BUFFER_ROWS,
    max_validation_rows: int = DEFAULT_VALIDATION_ROWS,
    read_options: ReadOptions | None = None,
) -> tuple[Network, FeatureEncoder, TargetEncoder, dict, History]:
    """Train on a data file read in chunks, as ``recipe`` says (see the module's
    docstring): what :meth:`TabularModel.fit_stream` does.

    Returns
    -------
    (network, feature encoder, target encoder, training summary, History): a
    TabularModel's parts, and how its training went.
    """
    for value, name in (
        (chunk_rows, "chunk_rows"),
        (max_validation_rows, "max_validation_rows"),
    ):
        if int(value) < 1:
            raise PreprocessingError(f"{name} must be at least 1, got {value}")
    if int(buffer_rows) < 0:
        raise PreprocessingError(f"buffer_rows must be at least 0, got {buffer_rows}")
    if recipe.batch_size is None:
        raise PreprocessingError(
            "streamed training takes mini-batches; a full batch needs the data in memory"
        )
    if recipe.ensemble not in (None, 1):
        raise PreprocessingError("an ensemble needs the data in memory; streamed, one network")
    recipe = replace(recipe, ensemble=1)
    reading = _Reading(chunk_rows=chunk_rows, options=_reading(recipe, read_options))
    started = time.perf_counter()
    _log.info("reading %s: its survey and statistics (two passes before training)", path)
    stats = gather_statistics(
        path, target, recipe, max_validation_rows=max_validation_rows, **reading
    )
    # a chunk and the buffer's pool are encoded at once: as many rows as in memory, or fewer
    stats.features.check_memory(min(stats.rows, chunk_rows + buffer_rows))
    _log.info(
        "%d rows surveyed and measured in %.1f s; now the validation rows (a third pass)",
        stats.rows,
        time.perf_counter() - started,
    )
    started = time.perf_counter()
    X_val, y_val = _validation_rows(path, stats, recipe, reading)
    n_val = len(X_val)
    _log.info(
        "%d validation rows encoded in %.1f s; training, a pass over the file an epoch",
        n_val,
        time.perf_counter() - started,
    )
    training = recipe.training(
        stats.target,
        stats.features.n_outputs,
        n_rows=stats.rows - n_val,
        n_validation=n_val,
        callbacks=callbacks,
        features=stats.features,
    )
    net = training.network
    assert training.batch_size is not None  # a full batch was refused above
    if n_val:  # the held-out rows are a sample of the data: layers start from them
        training.begin(X_val, (X_val, y_val))

    def blocks():
        buffer = ShuffleBuffer(buffer_rows, net.rng)
        for X, y, is_val in encoded_chunks(path, stats, recipe, **reading):
            out = buffer.push(X, y, ~is_val if is_val.any() else None)
            if out is not None:
                yield out
        rest = buffer.drain()
        if rest is not None:
            yield rest

    history = fit_stream(
        net,
        blocks,
        loss=training.loss,
        optimizer=training.optimizer,
        epochs=training.epochs,
        batch_size=training.batch_size,
        validation_data=(X_val, y_val) if n_val else None,
        callbacks=training.callbacks,
        schedule=training.schedule,
    )
    validation = SummaryMetrics(stats.target.task)
    if n_val:
        validation.update_outputs(stats.target, y_val, net.predict(X_val))
    info = recipe.summary(
        training,
        history,
        features=stats.features,
        target=stats.target,
        rows=stats.rows,
        dropped=stats.dropped,
        train=_training_metrics(net, path, stats, recipe, reading),
        validation=validation,
        source=source,
    )
    info["streamed"] = {
        "chunk_rows": int(chunk_rows),
        "buffer_rows": int(buffer_rows),
        "held_out_rows": int(stats.held_out),
        "max_validation_rows": int(max_validation_rows),
    }
    return net, stats.features, stats.target, info, history


def _validation_rows(path: str, stats: Statistics, recipe: Recipe, reading: _Reading):
    """The second pass: every held-out row encoded (checking its cells), the sampled ones
    kept, in file order."""
    n = len(stats.validation_positions)
    X_val = np.empty((n, stats.features.n_outputs))
    y_val = None
    at = 0
    for X, y, is_val in encoded_chunks(path, stats, recipe, **reading):
        if y_val is None:
            y_val = np.empty((n, *y.shape[1:]), dtype=y.dtype)
        k = int(is_val.sum())
        X_val[at : at + k] = X[is_val]
        y_val[at : at + k] = y[is_val]
        at += k
    assert y_val is not None  # the first pass found rows with a target, so a chunk came
    return X_val[:at], y_val[:at]


def _training_metrics(
    net: Network, path: str, stats: Statistics, recipe: Recipe, reading: _Reading
) -> SummaryMetrics:
    """The last pass: the kept weights measured on every training row."""
    acc = SummaryMetrics(stats.target.task)
    for X, y, is_val in encoded_chunks(path, stats, recipe, **reading):
        train = ~is_val
        if train.any():
            acc.update_outputs(stats.target, y[train], net.predict(X[train]))
    return acc
