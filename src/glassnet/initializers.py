"""Weight initialisers, drawn from a ``numpy.random.Generator``.

Each initialiser maps ``(rng, fan_in, fan_out)`` to a weight matrix of shape
(fan_in, fan_out) in float64; the network casts it to its own dtype. Biases
start at zero, except under ``"normal"``, which draws them from N(0, 1) as the
seeds do.

=================  =========================================  ========================
name               distribution                               default for
=================  =========================================  ========================
``he_normal``      N(0, 2 / fan_in)                           relu, leaky_relu
``he_uniform``     U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))
``glorot_uniform`` U(-r, r), r = sqrt(6 / (fan_in + fan_out))  sigmoid, tanh, softmax,
                                                              identity, exp
``glorot_normal``  N(0, 2 / (fan_in + fan_out))
``normal``         N(0, 1), biases too                        (the seeds)
``uniform``        U(-1, 1)
``zeros``          0
=================  =========================================  ========================

``"he"`` means ``he_normal``; ``"glorot"`` and ``"xavier"`` mean ``glorot_uniform``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .validation import unknown_name

__all__ = ["get", "names", "initial_bias"]

Initializer = Callable[[np.random.Generator, int, int], np.ndarray]


def he_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def glorot_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return rng.standard_normal(size=(fan_in, fan_out))


def uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, size=(fan_in, fan_out))


def zeros(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return np.zeros((fan_in, fan_out))


_REGISTRY: dict[str, Initializer] = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "normal": normal,
    "uniform": uniform,
    "zeros": zeros,
}
_ALIASES = {"he": "he_normal", "glorot": "glorot_uniform", "xavier": "glorot_uniform"}


def names() -> list[str]:
    """The initialiser names, aliases included."""
    return sorted([*_REGISTRY, *_ALIASES])


def canonical_name(name: str) -> str:
    """Resolve an alias ("he") to its full name ("he_normal"), checking it exists."""
    if not isinstance(name, str):
        raise TypeError(f"init must be a name, got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise unknown_name("initialiser", name, names())
    return key


def get(name: str) -> Initializer:
    """The initialiser function for a name."""
    return _REGISTRY[canonical_name(name)]


def initial_bias(rng: np.random.Generator, name: str, units: int) -> np.ndarray:
    """Biases start at zero, except under "normal" (the seeds draw them from N(0, 1))."""
    if canonical_name(name) == "normal":
        return rng.standard_normal(size=units)
    return np.zeros(units)
