"""Learning-rate schedules: the optimizer's step size from one epoch to the next.

The training loop asks the schedule for each epoch's rate before the epoch runs
(``rate(epoch, history)``, ``epoch`` counted from 0, ``history`` holding the epochs
before it, so the question after the last epoch is asked too) and sets
``optimizer.lr`` to it; a schedule that answers None stops training. The rate stays
fixed within an epoch, unless the schedule is ``per_step``: then the loop also asks
``rate_at(progress)`` before every step, ``progress`` the epochs trained so far up
to the middle of the step (epoch + (i + 0.5) / steps in the epoch), so a schedule
over a few epochs of many batches is as smooth as over many epochs. ``base`` is the
optimizer's own rate when training starts.

A schedule that ``fades`` also sets how strong the regularisation is as training goes:
``strength_at(progress)`` multiplies every Dropout layer's rate and the optimizer's
weight decay, each as it was when training started (and put back when it ends).
``CosLog(4, fade=True)`` fades them by :func:`flat_cos`, as RealMLP does.

==================  ============================================================
``Constant()``      base
``InvScaling(p)``   base / (t + 1)^p, t the samples trained on before the epoch
                    (scikit-learn's ``learning_rate="invscaling"``)
``Adaptive()``      base, divided by ``factor`` whenever the monitored loss has not
                    improved by ``min_delta`` for ``patience`` epochs; stops once
                    the rate is at most ``min_lr`` (scikit-learn's ``"adaptive"``)
``Step(k, f)``      base * f^floor(epoch / k)
``Cosine()``        a warm-up from 0 over ``warmup`` epochs, then
                    low + (base - low) (1 + cos(pi s)) / 2, s going from 0 to 1
                    over the remaining epochs, low = base * ``floor``
``CosLog(k)``       base (1 - cos(2 pi log2(1 + (2^k - 1) s))) / 2, s the share
                    of training done, step by step: k cosine cycles, each twice as
                    long as the one before (RealMLP's "coslog4", Holzmueller et
                    al., 2024)
==================  ============================================================

:class:`Plateau` is the one count of epochs without improvement, which
:class:`Adaptive` and :class:`glassnet.training.EarlyStopping` share.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from .validation import unknown_name

__all__ = [
    "Schedule",
    "Constant",
    "InvScaling",
    "Adaptive",
    "Step",
    "Cosine",
    "CosLog",
    "flat_cos",
    "Plateau",
    "monitored",
    "patience_of",
    "get",
    "names",
]


class History(Protocol):
    """What a schedule reads of the training's :class:`glassnet.training.History`."""

    loss: list[float]
    sample_loss: list[float]
    val_loss: list[float]
    metrics: dict[str, list[float]]
    samples: int


