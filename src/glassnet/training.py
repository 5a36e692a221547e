"""The fit loop: batches, shuffling, epochs, History and callbacks.

``fit`` validates everything once, at the boundary. The loop itself only
slices (or gathers, when shuffling) batches into reused buffers, runs one
forward/backward pass per batch and asks the optimizer to update the flat
parameter vector. History records, per epoch, the mean of that epoch's batch
losses, each computed before its batch's update, so full-batch training
records exactly the numbers the seeds print.

Callbacks run once per epoch, never per batch.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import fast as _fast
from . import losses as _losses
from . import optimizers as _optimizers
from . import validation as _v

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "History",
    "Callback",
    "EarlyStopping",
    "NonFiniteLossError",
    "fit",
    "fit_stream",
    "ProgressBar",
]


class NonFiniteLossError(FloatingPointError, ValueError):
    """Training stopped because the loss, the validation loss or the weights became NaN
    or infinite. It is a ``ValueError`` too, as scikit-learn's divergence error is."""


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes
    ----------
    loss : list of float
        One per epoch: the mean of the epoch's batch losses, each computed in
        the forward pass before that batch's update.
    val_loss : list of float
        One per epoch, when there is validation data: the loss after the epoch.
    sample_loss : list of float
        One per epoch: the batch losses averaged with each batch weighted by its
        number of samples (differs from ``loss`` only when the last batch is
        smaller; it is what scikit-learn reports as ``loss_curve_``).
    stopped_early : bool
        Whether a callback stopped training before the last epoch.
    best_epoch : int or None
        For early stopping: the (0-based) epoch whose weights were kept.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    sample_loss: list[float] = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(no epochs)"
        val = f", val_loss {self.val_loss[-1]:.6g}" if self.val_loss else ""
        early = ", stopped early" if self.stopped_early else ""
        return f"History({self.epochs} epochs, loss {self.loss[-1]:.6g}{val}{early})"


class Callback:
    """Hooks that run around training, once per epoch.

    ``on_epoch_end`` may return True to stop training.
    """

    def on_train_begin(self, net: Network, history: History) -> None:
        pass

    def on_epoch_end(self, net: Network, history: History) -> bool | None:
        return None

    def on_train_end(self, net: Network, history: History) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when a monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : "val_loss" or "loss"
    patience : int
        Epochs without an improvement of more than ``min_delta`` before stopping.
    min_delta : float
        The smallest decrease that counts as an improvement.
    restore_best : bool
        Put back the weights of the best epoch when training ends.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
        self.monitor = monitor
        self.patience = _v.check_int(patience, "patience", minimum=1)
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)

    def on_train_begin(self, net, history):
        self.best = math.inf
        self.best_epoch = None
        self.wait = 0
        self._best_params = None

    def on_epoch_end(self, net, history):
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError("EarlyStopping(monitor='val_loss') needs validation data")
        current = values[-1]
        if current < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = current, history.epochs - 1, 0
            if self.restore_best:
                self._best_params = net.parameters.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, net, history):
        history.best_epoch = self.best_epoch
        if self.restore_best and self._best_params is not None:
            net.parameters[...] = self._best_params


def _progress(epochs: int) -> Callback:
    """verbose=1: a tqdm bar (tqdm.auto: a widget in a notebook) when tqdm is installed,
    otherwise one plain line on stderr."""
    try:
        import tqdm.std
    except ImportError:
        return _ProgressLine(epochs)
    with warnings.catch_warnings():
        # In a notebook kernel without ipywidgets, tqdm.auto warns and falls back to
        # its plain bar, which a notebook shows well enough: no warning for that.
        warnings.simplefilter("ignore", tqdm.std.TqdmWarning)
        from tqdm.auto import tqdm
    return ProgressBar(tqdm, epochs)


class ProgressBar(Callback):
    """A tqdm bar over epochs, showing the loss and the validation loss."""

    def __init__(self, tqdm, epochs: int):
        self._tqdm, self.epochs, self.bar = tqdm, epochs, None

    def on_train_begin(self, net, history):
        self.bar = self._tqdm(total=self.epochs, unit="epoch", desc="training", leave=True)

    def on_epoch_end(self, net, history):
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if history.val_loss:
            postfix["val_loss"] = f"{history.val_loss[-1]:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_train_end(self, net, history):
        if self.bar is not None:
            self.bar.close()


