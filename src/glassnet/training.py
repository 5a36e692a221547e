"""The training loop: epochs of batches, the divergence guard, History, callbacks and
the learning-rate schedule, written once.

:func:`train` is the loop. It runs epochs through an *epoch runner* (usually
:class:`BatchEpochs`: the batches of a :mod:`glassnet.data` source, one step each),
and after every epoch does the bookkeeping every face shares: the loss in
:class:`History`, the validation loss, the callbacks, the schedule's next rate, the
divergence check. :func:`fit` (in-memory arrays) and :func:`fit_stream` (blocks that
arrive one at a time) check the data once and hand it to :func:`train`;
``glassnet.dask`` hands it a runner whose steps run on a cluster, and L-BFGS runs
through :func:`lbfgs`, whose iterations are the epochs.

A step is the forward and backward pass (``Network.loss_and_grad``), then the
optimizer's update of the flat parameter vector. How a step runs is decided once per
fit, from that fit's own arguments (:func:`strategy`): NumPy's reference code, or
the compiled kernels of :mod:`glassnet.fast` when they are installed and the fit is
long enough to repay loading them. Nothing a process did before changes what a fit
computes.

History records, per epoch, the mean of that epoch's batch losses, each computed
before its batch's update, so full-batch training records exactly the numbers the
seeds print.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import data as _data
from . import losses as _losses
from . import optimizers as _optimizers
from . import schedules as _schedules
from . import validation as _v
from .data import Trainable
from .layers import Dropout

__all__ = [
    "History",
    "Callback",
    "EarlyStopping",
    "NonFiniteLossError",
    "ProgressBar",
    "with_verbose",
    "Guard",
    "NumpySteps",
    "Stepwise",
    "dropout_strength",
    "BatchEpochs",
    "ValidationLoss",
    "strategy",
    "train",
    "lbfgs",
    "fit",
    "fit_arrays",
    "fit_stream",
]


class NonFiniteLossError(FloatingPointError, ValueError):
    """Training stopped because the loss, the validation loss or the weights became NaN
    or infinite. It is a ``ValueError`` too, as scikit-learn's divergence error is."""


@dataclass
class History:
    """What happened during training.

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
    lr : list of float
        One per epoch: the learning rate it trained with (empty for L-BFGS).
    metrics : dict of str to list of float
        Other per-epoch measures that callbacks record (a validation score, say).
    samples : int
        The samples trained on, counted once per epoch.
    stopped_early : bool
        Whether a callback or the schedule stopped training before the last epoch.
    best_epoch : int or None
        For early stopping: the (0-based) epoch whose weights were kept.
    seconds : float
        The time training took.
    planned : int or None
        The epochs training was asked for (set when it begins).
    val_outputs : ndarray or None
        The network's outputs on the validation rows after the last epoch, those
        ``val_loss`` measured, for callbacks that score them without another forward
        pass (None without validation data; not part of a saved summary).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    sample_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    samples: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None
    seconds: float = 0.0
    planned: int | None = None
    val_outputs: np.ndarray | None = field(default=None, repr=False, compare=False)

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

    ``on_epoch_end`` may return True to stop training. ``on_train_end`` runs when
    training ends as planned (the last epoch, or a stop); ``on_interrupt`` instead when
    an exception ends it (Ctrl-C, divergence), to let go of what the callback holds.
    """

    def on_train_begin(self, net: Trainable, history: History) -> None:
        pass

    def on_epoch_end(self, net: Trainable, history: History) -> bool | None:
        return None

    def on_train_end(self, net: Trainable, history: History) -> None:
        pass

    def on_interrupt(self, net: Trainable, history: History) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when a monitored value has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        ``"val_loss"``, ``"loss"``, or a measure a callback records in
        ``history.metrics``.
    patience : int or math.inf
        Epochs without an improvement of more than ``min_delta`` before stopping
        (``math.inf``: never stop, only keep the best weights).
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best : bool
        Put back the weights of the best epoch when training ends.
    mode : "min" or "max"
        Whether lower or higher values are better.
    plateau : Plateau, optional
        A count carried over from an earlier fit (with its own ``min_delta`` and mode);
        otherwise each fit starts a new one (:class:`glassnet.schedules.Plateau`).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: float = 10,  # an int, or math.inf
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: str = "min",
        plateau: _schedules.Plateau | None = None,
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a name, got {monitor!r}")
        self.monitor = monitor
        self.patience = _schedules.patience_of(patience)
        self.carried = plateau is not None
        self.plateau = plateau if plateau is not None else _schedules.Plateau(min_delta, mode)
        self.min_delta = self.plateau.min_delta
        self.restore_best = bool(restore_best)

    @property
    def best(self) -> float:
        return self.plateau.best_value

    @property
    def best_epoch(self) -> int | None:
        return self.plateau.best_epoch

    def on_train_begin(self, net: Trainable, history: History) -> None:
        if not self.carried:
            self.plateau.reset()
        self.best_params = None

    def on_epoch_end(self, net: Trainable, history: History) -> bool | None:
        values = _schedules.monitored(history, self.monitor)
        best = self.plateau.update(values[-1], history.epochs - 1)
        if best and self.restore_best:
            if self.best_params is None:
                self.best_params = net.parameters.copy()
            else:
                self.best_params[...] = net.parameters
        return self.plateau.wait >= self.patience

    def on_train_end(self, net: Trainable, history: History) -> None:
        if self.restore_best and self.best_params is not None:
            history.best_epoch = self.best_epoch
            net.parameters[...] = self.best_params


