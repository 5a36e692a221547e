"""Training data on a Dask cluster: checked at the boundary, prepared and kept on the workers.

The data is never gathered. Each partition of X, y and the sample weights is turned,
on the worker that computes it, into arrays in the network's dtype, with the checks and
the target handling of :meth:`Network.fit`; the partitions on each worker are then
grouped into one *shard* per worker thread, which keeps its own copy of the network and
the loss. What crosses the network afterwards is small: the parameter vector goes out,
and each shard sends back its loss and gradient multiplied by its loss denominator, so
that the client combines them as one batch would (see ``Loss.denominator``).

A shard's data never changes once it is made. The tasks that run on a shard first
overwrite its network's parameters (and, where they shuffle, its random state) from
their arguments, so a task Dask runs again (after a worker died, say) computes exactly
what it computed the first time.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import distributed
import numpy as np

from .. import data as _data
from .. import losses as _losses
from .. import optimizers as _optimizers
from .. import training as _training
from .. import validation as _v

__all__ = ["Inputs", "Target", "Shards", "WorkerLostError", "check_inputs", "get_client"]


class WorkerLostError(RuntimeError):
    """Dask could not finish a task of the fit: a worker died more often than the
    scheduler allows (``distributed.scheduler.allowed-failures``), or the cluster went away."""


def get_client(client: distributed.Client | None = None) -> distributed.Client:
    """The Client given, or else the current default one."""
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(
                f"client must be a dask.distributed.Client, got {type(client).__name__}"
            )
        return client
    try:
        return distributed.default_client()
    except ValueError:
        raise ValueError(
            "glassnet.dask needs a dask.distributed Client: start one first, for example "
            "Client() for a cluster on this machine or Client('tcp://scheduler:8786'), "
            "or pass client="
        ) from None


# -- the collections, checked on the client from their metadata alone ------------------------


def kind_of(obj: Any) -> str | None:
    """ "array", "frame" or "series" for a Dask collection glassnet takes, else None."""
    if isinstance(obj, da.Array):
        return "array"
    if isinstance(obj, dd.DataFrame):
        return "frame"
    if isinstance(obj, dd.Series):
        return "series"
    return None


def non_numeric(dtypes: dict) -> list[str]:
    """'name' (dtype) for each column whose dtype is neither numeric nor bool."""
    import pandas as pd

    return [
        f"{name!r} ({dtype})"
        for name, dtype in dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]


def known_row_chunks(arr: da.Array, name: str) -> tuple:
    chunks = arr.chunks[0]
    if any(math.isnan(c) for c in chunks):
        raise ValueError(
            f"{name} is a Dask array with unknown chunk sizes (as a DataFrame's .values or "
            f".to_dask_array() gives); call {name}.compute_chunk_sizes() first, or pass the "
            "DataFrame or Series itself"
        )
    return chunks


def _brief(chunks: tuple) -> str:
    head = ", ".join(str(int(c)) for c in chunks[:5])
    return f"({head}{', ...' if len(chunks) > 5 else ''}: {len(chunks)} chunks)"


def features_of(X: Any) -> tuple[Any, int, np.dtype, list | None]:
    """Check X from its metadata: (X with one column block, n_features, dtype, columns)."""
    kind = kind_of(X)
    if kind is None:
        raise TypeError(
            f"X must be a Dask array or a Dask DataFrame, got {type(X).__name__}; for data in "
            "memory use the model's own fit, or wrap it with dask.array.from_array(X, chunks=...)"
        )
    if kind == "series":
        raise ValueError("X must be 2-D (rows, features), got a Dask Series; use X.to_frame()")
    if kind == "array":
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must be numeric, but its dtype is {X.dtype}")
        if math.isnan(X.shape[1]):
            raise ValueError("X has an unknown number of columns")
        if X.shape[1] == 0:
            raise ValueError(f"X has no columns (shape {X.shape})")
        if len(X.chunks[1]) > 1:  # each row block's columns come together
            X = X.rechunk({1: -1})
        return X, int(X.shape[1]), _v.float_dtype_of(np.empty(0, X.dtype)), None
    bad = non_numeric(dict(X.dtypes))
    if bad:
        raise TypeError(
            f"X must hold numeric columns only, but {', '.join(bad)} "
            f"{'is' if len(bad) == 1 else 'are'} not; encode text and categories first "
            "(for example with dask.dataframe.get_dummies) or leave those columns out"
        )
    columns = list(X.columns)
    if not columns:
        raise ValueError("X has no columns")
    dtypes = {np.dtype(getattr(t, "numpy_dtype", t)) for t in X.dtypes}
    dtype = np.dtype(np.float32) if dtypes == {np.dtype(np.float32)} else np.dtype(np.float64)
    return X, len(columns), dtype, columns


@dataclass
class Inputs:
    """X, y and the sample weights as lists of partitions (Delayed objects) that pair up."""

    x: list
    y: list
    w: list | None
    n_features: int
    dtype: np.dtype
    columns: list | None  # X's column names, when X is a DataFrame


def check_inputs(X: Any, y: Any, sample_weight: Any = None, *, numeric_y: bool = True) -> Inputs:
    """Check X, y and sample_weight from their metadata, and pair up their partitions.

    X is a 2-D Dask array or a Dask DataFrame of numeric columns; y a Dask array,
    Series or DataFrame; sample_weight None or a 1-D Dask array or Series. Arrays need
    known chunk sizes, and the row chunks of y and the weights must be those of X.
    DataFrames and Series need as many partitions as X (and, when both know them, the
    same divisions); the workers check that each partition's rows pair up.
    """
    X, n_features, dtype, columns = features_of(X)
    x_kind = kind_of(X)
    x_chunks = X.chunks[0] if x_kind == "array" else None
    if x_chunks is not None:
        known_row_chunks(X, "X")
    x_pieces = list(X.to_delayed().ravel()) if x_kind == "array" else list(X.to_delayed())
    divisions = X.divisions if x_kind == "frame" and X.known_divisions else None

    def pieces(obj, name: str) -> list:
        kind = kind_of(obj)
        if kind is None:
            raise TypeError(
                f"{name} must be a Dask array, DataFrame or Series, like X; got "
                f"{type(obj).__name__}"
            )
        if kind == "array":
            if obj.ndim not in (1, 2):
                raise ValueError(f"{name} must be 1-D or 2-D, got shape {obj.shape}")
            chunks = known_row_chunks(obj, name)
            if x_chunks is not None and chunks != x_chunks:
                raise ValueError(
                    f"X and {name} are chunked differently along the rows: X {_brief(x_chunks)}, "
                    f"{name} {_brief(chunks)}; rechunk one to match, for example "
                    f"{name} = {name}.rechunk({{0: X.chunks[0]}})"
                )
            if obj.ndim == 2 and len(obj.chunks[1]) > 1:
                obj = obj.rechunk({1: -1})
            out = list(obj.to_delayed().ravel())
        else:
            if divisions is not None and obj.known_divisions and obj.divisions != divisions:
                raise ValueError(
                    f"X and {name} are partitioned at different index values; take both from "
                    f"one DataFrame (df[features], df[target]) or repartition {name} with "
                    "divisions=X.divisions"
                )
            out = list(obj.to_delayed())
        if len(out) != len(x_pieces):
            what = "chunks" if x_kind == "array" else "partitions"
            raise ValueError(
                f"X has {len(x_pieces)} {what} but {name} has {len(out)}; they must pair up "
                f"row for row (take both from one DataFrame, or give {name} the chunks of X)"
            )
        return out

    if numeric_y:
        y_kind = kind_of(y)
        if y_kind == "frame":
            bad = non_numeric(dict(y.dtypes))
        elif y_kind == "series":
            bad = non_numeric({y.name: y.dtype})
        elif y_kind == "array":
            bad = [] if y.dtype.kind in "biuf" else [f"({y.dtype})"]
        else:
            bad = []
        if bad:
            raise TypeError(f"y must be numeric, but {', '.join(bad)} is not")
    y_pieces = pieces(y, "y")
    w_pieces = None
    if sample_weight is not None:
        if kind_of(sample_weight) == "frame" or getattr(sample_weight, "ndim", 1) != 1:
            raise ValueError("sample_weight must be 1-D: one weight per sample")
        w_pieces = pieces(sample_weight, "sample_weight")
    return Inputs(x_pieces, y_pieces, w_pieces, n_features, dtype, columns)


# -- on the workers: partitions, then shards --------------------------------------------------


@dataclass
class Target:
    """How each partition becomes training arrays, on the workers.

    ``net`` (built) gives the output size and dtype and turns y into the loss's target,
    as ``Network.fit`` does. ``encode``, if given, first maps the raw y of a partition to
    what the network trains on (an estimator's label encoding). ``class_weight``, if
    given, is (sorted labels, weights): each row's weight is multiplied by its label's.
    """

    net: Any
    loss: _losses.Loss
    encode: Callable | None = None
    class_weight: tuple[np.ndarray, np.ndarray] | None = None


class Part:
    """One partition in training form: x (n, d), the target, the weights or None, and
    d, the loss's denominator for these rows (0 when their weights sum to 0)."""

    __slots__ = ("x", "y", "w", "n", "wsum", "d")

    def __init__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, d: float) -> None:
        self.x, self.y, self.w = x, y, w
        self.n = x.shape[0]
        self.wsum = float(self.n) if w is None else float(w.sum())
        self.d = float(d)


