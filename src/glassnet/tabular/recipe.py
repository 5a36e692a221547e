"""The tabular recipe: the options of training on a table, checked once, and the steps that
every way of training takes (in memory, from a file, chunk by chunk, on Dask): the feature
columns, the survey of every row (kinds, date formats, and every problem in one message),
the split, the encoders, the network and its training, and the summary a model keeps.
Reading the data, and the passes over it, are the callers' own; :meth:`Recipe.prepare` is
the steps before training for a table in memory.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, NoReturn

import numpy as np

from ..layers import Dense
from ..network import Network
from ..optimizers import LBFGS, SGD, Adam, Optimizer
from ..training import Callback, EarlyStopping, History
from .columns import Columns, mark_missing, missing_mask
from .dates import check_format
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder, refuse_missing
from .metrics import SummaryMetrics
from .survey import Survey, SurveyResult

__all__ = [
    "Recipe",
    "Prepared",
    "Training",
    "OverfittingWarning",
    "split_rows",
    "check_target",
    "check_rows",
    "overfitting",
    "history_summary",
]


#: The largest seed: NumPy's generators take 0 to 2**32 - 1.
SEED_MAX = 2**32 - 1


class OverfittingWarning(UserWarning):
    """The validation loss rose while the training loss fell, and nothing stopped it."""


@dataclass(frozen=True)
class Recipe:
    """The options of training a TabularModel, checked when the recipe is made.

    Parameters
    ----------
    hidden, activation : sequence of int, str
        The hidden layers' sizes (none: a linear model) and activation.
    loss : str
        ``"auto"`` is cross_entropy for a classification and mse for a regression.
    optimizer, lr : str, float or None
        One of :attr:`optimizers`: ``"adam"`` (lr 1e-3 unless given) or ``"sgd"`` (lr
        0.01, momentum 0.9).
    epochs, batch_size : int, int or None
        A batch size of None trains on the full batch.
    val_split : float in [0, 1)
        The fraction of rows held out for validation (stratified by class).
    early_stopping, patience : bool, int
        Stop when the validation loss (the training loss, without validation rows) has not
        improved for ``patience`` epochs, and restore the weights of its best epoch (on by
        default, as on the command line).
    seed : int in [0, 2**32 - 1], or None
        Seeds the validation split, the initial weights and the shuffles.
    impute : bool
        Fill missing feature cells instead of refusing them (see FeatureEncoder).
    task : "auto", "classification" or "regression"
    features, ignore : sequence of str
        The feature columns (default: all but the target), or the columns to leave out.
    categorical, numeric : sequence of str
        Columns whose kind is forced.
    max_categories : int, optional
        At most this many one-hot columns per categorical feature.
    drop_missing_target : bool
        Drop the rows without a target instead of refusing them.
    date_format : str, or mapping of column name to str, optional
        The strftime format (``"%d/%m/%Y"``) of date columns not written in ISO 8601, for
        every such column or by name; without it, the data decides (see :mod:`.survey`).
    na_values : sequence of str
        Cell texts that mean a missing value (``"NA"``), besides the empty cell.

    Raises
    ------
    PreprocessingError
        For an option out of its range, naming it.
    """

    #: The optimizers this way of training offers (a cluster adds L-BFGS).
    optimizers: ClassVar[tuple[str, ...]] = ("adam", "sgd")

    hidden: Sequence[int] = (16, 16)
    activation: str = "relu"
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float | None = None
    epochs: int = 200
    batch_size: int | None = 32
    val_split: float = 0.2
    early_stopping: bool = True
    patience: int = 10
    seed: int | None = 0
    impute: bool = False
    task: str = "auto"
    features: Sequence[str] | None = None
    ignore: Sequence[str] = ()
    categorical: Sequence[str] = ()
    numeric: Sequence[str] = ()
    max_categories: int | None = None
    drop_missing_target: bool = False
    date_format: str | Mapping[str, str] | None = None
    na_values: Sequence[str] = ()

    def __post_init__(self):
        if any(int(h) < 1 for h in self.hidden):
            raise PreprocessingError(
                f"hidden layer sizes must be positive, got {list(self.hidden)}"
            )
        if self.epochs < 1:
            raise PreprocessingError(f"epochs must be at least 1, got {self.epochs}")
        if not 0 <= self.val_split < 1:
            raise PreprocessingError(
                f"the validation split must be in [0, 1), got {self.val_split}"
            )
        if self.patience < 1:
            raise PreprocessingError(f"patience must be at least 1, got {self.patience}")
        seed = self.seed
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or not 0 <= seed <= SEED_MAX
        ):
            raise PreprocessingError(
                f"the seed must be an integer from 0 to 2**32 - 1 ({SEED_MAX}), got {seed!r}"
            )
        formats = self.date_format
        for fmt in [formats] if isinstance(formats, str) else (formats or {}).values():
            try:
                check_format(fmt)
            except ValueError as exc:
                raise PreprocessingError(f"--date-format {fmt!r}: {exc}") from None
        lr = self.lr
        if lr is not None and not (lr > 0 and math.isfinite(lr)):
            raise PreprocessingError(f"the learning rate must be a positive number, got {lr}")
        if self.optimizer not in self.optimizers:
            *others, last = self.optimizers
            raise PreprocessingError(
                f"unknown optimizer {self.optimizer!r}; choose {', '.join(others)} or {last}"
            )
        if self.optimizer == "lbfgs" and lr is not None:
            raise PreprocessingError("L-BFGS chooses its own steps: it takes no learning rate")
        if self.optimizer == "lbfgs" and self.batch_size is not None:
            raise PreprocessingError("L-BFGS trains on the full batch: it takes no batch size")
        if self.task not in ("auto", "classification", "regression"):
            raise PreprocessingError(
                f"unknown task {self.task!r}; choose classification or regression"
            )
        self.feature_encoder()  # max_categories, and no column both categorical and numeric

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], caller: str, *, without: Sequence[str] = ()
    ) -> Recipe:
        """The recipe of a function's keyword ``options``, refusing a name that is no
        option, or one of those the function does ``without``, as Python would."""
        known = {f.name for f in fields(cls)} - set(without)
        for name in options:
            if name not in known:
                raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
        return cls(**options)

    # -- the data -----------------------------------------------------------------------------

    def feature_columns(self, names: Sequence[str], target: str) -> list[str]:
        """The feature columns among a table's column ``names``, in order, checking every
        column the options name."""
        check_target(names, target)
        for group, what in (
            (self.ignore, "column to ignore"),
            (self.features or (), "feature column"),
            (self.categorical, "categorical column"),
            (self.numeric, "numeric column"),
        ):
            _refuse_twice(group, f"the list of {what}s")
            for name in group:
                if name not in names:
                    raise PreprocessingError(_no_such_column(name, names, what))
        ignored = set(self.ignore)
        if self.features is None:
            chosen = [c for c in names if c != target and c not in ignored]
        else:
            if target in self.features:
                raise PreprocessingError(f"the target {target!r} cannot also be a feature")
            chosen = [c for c in self.features if c not in ignored]
        for name in (*self.categorical, *self.numeric):
            if name == target:
                raise PreprocessingError(
                    f"{name!r} is the target; its kind is set with --task, not as a feature kind"
                )
            if name not in chosen:
                raise PreprocessingError(
                    f"column {name!r} is given a kind, but it is not a feature"
                )
        if isinstance(self.date_format, Mapping):
            for name in self.date_format:
                if name not in names:
                    what = "column to read dates of"
                    raise PreprocessingError(_no_such_column(name, names, what))
                if name not in chosen:
                    raise PreprocessingError(
                        f"--date-format names column {name!r}, which is not a feature"
                    )
        if not chosen:
            raise PreprocessingError("there are no feature columns left to learn from")
        return chosen

    def rows_with_target(
        self, cols: Columns, target: str, positions: np.ndarray
    ) -> tuple[Columns, np.ndarray, int]:
        """The rows to train on, their ``positions``, and the number of rows dropped. With
        ``drop_missing_target`` the rows without a target go; else all stay, and the
        target encoder refuses a missing one."""
        if self.drop_missing_target:
            keep = ~missing_mask(cols[target])
            if not keep.all():
                return cols.take(keep), positions[keep], int((~keep).sum())
        return cols, positions, 0

    def survey(self, names: Sequence[str], target: str | None) -> Survey:
        """An empty :class:`~.survey.Survey` of these feature columns and the target, with
        these options."""
        return Survey(
            names,
            target,
            categorical=self.categorical,
            numeric=self.numeric,
            date_format=self.date_format,
            na_values=self.na_values,
            impute=self.impute,
            drop_missing_target=self.drop_missing_target,
        )

    def mark_missing(self, cols: Columns) -> Columns:
        """The table with the cells ``na_values`` names made missing."""
        return mark_missing(cols, self.na_values)

    def refuse(self, found: SurveyResult, attempt: Callable[[Recipe], Any]) -> NoReturn:
        """Raise every problem the survey ``found``, in one PreprocessingError. When they
        are all missing values, which its fixes settle, first ``attempt`` the preparation
        with those fixes (a recipe with them), and name what else it refuses too, so that
        the user learns everything at once."""
        more = None
        if found.only_missing:
            fixed = replace(
                self,
                na_values=found.na_values,
                impute=found.impute,
                drop_missing_target=found.drop_missing_target,
                ignore=[*self.ignore, *found.ignore],
            )
            try:
                attempt(fixed)
            except PreprocessingError as exc:
                more = str(exc)
        found.refuse(more)
        raise AssertionError("a survey with problems refuses")  # pragma: no cover

    def prepare(self, cols: Columns, target: str, where=("row", 1), *, trial=False) -> Prepared:
        """The steps before training, for a table in memory: the feature columns, the
        survey of every row (its problems refused in one message, see :meth:`refuse`), the
        rows with a target, the target encoder, the split, the feature encoder fitted on the
        training rows with the kinds the survey decided, and the memory the encoded matrix
        will take. ``where`` numbers the rows: (unit, first row's number, or every row's)."""
        cols = self.mark_missing(cols)
        names = self.feature_columns(cols.names, target)
        numbers = _row_numbers(where, cols.n_rows)
        found = self.survey(names, target).add(cols, (where[0], numbers)).finish()
        if found.problems:
            if trial:
                found.refuse()
            self.refuse(found, lambda fixed: fixed.prepare(cols, target, where, trial=True))
        cols, numbers, dropped = self.rows_with_target(cols, target, numbers)
        n_rows = cols.n_rows
        check_rows(n_rows, dropped)
        where_all = (where[0], numbers)
        y_raw = cols[target]
        target_enc = TargetEncoder.fit(target, y_raw, self.task, where=where_all)
        classification = target_enc.task == "classification"
        classes = target_enc.class_indices(y_raw) if classification else None
        train_idx, val_idx = self.split(n_rows, classes)
        if not classification:  # scaled by the training rows alone
            target_enc = TargetEncoder.fit(
                target, y_raw, "regression", scale_rows=train_idx, where=where_all
            )
        features = self.feature_encoder().partial_fit(
            cols.take(train_idx),
            names,
            where=(where[0], numbers[train_idx]),
            kinds=found.kinds,
            formats=found.formats,
        )
        features.finish()
        features.check_memory(n_rows, np.float64)
        return Prepared(cols, where_all, dropped, features, target_enc, train_idx, val_idx)

    def check_missing(self, cols: Columns, names: Sequence[str], where) -> None:
        """Without ``impute``, refuse missing feature cells, every such column in one
        message."""
        if not self.impute:
            refuse_missing(cols, names, where)

    def split(
        self, n: int, classes: np.ndarray | None = None, part: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices of ``n`` rows (see :func:`split_rows`),
        seeded with ``seed``, and with ``part`` for one partition of many."""
        rng = np.random.default_rng(self.seed if part is None else [self.seed, part])
        return split_rows(n, self.val_split, rng, classes)

    def check_training_rows(self, n_train: int) -> None:
        """Refuse a split that leaves no training rows (``n_train`` is their number)."""
        if not n_train:
            raise PreprocessingError(_no_training_rows(self.val_split))

    def feature_encoder(self) -> FeatureEncoder:
        """An unfitted FeatureEncoder with these options."""
        return FeatureEncoder(
            impute=self.impute,
            max_categories=self.max_categories,
            categorical=self.categorical,
            numeric=self.numeric,
            date_format=self.date_format,
        )

    # -- the network and its training ---------------------------------------------------------

    def loss_for(self, target: TargetEncoder) -> str:
        """The loss for a fitted target: ``loss``, or the task's own for "auto"."""
        classification = target.task == "classification"
        if self.loss == "auto":
            return "cross_entropy" if classification else "mse"
        if classification and self.loss != "cross_entropy":
            raise PreprocessingError(
                f"a classification target trains with loss 'cross_entropy', not {self.loss!r}"
            )
        if not classification and self.loss in ("cross_entropy", "bce", "poisson"):
            raise PreprocessingError(
                f"loss {self.loss!r} does not fit a regression target; use mse, mae or huber"
            )
        return self.loss

    def training(
        self,
        target: TargetEncoder,
        n_inputs: int,
        *,
        n_rows: int | None = None,
        n_validation: int = 0,
        callbacks: Sequence[Callback] = (),
    ) -> Training:
        """The network for ``n_inputs`` encoded features and a fitted ``target``, and how
        to train it: the one place that sizes them, for every way of training. They follow
        the options alone today; ``n_rows`` (the training rows) is here for defaults that
        will follow the data's size. Early stopping comes after ``callbacks``, and watches
        the validation loss when there are ``n_validation`` rows, else the training loss.
        """
        classification = target.task == "classification"
        output = Dense(target.n_outputs, "softmax" if classification else "identity")
        layers = [Dense(h, self.activation) for h in self.hidden] + [output]
        network = Network(layers, seed=self.seed).build(n_inputs)
        callbacks = list(callbacks)
        if self.early_stopping:
            monitor = "val_loss" if n_validation else "loss"
            callbacks.append(
                EarlyStopping(monitor=monitor, patience=self.patience, restore_best=True)
            )
        return Training(
            network,
            self.loss_for(target),
            self._optimizer(),
            self.epochs,
            self.batch_size,
            callbacks,
        )

    def _optimizer(self) -> Optimizer:
        if self.optimizer == "lbfgs":
            return LBFGS()
        if self.optimizer == "adam":
            return Adam(self.lr if self.lr is not None else 1e-3)
        return SGD(self.lr if self.lr is not None else 0.01, momentum=0.9)

    # -- the summary ----------------------------------------------------------------------------

    def description(
        self, training: Training, features: FeatureEncoder, target: TargetEncoder
    ) -> dict[str, Any]:
        """What a model's summary says of its columns, task and network (the network's
        own layers, so a size :meth:`training` chose is the size told)."""
        return {
            "columns": list(features.names),
            "kinds": features.kinds,
            "task": target.task,
            "loss": training.loss,
            "optimizer": repr(training.optimizer),
            "hidden": [layer.units for layer in training.network.layers[:-1]],
            "activation": self.activation,
        }

    def summary(
        self,
        training: Training,
        history: History,
        *,
        features: FeatureEncoder,
        target: TargetEncoder,
        rows: int,
        dropped: int,
        train: SummaryMetrics,
        validation: SummaryMetrics,
        source: str | None,
        warn: bool = True,
    ) -> dict[str, Any]:
        """The training summary a model keeps (``model.info``): the data (``source``,
        ``rows`` kept and ``dropped`` without a target), the training and validation rows
        and their metrics, :meth:`description`, :func:`history_summary` and the date.

        A note of overfitting is kept in ``"warnings"`` and, with ``warn``, also warned
        as an :class:`OverfittingWarning` at the caller's caller.
        """
        notes = overfitting(history, self.early_stopping)
        if warn:
            for note in notes:
                warnings.warn(note, OverfittingWarning, stacklevel=3)
        return {
            "data": source,
            "rows": int(rows),
            "dropped_missing_target": int(dropped),
            "training_rows": int(train.n),
            "validation_rows": int(validation.n),
            "stratified": bool(target.task == "classification" and validation.n),
            **self.description(training, features, target),
            **history_summary(history),
            "train_metrics": train.result(),
            "validation_metrics": validation.result(),
            "warnings": notes,
            "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }


@dataclass
class Prepared:
    """A table made ready to train on (what :meth:`Recipe.prepare` returns): the rows with
    a target, how messages number them, how many were dropped without one, the fitted
    encoders, and the training and validation rows (positions in ``cols``)."""

    cols: Columns
    where: tuple[str, np.ndarray]
    dropped: int
    features: FeatureEncoder
    target: TargetEncoder
    train: np.ndarray
    validation: np.ndarray


@dataclass
class Training:
    """A network, built for the encoded features and seeded, and how to train it: what
    :meth:`Recipe.training` chose. The optimizer is fresh, and keeps its state from one
    ``fit`` call to the next; ``callbacks`` end with early stopping, when asked for."""

    network: Network
    loss: str
    optimizer: Optimizer
    epochs: int
    batch_size: int | None
    callbacks: list[Callback]


def split_rows(
    n: int, fraction: float, rng: np.random.Generator, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices (sorted) of ``n`` rows, a ``fraction`` of them
    held out at random. For a classification (``classes``: each row's class index) each
    class gives the same fraction, rounded, keeping a class with a single row in training.
    """
    if not fraction or not n:
        return np.arange(n), np.arange(0)
    order = rng.permutation(n)
    if classes is None:
        n_val = int(round(fraction * n))
        if n_val >= n:
            raise PreprocessingError(_no_training_rows(fraction))
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    shuffled = classes[order]
    by_class = order[np.argsort(shuffled, kind="stable")]  # each class's rows, in random order
    counts = np.bincount(classes, minlength=int(classes.max()) + 1)
    val_parts = []
    start = 0
    for count in counts:
        take = min(int(round(fraction * count)), count - 1) if count else 0
        val_parts.append(by_class[start : start + take])
        start += count
    val = np.sort(np.concatenate(val_parts)) if val_parts else np.arange(0)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask), val


def check_target(names: Sequence[str], target: str) -> None:
    """Refuse a table without the ``target`` column, naming the columns it has."""
    if target not in names:
        raise PreprocessingError(_no_such_column(target, names, "target column"))


def check_rows(n_rows: int, dropped: int = 0) -> None:
    """Refuse fewer than two rows to train on (``dropped``: rows left out without a target)."""
    if n_rows < 2:
        raise PreprocessingError(
            f"the data has {n_rows} row{'s' * (n_rows != 1)}"
            + (f" with a target ({dropped} dropped)" if dropped else "")
            + "; training needs at least 2"
        )


def overfitting(history: History, early_stopping: bool) -> list[str]:
    """A note when the validation loss climbed well above its best while the training loss
    kept falling, and nothing stopped or restored it."""
    if early_stopping or len(history.val_loss) < 5:
        return []
    val = np.asarray(history.val_loss)
    best = int(np.argmin(val))
    last = len(val) - 1
    rose = val[last] > val[best] * 1.1 and val[last] - val[best] > 1e-3
    if rose and history.loss[last] < history.loss[best]:
        return [
            f"the validation loss rose from {val[best]:.4g} (epoch {best + 1}) to "
            f"{val[last]:.4g} (epoch {last + 1}) while the training loss fell from "
            f"{history.loss[best]:.4g} to {history.loss[last]:.4g}: the model overfits. "
            f"Early stopping would keep epoch {best + 1}'s weights"
        ]
    return []


def history_summary(history: History) -> dict[str, Any]:
    """What a model file's training summary says of the epochs: how many, whether early
    stopping ended them, the epoch whose weights were kept, and its losses and the last."""
    kept = history.best_epoch if history.best_epoch is not None else history.epochs - 1
    return {
        "epochs": history.epochs,
        "stopped_early": history.stopped_early,
        "restored_epoch": kept + 1 if history.best_epoch is not None else None,
        "epoch_loss": history.loss[kept],
        "epoch_val_loss": history.val_loss[kept] if history.val_loss else None,
        "final_loss": history.loss[-1],
        "final_val_loss": history.val_loss[-1] if history.val_loss else None,
    }


def _row_numbers(where, n: int) -> np.ndarray:
    """Every row's number, from (unit, first row's number) or (unit, the numbers)."""
    if isinstance(where[1], np.ndarray):
        return where[1]
    return np.arange(n, dtype=np.int64) + int(where[1])


def _no_such_column(name: str, columns: Sequence[str], what: str) -> str:
    from ..validation import did_you_mean

    shown = ", ".join(map(str, columns[:20])) + (", ..." if len(columns) > 20 else "")
    return f"no {what} {name!r}{did_you_mean(name, list(columns))}; the columns are: {shown}"


def _refuse_twice(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PreprocessingError(f"{what} names column {name!r} twice")
        seen.add(name)


def _no_training_rows(fraction: float) -> str:
    return f"the validation split {fraction} leaves no training rows"
