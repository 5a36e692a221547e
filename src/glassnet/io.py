"""Model files: safetensors tensors plus JSON metadata, saved atomically, loaded warily.

A model file holds no code. Its tensors are the weights and biases of each
Dense layer (``layers.<i>.weights``, ``layers.<i>.bias``). Its safetensors
metadata holds one entry, ``"glassnet"``, a JSON document with the format
version, the kind of object saved (a network, a command-line model with its
preprocessing, or a scikit-learn estimator), the architecture, the dtype and
a training summary.

Saving writes a temporary file in the same folder, fsyncs it and renames it
over the target, so a crash never leaves a half-written model behind.

Loading checks, before it builds anything: the header size (capped), that the
header is JSON, the metadata schema, that the tensor names, shapes and dtypes
match the architecture, that the data covers the file exactly, and that every
value is finite. Any failure raises :class:`ModelFileError`. Nothing is ever
unpickled.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import json
import math
import os
import struct
import tempfile
from typing import Any

import numpy as np

__all__ = ["ModelFileError", "save", "load", "read_metadata", "MAX_HEADER_BYTES", "FORMAT_VERSION"]

#: The version of the metadata layout this glassnet writes (and the newest it reads).
FORMAT_VERSION = 1
#: Headers larger than this are refused before they are read.
MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_LAYERS = 10_000
_MAX_SIZE = 2**31

_DTYPES = {"float32": ("F32", np.float32), "float64": ("F64", np.float64)}

# kind -> (module, class). Each class names its kind in _model_file_kind and provides
# _model_file_payload() -> (network, payload) and _from_model_file(network, payload, doc).
_KINDS = {
    "network": ("glassnet.network", "Network"),
    "tabular": ("glassnet.tabular", "TabularModel"),
    "MLPClassifier": ("glassnet.sklearn", "MLPClassifier"),
    "MLPRegressor": ("glassnet.sklearn", "MLPRegressor"),
}


class ModelFileError(ValueError):
    """A model file is missing, damaged, tampered with, or not a glassnet model."""


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError(
            "glassnet model files need the safetensors package: pip install 'glassnet[io]'"
        ) from None
    return st


# -- saving ------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays become Python ones, non-finite floats None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def save(obj, path: str | os.PathLike) -> None:
    """Write a Network (or a model or estimator built on one) to ``path``, atomically."""
    from . import __version__

    st = _safetensors()
    kind = getattr(obj, "_model_file_kind", None)
    if kind not in _KINDS:
        raise TypeError(f"cannot save a {type(obj).__name__} as a glassnet model file")
    network, payload = obj._model_file_payload()
    if not network.built:
        raise RuntimeError("cannot save a network that has not been built (trained) yet")
    tensors = {}
    for i, layer in enumerate(network.layers):
        if getattr(layer, "_W", None) is not None:
            tensors[f"layers.{i}.weights"] = np.ascontiguousarray(layer.weights)
            if layer.bias is not None:
                tensors[f"layers.{i}.bias"] = np.ascontiguousarray(layer.bias)
    document = {
        "format": "glassnet",
        "format_version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "kind": kind,
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "network": network.config(),
        "training": network.training_summary,
        "payload": payload,
    }
    text = json.dumps(_jsonable(document), allow_nan=False)
    data = st.save(tensors, metadata={"glassnet": text})
    _atomic_write(os.fspath(path), data)


def _atomic_write(path: str, data: bytes) -> None:
    """Write data to path so that path holds either its old content or all of data."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# -- loading -----------------------------------------------------------------------------


