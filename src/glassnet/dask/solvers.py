"""The three ways to train on shards: full-batch L-BFGS, synchronous mini-batch gradients,
and parameter averaging after each local epoch.

Each is an epoch runner (or, for L-BFGS, an objective) for the engine's one loop,
:func:`glassnet.training.train` and :func:`glassnet.training.lbfgs`, which keep the
History, run the validation, the callbacks and the learning-rate schedule, and guard
against divergence as they do for data in memory. The network on the client is the
one true model: it holds the parameters between steps, callbacks see it, and it is
what a failure leaves behind.

* ``lbfgs``: scipy drives, with the options the in-memory ``lbfgs`` uses; every
  evaluation sends the parameter vector out and brings each shard's loss and gradient
  back. The result is single-machine L-BFGS on the same data, up to the order in which
  floating-point sums are added up.
* ``"sync"``: each step, every shard computes the gradient of its share of one global
  batch; the client combines them and takes one optimizer step. The same algorithm as
  single-machine mini-batch training, but every step is a round trip to the cluster.
* ``"average"``: each epoch, every shard trains its own copy for one epoch from the same
  parameters and optimizer state; the client averages the results, weighted by the
  shards' sample weights. One round trip per epoch, at the price of fewer effective steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .. import optimizers as _optimizers
from .. import training as _training
from ..data import Trainable
from ..losses import l2_penalty
from ..schedules import Schedule
from ..training import Callback, Guard, History
from . import shards as _shards

__all__ = ["STRATEGIES", "ClusterGuard", "check_strategy", "run"]

STRATEGIES = ("average", "sync")


class ClusterGuard(Guard):
    """The engine's divergence guard, which also keeps the parameters of the last
    finished epoch, and puts them back when the cluster loses a worker's task."""

    snapshot: np.ndarray  # kept even when inactive (set in __init__)

    def __init__(self, net: Trainable, opt: _optimizers.Optimizer, active: bool) -> None:
        super().__init__(net, opt, active)
        if self.snapshot is None:
            self.snapshot = self.params.copy()
        self.epoch_end = self.params.copy()

    def epoch_done(self) -> None:
        np.copyto(self.epoch_end, self.params)

    def lost(self, epoch: int, exc: Exception) -> None:
        self.params[...] = self.epoch_end
        raise _shards.WorkerLostError(
            f"{exc} in epoch {epoch + 1}; the network keeps the weights it had after "
            f"epoch {epoch}" + (" (its starting weights)" if epoch == 0 else "")
        ) from exc


def _penalised(net, value: float, l2: float, m: float) -> float:
    """The loss with the L2 penalty, its gradient added to the network's (m: the
    batch's total sample weight), as Network.loss_and_grad adds it for one batch."""
    if not l2:
        return value
    n = net.n_weights
    return value + l2_penalty(net.parameters[:n], l2, m, net.gradients[:n])


def _sum_results(results) -> tuple[float, np.ndarray | None, list]:
    """Add up the (scaled loss, scaled gradient, *counts) of every shard."""
    total, grad = 0.0, None
    for r in results:
        total += r[0]
        if r[1] is not None:
            grad = r[1].copy() if grad is None else grad.__iadd__(r[1])
    counts = [sum(r[i] for r in results) for i in range(2, len(results[0]))]
    return total, grad, counts


def _lbfgs_objective(net, shards, l2: float):
    """The loss and gradient of all the shards' rows at the network's parameters."""
    params, grads = net.parameters, net.gradients
    whole = shards.denominator(shards.n, shards.weight)

    def objective() -> float:
        results = shards.run(_shards.loss_and_grad, params)
        rows = sum(r[3] for r in results)
        if rows != shards.n:
            raise RuntimeError(f"the shards returned {rows} rows of {shards.n}")
        # Both sums are exact until rounded once, so they do not depend on which
        # partitions shared a shard: every placement of the data gives the same fit.
        value = math.fsum(v for r in results for v in r[0]) / whole
        grad = _shards.Sum()
        for _, hi, lo, _ in results:
            if hi is not None:
                grad.add(hi, lo)
        total = grad.result()
        assert total is not None  # the shards hold rows: some gave a gradient
        np.divide(total, whole, out=grads, casting="same_kind")
        return _penalised(net, value, l2, shards.weight)

    return objective


