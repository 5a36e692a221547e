"""Fitting a Network on Dask collections: the data goes onto the workers once, then trains.

A :class:`Session` checks the collections, builds the network from their metadata (as
an in-memory fit would, from the same generator) and puts the prepared data on the
workers; :meth:`Session.train` then runs one of the solvers of
:mod:`glassnet.dask.solvers` as often as needed. :func:`fit_network` is the two in one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import data as _data
from .. import losses as _losses
from .. import optimizers as _optimizers
from .. import validation as _v
from ..network import Network
from ..schedules import Schedule
from ..training import Callback, History, ValidationLoss
from . import shards as _shards
from . import solvers as _solvers

__all__ = ["Session", "fit_network"]


class Session:
    """A network and its training data, held on the cluster's workers until :meth:`close`.

    ``encode`` and ``class_weight`` go into the :class:`~glassnet.dask.shards.Target`
    (an estimator's label encoding and class weights).
    """

    def __init__(
        self,
        net: Network,
        X: Any,
        y: Any,
        sample_weight: Any,
        loss: _losses.Loss,
        client: Any = None,
        *,
        encode: Callable[[np.ndarray], np.ndarray] | None = None,
        class_weight: Any = None,
    ) -> None:
        self.client = _shards.get_client(client)
        inputs = _shards.check_inputs(X, y, sample_weight, numeric_y=encode is None)
        # The network's own boundary, on a stand-in row: it builds the network (drawing
        # its initial weights as an in-memory fit would), follows the data's dtype and
        # checks the output layer against the loss.
        _data.inputs(net, np.zeros((1, inputs.n_features), dtype=inputs.dtype))
        net.check_loss(loss)
        self.net, self.loss, self.inputs = net, loss, inputs
        self.shards = _shards.Shards(
            self.client, inputs, _shards.Target(net, loss, encode, class_weight)
        )
        self.n = self.shards.n

    def train(
        self,
        optimizer: _optimizers.Optimizer,
        *,
        epochs: int = 1,
        batch_size: int | None = None,
        shuffle: bool = True,
        l2: float = 0.0,
        validation_data: Any = None,
        callbacks: Sequence[Callback] = (),
        strategy: str = "average",
        stop_on_nonfinite: bool = True,
        schedule: str | Schedule | None = None,
        history: History | None = None,
    ) -> History:
        """Train the network on the session's data; returns the History (``history``,
        when given, is filled as training goes)."""
        net = self.net
        epochs, batch_size, l2, strategy, callbacks = check_options(
            epochs, batch_size, l2, strategy, callbacks
        )
        lbfgs = isinstance(optimizer, _optimizers.LBFGS)
        if lbfgs and batch_size is not None and batch_size < self.n:
            raise ValueError("LBFGS trains on the full batch: leave batch_size=None")
        validate, val_shards = None, None
        if validation_data is not None:
            validate, val_shards = _validation(net, validation_data, self.loss, self.client)
        if lbfgs and schedule is not None:
            raise ValueError("LBFGS has no learning rate to schedule; leave schedule=None")
        try:
            guard = _solvers.ClusterGuard(net, optimizer, stop_on_nonfinite)
            history = _solvers.run(
                net,
                self.shards,
                optimizer,
                strategy=strategy,
                epochs=epochs,
                batch_size=batch_size,
                shuffle=bool(shuffle),
                l2=l2,
                callbacks=callbacks,
                validate=validate,
                guard=guard,
                schedule=schedule,
                history=history,
            )
        finally:
            if val_shards is not None:
                val_shards.close()
        net.training_summary = {
            "samples": self.n,
            "features": self.inputs.n_features,
            "epochs": history.epochs,
            "loss_name": self.loss.name,
            "final_loss": history.loss[-1] if history.loss else None,
            "optimizer": repr(optimizer),
            "cluster": {
                "workers": self.shards.n_workers,
                "shards": len(self.shards),
                "partitions": self.shards.n_partitions,
                "strategy": "lbfgs" if lbfgs else strategy,
            },
        }
        return history

    def close(self) -> None:
        """Let the workers free the data."""
        self.shards.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_options(
    epochs: int, batch_size: int | None, l2: float, strategy: str, callbacks: Sequence[Callback]
) -> tuple:
    """The training options, checked (before any data moves)."""
    epochs = _v.check_int(epochs, "epochs", minimum=1)
    if batch_size is not None:
        batch_size = _v.check_int(batch_size, "batch_size", minimum=1)
    l2 = float(l2)
    if not (l2 >= 0 and math.isfinite(l2)):
        raise ValueError(f"l2 must be a non-negative number, got {l2}")
    strategy = _solvers.check_strategy(strategy)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback objects, got {type(cb).__name__}")
    return epochs, batch_size, l2, strategy, callbacks


def fit_network(
    net: Network,
    X: Any,
    y: Any,
    *,
    loss: _losses.Loss,
    sample_weight: Any = None,
    client: Any = None,
    **options: Any,
) -> History:
    """Put the data on the workers, train, and free the data; returns the History."""
    check_options(
        options.get("epochs", 1),
        options.get("batch_size"),
        options.get("l2", 0.0),
        options.get("strategy", "average"),
        options.get("callbacks", ()),
    )
    with Session(net, X, y, sample_weight, loss, client) as session:
        return session.train(**options)


def _validation(net: Network, validation_data, loss: _losses.Loss, client):
    """A function giving the validation loss at the network's current parameters, and the
    validation shards to close afterwards (None for data in memory)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a pair (X_val, y_val) or (X_val, y_val, w_val)")
    X_val, y_val = validation_data[0], validation_data[1]
    w_val = validation_data[2] if len(validation_data) == 3 else None
    assert net.input_size is not None  # built before validation is set up
    if _shards.kind_of(X_val) is not None:
        inputs = _shards.check_inputs(X_val, y_val, w_val)
        _v.check_features(np.empty((0, inputs.n_features)), net.input_size)
        shards = _shards.Shards(client, inputs, _shards.Target(net, loss))
        whole = shards.denominator(shards.n, shards.weight)

        def distributed_loss() -> float:
            results = shards.run(_shards.loss_only, net.parameters)
            return math.fsum(v for values, _ in results for v in values) / whole

        return distributed_loss, shards
    X_val = _v.as_2d_float(X_val, "X_val", dtype=net.dtype)
    _v.check_features(X_val, net.input_size)
    Y_val = _data.target(net, y_val, X_val.shape[0], loss)
    W_val = _v.check_sample_weight(w_val, X_val.shape[0], net.dtype)
    return ValidationLoss(net, (X_val, Y_val, W_val), loss), None