# -- progress -----------------------------------------------------------------------------


def _progress(epochs: int) -> Callback:
    """verbose=1: a tqdm bar (tqdm.auto: a widget in a notebook) when tqdm is installed,
    otherwise one plain line a second on stderr."""
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
    """A tqdm bar over epochs, showing the loss and the validation loss.

    ``tqdm`` is the bar class to use (``tqdm.auto.tqdm``, say); the bar is closed when
    training ends, also when it ends by an exception.
    """

    def __init__(self, tqdm: Any, epochs: int | None = None, desc: str = "training") -> None:
        self.tqdm, self.epochs, self.desc = tqdm, epochs, desc
        self.bar: Any = None  # the tqdm bar, while training runs

    def on_train_begin(self, net: Trainable, history: History) -> None:
        total = self.epochs if self.epochs is not None else history.planned
        self.bar = self.tqdm(total=total, unit="epoch", desc=self.desc, leave=True)

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        val_loss = history.val_loss or history.metrics.get("val_loss")
        if val_loss:
            postfix["val_loss"] = f"{val_loss[-1]:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_train_end(self, net: Trainable, history: History) -> None:
        self.close()

    def on_interrupt(self, net: Trainable, history: History) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar (once); a later message then starts on a line of its own."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _ProgressLine(Callback):
    """verbose=1 without tqdm: one line on stderr, rewritten at most ten times a second."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._last = 0.0

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        import sys

        now = time.monotonic()
        if now - self._last >= 0.1 or history.epochs == self.epochs:
            self._last = now
            sys.stderr.write("\r" + _epoch_line(history, self.epochs) + " ")
            sys.stderr.flush()

    def on_train_end(self, net: Trainable, history: History) -> None:
        import sys

        sys.stderr.write("\r" + _epoch_line(history, self.epochs) + "\n")
        sys.stderr.flush()


class _EpochPrinter(Callback):
    """verbose=2: one line per epoch on stdout, like the seeds' loss prints."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        print(_epoch_line(history, self.epochs))


def _epoch_line(history: History, epochs: int) -> str:
    width = len(str(epochs))
    line = f"epoch {history.epochs:>{width}}/{epochs}  loss {history.loss[-1]:.12g}"
    if history.val_loss:
        line += f"  val_loss {history.val_loss[-1]:.12g}"
    return line


