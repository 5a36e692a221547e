"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's estimators, on glassnet's engine.

The estimator validates its input once (scikit-learn's ``validate_data``), encodes the
target, builds a :class:`~glassnet.Network` drawn as scikit-learn draws its weights,
and hands the checked arrays to glassnet's one training loop
(:func:`glassnet.training.fit_arrays`) with scikit-learn's rules expressed in the
engine's own terms: ``alpha`` as the L2 penalty, ``learning_rate`` as a schedule of
:mod:`glassnet.schedules`, ``tol`` and ``n_iter_no_change`` as
:class:`~glassnet.training.EarlyStopping`, the validation split's score as a callback
(:mod:`.epochs`). After the fit it reads the fitted attributes off the History.

The steps of ``fit`` are public (:meth:`_BaseMLP.start_fit`,
:meth:`_BaseMLP.training_options`, :meth:`_BaseMLP.end_fit`), so that
:mod:`glassnet.dask` fits an estimator on a cluster by the same definition.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import data as _data
from .. import losses as _losses
from .. import training as _training
from ..layers import Dense, Dropout, Layer
from ..network import Network
from ..optimizers import LBFGS, SGD, Adam, Optimizer
from ..schedules import Adaptive, InvScaling, Plateau, Schedule
from . import params as _params
from .epochs import Lines, Validation

__all__ = ["MLPClassifier", "MLPRegressor"]


def _stochastic(est) -> bool:
    """partial_fit is for the stochastic solvers only (``available_if``'s check)."""
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is "
            "not stochastic."
        )
    return True


def _dense(net: Network) -> list[Dense]:
    return [layer for layer in net.layers if isinstance(layer, Dense)]


class _LayerArrays(list):
    """``coefs_`` or ``intercepts_``: one live view per Dense layer. Assigning an item
    copies the new values into that layer, as a list of scikit-learn's arrays would
    take them."""

    def __init__(self, layers: list[Dense], attr: str):
        super().__init__(getattr(layer, attr) for layer in layers)
        self.layers, self.attr = layers, attr

    def __setitem__(self, index, value) -> None:
        if isinstance(index, slice):
            raise TypeError("assign the arrays one at a time, or the whole list")
        setattr(self.layers[index], self.attr, value)

    def assign(self, values, name: str) -> None:
        values = list(values)
        if len(values) != len(self.layers):
            raise ValueError(f"{name} needs {len(self.layers)} arrays, got {len(values)}")
        for i, value in enumerate(values):
            self[i] = value


