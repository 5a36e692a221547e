"""A model for a table: preprocessing, a Network, and the target's labels or scale, in one file.

This is what ``glassnet train`` builds and ``glassnet predict`` uses. In Python::

    import pandas as pd, glassnet
    frame = pd.read_csv("iris.csv")            # or a polars or pyarrow table
    model, history = glassnet.TabularModel.fit(frame, target="species", epochs=200,
                                               early_stopping=True)
    model.save("iris.glassnet")
    glassnet.load("iris.glassnet").predict(frame)   # labels, as the data spells them

The preprocessing (scaling, levels, imputation, target scaling) is fitted on the
training rows only; the validation rows (stratified by class for a classification)
are held out of everything but the validation loss. Columns are matched by name, so
a prediction applies exactly the preprocessing the training did. ``predict``,
``predict_proba``, ``transform`` and ``evaluate`` take any table (a list of records
too) and raise :class:`PreprocessingError` (a ValueError) naming the column and the
problem.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..layers import Dense
from ..network import Network
from ..optimizers import SGD, Adam
from ..training import Callback, EarlyStopping, History
from .columns import as_columns
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder, refuse_missing
from .metrics import ClassificationMetrics, RegressionMetrics, metrics

__all__ = ["TabularModel", "OverfittingWarning"]


class OverfittingWarning(UserWarning):
    """The validation loss rose while the training loss fell, and nothing stopped it."""


class TabularModel:
    """Feature preprocessing, a Network and a target encoder.

    Attributes
    ----------
    network : Network
    features : FeatureEncoder
    target : TargetEncoder
    info : dict
        How the model was trained: data, rows, epochs, the restored epoch and its
        losses, metrics, warnings, date.
    """

    _model_file_kind = "tabular"

    def __init__(
        self,
        network: Network,
        features: FeatureEncoder,
        target: TargetEncoder,
        info: dict | None = None,
    ):
        self.network = network
        self.features = features
        self.target = target
        self.info = dict(info or {})

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        frame,
        target: str,
        *,
        hidden: Sequence[int] = (16, 16),
        activation: str = "relu",
        loss: str = "auto",
        optimizer: str = "adam",
        lr: float | None = None,
        epochs: int = 200,
        batch_size: int | None = 32,
        val_split: float = 0.2,
        early_stopping: bool = False,
        patience: int = 10,
        seed: int | None = 0,
        impute: bool = False,
        task: str = "auto",
        features: Sequence[str] | None = None,
        ignore: Sequence[str] = (),
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        max_categories: int | None = None,
        drop_missing_target: bool = False,
        callbacks: Sequence[Callback] = (),
        source: str | None = None,
        where: tuple[str, Any] = ("row", 1),
    ) -> tuple[TabularModel, History]:
        """Train on a table: a pandas, polars or pyarrow table, a mapping of columns, or a
        list of records.

        Parameters
        ----------
        target : the column to predict
        val_split : the fraction of rows held out for validation (stratified by class)
        early_stopping : stop when the validation loss has not improved for ``patience``
            epochs, and restore the weights of its best epoch
        features, ignore : the feature columns (default: all but the target), or the
            columns to leave out
        categorical, numeric : columns whose kind is forced
        max_categories : at most this many one-hot columns per categorical feature
        drop_missing_target : drop rows without a target instead of refusing them
        where : how messages number the rows, (unit, first row's number)

        Raises
        ------
        PreprocessingError
            For anything wrong with the data or the options, naming it.
        NonFiniteLossError
            If the loss, the validation loss or the weights stop being finite.
        """
        cols = as_columns(frame)
        names = cols.names
        feature_names = _choose_features(names, target, features, ignore, categorical, numeric)
        numbers = _row_numbers(where, cols.n_rows)
        y_raw = cols[target]
        dropped = 0
        if drop_missing_target:
            from .columns import missing_mask

            keep = ~missing_mask(y_raw)
            dropped = int((~keep).sum())
            if dropped:
                cols = cols.take(keep)
                numbers = numbers[keep]
                y_raw = cols[target]
        n_rows = cols.n_rows
        where_all = (where[0], numbers)
        if n_rows < 2:
            raise PreprocessingError(
                f"the data has {n_rows} row{'s' * (n_rows != 1)}"
                + (f" with a target ({dropped} dropped)" if dropped else "")
                + "; training needs at least 2"
            )
        _check_options(hidden, epochs, val_split, patience, lr)
        if not impute:
            refuse_missing(cols, feature_names, where_all)
        target_enc = TargetEncoder.fit(target, y_raw, task, where=where_all)
        classification = target_enc.task == "classification"
        loss = _choose_loss(loss, classification)

        rng = np.random.default_rng(seed)
        classes = target_enc.class_indices(y_raw) if classification else None
        train_idx, val_idx = _split(n_rows, val_split, rng, classes)
        if not classification:
            target_enc = TargetEncoder.fit(
                target, y_raw, "regression", scale_rows=train_idx, where=where_all
            )

        feature_enc = FeatureEncoder(
            impute=impute,
            max_categories=max_categories,
            categorical=categorical,
            numeric=numeric,
        ).fit(cols.take(train_idx), feature_names, where=(where[0], numbers[train_idx]))
        feature_enc.check_memory(n_rows, np.float64)
        X, _ = feature_enc.transform(cols, where=where_all)
        y = target_enc.encode(y_raw, where=where_all)

        out = Dense(target_enc.n_outputs, "softmax" if classification else "identity")
        net = Network([Dense(h, activation) for h in hidden] + [out], seed=seed)
        if optimizer == "adam":
            opt = Adam(lr if lr is not None else 1e-3)
        elif optimizer == "sgd":
            opt = SGD(lr if lr is not None else 0.01, momentum=0.9)
        else:
            raise PreprocessingError(f"unknown optimizer {optimizer!r}; choose adam or sgd")

        n_val = len(val_idx)
        X_train, y_train = X[train_idx], y[train_idx]
        validation = (X[val_idx], y[val_idx]) if n_val else None
        callbacks = list(callbacks)
        if early_stopping:
            callbacks.append(
                EarlyStopping(
                    monitor="val_loss" if n_val else "loss", patience=patience, restore_best=True
                )
            )
        history = net.fit(
            X_train,
            y_train,
            loss=loss,
            optimizer=opt,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            validation_data=validation,
            callbacks=callbacks,
        )
        del X_train, y_train, validation
        model = cls(net, feature_enc, target_enc)
        output = net.predict(X)
        if classification:
            predicted, truth = np.argmax(output, axis=1), y
        else:
            predicted, truth = target_enc.decode(output), target_enc.decode(y)
        train_metrics = metrics(target_enc.task, truth[train_idx], predicted[train_idx])
        val_metrics = metrics(target_enc.task, truth[val_idx], predicted[val_idx]) if n_val else {}
        notes = _overfitting(history, early_stopping)
        for note in notes:
            warnings.warn(note, OverfittingWarning, stacklevel=2)
        model.info = {
            "data": source,
            "rows": int(n_rows),
            "dropped_missing_target": dropped,
            "training_rows": int(len(train_idx)),
            "validation_rows": int(n_val),
            "stratified": bool(classification and n_val),
            "columns": list(feature_names),
            "kinds": feature_enc.kinds,
            "task": target_enc.task,
            "loss": loss,
            "optimizer": repr(opt),
            "hidden": list(hidden),
            "activation": activation,
            **history_summary(history),
            "train_metrics": train_metrics,
            "validation_metrics": val_metrics,
            "warnings": notes,
            "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        model._history = history
        return model, history

    # -- prediction -------------------------------------------------------------------------

    def transform(self, frame, *, where: tuple[str, Any] = ("row", 1)) -> tuple[np.ndarray, list]:
        """The network's input for a table (n_rows, n_inputs), and warnings about values
        never seen in training."""
        return self.features.transform(frame, dtype=self.network.dtype, where=where)

    def predict(self, frame, *, where: tuple[str, Any] = ("row", 1)) -> np.ndarray:
        """Labels (as the training data spelled them) or numbers in the target's units."""
        X, _ = self.transform(frame, where=where)
        return self.target.decode(self.network.predict(X))

    def predict_proba(self, frame, *, where: tuple[str, Any] = ("row", 1)) -> np.ndarray:
        """Class probabilities (n_rows, n_classes), columns in ``classes`` order."""
        if self.target.task != "classification":
            raise PreprocessingError("probabilities exist only for a classification model")
        X, _ = self.transform(frame, where=where)
        return self.network.predict(X)

    def evaluate(self, frame, *, where: tuple[str, Any] = ("row", 1)) -> dict[str, Any]:
        """Metrics on a table that holds the target column (see :mod:`.metrics`)."""
        cols = as_columns(frame)
        if self.target.name not in cols:
            raise PreprocessingError(
                f"the data has no target column {self.target.name!r} to measure against"
            )
        acc = self.metrics_accumulator()
        self.update_metrics(acc, cols, where=where)
        return acc.result()

    def metrics_accumulator(self):
        """An empty :class:`ClassificationMetrics` or :class:`RegressionMetrics`."""
        if self.target.task == "classification":
            return ClassificationMetrics(self.target.classes)
        return RegressionMetrics()

    def update_metrics(self, acc, frame, *, where=("row", 1), output=None) -> np.ndarray:
        """Add one chunk's truth and predictions to ``acc``; returns the network output."""
        from .columns import missing_mask, rows_text

        cols = as_columns(frame)
        truth = cols[self.target.name]
        missing = missing_mask(truth)
        if missing.any():
            raise PreprocessingError(
                f"the target column {self.target.name!r} has missing values "
                f"({rows_text(np.flatnonzero(missing), where)}); there is nothing to "
                "measure those rows against (--drop-missing-target leaves them out)"
            )
        if output is None:
            X, _ = self.transform(cols, where=where)
            output = self.network.predict(X)
        if self.target.task == "classification":
            index = self.target.class_indices(truth)
            acc.update(index, output, unknown_labels=truth)
        else:
            values = self.target.encode(truth, where=where)
            acc.update(self.target.decode(values), self.target.decode(output))
        return output

    @property
    def classes(self) -> list | None:
        return self.target.classes

    # -- the model file ---------------------------------------------------------------------

    def save(self, path) -> None:
        from .. import modelfile

        modelfile.save(self, path)

    def _model_file_payload(self) -> tuple[Network, dict]:
        return self.network, {
            "features": self.features.to_json(),
            "target": self.target.to_json(),
            "info": self.info,
        }

    @classmethod
    def _from_model_file(cls, net: Network, payload: dict, doc: dict) -> TabularModel:
        features = FeatureEncoder.from_json(payload.get("features"))
        target = TargetEncoder.from_json(payload.get("target"))
        if features.n_outputs != net.input_size:
            raise ValueError(
                f"the preprocessing makes {features.n_outputs} inputs, "
                f"but the network takes {net.input_size}"
            )
        if target.n_outputs != net.output_size:
            raise ValueError(
                f"the target has {target.n_outputs} outputs, "
                f"but the network gives {net.output_size}"
            )
        if target.name in features.names:
            raise ValueError(f"the target {target.name!r} is also a feature column")
        last = net.layers[-1].activation
        if target.task == "classification" and last != "softmax":
            raise ValueError(f"a classification model must end in softmax, not {last}")
        info = payload.get("info", {})
        if not isinstance(info, dict):
            raise ValueError("the training summary is not a JSON object")
        model = cls(net, features, target, info)
        model.info.setdefault("saved_at", doc.get("saved_at"))
        model.info.setdefault("glassnet_version", doc.get("glassnet_version"))
        return model

    def __repr__(self) -> str:
        return (
            f"TabularModel(target={self.target.name!r}, task={self.target.task!r}, "
            f"features={len(self.features.columns)}, network={self.network!r})"
        )

    def _repr_html_(self) -> str:
        """For Jupyter: the feature columns and their kinds, the layers, the target."""
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c['kind'])}</td>"
            f"<td>{esc(line.split(': ', 1)[1] if ': ' in line else line)}</td></tr>"
            for c, line in zip(self.features.columns, self.features.describe())
        )
        trained = self.info.get("epochs")
        status = (
            f"trained for {trained} epochs on {self.info.get('rows')} rows"
            if trained
            else "not trained"
        )
        restored = self.info.get("restored_epoch")
        if restored:
            status += f", weights of epoch {restored} restored"
        net_html = self.network._repr_html_() if self.network.built else esc(repr(self.network))
        return (
            f"<div><strong>TabularModel</strong>: {esc(self.target.describe())}; {esc(status)}"
            "<table><thead><tr><th>feature</th><th>kind</th><th>encoding</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{net_html}</div>"
        )