def _values(obj, dtype=None) -> np.ndarray:
    """A pandas object or an array as NumPy values (missing floats as NaN, when a float
    dtype is asked for and the values allow it)."""
    if hasattr(obj, "to_numpy"):
        if dtype is not None:
            try:
                return obj.to_numpy(dtype=dtype, na_value=np.nan)
            except (TypeError, ValueError):
                pass  # text in a numeric column, say: the checks below name it
        return obj.to_numpy()
    return np.asarray(obj)


def prepare(target: Target, i: int, x: Any, y: Any, w: Any) -> Part | None:
    """Partition ``i`` of X, y and the weights as a Part (None when it has no rows)."""
    net, loss = target.net, target.loss
    name = f"X (partition {i})"
    xv = _values(x, net.dtype)
    yv = _values(y)
    n = xv.shape[0] if xv.ndim else 0
    if yv.shape[0] != n:
        raise ValueError(f"partition {i}: X has {n} rows but y has {yv.shape[0]}")
    if w is not None and len(w) != n:
        raise ValueError(f"partition {i}: X has {n} rows but sample_weight has {len(w)}")
    index = getattr(x, "index", None)
    for other, what in ((y, "y"), (w, "sample_weight")):
        other_index = getattr(other, "index", None)
        if index is not None and other_index is not None and not index.equals(other_index):
            raise ValueError(
                f"partition {i}: X and {what} hold different rows (their index values differ); "
                "take both from one DataFrame, e.g. df[features] and df[target]"
            )
    if n == 0:
        return None
    xv = _v.as_2d_float(xv, name, dtype=net.dtype)
    _v.check_features(xv, net.input_size)
    labels = yv
    if target.encode is not None:
        yv = target.encode(yv)
    try:
        Y = _data.target(net, yv, n, loss)
    except (TypeError, ValueError) as exc:
        # the message as written (args[0]), so that an error naming its fixes keeps them
        # marked for whoever shows it (glassnet.tabular.fixes)
        raise type(exc)(f"partition {i}: {exc.args[0] if exc.args else exc}") from None
    W = None
    if w is not None:
        W = _v.as_rows(_values(w, net.dtype), n, "sample_weight", net.dtype)
        if W.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D, got shape {W.shape}")
        if W.min() < 0:
            raise ValueError(f"partition {i}: sample_weight must be non-negative")
    if target.class_weight is not None:
        classes, weights = target.class_weight
        per_row = weights[np.searchsorted(classes, labels)].astype(net.dtype)
        W = per_row if W is None else W * per_row
    k = net.output_size
    d = loss.denominator(n, k, W)
    if W is not None and not math.isclose(
        d, loss.denominator(n, k, np.array([W.sum()])), rel_tol=1e-9, abs_tol=0.0
    ):
        raise ValueError(
            f"the loss {loss!r} divides by something other than a function of the total "
            "sample weight, so its parts cannot be combined across partitions"
        )
    return Part(xv, Y, W, d)


