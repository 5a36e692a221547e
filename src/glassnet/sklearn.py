"""The scikit-learn drop-in: ``MLPClassifier`` and ``MLPRegressor``.

They take every constructor parameter of scikit-learn's estimators of the same
names, with the same meanings and defaults, expose the same fitted attributes,
and pass scikit-learn's own estimator checks. Under each sits a glassnet
:class:`~glassnet.Network` (``network_``) trained by glassnet's own loop; this
module only translates: scikit-learn's parameters into layers, losses and
optimizers, and its stopping and learning-rate rules into a callback.

What they add:

* ``activation`` may be a list, one entry per hidden layer, and may be ``"leaky_relu"``
  or any activation registered with :func:`glassnet.activations.register`;
* ``dropout``: one rate, or one per hidden layer;
* ``class_weight`` (classifier): ``"balanced"`` or a dict;
* ``early_stopping_metric="loss"``: stop on the validation loss instead of the score;
* ``validation_loss_curve_`` whenever a validation split is used;
* a tqdm progress bar with ``verbose=True`` (``verbose=2`` prints scikit-learn's lines);
* ``network_``, the Network underneath, and ``save(path)`` in glassnet's safe format.

Needs the ``sklearn`` extra: ``pip install 'glassnet[sklearn]'``.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings

import numpy as np

try:
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
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "glassnet.MLPClassifier and glassnet.MLPRegressor need scikit-learn: "
        "pip install 'glassnet[sklearn]'"
    ) from None

from . import activations as _activations
from . import losses as _losses
from .layers import Dense, Dropout
from .network import Network
from .optimizers import LBFGS, SGD, Adam
from .training import Callback

__all__ = ["MLPClassifier", "MLPRegressor"]

_HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
_OUTPUT = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity", "exp": "exp"}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class _Invalid(ValueError, TypeError):
    """A constructor parameter with a bad value (raised by fit, never by __init__)."""


class _Schedule(Callback):
    """scikit-learn's epoch bookkeeping: curves, tolerance-based stopping, learning rates,
    early stopping on a validation split, the progress bar."""

    def __init__(self, est, n_samples, validation, bar):
        self.est = est
        self.n_samples = n_samples
        self.validation = validation  # (X_val, y_val_original, Y_val_encoded, w_val) or None
        self.bar = bar
        self.message = None

    def on_epoch_end(self, net, history):
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = history.sample_loss[-1]
        est.loss_curve_.append(est.loss_)
        if est.verbose and not self.bar:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        self._update_no_improvement_count(net)
        opt = est._optimizer
        if isinstance(opt, SGD) and est.learning_rate == "invscaling":
            opt.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if self.bar:
            postfix = {"loss": f"{est.loss_:.4g}"}
            if self.validation is not None:
                postfix["val_loss"] = f"{est.validation_loss_curve_[-1]:.4g}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            if est.early_stopping and est.early_stopping_metric == "loss":
                what = "Validation loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if isinstance(opt, SGD) and est.learning_rate == "adaptive":
                if opt.lr > 1e-6:
                    opt.lr /= 5.0
                    est._no_improvement_count = 0
                    self._say(f"{msg} Setting learning rate to {opt.lr:f}")
                    return False
                self._say(f"{msg} Learning rate too small. Stopping.")
            else:
                self._say(f"{msg} Stopping.")
            est._converged = True
            return True
        return False

    def _say(self, message: str) -> None:
        if self.est.verbose:
            (self.bar.write if self.bar else print)(message)

    def _update_no_improvement_count(self, net) -> None:
        est = self.est
        if self.validation is not None:
            X_val, y_val, Y_val, w_val = self.validation
            z, output = net._logits_and_output(X_val)
            val_loss = est._validation_loss(net, z, output, Y_val, w_val)
            est.validation_loss_curve_.append(val_loss)
            score = est._score_output(output, y_val, w_val)
            est.validation_scores_.append(score)
            if est.verbose and not self.bar:
                print(f"Validation score: {score:f}")
            if est.early_stopping_metric == "loss":
                improved, better = (
                    val_loss > est._best_val_loss - est.tol,
                    val_loss < est._best_val_loss,
                )
                if better:
                    est._best_val_loss = val_loss
            else:
                improved = score < est.best_validation_score_ + est.tol
                better = score > est.best_validation_score_
            est._no_improvement_count = est._no_improvement_count + 1 if improved else 0
            if better:
                est.best_validation_score_ = score
                est._best_params = net.parameters.copy()
        else:
            if est.loss_curve_[-1] > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if est.loss_curve_[-1] < est.best_loss_:
                est.best_loss_ = est.loss_curve_[-1]


class _BaseMLP(BaseEstimator):
    """The shared machinery. Use MLPClassifier or MLPRegressor."""

    _loss_param = None  # MLPRegressor sets "loss"

    # -- parameters -------------------------------------------------------------------------

    def _check_params(self) -> None:
        def bad(name, text):
            raise _Invalid(
                f"The '{name}' parameter of {type(self).__name__} must be {text}. "
                f"Got {getattr(self, name)!r} instead."
            )

        sizes = self.hidden_layer_sizes
        sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
        if not all(_is_int(s) for s in sizes):
            bad("hidden_layer_sizes", "an int or an array-like of ints")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        acts = self.activation
        known = set(_HIDDEN_ACTIVATIONS) | set(_activations.names())  # registered ones too
        choices = f"{set(_HIDDEN_ACTIVATIONS)} (or a registered glassnet activation)"
        if isinstance(acts, str):
            if acts not in known:
                bad("activation", f"a str among {choices}, or a list of them")
        else:
            try:
                acts = list(acts)
            except TypeError:
                bad("activation", f"a str among {choices}, or a list of them")
            if len(acts) != len(sizes) or not all(isinstance(a, str) and a in known for a in acts):
                bad(
                    "activation",
                    f"a str, or a list with one of {choices} per hidden layer ({len(sizes)})",
                )
        if self.solver not in ("lbfgs", "sgd", "adam"):
            bad("solver", "a str among {'lbfgs', 'sgd', 'adam'}")
        if not _is_real(self.alpha) or self.alpha < 0:
            bad("alpha", "a float in the range [0.0, inf)")
        if not (self.batch_size == "auto" or (_is_int(self.batch_size) and self.batch_size >= 1)):
            bad("batch_size", "'auto' or an int in the range [1, inf)")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            bad("learning_rate", "a str among {'constant', 'invscaling', 'adaptive'}")
        if not _is_real(self.learning_rate_init) or not self.learning_rate_init > 0:
            bad("learning_rate_init", "a float in the range (0.0, inf)")
        if not _is_real(self.power_t) or self.power_t < 0:
            bad("power_t", "a float in the range [0.0, inf)")
        if not _is_int(self.max_iter) or self.max_iter < 1:
            bad("max_iter", "an int in the range [1, inf)")
        if not isinstance(self.shuffle, (bool, np.bool_)):
            bad("shuffle", "an instance of 'bool'")
        rs = self.random_state
        if not (
            rs is None
            or _is_int(rs)
            or isinstance(rs, (np.random.RandomState, np.random.Generator))
        ):
            bad("random_state", "an int, a numpy RandomState or Generator, or None")
        if not _is_real(self.tol) or self.tol < 0:
            bad("tol", "a float in the range [0.0, inf)")
        if not (isinstance(self.verbose, (bool, np.bool_)) or _is_int(self.verbose)):
            bad("verbose", "a bool or an int")
        for name in ("warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                bad(name, "an instance of 'bool'")
        if not _is_real(self.momentum) or not 0 <= self.momentum <= 1:
            bad("momentum", "a float in the range [0.0, 1.0]")
        if not _is_real(self.validation_fraction) or not 0 <= self.validation_fraction < 1:
            bad("validation_fraction", "a float in the range [0.0, 1.0)")
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value < 1:
                bad(name, "a float in the range [0.0, 1.0)")
        if not _is_real(self.epsilon) or not self.epsilon > 0:
            bad("epsilon", "a float in the range (0.0, inf)")
        nic = self.n_iter_no_change
        if not ((_is_int(nic) and nic >= 1) or (_is_real(nic) and nic == math.inf)):
            bad("n_iter_no_change", "an int in the range [1, inf) or inf")
        if not _is_int(self.max_fun) or self.max_fun < 1:
            bad("max_fun", "an int in the range [1, inf)")
        rates = self.dropout
        rates = [rates] if _is_real(rates) else rates
        try:
            rates = list(rates)
        except TypeError:
            bad("dropout", "a float in [0, 1) or a list of them, one per hidden layer")
        if not all(_is_real(r) and 0 <= r < 1 for r in rates) or (
            len(rates) != 1 and len(rates) != len(sizes)
        ):
            bad("dropout", f"a float in [0, 1) or a list of {len(sizes)} of them")
        if self.early_stopping_metric not in ("score", "loss"):
            bad("early_stopping_metric", "'score' or 'loss'")
        if self._loss_param is not None and self.loss not in ("squared_error", "poisson"):
            bad("loss", "a str among {'squared_error', 'poisson'}")

    def _hidden(self) -> tuple[list[int], list[str], list[float]]:
        sizes = self.hidden_layer_sizes
        sizes = [int(sizes)] if not hasattr(sizes, "__iter__") else [int(s) for s in sizes]
        acts = (
            [self.activation] * len(sizes)
            if isinstance(self.activation, str)
            else list(self.activation)
        )
        rates = self.dropout
        rates = [float(rates)] * len(sizes) if _is_real(rates) else [float(r) for r in rates]
        return sizes, acts, rates

    def _generator(self) -> np.random.Generator:
        rs = self.random_state
        if rs is None:
            return np.random.default_rng()
        if isinstance(rs, np.random.Generator):
            return rs
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
        return np.random.default_rng(int(rs))

    # -- building ---------------------------------------------------------------------------

    def _build_network(self, n_features: int, n_outputs: int, dtype, rng) -> Network:
        sizes, acts, rates = self._hidden()
        layers = []
        for size, act, rate in zip(sizes, acts, rates):
            layers.append(Dense(size, act))
            if rate > 0:
                layers.append(Dropout(rate))
        layers.append(Dense(n_outputs, _OUTPUT[self.out_activation_]))
        net = Network(layers, seed=rng)
        net.build(n_features, dtype)
        # scikit-learn's initialisation: weights and biases ~ U(-r, r) with
        # r = sqrt(6 / (fan_in + fan_out)), or sqrt(2 / ...) for logistic layers.
        dense = [layer for layer in net.layers if isinstance(layer, Dense)]
        for i, layer in enumerate(dense):
            act = acts[min(i, len(acts) - 1)] if acts else "relu"
            factor = 2.0 if act == "logistic" else 6.0
            bound = math.sqrt(factor / (layer.n_in + layer.units))
            layer.weights = rng.uniform(-bound, bound, (layer.n_in, layer.units))
            layer.bias = rng.uniform(-bound, bound, layer.units)
        return net

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._check_params()
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y)
        Y = self._encode_target(y).astype(X.dtype, copy=False)
        rng = self._generator()
        if first_pass:
            self._initialize(Y, X.shape[1], X.dtype, rng)
        elif X.shape[1] != self.network_.input_size:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.network_.input_size} features as input."
            )
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, y, Y, sample_weight, incremental, rng)
        if not np.isfinite(self.network_.parameters).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        return self

    def _initialize(self, Y, n_features, dtype, rng) -> None:
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(self._hidden()[0]) + 2
        self.out_activation_ = self._output_activation()
        self.network_ = self._build_network(n_features, self.n_outputs_, dtype, rng)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.validation_loss_curve_ = None

    def _sample_weight(self, sample_weight, X, y):
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=X.dtype)
            if sw.ndim == 0:
                sw = np.full(X.shape[0], float(sw), dtype=X.dtype)
            if sw.ndim != 1 or sw.shape[0] != X.shape[0]:
                raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({X.shape[0]},)!")
            if not np.isfinite(sw).all():
                raise ValueError("sample_weight contains NaN or infinity.")
            if (sw < 0).any():
                raise ValueError("Negative values in data passed to sample_weight")
            sw = sw.copy()
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

    def _loss(self) -> _losses.Loss:
        raise NotImplementedError

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=3,
            )
        return int(np.clip(self.batch_size, 1, n))

    def _fit_stochastic(self, X, y, Y, sample_weight, incremental, rng):
        net = self.network_
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
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        X_train, Y_train, sw_train = X, Y, sample_weight
        if self.early_stopping:
            stratify = y if (self._is_classifier and self.n_outputs_ == 1 and y.ndim == 1) else None
            arrays = [X, Y, y] + ([sample_weight] if sample_weight is not None else [])
            split = train_test_split(
                *arrays,
                random_state=int(rng.integers(np.iinfo(np.int32).max)),
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
            self._best_val_loss = math.inf
            self._best_params = net.parameters.copy()
        n = X_train.shape[0]
        batch = self._batch_size(n)
        bar = self._progress_bar(1 if incremental else self.max_iter)
        schedule = _Schedule(self, n, validation, bar)
        self.n_iter_ = 0 if not incremental else self.n_iter_
        self._converged = False
        try:
            net.fit(
                X_train,
                Y_train,
                loss=self._loss(),
                optimizer=self._optimizer,
                epochs=1 if incremental else self.max_iter,
                batch_size=None if batch >= n else batch,
                shuffle=self.shuffle,
                sample_weight=sw_train,
                callbacks=[schedule],
                l2=float(self.alpha),
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        finally:
            if bar:
                bar.close()
        if not incremental and not self._converged and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.early_stopping:
            net.parameters = self._best_params

    def _fit_lbfgs(self, X, Y, sample_weight):
        opt = LBFGS(tol=float(self.tol), max_fun=int(self.max_fun))
        history = self.network_.fit(
            X,
            Y,
            loss=self._loss(),
            optimizer=opt,
            epochs=self.max_iter,
            sample_weight=sample_weight,
            l2=float(self.alpha),
        )
        result = opt.result
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.loss_curve_ = list(history.loss)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_
        if result.status != 0:
            message = result.message if isinstance(result.message, str) else str(result.message)
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}):\n{message}\n\nIncrease the number of iterations "
                "to improve the convergence (max_iter={self.max_iter}).\nYou might also want "
                "to scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _progress_bar(self, total: int):
        if not self.verbose or (_is_int(self.verbose) and self.verbose >= 2):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total, unit="epoch", desc=type(self).__name__, file=sys.stderr, dynamic_ncols=True
        )

    def _validation_loss(self, net, z, output, Y_val, w_val) -> float:
        """The training loss's definition, on the validation split (penalty included)."""
        value = self._loss().value(output, Y_val, w_val, z)
        W = net.parameters[: net.n_weights]
        m = len(Y_val) if w_val is None else float(w_val.sum())
        return float(value + 0.5 * self.alpha * float(np.dot(W, W)) / m)

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
        """The weight matrices, (n_in, n_out) each: live views into ``network_``."""
        check_is_fitted(self, "network_")
        return [layer.weights for layer in self.network_.layers if isinstance(layer, Dense)]

    @coefs_.setter
    def coefs_(self, values) -> None:
        check_is_fitted(self, "network_")
        dense = [layer for layer in self.network_.layers if isinstance(layer, Dense)]
        if len(values) != len(dense):
            raise ValueError(f"coefs_ needs {len(dense)} matrices, got {len(values)}")
        for layer, value in zip(dense, values):
            layer.weights = value

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors: live views into ``network_``."""
        check_is_fitted(self, "network_")
        return [layer.bias for layer in self.network_.layers if isinstance(layer, Dense)]

    @intercepts_.setter
    def intercepts_(self, values) -> None:
        check_is_fitted(self, "network_")
        dense = [layer for layer in self.network_.layers if isinstance(layer, Dense)]
        if len(values) != len(dense):
            raise ValueError(f"intercepts_ needs {len(dense)} vectors, got {len(values)}")
        for layer, value in zip(dense, values):
            layer.bias = value

    # -- partial_fit is for the stochastic solvers only --------------------------------------

    def _check_solver(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    # -- saving ----------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted estimator to a safe glassnet model file (see ``glassnet.load``)."""
        check_is_fitted(self)
        from . import modelfile

        modelfile.save(self, path)

    @property
    def _model_file_kind(self) -> str:
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

    def _model_file_payload(self):
        params = self.get_params()
        rs = params.get("random_state")
        params["random_state"] = rs if rs is None or _is_int(rs) else None
        sizes = params["hidden_layer_sizes"]
        params["hidden_layer_sizes"] = int(sizes) if _is_int(sizes) else [int(v) for v in sizes]
        if not isinstance(params["activation"], str):
            params["activation"] = list(params["activation"])
        if not _is_real(params["dropout"]):
            params["dropout"] = list(params["dropout"])
        cw = params.get("class_weight")
        if isinstance(cw, dict):
            params["class_weight"] = [[k, v] for k, v in cw.items()]
        fitted = {name: getattr(self, name, None) for name in self._SAVED}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = list(self.feature_names_in_)
        fitted.update(self._target_payload())
        return self.network_, {"params": params, "fitted": fitted}

    def _target_payload(self) -> dict:
        return {}

    @classmethod
    def _from_model_file(cls, net, payload, doc):
        params = dict(payload["params"])
        if isinstance(params.get("hidden_layer_sizes"), list):  # JSON has no tuples
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = {k: v for k, v in params["class_weight"]}
        est = cls(**params)
        fitted = payload["fitted"]
        for name in cls._SAVED:
            setattr(est, name, fitted.get(name))
        # JSON stores infinity as null: put back the starting values that mean "none yet".
        if est.early_stopping and est.best_validation_score_ is None:
            est.best_validation_score_ = -np.inf
        if not est.early_stopping and est.best_loss_ is None:
            est.best_loss_ = np.inf
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        if net.input_size != est.n_features_in_ or net.output_size != est.n_outputs_:
            raise ValueError("the estimator's sizes do not match its network")
        est.network_ = net
        est._no_improvement_count = 0
        est._restore_target(fitted)
        return est

    def _restore_target(self, fitted) -> None:
        pass


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier, on glassnet.

    The parameters are scikit-learn's (same names, meanings and defaults), plus
    ``dropout``, ``class_weight`` and ``early_stopping_metric``; ``activation`` may
    also be ``"leaky_relu"`` or a list with one activation per hidden layer.
    See :mod:`glassnet.sklearn` for what differs.
    """

    _is_classifier = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        class_weight=None,
        early_stopping_metric="score",
    ):
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

    def _encode_target(self, y) -> np.ndarray:
        # One-hot rows (for multiclass) train a little faster than class indices, and
        # scikit-learn holds the same matrix.
        return self._label_binarizer.transform(y).astype(np.float64)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss(self) -> _losses.Loss:
        return _losses.get("cross_entropy" if self.out_activation_ == "softmax" else "bce")

    def _apply_class_weight(self, sw, y):
        if self.class_weight is None:
            return sw
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise _Invalid(
                "The 'class_weight' parameter of MLPClassifier must be 'balanced', a dict or "
                f"None. Got {self.class_weight!r} instead."
            )
        weights = compute_sample_weight(self.class_weight, y).astype(
            sw.dtype if sw is not None else np.float64
        )
        return weights if sw is None else sw * weights

    def _score_output(self, output, y_val, w_val) -> float:
        return float(accuracy_score(y_val, self._decode(output), sample_weight=w_val))

    def _decode(self, output: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    # -- the public methods ---------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (class labels or a label matrix)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
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

    def predict(self, X):
        """The predicted classes (or label matrix, for multilabel targets)."""
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Probability of each class, in ``classes_`` order."""
        output = self._forward(X)
        if self.n_outputs_ == 1:
            p = output.ravel()
            return np.vstack([1 - p, p]).T
        return output

    def predict_log_proba(self, X):
        """The log of ``predict_proba``."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def _target_payload(self) -> dict:
        return {"classes_": self.classes_.tolist(), "y_type_": self._label_binarizer.y_type_}

    def _restore_target(self, fitted) -> None:
        classes = np.asarray(fitted["classes_"])
        y_type = fitted["y_type_"]
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"unknown target type {y_type!r}")
        binarizer = LabelBinarizer()
        if y_type == "multilabel-indicator":
            binarizer.fit(np.eye(max(len(classes), 2), dtype=int)[:, : len(classes)])
        else:
            binarizer.fit(classes)
        if len(binarizer.classes_) != len(classes):
            raise ValueError("the stored classes are inconsistent")
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor, on glassnet.

    The parameters are scikit-learn's (same names, meanings and defaults), plus
    ``dropout`` and ``early_stopping_metric``; ``activation`` may also be
    ``"leaky_relu"`` or a list with one activation per hidden layer.
    """

    _is_classifier = False
    _loss_param = "loss"

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        early_stopping_metric="score",
    ):
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

    def _encode_target(self, y) -> np.ndarray:
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _loss(self) -> _losses.Loss:
        return _losses.get("poisson" if self.loss == "poisson" else "half_squared_error")

    def _score_output(self, output, y_val, w_val) -> float:
        return float(
            r2_score(y_val, output.ravel() if output.shape[1] == 1 else output, sample_weight=w_val)
        )

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """The predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        output = self._forward(X)
        return output.ravel() if output.shape[1] == 1 else output
