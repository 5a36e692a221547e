"""Training a TabularModel on a data file read in chunks, so that memory is bounded by the
chunk, the shuffle buffer and the validation rows, never by the length of the file.

The file is read several times, always in file order:

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

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import as_columns
from .encoding import (
    FeatureEncoder,
    PreprocessingError,
    TargetEncoder,
    class_identity,
    refuse_missing,
)
from .reading import DEFAULT_CHUNK_ROWS, ReadOptions, data_format, iter_chunks, row_numbering

__all__ = [
    "RowSplit",
    "ShuffleBuffer",
    "Statistics",
    "gather_statistics",
    "memory_bound",
    "estimate_in_memory",
    "DEFAULT_BUFFER_ROWS",
    "DEFAULT_VALIDATION_ROWS",
]

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


def _hash(seed: int, *keys: np.ndarray) -> np.ndarray:
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
        pd = _pandas()
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
        self.X = self.Y = None
        self.fill = 0

    def _room(self, X: np.ndarray, Y: np.ndarray) -> None:
        need = self.fill + X.shape[0]
        if self.X is not None and need <= self.X.shape[0]:
            return
        size = max(need, self.capacity + X.shape[0])
        X_pool = np.empty((size, *X.shape[1:]), dtype=X.dtype)
        Y_pool = np.empty((size, *Y.shape[1:]), dtype=Y.dtype)
        if self.X is not None:
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


def _pandas():
    from .columns import _pandas as pandas

    return pandas()


def _where(path: str, positions: np.ndarray) -> tuple[str, np.ndarray]:
    unit, first = row_numbering(path)
    return unit, np.asarray(positions, dtype=np.int64) + first


def _chunks_with_target(path, options, chunk_rows, target, drop_missing_target):
    """(chunk, file positions, target values, dropped rows) for each chunk."""
    for chunk in iter_chunks(path, options, chunk_rows):
        cols = as_columns(chunk)
        from .model import _no_such_column, _without_missing_target

        if target not in cols:
            raise PreprocessingError(_no_such_column(target, cols.names, "target column"))
        positions = chunk.index.to_numpy(dtype=np.int64)
        dropped = 0
        if drop_missing_target:
            cols, keep = _without_missing_target(cols, target)
            if keep is not None:
                positions, dropped = positions[keep], int((~keep).sum())
        yield cols, positions, cols[target], dropped


def gather_statistics(
    path: str,
    target: str,
    feature_names_for,
    *,
    task: str = "auto",
    val_split: float = 0.2,
    seed: int | None = 0,
    impute: bool = False,
    max_categories: int | None = None,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    drop_missing_target: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_validation_rows: int = DEFAULT_VALIDATION_ROWS,
    options: ReadOptions | None = None,
) -> Statistics:
    """The first pass over the file (see the module's docstring).

    ``feature_names_for(column_names)`` chooses the feature columns from the file's
    columns (the first chunk's). Of the held-out rows, the ``max_validation_rows`` with
    the smallest seeded hash of their position measure the validation loss (all of them
    when there are fewer); held-out rows beyond those are trained on in the epochs.
    """
    split = RowSplit(val_split, seed, stratify=task != "regression")
    features = FeatureEncoder(
        impute=impute, max_categories=max_categories, categorical=categorical, numeric=numeric
    )
    target_enc = TargetEncoder(target, task)
    names = None
    rows = dropped = held = 0
    sample_hash = np.empty(0, dtype=np.uint64)
    sample_pos = np.empty(0, dtype=np.int64)
    for cols, positions, y_raw, n_dropped in _chunks_with_target(
        path, options, chunk_rows, target, drop_missing_target
    ):
        dropped += n_dropped
        if not len(positions):
            continue
        if names is None:
            names = feature_names_for(cols.names)
        where = _where(path, positions)
        if not impute:
            refuse_missing(cols, names, where)
        out = split.held_out(y_raw)
        train = ~out
        target_enc.partial_fit(y_raw, scale=train, where=where)
        if train.any():
            features.partial_fit(cols.take(train), names, where=(where[0], where[1][train]))
        rows += len(positions)
        if out.any():
            held += int(out.sum())
            sample_pos = np.concatenate([sample_pos, positions[out]])
            sample_hash = np.concatenate([sample_hash, _hash(split.seed, positions[out], 1)])
            if len(sample_pos) > max_validation_rows:
                keep = np.lexsort((sample_pos, sample_hash))[:max_validation_rows]
                sample_pos, sample_hash = sample_pos[keep], sample_hash[keep]
    if rows < 2:
        raise PreprocessingError(
            f"the data has {rows} row{'s' * (rows != 1)}"
            + (f" with a target ({dropped} dropped)" if dropped else "")
            + "; training needs at least 2"
        )
    if names is None or features._fitting is None:
        raise PreprocessingError(f"the validation split {val_split} leaves no training rows")
    target_enc.finish()
    features.finish()
    return Statistics(features, target_enc, rows, dropped, held, np.sort(sample_pos))


def encoded_chunks(
    path: str,
    stats: Statistics,
    *,
    chunk_rows: int,
    options: ReadOptions | None,
    drop_missing_target: bool,
    dtype=np.float64,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(X, y, is a validation row) for each chunk, encoded as the statistics say."""
    target = stats.target
    for cols, positions, y_raw, _ in _chunks_with_target(
        path, options, chunk_rows, target.name, drop_missing_target
    ):
        if not len(positions):
            continue
        where = _where(path, positions)
        X, _ = stats.features.transform(cols, dtype, where=where)
        y = target.encode(y_raw, where=where)
        if y.ndim == 2:
            y = y.astype(dtype, copy=False)
        found = np.searchsorted(stats.validation_positions, positions)
        found = np.minimum(found, max(len(stats.validation_positions) - 1, 0))
        is_val = (
            stats.validation_positions[found] == positions
            if len(stats.validation_positions)
            else np.zeros(len(positions), dtype=bool)
        )
        yield X, y, is_val


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
    options: dict,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    buffer_rows: int = DEFAULT_BUFFER_ROWS,
    max_validation_rows: int = DEFAULT_VALIDATION_ROWS,
    read_options: ReadOptions | None = None,
):
    """:meth:`TabularModel.fit_stream`: train on a data file read in chunks (see the
    module's docstring). ``options`` are :meth:`TabularModel.fit`'s keyword arguments
    (its defaults for those not given). Returns (model, history)."""
    import inspect

    from ..training import fit_stream
    from .model import (
        TabularModel,
        _check_options,
        _choose_features,
        _choose_loss,
        _early_stopping,
        _network,
        _optimizer,
        _training_info,
    )

    accepted = inspect.signature(TabularModel.fit).parameters
    unknown = sorted(set(options) - set(accepted) | {"frame", "target", "where"} & set(options))
    if unknown:
        raise TypeError(f"fit_stream() got an unexpected keyword argument {unknown[0]!r}")
    given = {
        name: options.get(name, p.default)
        for name, p in accepted.items()
        if p.default is not inspect.Parameter.empty
    }
    hidden, activation, epochs = given["hidden"], given["activation"], given["epochs"]
    val_split, patience, lr, seed = (
        given["val_split"], given["patience"], given["lr"], given["seed"]
    )  # fmt: skip
    features, ignore = given["features"], given["ignore"]
    categorical, numeric = given["categorical"], given["numeric"]
    batch_size, task, early_stopping = given["batch_size"], given["task"], given["early_stopping"]
    drop_missing_target = given["drop_missing_target"]
    _check_options(hidden, epochs, val_split, patience, lr)
    for value, name in (
        (chunk_rows, "chunk_rows"),
        (max_validation_rows, "max_validation_rows"),
    ):
        if int(value) < 1:
            raise PreprocessingError(f"{name} must be at least 1, got {value}")
    if int(buffer_rows) < 0:
        raise PreprocessingError(f"buffer_rows must be at least 0, got {buffer_rows}")
    if batch_size is None:
        raise PreprocessingError(
            "streamed training takes mini-batches; a full batch needs the data in memory"
        )
    chosen: list[str] = []

    def choose(names):
        chosen[:] = _choose_features(names, target, features, ignore, categorical, numeric)
        return chosen

    stats = gather_statistics(
        path,
        target,
        choose,
        task=task,
        val_split=val_split,
        seed=seed,
        impute=given["impute"],
        max_categories=given["max_categories"],
        categorical=categorical,
        numeric=numeric,
        drop_missing_target=drop_missing_target,
        chunk_rows=chunk_rows,
        max_validation_rows=max_validation_rows,
        options=read_options,
    )
    classification = stats.target.task == "classification"
    loss = _choose_loss(given["loss"], classification)
    reading = dict(
        chunk_rows=chunk_rows, options=read_options, drop_missing_target=drop_missing_target
    )
    X_val, y_val = _validation_rows(path, stats, reading)
    n_val = len(X_val)

    net = _network(hidden, activation, stats.target, seed)
    net.build(stats.features.n_outputs)
    opt = _optimizer(given["optimizer"], lr)

    def blocks():
        buffer = ShuffleBuffer(buffer_rows, net.rng)
        for X, y, is_val in encoded_chunks(path, stats, **reading):
            out = buffer.push(X, y, ~is_val if is_val.any() else None)
            if out is not None:
                yield out
        rest = buffer.drain()
        if rest is not None:
            yield rest

    callbacks = list(given["callbacks"])
    if early_stopping:
        callbacks.append(_early_stopping(n_val, patience))
    history = fit_stream(
        net,
        blocks,
        loss=loss,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(X_val, y_val) if n_val else None,
        callbacks=callbacks,
    )
    model = TabularModel(net, stats.features, stats.target)
    train_metrics, training_rows = _training_metrics(model, path, stats, reading)
    val_metrics = {}
    if n_val:
        val_metrics = _metrics_of(model, net.predict(X_val), y_val)
    model.info = _training_info(
        source=given["source"],
        rows=stats.rows,
        dropped=stats.dropped,
        training_rows=training_rows,
        validation_rows=n_val,
        feature_names=chosen,
        features=stats.features,
        target=stats.target,
        loss=loss,
        optimizer=opt,
        hidden=hidden,
        activation=activation,
        history=history,
        train_metrics=train_metrics,
        validation_metrics=val_metrics,
        early_stopping=early_stopping,
    )
    model.info["streamed"] = {
        "chunk_rows": int(chunk_rows),
        "buffer_rows": int(buffer_rows),
        "held_out_rows": int(stats.held_out),
        "max_validation_rows": int(max_validation_rows),
    }
    model._history = history
    return model, history


def _validation_rows(path: str, stats: Statistics, reading: dict):
    """The second pass: every held-out row encoded (checking its cells), the sampled ones
    kept, in file order."""
    n = len(stats.validation_positions)
    X_val = np.empty((n, stats.features.n_outputs))
    y_val = None
    at = 0
    for X, y, is_val in encoded_chunks(path, stats, **reading):
        if y_val is None:
            y_val = np.empty((n, *y.shape[1:]), dtype=y.dtype)
        k = int(is_val.sum())
        X_val[at : at + k] = X[is_val]
        y_val[at : at + k] = y[is_val]
        at += k
    return X_val[:at], y_val[:at]


def _metrics_of(model, output: np.ndarray, y: np.ndarray) -> dict:
    from .metrics import metrics

    target = model.target
    if target.task == "classification":
        return metrics(target.task, y, np.argmax(output, axis=1))
    return metrics(target.task, target.decode(y), target.decode(output))


def _training_metrics(model, path: str, stats: Statistics, reading: dict) -> tuple[dict, int]:
    """The last pass: the kept weights measured on every training row."""
    from .metrics import RegressionMetrics

    target, net = model.target, model.network
    correct = n = 0
    regression = RegressionMetrics()
    for X, y, is_val in encoded_chunks(path, stats, **reading):
        train = ~is_val
        if not train.any():
            continue
        output = net.predict(X[train])
        y = y[train]
        if target.task == "classification":
            correct += int(np.sum(np.argmax(output, axis=1) == y))
        else:
            regression.update(target.decode(y), target.decode(output))
        n += int(train.sum())
    if not n:
        return {}, 0
    if target.task == "classification":
        return {"accuracy": correct / n}, n
    result = regression.result()
    return {"r2": result["r2"], "rmse": result["rmse"]}, n