class _ProgressLine(Callback):
    """verbose=1 without tqdm: one line on stderr, rewritten at most ten times a second."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._last = 0.0

    def on_epoch_end(self, net, history):
        now = time.monotonic()
        if now - self._last >= 0.1 or history.epochs == self.epochs:
            self._last = now
            sys.stderr.write("\r" + _epoch_line(history, self.epochs) + " ")
            sys.stderr.flush()

    def on_train_end(self, net, history):
        sys.stderr.write("\r" + _epoch_line(history, self.epochs) + "\n")
        sys.stderr.flush()


class _EpochPrinter(Callback):
    """verbose=2: one line per epoch on stdout, like the seeds' loss prints."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, net, history):
        print(_epoch_line(history, self.epochs))


def _epoch_line(history: History, epochs: int) -> str:
    width = len(str(epochs))
    line = f"epoch {history.epochs:>{width}}/{epochs}  loss {history.loss[-1]:.12g}"
    if history.val_loss:
        line += f"  val_loss {history.val_loss[-1]:.12g}"
    return line


def _learning_rate_hint(optimizer) -> str:
    lr = getattr(optimizer, "lr", None)
    return f" (currently {lr:g})" if lr is not None else ""


def fit(
    net: Network,
    X,
    y,
    *,
    loss="mse",
    optimizer=None,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    verbose: int = 0,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.0,
    sample_weight=None,
    callbacks: Sequence[Callback] = (),
    l2: float = 0.0,
    stop_on_nonfinite: bool = True,
) -> History:
    """Train ``net`` on (X, y). See :meth:`glassnet.Network.fit` for the main arguments.

    Other Parameters
    ----------------
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch into ``history.val_loss``.
    validation_split : float
        Instead of ``validation_data``: hold out this fraction of (X, y), chosen
        at random with the network's generator.
    sample_weight : array-like of shape (n_samples,), optional
        Per-sample weights; the losses become weighted means (see :mod:`glassnet.losses`).
    callbacks : sequence of Callback
        For example ``[EarlyStopping(patience=20)]``.
    l2 : float
        L2 penalty on the weights (not the biases), scikit-learn's ``alpha``:
        each batch loss gains 0.5 * l2 * ||W||^2 / m, m the batch's total sample weight.
    stop_on_nonfinite : bool
        Stop with :class:`NonFiniteLossError` when a loss, a validation loss or the
        final weights stop being finite (the default). ``False`` records NaN and goes on,
        as scikit-learn's estimators do.

    Raises
    ------
    NonFiniteLossError
        If a batch loss or a validation loss becomes NaN or infinite, or the last
        update leaves non-finite weights. The parameters are restored to the last
        ones that gave a finite loss.
    """
    loss_fn, opt, epochs, batch_size, l2, callbacks = _check_arguments(
        loss, optimizer, epochs, batch_size, verbose, l2, callbacks
    )
    validation_split = float(validation_split)
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if validation_split and validation_data is not None:
        raise ValueError("give validation_data or validation_split, not both")

    X = net._prepare_training(X, loss_fn)
    Y = net._prepare_target(y, X.shape[0], loss_fn)
    W = _v.check_sample_weight(sample_weight, X.shape[0], net.dtype)

    X_val, Y_val, W_val = _validation_arrays(net, validation_data, loss_fn)
    if validation_split:
        n_val = int(round(validation_split * X.shape[0]))
        if n_val < 1 or n_val >= X.shape[0]:
            raise ValueError(
                f"validation_split={validation_split} leaves {n_val} of {X.shape[0]} samples "
                "for validation; it must leave at least one sample on each side"
            )
        order = net.rng.permutation(X.shape[0])
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        X_val, Y_val = X[val_idx], Y[val_idx]
        W_val = None if W is None else W[val_idx]
        X, Y = X[train_idx], Y[train_idx]
        W = None if W is None else W[train_idx]

    _add_verbose(callbacks, verbose, epochs)
    lbfgs = isinstance(opt, _optimizers.LBFGS)
    if lbfgs and batch_size is not None and batch_size < X.shape[0]:
        raise ValueError("LBFGS trains on the full batch: leave batch_size=None")
    history = History()
    opt.prepare(net.parameters, net.n_weights)
    guard = _Guard(net, opt, stop_on_nonfinite)
    started = time.perf_counter()
    for cb in callbacks:
        cb.on_train_begin(net, history)
    try:
        # A diverging run overflows on its way to inf/NaN; the guard in the loop reports
        # that once, clearly, instead of NumPy warning at every step. The compiled path
        # (the fast extra) decides here whether this fit pays for its kernels.
        with (
            np.errstate(over="ignore", invalid="ignore", divide="ignore"),
            _fast.fitting(net, loss_fn, opt, X, batch_size, epochs),
        ):
            run = _run_lbfgs if lbfgs else _run_epochs
            run(
                net,
                (X, Y, W),
                (X_val, Y_val, W_val),
                loss_fn,
                opt,
                epochs,
                batch_size,
                shuffle,
                l2,
                callbacks,
                history,
                guard,
            )
    finally:
        history.seconds = time.perf_counter() - started
    _end_training(net, history, callbacks, guard, loss_fn, opt, X.shape[0])
    return history


