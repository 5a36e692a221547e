"""Model files: safetensors tensors plus JSON metadata, checksummed, written atomically.

A model file holds no code. Its tensors are the weights and biases of each
Dense layer (``layers.<i>.weights``, ``layers.<i>.bias``). Its safetensors
metadata holds a JSON document (``"glassnet"``) with the format version, the kind
of object saved (a network, a command-line model with its preprocessing, or a
scikit-learn estimator), the architecture, the dtype and a training summary, and
a SHA-256 checksum (``"glassnet_sha256"``) of every byte of the file, computed
with the checksum's own 64 characters set to ``0``.

A model can be saved to a path (atomically: a temporary file in the same folder,
fsynced, then renamed over the target) or to a binary file object, and
:func:`dumps` gives the bytes. Before anything is written, the bytes are loaded
back with every check below, so a model that could not be loaded is never written.

:func:`load` takes a path, the bytes themselves, or a binary file object, and
applies the same checks to each, in an order that reads no more than it must:
a path must be a regular file (FIFOs, devices and folders are refused before
they are opened); the 8-byte header size is checked against a cap and against
the file's size before the header is read; the header must be JSON describing
tensors that cover the data exactly; the checksum must match, so any damaged byte
is reported; then the metadata schema (every field of the JSON document has the
type it must have, the training summary included, so whatever loads can be
printed), the tensor names, shapes and dtypes against the architecture, and that
every value is finite. Only then is anything built. Any failure raises
:class:`ModelFileError`. Nothing is ever unpickled.

Every file must carry a checksum that matches: files of model format 1 (glassnet's
first development builds) had none, so damage to them could not be told from a
model, and they are refused with a message that says so; a file of any format that
lacks its checksum is damaged.

This module does not import :class:`~glassnet.Network`: each kind of model names
the class that rebuilds it, and that class is imported only when a file of its
kind is loaded.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import io
import json
import math
import os
import re
import stat
import struct
from typing import Any, Protocol, TypeGuard

import numpy as np

from . import activations, initializers
from .atomic import destination, write_atomically
from .layers import from_config, layer_types


class Savable(Protocol):
    """What a model file holds: an object of a kind (``model_file_kind``, one of
    :data:`KINDS`) that gives its network and a JSON payload, and whose class rebuilds it
    from them (``from_model_file``). Network, TabularModel and the estimators are."""

    @property
    def model_file_kind(self) -> str: ...

    def model_file_payload(self) -> tuple[Any, dict]: ...  # (its Network, the payload)


__all__ = [
    "ModelFileError",
    "save",
    "check_destination",
    "dumps",
    "load",
    "read_metadata",
    "jsonable",
    "check_json",
    "TRAINING_SUMMARY",
    "MAX_HEADER_BYTES",
    "FORMAT_VERSION",
]

#: The version of the metadata layout this glassnet writes (and the newest it reads).
#: Version 2 added the checksum; version 1 files had none and are refused (see above).
FORMAT_VERSION = 2
#: Headers larger than this are refused before they are read.
MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_LAYERS = 10_000
_MAX_SIZE = 2**31
_CHECKSUM_KEY = "glassnet_sha256"
_BLANK = b"0" * 64
_CHECKSUM_FIELD = re.compile(rb'"' + _CHECKSUM_KEY.encode() + rb'"\s*:\s*"([0-9a-f]{64})"')

_DTYPES = {"float32": ("F32", np.float32), "float64": ("F64", np.float64)}

# kind -> (module, class). Each class names its kind in model_file_kind, its instances
# provide model_file_payload() -> (network, payload), and the class provides
# from_model_file(network, payload, doc).
_KINDS = {
    "network": ("glassnet.network", "Network"),
    "tabular": ("glassnet.tabular.model", "TabularModel"),
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


def _kind_class(kind: str):
    module, name = _KINDS[kind]
    return getattr(importlib.import_module(module), name)


# -- saving ------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays become Python ones, non-finite floats None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def dumps(obj: Savable) -> bytes:
    """The model file of a Network (or a model or estimator built on one), as bytes.

    Raises
    ------
    ModelFileError
        If the result would not load (non-finite weights, inconsistent metadata).
    """
    from . import __version__

    st = _safetensors()
    kind = getattr(obj, "model_file_kind", None)
    if kind not in _KINDS:
        raise TypeError(f"cannot save a {type(obj).__name__} as a glassnet model file")
    network, payload = obj.model_file_payload()
    if not network.built:
        raise RuntimeError("cannot save a network that has not been built (trained) yet")
    tensors = {}
    for i, layer in enumerate(network.layers):
        for name, array in layer.parameter_arrays().items():
            tensors[f"layers.{i}.{name}"] = np.ascontiguousarray(array)
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
    text = json.dumps(jsonable(document), allow_nan=False)
    blob = _seal(st.save(tensors, metadata={"glassnet": text, _CHECKSUM_KEY: _BLANK.decode()}))
    try:  # what cannot be loaded is never handed out
        _parse(blob, "the model being saved")
    except ModelFileError as exc:
        raise ModelFileError(f"refusing to write a model that would not load: {exc}") from None
    return blob


def _seal(blob: bytes) -> bytes:
    """Fill the blank checksum field with the SHA-256 of the whole file (field blank)."""
    (header_len,) = struct.unpack("<Q", blob[:8])
    match = _CHECKSUM_FIELD.search(blob, 8, 8 + header_len)
    assert match is not None  # dumps wrote the blank field
    start = match.start(1)
    digest = hashlib.sha256(blob).hexdigest().encode()
    return blob[:start] + digest + blob[start + 64 :]


def save(obj: Savable, dest: str | os.PathLike | Any) -> None:
    """Write a model to a path (atomically) or to a binary file object.

    A path is written only if it is new, empty, or a glassnet model already: a file of
    anything else (a data file given by mistake) is never replaced.

    Parameters
    ----------
    obj : Network, TabularModel, MLPClassifier or MLPRegressor
    dest : str, os.PathLike, or a binary file object with ``write``

    Raises
    ------
    ModelFileError
        If ``dest`` is a folder, is in a folder that does not exist, or is a file that
        is not a glassnet model; nothing is written.
    """
    if not hasattr(dest, "write"):
        check_destination(os.fspath(dest))
    data = dumps(obj)
    if hasattr(dest, "write"):
        if isinstance(dest, io.TextIOBase):
            raise TypeError("save() needs a binary file object (opened with 'wb'), not a text one")
        dest.write(data)
        return
    write_atomically(os.fspath(dest), data)


def check_destination(path: str) -> None:
    """Refuse, with a ModelFileError, a path :func:`save` must not write: a folder, a
    path in a folder that does not exist, a file that is not empty and not a model."""
    problem, info = destination(path)
    if problem:
        raise ModelFileError(f"{path}{problem}")
    if info is not None and info.st_size > 0:
        try:
            read_metadata(path)
        except (ModelFileError, ValueError, OSError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ModelFileError(
                f"refusing to replace {path}: {why.removeprefix(f'{path}: ')}; remove it, or "
                "choose another name"
            ) from None


# -- sources: a path, bytes, or a binary file object --------------------------------------


class _Source:
    """Reads a model from a path, bytes or a file object: ``read(n)`` and, if known, ``size``."""

    def __init__(self, source: Any) -> None:
        self._file: Any = None  # a binary file object: anything with read(n)
        self._close = False
        self.size: int | None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.name = "the model bytes"
            self._file = io.BytesIO(bytes(source))
            self.size = len(source)
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                raise TypeError(
                    "load() needs a binary file object (opened with 'rb'), not a text one"
                )
            self.name = str(getattr(source, "name", "the model file object"))
            self._file = source
            self.size = None
        elif isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            self.name = path
            self._file = _open_regular_file(path)
            self._close = True
            self.size = os.fstat(self._file.fileno()).st_size
        else:
            raise TypeError(
                f"load() takes a path, bytes or a binary file object, not {type(source).__name__}"
            )

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.name}: {message}")

    def read(self, n: int) -> bytes:
        """``n`` bytes, or fewer at the end of the file. A raw file object (a socket, a
        pipe) may return fewer than asked before its end, so it is read until the bytes
        are there or it returns nothing."""
        chunks: list[bytes] = []
        wanted = n
        while wanted > 0:
            try:
                chunk = self._file.read(wanted)
            except OSError as exc:
                raise self.fail(f"cannot be read ({exc.strerror or exc})") from None
            if chunk is None:  # a non-blocking stream with nothing ready
                raise self.fail(
                    "its file object is non-blocking and had no data ready: "
                    "load() needs a blocking file object"
                )
            if isinstance(chunk, (bytearray, memoryview)):
                chunk = bytes(chunk)
            if not isinstance(chunk, bytes):
                raise TypeError("load() needs a binary file object (its read() returned text)")
            if len(chunk) > wanted:
                raise self.fail(f"its file object's read({wanted}) returned {len(chunk)} bytes")
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self._close:
            self._file.close()


def _open_regular_file(path: str):
    """Open a regular file for reading; refuse folders, FIFOs and devices before opening."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelFileError(f"{path}: is a folder, not a model file")
    if not stat.S_ISREG(info.st_mode):
        what = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise ModelFileError(f"{path}: is {what}, not a model file")
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by _Source.close
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None


