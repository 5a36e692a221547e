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
from typing import Any, ClassVar, NoReturn, TypeVar

import numpy as np

from .. import losses as _losses
from ..layers import Dense, Dropout, Embedding, Layer, Parametric, Scale
from ..network import Network
from ..optimizers import LBFGS, SGD, Adam, Optimizer
from ..schedules import CosLog, Schedule
from ..training import Callback, EarlyStopping, History, with_verbose
from ..validation import did_you_mean, is_integer
from .columns import Columns, mark_missing, missing_mask
from .dates import check_format
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder, refuse_missing
from .fixes import option, spell
from .metrics import SummaryMetrics
from .survey import Survey, SurveyResult

__all__ = [
    "RECIPES",
    "LABEL_SMOOTHING",
    "START_ROWS",
    "ValidationError",
    "Recipe",
    "Prepared",
    "Training",
    "OverfittingWarning",
    "TrainingWarning",
    "split_rows",
    "check_target",
    "check_rows",
    "overfitting",
    "weak_spots",
    "history_summary",
    "describe_recipe",
    "smoothing_of",
    "smoothing_note",
]


#: The largest seed: NumPy's generators take 0 to 2**32 - 1.
SEED_MAX = 2**32 - 1


#: The recipes: ``default``, the network of the published recipe below, sized by the data;
#: ``small``, two layers of 16 ReLU units under Adam at 1e-3, standardised inputs.
RECIPES = ("default", "small")

# The default recipe follows RealMLP-TD (Holzmueller, Grinsztajn and Steinwart, "Better by
# Default", NeurIPS 2024): robust scaling with smooth clipping, periodic embeddings of the
# numbers (PBLD) and learned embeddings of categories with many levels, a learned scale per
# input, three layers of 256 with a parametric activation (SELU for a classification, Mish
# for a regression) and dropout 0.15, weights that learn at lr / sqrt(fan-in) and start from
# the data, Adam (beta2 0.95) with decoupled weight decay 0.02 and a log-cosine schedule
# of the learning rate, step by step, under which dropout and weight decay fade out over
# the second half of training, label smoothing 0.1, and the best epoch on the validation
# rows, all in float32. What glassnet adds: the epochs follow the data's size (a fixed
# budget of passes over rows), and small data gets an ensemble of networks from other seeds
# and validation folds, averaged into one network.
_WIDTH = 256
_DEPTH = 3
_DROPOUT = 0.15
_EMBED = True
_INIT = "data"
_WEIGHT_DECAY = 0.02
#: The default recipe's label smoothing for a classification's cross-entropy.
LABEL_SMOOTHING = 0.1
_LR = {"classification": 0.04, "regression": 0.2}
_ACTIVATION = {"classification": "selu", "regression": "mish"}
_BATCH = 256
#: Rows trained on, summed over the epochs, that size the epochs (at least MIN_EPOCHS,
#: at most MAX_EPOCHS): PASSES for one network; ENSEMBLE_PASSES for the networks of an
#: ensemble together, which trade epochs for networks, each at most ENSEMBLE_MAX_EPOCHS
#: (three networks of 64 epochs cost less than one of RealMLP-TD's 256, and scored as
#: three of 128 did on the quality benchmark's small sets: docs/quality.md).
PASSES = 500_000
ENSEMBLE_PASSES = 250_000
MIN_EPOCHS, MAX_EPOCHS = 8, 128
ENSEMBLE_MAX_EPOCHS = 64
#: The fewest optimizer steps a network of the default recipe takes: its learning rate
#: rises from 0 over the first fifteenth of training (CosLog), which fewer steps skip,
#: and a first step at the full rate wrecked a network (validation R² -27 after two
#: epochs of one batch of 240 rows; 0.82 in batches of 7). Batches
#: shrink to reach it when few epochs are given on few rows; the default epochs reach
#: it on every quality benchmark set.
MIN_STEPS = 64
#: At most this many training rows: an ensemble of ENSEMBLE networks.
ENSEMBLE_ROWS = 3_000
ENSEMBLE = 3
#: A categorical column with more levels than this is embedded (RealMLP's one-hot limit).
EMBED_LEVELS = 8
#: The most training rows the layers that start from the data (``Dense(init="data")``)
#: look at (:meth:`Training.start_rows`).
START_ROWS = 2048


