"""Data-parallel training and prediction on a Dask cluster (extra: ``dask``).

``fit(model, X, y, ...)`` trains a :class:`~glassnet.Network`, or a glassnet
``MLPClassifier`` / ``MLPRegressor``, on Dask arrays or DataFrames whose partitions stay
on the workers that hold them; only the parameter vector and the gradients (or, when
averaging, the parameters) cross the network. ``predict(model, X)`` and
``predict_proba(model, X)`` map a model over the partitions of X, lazily.
``read_files(pattern)`` and ``fit_table(data, target)`` train a TabularModel (what
``glassnet train --dask`` writes) on Parquet or CSV files read by the workers.

The network on the client is the model: the workers hold copies that the client
overwrites before every piece of work, so a task Dask re-runs after a worker died
computes what it computed the first time.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "glassnet.dask needs Dask and dask.distributed: pip install 'glassnet[dask]'"
    ) from None

from collections.abc import Sequence
from typing import Any

from .. import losses as _losses
from .. import optimizers as _optimizers
from ..network import Network
from ..training import Callback
from .fitting import fit_network
from .prediction import predict, predict_proba
from .shards import WorkerLostError
from .tabular import DataFiles, fit_table, read_files

__all__ = [
    "fit",
    "predict",
    "predict_proba",
    "WorkerLostError",
    "read_files",
    "fit_table",
    "DataFiles",
]


def fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: str | _losses.Loss = "mse",
    optimizer: str | _optimizers.Optimizer | None = "lbfgs",
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    sample_weight: Any = None,
    l2: float = 0.0,
    validation_data: Any = None,
    callbacks: Sequence[Callback] = (),
    strategy: str = "average",
    stop_on_nonfinite: bool = True,
    client: Any = None,
) -> Any:  # History for a Network, the estimator for an estimator
    """Train ``model`` on Dask collections, with the data staying on the workers.

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor
        An estimator trains with its own settings (solver, loss, ``alpha``,
        ``max_iter``, ``batch_size``, ...): leave the training arguments below at
        their defaults.
    X : dask.array.Array of shape (n_samples, n_features), or dask.dataframe.DataFrame
        Numeric columns. Arrays need known chunk sizes.
    y : dask.array.Array, dask.dataframe.Series or DataFrame
        Partitioned like X: the same row chunks, or as many partitions (say
        ``df[features]`` and ``df[target]``).
    loss, optimizer, epochs, batch_size, shuffle, l2, callbacks, stop_on_nonfinite
        As for :meth:`Network.fit`, except that the optimizer defaults to
        ``"lbfgs"``, the full-batch method for data on a cluster.
    sample_weight : 1-D dask.array.Array or dask.dataframe.Series, optional
        Partitioned like y.
    validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
        In-memory arrays, or Dask collections (evaluated where they live).
    strategy : "average" or "sync"
        For SGD and Adam: ``"average"`` trains a copy on every shard for one epoch
        and averages them (one round trip per epoch); ``"sync"`` sums every
        mini-batch's gradient over the shards (one round trip per batch: the same
        algorithm as one machine, and slow unless batches are large).
    client : distributed.Client, optional
        Default: the current client.

    Returns
    -------
    History for a Network; the fitted estimator itself for an estimator.
    """
    if not isinstance(model, Network):
        from .estimators import fit_estimator, is_estimator

        if is_estimator(model):
            given = {
                "loss": loss != "mse",
                "optimizer": optimizer != "lbfgs",
                "epochs": epochs != 1,
                "batch_size": batch_size is not None,
                "shuffle": shuffle is not True,
                "l2": l2 != 0.0,
                "validation_data": validation_data is not None,
                "callbacks": bool(callbacks),
            }
            extra = [name for name, set_ in given.items() if set_]
            if extra:
                raise TypeError(
                    f"{type(model).__name__} trains with its own settings; set them on the "
                    f"estimator (solver, max_iter, batch_size, alpha, shuffle, ...) instead "
                    f"of passing {', '.join(extra)}"
                )
            return fit_estimator(
                model,
                X,
                y,
                sample_weight=sample_weight,
                strategy=strategy,
                stop_on_nonfinite=stop_on_nonfinite,
                client=client,
            )
        raise TypeError(
            "model must be a glassnet Network, MLPClassifier or MLPRegressor, got "
            f"{type(model).__name__}"
        )
    return fit_network(
        model,
        X,
        y,
        loss=_losses.get(loss),
        optimizer=_optimizers.get(optimizer),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        sample_weight=sample_weight,
        l2=l2,
        validation_data=validation_data,
        callbacks=callbacks,
        strategy=strategy,
        stop_on_nonfinite=stop_on_nonfinite,
        client=client,
    )