def part_info(part: Part | None) -> tuple[int, float]:
    return (0, 0.0) if part is None else (part.n, part.wsum)


class Shard:
    """The partitions one worker thread trains on, with its own network and loss."""

    def __init__(self, target: Target, index: int, *parts: Part | None):
        # Copies: tasks on one worker may receive the same deserialised argument object.
        self.net = copy.deepcopy(target.net)
        self.loss = copy.deepcopy(target.loss)
        self.index = index
        self.parts = [p for p in parts if p is not None]
        # (seed, one row order per part), for batch()
        self._orders: tuple[int | None, list[np.ndarray] | None] = (None, None)

    def load(self, params: np.ndarray) -> Any:  # the shard's copy of the network
        net = self.net
        net.parameters[...] = params
        return net

    def orders(self, seed: int, shuffle: bool) -> list:
        """Each part's row order for one epoch (a pure function of the seed, kept for reuse)."""
        if not shuffle:
            return [None] * len(self.parts)
        if self._orders[0] != seed:
            self._orders = (
                seed,
                [
                    np.random.default_rng([seed, self.index, j]).permutation(p.n)
                    for j, p in enumerate(self.parts)
                ],
            )
        orders = self._orders[1]
        assert orders is not None  # made for this seed
        return orders

    def reseed(self, seed: int) -> None:
        """Set the network's generator (shuffling, dropout) to a state made from ``seed``."""
        bits = self.net.rng.bit_generator
        bits.state = type(bits)(np.random.SeedSequence([seed, self.index])).state


