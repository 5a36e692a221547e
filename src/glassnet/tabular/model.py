"""A model for a table: preprocessing, a Network, and the target's labels or scale, in one file.

This is what ``glassnet train`` builds and ``glassnet predict`` uses. In Python::

    import pandas as pd, glassnet
    frame = pd.read_csv("iris.csv")            # or a polars or pyarrow table
    model = glassnet.TabularModel.fit(frame, "species")   # the command line's defaults
    model.history.loss                         # how the training went
    model.save("iris.glassnet")
    glassnet.load("iris.glassnet").predict(frame)   # labels, as the data spells them

The preprocessing (scaling, levels, imputation, target scaling) is fitted on the
training rows only; the validation rows (stratified by class for a classification)
are held out of everything but the validation loss. Columns are matched by name, so
a prediction applies exactly the preprocessing the training did. ``predict``,
``predict_proba``, ``transform`` and ``evaluate`` take any table (a list of records
too) and raise :class:`PreprocessingError` (a ValueError) naming the column and the
problem; ``impute=True`` fills missing cells with the training statistics, which
every model keeps, and says how many it filled (a warning of the ``glassnet`` logger).
A row whose output is not a finite number (``-1e308`` where numbers near 1 were seen,
under standard scaling; robust scaling clips it) is refused, naming its line and
column, rather than given an empty answer. The
options of training and its steps are :mod:`.recipe`'s; this module trains in memory,
chunk by chunk, and through :mod:`.streaming` from a file.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from ..ensembles import average
from ..layers import Dense
from ..network import Network
from ..training import Callback, History
from .columns import Columns, as_columns, import_pandas, mark_missing, missing_mask, rows_text
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder
from .fixes import option
from .metrics import ClassificationMetrics, RegressionMetrics, SummaryMetrics
from .recipe import Recipe, Training, check_target
from .summary import summary_lines

__all__ = ["TabularModel", "filled_note"]

_log = logging.getLogger(__name__)

#: The options of training on the whole data at once, which partial_fit goes without.
_WHOLE_DATA_OPTIONS = ("epochs", "val_split", "early_stopping", "patience", "drop_missing_target")


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
    history : History or None
        The epochs of the training that made this model (None for a loaded model).
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
        self.history: History | None = None
        self._incremental: _Incremental | None = None

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        frame,
        target: str,
        *,
        callbacks: Sequence[Callback] = (),
        source: str | None = None,
        where: tuple[str, Any] = ("row", 1),
        **options,
    ) -> TabularModel:
        """Train on a table: a pandas, polars or pyarrow table, a mapping of columns, or a
        list of records. Returns the model; its ``history`` holds the epochs.

        Parameters
        ----------
        target : the column to predict
        callbacks : Callbacks of the training loop, before early stopping's
        source : the data's name, for the training summary
        where : how messages number the rows, (unit, first row's number)
        **options : the options of :class:`~.recipe.Recipe` (``hidden``, ``epochs``,
            ``val_split``, ``early_stopping``, ``features``, ``impute``, ``date_format``,
            ...), with its defaults, which are the command line's: 20% of the rows held
            out, early stopping on, the best epoch's weights kept

        Raises
        ------
        PreprocessingError
            For anything wrong with the data or the options, naming it (every problem
            of the data in one message).
        NonFiniteLossError
            If the loss, the validation loss or the weights stop being finite.
        """
        recipe = Recipe.from_options(options, "fit")
        ready = recipe.prepare(as_columns(frame), target, where)
        cols, where_all = ready.cols, ready.where
        feature_enc, target_enc = ready.features, ready.target
        n_rows, classification = cols.n_rows, target_enc.task == "classification"
        classes = target_enc.class_indices(cols[target]) if classification else None

        def training_of(member: int, n_train: int, n_val: int):
            return recipe.training(
                target_enc,
                feature_enc.n_outputs,
                n_rows=n_train,
                n_validation=n_val,
                callbacks=callbacks,
                features=feature_enc,
                member=member,
            )

        first = training_of(0, len(ready.train), len(ready.validation))
        X, _ = feature_enc.transform(cols, first.dtype, where=where_all)
        y = target_enc.encode(cols[target], where=where_all)
        members, histories = [], []
        held_out = np.zeros((n_rows, target_enc.n_outputs))  # each row's held-out outputs
        times_held = np.zeros(n_rows)
        for member in range(first.recipe.ensemble):
            if member == 0:
                train_idx, val_idx, training = ready.train, ready.validation, first
            else:
                train_idx, val_idx = recipe.split(n_rows, classes, member=member)
                training = training_of(member, len(train_idx), len(val_idx))
            net = training.network
            training.begin(X[train_idx], (X[val_idx], y[val_idx]) if len(val_idx) else None)
            histories.append(
                net.fit(
                    X[train_idx],
                    y[train_idx],
                    loss=training.loss,
                    optimizer=training.optimizer,
                    epochs=training.epochs,
                    batch_size=training.batch_size,
                    shuffle=True,
                    validation_data=(X[val_idx], y[val_idx]) if len(val_idx) else None,
                    callbacks=training.callbacks,
                    schedule=training.schedule,
                )
            )
            members.append(net)
            if len(val_idx):
                held_out[val_idx] += net.predict(X[val_idx])
                times_held[val_idx] += 1
        net = members[0] if len(members) == 1 else average(members)
        history = histories[0]
        # The training rows' metrics are the model's; the validation metrics are out of
        # fold: each held-out row scored by the networks that did not train on it.
        train, validation = SummaryMetrics(target_enc.task), SummaryMetrics(target_enc.task)
        train.update_outputs(target_enc, y[ready.train], net.predict(X[ready.train]))
        held = times_held > 0
        if held.any():
            mean_held = held_out[held] / times_held[held, None]
            validation.update_outputs(target_enc, y[held], mean_held)
        info = recipe.summary(
            first,
            history,
            features=feature_enc,
            target=target_enc,
            rows=n_rows,
            dropped=ready.dropped,
            train=train,
            validation=validation,
            source=source,
        )
        # rows, as each network saw them; with an ensemble the validation metrics cover
        # every fold's held-out rows, and the summary says how many
        info["training_rows"], info["validation_rows"] = len(ready.train), len(ready.validation)
        if len(members) > 1 and held.any():
            info["validation_out_of_fold"] = int(held.sum())
        model = cls(net, feature_enc, target_enc, info)
        model.history = history
        return model

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
        callbacks: Sequence[Callback] = (),
        source: str | None = None,
        **options,
    ) -> TabularModel:
        """Train on a data file read ``chunk_rows`` rows at a time, never whole; returns
        the model (its ``history`` holds the epochs), as :meth:`fit`.

        Takes :meth:`fit`'s options (``batch_size`` must be a number). A first pass
        surveys every row (the columns' kinds and every problem of the data, as
        :meth:`fit` does), a second fits the preprocessing on the training rows and
        chooses the held-out rows (a stratified split that is the same whatever
        ``chunk_rows``); each epoch then reads the file again and trains on its rows
        through a shuffle buffer of ``buffer_rows`` rows. At most ``max_validation_rows``
        held-out rows (a seeded sample) measure the validation loss; the others are
        trained on. ``read_options`` is a :class:`~.reading.ReadOptions`. See
        :mod:`.streaming` for the passes and what bounds the memory.
        """
        from .streaming import fit_file

        recipe = Recipe.from_options(options, "fit_stream")
        network, features, target_enc, info, history = fit_file(
            path,
            target,
            recipe,
            callbacks=callbacks,
            source=source,
            chunk_rows=chunk_rows,
            buffer_rows=buffer_rows,
            max_validation_rows=max_validation_rows,
            read_options=read_options,
        )
        model = cls(network, features, target_enc, info)
        model.history = history
        return model

    @classmethod
    def untrained(cls, target: str, *, classes: Sequence | None = None, **options) -> TabularModel:
        """A model to train chunk by chunk with :meth:`partial_fit`.

        ``options`` are :meth:`fit`'s (see :class:`~.recipe.Recipe`) but for those of
        training on all the data at once: ``epochs``, ``val_split``, ``early_stopping``,
        ``patience`` and ``drop_missing_target``. Its preprocessing is fitted by
        :meth:`fit_statistics` (a first pass over all the chunks) or, without that, by the
        first :meth:`partial_fit` call, from that chunk alone: then later chunks are
        encoded with the first chunk's scales and levels, a value the first chunk lacks
        is encoded as an unseen one (all zeros, or "other"), and a class it lacks is an
        error unless ``classes`` lists them all.
        """
        recipe = Recipe.from_options(options, "untrained", without=_WHOLE_DATA_OPTIONS)
        if classes is not None:
            recipe = replace(recipe, task="classification")
        model = cls(
            Network([Dense(1)]),  # replaced once the preprocessing is known
            recipe.feature_encoder(),
            TargetEncoder(target, recipe.task),
        )
        model._incremental = _Incremental(recipe, None if classes is None else list(classes))
        return model

    def _incremental_state(self) -> _Incremental:
        if self._incremental is None:
            raise PreprocessingError(
                "partial_fit trains a model made by TabularModel.untrained(target, ...)"
            )
        return self._incremental

    def fit_statistics(self, chunks, *, where: tuple[str, Any] = ("row", 1)) -> TabularModel:
        """Fit the preprocessing on every chunk (an iterable of tables, for example
        ``iter_chunks(path)``), before :meth:`partial_fit` trains on them. ``where``
        numbers the first chunk's rows; later ones continue the count."""
        state = self._incremental_state()
        if self.features.columns:
            raise PreprocessingError("the preprocessing is already fitted")
        unit, first = where
        for cols in map(as_columns, chunks):
            self._accumulate(state.recipe.mark_missing(cols), state, (unit, first))
            first += cols.n_rows
        self._finish_statistics(state)
        return self

    def _accumulate(self, cols, state: _Incremental, where) -> None:
        target = self.target.name
        if state.names is None:
            state.names = state.recipe.feature_columns(cols.names, target)
        check_target(cols.names, target)
        _check_missing(state, cols, state.names, where)
        self.features.partial_fit(cols, state.names, where=where)
        if state.classes is None:
            self.target.partial_fit(cols[target], where=where)

    def _finish_statistics(self, state: _Incremental) -> None:
        self.features.finish()
        if state.classes is not None:
            classes = np.asarray(state.classes, object)
            self.target = TargetEncoder.fit(self.target.name, classes)
        else:
            self.target.finish()
        state.training = state.recipe.training(self.target, self.features.n_outputs)
        self.network = state.training.network

    def partial_fit(
        self, frame, *, epochs: int = 1, where: tuple[str, Any] = ("row", 1)
    ) -> History:
        """Train on one chunk (a table with the target column): ``epochs`` passes of
        shuffled mini-batches, the optimizer's state carried from call to call. The
        first call fits the preprocessing on this chunk unless :meth:`fit_statistics`
        did. Returns the chunk's History."""
        state = self._incremental_state()
        cols = state.recipe.mark_missing(as_columns(frame))
        if not self.features.columns:
            self._accumulate(cols, state, where)
            self._finish_statistics(state)
        check_target(cols.names, self.target.name)
        _check_missing(state, cols, self.features.names, where)
        X, _ = self.transform(cols, where=where)
        y = self.target.encode(cols[self.target.name], where=where)
        training = state.training
        assert training is not None  # _finish_statistics made it, with the preprocessing
        history = self.network.fit(
            X,
            y,
            loss=training.loss,
            optimizer=training.optimizer,
            epochs=epochs,
            batch_size=training.batch_size,
            shuffle=True,
        )
        state.rows += cols.n_rows
        self.info.update(
            rows=state.rows,
            **state.recipe.description(training, self.features, self.target),
            partial_fit_calls=self.info.get("partial_fit_calls", 0) + 1,
            final_loss=history.loss[-1],
        )
        return history

    # -- prediction -------------------------------------------------------------------------

    def transform(
        self,
        frame,
        *,
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        filled: dict[str, int] | None = None,
        na_values: Sequence[str] = (),
    ) -> tuple[np.ndarray, list]:
        """The network's input for a table (n_rows, n_inputs), and warnings about values
        never seen in training. The cell texts training read as missing (its
        ``na_values``) are missing here too, and so are those of ``na_values``.
        ``impute`` fills missing cells with the training statistics (a model trained
        with ``impute=True`` always does); ``filled``, if given, counts the cells filled
        in each column."""
        return self.features.transform(
            self._marked(frame, na_values),
            dtype=self.network.dtype,
            where=where,
            impute=True if impute else None,
            filled=filled,
        )

    def _words(self, na_values: Sequence[str]) -> tuple[str, ...]:
        """The texts that mean missing: those training read so, and ``na_values``."""
        trained = self.info.get("na_values") or ()
        return (*trained, *(v for v in na_values if v not in trained))

    def _marked(self, frame, na_values: Sequence[str]):
        """The table with the texts that mean missing made missing, in every column."""
        words = self._words(na_values)
        return mark_missing(as_columns(frame), words) if words else frame

    def _truth(self, cols: Columns, na_values: Sequence[str]) -> np.ndarray:
        """The target column, its texts that mean missing made missing (the features are
        marked once, by :meth:`transform`)."""
        name = self.target.name
        return mark_missing(
            Columns([name], {name: cols[name]}, cols.n_rows), self._words(na_values)
        )[name]

    def outputs(
        self,
        frame,
        *,
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        filled: dict[str, int] | None = None,
        na_values: Sequence[str] = (),
    ) -> tuple[np.ndarray, list]:
        """The network's output for a table (n_rows, n_outputs), checked finite, and the
        warnings of :meth:`transform` (which takes ``impute``, ``filled`` and
        ``na_values``).

        Raises
        ------
        PreprocessingError
            For a row whose output is not a finite number (an input far outside what
            training saw, such as -1e308), naming its line and its most extreme input.
        """
        cols = as_columns(frame)
        X, warnings = self.transform(
            cols, where=where, impute=impute, filled=filled, na_values=na_values
        )
        if len(X) == 0:  # a table without rows has a prediction without rows
            return np.empty((0, self.network.output_size), dtype=self.network.dtype), warnings
        output = self.network.predict(X)
        values = output if self.target.task == "classification" else self.target.decode(output)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
        if bad.any():
            raise PreprocessingError(self._overflow_message(cols, X, np.flatnonzero(bad), where))
        return output, warnings

    def _overflow_message(self, cols, X: np.ndarray, rows: np.ndarray, where) -> str:
        """Which row's inputs the network cannot compute, and its most extreme column."""
        first = rows[0]
        j = int(np.argmax(np.abs(X[first])))
        name = self.features.output_columns[j]
        raw = cols[name][first] if name in cols else "?"
        more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
        return (
            f"the network's output for {rows_text(rows[:1], where)}{more} is not a finite "
            f"number: column {name!r} holds {str(raw)!r}, {abs(X[first, j]):.3g} standard "
            "deviations from the training values, too far for the network to compute; "
            "correct or remove that row"
        )

    def predict(
        self,
        frame,
        *,
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        na_values: Sequence[str] = (),
    ) -> np.ndarray:
        """Labels (as the training data spelled them) or numbers in the target's units.
        ``impute`` fills missing cells with the training statistics, and logs how many;
        ``na_values`` are cell texts that mean missing, besides those training read so."""
        return self.target.decode(self._told(frame, where, impute, na_values))

    def _check_proba(self) -> None:
        """Refuse probabilities of a regression, before any work on the data."""
        if self.target.task != "classification":
            raise PreprocessingError(
                f"probabilities exist only for a classification model; this one is a "
                f"regression of {self.target.name!r}: predict gives its numbers"
            )

    def _told(self, frame, where, impute: bool, na_values: Sequence[str]) -> np.ndarray:
        """:meth:`outputs`, with what the caller should know logged (values never seen
        in training, cells filled)."""
        filled: dict[str, int] = {}
        output, warnings = self.outputs(
            frame, where=where, impute=impute, filled=filled, na_values=na_values
        )
        _warn(warnings, filled)
        return output

    def prediction_table(
        self,
        frame,
        *,
        proba: bool = False,
        keep: Sequence[str] = (),
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        filled: dict[str, int] | None = None,
        na_values: Sequence[str] = (),
    ):
        """The table ``glassnet predict`` writes, as a pandas DataFrame, and the warnings
        about values never seen in training: the ``keep`` columns copied through, the
        prediction in a column named after the target (``<target>_predicted`` when a
        kept column has that name), and with ``proba`` a ``proba_<class>`` column per
        class. ``impute`` fills missing cells, counted in ``filled`` when given;
        ``na_values`` as in :meth:`predict`."""
        pd = import_pandas()
        if proba:
            self._check_proba()
        cols = as_columns(frame)
        output, warnings = self.outputs(
            frame, where=where, impute=impute, filled=filled, na_values=na_values
        )
        out = pd.DataFrame({name: cols[name] for name in keep})
        name = self.target.name
        if name in out.columns:
            name = f"{name}_predicted"
        out[name] = self.target.decode(output)
        if proba:
            assert self.target.classes is not None  # checked above: a classification
            for j, label in enumerate(self.target.classes):
                out[f"proba_{label}"] = output[:, j]
        return out, warnings

    def predict_proba(
        self,
        frame,
        *,
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        na_values: Sequence[str] = (),
    ) -> np.ndarray:
        """Class probabilities (n_rows, n_classes), columns in ``classes`` order;
        ``impute`` and ``na_values`` as in :meth:`predict`."""
        self._check_proba()
        return self._told(frame, where, impute, na_values)

    def evaluate(
        self,
        frame,
        *,
        where: tuple[str, Any] = ("row", 1),
        impute: bool = False,
        na_values: Sequence[str] = (),
        drop_missing_target: bool = False,
    ) -> dict[str, Any]:
        """Metrics on a table that holds the target column (see :mod:`.metrics`);
        ``impute`` and ``na_values`` as in :meth:`predict`. A row without a target is
        refused, or with ``drop_missing_target`` left out."""
        cols = as_columns(frame)
        if self.target.name not in cols:
            raise PreprocessingError(
                f"the data has no target column {self.target.name!r} to measure against"
            )
        if drop_missing_target:
            keep = np.flatnonzero(~missing_mask(self._truth(cols, na_values)))
            first = where[1]
            lines = first[keep] if isinstance(first, np.ndarray) else keep + int(first)
            cols, where = cols.take(keep), (where[0], lines)
        acc = self.metrics_accumulator()
        filled: dict[str, int] = {}
        warnings: list[str] = []
        self.update_metrics(
            acc,
            cols,
            where=where,
            impute=impute,
            filled=filled,
            na_values=na_values,
            warnings=warnings,
        )
        _warn(warnings, filled)
        result = acc.result()
        if result["rows"] == 0:
            raise PreprocessingError("no rows with a target to measure against")
        return result

    def metrics_accumulator(self):
        """An empty :class:`ClassificationMetrics` or :class:`RegressionMetrics`."""
        if self.target.task == "classification":
            assert self.target.classes is not None  # a classification target has its classes
            return ClassificationMetrics(self.target.classes)
        return RegressionMetrics()

    def update_metrics(
        self,
        acc,
        frame,
        *,
        where=("row", 1),
        output=None,
        impute: bool = False,
        filled: dict[str, int] | None = None,
        warnings: list | None = None,
        na_values: Sequence[str] = (),
    ) -> np.ndarray:
        """Add one chunk's truth and predictions to ``acc``; returns the network output.
        ``warnings``, if given, receives those of :meth:`transform`."""
        cols = as_columns(frame)
        truth = self._truth(cols, na_values)
        missing = missing_mask(truth)
        if missing.any():
            raise PreprocessingError(
                f"the target column {self.target.name!r} has missing values "
                f"({rows_text(np.flatnonzero(missing), where)}); there is nothing to "
                f"measure those rows against ({option('drop_missing_target')} leaves them out)"
            )
        if output is None:
            output, notes = self.outputs(
                cols, where=where, impute=impute, filled=filled, na_values=na_values
            )
            if warnings is not None:
                warnings.extend(notes)
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

    def summary(self) -> str:
        """What training made of the data, as ``glassnet train`` prints it: the network
        and the rows it trained on, the recipe's choices, the epochs and the losses of
        the one kept, the metrics on the training and validation rows. ``model.info``
        holds every number of it."""
        if "rows" not in self.info:
            raise PreprocessingError("the model has not been trained: no summary to give")
        return "\n".join(summary_lines(self))

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
        """The model a model file describes: the preprocessing and the target checked
        against the network, and the training summary (``info``) against the types of
        the fields training writes (:meth:`.recipe.Recipe.summary`), so that whatever
        loads can be printed. A ValueError names the field."""
        from ..modelfile import check_json

        summary = {
            "data": (str, None),
            "rows": int,
            "dropped_missing_target": int,
            "training_rows": int,
            "validation_rows": int,
            "validation_out_of_fold": int,
            "stratified": bool,
            "columns": [str],
            "kinds": {str: str},
            "task": str,
            "task_given": bool,
            "loss": str,
            "optimizer": str,
            "hidden": [int],
            "activation": str,
            "recipe": str,
            "ensemble": int,
            "batch_size": (int, None),
            "epoch_budget": int,
            "patience": (int, None),
            "schedule": str,
            "scaling": str,
            "layers": [str],
            "epochs": int,
            "stopped_early": bool,
            "restored_epoch": (int, None),
            "epoch_loss": (float, None),
            "epoch_val_loss": (float, None),
            "final_loss": (float, None),
            "final_val_loss": (float, None),
            "train_metrics": {str: (float, None)},
            "validation_metrics": {str: (float, None)},
            "warnings": [str],
            "warnings_marked": [str],
            "read": {str: str},
            "trained_at": str,
            "saved_at": str,
            "glassnet_version": str,
            "partial_fit_calls": int,
            "streamed": {str: int},
            "cluster": {"workers": int, "shards": int, "partitions": int, "strategy": str},
        }
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
        last = cast(Dense, net.layers[-1]).activation  # a Network ends in Dense: __init__ checks
        if target.task == "classification" and last != "softmax":
            raise ValueError(f"a classification model must end in softmax, not {last}")
        info = payload.get("info", {})
        try:
            check_json(info, summary, "payload.info")
        except ValueError as exc:
            raise ValueError(f"the training summary is invalid: {exc}") from None
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
        """For Jupyter: the feature columns and their kinds, the layers, the target, and
        the metrics the training summary keeps (as :func:`.metrics.format_metrics`
        states them; a summary edited by hand is shown as it is, never an error)."""
        from .metrics import format_metrics, summary_sets

        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c['kind'])}</td>"
            f"<td>{esc(line.split(': ', 1)[1] if ': ' in line else line)}</td></tr>"
            for c, line in zip(self.features.columns, self.features.describe())
        )
        info = self.info if isinstance(self.info, dict) else {}
        trained = info.get("epochs")
        status = (
            f"trained for {trained} epochs on {info.get('rows')} rows" if trained else "not trained"
        )
        restored = info.get("restored_epoch")
        if restored:
            status += f", weights of epoch {restored} restored"
        measured = "".join(
            f"<br>{label}: {esc(format_metrics(values))}" for _, label, values in summary_sets(info)
        )
        net_html = self.network._repr_html_() if self.network.built else esc(repr(self.network))
        return (
            f"<div><strong>TabularModel</strong>: {esc(self.target.describe())}; {esc(status)}"
            f"{measured}"
            "<table><thead><tr><th>feature</th><th>kind</th><th>encoding</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{net_html}</div>"
        )