def _check_arguments(loss, optimizer, epochs, batch_size, verbose, l2, callbacks):
    """The arguments every fit takes, checked: (loss, optimizer, epochs, batch_size, l2,
    callbacks as a new list)."""
    loss_fn = _losses.get(loss)
    opt = _optimizers.get(optimizer)
    epochs = _v.check_int(epochs, "epochs", minimum=1)
    if batch_size is not None:
        batch_size = _v.check_int(batch_size, "batch_size", minimum=1)
    if verbose not in (0, 1, 2, False, True):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    l2 = float(l2)
    if not (l2 >= 0 and math.isfinite(l2)):
        raise ValueError(f"l2 must be a non-negative number, got {l2}")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback objects, got {type(cb).__name__}")
    return loss_fn, opt, epochs, batch_size, l2, callbacks


def _validation_arrays(net, validation_data, loss_fn) -> tuple:
    """(X_val, Y_val, W_val) from ``validation_data``, checked; Nones without it."""
    if validation_data is None:
        return None, None, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    X_val = _v.as_2d_float(validation_data[0], "X_val", dtype=net.dtype)
    _v.check_features(X_val, net.input_size)
    Y_val = net._prepare_target(validation_data[1], X_val.shape[0], loss_fn)
    W_val = None
    if len(validation_data) == 3:
        W_val = _v.check_sample_weight(validation_data[2], X_val.shape[0], net.dtype)
    return X_val, Y_val, W_val


def _add_verbose(callbacks: list, verbose: int, epochs: int) -> None:
    if verbose == 1:
        callbacks.append(_progress(epochs))
    elif verbose == 2:
        callbacks.append(_EpochPrinter(epochs))


def _end_training(net, history, callbacks, guard, loss_fn, opt, n_samples: int) -> None:
    for cb in callbacks:
        cb.on_train_end(net, history)
    if guard.active and not _v.all_finite(net._params):
        guard.diverged(history.epochs - 1, "the last update made the weights non-finite")
    net.training_summary = {
        "samples": int(n_samples),
        "features": int(net.input_size),
        "epochs": history.epochs,
        "loss_name": loss_fn.name,
        "final_loss": history.loss[-1] if history.loss else None,
        "optimizer": repr(opt),
    }