# The tasks. Each returns sums over its shard's rows, every loss and gradient multiplied
# by its rows' denominator, so the client can divide by the whole batch's.


class Sum:
    """A sum of float64 vectors kept as hi + lo, each addition exact (Knuth's two-sum),
    rounded once by :meth:`result`. The result does not depend on the order in which
    the terms were added nor on how they were grouped, except when the exact sum lies
    within about 1e-30 (relative) of a rounding boundary: the L-BFGS gradient is the
    same on one worker or eight, and after a worker's partitions moved elsewhere."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.hi: np.ndarray | None = None
        self.lo: np.ndarray | None = None

    def add(self, x: np.ndarray, lo: np.ndarray | None = None) -> Sum:
        """Add x (and, for a Sum from elsewhere, its lo part)."""
        x = np.asarray(x, dtype=np.float64)
        if self.hi is None:
            self.hi = x.copy()
            self.lo = np.zeros_like(self.hi) if lo is None else np.array(lo, dtype=np.float64)
            return self
        total = self.hi + x
        back = total - self.hi
        self.lo += (self.hi - (total - back)) + (x - back)  # what total lost, exactly
        self.hi = total
        if lo is not None:
            self.lo += lo
        return self

    def result(self) -> np.ndarray | None:
        return None if self.hi is None else self.hi + self.lo


def loss_and_grad(shard: Shard, params: np.ndarray) -> tuple[list[float], Any, Any, int]:
    """Each part's d_p L_p, the sum of the parts' d_p dL_p/dparams (as hi and lo, lo None
    for a single part), and the number of rows."""
    net = shard.load(params)
    values, grad, rows = [], Sum(), 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for p in shard.parts:
            rows += p.n
            if p.d == 0:
                continue
            values.append(net.loss_and_grad(p.x, p.y, p.w, shard.loss) * p.d)
            grad.add(net.gradients * p.d)
    lo = None if grad.lo is None or not grad.lo.any() else grad.lo
    return values, grad.hi, lo, rows


def loss_only(shard: Shard, params: np.ndarray) -> tuple[list[float], int]:
    """Each part's d_p L_p (for validation data), and the number of rows."""
    net = shard.load(params)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        values = [net.loss_of(p.x, p.y, p.w, shard.loss) * p.d for p in shard.parts if p.d]
    return values, sum(p.n for p in shard.parts)