def _fail(path: str, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _read_header(path: str, blob: bytes) -> tuple[dict, int]:
    if len(blob) < 8:
        raise _fail(path, f"too short to be a model file ({len(blob)} bytes)")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > MAX_HEADER_BYTES:
        raise _fail(
            path,
            f"not a glassnet model file (its header would be {header_len:,} bytes, "
            f"over the {MAX_HEADER_BYTES:,}-byte limit)",
        )
    if 8 + header_len > len(blob):
        raise _fail(
            path,
            f"the file is truncated: its header needs {header_len:,} bytes "
            f"but only {len(blob) - 8:,} follow",
        )
    try:
        header = json.loads(blob[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail(path, "not a glassnet model file (its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(path, "not a glassnet model file (its header is not a JSON object)")
    return header, header_len


def _document(path: str, header: dict) -> dict:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not isinstance(meta.get("glassnet"), str):
        raise _fail(path, "not a glassnet model file (it has no glassnet metadata)")
    try:
        doc = json.loads(meta["glassnet"])
    except (ValueError, RecursionError):
        raise _fail(path, "its glassnet metadata is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != "glassnet":
        raise _fail(path, "not a glassnet model file (unknown metadata format)")
    version = doc.get("format_version")
    if not _is_int(version) or version < 1:
        raise _fail(path, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise _fail(
            path,
            f"written in model format {version} by a newer glassnet; "
            f"this glassnet reads format {FORMAT_VERSION} — upgrade glassnet",
        )
    if doc.get("kind") not in _KINDS:
        raise _fail(path, f"unknown kind of model {doc.get('kind')!r}")
    if not isinstance(doc.get("payload", {}), dict):
        raise _fail(path, "its payload metadata is not a JSON object")
    if not isinstance(doc.get("training", {}), dict):
        raise _fail(path, "its training summary is not a JSON object")
    return doc


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_architecture(path: str, spec: Any) -> dict[str, tuple[int, ...]]:
    """Validate the network spec; return the tensors it implies, name -> shape."""
    from . import activations, initializers

    if not isinstance(spec, dict):
        raise _fail(path, "its network description is not a JSON object")
    n_in = spec.get("input_size")
    if not _is_int(n_in) or not 0 < n_in < _MAX_SIZE:
        raise _fail(path, f"invalid input_size {n_in!r}")
    if spec.get("dtype") not in _DTYPES:
        raise _fail(path, f"invalid dtype {spec.get('dtype')!r} (expected float32 or float64)")
    seed = spec.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise _fail(path, f"invalid seed {seed!r}")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not 0 < len(layers) <= _MAX_LAYERS:
        raise _fail(path, "its network has no valid list of layers")
    expected: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise _fail(path, f"layer {i} is not a JSON object")
        kind = layer.get("type")
        if kind == "Dense":
            units, act, bias, init = (layer.get(k) for k in ("units", "activation", "bias", "init"))
            if not _is_int(units) or not 0 < units < _MAX_SIZE:
                raise _fail(path, f"layer {i} has invalid units {units!r}")
            if not isinstance(act, str) or act not in activations.names():
                raise _fail(
                    path,
                    f"layer {i} uses activation {act!r}, which this glassnet does not know "
                    "(a custom activation must be registered before loading)",
                )
            if not isinstance(bias, bool):
                raise _fail(path, f"layer {i} has invalid bias flag {bias!r}")
            if not isinstance(init, str) or init not in initializers.names():
                raise _fail(path, f"layer {i} has invalid init {init!r}")
            if act in ("softmax",) and units == 1:
                raise _fail(path, f"layer {i} is a softmax over a single unit")
            expected[f"layers.{i}.weights"] = (n_in, units)
            if bias:
                expected[f"layers.{i}.bias"] = (units,)
            n_in = units
        elif kind == "Dropout":
            rate = layer.get("rate")
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
                raise _fail(path, f"layer {i} has invalid dropout rate {rate!r}")
        else:
            raise _fail(path, f"layer {i} has unknown type {kind!r}")
    if layers[-1].get("type") != "Dense":
        raise _fail(path, "its last layer is not a Dense layer")
    return expected


def _check_tensors(path, header, expected, dtype_name, data_len) -> None:
    tag = _DTYPES[dtype_name][0]
    found = {k: v for k, v in header.items() if k != "__metadata__"}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        raise _fail(path, f"tensor {missing[0]} is missing (the architecture needs it)")
    if extra:
        raise _fail(path, f"unexpected tensor {extra[0]} (not part of the architecture)")
    total = 0
    for name, shape in expected.items():
        entry = found[name]
        if not isinstance(entry, dict):
            raise _fail(path, f"tensor {name} has an invalid header entry")
        if entry.get("dtype") != tag:
            raise _fail(
                path,
                f"tensor {name} has dtype {entry.get('dtype')!r}, expected {tag} ({dtype_name})",
            )
        got = entry.get("shape")
        if not isinstance(got, list) or tuple(got) != shape:
            raise _fail(
                path, f"tensor {name} has shape {got}, but the architecture needs {list(shape)}"
            )
        offsets = entry.get("data_offsets")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
        ):
            raise _fail(path, f"tensor {name} has invalid data offsets")
        total += math.prod(shape) * np.dtype(_DTYPES[dtype_name][1]).itemsize
    if total != data_len:
        raise _fail(
            path, f"its tensor data is {data_len:,} bytes, but the architecture needs {total:,}"
        )


def read_metadata(path: str | os.PathLike) -> dict:
    """The validated JSON metadata of a model file, without loading its tensors."""
    path = os.fspath(path)
    blob = _read_bytes(path)
    header, _ = _read_header(path, blob)
    return _document(path, header)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a folder, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None


def load(path: str | os.PathLike):
    """Load a model file: a Network, a command-line model, or an estimator.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, tampered with, holds non-finite
        weights, or is not a glassnet model.
    """
    from .layers import from_config
    from .network import Network

    st = _safetensors()
    path = os.fspath(path)
    blob = _read_bytes(path)
    header, header_len = _read_header(path, blob)
    doc = _document(path, header)
    spec = doc.get("network")
    expected = _check_architecture(path, spec)
    _check_tensors(path, header, expected, spec["dtype"], len(blob) - 8 - header_len)
    try:
        tensors = st.load(blob)
    except Exception as exc:  # safetensors' own checks: offsets, coverage, alignment
        raise _fail(path, f"its tensor data is damaged ({exc})") from None
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            raise _fail(path, f"tensor {name} contains NaN or infinite values")

    # Everything is checked: build.
    try:
        layers = [from_config(cfg) for cfg in spec["layers"]]
    except (TypeError, ValueError, KeyError) as exc:
        raise _fail(path, f"invalid layer description ({exc})") from None
    net = Network(layers, seed=spec.get("seed"))
    net.build(spec["input_size"], _DTYPES[spec["dtype"]][1])
    for i, layer in enumerate(net.layers):
        if f"layers.{i}.weights" in tensors:
            layer._W[...] = tensors[f"layers.{i}.weights"]
            if layer._b is not None:
                layer._b[...] = tensors[f"layers.{i}.bias"]
    net.training_summary = doc.get("training", {})
    module, cls_name = _KINDS[doc["kind"]]
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls._from_model_file(net, doc.get("payload", {}), doc)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise _fail(path, f"invalid {doc['kind']} metadata ({exc})") from None
