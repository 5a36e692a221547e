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

    model_file_kind = "tabular"

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
        dropped = 0
        if drop_missing_target:
            cols, keep = _without_missing_target(cols, target)
            if keep is not None:
                numbers, dropped = numbers[keep], int((~keep).sum())
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

        net = _network(hidden, activation, target_enc, seed)
        opt = _optimizer(optimizer, lr)

        n_val = len(val_idx)
        X_train, y_train = X[train_idx], y[train_idx]
        validation = (X[val_idx], y[val_idx]) if n_val else None
        callbacks = list(callbacks)
        if early_stopping:
            callbacks.append(_early_stopping(n_val, patience))
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
        model.info = _training_info(
            source=source,
            rows=n_rows,
            dropped=dropped,
            training_rows=len(train_idx),
            validation_rows=n_val,
            feature_names=feature_names,
            features=feature_enc,
            target=target_enc,
            loss=loss,
            optimizer=opt,
            hidden=hidden,
            activation=activation,
            history=history,
            train_metrics=train_metrics,
            validation_metrics=val_metrics,
            early_stopping=early_stopping,
        )
        model._history = history
        return model, history

    @classmethod
    def fit_stream(
        cls,
        path: str,
        target: str,
        *,
        chunk_rows: int = 65_536,
        buffer_rows: int = 65_536,
        max_validation_rows: int = 100_000,
        read_options=None,
        **options,
    ) -> tuple[TabularModel, History]:
        """Train on a data file read ``chunk_rows`` rows at a time, never whole.

        Takes :meth:`fit`'s options (``batch_size`` must be a number). A first pass
        fits the preprocessing on the training rows and chooses the held-out rows (a
        stratified split that is the same whatever ``chunk_rows``); each epoch then reads
        the file again and trains on its rows through a shuffle buffer of
        ``buffer_rows`` rows. Of the held-out rows, at most ``max_validation_rows``
        (a seeded random sample) measure the validation loss, kept encoded in memory;
        held-out rows beyond those are trained on. ``read_options`` is a
        :class:`~.reading.ReadOptions`. The model is the same kind as :meth:`fit`'s.
        See :mod:`.streaming` for the passes and what bounds the memory.
        """
        from .streaming import fit_file

        return fit_file(
            path,
            target,
            options,
            chunk_rows=chunk_rows,
            buffer_rows=buffer_rows,
            max_validation_rows=max_validation_rows,
            read_options=read_options,
        )

    @classmethod
    def untrained(
        cls,
        target: str,
        *,
        hidden: Sequence[int] = (16, 16),
        activation: str = "relu",
        loss: str = "auto",
        optimizer: str = "adam",
        lr: float | None = None,
        batch_size: int = 32,
        seed: int | None = 0,
        impute: bool = False,
        task: str = "auto",
        classes: Sequence | None = None,
        features: Sequence[str] | None = None,
        ignore: Sequence[str] = (),
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        max_categories: int | None = None,
    ) -> TabularModel:
        """A model to train chunk by chunk with :meth:`partial_fit`.

        Its preprocessing is fitted by :meth:`fit_statistics` (a first pass over all the
        chunks) or, without that, by the first :meth:`partial_fit` call, from that chunk
        alone: then later chunks are encoded with the first chunk's scales and levels,
        a value the first chunk lacks is encoded as an unseen one (all zeros, or
        "other"), and a class it lacks is an error unless ``classes`` lists them all.
        """
        _check_options(hidden, 1, 0.0, 1, lr)
        if classes is not None:
            task = "classification"
        model = cls(
            Network([Dense(1)]),  # replaced once the preprocessing is known
            FeatureEncoder(
                impute=impute,
                max_categories=max_categories,
                categorical=categorical,
                numeric=numeric,
            ),
            TargetEncoder(target, task),
        )
        model._incremental = {
            "hidden": list(hidden),
            "activation": activation,
            "loss": loss,
            "optimizer": _optimizer(optimizer, lr),
            "batch_size": int(batch_size),
            "seed": seed,
            "classes": None if classes is None else list(classes),
            "choice": (features, ignore, categorical, numeric),
            "rows": 0,
        }
        return model

    def _incremental_state(self) -> dict:
        state = getattr(self, "_incremental", None)
        if state is None:
            raise PreprocessingError(
                "partial_fit trains a model made by TabularModel.untrained(target, ...)"
            )
        return state

    def fit_statistics(self, chunks, *, where: tuple[str, Any] = ("row", 1)) -> TabularModel:
        """Fit the preprocessing on every chunk (an iterable of tables, for example
        ``iter_chunks(path)``), before :meth:`partial_fit` trains on them. ``where``
        numbers the first chunk's rows; later ones continue the count."""
        state = self._incremental_state()
        if self.features.columns:
            raise PreprocessingError("the preprocessing is already fitted")
        unit, first = where
        for cols in map(as_columns, chunks):
            self._accumulate(cols, state, (unit, first))
            first += cols.n_rows
        self._finish_statistics(state)
        return self

    def _accumulate(self, cols, state: dict, where) -> None:
        target = self.target.name
        if state.get("names") is None:
            state["names"] = _choose_features(cols.names, target, *state["choice"])
        if target not in cols:
            raise PreprocessingError(_no_such_column(target, cols.names, "target column"))
        if not self.features.impute:
            refuse_missing(cols, state["names"], where)
        self.features.partial_fit(cols, state["names"], where=where)
        if state["classes"] is None:
            self.target.partial_fit(cols[target], where=where)

    def _finish_statistics(self, state: dict) -> None:
        self.features.finish()
        if state["classes"] is not None:
            classes = TargetEncoder.fit(self.target.name, np.asarray(state["classes"], object))
            self.target = classes
        else:
            self.target.finish()
        state["loss"] = _choose_loss(state["loss"], self.target.task == "classification")
        self.network = _network(state["hidden"], state["activation"], self.target, state["seed"])
        self.network.build(self.features.n_outputs)

    def partial_fit(
        self, frame, *, epochs: int = 1, where: tuple[str, Any] = ("row", 1)
    ) -> History:
        """Train on one chunk (a table with the target column): ``epochs`` passes of
        shuffled mini-batches, the optimizer's state carried from call to call. The
        first call fits the preprocessing on this chunk unless :meth:`fit_statistics`
        did. Returns the chunk's History."""
        state = self._incremental_state()
        cols = as_columns(frame)
        if not self.features.columns:
            self._accumulate(cols, state, where)
            self._finish_statistics(state)
        if self.target.name not in cols:
            raise PreprocessingError(_no_such_column(self.target.name, cols.names, "target column"))
        X, _ = self.transform(cols, where=where)
        y = self.target.encode(cols[self.target.name], where=where)
        history = self.network.fit(
            X,
            y,
            loss=state["loss"],
            optimizer=state["optimizer"],
            epochs=epochs,
            batch_size=state["batch_size"],
            shuffle=True,
        )
        state["rows"] += cols.n_rows
        self.info.update(
            rows=state["rows"],
            columns=list(self.features.names),
            kinds=self.features.kinds,
            task=self.target.task,
            loss=state["loss"],
            optimizer=repr(state["optimizer"]),
            hidden=state["hidden"],
            activation=state["activation"],
            partial_fit_calls=self.info.get("partial_fit_calls", 0) + 1,
            final_loss=history.loss[-1],
        )
        return history

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

    def model_file_payload(self) -> tuple[Network, dict]:
        return self.network, {
            "features": self.features.to_json(),
            "target": self.target.to_json(),
            "info": self.info,
        }

    @classmethod
    def from_model_file(cls, net: Network, payload: dict, doc: dict) -> TabularModel:
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