class SyncEpochs:
    """Epochs of steps whose gradient every shard computes its share of (``"sync"``)."""

    def __init__(
        self,
        net: Trainable,
        shards: _shards.Shards,
        opt: _optimizers.Optimizer,
        batch_size: int | None,
        shuffle: bool,
        l2: float,
        guard: ClusterGuard,
    ) -> None:
        self.net, self.shards, self.opt, self.l2, self.guard = net, shards, opt, l2, guard
        n = shards.n
        self.steps = 1 if batch_size is None else -(-n // min(batch_size, n))
        self.shuffle = shuffle and self.steps > 1

    def run(
        self, first: int, count: int, each_step: _training.Stepwise | None = None
    ) -> list[tuple[float, float, int]]:
        net, guard = self.net, self.guard
        params, grads = net.parameters, net.gradients
        seed = int(net.rng.integers(2**62))
        total = weighted = 0.0
        for step in range(self.steps):
            strength = 1.0 if each_step is None else each_step(first + (step + 0.5) / self.steps)
            try:
                results = self.shards.run(
                    _shards.batch_loss_and_grad,
                    params,
                    seed,
                    step,
                    self.steps,
                    self.shuffle,
                    strength,
                )
            except _shards.WorkerLostError as exc:
                guard.lost(first, exc)
            value, grad, (rows, weight) = _sum_results(results)
            if grad is None:  # every row of this batch has weight 0: nothing to learn from
                continue
            d = self.shards.denominator(rows, weight)
            np.divide(grad, d, out=grads, casting="same_kind")
            value = _penalised(net, value / d, self.l2, weight)
            if guard.active and not math.isfinite(value):
                guard.diverged(first, f"the loss became {value}")
            self.opt.update(params, grads, guard.snapshot)
            total += value
            weighted += value * rows
        return [(total / self.steps, weighted / self.shards.n, self.shards.n)]


class AverageEpochs:
    """Epochs each shard trains on its own from the same start, then averaged
    (``"average"``)."""

    def __init__(
        self,
        net: Trainable,
        shards: _shards.Shards,
        opt: _optimizers.Optimizer,
        batch_size: int | None,
        shuffle: bool,
        l2: float,
        guard: ClusterGuard,
    ) -> None:
        self.net, self.shards, self.opt, self.guard = net, shards, opt, guard
        self.batch_size, self.shuffle, self.l2 = batch_size, shuffle, l2

    def run(
        self, first: int, count: int, each_step: _training.Stepwise | None = None
    ) -> list[tuple[float, float, int]]:
        """One epoch; a per-step schedule's settings are those of the epoch's middle
        (each worker trains its epoch on its own, at one rate)."""
        net, opt, guard = self.net, self.opt, self.guard
        params = net.parameters
        seed = int(net.rng.integers(2**62))
        strength = 1.0 if each_step is None else each_step(first + 0.5)
        try:
            results = self.shards.run(
                _shards.local_epoch,
                params,
                opt,
                seed,
                self.batch_size,
                self.shuffle,
                self.l2,
                guard.active,
                strength,
            )
        except _training.NonFiniteLossError:
            guard.diverged(first, "the loss became non-finite on a worker")
        except _shards.WorkerLostError as exc:
            guard.lost(first, exc)
        results = [r for r in results if r[6] > 0]
        weights = np.array([r[6] for r in results]) / sum(r[6] for r in results)
        np.copyto(guard.snapshot, params)
        params[...] = sum(w * r[0].astype(np.float64) for w, r in zip(weights, results))
        _average_state(opt, [r[1] for r in results], weights, params)
        if guard.active and not np.isfinite(params).all():
            guard.diverged(first, "averaging the workers' weights made them non-finite")
        loss = sum(r[2] for r in results) / sum(r[3] for r in results)
        return [(loss, sum(r[4] for r in results) / self.shards.n, self.shards.n)]


def _average_state(opt, copies: list, weights: np.ndarray, params: np.ndarray) -> None:
    """Put the weighted mean of the shards' optimizer states into ``opt``: every array
    shaped like the parameters (velocities, moments) and every number that differs
    between them (a step count, rounded)."""
    for name, first in vars(copies[0]).items():
        values = [getattr(c, name) for c in copies]
        if isinstance(first, np.ndarray) and first.shape == params.shape:
            mean = sum(w * v.astype(np.float64) for w, v in zip(weights, values))
            setattr(opt, name, mean.astype(first.dtype))
        elif isinstance(first, (int, float)) and not isinstance(first, bool):
            if all(v == first for v in values):  # the learning rate, say
                setattr(opt, name, first)
                continue
            mean = float(np.dot(weights, values))
            setattr(opt, name, round(mean) if isinstance(first, int) else mean)


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}"
        )
    return strategy


def run(
    net: Trainable,
    shards: _shards.Shards,
    opt: _optimizers.Optimizer,
    *,
    strategy: str,
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    l2: float,
    callbacks: Sequence[Callback],
    validate: Callable[[], float] | None,
    guard: ClusterGuard,
    schedule: str | Schedule | None = None,
    history: History | None = None,
) -> History:
    """Train with the solver that fits ``opt`` and ``strategy``; returns the History."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(opt, _optimizers.LBFGS):
            objective = _lbfgs_objective(net, shards, l2)
            history = History() if history is None else history

            def checked() -> float:
                try:
                    return objective()
                except _shards.WorkerLostError as exc:
                    guard.lost(history.epochs, exc)  # raises, with the epoch's weights back
                    raise

            return _training.lbfgs(
                net,
                opt,
                checked,
                epochs=epochs,
                validate=validate,
                callbacks=callbacks,
                guard=guard,
                history=history,
            )
        runner = (SyncEpochs if strategy == "sync" else AverageEpochs)(
            net, shards, opt, batch_size, shuffle, l2, guard
        )
        opt.prepare(net.parameters, net.n_weights, net.lr_factors)
        return _training.train(
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