class _BaseMLP(BaseEstimator):
    """The shared machinery. Use MLPClassifier or MLPRegressor."""

    # The HTML repr's "?" link (and each parameter's): scikit-learn's page for the
    # estimator this one replaces, whose parameters it shares; glassnet's own are
    # explained in the tooltips, which come from the docstring.
    _doc_link_module = "glassnet"
    _doc_link_template = (
        f"https://scikit-learn.org/{_params.SKLEARN_DOCS}/modules/generated/"
        "sklearn.neural_network.{estimator_name}.html"
    )

    # -- what the subclasses define ----------------------------------------------------------

    #: Whether the estimator classifies.
    is_classifier = False

    # Set when fitting (declared for type checkers; scikit-learn sets no defaults).
    _optimizer: Optimizer
    _plateau: Plateau | None
    loss_curve_: list[float]
    best_loss_: float | None

    def loss_function(self) -> _losses.Loss:
        """The glassnet loss the network trains with."""
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _score_output(self, output, y, w) -> float:
        raise NotImplementedError

    # -- building ---------------------------------------------------------------------------

    def _random_states(self) -> tuple[np.random.RandomState, np.random.Generator]:
        """scikit-learn's RandomState, which draws the initial weights and the validation
        split exactly as scikit-learn does, and the network's Generator (shuffling, dropout).

        ``random_state=None`` draws fresh entropy; NumPy's global state is never used.
        """
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return np.random.RandomState(int(rs.integers(2**32))), rs
        if rs is None:
            rng = np.random.default_rng()
            return np.random.RandomState(int(rng.integers(2**32))), rng
        state = rs if isinstance(rs, np.random.RandomState) else np.random.RandomState(int(rs))
        # Seeded from the RandomState's key without drawing from it, so the weights and
        # the split come out as scikit-learn's would. (get_state() gives the tuple
        # (name, key, pos, ...); NumPy's stubs say the dict of get_state(legacy=False).)
        _, key, pos, *_ = state.get_state()
        seed = [*key.tolist(), int(pos)]  # type: ignore[attr-defined]
        return state, np.random.default_rng(seed)

    def _build_network(self, n_features: int, n_outputs: int, dtype, rng, state=None) -> Network:
        sizes, acts, rates = _params.hidden(self)
        layers: list[Layer] = []
        for size, act, rate in zip(sizes, acts, rates):
            layers.append(Dense(size, act))
            if rate > 0:
                layers.append(Dropout(rate))
        layers.append(Dense(n_outputs, _params.OUTPUT_ACTIVATIONS[self.out_activation_]))
        net = Network(layers, seed=rng)
        net.build(n_features, dtype)
        if state is None:
            return net
        # scikit-learn's initialisation, draw for draw: per layer, weights and then biases
        # ~ U(-r, r) with r = sqrt(6 / (fan_in + fan_out)), or sqrt(2 / ...) for logistic.
        for i, layer in enumerate(_dense(net)):
            assert layer.n_in is not None  # built
            act = acts[min(i, len(acts) - 1)] if acts else self.activation  # no hidden layer
            factor = 2.0 if act == "logistic" else 6.0
            bound = math.sqrt(factor / (layer.n_in + layer.units))
            layer.weights = state.uniform(-bound, bound, (layer.n_in, layer.units))
            layer.bias = state.uniform(-bound, bound, layer.units)
        return net

    def has_weights(self) -> bool:
        """Whether the estimator holds weights to continue from: a network, or
        ``coefs_`` and ``intercepts_`` set by hand before the first fit."""
        return "network_" in self.__dict__ or "_coefs" in self.__dict__

    # -- the steps of fit ---------------------------------------------------------------------

    def start_fit(self, n_features: int, n_outputs: int, dtype, *, first_pass: bool):
        """The start of every fit: new weights (``first_pass``), the weights set by hand,
        or the network as it is (``warm_start``, ``partial_fit``); returns scikit-learn's
        RandomState for this fit (it draws the validation split)."""
        state, rng = self._random_states()
        if first_pass:
            self.__dict__.pop("_coefs", None)
            self.__dict__.pop("_intercepts", None)
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(_params.hidden(self)[0]) + 2
            self.out_activation_ = self._output_activation()
            self.network_ = self._build_network(n_features, n_outputs, dtype, rng, state)
            self._start_bookkeeping()
        elif "network_" not in self.__dict__:
            self._adopt_weights(n_features, n_outputs, dtype, rng)
        elif n_features != self.network_.input_size:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.network_.input_size} features as input."
            )
        return state

    def _start_bookkeeping(self, keep: bool = False) -> None:
        """The curves and stopping state of a first fit (``keep``: only the missing ones)."""
        start = {"loss_curve_": [], "n_iter_": 0, "t_": 0, "_no_improvement_count": 0}
        if self.early_stopping:
            start.update(
                validation_scores_=[],
                validation_loss_curve_=[],
                best_validation_score_=-np.inf,
                best_loss_=None,
            )
        else:
            start.update(
                best_loss_=np.inf,
                validation_scores_=None,
                best_validation_score_=None,
                validation_loss_curve_=None,
            )
        for name, value in start.items():
            if not keep or getattr(self, name, None) is None:
                setattr(self, name, value)
        if not keep or getattr(self, "_plateau", None) is None:
            self._plateau = None  # made by training_options

    def _adopt_weights(self, n_features: int, n_outputs: int, dtype, rng) -> None:
        """Start from ``coefs_`` and ``intercepts_`` set by hand before the first fit
        (scikit-learn's way of giving starting weights)."""
        coefs, intercepts = self.__dict__.get("_coefs"), self.__dict__.get("_intercepts")
        if coefs is None or intercepts is None:
            raise ValueError("set both coefs_ and intercepts_ before fitting from them")
        sizes = _params.hidden(self)[0]
        units = [n_features, *sizes, n_outputs]
        if len(coefs) != len(units) - 1 or len(intercepts) != len(units) - 1:
            raise ValueError(
                f"coefs_ and intercepts_ need {len(units) - 1} arrays each for "
                f"hidden_layer_sizes={self.hidden_layer_sizes}; got {len(coefs)} and "
                f"{len(intercepts)}"
            )
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            want = (units[i], units[i + 1])
            if np.shape(W) != want or np.shape(b) != want[1:]:
                raise ValueError(
                    f"coefs_[{i}] has shape {np.shape(W)} and intercepts_[{i}] {np.shape(b)}, "
                    f"but the data and hidden_layer_sizes make them {want} and {want[1:]}"
                )
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(units)
        if getattr(self, "out_activation_", None) not in _params.OUTPUT_ACTIVATIONS:
            self.out_activation_ = self._output_activation()
        net = self._build_network(n_features, n_outputs, dtype, rng)
        for layer, W, b in zip(_dense(net), coefs, intercepts):
            layer.weights, layer.bias = W, b
        self.network_ = net
        del self._coefs, self._intercepts
        self._start_bookkeeping(keep=True)

    def batch_size_for(self, n: int) -> int:
        """The rows of one step for ``n`` training rows (``"auto"``: min(200, n))."""
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=_params.user_level(),
            )
        return int(np.clip(self.batch_size, 1, n))

    def _monitor(self) -> tuple[str, str]:
        """What tol and n_iter_no_change watch: (History name, "min" or "max")."""
        if not self.early_stopping:
            return "sample_loss", "min"
        if self.early_stopping_metric == "loss":
            return "val_loss", "min"
        return "val_score", "max"

    def training_options(self, n_samples: int, *, incremental: bool = False, validation=None):
        """The engine's arguments for the stochastic solvers on ``n_samples`` rows, as
        keyword arguments of :func:`glassnet.training.fit_arrays`: the optimizer (kept
        from call to call for ``partial_fit``), the epochs, the batch size, the L2
        penalty, the learning-rate schedule and the callbacks (the validation score of
        ``validation`` = (X, y, Y, w), tolerance-based stopping, the verbose output)."""
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = SGD(
                    self.learning_rate_init,
                    momentum=self.momentum,
                    nesterov=self.nesterovs_momentum,
                )
            else:
                self._optimizer = Adam(
                    self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon
                )
        monitor, mode = self._monitor()
        if getattr(self, "_plateau", None) is None:
            self._plateau = Plateau(float(self.tol), mode, rule="scikit-learn")
        patience = self.n_iter_no_change + 1  # scikit-learn stops after *more* than that
        callbacks: list[_training.Callback] = []
        if validation is not None:
            X_val, y_val, Y_val, w_val = validation
            callbacks.append(
                Validation(
                    X_val,
                    y_val,
                    Y_val,
                    w_val,
                    self.loss_function(),
                    float(self.alpha),
                    self._score_output,
                )
            )
        schedule: Schedule | None = None
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._optimizer.lr = self.learning_rate_init  # the schedule's base
            schedule = InvScaling(self.power_t, samples_before=int(self.t_))
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            schedule = Adaptive(5.0, patience, self.tol, 1e-6, monitor, mode, plateau=self._plateau)
            if self.early_stopping:  # the schedule stops; this keeps the best weights
                callbacks.append(_training.EarlyStopping(monitor, math.inf, self.tol, True, mode))
        else:
            callbacks.append(
                _training.EarlyStopping(
                    monitor, patience, self.tol, self.early_stopping, mode, plateau=self._plateau
                )
            )
        if self.verbose:
            callbacks.append(self._verbose_callback(1 if incremental else self.max_iter, schedule))
        batch = self.batch_size_for(n_samples)
        return {
            "optimizer": self._optimizer,
            "epochs": 1 if incremental else self.max_iter,
            "batch_size": None if batch >= n_samples else batch,
            "shuffle": self.shuffle,
            "l2": float(self.alpha),
            "schedule": schedule,
            "callbacks": callbacks,
            # scikit-learn goes on after a divergence when early stopping can hand back
            # the best weights; otherwise there is nothing to go on for.
            "stop_on_nonfinite": not self.early_stopping,
        }

    def _verbose_callback(self, epochs: int, schedule) -> _training.Callback:
        """verbose=True: a tqdm bar; verbose >= 2 (or without tqdm): scikit-learn's lines."""
        if self.verbose is True or self.verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                return _training.ProgressBar(tqdm, epochs, desc=type(self).__name__)
        return Lines(schedule)

    def end_fit(self, history: _training.History, *, incremental: bool = False) -> None:
        """After the stochastic solvers: the fitted attributes from the History, the
        stopping message (verbose) and scikit-learn's ConvergenceWarning."""
        self.n_iter_ = history.epochs
        self.t_ += history.samples
        self.loss_curve_.extend(history.sample_loss)
        if self.loss_curve_:
            self.loss_ = self.loss_curve_[-1]
        assert self._plateau is not None  # made by training_options
        self._no_improvement_count = self._plateau.wait
        if self.early_stopping:
            scores = history.metrics.get("val_score", [])
            self.validation_scores_.extend(scores)
            self.validation_loss_curve_.extend(history.metrics.get("val_loss", []))
            losses, scores = self.validation_loss_curve_, self.validation_scores_
            if self.early_stopping_metric == "loss" and not np.isnan(losses).all():
                self.best_validation_score_ = scores[int(np.nanargmin(losses))]
            elif not np.isnan(scores).all():
                self.best_validation_score_ = float(np.nanmax(scores))
        elif history.sample_loss:
            assert self.best_loss_ is not None  # inf before any loss, without early stopping
            self.best_loss_ = min(self.best_loss_, min(history.sample_loss))
        if history.stopped_early and self.verbose:
            print(self._stop_message())
        if not incremental and not history.stopped_early and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=_params.user_level(),
            )

    def _stop_message(self) -> str:
        what = "Validation score" if self.early_stopping else "Training loss"
        if self.early_stopping and self.early_stopping_metric == "loss":
            what = "Validation loss"
        message = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            return f"{message} Learning rate too small. Stopping."
        return f"{message} Stopping."

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False):
        _params.check(self)
        first_pass = not self.has_weights() or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y)
        Y = np.ascontiguousarray(self._encode_target(y), dtype=X.dtype)
        state = self.start_fit(X.shape[1], Y.shape[1], X.dtype, first_pass=first_pass)
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)
            else:
                self._fit_stochastic(X, y, Y, sample_weight, incremental, state)
        except _training.NonFiniteLossError:
            raise _training.NonFiniteLossError(_params.NON_FINITE) from None
        if not np.isfinite(self.network_.parameters).all():
            raise _training.NonFiniteLossError(_params.NON_FINITE)
        return self

    def _sample_weight(self, sample_weight, X, y):
        if sample_weight is not None:
            try:
                sw = np.array(sample_weight, dtype=X.dtype)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"sample_weight must hold numbers: {exc}") from None
            if sw.ndim == 0:
                sw = np.full(X.shape[0], float(sw), dtype=X.dtype)
            if sw.ndim != 1 or sw.shape[0] != X.shape[0]:
                raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({X.shape[0]},)!")
            if not np.isfinite(sw).all():
                raise ValueError("sample_weight contains NaN or infinity.")
            if (sw < 0).any():
                raise ValueError("Negative values in data passed to sample_weight")
        else:
            sw = None
        sw = self._apply_class_weight(sw, y)
        if sw is not None and not sw.sum() > 0:
            raise ValueError(
                "Sample weights must contain at least one non-zero number (all weights are zero)."
            )
        return sw

    def _apply_class_weight(self, sw, y):
        return sw

    def _fit_stochastic(self, X, y, Y, sample_weight, incremental, state):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        X_train, Y_train, sw_train = X, Y, sample_weight
        if self.early_stopping:
            # scikit-learn stratifies on the binarised target, and only for one output.
            one = self.is_classifier and self.n_outputs_ == 1
            stratify = Y.astype(bool) if one else None
            arrays = [X, Y, y] + ([sample_weight] if sample_weight is not None else [])
            split = train_test_split(
                *arrays,
                random_state=state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X_train, X_val, Y_train, Y_val, _, y_val = split[:6]
            sw_train, sw_val = (split[6], split[7]) if sample_weight is not None else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the "
                    "size of your dataset."
                )
            validation = (X_val, y_val, Y_val, sw_val)
        options = self.training_options(
            X_train.shape[0], incremental=incremental, validation=validation
        )
        history = _training.History()
        try:
            _training.fit_arrays(
                self.network_,
                (X_train, Y_train, sw_train),
                loss=self.loss_function(),
                history=history,
                **options,
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=_params.user_level())
            for cb in options["callbacks"]:  # what training would have ended with
                if isinstance(cb, _training.EarlyStopping) and cb.restore_best:
                    cb.on_train_end(self.network_, history)
        self.end_fit(history, incremental=incremental)

    def _fit_lbfgs(self, X, Y, sample_weight):
        opt = LBFGS(tol=float(self.tol), max_fun=int(self.max_fun))
        history = _training.fit_arrays(
            self.network_,
            (X, Y, sample_weight),
            loss=self.loss_function(),
            optimizer=opt,
            epochs=self.max_iter,
            l2=float(self.alpha),
        )
        self.end_lbfgs(history, opt.result)

    def end_lbfgs(self, history: _training.History, result) -> None:
        """After L-BFGS: the fitted attributes from the History and scipy's result, and
        scikit-learn's ConvergenceWarning when it did not converge."""
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.loss_curve_ = list(history.loss)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_
        if result.status != 0:
            message = result.message if isinstance(result.message, str) else str(result.message)
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}):\n{message}\n\nIncrease the number of iterations "
                f"to improve the convergence (max_iter={self.max_iter}).\nYou might also want "
                "to scale the data.",
                ConvergenceWarning,
                stacklevel=_params.user_level(),
            )

    # -- prediction -------------------------------------------------------------------------

    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32)
        )
        return self.network_.predict(X)

    # -- fitted attributes that live in the network -------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, (n_in, n_out) each: live views into ``network_``.

        Assignable, also before the first fit (``partial_fit``, or ``fit`` with
        ``warm_start=True``, then starts from them), and item by item:
        ``est.coefs_[0] = W`` copies W into the first layer.
        """
        if "network_" in self.__dict__:
            return _LayerArrays(_dense(self.network_), "weights")
        if "_coefs" in self.__dict__:
            return self._coefs
        check_is_fitted(self, "network_")  # raises NotFittedError
        raise AssertionError("not reached")

    @coefs_.setter
    def coefs_(self, values) -> None:
        if "network_" not in self.__dict__:
            self._coefs = values if isinstance(values, list) else list(values)
            return
        _LayerArrays(_dense(self.network_), "weights").assign(values, "coefs_")

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors: live views into ``network_``; assignable like ``coefs_``."""
        if "network_" in self.__dict__:
            return _LayerArrays(_dense(self.network_), "bias")
        if "_intercepts" in self.__dict__:
            return self._intercepts
        check_is_fitted(self, "network_")  # raises NotFittedError
        raise AssertionError("not reached")

    @intercepts_.setter
    def intercepts_(self, values) -> None:
        if "network_" not in self.__dict__:
            self._intercepts = values if isinstance(values, list) else list(values)
            return
        _LayerArrays(_dense(self.network_), "bias").assign(values, "intercepts_")

    def _loss_grad_lbfgs(self, packed, X, y, sample_weight, *buffers):
        """The loss and its gradient at the packed parameters (every weight, then every
        bias, which is the network's own flat layout): scikit-learn's private name for
        it, which its own test suite checks against central differences. ``y`` is the
        encoded target; ``buffers`` (scikit-learn's work arrays) are not needed."""
        net = self.network_
        net.parameters = packed
        X = np.ascontiguousarray(X, dtype=net.dtype)
        loss = self.loss_function()
        Y = _data.target(net, np.asarray(y, dtype=net.dtype), X.shape[0], loss)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=net.dtype)
        value = net.loss_and_grad(X, Y, w, loss, float(self.alpha))
        return value, net.gradients.copy()

    # -- saving ----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        """The estimator's state as plain values (builtins, NumPy arrays and scikit-learn's
        own objects): the network, the optimizer and the stopping rule are written out as
        dictionaries. pickle and joblib round-trip it bit for bit, and skops needs to trust
        only the estimator's class (:data:`glassnet.sklearn.SKOPS_TRUSTED_TYPES`)."""
        state = dict(super().__getstate__())  # (which may be the live __dict__)
        if isinstance(state.get("network_"), Network):
            state["network_"] = state["network_"].plain_state()
        optimizer = state.get("_optimizer")
        if isinstance(optimizer, Optimizer):
            state["_optimizer"] = {
                "optimizer": type(optimizer).__name__,
                "state": optimizer.__getstate__(),
            }
        if isinstance(state.get("_plateau"), Plateau):
            state["_plateau"] = dict(vars(state["_plateau"]))
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if isinstance(state.get("network_"), dict):
            state["network_"] = Network.from_plain_state(state["network_"])
        if isinstance(state.get("_optimizer"), dict):
            plain = state["_optimizer"]
            classes: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam, "LBFGS": LBFGS}
            cls = classes[plain["optimizer"]]
            optimizer = cls.__new__(cls)
            optimizer.__setstate__(plain["state"])
            state["_optimizer"] = optimizer
        if isinstance(state.get("_plateau"), dict):
            plateau = Plateau.__new__(Plateau)
            vars(plateau).update(state["_plateau"])
            state["_plateau"] = plateau
        super().__setstate__(state)

    def save(self, path) -> None:
        """Write the fitted estimator to a safe glassnet model file (see ``glassnet.load``)."""
        check_is_fitted(self)
        from ..modelfile import save

        save(self, path)

    @property
    def model_file_kind(self) -> str:
        """What a model file calls this class (see ``glassnet.modelfile``)."""
        return type(self).__name__

    _SAVED = (
        "n_iter_",
        "t_",
        "loss_",
        "best_loss_",
        "loss_curve_",
        "validation_scores_",
        "best_validation_score_",
        "validation_loss_curve_",
        "n_outputs_",
        "n_layers_",
        "out_activation_",
        "n_features_in_",
    )

    #: The JSON type of each fitted attribute in a model file (``modelfile.check_json``);
    #: a non-finite number is null there.
    _FITTED_TYPES = {
        "n_iter_": (int, None),
        "t_": (int, None),
        "loss_": (float, None),
        "best_loss_": (float, None),
        "loss_curve_": ([(float, None)], None),
        "validation_scores_": ([(float, None)], None),
        "best_validation_score_": (float, None),
        "validation_loss_curve_": ([(float, None)], None),
        "n_outputs_": int,
        "n_layers_": int,
        "out_activation_": str,
        "n_features_in_": int,
        "feature_names_in_": ([str], None),
        "classes_": [(str, int, float, bool)],
        "y_type_": str,
    }
    #: Fitted attributes every model file of the estimator has.
    _REQUIRED = ("n_outputs_", "n_layers_", "out_activation_", "n_features_in_")
    #: The numeric parameters that may be infinite, which JSON spells "inf".
    _MAY_BE_INFINITE = (
        "learning_rate_init",
        "power_t",
        "tol",
        "epsilon",
        "n_iter_no_change",
    )

    def model_file_payload(self):
        """(the network, the JSON payload: parameters and fitted attributes) for a model file."""
        params = self.get_params()
        rs = params.get("random_state")
        params["random_state"] = rs if rs is None or _params.is_int(rs) else None
        sizes = params["hidden_layer_sizes"]
        params["hidden_layer_sizes"] = (
            int(sizes) if _params.is_int(sizes) else [int(v) for v in sizes]
        )
        if not isinstance(params["activation"], str):
            params["activation"] = list(params["activation"])
        if not _params.is_real(params["dropout"]):
            params["dropout"] = list(params["dropout"])
        cw = params.get("class_weight")
        if isinstance(cw, dict):
            params["class_weight"] = [[k, v] for k, v in cw.items()]
        for name in self._MAY_BE_INFINITE:
            if _params.is_real(params[name]) and params[name] == math.inf:
                params[name] = "inf"
        fitted = {name: getattr(self, name, None) for name in self._SAVED}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = list(self.feature_names_in_)
        fitted.update(self._target_payload())
        return self.network_, {"params": params, "fitted": fitted}

    def _target_payload(self) -> dict:
        return {}

    @classmethod
    def from_model_file(cls, net, payload, doc):
        """The estimator a model file describes (see ``glassnet.modelfile``).

        Every parameter and fitted attribute is checked (its JSON type, the parameters'
        values as ``fit`` checks them, the sizes, the output activation and the classes
        against the network) before the estimator is built; a ValueError names the field.
        """
        from ..modelfile import check_json

        check_json(payload, {"params": dict, "fitted": dict}, "payload")
        for name in ("params", "fitted"):
            if name not in payload:
                raise ValueError(f"payload.{name} is missing")
        params = dict(payload["params"])
        known = cls().get_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"payload.params has an unknown parameter {unknown[0]!r}")
        if isinstance(params.get("hidden_layer_sizes"), list):  # JSON has no tuples
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if isinstance(params.get("class_weight"), list):
            check_json(
                params["class_weight"], [[(str, int, float, bool)]], "payload.params.class_weight"
            )
            if not all(
                len(pair) == 2 and _params.is_real(pair[1]) for pair in params["class_weight"]
            ):
                raise ValueError(
                    "payload.params.class_weight must be a list of [label, weight] pairs"
                )
            params["class_weight"] = {k: v for k, v in params["class_weight"]}
        for name in cls._MAY_BE_INFINITE:
            if params.get(name) == "inf":
                params[name] = math.inf
        est = cls(**params)
        try:
            _params.check(est)
        except ValueError as exc:
            raise ValueError(f"payload.params: {exc}") from None
        cls._restore(est, net, payload["fitted"])
        return est

    def _restore(self, net, fitted) -> None:
        from ..modelfile import check_json

        check_json(fitted, self._FITTED_TYPES, "payload.fitted")
        for name in self._REQUIRED:
            if fitted.get(name) is None:
                raise ValueError(f"payload.fitted.{name} is missing")
        for name in self._SAVED:
            setattr(self, name, fitted.get(name))
        # JSON stores infinity as null: put back the starting values that mean "none yet".
        if self.early_stopping and self.best_validation_score_ is None:
            self.best_validation_score_ = -np.inf
        if not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        dense = _dense(net)
        for name, value, size in (
            ("n_features_in_", self.n_features_in_, net.input_size),
            ("n_outputs_", self.n_outputs_, net.output_size),
            ("n_layers_", self.n_layers_, len(dense) + 1),
        ):
            if value != size:
                raise ValueError(f"payload.fitted.{name} is {value}, but the network's is {size}")
        output = _params.OUTPUT_ACTIVATIONS.get(self.out_activation_)
        if output != dense[-1].activation:
            raise ValueError(
                f"payload.fitted.out_activation_ is {self.out_activation_!r}, but the "
                f"network's output activation is {dense[-1].activation!r}"
            )
        names = fitted.get("feature_names_in_")
        if names is not None:
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"payload.fitted.feature_names_in_ has {len(names)} names, but the "
                    f"network takes {self.n_features_in_} features"
                )
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.network_ = net
        self._no_improvement_count = 0
        self._plateau = None
        self._restore_target(fitted)

    def _restore_target(self, fitted) -> None:
        pass