def _without_missing_target(cols, target: str):
    """(the rows that have a target, the mask that kept them or None if all have one)."""
    from .columns import missing_mask

    keep = ~missing_mask(cols[target])
    if keep.all():
        return cols, None
    return cols.take(keep), keep


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


def _network(hidden, activation: str, target: TargetEncoder, seed) -> Network:
    """The hidden layers, then softmax over the classes or one identity output."""
    classification = target.task == "classification"
    out = Dense(target.n_outputs, "softmax" if classification else "identity")
    return Network([Dense(h, activation) for h in hidden] + [out], seed=seed)


def _optimizer(name: str, lr: float | None):
    if name == "adam":
        return Adam(lr if lr is not None else 1e-3)
    if name == "sgd":
        return SGD(lr if lr is not None else 0.01, momentum=0.9)
    raise PreprocessingError(f"unknown optimizer {name!r}; choose adam or sgd")


def _early_stopping(n_val: int, patience: int) -> EarlyStopping:
    return EarlyStopping(
        monitor="val_loss" if n_val else "loss", patience=patience, restore_best=True
    )


def _training_info(
    *,
    source,
    rows,
    dropped,
    training_rows,
    validation_rows,
    feature_names,
    features,
    target,
    loss,
    optimizer,
    hidden,
    activation,
    history,
    train_metrics,
    validation_metrics,
    early_stopping,
) -> dict:
    """The training summary a model file carries (``model.info``); warns of overfitting."""
    notes = _overfitting(history, early_stopping)
    for note in notes:
        warnings.warn(note, OverfittingWarning, stacklevel=3)
    return {
        "data": source,
        "rows": int(rows),
        "dropped_missing_target": int(dropped),
        "training_rows": int(training_rows),
        "validation_rows": int(validation_rows),
        "stratified": bool(target.task == "classification" and validation_rows),
        "columns": list(feature_names),
        "kinds": features.kinds,
        "task": target.task,
        "loss": loss,
        "optimizer": repr(optimizer),
        "hidden": list(hidden),
        "activation": activation,
        **history_summary(history),
        "train_metrics": train_metrics,
        "validation_metrics": validation_metrics,
        "warnings": notes,
        "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


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
