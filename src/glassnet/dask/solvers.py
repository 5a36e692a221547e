"""The three ways to train on shards: full-batch L-BFGS, synchronous mini-batch gradients,
and parameter averaging after each local epoch.

All three keep the network on the client as the one true model: it holds the parameters
between steps, callbacks see it, and it is what a failure leaves behind.

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
from collections.abc import Callable

import numpy as np

from .. import optimizers as _optimizers
from ..training import History, NonFiniteLossError, lbfgs_ended
from . import shards as _shards

__all__ = ["STRATEGIES", "Guard", "lbfgs", "synchronous", "averaging"]

STRATEGIES = ("average", "sync")


class Guard:
    """Keeps the parameters that last gave a finite loss, and the ones of the last
    finished epoch; puts back the first on divergence and the second on a lost cluster."""

    def __init__(self, net, opt, active: bool):
        self.net, self.opt, self.active = net, opt, bool(active)
        self.snapshot = net._params.copy()
        self.epoch_end = net._params.copy()

    def diverged(self, epoch: int, what: str) -> None:
        self.net._params[...] = self.snapshot
        lr = getattr(self.opt, "lr", None)
        hint = f" (currently {lr:g})" if lr is not None else ""
        raise NonFiniteLossError(
            f"training stopped in epoch {epoch + 1}: {what}. The weights were restored to "
            "the last ones that gave a finite loss. Try scaling the inputs (for example, "
            f"standardising each feature) or lowering the learning rate{hint}."
        )

    def lost(self, epoch: int, exc: Exception) -> None:
        self.net._params[...] = self.epoch_end
        raise _shards.WorkerLostError(
            f"{exc} in epoch {epoch + 1}; the network keeps the weights it had after "
            f"epoch {epoch}" + (" (its starting weights)" if epoch == 0 else "")
        ) from exc


def _penalise(net, value: float, grads: np.ndarray, l2: float, m: float) -> float:
    """Add the L2 penalty 0.5 * l2 * ||W||^2 / m to the loss and its gradient, m being the
    batch's total sample weight (as Network._loss_and_grad does for one batch)."""
    if not l2:
        return value
    W = net._params[: net.n_weights]
    grads[: net.n_weights] += np.multiply(W, l2 / m)
    return value + 0.5 * l2 * float(np.dot(W, W)) / m


def _sum_results(results) -> tuple[float, np.ndarray | None, list]:
    """Add up the (scaled loss, scaled gradient, *counts) of every shard."""
    total, grad = 0.0, None
    for r in results:
        total += r[0]
        if r[1] is not None:
            grad = r[1].copy() if grad is None else grad.__iadd__(r[1])
    counts = [sum(r[i] for r in results) for i in range(2, len(results[0]))]
    return total, grad, counts


def end_epoch(net, history: History, callbacks, validate: Callable | None, guard: Guard) -> bool:
    """After an epoch: the validation loss, the divergence check on it, the callbacks.
    Returns True when a callback asks to stop."""
    np.copyto(guard.epoch_end, net._params)
    if validate is not None:
        value = validate()
        history.val_loss.append(value)
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


def lbfgs(net, shards, opt, epochs, l2, callbacks, validate, history, guard) -> None:
    """Full-batch L-BFGS: scipy drives on the client, the shards supply loss and gradient."""
    params, grads = net._params, net._grads
    whole = shards.denominator(shards.n, shards.weight)
    per_epoch = bool(callbacks) or validate is not None

    def objective(x):
        params[...] = x
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
        grad = grad.result()
        np.divide(grad, whole, out=grads, casting="same_kind")
        value = _penalise(net, value, grads, l2, shards.weight)
        if not math.isfinite(value):
            if guard.active:
                raise _Diverged(value)
            return value, grads.astype(np.float64)
        np.copyto(guard.snapshot, params)
        return value, grads.astype(np.float64)

    def on_iteration(intermediate_result):
        value = float(intermediate_result.fun)
        history.loss.append(value)
        history.sample_loss.append(value)
        params[...] = intermediate_result.x
        if per_epoch and end_epoch(net, history, callbacks, validate, guard):
            raise StopIteration
        np.copyto(guard.epoch_end, params)

    try:
        result = opt.minimize(objective, params, epochs, on_iteration)
    except _Diverged as exc:
        guard.diverged(len(history.loss), f"the loss became {exc.args[0]}")
    except _shards.WorkerLostError as exc:
        guard.lost(len(history.loss), exc)
    lbfgs_ended(history, result)


