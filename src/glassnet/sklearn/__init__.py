"""The scikit-learn drop-in: ``MLPClassifier`` and ``MLPRegressor``.

They take every constructor parameter of scikit-learn's estimators of the same
names, with the same meanings and defaults, expose the same fitted attributes,
and pass scikit-learn's own estimator checks. Under each sits a glassnet
:class:`~glassnet.Network` (``network_``) trained by glassnet's own loop; the package
only translates: scikit-learn's parameters into layers, losses, optimizers,
learning-rate schedules and stopping rules (:mod:`.estimators`), checked and
documented in :mod:`.params`, with scikit-learn's per-epoch records in :mod:`.epochs`.

What they add:

* ``activation`` may be a list, one entry per hidden layer, and may be ``"leaky_relu"``
  or any activation registered with :func:`glassnet.activations.register`;
* ``dropout``: one rate, or one per hidden layer;
* ``class_weight`` (classifier): ``"balanced"`` or a dict;
* ``early_stopping_metric="loss"``: stop on the validation loss instead of the score;
* ``validation_loss_curve_`` whenever a validation split is used;
* a tqdm progress bar with ``verbose=True`` (``verbose=2`` prints scikit-learn's lines);
* ``network_``, the Network underneath, and ``save(path)`` in glassnet's safe format;
* a state of plain values: skops loads a fitted estimator trusting only
  :data:`SKOPS_TRUSTED_TYPES`, and so does ``mlflow.sklearn.log_model``.

A Pipeline that ends in one of them converts to ONNX with :func:`glassnet.to_onnx`, or
with skl2onnx's own ``to_onnx`` once :func:`glassnet.onnx.register_skl2onnx` has run.

Needs the ``sklearn`` extra: ``pip install 'glassnet[sklearn]'``.
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "glassnet.MLPClassifier and glassnet.MLPRegressor need scikit-learn: "
        "pip install 'glassnet[sklearn]'"
    ) from None

from .estimators import MLPClassifier, MLPRegressor

#: The types skops must be told to trust to load a fitted glassnet estimator (or a
#: Pipeline holding one): the estimators' own classes, nothing else, since their state is
#: plain values. ``skops.io.load(file, trusted=glassnet.sklearn.SKOPS_TRUSTED_TYPES)``, or
#: ``mlflow.sklearn.log_model(..., skops_trusted_types=glassnet.sklearn.SKOPS_TRUSTED_TYPES)``.
SKOPS_TRUSTED_TYPES: list[str] = [
    f"{cls.__module__}.{cls.__qualname__}" for cls in (MLPClassifier, MLPRegressor)
]

__all__ = ["MLPClassifier", "MLPRegressor", "SKOPS_TRUSTED_TYPES"]
