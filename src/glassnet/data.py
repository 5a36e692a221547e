"""Training data: checked once, at the boundary, then handed to the loop as batches.

:func:`training_arrays` validates X, y and the sample weights (dtype, finiteness,
shapes, the target against the loss and the output layer) and builds the network for
the data when it is not built yet. Nothing after it checks again: a batch source only
slices. Two sources feed :func:`glassnet.training.train`:

- :class:`ArrayBatches`: index views of in-memory arrays, reshuffled every epoch with
  the network's generator, gathered into buffers reused every step;
- :class:`StreamBatches`: blocks that arrive one at a time (chunks of a file read in
  pieces, say), each checked once as it arrives, cut into mini-batches across block
  boundaries.

A Dask partition's rows are batched on its worker by :class:`ArrayBatches` too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import DTypeLike

from . import losses as _losses
from . import validation as _v
from .layers import Dense

__all__ = [
    "Trainable",
    "Batch",
    "target",
    "training_arrays",
    "validation_arrays",
    "split",
    "ArrayBatches",
    "StreamBatches",
]


class Trainable(Protocol):
    """What the data checks and the training loop use of a network: the public face of
    :class:`glassnet.Network` they see (declared here, so neither imports the network,
    which imports them)."""

    layers: list
    rng: np.random.Generator
    input_size: int | None
    dtype: np.dtype | None
    n_weights: int
    lr_factors: np.ndarray | None
    training_summary: dict

    @property
    def built(self) -> bool: ...
    @property
    def output_size(self) -> int: ...
    @property
    def parameters(self) -> np.ndarray: ...
    @property
    def gradients(self) -> np.ndarray: ...
    def count_params(self) -> int: ...
    def build(self, input_size: int, dtype: DTypeLike = ...) -> Any: ...
    def astype(self, dtype: DTypeLike) -> Any: ...
    def check_loss(self, loss: _losses.Loss) -> None: ...
    def loss_and_grad(
        self,
        x: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
        loss: _losses.Loss,
        l2: float = 0.0,
    ) -> float: ...
    def loss_of(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, loss: _losses.Loss
    ) -> float: ...
    def output(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


#: One batch: inputs (m, n_features), targets (m, k) or class labels (m,), weights (m,) or None.
Batch = tuple[Any, np.ndarray, "np.ndarray | None"]


def target(net: Trainable, y: Any, n_rows: int, loss: _losses.Loss) -> np.ndarray:
    """``y`` checked for ``loss`` and ``net``'s output layer, in the network's dtype:
    (n_rows, n_outputs), or for cross-entropy with integer labels, the label vector
    (never expanded to one-hot rows)."""
    if isinstance(loss, _losses.CrossEntropy):
        labels = loss.labels(y, n_rows, net.output_size)
        if labels is not None:
            return labels
    y = _v.as_rows(y, n_rows, "y", net.dtype)
    return np.ascontiguousarray(loss.check_target(y, net.output_size), dtype=net.dtype)


def inputs(net: Trainable, X: Any, allow_sparse: bool = True) -> Any:
    """X checked (2-D, numeric, finite, non-empty); the network is built for it when it
    is not built yet, or else converted to X's dtype (float32 data trains a float32
    network) after checking the number of features."""
    X = _v.as_2d_float(X, "X", allow_sparse=allow_sparse)
    if _v.is_sparse(X) and not isinstance(net.layers[0], Dense):
        raise ValueError("sparse input must go straight into a Dense layer")
    if not net.built:
        net.build(X.shape[1], X.dtype)
    else:
        assert net.input_size is not None  # built
        _v.check_features(X, net.input_size)
        net.astype(X.dtype)
    return X


def training_arrays(
    net: Trainable, X: Any, y: Any, loss: _losses.Loss, sample_weight: Any = None
) -> Batch:
    """(X, Y, W): the training data checked once for ``net`` and ``loss`` (see the
    module docstring)."""
    X = inputs(net, X)
    net.check_loss(loss)
    Y = target(net, y, X.shape[0], loss)
    W = _v.check_sample_weight(sample_weight, X.shape[0], net.dtype)
    return X, Y, W


def validation_arrays(net: Trainable, validation_data: Any, loss: _losses.Loss) -> Batch | None:
    """``validation_data`` — ``(X_val, y_val)`` or ``(X_val, y_val, w_val)`` — checked
    for the built ``net``; None without it."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    assert net.input_size is not None  # built
    X_val = _v.as_2d_float(validation_data[0], "X_val", dtype=net.dtype)
    _v.check_features(X_val, net.input_size)
    Y_val = target(net, validation_data[1], X_val.shape[0], loss)
    W_val = None
    if len(validation_data) == 3:
        W_val = _v.check_sample_weight(validation_data[2], X_val.shape[0], net.dtype)
    return X_val, Y_val, W_val


