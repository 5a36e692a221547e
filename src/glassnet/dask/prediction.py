"""Prediction mapped over the partitions of a Dask array or DataFrame, lazily.

The model goes into the task graph once, as the bytes of its model file
(:func:`glassnet.dumps`): one task loads it, and the workers that predict receive
that loaded model, so the prediction uses the model as it was when ``predict`` was
called, whatever happens to it afterwards. Arrays give arrays with X's row chunks;
DataFrames give a Series (one output) or a DataFrame (several), with X's index.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

from .. import modelfile
from ..network import Network
from . import shards as _shards

__all__ = ["predict", "predict_proba"]


def _load(blob: bytes):
    return modelfile.load(blob)


def _apply(block, model, method: str) -> np.ndarray:
    return getattr(model, method)(block)


def _apply_to_frame(part, model, method: str, meta):
    import pandas as pd

    values = _apply(part, model, method) if len(part) else np.empty((0,) + meta.shape[1:])
    if isinstance(meta, pd.Series):
        return pd.Series(values, index=part.index, name=meta.name, dtype=meta.dtype)
    return pd.DataFrame(values, index=part.index, columns=meta.columns).astype(meta.dtypes)


def _describe(model, method: str) -> tuple[int, list | None, np.dtype, list | None, str]:
    """(input features, feature names or None, output dtype, output columns or None for a
    single output, what the model is called in errors)."""
    if isinstance(model, Network):
        if not model.built:
            raise RuntimeError("cannot predict before the network is built: train it first")
        if method != "predict":
            raise TypeError("a Network has no predict_proba: its predict is the output layer")
        k = model.output_size
        assert model.input_size is not None and model.dtype is not None  # built
        return model.input_size, None, model.dtype, list(range(k)), "the network"
    from .estimators import is_estimator

    if not is_estimator(model):
        raise TypeError(
            "model must be a glassnet Network, MLPClassifier or MLPRegressor, got "
            f"{type(model).__name__}"
        )
    if not hasattr(model, "network_"):
        raise ValueError(f"this {type(model).__name__} is not fitted yet: fit it first")
    names = getattr(model, "feature_names_in_", None)
    names = None if names is None else list(names)
    dtype = model.network_.dtype
    what = type(model).__name__
    if method == "predict_proba":
        if not hasattr(model, "predict_proba"):
            raise TypeError(f"{what} has no predict_proba")
        return model.n_features_in_, names, dtype, list(model.classes_), what
    classes = getattr(model, "classes_", None)
    if classes is None:  # a regressor
        k = model.n_outputs_
        return model.n_features_in_, names, dtype, (list(range(k)) if k > 1 else None), what
    if model.target_type == "multilabel-indicator":
        return model.n_features_in_, names, classes.dtype, list(classes), what
    return model.n_features_in_, names, classes.dtype, None, what


def _map(model, X, method: str):
    n_features, names, dtype, columns, what = _describe(model, method)
    X, n_x, _, x_columns = _shards.features_of(X)
    if n_x != n_features:
        raise ValueError(f"X has {n_x} features, but {what} expects {n_features}")
    if names is not None and x_columns is not None and [str(c) for c in x_columns] != names:
        raise ValueError(
            f"X's columns {x_columns} are not the ones {what} was fitted on ({names}); "
            "select them in that order, e.g. X[model.feature_names_in_]"
        )
    blob = modelfile.dumps(model)
    loaded = dask.delayed(_load, pure=True)(blob)
    if _shards.kind_of(X) == "array":
        if columns is None:
            return X.map_blocks(
                _apply, loaded, method, dtype=dtype, drop_axis=1, meta=np.empty(0, dtype)
            )
        return X.map_blocks(
            _apply,
            loaded,
            method,
            dtype=dtype,
            chunks=(X.chunks[0], (len(columns),)),
            meta=np.empty((0, len(columns)), dtype),
        )
    import pandas as pd

    if columns is None:
        meta = pd.Series(np.empty(0, dtype), name="prediction", dtype=dtype)
    else:
        meta = pd.DataFrame({c: np.empty(0, dtype) for c in columns}, columns=columns)
    return X.map_partitions(_apply_to_frame, loaded, method, meta, meta=meta)


def predict(model: Any, X: Any) -> Any:
    """The model's predictions for a Dask array or DataFrame X, as a lazy Dask collection.

    For a Network: its output layer, (n, units). For an estimator: what its ``predict``
    gives (class labels, values). An array X gives a Dask array with X's row chunks; a
    DataFrame gives a Series named ``"prediction"`` (one output) or a DataFrame (one
    column per output or label), with X's index, so it joins back onto X.
    """
    return _map(model, X, "predict")


def predict_proba(model: Any, X: Any) -> Any:
    """A classifier's ``predict_proba`` for a Dask array or DataFrame X, lazily: one
    column per class, named by the class for a DataFrame."""
    return _map(model, X, "predict_proba")
