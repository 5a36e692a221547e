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

import importlib.abc
import importlib.util
import inspect
import math
import numbers
import os
import sys
import warnings

import numpy as np

try:
    import sklearn
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
from .training import Callback, NonFiniteLossError

__all__ = ["MLPClassifier", "MLPRegressor"]

_SKLEARN_DOCS = ".".join(sklearn.__version__.split(".")[:2])

_HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
_OUTPUT = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity", "exp": "exp"}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# -- the NumPy-style docstrings: help(), IDEs and the HTML repr's tooltips read them ------------

_PARAMETER_DOCS = {
    "loss": """{'squared_error', 'poisson'}, default='squared_error'
    The loss to minimise. 'squared_error' is half the mean squared error; 'poisson' is
    the Poisson deviance, with an exp output so predictions are positive.""",
    "hidden_layer_sizes": """array-like of shape (n_layers - 2,), default=(100,)
    The number of units in each hidden layer: (100,) is one layer of 100, (64, 32) two.""",
    "activation": """str or list of str, default='relu'
    The hidden layers' activation: 'identity', 'logistic', 'tanh', 'relu', 'leaky_relu' or
    any name registered with glassnet.activations.register; a list gives one per layer.""",
    "solver": """{'lbfgs', 'sgd', 'adam'}, default='adam'
    The optimiser: full-batch L-BFGS (through scipy), stochastic gradient descent, or Adam.""",
    "alpha": """float, default=0.0001
    Strength of the L2 penalty on the weights (not the biases), divided by the batch's
    total sample weight.""",
    "batch_size": """int or 'auto', default='auto'
    Samples per mini-batch for 'sgd' and 'adam'; 'auto' is min(200, n_samples).""",
    "learning_rate": """{'constant', 'invscaling', 'adaptive'}, default='constant'
    The step-size schedule of 'sgd': fixed, learning_rate_init / (t + 1) ** power_t, or
    divided by 5 whenever the loss stops improving.""",
    "learning_rate_init": """float, default=0.001
    The initial step size of 'sgd' and 'adam'.""",
    "power_t": """float, default=0.5
    The exponent of the 'invscaling' schedule.""",
    "max_iter": """int, default=200
    The most epochs (passes over the data) for 'sgd' and 'adam', or iterations for
    'lbfgs'.""",
    "shuffle": """bool, default=True
    Reshuffle the samples before every epoch ('sgd' and 'adam').""",
    "random_state": """int, RandomState or Generator, default=None
    Seeds the initial weights and the validation split (drawn as scikit-learn draws
    them) and the network's own generator (shuffling, dropout). None draws fresh entropy.""",
    "tol": """float, default=1e-4
    The improvement in loss (or validation score) that counts: after n_iter_no_change
    epochs without it, training stops.""",
    "verbose": """bool or int, default=False
    True shows a progress bar; 2 prints the loss of every epoch.""",
    "warm_start": """bool, default=False
    Continue from the current weights (or from coefs_ and intercepts_ set by hand) instead
    of drawing new ones.""",
    "momentum": """float, default=0.9
    Momentum of 'sgd', between 0 and 1.""",
    "nesterovs_momentum": """bool, default=True
    Use Nesterov's momentum ('sgd' with momentum > 0).""",
    "early_stopping": """bool, default=False
    Hold out validation_fraction of the data, stop when its score stops improving, and
    keep the weights that scored best ('sgd' and 'adam').""",
    "validation_fraction": """float, default=0.1
    The share of the data held out when early_stopping is on.""",
    "beta_1": """float, default=0.9
    Adam's decay rate for the mean of the gradients, in [0, 1).""",
    "beta_2": """float, default=0.999
    Adam's decay rate for the mean of the squared gradients, in [0, 1).""",
    "epsilon": """float, default=1e-8
    Adam's term for numerical stability.""",
    "n_iter_no_change": """int, default=10
    Epochs without an improvement of at least tol before training stops.""",
    "max_fun": """int, default=15000
    The most loss evaluations for 'lbfgs'.""",
    "dropout": """float or list of float, default=0.0
    glassnet's extra: the dropout rate after each hidden layer (one rate, or one per
    layer), in [0, 1). Dropout acts in training only.""",
    "class_weight": """dict, 'balanced' or None, default=None
    glassnet's extra: a weight per class ({label: weight}), or 'balanced' for weights
    inversely proportional to the class frequencies; multiplies sample_weight.""",
    "early_stopping_metric": """{'score', 'loss'}, default='score'
    glassnet's extra: what early stopping watches, the validation score (accuracy or R²)
    or the validation loss.""",
}