def with_verbose(callbacks: Sequence[Callback], verbose: int, epochs: int) -> Sequence[Callback]:
    """``callbacks`` and what ``verbose`` asks for: 0 nothing; 1 a progress bar (tqdm's,
    a widget in a notebook; a line on stderr without tqdm); 2 a line per epoch on
    stdout, as the seeds print their losses."""
    if verbose == 1:
        return [*callbacks, _progress(epochs)]
    if verbose == 2:
        return [*callbacks, _EpochPrinter(epochs)]
    return callbacks


# -- the divergence guard ----------------------------------------------------------------


class Guard:
    """Stops a diverging run: keeps the weights that last gave a finite loss and, when
    something stops being finite, puts them back and raises NonFiniteLossError.

    Each step computes the loss of the current weights before updating them; the
    update first copies the weights it overwrites into :attr:`snapshot`. A non-finite
    loss stops training before its update, and the weights that gave it are replaced
    by the snapshot: the last weights whose loss was finite (at the first step, the
    starting weights). The weights after the last update, whose loss no step computes,
    are checked when training ends. With ``active=False`` nothing is kept or checked.
    """

    def __init__(self, net: Trainable, opt: _optimizers.Optimizer, active: bool) -> None:
        self.params = net.parameters
        self.opt, self.active = opt, bool(active)
        self.snapshot = self.params.copy() if self.active else None

    def diverged(self, epoch: int, what: str) -> None:
        """Put the snapshot back and raise NonFiniteLossError for ``epoch`` (0-based)."""
        if self.snapshot is not None:
            self.params[...] = self.snapshot
        lr = getattr(self.opt, "lr", None)
        hint = f" (currently {lr:g})" if lr is not None else ""
        raise NonFiniteLossError(
            f"training stopped in epoch {epoch + 1}: {what}. "
            f"The weights were restored to the last ones that gave a finite loss. "
            f"Try scaling the inputs (for example, standardising each feature) or lowering "
            f"the learning rate{hint}."
        )

    def epoch_done(self) -> None:
        """Called after every epoch's bookkeeping (a cluster's guard keeps a copy)."""


# -- how a step runs -----------------------------------------------------------------------


class NumpySteps:
    """The reference step: ``Network.loss_and_grad`` (NumPy, layer by layer) and the
    optimizer's own ``update``.

    A step strategy gives ``loss_and_grad(x, y, w, loss, l2) -> loss`` (as the
    network's: filling its gradient vector, L2 penalty included), ``update(params,
    grads, saved)``, and ``epochs(batches, first, count, guard)``, which runs up to
    ``count`` whole epochs at once and returns their (mean loss, sample-weighted mean
    loss, rows), or returns None (then the loop steps batch by batch). ``running()``
    is the context the fit runs in.
    """

    compiled = False

    def __init__(
        self, net: Trainable, loss: _losses.Loss, opt: _optimizers.Optimizer, l2: float
    ) -> None:
        self.loss_and_grad = net.loss_and_grad
        self.update = opt.update

    def epochs(self, batches: Any, first: int, count: int, guard: Guard) -> list | None:
        return None

    def running(self) -> AbstractContextManager[None]:
        return nullcontext()


#: GLASSNET_FAST's values: the compiled path wherever it applies, or never.
_ON = ("1", "true", "yes", "on", "always")
_OFF = ("0", "false", "no", "off", "never")


def _requested(compiled) -> bool | None:
    """The user's choice: the ``compiled`` argument, else GLASSNET_FAST (None: auto)."""
    if compiled is not None:
        if compiled not in (True, False, "auto"):
            raise ValueError(f"compiled must be True, False or 'auto', got {compiled!r}")
        return None if compiled == "auto" else bool(compiled)
    value = os.environ.get("GLASSNET_FAST", "").strip().lower()
    return True if value in _ON else False if value in _OFF else None


