"""The drop-in's parameters: their documentation and their checks.

:func:`document` completes an estimator's docstring with every constructor parameter
(help(), IDEs and the HTML repr's tooltips read it); :func:`check` validates the
parameters when ``fit`` starts (never in ``__init__``, as scikit-learn requires) and
raises :class:`InvalidParameter` with scikit-learn's wording.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import sklearn

from .. import activations as _activations

__all__ = [
    "InvalidParameter",
    "document",
    "check",
    "hidden",
    "is_int",
    "is_real",
    "user_level",
    "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "NON_FINITE",
    "MAX_SEED",
    "SKLEARN_DOCS",
]

#: The documentation version of scikit-learn's pages the HTML repr links to.
SKLEARN_DOCS = ".".join(sklearn.__version__.split(".")[:2])

HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
#: scikit-learn's output activation names -> glassnet's.
OUTPUT_ACTIVATIONS = {
    "softmax": "softmax",
    "logistic": "sigmoid",
    "identity": "identity",
    "exp": "exp",
}

#: The largest seed a RandomState takes (scikit-learn's range for random_state).
MAX_SEED = 2**32 - 1

#: scikit-learn's message for a diverged fit, which glassnet's estimators raise too.
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


class InvalidParameter(ValueError, TypeError):
    """A constructor parameter with a bad value (raised by fit, never by __init__)."""


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def user_level() -> int:
    """The ``stacklevel`` that makes a warning point at the first line outside glassnet and
    scikit-learn: the user's own ``fit`` call, also when it goes through a Pipeline."""
    import sklearn

    import glassnet

    inside = (
        os.path.dirname(glassnet.__file__) + os.sep,
        os.path.dirname(sklearn.__file__) + os.sep,
    )
    frame, level = inspect.currentframe(), 0
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


# -- the NumPy-style docstrings ------------------------------------------------------------

PARAMETER_DOCS = {
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

ATTRIBUTE_DOCS = """
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


def document(extra_attributes: str = "") -> Callable[[type], type]:
    """A class decorator: complete an estimator's docstring (its summary) with every
    parameter of its constructor, in order, and the fitted attributes."""

    def document(cls):
        names = list(inspect.signature(cls.__init__).parameters)[1:]
        params = "\n".join(
            f"    {name} : " + PARAMETER_DOCS[name].replace("\n", "\n    ") for name in names
        )
        cls.__doc__ = (
            f"{cls.__doc__.rstrip()}\n\n    Parameters\n    ----------\n{params}\n"
            + ATTRIBUTE_DOCS
            + extra_attributes
        )
        return cls

    return document


# -- the checks --------------------------------------------------------------------------


def check(est: Any) -> None:
    """Check every constructor parameter of ``est``; raises InvalidParameter (or, for
    a hidden layer size of 0, scikit-learn's ValueError)."""

    def bad(name, text):
        raise InvalidParameter(
            f"The '{name}' parameter of {type(est).__name__} must be {text}. "
            f"Got {getattr(est, name)!r} instead."
        )

    sizes = est.hidden_layer_sizes
    sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
    if not all(is_int(s) for s in sizes):
        bad("hidden_layer_sizes", "an int or an array-like of ints")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    acts = est.activation
    known = set(HIDDEN_ACTIVATIONS) | set(_activations.names())  # registered ones too
    choices = f"{set(HIDDEN_ACTIVATIONS)} (or a registered glassnet activation)"
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
    if est.solver not in ("lbfgs", "sgd", "adam"):
        bad("solver", "a str among {'lbfgs', 'sgd', 'adam'}")
    # "not x >= 0" also refuses NaN, which every comparison calls False.
    if not is_real(est.alpha) or not 0 <= est.alpha < math.inf:
        bad("alpha", "a float in the range [0.0, inf)")
    if not (est.batch_size == "auto" or (is_int(est.batch_size) and est.batch_size >= 1)):
        bad("batch_size", "'auto' or an int in the range [1, inf)")
    if est.learning_rate not in ("constant", "invscaling", "adaptive"):
        bad("learning_rate", "a str among {'constant', 'invscaling', 'adaptive'}")
    if not is_real(est.learning_rate_init) or not est.learning_rate_init > 0:
        bad("learning_rate_init", "a float in the range (0.0, inf)")
    if not is_real(est.power_t) or not est.power_t >= 0:
        bad("power_t", "a float in the range [0.0, inf)")
    if not is_int(est.max_iter) or est.max_iter < 1:
        bad("max_iter", "an int in the range [1, inf)")
    if not isinstance(est.shuffle, (bool, np.bool_)):
        bad("shuffle", "an instance of 'bool'")
    rs = est.random_state
    if not (
        rs is None
        or (is_int(rs) and 0 <= rs <= MAX_SEED)
        or isinstance(rs, (np.random.RandomState, np.random.Generator))
    ):
        bad(
            "random_state",
            f"an int in the range [0, {MAX_SEED}], a numpy RandomState or Generator, or None",
        )
    if not is_real(est.tol) or not est.tol >= 0:
        bad("tol", "a float in the range [0.0, inf)")
    if not (isinstance(est.verbose, (bool, np.bool_)) or is_int(est.verbose)):
        bad("verbose", "a bool or an int")
    for name in ("warm_start", "nesterovs_momentum", "early_stopping"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            bad(name, "an instance of 'bool'")
    if not is_real(est.momentum) or not 0 <= est.momentum <= 1:
        bad("momentum", "a float in the range [0.0, 1.0]")
    if not is_real(est.validation_fraction) or not 0 <= est.validation_fraction < 1:
        bad("validation_fraction", "a float in the range [0.0, 1.0)")
    for name in ("beta_1", "beta_2"):
        value = getattr(est, name)
        if not is_real(value) or not 0 <= value < 1:
            bad(name, "a float in the range [0.0, 1.0)")
    if not is_real(est.epsilon) or not est.epsilon > 0:
        bad("epsilon", "a float in the range (0.0, inf)")
    nic = est.n_iter_no_change
    if not ((is_int(nic) and nic >= 1) or (is_real(nic) and nic == math.inf)):
        bad("n_iter_no_change", "an int in the range [1, inf) or inf")
    if not is_int(est.max_fun) or est.max_fun < 1:
        bad("max_fun", "an int in the range [1, inf)")
    rates = est.dropout
    rates = [rates] if is_real(rates) else rates
    try:
        rates = list(rates)
    except TypeError:
        bad("dropout", "a float in [0, 1) or a list of them, one per hidden layer")
    if not all(is_real(r) and 0 <= r < 1 for r in rates) or (
        len(rates) != 1 and len(rates) != len(sizes)
    ):
        bad("dropout", f"a float in [0, 1) or a list of {len(sizes)} of them")
    if est.early_stopping_metric not in ("score", "loss"):
        bad("early_stopping_metric", "'score' or 'loss'")
    if "loss" in est.get_params() and est.loss not in ("squared_error", "poisson"):
        bad("loss", "a str among {'squared_error', 'poisson'}")


def hidden(est: Any) -> tuple[list[int], list[str], list[float]]:
    """The hidden layers: (sizes, activations, dropout rates), one entry a layer."""
    sizes = est.hidden_layer_sizes
    sizes = [int(sizes)] if not hasattr(sizes, "__iter__") else [int(s) for s in sizes]
    acts = (
        [est.activation] * len(sizes) if isinstance(est.activation, str) else list(est.activation)
    )
    rates = est.dropout
    rates = [float(rates)] * len(sizes) if is_real(rates) else [float(r) for r in rates]
    return sizes, acts, rates
