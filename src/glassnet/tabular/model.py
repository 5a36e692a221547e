"""A model for a table: preprocessing, a Network, and the target's labels or scale, in one file.

This is what ``glassnet train`` builds and ``glassnet predict`` uses. In Python::

    import pandas as pd, glassnet
    frame = pd.read_csv("iris.csv")
    model, history = glassnet.TabularModel.fit(frame, target="species", epochs=200)
    model.save("iris.glassnet")
    glassnet.load("iris.glassnet").predict(frame)   # labels, as they appear in the file

Columns are matched by name, so a prediction always applies exactly the
scaling and encoding the training did.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np

from ..layers import Dense
from ..network import Network
from ..optimizers import SGD, Adam
from ..training import Callback, EarlyStopping, History
from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder
from .metrics import metrics

__all__ = ["TabularModel"]


class TabularModel:
    """Feature preprocessing, a Network and a target encoder.

    Attributes
    ----------
    network : Network
    features : FeatureEncoder
    target : TargetEncoder
    info : dict
        How the model was trained: data, epochs, final loss, metrics, date.
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
        callbacks: Sequence[Callback] = (),
        source: str | None = None,
    ) -> tuple[TabularModel, History]:
        """Train on a table (a pandas DataFrame or a mapping of columns)."""
        columns = list(frame.keys())
        if target not in columns:
            raise PreprocessingError(_no_such_column(target, columns, "target column"))
        for name in ignore:
            if name not in columns:
                raise PreprocessingError(_no_such_column(name, columns, "column to ignore"))
        if features is None:
            features = [c for c in columns if c != target and c not in set(ignore)]
        else:
            for name in features:
                if name not in columns:
                    raise PreprocessingError(_no_such_column(name, columns, "feature column"))
            if target in features:
                raise PreprocessingError(f"the target {target!r} cannot also be a feature")
        n_rows = len(np.asarray(frame[target]))
        if n_rows < 2:
            raise PreprocessingError(f"the data has {n_rows} row; training needs at least 2")

        target_enc = TargetEncoder.fit(target, np.asarray(frame[target]), task)
        feature_enc = FeatureEncoder(impute=impute).fit(frame, features)
        X, _ = feature_enc.transform(frame)
        y = target_enc.encode(np.asarray(frame[target]))

        classification = target_enc.task == "classification"
        if loss == "auto":
            loss = "cross_entropy" if classification else "mse"
        if classification and loss != "cross_entropy":
            raise PreprocessingError(
                f"a classification target trains with loss 'cross_entropy', not {loss!r}"
            )
        if not classification and loss in ("cross_entropy", "bce", "poisson"):
            raise PreprocessingError(
                f"loss {loss!r} does not fit a regression target; use mse, mae or huber"
            )

        rng = np.random.default_rng(seed)
        order = rng.permutation(n_rows)
        n_val = int(round(val_split * n_rows)) if val_split else 0
        if val_split and not 0 < val_split < 1:
            raise PreprocessingError(f"--val-split must be between 0 and 1, got {val_split}")
        if n_val >= n_rows:
            raise PreprocessingError(f"--val-split {val_split} leaves no rows for training")
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

        out = Dense(target_enc.n_outputs, "softmax" if classification else "identity")
        net = Network([Dense(h, activation) for h in hidden] + [out], seed=seed)
        if optimizer == "adam":
            opt = Adam(lr if lr is not None else 1e-3)
        elif optimizer == "sgd":
            opt = SGD(lr if lr is not None else 0.01, momentum=0.9)
        else:
            raise PreprocessingError(f"unknown optimizer {optimizer!r}; choose adam or sgd")

        validation = (X[val_idx], y[val_idx]) if n_val else None
        callbacks = list(callbacks)
        if early_stopping:
            callbacks.append(
                EarlyStopping(monitor="val_loss" if n_val else "loss", patience=patience)
            )
        history = net.fit(
            X[train_idx],
            y[train_idx],
            loss=loss,
            optimizer=opt,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            validation_data=validation,
            callbacks=callbacks,
        )
        model = cls(net, feature_enc, target_enc)
        truth = np.asarray(frame[target])
        predicted = target_enc.decode(net.predict(X))
        train_metrics = metrics(target_enc.task, truth[train_idx], predicted[train_idx])
        val_metrics = metrics(target_enc.task, truth[val_idx], predicted[val_idx]) if n_val else {}
        model.info = {
            "data": source,
            "rows": int(n_rows),
            "training_rows": int(len(train_idx)),
            "validation_rows": int(n_val),
            "columns": list(features),
            "task": target_enc.task,
            "loss": loss,
            "optimizer": repr(opt),
            "hidden": list(hidden),
            "activation": activation,
            "epochs": history.epochs,
            "stopped_early": history.stopped_early,
            "final_loss": history.loss[-1],
            "final_val_loss": history.val_loss[-1] if history.val_loss else None,
            "train_metrics": train_metrics,
            "validation_metrics": val_metrics,
            "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        model._history = history
        return model, history

    # -- prediction -------------------------------------------------------------------------

    def transform(self, frame) -> tuple[np.ndarray, list[str]]:
        """The network's input for a table, and warnings about unseen values."""
        return self.features.transform(frame, dtype=self.network.dtype)

    def predict(self, frame) -> np.ndarray:
        """Labels (as they appear in the training file) or numbers in the target's units."""
        X, _ = self.transform(frame)
        return self.target.decode(self.network.predict(X))

    def predict_proba(self, frame) -> np.ndarray:
        """Class probabilities, one column per class in ``target.classes`` order."""
        if self.target.task != "classification":
            raise PreprocessingError("probabilities exist only for a classification model")
        X, _ = self.transform(frame)
        return self.network.predict(X)

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


def _no_such_column(name: str, columns: Sequence[str], what: str) -> str:
    from ..validation import did_you_mean

    shown = ", ".join(map(str, columns[:20])) + (", ..." if len(columns) > 20 else "")
    return f"no {what} {name!r}{did_you_mean(name, columns)}; the columns are: {shown}"