def batch_loss_and_grad(
    shard: Shard,
    params: np.ndarray,
    seed: int,
    step: int,
    steps: int,
    shuffle: bool,
    strength: float = 1.0,
) -> tuple[float, np.ndarray | None, int, float]:
    """This shard's share of global batch ``step`` of ``steps``: every part gives the rows
    between step/steps and (step+1)/steps of its order for the epoch, dropout at
    ``strength`` times its rate (a fading schedule's). Returns the scaled loss and
    gradient sums, the number of rows and their total weight."""
    xs, ys, ws = [], [], []
    for p, order in zip(shard.parts, shard.orders(seed, shuffle)):
        lo, hi = p.n * step // steps, p.n * (step + 1) // steps
        rows = slice(lo, hi) if order is None else order[lo:hi]
        xs.append(p.x[rows])
        ys.append(p.y[rows])
        if p.w is not None:
            ws.append(p.w[rows])
    if not xs:
        return 0.0, None, 0, 0.0
    x = xs[0] if len(xs) == 1 else np.concatenate(xs)
    y = ys[0] if len(ys) == 1 else np.concatenate(ys)
    w = None if not ws else (ws[0] if len(ws) == 1 else np.concatenate(ws))
    n = x.shape[0]
    wsum = float(n) if w is None else float(w.sum())
    d = shard.loss.denominator(n, shard.net.output_size, w) if n else 0.0
    if d == 0:
        return 0.0, None, n, wsum
    net = shard.load(params)
    _training.dropout_strength(net.layers, strength)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = net.loss_and_grad(np.ascontiguousarray(x), y, w, shard.loss)
    return value * d, net.gradients.astype(np.float64) * d, n, wsum