_ATTRIBUTE_DOCS = """
    Attributes
    ----------
    coefs_ : list of ndarray
        The weight matrix of each layer, (n_in, n_out): live views into network_.
    intercepts_ : list of ndarray
        The bias vector of each layer: live views into network_.
    loss_ : float
        The loss of the last epoch, penalty included.
    best_loss_ : float or None
        The lowest training loss (None with early stopping).
    loss_curve_ : list of float
        The loss of every epoch.
    validation_scores_ : list of float or None
        The validation score of every epoch, with early stopping.
    validation_loss_curve_ : list of float or None
        glassnet's extra: the validation loss of every epoch, with early stopping.
    best_validation_score_ : float or None
        The best validation score, with early stopping.
    t_ : int
        The number of training samples seen.
    n_iter_ : int
        The epochs (or L-BFGS iterations) the last call to fit or partial_fit ran.
    n_features_in_ : int
        The number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The feature names, when X had them.
    n_layers_ : int
        The number of layers, input and output included.
    n_outputs_ : int
        The number of outputs.
    out_activation_ : str
        The output activation.
    network_ : glassnet.Network
        The network underneath.
"""


def _document(extra_attributes: str = ""):
    """A class decorator: complete an estimator's docstring (its summary) with every
    parameter of its constructor, in order, and the fitted attributes."""

    def document(cls):
        names = list(inspect.signature(cls.__init__).parameters)[1:]
        params = "\n".join(
            f"    {name} : " + _PARAMETER_DOCS[name].replace("\n", "\n    ") for name in names
        )
        cls.__doc__ = (
            f"{cls.__doc__.rstrip()}\n\n    Parameters\n    ----------\n{params}\n"
            + _ATTRIBUTE_DOCS
            + extra_attributes
        )
        return cls

    return document


def _user_level() -> int:
    """The ``stacklevel`` that makes a warning point at the first line outside glassnet and
    scikit-learn: the user's own ``fit`` call, also when it goes through a Pipeline."""
    import sklearn

    packages = (sys.modules[__package__], sklearn)
    inside = tuple(os.path.dirname(m.__file__) + os.sep for m in packages)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


class _Invalid(ValueError, TypeError):
    """A constructor parameter with a bad value (raised by fit, never by __init__)."""


_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


def _dense(net: Network) -> list[Dense]:
    return [layer for layer in net.layers if isinstance(layer, Dense)]


class _LayerArrays(list):
    """``coefs_`` or ``intercepts_``: one live view per Dense layer. Assigning an item
    copies the new values into that layer, as a list of scikit-learn's arrays would
    take them."""

    def __init__(self, layers: list[Dense], attr: str):
        super().__init__(getattr(layer, attr) for layer in layers)
        self._layers, self._attr = layers, attr

    def __setitem__(self, index, value) -> None:
        if isinstance(index, slice):
            raise TypeError("assign the arrays one at a time, or the whole list")
        setattr(self._layers[index], self._attr, value)

    def assign(self, values, name: str) -> None:
        values = list(values)
        if len(values) != len(self._layers):
            raise ValueError(f"{name} needs {len(self._layers)} arrays, got {len(values)}")
        for i, value in enumerate(values):
            self[i] = value


class _SGD(SGD):
    """SGD, with scikit-learn's name for its current step size."""

    @property
    def learning_rate(self) -> float:
        return self.lr