def fit_stream(
    net: Network,
    blocks: Callable[[], Iterable[tuple[Any, Any]]],
    *,
    loss="mse",
    optimizer=None,
    epochs: int = 1,
    batch_size: int = 32,
    verbose: int = 0,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    l2: float = 0.0,
    stop_on_nonfinite: bool = True,
) -> History:
    """Train ``net`` on data that arrives in blocks, one pass of blocks per epoch.

    ``blocks()`` is called once per epoch and returns an iterable of ``(X, y)`` pairs
    (X of shape (m, n_features), any m), in the order to train on: shuffling is the
    caller's (a shuffle buffer, say). Mini-batches of ``batch_size`` rows are cut from
    the rows in that order, across block boundaries, so an epoch of n rows takes
    ``ceil(n / batch_size)`` steps, the last one smaller, as :func:`fit` takes on the
    same rows. Each block is checked once (shape, dtype, finiteness, targets); the
    batches are not. History, callbacks, validation and the non-finite guard are
    :func:`fit`'s. L-BFGS needs the full batch and is refused.

    Raises
    ------
    ValueError
        A block of the wrong width or with bad targets, an epoch without rows, or the
        LBFGS optimizer.
    NonFiniteLossError
        As :func:`fit`.
    """
    loss_fn, opt, epochs, batch_size, l2, callbacks = _check_arguments(
        loss, optimizer, epochs, batch_size, verbose, l2, callbacks
    )
    if batch_size is None:
        raise ValueError("fit_stream trains on mini-batches: give batch_size")
    if isinstance(opt, _optimizers.LBFGS):
        raise ValueError("LBFGS trains on the full batch; fit_stream cannot stream it")
    if not callable(blocks):
        raise TypeError("blocks must be a function that returns one epoch's (X, y) blocks")
    first_epoch = iter(blocks())
    first = next(first_epoch, None)
    if first is None:
        raise ValueError("the first epoch has no rows to train on")
    X0 = net._prepare_training(first[0], loss_fn)  # builds the network from the first block
    validation = _validation_arrays(net, validation_data, loss_fn)
    _add_verbose(callbacks, verbose, epochs)

    def checked(pairs):
        for X, y in pairs:
            X = X0 if X is first[0] else _v.as_2d_float(X, "X", dtype=net.dtype)
            _v.check_features(X, net.input_size)
            yield X, net._prepare_target(y, X.shape[0], loss_fn)

    def epoch_blocks(epoch: int):
        if epoch == 0:
            return checked(itertools.chain([first], first_epoch))
        return checked(blocks())

    history = History()
    opt.prepare(net.parameters, net.n_weights)
    guard = _Guard(net, opt, stop_on_nonfinite)
    started = time.perf_counter()
    for cb in callbacks:
        cb.on_train_begin(net, history)
    n_rows = 0
    try:
        with (
            np.errstate(over="ignore", invalid="ignore", divide="ignore"),
            _fast.fitting(net, loss_fn, opt, X0, batch_size, epochs),
        ):
            step = net._step_function(loss_fn, X0)
            for epoch in range(epochs):
                n_rows = _stream_epoch(
                    net,
                    epoch_blocks(epoch),
                    step,
                    loss_fn,
                    opt,
                    batch_size,
                    l2,
                    guard,
                    history,
                    epoch,
                )
                if _end_epoch(net, history, callbacks, validation, loss_fn, guard):
                    break
    finally:
        history.seconds = time.perf_counter() - started
    _end_training(net, history, callbacks, guard, loss_fn, opt, n_rows)
    return history


def _stream_epoch(net, pairs, step, loss, opt, bs, l2, guard, history, epoch) -> int:
    """One epoch of :func:`fit_stream`: mini-batches cut from the blocks in order, a
    batch begun at the end of one block completed from the next. Returns the rows."""
    params, grads, update, saved = net._params, net._grads, opt._update, guard.snapshot
    check, isfinite = guard.active, math.isfinite
    sums = [0.0, 0.0, 0, 0]  # batch losses, sample-weighted batch losses, batches, rows

    def train_on(xb, yb):
        value = step(xb, yb, None, loss, l2)
        if check and not isfinite(value):
            guard.diverged(epoch, f"the loss became {value}")
        update(params, grads, saved)
        m = yb.shape[0]
        sums[0] += value
        sums[1] += value * m
        sums[2] += 1
        sums[3] += m

    carry = None
    for X, Y in pairs:
        start = 0
        if carry is not None:
            start = min(bs - carry[0].shape[0], X.shape[0])
            carry = (np.concatenate([carry[0], X[:start]]), np.concatenate([carry[1], Y[:start]]))
            if carry[0].shape[0] < bs:
                continue
            train_on(*carry)
            carry = None
        stop = X.shape[0] - (X.shape[0] - start) % bs
        for s in range(start, stop, bs):
            train_on(X[s : s + bs], Y[s : s + bs])
        if stop < X.shape[0]:
            carry = (X[stop:].copy(), Y[stop:].copy())
    if carry is not None:  # the last, smaller batch
        train_on(*carry)
    total, weighted, n_batches, n = sums
    if not n_batches:
        raise ValueError(f"epoch {epoch + 1} had no rows to train on")
    history.loss.append(total / n_batches)
    history.sample_loss.append(weighted / n)
    return n


