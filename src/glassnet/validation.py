"""Checks at the boundary: every array a user hands to glassnet passes through here once.

Each check raises a ``TypeError`` or ``ValueError`` that names the problem
(which array, which row and column, which shapes), so no NumPy broadcasting
error ever escapes from inside the engine. Nothing here modifies its input;
a copy is made only when the dtype or memory layout must change.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "is_sparse",
    "as_2d_float",
    "check_features",
    "as_rows",
    "check_sample_weight",
    "float_dtype_of",
    "did_you_mean",
    "is_integer",
]


def float_dtype_of(arr: np.ndarray) -> np.dtype:
    """The dtype glassnet computes in for this data: float32 stays float32, the rest float64."""
    if arr.dtype == np.float32 or arr.dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def is_sparse(data: Any) -> bool:
    """A scipy.sparse matrix or array (recognised without importing scipy)."""
    return type(data).__module__.startswith("scipy.sparse")


def _as_sparse_float(data, name: str, dtype) -> Any:
    """A finite, non-empty CSR matrix of floats (a copy only if the format or dtype changes)."""
    X = data.tocsr()
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {X.shape})")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, but its dtype is {X.dtype}")
    target = np.dtype(dtype) if dtype is not None else float_dtype_of(X)
    if X.dtype != target:
        X = X.astype(target)
    if not np.isfinite(X.data).all():
        raise ValueError(f"{name} contains NaN or infinity; remove or impute those values")
    return X


def _as_numeric(data, name: str) -> np.ndarray:
    if is_sparse(data) or hasattr(data, "sparse"):
        raise TypeError(
            f"{name} is a sparse matrix, which this call does not take; convert it with .toarray()"
        )
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            bad = _first_non_numeric(arr)
            raise TypeError(
                f"{name} must be numeric, but it holds {type(bad).__name__} values "
                f"(for example {bad!r})"
            ) from None
    if arr.dtype.kind in "USV":
        example = arr.ravel()[0] if arr.size else ""
        raise TypeError(f"{name} must be numeric, but it holds text (for example {example!r})")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued, but it holds complex numbers")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, but its dtype is {arr.dtype}")
    return arr


def _first_non_numeric(arr: np.ndarray):
    for value in arr.ravel():
        if not isinstance(value, numbers.Real):
            return value
    return arr.ravel()[0]


def all_finite(arr: np.ndarray) -> bool:
    """Whether a float array holds no NaN or infinity.

    Large arrays are checked through their sum, in one pass with no temporary
    array: the sum is finite only if every value is (an overflowing sum of finite
    values is rechecked exactly).
    """
    if arr.size <= 16:  # a few values (one row, say): plain Python is quicker
        return all(map(math.isfinite, arr.ravel().tolist()))
    if arr.size > 4096:
        with np.errstate(over="ignore", invalid="ignore"):
            if math.isfinite(np.add.reduce(arr, axis=None)):
                return True
    return bool(np.isfinite(arr).all())


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind != "f" or all_finite(arr):
        return
    bad_mask = ~np.isfinite(arr)
    if not bad_mask.any():
        return
    bad = np.argwhere(bad_mask)[0]
    what = "NaN" if np.isnan(arr[tuple(bad)]) else "infinity"
    where = f"row {bad[0]}" + (f", column {bad[1]}" if arr.ndim == 2 else "")
    count = int(bad_mask.sum())
    more = f" and {count - 1} other non-finite value{'s' * (count > 2)}" if count > 1 else ""
    raise ValueError(
        f"{name} contains {what} at {where}{more}; "
        "remove or impute missing values before using the data"
    )


def as_2d_float(
    data: Any, name: str = "X", dtype: DTypeLike | None = None, allow_sparse: bool = False
) -> np.ndarray:
    """A finite, non-empty, C-contiguous 2-D float array (or, if allowed, a CSR matrix).

    ``dtype=None`` keeps float32 and converts everything else to float64.
    """
    if allow_sparse and is_sparse(data):
        return _as_sparse_float(data, name, dtype)
    arr = _as_numeric(data, name)
    if arr.ndim != 2:
        if arr.ndim == 1:
            raise ValueError(
                f"{name} must be 2-D (n_samples, n_features), got a 1-D array of shape "
                f"{arr.shape}; use {name}.reshape(-1, 1) for a single feature or "
                f"{name}.reshape(1, -1) for a single sample"
            )
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    target = np.dtype(dtype) if dtype is not None else float_dtype_of(arr)
    if arr.dtype != target or not arr.flags.c_contiguous:
        with np.errstate(over="ignore"):  # a float64 value may overflow float32: see below
            arr = np.ascontiguousarray(arr, dtype=target)
    _check_finite(arr, name)  # NaN and infinity keep their place through the cast
    return arr


def as_rows(
    data: Any, n_rows: int, name: str = "y", dtype: DTypeLike | None = np.float64
) -> np.ndarray:
    """A finite 1-D or 2-D float array with ``n_rows`` rows."""
    arr = _as_numeric(data, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got a scalar")
    if arr.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"X has {n_rows} rows but {name} has {arr.shape[0]}")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        with np.errstate(over="ignore"):
            arr = np.ascontiguousarray(arr, dtype=dtype)
    _check_finite(arr, name)
    return arr


def check_features(X: np.ndarray, expected: int, what: str = "the network") -> None:
    if X.shape[1] != expected:
        raise ValueError(
            f"X has {X.shape[1]} feature{'s' * (X.shape[1] != 1)}, but {what} expects {expected}"
        )


def check_sample_weight(
    sample_weight: Any, n_rows: int, dtype: DTypeLike | None
) -> np.ndarray | None:
    """Non-negative, finite weights, one per sample, with a positive sum."""
    if sample_weight is None:
        return None
    w = as_rows(sample_weight, n_rows, "sample_weight", dtype)
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}")
    if w.min() < 0:
        raise ValueError("sample_weight must be non-negative")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum")
    return w


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'relu'?)' for the closest choice, or '' when none is close."""
    hint = difflib.get_close_matches(str(name).lower(), [str(c) for c in choices], n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def unknown_name(kind: str, name: str, valid: list[str]) -> ValueError:
    """The error for a name no registry knows: it suggests the closest and lists them all."""
    return ValueError(
        f"unknown {kind} {name!r}{did_you_mean(name, valid)}; valid names are: {', '.join(valid)}"
    )


def is_integer(value: Any) -> TypeGuard[int]:
    """A Python or NumPy integer, not a bool (which Python counts as one)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)