def synchronous(
    net, shards, opt, epochs, batch_size, shuffle, l2, callbacks, validate, history, guard
) -> None:
    """Mini-batch training where every step's gradient is summed over all shards."""
    params, grads = net._params, net._grads
    n = shards.n
    steps = 1 if batch_size is None else -(-n // min(batch_size, n))
    opt.prepare(params, net.n_weights)
    for epoch in range(epochs):
        seed = int(net.rng.integers(2**62))
        total = weighted = 0.0
        for step in range(steps):
            try:
                results = shards.run(
                    _shards.batch_loss_and_grad, params, seed, step, steps, shuffle and steps > 1
                )
            except _shards.WorkerLostError as exc:
                guard.lost(epoch, exc)
            value, grad, (rows, weight) = _sum_results(results)
            if grad is None:  # every row of this batch has weight 0: nothing to learn from
                continue
            d = shards.denominator(rows, weight)
            value /= d
            np.divide(grad, d, out=grads, casting="same_kind")
            value = _penalise(net, value, grads, l2, weight)
            if guard.active and not math.isfinite(value):
                guard.diverged(epoch, f"the loss became {value}")
            np.copyto(guard.snapshot, params)
            opt.step(params, grads)
            total += value
            weighted += value * rows
        history.loss.append(total / steps)
        history.sample_loss.append(weighted / n)
        if end_epoch(net, history, callbacks, validate, guard):
            return


def averaging(
    net, shards, opt, epochs, batch_size, shuffle, l2, callbacks, validate, history, guard
) -> None:
    """Each epoch, every shard trains from the same start; the client averages them."""
    params = net._params
    opt.prepare(params, net.n_weights)
    for epoch in range(epochs):
        seed = int(net.rng.integers(2**62))
        try:
            results = shards.run(
                _shards.local_epoch, params, opt, seed, batch_size, shuffle, l2, guard.active
            )
        except NonFiniteLossError:
            guard.diverged(epoch, "the loss became non-finite on a worker")
        except _shards.WorkerLostError as exc:
            guard.lost(epoch, exc)
        results = [r for r in results if r[6] > 0]
        weights = np.array([r[6] for r in results]) / sum(r[6] for r in results)
        np.copyto(guard.snapshot, params)
        average = sum(w * r[0].astype(np.float64) for w, r in zip(weights, results))
        params[...] = average
        _average_state(opt, [r[1] for r in results], weights, params)
        history.loss.append(sum(r[2] for r in results) / sum(r[3] for r in results))
        history.sample_loss.append(sum(r[4] for r in results) / shards.n)
        if guard.active and not np.isfinite(params).all():
            guard.diverged(epoch, "averaging the workers' weights made them non-finite")
        if end_epoch(net, history, callbacks, validate, guard):
            return


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


def run(net, shards, opt, *, strategy, epochs, batch_size, shuffle, l2, callbacks, validate, guard):
    """Train with the solver that fits ``opt`` and ``strategy``; returns the History."""
    history = History()
    for cb in callbacks:
        cb.on_train_begin(net, history)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(opt, _optimizers.LBFGS):
            lbfgs(net, shards, opt, epochs, l2, callbacks, validate, history, guard)
        else:
            solver = synchronous if strategy == "sync" else averaging
            solver(
                net,
                shards,
                opt,
                epochs,
                batch_size,
                shuffle,
                l2,
                callbacks,
                validate,
                history,
                guard,
            )
    for cb in callbacks:
        cb.on_train_end(net, history)
    return history