class _Adam(Adam):
    """Adam, with scikit-learn's name for its step size."""

    @property
    def learning_rate(self) -> float:
        return self.lr


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

    # The HTML repr's "?" link (and each parameter's): scikit-learn's page for the
    # estimator this one replaces, whose parameters it shares; glassnet's own are
    # explained in the tooltips, which come from the docstring.
    _doc_link_module = "glassnet"
    _doc_link_template = (
        f"https://scikit-learn.org/{_SKLEARN_DOCS}/modules/generated/"
        "sklearn.neural_network.{estimator_name}.html"
    )

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
        # "not x >= 0" also refuses NaN, which every comparison calls False.
        if not _is_real(self.alpha) or not 0 <= self.alpha < math.inf:
            bad("alpha", "a float in the range [0.0, inf)")
        if not (self.batch_size == "auto" or (_is_int(self.batch_size) and self.batch_size >= 1)):
            bad("batch_size", "'auto' or an int in the range [1, inf)")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            bad("learning_rate", "a str among {'constant', 'invscaling', 'adaptive'}")
        if not _is_real(self.learning_rate_init) or not self.learning_rate_init > 0:
            bad("learning_rate_init", "a float in the range (0.0, inf)")
        if not _is_real(self.power_t) or not self.power_t >= 0:
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
        if not _is_real(self.tol) or not self.tol >= 0:
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
        # the split come out as scikit-learn's would.
        _, key, pos, *_ = state.get_state()
        return state, np.random.default_rng([*key.tolist(), int(pos)])

    # -- building ---------------------------------------------------------------------------

    def _build_network(self, n_features: int, n_outputs: int, dtype, rng, state=None) -> Network:
        sizes, acts, rates = self._hidden()
        layers = []
        for size, act, rate in zip(sizes, acts, rates):
            layers.append(Dense(size, act))
            if rate > 0:
                layers.append(Dropout(rate))
        layers.append(Dense(n_outputs, _OUTPUT[self.out_activation_]))
        net = Network(layers, seed=rng)
        net.build(n_features, dtype)
        if state is None:
            return net
        # scikit-learn's initialisation, draw for draw: per layer, weights and then biases
        # ~ U(-r, r) with r = sqrt(6 / (fan_in + fan_out)), or sqrt(2 / ...) for logistic.
        for i, layer in enumerate(_dense(net)):
            act = acts[min(i, len(acts) - 1)] if acts else self.activation  # no hidden layer
            factor = 2.0 if act == "logistic" else 6.0
            bound = math.sqrt(factor / (layer.n_in + layer.units))
            layer.weights = state.uniform(-bound, bound, (layer.n_in, layer.units))
            layer.bias = state.uniform(-bound, bound, layer.units)
        return net

    def _has_weights(self) -> bool:
        return "network_" in self.__dict__ or "_coefs" in self.__dict__

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._check_params()
        first_pass = not self._has_weights() or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y)
        Y = self._encode_target(y).astype(X.dtype, copy=False)
        state, rng = self._random_states()
        if first_pass:
            self._initialize(Y, X.shape[1], X.dtype, state, rng)
        elif "network_" not in self.__dict__:
            self._adopt_weights(Y, X.shape[1], X.dtype, rng)
        elif X.shape[1] != self.network_.input_size:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.network_.input_size} features as input."
            )
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight)
            else:
                self._fit_stochastic(X, y, Y, sample_weight, incremental, state)
        except NonFiniteLossError:
            raise NonFiniteLossError(_NON_FINITE) from None
        if not np.isfinite(self.network_.parameters).all():
            raise NonFiniteLossError(_NON_FINITE)
        return self

    def _initialize(self, Y, n_features, dtype, state, rng) -> None:
        self.__dict__.pop("_coefs", None)
        self.__dict__.pop("_intercepts", None)
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(self._hidden()[0]) + 2
        self.out_activation_ = self._output_activation()
        self.network_ = self._build_network(n_features, self.n_outputs_, dtype, rng, state)
        self._start_bookkeeping()

    def _start_bookkeeping(self, keep: bool = False) -> None:
        """The curves and stopping state of a first fit (``keep``: only the missing ones)."""
        start = {"loss_curve_": [], "_no_improvement_count": 0, "n_iter_": 0, "t_": 0}
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

    def _adopt_weights(self, Y, n_features, dtype, rng) -> None:
        """Start from ``coefs_`` and ``intercepts_`` set by hand before the first fit
        (scikit-learn's way of giving starting weights)."""
        coefs, intercepts = self.__dict__.get("_coefs"), self.__dict__.get("_intercepts")
        if coefs is None or intercepts is None:
            raise ValueError("set both coefs_ and intercepts_ before fitting from them")
        sizes = self._hidden()[0]
        units = [n_features, *sizes, Y.shape[1]]
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
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(units)
        if getattr(self, "out_activation_", None) not in _OUTPUT:
            self.out_activation_ = self._output_activation()
        net = self._build_network(n_features, self.n_outputs_, dtype, rng)
        for layer, W, b in zip(_dense(net), coefs, intercepts):
            layer.weights, layer.bias = W, b
        self.network_ = net
        del self._coefs, self._intercepts
        self._start_bookkeeping(keep=True)

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

    def _loss(self) -> _losses.Loss:
        raise NotImplementedError

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=_user_level(),
            )
        return int(np.clip(self.batch_size, 1, n))

    def _fit_stochastic(self, X, y, Y, sample_weight, incremental, state):
        net = self.network_
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = _SGD(
                    self.learning_rate_init,
                    momentum=self.momentum,
                    nesterov=self.nesterovs_momentum,
                )
            else:
                self._optimizer = _Adam(
                    self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon
                )
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        X_train, Y_train, sw_train = X, Y, sample_weight
        if self.early_stopping:
            # scikit-learn stratifies on the binarised target, and only for one output.
            one = self._is_classifier and self.n_outputs_ == 1
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
            self._best_val_loss = math.inf
            self._best_params = net.parameters.copy()
        n = X_train.shape[0]
        batch = self._batch_size(n)
        bar = self._progress_bar(1 if incremental else self.max_iter)
        schedule = _Schedule(self, n, validation, bar)
        self.n_iter_ = 0  # the epochs of this call (t_ counts every sample ever seen)
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
                # scikit-learn goes on after a divergence when early stopping can hand
                # back the best weights; otherwise there is nothing to go on for.
                stop_on_nonfinite=not self.early_stopping,
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=_user_level())
        finally:
            if bar:
                bar.close()
        if not incremental and not self._converged and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=_user_level(),
            )
        if self.early_stopping:
            net.parameters = self._best_params
            del self._best_params  # a second copy of the weights, needed no longer

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
                f"to improve the convergence (max_iter={self.max_iter}).\nYou might also want "
                "to scale the data.",
                ConvergenceWarning,
                stacklevel=_user_level(),
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
        """The weight matrices, (n_in, n_out) each: live views into ``network_``.

        Assignable, also before the first fit (``partial_fit``, or ``fit`` with
        ``warm_start=True``, then starts from them), and item by item:
        ``est.coefs_[0] = W`` copies W into the first layer.
        """
        if "network_" in self.__dict__:
            return _LayerArrays(_dense(self.network_), "weights")
        if "_coefs" in self.__dict__:
            return self._coefs
        check_is_fitted(self, "network_")

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
        check_is_fitted(self, "network_")

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
        loss = self._loss()
        Y = net._prepare_target(np.asarray(y, dtype=net.dtype), X.shape[0], loss)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=net.dtype)
        value = net._loss_and_grad(X, Y, w, loss, float(self.alpha))
        return value, net.gradients.copy()

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