class ValidationError(Callback):
    """Records ``history.metrics["val_error"]`` each epoch: the share of validation rows
    whose most probable class is not their class. It needs the validation data the fit
    was given, which it takes from the loop's ``validation`` hand-over (see
    :meth:`begin`)."""

    def __init__(self):
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.measure: Callable[[Network], float] | None = None

    def begin(self, X_val: np.ndarray, y_val: np.ndarray) -> None:
        """The validation rows and their class indices."""
        self.X, self.y = X_val, np.asarray(y_val).reshape(-1)

    def measured_by(self, measure: Callable[[Network], float]) -> None:
        """Validation rows held elsewhere (a cluster's workers): ``measure(net)`` gives
        the share of them ``net`` gets wrong."""
        self.measure = measure

    def on_epoch_end(self, net, history):
        if self.measure is not None:
            error = self.measure(net)
        elif self.X is None or self.y is None:
            return None
        else:
            # the outputs the loop's validation loss was measured on, when it kept them
            # (the same rows: begin() is given the fit's validation data); else a forward
            outputs = history.val_outputs
            if outputs is None or len(outputs) != len(self.y):
                outputs = net.predict(self.X)
            error = float((outputs.argmax(axis=1) != self.y).mean())
        history.metrics.setdefault("val_error", []).append(error)
        return None


class TrainingWarning(UserWarning):
    """What a training summary notes of the model it trained (``model.info["warnings"]``,
    each also warned when the model is trained): the model overfits, a column carries
    nothing, the model predicts worse than the mean would."""


class OverfittingWarning(TrainingWarning):
    """The validation loss rose while the training loss fell, and nothing stopped it."""


_R = TypeVar("_R", bound="Recipe")  # a Recipe, or one of a class that extends it