# -- loading -----------------------------------------------------------------------------


def _foreign_kind(prefix: bytes) -> str | None:
    """What a file that is not a model file seems to be, from its first 8 bytes."""
    if prefix[0] == 0x80 and 2 <= prefix[1] <= 5:
        return (
            "it is a Python pickle, which glassnet never loads because unpickling can run "
            "any code; if you trust it, unpickle it yourself and call the model's .save()"
        )
    if prefix.startswith(b"PK\x03\x04"):
        return "it is a zip archive"
    if prefix.startswith(b"\x08"):  # an ONNX ModelProto opens with its ir_version field
        return "it looks like an ONNX graph, which glassnet writes but does not read"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in prefix):
        return "it is text, such as a data file"
    return None


def _read_header(src: _Source) -> tuple[bytes, int]:
    """The 8-byte size and the header it announces, checked before the header is read."""
    prefix = src.read(8)
    if len(prefix) < 8:
        raise src.fail(f"too short to be a model file ({len(prefix)} bytes)")
    (header_len,) = struct.unpack("<Q", prefix)
    if header_len > MAX_HEADER_BYTES:
        kind = _foreign_kind(prefix)
        raise src.fail(
            f"not a glassnet model file ({kind})"
            if kind
            else f"not a glassnet model file (its header would be {header_len:,} bytes, "
            f"over the {MAX_HEADER_BYTES:,}-byte limit)"
        )
    if src.size is not None and 8 + header_len > src.size:
        raise src.fail(
            f"the file is truncated: its header needs {header_len:,} bytes "
            f"but only {src.size - 8:,} follow"
        )
    raw = src.read(header_len)
    if len(raw) < header_len:
        raise src.fail(
            f"the file is truncated: its header needs {header_len:,} bytes "
            f"but only {len(raw):,} follow"
        )
    return prefix + raw, header_len