@_document(
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
        if isinstance(self.class_weight, dict):
            for label, weight in self.class_weight.items():
                if not _is_real(weight) or not 0 <= weight < math.inf:
                    raise _Invalid(
                        f"class_weight gives class {label!r} the weight {weight!r}; class "
                        "weights must be non-negative finite numbers"
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


@_document()
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
        if not np.isfinite(output).all():  # a diverged network: scikit-learn scores it NaN
            return math.nan
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


# -- skl2onnx ------------------------------------------------------------------------------------


class _ThenLoader(importlib.abc.Loader):
    """A module's own loader, which then calls ``then()`` once the module has run."""

    def __init__(self, loader, then):
        self._loader, self._then = loader, then

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        self._then()

    def __getattr__(self, name):  # resources and the like: the real loader's
        return getattr(self._loader, name)


class _WhenImported(importlib.abc.MetaPathFinder):
    """Calls ``then()`` right after the module ``name`` is first imported."""

    def __init__(self, name: str, then):
        self.name, self.then = name, then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and out of the way of the real look-up
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenLoader(spec.loader, self.then)
        return spec


def _register_with_skl2onnx() -> None:
    try:
        from .onnx import register_skl2onnx

        register_skl2onnx()
    except Exception as exc:  # never break the user's import of skl2onnx
        warnings.warn(
            f"glassnet could not register its estimators with skl2onnx: {exc}", stacklevel=2
        )


# skl2onnx converts a Pipeline that ends in a glassnet estimator once the estimators are
# registered with it. Importing skl2onnx here would slow every import of the drop-in by
# a second or two, so the registration waits until skl2onnx itself is imported.
if "skl2onnx" in sys.modules:
    _register_with_skl2onnx()
elif importlib.util.find_spec("skl2onnx") is not None:
    sys.meta_path.insert(0, _WhenImported("skl2onnx", _register_with_skl2onnx))