@dataclass(frozen=True)
class Recipe:
    """The options of training a TabularModel, checked when the recipe is made.

    A field left at None (``batch_size``: ``"auto"``) is chosen by the ``recipe`` from
    the data's size, task and columns (:meth:`resolved`); a value given overrides it.

    Parameters
    ----------
    recipe : str
        One of :data:`RECIPES`: ``"default"`` (see the module's source for what it is
        made of and where it comes from) or ``"small"`` (16-16 ReLU, the earlier default).
    hidden, activation : sequence of int, str
        The hidden layers' sizes (none: a linear model) and activation.
    ensemble : int, optional
        Networks trained from other seeds and validation folds and averaged into one
        (default recipe: 3 on at most 3,000 training rows, else 1).
    scaling : "robust" or "standard", optional
        How numbers are scaled (see :class:`~.encoding.FeatureEncoder`).
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
    verbose : 0, 1 or 2
        Progress while each network trains: none, a bar (tqdm's), or a line per epoch
        (as :meth:`Network.fit <glassnet.network.Network.fit>` takes it).

    Raises
    ------
    PreprocessingError
        For an option out of its range, naming it.
    """

    #: The optimizers this way of training offers (a cluster adds L-BFGS).
    optimizers: ClassVar[tuple[str, ...]] = ("adam", "sgd")

    recipe: str = "default"
    hidden: Sequence[int] | None = None
    activation: str | None = None
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float | None = None
    epochs: int | None = None
    batch_size: int | str | None = "auto"
    val_split: float = 0.2
    early_stopping: bool = True
    patience: int | None = None
    ensemble: int | None = None
    scaling: str | None = None
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
    verbose: int = 0

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise PreprocessingError(
                f"unknown recipe {self.recipe!r}; choose {' or '.join(RECIPES)}"
            )
        hidden = self.hidden
        if is_integer(hidden):
            object.__setattr__(self, "hidden", (int(hidden),))  # one layer (a frozen dataclass)
        elif hidden is not None and (
            not isinstance(hidden, (Sequence, np.ndarray))
            or isinstance(hidden, str)
            or not all(is_integer(h) for h in hidden)
        ):
            raise PreprocessingError(
                f"hidden is the sizes of the hidden layers, a list of whole numbers such as "
                f"[256, 256] (or one number), got {hidden!r}"
            )
        elif hidden is not None and any(int(h) < 1 for h in hidden):
            raise PreprocessingError(f"hidden layer sizes must be positive, got {list(hidden)}")
        if self.verbose not in (0, 1, 2) or not isinstance(self.verbose, (int, np.integer)):
            raise PreprocessingError(f"verbose must be 0, 1 or 2, got {self.verbose!r}")
        if self.epochs is not None and self.epochs < 1:
            raise PreprocessingError(f"epochs must be at least 1, got {self.epochs}")
        batch = self.batch_size
        if batch not in (None, "auto") and (not is_integer(batch) or batch < 1):
            raise PreprocessingError(f"the batch size must be a positive integer, got {batch!r}")
        if not 0 <= self.val_split < 1:
            raise PreprocessingError(
                f"the validation split must be in [0, 1), got {self.val_split}"
            )
        if self.patience is not None and self.patience < 1:
            raise PreprocessingError(f"patience must be at least 1, got {self.patience}")
        if self.ensemble is not None and (not is_integer(self.ensemble) or self.ensemble < 1):
            raise PreprocessingError(
                f"the ensemble must be a positive number of networks, got {self.ensemble!r}"
            )
        if self.scaling not in (None, "robust", "standard"):
            raise PreprocessingError(f"unknown scaling {self.scaling!r}; choose robust or standard")
        seed = self.seed
        if seed is not None and (not is_integer(seed) or not 0 <= seed <= SEED_MAX):
            raise PreprocessingError(
                f"the seed must be an integer from 0 to 2**32 - 1 ({SEED_MAX}), got {seed!r}"
            )
        formats = self.date_format
        for fmt in [formats] if isinstance(formats, str) else (formats or {}).values():
            try:
                check_format(fmt)
            except ValueError as exc:
                raise PreprocessingError(f"{option('date_format', fmt)}: {exc}") from None
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
        if self.optimizer == "lbfgs" and self.batch_size not in (None, "auto"):
            raise PreprocessingError("L-BFGS trains on the full batch: it takes no batch size")
        if self.task not in ("auto", "classification", "regression"):
            raise PreprocessingError(
                f"unknown task {self.task!r}; choose classification or regression"
            )
        self.feature_encoder()  # max_categories, and no column both categorical and numeric

    @classmethod
    def from_options(
        cls: type[_R], options: Mapping[str, Any], caller: str, *, without: Sequence[str] = ()
    ) -> _R:
        """The recipe of a function's keyword ``options``, refusing a name that is no
        option, or one of those the function does ``without``, as Python would."""
        known = {f.name for f in fields(cls)} - set(without)
        for name in options:
            if name not in known:
                raise TypeError(
                    f"{caller}() got an unexpected keyword argument {name!r}"
                    + did_you_mean(name, sorted(known))
                )
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
                    f"{name!r} is the target; its kind is set with {option('task')}, not as a "
                    "feature kind"
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
                        f"{option('date_format', {name: self.date_format[name]})} names column "
                        f"{name!r}, which is not a feature"
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
                more = exc.message  # its fixes still marked, spelled where it is shown
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
        self,
        n: int,
        classes: np.ndarray | None = None,
        part: int | None = None,
        member: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices of ``n`` rows (see :func:`split_rows`),
        seeded with ``seed``, with ``part`` for one partition of many, and with ``member``
        for the other networks of an ensemble (each holds out other rows)."""
        seed: int | list[int] | None
        if member:
            seed = None if self.seed is None else [self.seed, 2**32 - 1, member]
        else:  # unseeded (None), a partition is split unseeded too
            seed = self.seed if part is None or self.seed is None else [self.seed, part]
        return split_rows(n, self.val_split, np.random.default_rng(seed), classes)

    def check_training_rows(self, n_train: int) -> None:
        """Refuse a split that leaves no training rows (``n_train`` is their number)."""
        if not n_train:
            raise PreprocessingError(_no_training_rows(self.val_split))

    def feature_encoder(self) -> FeatureEncoder:
        """An unfitted FeatureEncoder with these options."""
        default = self.recipe == "default"
        return FeatureEncoder(
            impute=self.impute,
            max_categories=self.max_categories,
            categorical=self.categorical,
            numeric=self.numeric,
            date_format=self.date_format,
            scaling=self.scaling or ("robust" if default else "standard"),
            indicators=default,
            embed_levels=EMBED_LEVELS if default else None,
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

    def resolved(self, task: str, n_rows: int) -> Recipe:
        """This recipe with every choice it leaves open made, for ``n_rows`` training rows
        of a ``task`` ("classification" or "regression"): what :meth:`training` builds."""
        if self.recipe == "small":
            chosen: dict[str, Any] = {
                "hidden": (16, 16),
                "activation": "relu",
                "epochs": 200,
                "batch_size": 32,
                "patience": 10,
                "ensemble": 1,
            }
        else:
            ensemble = self.ensemble or (ENSEMBLE if n_rows <= ENSEMBLE_ROWS else 1)
            budget = PASSES if ensemble == 1 else ENSEMBLE_PASSES
            per_network = budget // max(1, n_rows * ensemble)
            most = MAX_EPOCHS if ensemble == 1 else ENSEMBLE_MAX_EPOCHS
            epochs = self.epochs or min(most, max(MIN_EPOCHS, per_network))
            batch = _BATCH
            if n_rows and epochs * -(-n_rows // batch) < MIN_STEPS:
                # fewer steps than the schedule needs to warm up (few epochs given, on
                # few rows): smaller batches, so that training takes MIN_STEPS of them
                batch = max(1, n_rows // -(-MIN_STEPS // epochs))
            chosen = {
                "hidden": (_WIDTH,) * _DEPTH,
                "activation": _ACTIVATION[task],
                "epochs": epochs,
                "batch_size": batch,
                "patience": epochs,  # every epoch of the budget; the best one is kept
                "ensemble": ensemble,
            }
        if self.optimizer == "lbfgs":
            chosen["batch_size"] = None
        chosen["scaling"] = "robust" if self.recipe == "default" else "standard"
        unset = {"batch_size": "auto"}
        return replace(
            self,
            **{k: v for k, v in chosen.items() if getattr(self, k) == unset.get(k, None)},
        )

    def training(
        self,
        target: TargetEncoder,
        n_inputs: int,
        *,
        n_rows: int | None = None,
        n_validation: int = 0,
        callbacks: Sequence[Callback] = (),
        features: FeatureEncoder | None = None,
        member: int = 0,
    ) -> Training:
        """The network for ``n_inputs`` encoded ``features`` and a fitted ``target``, and
        how to train it on ``n_rows`` rows: the one place that sizes them, for every way
        of training (see :meth:`resolved`). ``member`` numbers the networks of an
        ensemble, each from its own seed. Early stopping comes after ``callbacks``, and
        watches the validation loss when there are ``n_validation`` rows, else the
        training loss."""
        recipe = self.resolved(target.task, n_rows or 0)
        # resolved() chose every one of these that was left open
        assert recipe.hidden is not None and recipe.activation is not None
        assert recipe.epochs is not None and recipe.patience is not None
        classification = target.task == "classification"
        layers: list[Layer]
        seed = self.seed if member == 0 or self.seed is None else [self.seed, member]
        rng = np.random.default_rng(seed) if isinstance(seed, list) else seed
        if recipe.recipe == "small":
            output = Dense(target.n_outputs, "softmax" if classification else "identity")
            layers = [Dense(h, recipe.activation) for h in recipe.hidden]
            layers.append(output)
            network = Network(layers, seed=rng).build(n_inputs)
            loss: str | _losses.Loss = recipe.loss_for(target)
            schedule = None
        else:
            layers = self._layers(recipe, target, n_inputs, features)
            network = Network(layers, seed=rng).build(n_inputs, np.float32)
            loss = recipe.loss_for(target)
            if smoothing_of(recipe.recipe, loss):
                loss = _losses.CrossEntropy(smoothing_of(recipe.recipe, loss))
            schedule = None if recipe.optimizer == "lbfgs" else CosLog(4, fade=True)
        callbacks = list(callbacks)
        if recipe.early_stopping:
            monitor = "val_loss" if n_validation else "loss"
            if recipe.recipe == "default" and classification and n_validation:
                callbacks.append(ValidationError())  # RealMLP's choice of the best epoch
                monitor = "val_error"
            callbacks.append(
                EarlyStopping(monitor=monitor, patience=recipe.patience, restore_best=True)
            )
        callbacks = list(with_verbose(callbacks, recipe.verbose, recipe.epochs))
        optimizer = recipe.make_optimizer(classification)
        return Training(
            network,
            loss,
            optimizer,
            recipe.epochs,
            _batch(recipe.batch_size, n_rows),
            callbacks,
            schedule,
            recipe,
            repr(optimizer),
        )

    @staticmethod
    def _layers(
        recipe: Recipe, target: TargetEncoder, n_inputs: int, features: FeatureEncoder | None
    ) -> list[Layer]:
        """The default recipe's layers: embeddings, a scale per input, then each hidden
        layer (weights learning at lr / sqrt(fan-in), started from the data) with its
        parametric activation and dropout, and the output layer."""
        assert recipe.hidden is not None and recipe.activation is not None  # a resolved recipe
        numeric, categorical = features.embedding_inputs() if features is not None else ([], [])
        if not _EMBED:
            numeric = []
        layers: list[Layer] = []
        width = n_inputs
        if numeric or categorical:
            embedding = Embedding(numeric, categorical, 16, 4, 0.1, 8, lr_factor=0.1)
            layers.append(embedding)
            width = embedding.output_size(n_inputs)
        layers.append(Scale(lr_factor=6.0))
        for units in recipe.hidden:
            factor = 1.0 / math.sqrt(width)
            layers.append(
                Dense(units, "identity", init="data", lr_factor=factor, bias_lr_factor=0.1)
            )
            layers.append(Parametric(recipe.activation, lr_factor=0.1))
            layers.append(Dropout(_DROPOUT))
            width = units
        classification = target.task == "classification"
        layers.append(
            Dense(
                target.n_outputs,
                "softmax" if classification else "identity",
                init="data",
                lr_factor=1.0 / math.sqrt(width),
                bias_lr_factor=0.1,
            )
        )
        return layers

    def make_optimizer(self, classification: bool = True) -> Optimizer:
        """A fresh optimizer of this recipe's kind and learning rate."""
        if self.optimizer == "lbfgs":
            return LBFGS()
        if self.recipe == "default":
            task = "classification" if classification else "regression"
            lr = self.lr if self.lr is not None else _LR[task]
            if self.optimizer == "adam":
                return Adam(lr, beta2=0.95, weight_decay=_WEIGHT_DECAY)
            return SGD(lr, momentum=0.9)
        if self.optimizer == "adam":
            return Adam(self.lr if self.lr is not None else 1e-3)
        return SGD(self.lr if self.lr is not None else 0.01, momentum=0.9)

    # -- the summary ----------------------------------------------------------------------------

    def description(
        self, training: Training, features: FeatureEncoder, target: TargetEncoder
    ) -> dict[str, Any]:
        """What a model's summary says of its columns, task and network (the network's
        own layers, so a size :meth:`training` chose is the size told)."""
        recipe = training.recipe
        assert recipe is not None  # Recipe.training gives each Training its recipe
        loss = training.loss
        return {
            "columns": list(features.names),
            "kinds": features.kinds,
            "task": target.task,
            "task_given": recipe.task != "auto",
            "loss": loss if isinstance(loss, str) else loss.name,
            "optimizer": training.optimizer_text or repr(training.optimizer),
            "hidden": list(recipe.hidden or ()),
            "activation": recipe.activation or "",
            "recipe": recipe.recipe,
            "ensemble": int(recipe.ensemble or 1),
            "batch_size": training.batch_size,
            "epoch_budget": int(training.epochs),
            "patience": int(recipe.patience) if recipe.early_stopping and recipe.patience else None,
            "schedule": repr(training.schedule) if training.schedule is not None else "constant",
            "scaling": features.scaling,
            "layers": [repr(layer) for layer in training.network.layers],
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

        Its notes (:func:`overfitting`, :func:`weak_spots`) are kept in ``"warnings"``
        in Python's words, and in ``"warnings_marked"`` with their fixes marked
        (:mod:`.fixes`) for another face to spell; with ``warn``, they are also warned at
        the caller's caller: an :class:`OverfittingWarning`, or another
        :class:`TrainingWarning`.
        """
        measured, held_out = train.result(), validation.result()
        overfits = overfitting(history, self.early_stopping)
        notes = overfits + weak_spots(features, measured, held_out, training)
        said = [spell(note) for note in notes]  # in Python's words
        if warn:
            for note, text in zip(notes, said):
                category = OverfittingWarning if note in overfits else TrainingWarning
                warnings.warn(text, category, stacklevel=3)
        return {
            "data": source,
            "rows": int(rows),
            "dropped_missing_target": int(dropped),
            "na_values": list(self.na_values),
            "training_rows": int(train.n),
            "validation_rows": int(validation.n),
            "stratified": bool(target.task == "classification" and validation.n),
            **self.description(training, features, target),
            **history_summary(history),
            "train_metrics": measured,
            "validation_metrics": held_out,
            "warnings": said,
            "warnings_marked": notes,  # the same, for another face to spell (.fixes)
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
    loss: str | _losses.Loss
    optimizer: Optimizer
    epochs: int
    batch_size: int | None
    callbacks: list[Callback]
    schedule: Schedule | None = None
    recipe: Recipe | None = None
    #: The optimizer as it starts (its repr; a schedule changes its rate as training goes).
    optimizer_text: str = ""

    @property
    def dtype(self) -> np.dtype:
        """The float type the network computes in (the encoded data's, to train on)."""
        return np.dtype(self.network.dtype)

    def begin(self, X: np.ndarray, validation=None) -> None:
        """Start the layers that start from the data (``Dense(init="data")``) from up to
        :data:`START_ROWS` of the training rows ``X`` (:meth:`start_rows`); hand the
        ``validation`` (X, y) to the callbacks that measure it."""
        for callback in self.callbacks:
            if isinstance(callback, ValidationError) and validation is not None:
                callback.begin(*validation)
        rows = self.start_rows(len(X))
        if rows is not None:
            self.network.initialize_from(X if len(rows) == len(X) else X[rows])

    def start_rows(self, n: int) -> np.ndarray | None:
        """The positions (sorted) of the rows, among ``n`` training rows, that the layers
        starting from the data start from: every row up to :data:`START_ROWS`, else that
        many drawn with the network's generator. None when no layer starts from the data
        (nothing is drawn then)."""
        if not any(getattr(layer, "from_data", False) for layer in self.network.layers):
            return None
        if n <= START_ROWS:
            return np.arange(n)
        return np.sort(self.network.rng.choice(n, START_ROWS, replace=False))


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
    """Refuse a table without the ``target`` column, naming the columns it has, and a
    target that is not a column's name (the target's values, given as scikit-learn's
    ``fit(X, y)`` takes them)."""
    if not isinstance(target, str):
        hint = (
            f"; its columns are named as text: give {str(target)!r}"
            if str(target) in names
            else "; to train on features X and target values y, give "
            "fit(X.assign(target=y), 'target')"
        )
        raise TypeError(
            f"the target is the name of the table's target column, given as text; got "
            f"{type(target).__name__}{_short(target)}{hint}"
        )
    if target not in names:
        raise PreprocessingError(_no_such_column(target, names, "target column"))


def _batch(size: int | str | None, n_rows: int | None) -> int | None:
    """The batch size: the recipe's, at most the rows when they are known (a network
    trained by partial_fit sees its rows a chunk at a time, so its batches are the
    recipe's whatever the chunk)."""
    if size is None:
        return None
    return int(size) if not n_rows else min(int(size), n_rows)


def _short(value: Any) -> str:
    """`` (value)`` when its text is short and on one line, else nothing."""
    text = repr(value)
    return f" ({text})" if len(text) <= 40 and "\n" not in text else ""


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
            f"Early stopping, the default ({option('early_stopping')}), would keep epoch "
            f"{best + 1}'s weights"
        ]
    return []


def weak_spots(
    features: FeatureEncoder,
    train: Mapping[str, float],
    validation: Mapping[str, float],
    training: Training,
) -> list[str]:
    """Notes on what a trained model cannot be trusted with: feature columns that held
    one value in every training row (nothing to learn from), and a regression that
    predicts its validation rows (or, without them, its training rows) worse than their
    mean would (R² below 0)."""
    notes = []
    if constant := features.constant:
        one = len(constant) == 1
        named = ", ".join(map(repr, constant))
        notes.append(
            f"{'column' if one else 'columns'} {named} held one value in every training row: "
            f"{'it carries' if one else 'they carry'} nothing to learn from; leave "
            f"{'it' if one else 'them'} out with {option('ignore', constant)}"
        )
    which, measured = ("validation", validation) if validation else ("training", train)
    r2 = measured.get("r2")
    if r2 is not None and math.isfinite(r2) and r2 < 0:
        notes.append(
            f"the {which} R² is {r2:.4g}, below 0: the model predicts those rows worse "
            f"than their mean would; train it longer ({option('epochs', 2 * training.epochs)}"
            "), or check that the features can tell the target"
        )
    return notes


def describe_recipe(info: Mapping[str, Any]) -> str:
    """One line of what a model's summary (``model.info``) says the recipe chose: the
    network, the optimizer, the schedule, the epochs and batches, the ensemble."""
    if "recipe" not in info:  # a model trained before recipes were stated
        hidden = " x ".join(map(str, info.get("hidden", []))) or "no hidden layer"
        return f"network: {hidden} ({info.get('activation', '')}), {info.get('optimizer', '')}"
    hidden = info["hidden"]
    if len(set(hidden)) == 1 and len(hidden) > 1:
        layers = f"{len(hidden)} x {hidden[0]}"
    else:
        layers = " x ".join(map(str, hidden)) or "no hidden layer"
    batch = "full batch" if info["batch_size"] is None else f"batches of {info['batch_size']}"
    parts = [
        f"recipe {info['recipe']}: {layers} ({info['activation']})",
        f"{info['optimizer']}, {info['schedule']}",
        f"{info['epoch_budget']} epoch{'' if info['epoch_budget'] == 1 else 's'} of {batch}",
        f"{info['scaling']} scaling",
    ]
    if any(layer.startswith("Embedding") for layer in info.get("layers", [])):
        parts.insert(1, "embeddings")
    if info["ensemble"] > 1:
        parts.append(f"an ensemble of {info['ensemble']} networks")
    return ", ".join(parts)


def smoothing_of(recipe: str, loss: Any) -> float:
    """The label smoothing a recipe trains a loss with (0: none): the default recipe's
    cross-entropy is against labels smoothed by :data:`LABEL_SMOOTHING`."""
    return LABEL_SMOOTHING if recipe == "default" and loss == "cross_entropy" else 0.0


def smoothing_note(info: Mapping[str, Any]) -> str:
    """What a summary's losses are measured against, when that is not the labels
    themselves (so not ``evaluate``'s log loss): "" or " (against labels smoothed by e)"."""
    smoothing = smoothing_of(info.get("recipe", ""), info.get("loss"))
    return f" (against labels smoothed by {smoothing:g})" if smoothing else ""


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