# The steps: NumpySteps, or fast's CompiledSteps (Any: the engine names no face's type).
def strategy(
    net: Trainable,
    loss: _losses.Loss,
    opt: _optimizers.Optimizer,
    X: Any,
    batch: int | None,
    epochs: int,
    l2: float,
    compiled: bool | str | None = None,
) -> Any:
    """How the steps of one fit run, decided once from the fit's own arguments.

    ``compiled`` (or, when it is None, the environment variable ``GLASSNET_FAST``):
    True runs the compiled kernels of :mod:`glassnet.fast` wherever they apply, False
    never, "auto" (the default) when the fit is long enough to repay loading them
    (:func:`glassnet.fast.choice.choose`). The same call gives the same choice, and
    the same bits, in any process.
    """
    requested = _requested(compiled)
    if requested is not False:
        from .fast import choice  # the one door from the engine to the compiled path

        steps = choice.choose(net, loss, opt, X, batch, epochs, l2, forced=requested is True)
        if steps is not None:
            return steps
    return NumpySteps(net, loss, opt, l2)


# -- the loop ------------------------------------------------------------------------------


class Stepwise:
    """What a per-step (or fading) schedule sets before every step: the optimizer's
    rate (``schedule.rate_at``), and, when the schedule fades the regularisation,
    every Dropout layer's ``strength`` and the optimizer's weight decay, as a factor
    (``schedule.strength_at``) of the decay it had when training started.
    :meth:`restore` puts both back when training ends. Called with the step's
    progress: epochs trained so far, up to the middle of the step."""

    def __init__(self, schedule: _schedules.Schedule, net: Trainable, opt: Any) -> None:
        self.schedule, self.opt = schedule, opt
        fades = schedule.fades
        self.decay = getattr(opt, "weight_decay", 0.0) if fades else 0.0
        self.dropouts = (
            [layer for layer in net.layers if isinstance(layer, Dropout)] if fades else []
        )
        #: The last factor on dropout and weight decay (1: as set).
        self.strength = 1.0

    def __call__(self, progress: float) -> float:
        """Set the step's rate and strength; returns the strength, which a cluster's
        workers are given for their copies of the network."""
        schedule = self.schedule
        if schedule.per_step:
            self.opt.lr = schedule.rate_at(progress)
        if schedule.fades:
            self.set_strength(schedule.strength_at(progress))
        return self.strength

    def set_strength(self, strength: float) -> None:
        if strength == self.strength:  # the first half of a fading schedule: nothing to do
            return
        self.strength = strength
        dropout_strength(self.dropouts, strength)
        if self.decay:
            self.opt.weight_decay = self.decay * strength

    def restore(self) -> None:
        """Dropout at full rate and the weight decay as it was set."""
        self.set_strength(1.0)


def dropout_strength(layers: Iterable[Any], strength: float) -> None:
    """Set every Dropout layer among ``layers`` to drop at ``strength`` times its rate."""
    for layer in layers:
        if isinstance(layer, Dropout):
            layer.strength = strength