@dataclass
class _Incremental:
    """What partial_fit carries from call to call: the recipe, the classes given, the
    feature columns (chosen from the first chunk), the network's training once the
    preprocessing is fitted, and the rows trained on."""

    recipe: Recipe
    classes: list | None
    names: list[str] | None = None
    training: Training | None = None
    rows: int = 0


def filled_note(filled: dict[str, int]) -> str | None:
    """How many missing cells were filled with the training statistics, and in which
    columns (``filled``: each column's count, as ``transform`` gives it); None for none."""
    if not filled:
        return None
    total = sum(filled.values())
    shown = ", ".join(f"{name!r}: {n}" for name, n in filled.items())
    return f"filled {total} missing cell{'s' * (total != 1)} with the training statistics ({shown})"


def _check_missing(state: _Incremental, cols: Columns, names: Sequence[str], where) -> None:
    """Refuse a chunk's missing feature cells unless the model was made to fill them:
    the fix, ``impute=True``, is :meth:`TabularModel.untrained`'s, which says so."""
    try:
        state.recipe.check_missing(cols, names, where)
    except PreprocessingError as exc:
        raise PreprocessingError(
            f"{exc.message} (impute=True goes to TabularModel.untrained, which makes the "
            "model: one made without it cannot fill them)"
        ) from None


def _warn(warnings: Sequence[str], filled: dict[str, int]) -> None:
    """Log what a prediction's caller should know: values never seen in training (the
    warnings of :meth:`TabularModel.transform`, at WARNING), and how many missing cells
    were filled with the training statistics, and where (at INFO: the filling was asked
    for, by ``impute=True`` or by a model trained so, and a service that predicts all
    day should not warn of it on every call)."""
    for warning in warnings:
        _log.warning("%s", warning)
    note = filled_note(filled)
    if note:
        _log.info("%s", note)