# -- helpers of fit --------------------------------------------------------------------------


def _no_such_column(name: str, columns: Sequence[str], what: str) -> str:
    from ..validation import did_you_mean

    shown = ", ".join(map(str, columns[:20])) + (", ..." if len(columns) > 20 else "")
    return f"no {what} {name!r}{did_you_mean(name, list(columns))}; the columns are: {shown}"


def _twice(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PreprocessingError(f"{what} names column {name!r} twice")
        seen.add(name)


def _choose_features(names, target, features, ignore, categorical, numeric) -> list[str]:
    if target not in names:
        raise PreprocessingError(_no_such_column(target, names, "target column"))
    for group, what in (
        (ignore, "column to ignore"),
        (features or (), "feature column"),
        (categorical, "categorical column"),
        (numeric, "numeric column"),
    ):
        _twice(group, f"the list of {what}s")
        for name in group:
            if name not in names:
                raise PreprocessingError(_no_such_column(name, names, what))
    if features is None:
        chosen = [c for c in names if c != target and c not in set(ignore)]
    else:
        if target in features:
            raise PreprocessingError(f"the target {target!r} cannot also be a feature")
        chosen = [c for c in features if c not in set(ignore)]
    for name in (*categorical, *numeric):
        if name == target:
            raise PreprocessingError(
                f"{name!r} is the target; its kind is set with --task, not as a feature kind"
            )
        if name not in chosen:
            raise PreprocessingError(f"column {name!r} is given a kind, but it is not a feature")
    if not chosen:
        raise PreprocessingError("there are no feature columns left to learn from")
    return chosen


def _row_numbers(where, n: int) -> np.ndarray:
    if isinstance(where[1], np.ndarray):
        return where[1]
    return np.arange(n, dtype=np.int64) + int(where[1])


def _check_options(hidden, epochs, val_split, patience, lr) -> None:
    if any(int(h) < 1 for h in hidden):
        raise PreprocessingError(f"hidden layer sizes must be positive, got {list(hidden)}")
    if epochs < 1:
        raise PreprocessingError(f"epochs must be at least 1, got {epochs}")
    if not 0 <= val_split < 1:
        raise PreprocessingError(f"the validation split must be in [0, 1), got {val_split}")
    if patience < 1:
        raise PreprocessingError(f"patience must be at least 1, got {patience}")
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise PreprocessingError(f"the learning rate must be a positive number, got {lr}")


def _choose_loss(loss: str, classification: bool) -> str:
    if loss == "auto":
        return "cross_entropy" if classification else "mse"
    if classification and loss != "cross_entropy":
        raise PreprocessingError(
            f"a classification target trains with loss 'cross_entropy', not {loss!r}"
        )
    if not classification and loss in ("cross_entropy", "bce", "poisson"):
        raise PreprocessingError(
            f"loss {loss!r} does not fit a regression target; use mse, mae or huber"
        )
    return loss


def _split(n: int, fraction: float, rng, classes) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices (sorted). For a classification (``classes``
    given) each class gives the same fraction, rounded, keeping a class with a single row
    in training."""
    if not fraction:
        return np.arange(n), np.arange(0)
    order = rng.permutation(n)
    if classes is None:
        n_val = int(round(fraction * n))
        if n_val >= n:
            raise PreprocessingError(f"the validation split {fraction} leaves no training rows")
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


def _overfitting(history: History, early_stopping: bool) -> list[str]:
    """A warning when the validation loss climbed well above its best while the training
    loss kept falling, and nothing stopped or restored it."""
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