@_params.document(
    """    classes_ : ndarray or list of ndarray
        The class labels (or, for a label matrix, the column indices).
"""
)
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier, on glassnet.

    The parameters are scikit-learn's (same names, meanings and defaults), plus
    ``dropout``, ``class_weight`` and ``early_stopping_metric``; ``activation`` may
    also be ``"leaky_relu"`` or a list with one activation per hidden layer.
    See :mod:`glassnet.sklearn` for what differs.
    """

    is_classifier = True

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float | Sequence[float] = 0.0,
        class_weight: dict | str | None = None,
        early_stopping_metric: str = "score",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.class_weight = class_weight
        self.early_stopping_metric = early_stopping_metric

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    # -- targets --------------------------------------------------------------------------------

    def set_classes(self, classes: Any, multilabel: bool = False) -> None:
        """Fix the labels the network's outputs stand for (``classes_``): the sorted
        labels, or for a label matrix, one per column."""
        binarizer = LabelBinarizer()
        if multilabel:
            n = len(classes)
            binarizer.fit(np.eye(max(n, 2), dtype=int)[:, :n])
        else:
            binarizer.fit(classes)
        if len(binarizer.classes_) != len(classes):
            raise ValueError("the classes are not distinct")
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    @property
    def target_type(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"multilabel-indicator"`` (once fitted)."""
        check_is_fitted(self, "classes_")
        return self._label_binarizer.y_type_

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = np.unique(y) if y.ndim == 1 else np.arange(y.shape[1])
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, y

    def encode_target(self, y: Any) -> np.ndarray:
        """The rows the network trains on for labels ``y`` (one-hot, or one column of 0
        and 1 for two classes), as scikit-learn encodes them."""
        return self._label_binarizer.transform(y).astype(np.float64)

    _encode_target = encode_target

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def loss_function(self) -> _losses.Loss:
        return _losses.get("cross_entropy" if self.out_activation_ == "softmax" else "bce")

    def class_weights(self, labels: np.ndarray) -> np.ndarray | None:
        """The weight ``class_weight`` gives each of ``labels`` (None without it)."""
        if self.class_weight is None:
            return None
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise _params.InvalidParameter(
                "The 'class_weight' parameter of MLPClassifier must be 'balanced', a dict or "
                f"None. Got {self.class_weight!r} instead."
            )
        if isinstance(self.class_weight, dict):
            for label, weight in self.class_weight.items():
                if not _params.is_real(weight) or not 0 <= weight < math.inf:
                    raise _params.InvalidParameter(
                        f"class_weight gives class {label!r} the weight {weight!r}; class "
                        "weights must be non-negative finite numbers"
                    )
        return compute_sample_weight(self.class_weight, labels)

    def _apply_class_weight(self, sw, y):
        weights = self.class_weights(y)
        if weights is None:
            return sw
        weights = weights.astype(sw.dtype if sw is not None else np.float64)
        return weights if sw is None else sw * weights

    def _score_output(self, output, y, w) -> float:
        return float(accuracy_score(y, self._decode(output), sample_weight=w))

    def _decode(self, output: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    # -- the public methods ---------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the model to data matrix X and target(s) y (class labels or a label matrix)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """Update the model with one epoch over (X, y).

        ``classes`` is required on the first call: every label there will ever be.
        """
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                f"{self.classes_!r}"
            )
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted classes (or label matrix, for multilabel targets)."""
        return self._decode(self._forward(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class, in ``classes_`` order."""
        output = self._forward(X)
        if self.n_outputs_ == 1:
            p = output.ravel()
            return np.vstack([1 - p, p]).T
        return output

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The log of ``predict_proba``."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def _target_payload(self) -> dict:
        return {"classes_": self.classes_.tolist(), "y_type_": self._label_binarizer.y_type_}

    def _restore_target(self, fitted) -> None:
        """The classes, checked against the network's outputs as ``fit`` would make them:
        one softmax output a class (multiclass), one sigmoid output for one or two classes
        (binary), one sigmoid output a column, the classes 0 to n - 1 (a label matrix)."""
        for name in ("classes_", "y_type_"):
            if fitted.get(name) is None:
                raise ValueError(f"payload.fitted.{name} is missing")
        y_type, classes, n = fitted["y_type_"], fitted["classes_"], self.n_outputs_
        expected = {
            "multiclass": ("softmax", "one output a class", len(classes) == n),
            "binary": ("logistic", "one output for one or two classes", n == 1),
            "multilabel-indicator": ("logistic", "one output a column", len(classes) == n),
        }
        if y_type not in expected:
            raise ValueError(
                f"payload.fitted.y_type_ is {y_type!r}; it must be one of {', '.join(expected)}"
            )
        activation, rule, sizes_match = expected[y_type]
        labels = "label" + "s" * (len(classes) != 1)
        if not sizes_match or not 0 < len(classes) <= max(n, 2):
            raise ValueError(
                f"payload.fitted.classes_ has {len(classes)} {labels}, but the network has "
                f"{n} output{'s' * (n != 1)} (a {y_type} target has {rule})"
            )
        if self.out_activation_ != activation:
            raise ValueError(
                f"payload.fitted.out_activation_ is {self.out_activation_!r}, but a {y_type} "
                f"target needs {activation!r}"
            )
        if y_type == "multilabel-indicator" and classes != list(range(n)):
            raise ValueError(
                f"payload.fitted.classes_ of a label matrix must be 0 to {n - 1}, not {classes}"
            )
        kinds = {
            "text" if isinstance(c, str) else "bool" if isinstance(c, bool) else "number"
            for c in classes
        }
        if len(kinds) > 1:
            raise ValueError(f"payload.fitted.classes_ mixes kinds of labels: {classes}")
        if len(set(classes)) != len(classes):
            raise ValueError(f"payload.fitted.classes_ repeats a label: {classes}")
        self.set_classes(np.asarray(classes), y_type == "multilabel-indicator")
        if self._label_binarizer.y_type_ != y_type:
            raise ValueError(
                f"payload.fitted.y_type_ is {y_type!r}, but its classes make a "
                f"{self._label_binarizer.y_type_} target"
            )


@_params.document()
class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor, on glassnet.

    The parameters are scikit-learn's (same names, meanings and defaults), plus
    ``dropout`` and ``early_stopping_metric``; ``activation`` may also be
    ``"leaky_relu"`` or a list with one activation per hidden layer.
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float | Sequence[float] = 0.0,
        early_stopping_metric: str = "score",
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.early_stopping_metric = early_stopping_metric

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("MLPRegressor with loss='poisson' needs non-negative targets y.")
        return X, y

    def encode_target(self, y: Any) -> np.ndarray:
        """The rows the network trains on for targets ``y``: (n, n_outputs)."""
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    _encode_target = encode_target

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def loss_function(self) -> _losses.Loss:
        return _losses.get("poisson" if self.loss == "poisson" else "half_squared_error")

    def _score_output(self, output, y, w) -> float:
        if not np.isfinite(output).all():  # a diverged network: scikit-learn scores it NaN
            return math.nan
        return float(
            r2_score(y, output.ravel() if output.shape[1] == 1 else output, sample_weight=w)
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the model to data matrix X and target(s) y."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Update the model with one epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        output = self._forward(X)
        return output.ravel() if output.shape[1] == 1 else output