def split(data: Batch, fraction: float, rng: np.random.Generator) -> tuple[Batch, Batch]:
    """(training, validation): ``fraction`` of the rows, drawn with ``rng``, held out.
    Both keep the rows' order."""
    X, Y, W = data
    n = X.shape[0]
    n_val = int(round(fraction * n))
    if n_val < 1 or n_val >= n:
        raise ValueError(
            f"validation_split={fraction} leaves {n_val} of {n} samples "
            "for validation; it must leave at least one sample on each side"
        )
    order = rng.permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])

    def take(rows):
        return X[rows], Y[rows], None if W is None else W[rows]

    return take(train), take(val)


#: Batches in order are kept as views for later epochs up to this many.
_KEPT_VIEWS = 4096


class ArrayBatches:
    """The batches of one epoch over in-memory arrays, ``batch_size`` rows each (the
    last one smaller).

    With ``shuffle``, the rows are put in a new random order every epoch (drawn from
    ``rng``: one index a row is all that grows with the data) and each batch is
    gathered into a buffer reused every step; without it, batches are views. A full
    batch is never shuffled: its order cannot change the gradient.

    Parameters
    ----------
    data : (X, Y, W) as :func:`training_arrays` returns them
    batch_size : int or None
        None is the full batch.
    shuffle : bool
    rng : numpy.random.Generator
    """

    def __init__(
        self, data: Batch, batch_size: int | None, shuffle: bool, rng: np.random.Generator
    ) -> None:
        self.X, self.Y, self.W = data
        self.n = n = self.X.shape[0]
        self.batch = n if batch_size is None else min(batch_size, n)
        self.starts = range(0, n, self.batch)
        #: Whether an epoch is one batch of every row (which is never shuffled).
        self.full = self.batch == n
        self.shuffle = bool(shuffle) and not self.full
        self.rng = rng
        self.dense = isinstance(self.X, np.ndarray)
        self.order = np.arange(n, dtype=np.intp) if self.shuffle else None
        self._buffers: dict[int, tuple] = {}
        self._views: list | None = None  # the batches in order, made once when few

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.starts)

    def steps_per_epoch(self) -> int | None:
        """Batches per epoch (as :class:`StreamBatches` tells it)."""
        return len(self)

    def new_order(self) -> np.ndarray | None:
        """Draw the next epoch's order of the rows (None when not shuffling): the
        compiled path draws its orders here too, so both train on the same batches."""
        if self.shuffle:
            assert self.order is not None  # made for shuffling
            self.rng.shuffle(self.order)
        return self.order

    def epoch(self) -> Iterator[Batch]:
        """The next epoch's batches."""
        X, Y, W, bs = self.X, self.Y, self.W, self.batch
        if self.full:
            yield X, Y, W
            return
        if not self.shuffle:
            if self._views is not None:
                yield from self._views
                return
            views = [
                (X[s : s + bs], Y[s : s + bs], None if W is None else W[s : s + bs])
                for s in self.starts
            ]
            if len(views) <= _KEPT_VIEWS:  # the same views every epoch: made once
                self._views = views
            yield from views
            return
        order = self.new_order()
        assert order is not None  # shuffling
        if not self.dense:  # a scipy.sparse matrix: gather rows by indexing
            for s in self.starts:
                rows = order[s : s + bs]
                yield X[rows], Y[rows], None if W is None else W[rows]
            return
        take = np.take
        for s in self.starts:
            rows = order[s : s + bs]
            xb, yb, wb = self._buffer(rows.shape[0])
            take(X, rows, 0, xb, "clip")
            take(Y, rows, 0, yb, "clip")
            if W is not None:
                take(W, rows, 0, wb, "clip")
            yield xb, yb, wb

    def _buffer(self, m: int) -> tuple:
        buffers = self._buffers.get(m)
        if buffers is None:
            X, Y, W = self.X, self.Y, self.W
            buffers = self._buffers[m] = (
                np.empty((m, X.shape[1]), dtype=X.dtype),
                np.empty((m, *Y.shape[1:]), dtype=Y.dtype),
                None if W is None else np.empty(m, dtype=W.dtype),
            )
        return buffers