def _run_epochs(
    net, data, validation, loss, opt, epochs, batch_size, shuffle, l2, callbacks, history, guard
) -> None:
    X, Y, W = data
    X_val, Y_val, W_val = validation
    n = X.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    plan = _fast.plan_for(net, loss) if isinstance(X, np.ndarray) else None
    if plan is not None and plan.small_for(bs) and _fast.small_optimizer(opt):
        return _run_compiled_epochs(
            plan,
            net,
            data,
            validation,
            loss,
            opt,
            epochs,
            bs,
            shuffle,
            l2,
            callbacks,
            history,
            guard,
        )
    params, grads = net._params, net._grads
    step = net._step_function(loss, X)
    # The update keeps the weights it overwrites (they gave a finite loss) for the guard.
    update = opt._update
    saved = guard.snapshot
    check = guard.active
    record = history.loss.append
    record_sample = history.sample_loss.append
    isfinite = math.isfinite
    per_epoch = bool(callbacks) or X_val is not None

    if bs == n:
        # One batch per epoch: its order cannot change the gradient, so no shuffling.
        for epoch in range(epochs):
            value = step(X, Y, W, loss, l2)
            if check and not isfinite(value):
                guard.diverged(epoch, f"the loss became {value}")
            update(params, grads, saved)
            record(value)
            record_sample(value)
            if per_epoch and _end_epoch(net, history, callbacks, validation, loss, guard):
                return
        return

    starts = range(0, n, bs)
    n_batches = len(starts)
    sparse = not isinstance(X, np.ndarray)  # a scipy.sparse matrix: gather rows by indexing
    if shuffle:
        # One order, shuffled in place each epoch: one index a sample is all that grows
        # with the data; batches are gathered into buffers reused every step. (Indices
        # are intp, which np.take uses as they are.)
        order = np.arange(n, dtype=np.intp)
    if shuffle and not sparse:
        sizes = {bs, n - starts[-1]}
        xbufs = {m: np.empty((m, X.shape[1]), dtype=X.dtype) for m in sizes}
        ybufs = {m: np.empty((m, *Y.shape[1:]), dtype=Y.dtype) for m in sizes}
        wbufs = {m: np.empty(m, dtype=X.dtype) for m in sizes} if W is not None else None
    for epoch in range(epochs):
        total = weighted = 0.0
        if shuffle:
            net.rng.shuffle(order)
        for s in starts:
            if shuffle and sparse:
                idx = order[s : s + bs]
                xb, yb = X[idx], Y[idx]
                wb = None if W is None else W[idx]
            elif shuffle:
                idx = order[s : s + bs]
                m = idx.shape[0]
                xb = np.take(X, idx, axis=0, out=xbufs[m], mode="clip")
                yb = np.take(Y, idx, axis=0, out=ybufs[m], mode="clip")
                wb = None if W is None else np.take(W, idx, out=wbufs[m], mode="clip")
            else:
                xb, yb = X[s : s + bs], Y[s : s + bs]
                wb = None if W is None else W[s : s + bs]
            value = step(xb, yb, wb, loss, l2)
            if check and not isfinite(value):
                guard.diverged(epoch, f"the loss became {value}")
            update(params, grads, saved)
            total += value
            weighted += value * yb.shape[0]
        record(total / n_batches)
        record_sample(weighted / n)
        if per_epoch and _end_epoch(net, history, callbacks, validation, loss, guard):
            return