def _parse_header(src: _Source, raw: bytes) -> dict:
    try:
        header = json.loads(raw[8:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise src.fail("not a glassnet model file (its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise src.fail("not a glassnet model file (its header is not a JSON object)")
    return header


def _data_length(src: _Source, header: dict) -> int:
    """How many bytes of tensor data the header's entries describe (their largest end)."""
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) and 0 <= o for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise src.fail(f"tensor {name} has invalid data offsets")
        end = max(end, offsets[1])
    return end


def _verify_checksum(src: _Source, raw_header: bytes, data: bytes, meta: dict, doc: dict) -> None:
    """Every file must carry a matching checksum, whatever format it claims: a claim is
    itself covered by the checksum, so a changed format_version is damage like any other."""
    stored = meta.get(_CHECKSUM_KEY)
    matches = list(_CHECKSUM_FIELD.finditer(raw_header, 8))
    if stored is None and not matches and _is_int(doc.get("format_version")):
        if doc["format_version"] < 2:
            raise src.fail(_format_1_message(doc["format_version"]))
    if not isinstance(stored, str) or len(matches) != 1 or matches[0].group(1) != stored.encode():
        raise src.fail("its checksum is missing or malformed: the file is damaged")
    start = matches[0].start(1)
    digest = hashlib.sha256(raw_header[:start])
    digest.update(_BLANK)
    digest.update(raw_header[start + 64 :])
    digest.update(data)
    if digest.hexdigest() != stored:
        raise src.fail("the file is damaged: its checksum does not match its contents")


def _format_1_message(version: int) -> str:
    return (
        f"it is written in model format {version}, which has no checksum, so this glassnet "
        "cannot tell whether it is damaged and does not load it; train the model again "
        f"and save it with this glassnet (model format {FORMAT_VERSION}, checksummed)"
    )


class _NotJSON(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotJSON(f"{name} is not a JSON number")


def _metadata(src: _Source, header: dict) -> tuple[dict, dict]:
    """The safetensors metadata and the glassnet JSON document in it, or a refusal of a
    file that is not a glassnet model. The document's fields are checked later."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not isinstance(meta.get("glassnet"), str):
        raise src.fail("not a glassnet model file (it has no glassnet metadata)")
    try:  # glassnet writes no NaN or Infinity (allow_nan=False): they are not its JSON
        doc = json.loads(meta["glassnet"], parse_constant=_refuse_constant)
    except _NotJSON as exc:
        raise src.fail(f"its glassnet metadata is not valid JSON ({exc})") from None
    except (ValueError, RecursionError):
        raise src.fail("its glassnet metadata is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != "glassnet":
        raise src.fail("not a glassnet model file (unknown metadata format)")
    return meta, doc


#: The fields of a network's training summary (``Network.training_summary``, the model
#: file's ``"training"``) that glassnet writes, with their types (see :func:`check_json`).
#: Other fields are free-form JSON.
TRAINING_SUMMARY: dict = {
    "samples": int,
    "features": int,
    "epochs": int,
    "loss_name": str,
    "final_loss": (float, None),
    "optimizer": str,
    "cluster": {"workers": int, "shards": int, "partitions": int, "strategy": str},
}


def _refuse_newer(src: _Source, doc: dict) -> None:
    """A newer format is named as such before anything else (its checksum, say) fails."""
    version = doc.get("format_version")
    if _is_int(version) and version > FORMAT_VERSION:
        raise src.fail(
            f"written in model format {version} by a newer glassnet; "
            f"this glassnet reads format {FORMAT_VERSION} — upgrade glassnet"
        )


def _check_document(src: _Source, doc: dict) -> dict:
    """Check the type of every field of the document that loading uses."""
    _refuse_newer(src, doc)
    version = doc.get("format_version")
    if not _is_int(version) or version < 1:
        raise src.fail(f"invalid format_version {_shown(version)}")
    if version < 2:
        raise src.fail(_format_1_message(version))
    kind = doc.get("kind")
    if not isinstance(kind, str):
        raise src.fail(f"its kind must be a string, not {_shown(kind)}")
    if kind not in _KINDS:
        raise src.fail(f"unknown kind of model {kind!r} (known: {', '.join(_KINDS)})")
    for name in ("glassnet_version", "saved_at"):
        if name in doc and not isinstance(doc[name], str):
            raise src.fail(f"its {name} must be a string, not {_shown(doc[name])}")
    if not isinstance(doc.get("payload", {}), dict):
        raise src.fail("its payload metadata is not a JSON object")
    if not isinstance(doc.get("training", {}), dict):
        raise src.fail("its training summary is not a JSON object")
    try:
        check_json(doc.get("training", {}), TRAINING_SUMMARY, "training")
    except ValueError as exc:
        raise src.fail(f"its training summary is invalid: {exc}") from None
    return doc


# -- JSON types ----------------------------------------------------------------------------


def check_json(value: Any, expected: Any, field: str) -> None:
    """Check that a JSON value has the expected type, or raise ValueError naming ``field``.

    ``expected`` is ``int``, ``float`` (any number), ``str``, ``bool``, ``None`` (null),
    ``dict`` or ``list`` (any object, any list); a tuple of these (any of them); a list
    ``[item]`` (a list of items); ``{str: value}`` (an object of any keys whose values
    are ``value``); or a dict of field names (an object whose fields, when present, have
    those types; other fields may be anything). Booleans are never numbers.

    Example: ``check_json(doc, {"epochs": int, "losses": [(float, None)]}, "training")``.
    """
    if _matches(value, expected, field):
        return
    raise ValueError(f"{field} must be {_describe(expected)}, not {_shown(value)}")


def _matches(value: Any, expected: Any, field: str) -> bool:
    """Whether value has the type; a nested mismatch raises (naming the deeper field)."""
    if isinstance(expected, tuple):
        return any(_matches_simply(value, e) for e in expected) or any(
            _matches(value, e, field) for e in expected if isinstance(e, (list, dict))
        )
    if isinstance(expected, list):
        if not isinstance(value, list):
            return False
        for i, item in enumerate(value):
            check_json(item, expected[0], f"{field}[{i}]")
        return True
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            return False
        for key, item in value.items():
            if str in expected:
                check_json(item, expected[str], f"{field}.{key}")
            elif key in expected:
                check_json(item, expected[key], f"{field}.{key}")
        return True
    return _matches_simply(value, expected)


def _matches_simply(value: Any, expected: Any) -> bool:
    if expected is None:
        return value is None
    if expected is int:
        return _is_int(value)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected in (str, bool, dict, list):
        return isinstance(value, expected)
    return False


_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    None: "null",
    dict: "a JSON object",
    list: "a list",
}


_PLURALS = {
    int: "integers",
    float: "numbers",
    str: "strings",
    bool: "true or false values",
    None: "nulls",
    dict: "JSON objects",
    list: "lists",
}


def _describe(expected: Any, plural: bool = False) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_describe(e, plural) for e in expected)
    if isinstance(expected, list):
        return "lists" if plural else f"a list of {_describe(expected[0], plural=True)}"
    if isinstance(expected, dict):
        return "JSON objects" if plural else "a JSON object"
    return (_PLURALS if plural else _NAMES)[expected]


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _other_layer(src: _Source, i: int, config: dict, n_in: int, expected: dict) -> int:
    """A registered layer (Scale, Parametric, Embedding, ...): rebuilt from its config to
    check it, its tensors' shapes added to ``expected``; returns its output width."""
    try:
        layer = from_config(config)
        shapes = layer.parameter_shapes(n_in)
        n_out = layer.output_size(n_in)
    except (TypeError, ValueError, KeyError) as exc:
        raise src.fail(f"layer {i} ({config['type']}) is invalid: {exc}") from None
    for name, param in shapes.items():
        if not all(_is_int(d) and 0 < d < _MAX_SIZE for d in param.shape):
            raise src.fail(f"layer {i} ({config['type']}) has an invalid tensor shape")
        expected[f"layers.{i}.{name}"] = tuple(param.shape)
    if not 0 < n_out < _MAX_SIZE:
        raise src.fail(f"layer {i} ({config['type']}) has an invalid output width {n_out}")
    return n_out


def _check_architecture(src: _Source, spec: Any) -> dict[str, tuple[int, ...]]:
    """Validate the network spec; return the tensors it implies, name -> shape."""
    if not isinstance(spec, dict):
        raise src.fail("its network description is not a JSON object")
    n_in = spec.get("input_size")
    if not _is_int(n_in) or not 0 < n_in < _MAX_SIZE:
        raise src.fail(f"invalid input_size {n_in!r}")
    if spec.get("dtype") not in _DTYPES:
        raise src.fail(f"invalid dtype {spec.get('dtype')!r} (expected float32 or float64)")
    seed = spec.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise src.fail(f"invalid seed {seed!r}")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not 0 < len(layers) <= _MAX_LAYERS:
        raise src.fail("its network has no valid list of layers")
    expected: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise src.fail(f"layer {i} is not a JSON object")
        kind = layer.get("type")
        if kind == "Dense":
            units, act, bias, init = (layer.get(k) for k in ("units", "activation", "bias", "init"))
            if not _is_int(units) or not 0 < units < _MAX_SIZE:
                raise src.fail(f"layer {i} has invalid units {units!r}")
            if not isinstance(act, str) or act not in activations.names():
                raise src.fail(
                    f"layer {i} uses activation {act!r}, which this glassnet does not know "
                    "(a custom activation must be registered before loading)"
                )
            if not isinstance(bias, bool):
                raise src.fail(f"layer {i} has invalid bias flag {bias!r}")
            if not isinstance(init, str) or init not in initializers.names():
                raise src.fail(f"layer {i} has invalid init {init!r}")
            if act == "softmax" and units == 1:
                raise src.fail(f"layer {i} is a softmax over a single unit")
            for key in ("lr_factor", "bias_lr_factor"):
                factor = layer.get(key, 1.0)
                if not _is_number(factor) or not 0 < factor < math.inf:
                    raise src.fail(f"layer {i} has invalid {key} {factor!r}")
            expected[f"layers.{i}.weights"] = (n_in, units)
            if bias:
                expected[f"layers.{i}.bias"] = (units,)
            n_in = units
        elif kind == "Dropout":
            rate = layer.get("rate")
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
                raise src.fail(f"layer {i} has invalid dropout rate {rate!r}")
        elif isinstance(kind, str) and kind in layer_types():
            n_in = _other_layer(src, i, layer, n_in, expected)
        else:
            raise src.fail(f"layer {i} has unknown type {kind!r}")
    if layers[-1].get("type") != "Dense":
        raise src.fail("its last layer is not a Dense layer")
    return expected


def _check_tensors(src: _Source, header, expected, dtype_name, data_len) -> None:
    tag = _DTYPES[dtype_name][0]
    found = {k: v for k, v in header.items() if k != "__metadata__"}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        raise src.fail(f"tensor {missing[0]} is missing (the architecture needs it)")
    if extra:
        raise src.fail(f"unexpected tensor {extra[0]} (not part of the architecture)")
    total = 0
    for name, shape in expected.items():
        entry = found[name]
        if entry.get("dtype") != tag:
            raise src.fail(
                f"tensor {name} has dtype {entry.get('dtype')!r}, expected {tag} ({dtype_name})"
            )
        got = entry.get("shape")
        if not isinstance(got, list) or tuple(got) != shape:
            raise src.fail(
                f"tensor {name} has shape {got}, but the architecture needs {list(shape)}"
            )
        total += math.prod(shape) * np.dtype(_DTYPES[dtype_name][1]).itemsize
    if total != data_len:
        raise src.fail(
            f"its tensor data is {data_len:,} bytes, but the architecture needs {total:,}"
        )


def _read_checked(src: _Source) -> tuple[dict, dict, bytes]:
    """Read and check everything but the objects: (header, document, whole file bytes)."""
    raw_header, header_len = _read_header(src)
    header = _parse_header(src, raw_header)
    meta, doc = _metadata(src, header)
    _refuse_newer(src, doc)
    data_len = _data_length(src, header)
    if src.size is not None and src.size != 8 + header_len + data_len:
        available = src.size - 8 - header_len
        raise src.fail(
            f"its tensor data is {available:,} bytes, but its header describes {data_len:,}"
            + (" (the file is truncated)" if available < data_len else "")
        )
    data = src.read(data_len)
    if len(data) < data_len:
        raise src.fail(
            f"its tensor data is {len(data):,} bytes, but its header describes {data_len:,} "
            "(the file is truncated)"
        )
    if src.size is None and src.read(1):
        raise src.fail("there are bytes after the tensor data: this is not one model file")
    _verify_checksum(src, raw_header, data, meta, doc)
    _check_document(src, doc)
    spec: Any = doc.get("network")  # a JSON value, checked by _check_architecture
    expected = _check_architecture(src, spec)
    _check_tensors(src, header, expected, spec["dtype"], data_len)
    return header, doc, raw_header + data


def _parse(blob: bytes, name: str | None = None):
    """Every check, then build the object (used by load and, before writing, by dumps)."""
    src = _Source(blob)
    if name is not None:
        src.name = name
    return _build(src, *_read_checked(src))


def _build(src: _Source, header: dict, doc: dict, blob: bytes):
    st = _safetensors()
    try:
        tensors = st.load(blob)
    except Exception as exc:  # safetensors' own checks: offsets, coverage, alignment
        raise src.fail(f"its tensor data is damaged ({exc})") from None
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            raise src.fail(f"tensor {name} contains NaN or infinite values")

    # Everything is checked: build.
    try:
        net = _kind_class("network").from_config(doc["network"])
    except (TypeError, ValueError, KeyError) as exc:
        raise src.fail(f"invalid layer description ({exc})") from None
    for i, layer in enumerate(net.layers):
        for name, array in layer.parameter_arrays().items():
            array[...] = tensors[f"layers.{i}.{name}"]
    net.training_summary = doc.get("training", {})
    cls = _kind_class(doc["kind"])
    try:
        return cls.from_model_file(net, doc.get("payload", {}), doc)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise src.fail(f"invalid {doc['kind']} metadata ({exc})") from None


def read_metadata(source: str | os.PathLike | bytes | Any) -> dict:
    """The validated JSON metadata of a model file (a path, bytes or binary file object).

    Only the header is read and checked: the tensor data is not read, so the checksum,
    which covers it too, is not verified (:func:`load` verifies it).
    """
    src = _Source(source)
    try:
        raw_header, _ = _read_header(src)
        _, doc = _metadata(src, _parse_header(src, raw_header))
        return _check_document(src, doc)
    finally:
        src.close()


def load(
    source: str | os.PathLike | bytes | Any,
) -> Any:
    """Load a model: a Network, a command-line model, or an estimator (``glassnet.load``
    is typed as that union: ``Network | TabularModel | MLPClassifier | MLPRegressor``).

    Parameters
    ----------
    source : str, os.PathLike, bytes, or a binary file object with ``read``

    Returns
    -------
    Network, TabularModel, MLPClassifier or MLPRegressor
        The kind of model the file holds (its ``kind``); ``isinstance`` tells which.

    Raises
    ------
    ModelFileError
        If the file is missing, not a regular file, truncated, damaged (its
        checksum does not match), tampered with, holds non-finite weights, or is
        not a glassnet model.
    """
    _safetensors()
    src = _Source(source)
    try:
        checked = _read_checked(src)
    finally:
        src.close()
    return _build(src, *checked)
