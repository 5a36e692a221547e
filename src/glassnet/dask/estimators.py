"""Fitting glassnet's MLPClassifier and MLPRegressor on Dask collections.

The estimator trains as its own ``fit`` would: its loss, ``alpha`` as the L2 penalty,
its solver and its settings (``max_iter``, ``batch_size``, ``tol``, ``n_iter_no_change``,
the learning-rate schedules), its label encoding (classes found over the whole of y,
on the cluster), ``class_weight`` counted over the whole of y, and the fitted attributes
``fit`` sets. Only ``early_stopping=True`` is refused: it would hold out a random split
of the data, which a cluster fit does not gather.

This module uses the drop-in's own steps of ``fit`` (its parameter checks,
``start_fit``, ``training_options``, ``end_fit``), so both fits stay one definition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import shards as _shards
from .fitting import Session

__all__ = ["is_estimator", "fit_estimator"]


def is_estimator(model: Any) -> bool:
    """Whether ``model`` is a glassnet MLPClassifier or MLPRegressor."""
    if not type(model).__module__.startswith("glassnet"):
        return False
    try:
        from ..sklearn import MLPClassifier, MLPRegressor
    except ImportError:
        return False
    return isinstance(model, (MLPClassifier, MLPRegressor))


class LabelEncoding:
    """A classifier's labels as the rows its network trains on, in the network's dtype;
    picklable, for the workers. It encodes as the classifier's ``encode_target`` does,
    with its own copy of the estimator's encoding (the estimator itself stays home)."""

    def __init__(self, classes: Any, multilabel: bool, dtype: DTypeLike) -> None:
        from ..sklearn import MLPClassifier

        self.encoder = MLPClassifier()
        self.encoder.set_classes(classes, multilabel)
        self.dtype = np.dtype(dtype)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        return self.encoder.encode_target(y).astype(self.dtype)


def _counts(values) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of one partition of y, and how often each occurs."""
    return np.unique(np.asarray(values).ravel(), return_counts=True)


def _labels(y, client) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The sorted labels over all of y, their counts (None for multilabel), and the
    target type. Each partition counts its own labels on the cluster; the client adds
    up the counts."""
    import dask
    from sklearn.utils.multiclass import check_classification_targets, type_of_target

    kind = _shards.kind_of(y)
    if kind is None:
        raise TypeError(f"y must be a Dask array, Series or DataFrame, got {type(y).__name__}")
    width = len(y.columns) if kind == "frame" else (y.shape[1] if y.ndim == 2 else None)
    pieces = y.to_delayed()
    pieces = list(pieces.ravel()) if kind == "array" else list(pieces)
    found = client.compute([dask.delayed(_counts)(p) for p in pieces], sync=True)
    values = np.concatenate([v for v, _ in found])
    counts = np.concatenate([c for _, c in found])
    classes, where = np.unique(values, return_inverse=True)
    totals = np.bincount(where.ravel(), weights=counts).astype(np.int64)
    if width is not None and width > 1:  # a multilabel indicator matrix, or nothing
        if not set(classes.tolist()) <= {0, 1}:
            raise ValueError(
                "multi-output classification takes an indicator matrix of 0 and 1 per label; "
                f"y holds {classes[:10].tolist()}"
            )
        return np.arange(width), None, "multilabel-indicator"
    check_classification_targets(classes)
    return classes, totals, type_of_target(classes)


def _prepare_classifier(est, y, client, first_pass: bool, dtype):
    """Set classes_ and the label encoding; returns (outputs, encoding, class weights)."""
    classes, counts, y_type = _labels(y, client)
    if not first_pass and hasattr(est, "classes_"):
        if set(classes.tolist()) != set(np.asarray(est.classes_).tolist()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {est.classes_}, `y` has {classes}"
            )
    multilabel = y_type == "multilabel-indicator"
    est.set_classes(classes, multilabel)
    outputs = est.encode_target(est.classes_[:1]).shape[1] if not multilabel else len(classes)
    class_weight = None
    if est.class_weight is not None:
        if counts is None:
            raise ValueError("class_weight is not supported for multilabel targets")
        if est.class_weight == "balanced":  # from the counts over all of y
            weights = counts.sum() / (len(classes) * counts.astype(np.float64))
        else:  # a dict, checked by the estimator itself: one weight per class
            weights = est.class_weights(est.classes_)
        class_weight = (est.classes_, np.asarray(weights, dtype=np.float64))
    return outputs, LabelEncoding(est.classes_, multilabel, dtype), class_weight


def _outputs_of(y) -> int:
    kind = _shards.kind_of(y)
    if kind == "frame":
        return len(y.columns)
    if kind == "array" and y.ndim == 2:
        return int(y.shape[1])
    return 1


def fit_estimator(
    est: Any,
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    strategy: str = "average",
    stop_on_nonfinite: bool = True,
    client: Any = None,
) -> Any:
    """Fit a glassnet MLPClassifier or MLPRegressor on Dask collections; returns it."""
    from ..sklearn.params import NON_FINITE, check
    from ..training import NonFiniteLossError

    check(est)
    if est.early_stopping:
        raise ValueError(
            "glassnet.dask.fit does not hold out a validation split from Dask collections "
            "(early_stopping=True); set early_stopping=False: training still stops when the "
            "training loss has not improved for n_iter_no_change epochs"
        )
    client = _shards.get_client(client)
    _, n_features, dtype, columns = _shards.features_of(X)
    first_pass = not est.has_weights() or not est.warm_start
    encode = class_weight = None
    if est.is_classifier:
        outputs, encode, class_weight = _prepare_classifier(est, y, client, first_pass, dtype)
    else:
        outputs = _outputs_of(y)
    # The drop-in's own start: the same random states, the same initial weights.
    est.start_fit(n_features, outputs, dtype, first_pass=first_pass)
    est.n_features_in_ = n_features
    if columns is not None and all(isinstance(c, str) for c in columns):
        est.feature_names_in_ = np.asarray(columns, dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    try:
        _train(est, X, y, sample_weight, encode, class_weight, strategy, stop_on_nonfinite, client)
    except NonFiniteLossError:
        raise NonFiniteLossError(NON_FINITE) from None
    if not np.isfinite(est.network_.parameters).all():
        raise NonFiniteLossError(NON_FINITE)
    return est


def _train(est, X, y, sample_weight, encode, class_weight, strategy, stop_on_nonfinite, client):
    """The estimator's solver on the cluster, and the fitted attributes it sets."""
    from ..optimizers import LBFGS
    from ..training import History

    session = Session(
        est.network_,
        X,
        y,
        sample_weight,
        est.loss_function(),
        client,
        encode=encode,
        class_weight=class_weight,
    )
    with session:
        if est.solver == "lbfgs":
            opt = LBFGS(tol=float(est.tol), max_fun=int(est.max_fun))
            history = session.train(
                opt, epochs=est.max_iter, l2=float(est.alpha), stop_on_nonfinite=stop_on_nonfinite
            )
            est.end_lbfgs(history, opt.result)
            return
        options = est.training_options(session.n)
        history = History()
        session.train(
            options["optimizer"],
            epochs=options["epochs"],
            batch_size=options["batch_size"],
            shuffle=options["shuffle"],
            l2=options["l2"],
            callbacks=options["callbacks"],
            schedule=options["schedule"],
            strategy=strategy,
            stop_on_nonfinite=stop_on_nonfinite,
            history=history,
        )
        est.end_fit(history)