class BatchEpochs:
    """Epochs of batch steps: for every batch of ``batches``, the strategy's forward and
    backward pass, the divergence check, and the optimizer's update. ``run`` returns
    (mean batch loss, sample-weighted mean, rows) of each epoch it ran."""

    def __init__(
        self,
        batches: _data.ArrayBatches | _data.StreamBatches,
        steps: Any,
        loss: _losses.Loss,
        l2: float,
        params: np.ndarray,
        grads: np.ndarray,
        guard: Guard,
    ) -> None:
        self.batches, self.steps, self.loss, self.l2 = batches, steps, loss, l2
        self.params, self.grads, self.guard = params, grads, guard

    def run(
        self, first: int, count: int, each_step: Stepwise | None = None
    ) -> list[tuple[float, float, int]]:
        """``count`` epochs from epoch ``first``; ``each_step`` (a per-step schedule's
        settings) is called with each step's progress before the step."""
        if each_step is None:
            whole = self.steps.epochs(self.batches, first, count, self.guard)
            if whole is not None:
                return whole
        if self.batches.full:
            return self._full_batch(first, count, each_step)
        return [self._epoch(epoch, each_step) for epoch in range(first, first + count)]

    def _epoch(self, epoch: int, each_step: Stepwise | None) -> tuple[float, float, int]:
        step, update, loss, l2 = self.steps.loss_and_grad, self.steps.update, self.loss, self.l2
        params, grads, guard = self.params, self.grads, self.guard
        saved, check, isfinite = guard.snapshot, guard.active, math.isfinite
        total = weighted = 0.0
        count = rows = 0
        # A stream's first epoch has no count of steps yet: its steps all take the
        # epoch's middle.
        n_steps = self.batches.steps_per_epoch() if each_step is not None else None
        for xb, yb, wb in self.batches.epoch():
            if each_step is not None:
                each_step(epoch + ((count + 0.5) / n_steps if n_steps else 0.5))
            value = step(xb, yb, wb, loss, l2)
            if check and not isfinite(value):
                guard.diverged(epoch, f"the loss became {value}")
            update(params, grads, saved)
            m = yb.shape[0]
            total += value
            weighted += value * m
            count += 1
            rows += m
        if not count:
            raise ValueError(f"epoch {epoch + 1} had no rows to train on")
        return total / count, weighted / rows, rows

    def _full_batch(
        self, first: int, count: int, each_step: Stepwise | None
    ) -> list[tuple[float, float, int]]:
        """Epochs of one batch each: the seeds' loop, one step an epoch."""
        step, update, loss, l2 = self.steps.loss_and_grad, self.steps.update, self.loss, self.l2
        params, grads, guard = self.params, self.grads, self.guard
        saved, check, isfinite = guard.snapshot, guard.active, math.isfinite
        X, Y, W = next(iter(self.batches.epoch()))
        m = Y.shape[0]
        done = []
        for epoch in range(first, first + count):
            if each_step is not None:
                each_step(epoch + 0.5)
            value = step(X, Y, W, loss, l2)
            if check and not isfinite(value):
                guard.diverged(epoch, f"the loss became {value}")
            update(params, grads, saved)
            done.append((value, value, m))
        return done


def train(
    net: Trainable,
    runner: Any,
    opt: _optimizers.Optimizer,
    *,
    epochs: int,
    validate: Callable[[], float] | None = None,
    callbacks: Sequence[Callback] = (),
    schedule: str | _schedules.Schedule | None = None,
    guard: Guard,
    history: History | None = None,
) -> History:
    """THE training loop: ``epochs`` epochs through ``runner`` (a :class:`BatchEpochs`,
    or a runner with the same ``run(first, count, each_step)``), and after each epoch
    the bookkeeping: History, ``validate()`` into ``val_loss`` (checked for
    divergence), the callbacks (any may stop training), the schedule's rate for the
    next epoch. A per-step or fading schedule's settings reach every step through
    ``each_step`` (a :class:`Stepwise`), and are put back when training ends.

    When nothing needs to see each epoch (no callbacks, no validation, a constant
    rate) a runner may run many epochs in one call (the compiled path does).
    """
    history = History() if history is None else history
    history.planned = epochs
    schedule = _schedules.get(schedule)
    assert opt.lr is not None  # a per-step optimizer (L-BFGS runs in lbfgs, not here)
    schedule.start(opt.lr, epochs)
    each_step = Stepwise(schedule, net, opt) if schedule.per_step or schedule.fades else None
    for cb in callbacks:
        cb.on_train_begin(net, history)
    per_epoch = bool(callbacks) or validate is not None or not schedule.constant
    started = time.perf_counter()
    try:
        rate = schedule.rate(0, history)
        epoch = 0
        while rate is not None and epoch < epochs:
            opt.lr = rate
            count = 1 if per_epoch else epochs - epoch
            for mean, sample_mean, rows in runner.run(epoch, count, each_step):
                history.loss.append(mean)
                history.sample_loss.append(sample_mean)
                history.lr.append(rate)
                history.samples += rows
            epoch = history.epochs
            stop = per_epoch and _end_epoch(net, history, callbacks, validate, guard)
            # The rate of the next epoch, also after the last: the optimizer leaves with
            # the rate it would continue with, and a schedule that watches the loss has
            # seen every epoch.
            rate = schedule.rate(epoch, history)
            if rate is None:
                history.stopped_early = True
            else:
                opt.lr = rate
            if stop:
                break
            guard.epoch_done()
    except BaseException:
        _interrupted(net, history, callbacks)
        raise
    finally:
        history.seconds = time.perf_counter() - started
        if each_step is not None:
            each_step.restore()
    for cb in callbacks:
        cb.on_train_end(net, history)
    if guard.active and not _v.all_finite(net.parameters):
        guard.diverged(history.epochs - 1, "the last update made the weights non-finite")
    return history