class StreamBatches:
    """Mini-batches cut from blocks that arrive in order, one pass of blocks an epoch.

    ``blocks()`` is called once per epoch and returns an iterable of ``(X, y)`` pairs
    (X of shape (m, n_features), any m), in the order to train on: shuffling is the
    caller's (a shuffle buffer, say). Batches of ``batch_size`` rows are cut across
    block boundaries, so an epoch of n rows takes ``ceil(n / batch_size)`` steps, the
    last one smaller, as :class:`ArrayBatches` cuts the same rows. Each block is
    checked once; the network is built from the first.
    """

    def __init__(
        self,
        net: Trainable,
        blocks: Callable[[], Iterable[tuple[Any, Any]]],
        batch_size: int,
        loss: _losses.Loss,
    ) -> None:
        if not callable(blocks):
            raise TypeError("blocks must be a function that returns one epoch's (X, y) blocks")
        self.net, self.blocks, self.batch, self.loss = net, blocks, int(batch_size), loss
        self.full = False
        self._first_epoch: Iterator[tuple[Any, Any]] | None = iter(blocks())
        first = next(self._first_epoch, None)
        if first is None:
            raise ValueError("the first epoch has no rows to train on")
        self.first = (inputs(net, first[0], allow_sparse=False), first[1])
        if self.first[0].dtype != net.dtype:  # a network built before, in another dtype
            self.first = (self.first[0].astype(net.dtype), first[1])
        net.check_loss(loss)
        self.n = 0  # rows in the last epoch

    def steps_per_epoch(self) -> int | None:
        """Batches per epoch: known once an epoch has passed (None before)."""
        return -(-self.n // self.batch) if self.n else None

    def _checked(self, pairs) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        net, first = self.net, self.first[0]
        assert net.input_size is not None  # built from the first block
        for X, y in pairs:
            if X is not first:  # (the first block was checked as it built the network)
                X = _v.as_2d_float(X, "X", dtype=net.dtype)
                _v.check_features(X, net.input_size)
            yield X, target(net, y, X.shape[0], self.loss)

    def epoch(self) -> Iterator[Batch]:
        if self._first_epoch is not None:
            pairs: Iterable[tuple[Any, Any]] = itertools.chain([self.first], self._first_epoch)
            self._first_epoch = None
        else:
            pairs = self.blocks()
        bs, carry, n = self.batch, None, 0
        for X, Y in self._checked(pairs):
            n += X.shape[0]
            start = 0
            if carry is not None:  # a batch begun in the last block, completed from this one
                start = min(bs - carry[0].shape[0], X.shape[0])
                carry = (
                    np.concatenate([carry[0], X[:start]]),
                    np.concatenate([carry[1], Y[:start]]),
                )
                if carry[0].shape[0] < bs:
                    continue
                yield carry[0], carry[1], None
                carry = None
            stop = X.shape[0] - (X.shape[0] - start) % bs
            for s in range(start, stop, bs):
                yield X[s : s + bs], Y[s : s + bs], None
            if stop < X.shape[0]:
                carry = (X[stop:].copy(), Y[stop:].copy())
        if carry is not None:  # the last, smaller batch
            yield carry[0], carry[1], None
        self.n = n
