"""What the drop-in records after every epoch, as scikit-learn does.

:class:`Validation` scores the held-out split of ``early_stopping`` (accuracy or R²,
into ``history.metrics["val_score"]``) and measures its loss (the training loss's
definition, L2 penalty included, into ``history.metrics["val_loss"]``), from one pass.
:class:`Lines` prints scikit-learn's ``verbose`` lines. Stopping and the learning-rate
schedules are the engine's (:class:`glassnet.training.EarlyStopping`,
:mod:`glassnet.schedules`); these callbacks only record and print.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import Trainable
from ..losses import Loss, l2_penalty
from ..schedules import Adaptive, Schedule
from ..training import Callback, History

__all__ = ["Validation", "Lines"]


class Validation(Callback):
    """After every epoch, the validation loss and score of the held-out rows.

    Parameters
    ----------
    X, y, Y, w : the held-out inputs, their labels or values as the user gave them,
        the target rows the network trains on, and their sample weights (or None)
    loss : Loss
    l2 : float
        The L2 penalty (``alpha``), added to the loss as training adds it.
    score : callable (output, y, w) -> float
        The estimator's score of the network's output.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: Any,
        Y: np.ndarray,
        w: np.ndarray | None,
        loss: Loss,
        l2: float,
        score: Callable[[np.ndarray, Any, np.ndarray | None], float],
    ) -> None:
        self.X, self.y, self.Y, self.w = X, y, Y, w
        self.loss, self.l2, self.score = loss, l2, score
        self.m = float(len(Y)) if w is None else float(w.sum())

    def on_train_begin(self, net: Trainable, history: History) -> None:
        history.metrics.setdefault("val_loss", [])
        history.metrics.setdefault("val_score", [])

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        z, output = net.output(self.X)
        value = self.loss.value(output, self.Y, self.w, z)
        value += l2_penalty(net.parameters[: net.n_weights], self.l2, self.m)
        history.metrics["val_loss"].append(float(value))
        history.metrics["val_score"].append(self.score(output, self.y, self.w))


class Lines(Callback):
    """scikit-learn's ``verbose`` lines: the loss of every epoch, the validation score,
    and each reduction of the learning rate by an :class:`~glassnet.schedules.Adaptive`
    schedule."""

    def __init__(self, schedule: Schedule | None = None) -> None:
        self.schedule = schedule if isinstance(schedule, Adaptive) else None
        self.told = 0

    def on_epoch_end(self, net: Trainable, history: History) -> None:
        print(f"Iteration {history.epochs}, loss = {history.sample_loss[-1]:.8f}")
        if history.metrics.get("val_score"):
            print(f"Validation score: {history.metrics['val_score'][-1]:f}")
        self._rates()

    def on_train_end(self, net: Trainable, history: History) -> None:
        self._rates()

    def _rates(self) -> None:
        if self.schedule is None:
            return
        for _, rate in self.schedule.changes[self.told :]:
            print(f"Setting learning rate to {rate:f}")
        self.told = len(self.schedule.changes)