def _run_compiled_epochs(
    plan, net, data, validation, loss, opt, epochs, bs, shuffle, l2, callbacks, history, guard
) -> None:
    """_run_epochs for a small network on the compiled path (glassnet.fast.kernels): the
    same epochs, batches, shuffles (drawn here, from the network's generator, in the same
    order), losses and updates, a whole run of epochs per call when no callback or
    validation needs to see each one."""
    X, Y, W = data
    n = X.shape[0]
    shuffling = shuffle and bs < n
    per_epoch = bool(callbacks) or validation[0] is not None
    # Epochs per call: their shuffle orders are drawn first, so they are bounded.
    chunk = 1 if per_epoch else min(epochs, max(1, _ORDERS // n) if shuffling else epochs)
    Y = np.ascontiguousarray(Y)
    W = None if W is None else np.ascontiguousarray(W)
    if shuffling:
        order = np.arange(n, dtype=np.intp)
        orders = np.empty((chunk, n), dtype=np.intp)
    else:
        orders = np.empty((0, 0), dtype=np.intp)
    record = np.empty((chunk, 2))
    saved = guard.snapshot if guard.active else net._params[:0]
    epoch = 0
    while epoch < epochs:
        count = min(chunk, epochs - epoch)
        if shuffling:
            for e in range(count):
                net.rng.shuffle(order)
                orders[e] = order
        done, bad = plan.train(
            X,
            Y,
            W,
            orders[:count] if shuffling else orders,
            count,
            bs,
            opt,
            l2,
            saved,
            guard.active,
            record,
        )
        history.loss.extend(record[:done, 0].tolist())
        history.sample_loss.extend(record[:done, 1].tolist())
        if bad >= 0:
            guard.diverged(epoch + bad, f"the loss became {record[bad, 0]}")
        epoch += done
        if per_epoch and _end_epoch(net, history, callbacks, validation, loss, guard):
            return


# Shuffle orders drawn ahead for the compiled path's runs of epochs, at most.
_ORDERS = 1 << 16


class _Diverged(Exception):
    pass


def _run_lbfgs(
    net, data, validation, loss, opt, epochs, batch_size, shuffle, l2, callbacks, history, guard
) -> None:
    """Full-batch L-BFGS: scipy drives, the network supplies loss and gradient."""
    X, Y, W = data
    X_val = validation[0]
    params = net._params
    step = net._step_function(loss, X)
    snapshot = guard.snapshot
    keep = guard.active
    per_epoch = bool(callbacks) or X_val is not None

    def objective(x):
        params[...] = x
        value = step(X, Y, W, loss, l2)
        if not math.isfinite(value):
            if guard.active:
                raise _Diverged(value)
            return value, net._grads.astype(np.float64)
        if keep:
            np.copyto(snapshot, params)
        return value, net._grads.astype(np.float64)

    def on_iteration(intermediate_result):
        value = float(intermediate_result.fun)
        history.loss.append(value)
        history.sample_loss.append(value)
        params[...] = intermediate_result.x
        if per_epoch and _end_epoch(net, history, callbacks, validation, loss, guard):
            raise StopIteration

    try:
        result = opt.minimize(objective, params, epochs, on_iteration)
    except _Diverged as exc:
        guard.diverged(len(history.loss), f"the loss became {exc.args[0]}")
    lbfgs_ended(history, result)


def lbfgs_ended(history: History, result) -> None:
    """An L-BFGS run that converged before its first iteration still has one loss."""
    if not history.loss:
        history.loss.append(float(result.fun))
        history.sample_loss.append(float(result.fun))


def _end_epoch(net, history, callbacks, validation, loss, guard) -> bool:
    X_val, Y_val, W_val = validation
    if X_val is not None:
        value = net._evaluate(X_val, Y_val, W_val, loss)
        history.val_loss.append(value)
        if guard.active and not math.isfinite(value):
            guard.diverged(history.epochs - 1, f"the validation loss became {value}")
    stop = False
    for cb in callbacks:
        stop = bool(cb.on_epoch_end(net, history)) or stop
    if stop:
        history.stopped_early = True
    return stop


class _Guard:
    """Stops a diverging run: keeps the weights that last gave a finite loss and, when
    something stops being finite, puts them back and raises NonFiniteLossError.

    The weights are checked in this order, so what is put back is exactly the last
    weights that gave a finite loss: each step computes the loss of the current
    weights before updating them; a non-finite loss stops training before its update,
    and the weights that gave it are replaced by ``snapshot``, the weights before the
    update that produced them (the last ones whose loss was finite; at the first step,
    the starting weights). The update itself writes ``snapshot`` as it overwrites each
    weight (``Optimizer._update``; on the compiled path, in the update's own pass, so
    there is no separate copy). The same holds after the last update, whose weights no
    loss checks: if they are not finite, ``snapshot`` goes back. With
    ``stop_on_nonfinite=False`` nothing is kept or checked.
    """

    def __init__(self, net, opt, active: bool):
        self.net, self.opt, self.active = net, opt, bool(active)
        self.snapshot = net._params.copy() if self.active else None

    def diverged(self, epoch: int, what: str) -> None:
        self.net._params[...] = self.snapshot
        raise NonFiniteLossError(
            f"training stopped in epoch {epoch + 1}: {what}. "
            f"The weights were restored to the last ones that gave a finite loss. "
            f"Try scaling the inputs (for example, standardising each feature) or lowering "
            f"the learning rate{_learning_rate_hint(self.opt)}."
        )