def _interrupted(net, history: History, callbacks) -> None:
    """An exception ends training: every callback's ``on_interrupt``, each attempted."""
    for cb in callbacks:
        try:
            cb.on_interrupt(net, history)
        except Exception:  # the first exception is the one to report
            pass


def _end_epoch(net, history: History, callbacks, validate, guard: Guard) -> bool:
    """After an epoch: the validation loss and its divergence check, then the callbacks.
    Returns True when a callback asks to stop."""
    if validate is not None:
        value = validate()
        history.val_loss.append(value)
        if isinstance(validate, ValidationLoss):
            history.val_outputs = validate.outputs
        if guard.active and not math.isfinite(value):
            guard.diverged(history.epochs - 1, f"the validation loss became {value}")
    stop = False
    for cb in callbacks:
        stop = bool(cb.on_epoch_end(net, history)) or stop
    if stop:
        history.stopped_early = True
    return stop


class _Diverged(Exception):
    pass


def lbfgs(
    net: Trainable,
    opt: _optimizers.LBFGS,
    objective: Callable[[], float],
    *,
    epochs: int,
    validate: Callable[[], float] | None = None,
    callbacks: Sequence[Callback] = (),
    guard: Guard,
    history: History | None = None,
) -> History:
    """Full-batch L-BFGS over the flat parameter vector: scipy drives, each of its
    iterations is an epoch (History, validation, callbacks as :func:`train`).

    ``objective()`` returns the loss at the network's current parameters and fills
    its gradient vector (L2 penalty included): one in-memory pass, or the sum over a
    cluster's shards.
    """
    history = History() if history is None else history
    history.planned = epochs
    params, grads = net.parameters, net.gradients
    for cb in callbacks:
        cb.on_train_begin(net, history)
    per_epoch = bool(callbacks) or validate is not None

    def function(x):
        params[...] = x
        value = objective()
        if not math.isfinite(value):
            if guard.active:
                raise _Diverged(value)
        elif guard.active:
            assert guard.snapshot is not None  # an active guard keeps one
            np.copyto(guard.snapshot, params)
        return value, grads.astype(np.float64)

    def on_iteration(intermediate_result):
        value = float(intermediate_result.fun)
        history.loss.append(value)
        history.sample_loss.append(value)
        params[...] = intermediate_result.x
        if per_epoch and _end_epoch(net, history, callbacks, validate, guard):
            raise StopIteration
        guard.epoch_done()

    started = time.perf_counter()
    try:
        try:
            result = opt.minimize(function, params, epochs, on_iteration)
        except _Diverged as exc:
            guard.diverged(len(history.loss), f"the loss became {exc.args[0]}")
    except BaseException:
        _interrupted(net, history, callbacks)
        raise
    finally:
        history.seconds = time.perf_counter() - started
    if not history.loss:  # converged before its first iteration: still one loss
        history.loss.append(float(result.fun))
        history.sample_loss.append(float(result.fun))
    for cb in callbacks:
        cb.on_train_end(net, history)
    if guard.active and not _v.all_finite(params):
        guard.diverged(history.epochs - 1, "the last update made the weights non-finite")
    return history


