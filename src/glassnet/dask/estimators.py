"""Fitting glassnet's MLPClassifier and MLPRegressor on Dask collections.

The estimator trains as its own ``fit`` would: its loss, ``alpha`` as the L2 penalty,
its solver and its settings (``max_iter``, ``batch_size``, ``tol``, ``n_iter_no_change``,
the learning-rate schedules), its label encoding (classes found over the whole of y,
on the cluster), ``class_weight`` counted over the whole of y, and the fitted attributes
``fit`` sets. Only ``early_stopping=True`` is refused: it would hold out a random split
of the data, which a cluster fit does not gather.

This module uses the drop-in's own machinery (its parameter checks, network building,
loss, batch size and per-epoch schedule), so both fits stay one definition.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import shards as _shards
from .fitting import Session

__all__ = ["is_estimator", "fit_estimator"]


def is_estimator(model) -> bool:
    """Whether ``model`` is a glassnet MLPClassifier or MLPRegressor."""
    if not type(model).__module__.startswith("glassnet"):
        return False
    try:
        from ..sklearn import MLPClassifier, MLPRegressor
    except ImportError:
        return False
    return isinstance(model, (MLPClassifier, MLPRegressor))


class LabelEncoding:
    """A classifier's labels as the rows its network trains on (its LabelBinarizer),
    in the network's dtype; picklable, for the workers."""

    def __init__(self, binarizer, dtype):
        self.binarizer, self.dtype = binarizer, np.dtype(dtype)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        return self.binarizer.transform(y).astype(self.dtype)


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
    """Set classes_ and the label binarizer; returns (outputs, encoding, class weights)."""
    from sklearn.preprocessing import LabelBinarizer

    classes, counts, y_type = _labels(y, client)
    if not first_pass and hasattr(est, "classes_"):
        if set(classes.tolist()) != set(np.asarray(est.classes_).tolist()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {est.classes_}, `y` has {classes}"
            )
    binarizer = LabelBinarizer()
    if y_type == "multilabel-indicator":
        binarizer.fit(np.array([[0] * len(classes), [1] * len(classes)]))
    else:
        binarizer.fit(classes)
    est._label_binarizer = binarizer
    est.classes_ = binarizer.classes_
    outputs = (
        binarizer.transform(binarizer.classes_[:1]).shape[1] if counts is not None else len(classes)
    )
    class_weight = None
    if est.class_weight is not None:
        if counts is None:
            raise ValueError("class_weight is not supported for multilabel targets")
        if est.class_weight == "balanced":  # from the counts over all of y
            weights = counts.sum() / (len(classes) * counts.astype(np.float64))
        else:  # a dict, checked by the estimator itself: one weight per class
            weights = est._apply_class_weight(None, binarizer.classes_)
        class_weight = (binarizer.classes_, np.asarray(weights, dtype=np.float64))
    return outputs, LabelEncoding(binarizer, dtype), class_weight


def _outputs_of(y) -> int:
    kind = _shards.kind_of(y)
    if kind == "frame":
        return len(y.columns)
    if kind == "array" and y.ndim == 2:
        return int(y.shape[1])
    return 1


def fit_estimator(
    est, X, y, *, sample_weight=None, strategy="average", stop_on_nonfinite=True, client=None
):
    """Fit a glassnet MLPClassifier or MLPRegressor on Dask collections; returns it."""
    from ..sklearn import _NON_FINITE
    from ..training import NonFiniteLossError

    est._check_params()
    if est.early_stopping:
        raise ValueError(
            "glassnet.dask.fit does not hold out a validation split from Dask collections "
            "(early_stopping=True); set early_stopping=False: training still stops when the "
            "training loss has not improved for n_iter_no_change epochs"
        )
    client = _shards.get_client(client)
    _, n_features, dtype, columns = _shards.features_of(X)
    first_pass = not est._has_weights() or not est.warm_start
    encode = class_weight = None
    if est._is_classifier:
        outputs, encode, class_weight = _prepare_classifier(est, y, client, first_pass, dtype)
    else:
        outputs = _outputs_of(y)
    # The drop-in's own start: the same random states, the same initial weights.
    state, rng = est._random_states()
    shape = np.empty((0, outputs))
    if first_pass:
        est._initialize(shape, n_features, dtype, state, rng)
    elif "network_" not in est.__dict__:  # coefs_ and intercepts_ given before fitting
        est._adopt_weights(shape, n_features, dtype, rng)
    elif n_features != est.network_.input_size:
        raise ValueError(
            f"X has {n_features} features, but {type(est).__name__} is expecting "
            f"{est.network_.input_size} features as input."
        )
    est.n_features_in_ = n_features
    if columns is not None and all(isinstance(c, str) for c in columns):
        est.feature_names_in_ = np.asarray(columns, dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    try:
        _train(est, X, y, sample_weight, encode, class_weight, strategy, stop_on_nonfinite, client)
    except NonFiniteLossError:
        raise NonFiniteLossError(_NON_FINITE) from None
    if not np.isfinite(est.network_.parameters).all():
        raise NonFiniteLossError(_NON_FINITE)
    return est


def _train(est, X, y, sample_weight, encode, class_weight, strategy, stop_on_nonfinite, client):
    """The estimator's solver on the cluster, and the fitted attributes it sets."""
    from sklearn.exceptions import ConvergenceWarning

    from ..optimizers import LBFGS
    from ..sklearn import _SGD, _Adam, _Schedule

    with Session(
        est.network_,
        X,
        y,
        sample_weight,
        est._loss(),
        client,
        encode=encode,
        class_weight=class_weight,
    ) as session:
        if est.solver == "lbfgs":
            opt = LBFGS(tol=float(est.tol), max_fun=int(est.max_fun))
            history = session.train(
                opt, epochs=est.max_iter, l2=float(est.alpha), stop_on_nonfinite=stop_on_nonfinite
            )
            result = opt.result
            est.n_iter_ = int(result.nit)
            est.loss_ = float(result.fun)
            est.loss_curve_ = list(history.loss)
            est.best_loss_ = min(est.loss_curve_) if est.loss_curve_ else est.loss_
            if result.status != 0:
                warnings.warn(
                    f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
                    f"(status={result.status}):\n{result.message}\n\nIncrease the number of "
                    f"iterations to improve the convergence (max_iter={est.max_iter}).\nYou "
                    "might also want to scale the data.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        else:
            if est.solver == "sgd":
                opt = _SGD(
                    est.learning_rate_init, momentum=est.momentum, nesterov=est.nesterovs_momentum
                )
            else:
                opt = _Adam(
                    est.learning_rate_init, beta1=est.beta_1, beta2=est.beta_2, eps=est.epsilon
                )
            est._optimizer = opt
            n = session.n
            batch = est._batch_size(n)
            est.n_iter_ = 0
            est._converged = False
            session.train(
                opt,
                epochs=est.max_iter,
                batch_size=None if batch >= n else batch,
                shuffle=est.shuffle,
                l2=float(est.alpha),
                callbacks=[_Schedule(est, n, None, None)],
                strategy=strategy,
                stop_on_nonfinite=stop_on_nonfinite,
            )
            if not est._converged and est.n_iter_ == est.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                    "optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