def _number(value, name: str, *, low: float = 0.0, inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # a NumPy number
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {value!r}") from None
    value = float(value)
    if not math.isfinite(value) or value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def _count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def patience_of(value: Any, name: str = "patience") -> float:
    """A patience: an integer >= 1, or infinity (never)."""
    if isinstance(value, float) and value == math.inf:
        return value
    if hasattr(value, "__index__") and not isinstance(value, bool):
        value = int(value.__index__())
    return _count(value, name)


class Plateau:
    """Epochs without improvement of a monitored value.

    After each epoch, :meth:`update` takes the value. Two rules are in use:

    - ``"keras"`` (the default): an improvement is a value below the best so far by
      more than ``min_delta`` (above, with ``mode="max"``); it resets the count and
      becomes the best; anything else adds one.
    - ``"scikit-learn"``: a value worse than the best less ``min_delta`` adds one,
      anything else (a NaN too) resets the count; the best is the best value seen,
      by whatever margin.

    ``best`` is the best value (negated for ``mode="max"``), ``best_epoch`` its epoch.
    """

    def __init__(self, min_delta: float = 0.0, mode: str = "min", rule: str = "keras"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if rule not in ("keras", "scikit-learn"):
            raise ValueError(f"rule must be 'keras' or 'scikit-learn', got {rule!r}")
        self.min_delta = _number(min_delta, "min_delta")
        self.sign = 1.0 if mode == "min" else -1.0
        self.rule = rule
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.wait = 0

    def update(self, value: float, epoch: int) -> bool:
        """Count the epoch; returns whether ``value`` became the best."""
        v = self.sign * value
        if self.rule == "keras":
            if v < self.best - self.min_delta:
                self.best, self.best_epoch, self.wait = v, epoch, 0
                return True
            self.wait += 1
            return False
        self.wait = self.wait + 1 if v > self.best - self.min_delta else 0
        if v < self.best:
            self.best, self.best_epoch = v, epoch
            return True
        return False

    @property
    def best_value(self) -> float:
        return self.sign * self.best


def monitored(history: History, monitor: str) -> list[float]:
    """The per-epoch values of ``monitor``: "loss", "sample_loss", "val_loss" or a key
    of ``history.metrics``."""
    if monitor == "loss":
        return history.loss
    if monitor == "sample_loss":
        return history.sample_loss
    if monitor == "val_loss" and history.val_loss:
        return history.val_loss
    if monitor in history.metrics:
        return history.metrics[monitor]
    if monitor == "val_loss":
        raise ValueError(f"monitoring {monitor!r} needs validation data")
    raise ValueError(f"nothing records {monitor!r} in the history")


class Schedule:
    """Base class: the rate of each epoch (see the module docstring)."""

    #: Whether the rate never changes (the loop then needs no call between epochs).
    constant = False
    #: Whether the rate changes from step to step (the loop asks :meth:`rate_at`).
    per_step = False
    #: Whether the regularisation fades as training goes (the loop asks :meth:`strength_at`).
    fades = False

    def start(self, base: float, epochs: int) -> None:
        """Called once when training starts, with the optimizer's rate and the epochs."""
        self.base, self.epochs = float(base), int(epochs)

    def rate(self, epoch: int, history: History) -> float | None:
        raise NotImplementedError

    def rate_at(self, progress: float) -> float:
        """A per-step schedule's rate ``progress`` epochs into training."""
        raise NotImplementedError

    def strength_at(self, progress: float) -> float:
        """The factor on dropout rates and weight decay ``progress`` epochs into
        training (1: as set; asked only of a schedule that ``fades``)."""
        return 1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Constant(Schedule):
    """The optimizer's own rate, every epoch."""

    constant = True

    def rate(self, epoch: int, history: History) -> float | None:
        return self.base


class InvScaling(Schedule):
    """base / (t + 1)^power_t, t the samples trained on before the epoch (plus
    ``samples_before``, those of earlier calls, for training that continues)."""

    def __init__(self, power_t: float = 0.5, samples_before: int = 0):
        self.power_t = _number(power_t, "power_t")
        self.samples_before = _count(samples_before, "samples_before", 0)

    def rate(self, epoch: int, history: History) -> float | None:
        return self.base / (self.samples_before + history.samples + 1) ** self.power_t

    def __repr__(self) -> str:
        return f"InvScaling(power_t={self.power_t:g})"


class Adaptive(Schedule):
    """Divide the rate by ``factor`` when ``monitor`` has not improved by ``min_delta``
    for ``patience`` epochs; stop once the rate is at most ``min_lr`` (see
    :class:`Plateau`). scikit-learn's ``learning_rate="adaptive"`` is
    ``Adaptive(factor=5, patience=n_iter_no_change + 1, min_delta=tol, min_lr=1e-6)``.

    ``changes`` lists (epoch, new rate) for every reduction. A ``plateau`` given here
    (with its own ``min_delta`` and mode) carries its count over from an earlier fit;
    otherwise each fit starts a new one.
    """

    def __init__(
        self,
        factor: float = 5.0,
        patience: int = 10,
        min_delta: float = 1e-4,
        min_lr: float = 1e-6,
        monitor: str = "loss",
        mode: str = "min",
        plateau: Plateau | None = None,
    ):
        self.factor = _number(factor, "factor", low=1.0, inclusive=False)
        self.patience = patience_of(patience)
        self.min_lr = _number(min_lr, "min_lr")
        self.monitor = monitor
        self.carried = plateau is not None
        self.plateau = plateau if plateau is not None else Plateau(min_delta, mode)

    def start(self, base: float, epochs: int) -> None:
        super().start(base, epochs)
        self.current = self.base
        if not self.carried:
            self.plateau.reset()
        self.changes: list[tuple[int, float]] = []

    def rate(self, epoch: int, history: History) -> float | None:
        if epoch == 0:
            return self.current
        self.plateau.update(monitored(history, self.monitor)[-1], epoch - 1)
        if self.plateau.wait >= self.patience:
            if self.current <= self.min_lr:
                return None
            self.current /= self.factor
            self.plateau.wait = 0
            self.changes.append((epoch, self.current))
        return self.current

    def __repr__(self) -> str:
        return f"Adaptive(factor={self.factor:g}, patience={self.patience})"


class Step(Schedule):
    """base * factor^floor(epoch / every): the rate multiplied by ``factor`` every
    ``every`` epochs."""

    def __init__(self, every: int = 10, factor: float = 0.5):
        self.every = _count(every, "every")
        self.factor = _number(factor, "factor", inclusive=False)

    def rate(self, epoch: int, history: History) -> float | None:
        return self.base * self.factor ** (epoch // self.every)

    def __repr__(self) -> str:
        return f"Step(every={self.every}, factor={self.factor:g})"


class Cosine(Schedule):
    """A linear warm-up over ``warmup`` epochs, then a half cosine from base down to
    ``base * floor`` at the last epoch (Loshchilov and Hutter's SGDR, one cycle)."""

    def __init__(self, warmup: int = 0, floor: float = 0.0):
        self.warmup = _count(warmup, "warmup", 0)
        self.floor = _number(floor, "floor")

    def rate(self, epoch: int, history: History) -> float | None:
        if epoch < self.warmup:
            return self.base * (epoch + 1) / (self.warmup + 1)
        span = max(self.epochs - self.warmup - 1, 1)
        s = min((epoch - self.warmup) / span, 1.0)
        low = self.base * self.floor
        return low + (self.base - low) * 0.5 * (1.0 + math.cos(math.pi * s))

    def __repr__(self) -> str:
        return f"Cosine(warmup={self.warmup}, floor={self.floor:g})"


def flat_cos(s: float) -> float:
    """1 for the first half of training (``s`` the share done, 0 to 1), then a half
    cosine down to 0 at the end: RealMLP's "flat_cos" (Holzmueller et al., 2024)."""
    if s <= 0.5:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * (2.0 * min(s, 1.0) - 1.0)))


class CosLog(Schedule):
    """``cycles`` cosine bumps from 0 to base and back, on a log scale of training:
    each twice as long as the one before (see the module docstring). The rate changes
    at every step; ``rate`` (History's record of an epoch) is the rate in the middle of
    the epoch. With ``fade``, dropout and weight decay fade by :func:`flat_cos`."""

    per_step = True

    def __init__(self, cycles: int = 4, fade: bool = False):
        self.cycles = _count(cycles, "cycles")
        self.fades = bool(fade)

    def rate(self, epoch: int, history: History) -> float | None:
        return self.rate_at(min(epoch, self.epochs - 1) + 0.5)

    def rate_at(self, progress: float) -> float:
        s = min(progress, self.epochs) / self.epochs
        phase = math.log2(1.0 + (2.0**self.cycles - 1.0) * s)
        return self.base * 0.5 * (1.0 - math.cos(2.0 * math.pi * phase))

    def strength_at(self, progress: float) -> float:
        return flat_cos(progress / self.epochs) if self.fades else 1.0

    def __repr__(self) -> str:
        fade = ", fade=True" if self.fades else ""
        return f"CosLog(cycles={self.cycles}{fade})"


_REGISTRY = {
    "constant": Constant,
    "invscaling": InvScaling,
    "adaptive": Adaptive,
    "step": Step,
    "cosine": Cosine,
    "coslog": CosLog,
}


def names() -> list[str]:
    return list(_REGISTRY)


def get(schedule: str | Schedule | None) -> Schedule:
    """A Schedule for a name (default settings), an instance, or None (Constant)."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if not isinstance(schedule, str):
        raise TypeError(f"schedule must be a name or a Schedule, got {type(schedule).__name__}")
    key = schedule.lower()
    if key not in _REGISTRY:
        raise unknown_name("learning-rate schedule", schedule, names())
    return _REGISTRY[key]()