# -- fit and fit_stream --------------------------------------------------------------------


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


def _summarise(net, history: History, loss, opt, n_samples: int) -> None:
    net.training_summary = {
        "samples": int(n_samples),
        "features": int(net.input_size),
        "epochs": history.epochs,
        "loss_name": loss.name,
        "final_loss": history.loss[-1] if history.loss else None,
        "optimizer": repr(opt),
    }


def fit(
    net: Trainable,
    X: Any,
    y: Any,
    *,
    loss: str | _losses.Loss = "mse",
    optimizer: str | _optimizers.Optimizer | None = None,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    verbose: int = 0,
    validation_data: tuple[Any, ...] | None = None,
    validation_split: float = 0.0,
    sample_weight: Any = None,
    callbacks: Sequence[Callback] = (),
    l2: float = 0.0,
    schedule: str | _schedules.Schedule | None = None,
    stop_on_nonfinite: bool = True,
    compiled: bool | str | None = None,
) -> History:
    """Train ``net`` on (X, y). See :meth:`glassnet.Network.fit` for the main arguments.

    Other Parameters
    ----------------
    validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
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
    schedule : str or Schedule, optional
        The learning rate from epoch to epoch (:mod:`glassnet.schedules`); default
        constant.
    stop_on_nonfinite : bool
        Stop with :class:`NonFiniteLossError` when a loss, a validation loss or the
        final weights stop being finite (the default). ``False`` records NaN and goes on,
        as scikit-learn's estimators do.
    compiled : bool or "auto", optional
        Whether the steps run on the compiled path (:func:`strategy`); default
        ``GLASSNET_FAST``, else "auto".

    Raises
    ------
    NonFiniteLossError
        If a batch loss or a validation loss becomes NaN or infinite, or the last
        update leaves non-finite weights. The parameters are restored to the last
        ones that gave a finite loss.
    """
    loss_fn = _losses.get(loss)
    validation_split = float(validation_split)
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if validation_split and validation_data is not None:
        raise ValueError("give validation_data or validation_split, not both")
    data = _data.training_arrays(net, X, y, loss_fn, sample_weight)
    validation = _data.validation_arrays(net, validation_data, loss_fn)
    if validation_split:
        data, validation = _data.split(data, validation_split, net.rng)
    return fit_arrays(
        net,
        data,
        loss=loss_fn,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=verbose,
        validation=validation,
        callbacks=callbacks,
        l2=l2,
        schedule=schedule,
        stop_on_nonfinite=stop_on_nonfinite,
        compiled=compiled,
    )


def fit_arrays(
    net: Trainable,
    data: _data.Batch,
    *,
    loss: str | _losses.Loss = "mse",
    optimizer: str | _optimizers.Optimizer | None = None,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    verbose: int = 0,
    validation: _data.Batch | None = None,
    callbacks: Sequence[Callback] = (),
    l2: float = 0.0,
    schedule: str | _schedules.Schedule | None = None,
    stop_on_nonfinite: bool = True,
    compiled: bool | str | None = None,
    history: History | None = None,
) -> History:
    """:func:`fit` on data checked already: ``data`` = (X, Y, W) and ``validation`` as
    :func:`glassnet.data.training_arrays` makes them, for a built network. What an
    estimator calls after validating its input its own way; nothing is checked again.
    ``history`` (a new one by default) is filled as training goes, so it holds the
    epochs run also when training ends by an exception."""
    loss_fn, opt, epochs, batch_size, l2, callbacks = _check_arguments(
        loss, optimizer, epochs, batch_size, verbose, l2, callbacks
    )
    schedule = _schedules.get(schedule)
    lbfgs_run = isinstance(opt, _optimizers.LBFGS)
    if lbfgs_run and not schedule.constant:
        raise ValueError("LBFGS has no learning rate to schedule; leave schedule=None")
    n = data[0].shape[0]
    if lbfgs_run and batch_size is not None and batch_size < n:
        raise ValueError("LBFGS trains on the full batch: leave batch_size=None")
    validate = None if validation is None else ValidationLoss(net, validation, loss_fn)
    callbacks = with_verbose(callbacks, verbose, epochs)
    steps = strategy(net, loss_fn, opt, data[0], batch_size, epochs, l2, compiled)
    opt.prepare(net.parameters, net.n_weights, net.lr_factors)
    guard = Guard(net, opt, stop_on_nonfinite)
    # A diverging run overflows on its way to inf/NaN; the guard reports that once,
    # clearly, instead of NumPy warning at every step.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), steps.running():
        if lbfgs_run:
            X, Y, W = data
            history = lbfgs(
                net,
                opt,
                lambda: steps.loss_and_grad(X, Y, W, loss_fn, l2),
                epochs=epochs,
                validate=validate,
                callbacks=callbacks,
                guard=guard,
                history=history,
            )
        else:
            batches = _data.ArrayBatches(data, batch_size, shuffle, net.rng)
            runner = BatchEpochs(batches, steps, loss_fn, l2, net.parameters, net.gradients, guard)
            history = train(
                net,
                runner,
                opt,
                epochs=epochs,
                validate=validate,
                callbacks=callbacks,
                schedule=schedule,
                guard=guard,
                history=history,
            )
    _summarise(net, history, loss_fn, opt, n)
    return history