def local_epoch(
    shard: Shard,
    params: np.ndarray,
    optimizer: _optimizers.Optimizer,
    seed: int,
    batch_size: int | None,
    shuffle: bool,
    l2: float,
    stop: bool,
    strength: float = 1.0,
) -> tuple[np.ndarray, _optimizers.Optimizer, float, int, float, int, float]:
    """One epoch of ordinary mini-batch training over this shard's parts, from ``params``
    and a copy of ``optimizer``, dropout at ``strength`` times its rate. Returns the new
    parameters and optimizer, the sum and count of the batch losses, the sum of the
    rows' losses, the rows and their weight."""
    net = shard.load(params)
    _training.dropout_strength(net.layers, strength)
    opt = copy.deepcopy(optimizer)
    shard.reseed(seed)
    order = net.rng.permutation(len(shard.parts)) if shuffle else range(len(shard.parts))
    batch_sum = sample_sum = weight = 0.0
    batches = rows = 0
    for j in order:
        p = shard.parts[j]
        rows += p.n
        if p.d == 0:
            continue
        history = _training.fit_arrays(  # the part was checked when it was made
            net,
            (p.x, p.y, p.w),
            loss=shard.loss,
            optimizer=opt,
            epochs=1,
            batch_size=batch_size,
            shuffle=shuffle,
            l2=l2,
            stop_on_nonfinite=stop,
        )
        n_batches = 1 if batch_size is None else -(-p.n // min(batch_size, p.n))
        batch_sum += history.loss[0] * n_batches
        batches += n_batches
        sample_sum += history.sample_loss[0] * p.n
        weight += p.wsum
    return net.parameters.copy(), opt, batch_sum, batches, sample_sum, rows, weight


def _make_shard(target: Target, index: int, *parts) -> Shard:
    return Shard(target, index, *parts)


# -- on the client ------------------------------------------------------------------------


def _split(items: list[tuple[int, int]], k: int) -> list[list[int]]:
    """Partition indices into at most k groups of about equal rows (largest first)."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(k, len(items))))]
    sizes = [0] * len(groups)
    for i, n in sorted(items, key=lambda item: -item[1]):
        g = sizes.index(min(sizes))
        groups[g].append(i)
        sizes[g] += n
    return [sorted(g) for g in groups if g]


class Shards:
    """The prepared training data, held on the workers, and the tasks that run on it.

    Parameters
    ----------
    client : distributed.Client
    inputs : Inputs
        From :func:`check_inputs`.
    target : Target
        How the partitions become training arrays.
    """

    def __init__(self, client: distributed.Client, inputs: Inputs, target: Target):
        self.client = client
        self.target = target
        spec = dask.delayed(target, pure=False, traverse=False)
        ws = inputs.w if inputs.w is not None else [None] * len(inputs.x)
        parts = [
            dask.delayed(prepare, pure=False)(spec, i, x, y, w)
            for i, (x, y, w) in enumerate(zip(inputs.x, inputs.y, ws))
        ]
        futures = client.compute([spec, *parts])
        spec_future, part_futures = futures[0], futures[1:]
        try:
            info = self.gather(client.map(part_info, part_futures, pure=False))
        except BaseException:
            client.cancel(futures)  # one bad partition: the others need not finish
            raise
        self.n_partitions = len(part_futures)
        self.n = sum(n for n, _ in info)
        self.weight = sum(wsum for _, wsum in info)
        if self.n == 0:
            raise ValueError("X is empty: it has 0 rows")
        if inputs.w is not None and not self.weight > 0:
            raise ValueError("sample_weight must have a positive sum")
        self.weighted = inputs.w is not None or target.class_weight is not None
        # Group each worker's partitions into one shard per thread, on that worker.
        holders = client.who_has(part_futures)
        threads = client.nthreads()
        on: dict[str, list[tuple[int, int]]] = {}
        for i, f in enumerate(part_futures):
            if info[i][0]:
                where = holders.get(f.key) or (min(threads, key=lambda a: len(on.get(a, ()))),)
                on.setdefault(where[0], []).append((i, info[i][0]))
        self.futures: list[distributed.Future] = []
        for address, items in on.items():
            for group in _split(items, threads.get(address, 1)):
                self.futures.append(
                    client.submit(
                        _make_shard,
                        spec_future,
                        len(self.futures),
                        *[part_futures[i] for i in group],
                        workers=[address],
                        allow_other_workers=True,
                        pure=False,
                    )
                )
        with client.as_current():
            distributed.wait(self.futures)
        self.n_workers = len(on)
        del spec_future, part_futures, futures

    def __len__(self) -> int:
        return len(self.futures)

    def gather(self, futures: Any) -> list:
        try:
            return self.client.gather(futures)
        except distributed.KilledWorker as exc:
            raise WorkerLostError(
                f"a worker died while training, too often for Dask to retry its task ({exc}); "
                "the fit stopped"
            ) from exc
        except distributed.CancelledError as exc:
            raise WorkerLostError(
                f"the cluster cancelled a task of the fit ({exc}); the fit stopped"
            ) from exc

    def run(self, task: Callable[..., Any], *args: Any) -> list:
        """``task(shard, *args)`` on every shard; the results, in shard order."""
        n = len(self.futures)
        return self.gather(
            self.client.map(task, self.futures, *[[a] * n for a in args], pure=False)
        )

    def denominator(self, n: int, weight: float) -> float:
        """The loss's denominator for n rows of total weight ``weight``."""
        w = np.array([weight]) if self.weighted else None
        return self.target.loss.denominator(n, self.target.net.output_size, w)

    def close(self) -> None:
        """Let the workers free the shards."""
        for f in self.futures:
            f.release()
        self.futures = []