class ValidationLoss:
    """Called after each epoch: the loss of the network's outputs on the validation
    ``batch`` (X, Y, W), which it keeps as :attr:`outputs` (the loop hands them to the
    callbacks as ``history.val_outputs``)."""

    def __init__(self, net: Trainable, batch: _data.Batch, loss: _losses.Loss):
        self.net, self.batch, self.loss = net, batch, loss
        self.outputs: np.ndarray | None = None

    def __call__(self) -> float:
        X, Y, W = self.batch
        z, self.outputs = self.net.output(X)
        return self.loss.value(self.outputs, Y, W, z)


def fit_stream(
    net: Trainable,
    blocks: Callable[[], Iterable[tuple[Any, Any]]],
    *,
    loss: str | _losses.Loss = "mse",
    optimizer: str | _optimizers.Optimizer | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    verbose: int = 0,
    validation_data: tuple[Any, ...] | None = None,
    callbacks: Sequence[Callback] = (),
    l2: float = 0.0,
    schedule: str | _schedules.Schedule | None = None,
    stop_on_nonfinite: bool = True,
    compiled: bool | str | None = None,
) -> History:
    """Train ``net`` on data that arrives in blocks, one pass of blocks per epoch.

    ``blocks()`` is called once per epoch and returns an iterable of ``(X, y)`` pairs
    (see :class:`glassnet.data.StreamBatches`: mini-batches are cut across block
    boundaries, so an epoch of n rows takes ``ceil(n / batch_size)`` steps, as
    :func:`fit` takes on the same rows). The loop, History, callbacks, schedule,
    validation and the non-finite guard are :func:`fit`'s. L-BFGS needs the full batch
    and is refused.

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
    batches = _data.StreamBatches(net, blocks, batch_size, loss_fn)
    validation = _data.validation_arrays(net, validation_data, loss_fn)
    validate = None if validation is None else ValidationLoss(net, validation, loss_fn)
    callbacks = with_verbose(callbacks, verbose, epochs)
    steps = strategy(net, loss_fn, opt, batches.first[0], batch_size, epochs, l2, compiled)
    opt.prepare(net.parameters, net.n_weights, net.lr_factors)
    guard = Guard(net, opt, stop_on_nonfinite)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), steps.running():
        runner = BatchEpochs(batches, steps, loss_fn, l2, net.parameters, net.gradients, guard)
        history = train(
            net,
            runner,
            opt,
            epochs=epochs,
            validate=validate,
            callbacks=callbacks,
            schedule=schedule,
            guard=guard,
        )
    _summarise(net, history, loss_fn, opt, batches.n)
    return history
