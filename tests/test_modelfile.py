"""Model files: exact round trips, atomic saves, and damaged files rejected clearly."""

import io
import json
import os
import pickle
import stat
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import modelfile
from modelfile_tools import join, reseal, split

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def trained(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(int)
    net = gn.Network(
        [
            gn.Dense(6, "relu"),
            gn.Dropout(0.2),
            gn.Dense(3, "tanh", bias=False),
            gn.Dense(2, "softmax"),
        ],
        seed=seed,
    )
    net.fit(X, y, loss="cross_entropy", epochs=5, batch_size=8)
    return net, X


@pytest.fixture
def model_file(tmp_path):
    net, X = trained()
    path = tmp_path / "model.glassnet"
    net.save(path)
    return path, net, X


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(tmp_path, dtype):
    net, X = trained(dtype)
    path = tmp_path / "m.glassnet"
    net.save(path)
    loaded = gn.load(path)
    assert isinstance(loaded, gn.Network)
    assert loaded.dtype == net.dtype
    assert repr(loaded.layers) == repr(net.layers)
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.training_summary["epochs"] == 5


def test_loaded_network_keeps_training(model_file):
    path, net, X = model_file
    loaded = gn.load(path)
    labels = (X[:, 0] > 0).astype(int)
    before = loaded.evaluate(X, labels, loss="cross_entropy")
    loaded.fit(X, labels, loss="cross_entropy", optimizer=gn.Adam(0.01), epochs=20)
    assert loaded.evaluate(X, labels, loss="cross_entropy") < before


def test_metadata_can_be_read_without_the_tensors(model_file):
    path, _, _ = model_file
    doc = modelfile.read_metadata(path)
    assert doc["format"] == "glassnet" and doc["format_version"] == modelfile.FORMAT_VERSION
    assert doc["kind"] == "network"
    assert doc["network"]["layers"][1] == {"type": "Dropout", "rate": 0.2}


def test_saving_an_unbuilt_network_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="not been built"):
        gn.Network([gn.Dense(1)]).save(tmp_path / "x.glassnet")


def test_loading_never_unpickles(model_file, monkeypatch):
    path, net, _ = model_file

    def refuse(*args, **kwargs):
        raise AssertionError("load must never unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(np, "load", refuse)
    np.testing.assert_array_equal(gn.load(path).parameters, net.parameters)


# --- atomic saving ----------------------------------------------------------------------


def test_a_crash_between_writing_and_replacing_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.glassnet"
    old, _ = trained(seed=0)
    old.save(path)
    before = path.read_bytes()
    new, _ = trained(seed=1)

    def crash(src, dst):
        assert os.path.getsize(src) > 0  # the new file was fully written...
        raise OSError("simulated crash")  # ...and then the power went

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.glassnet"]  # no temp file left
    np.testing.assert_array_equal(gn.load(path).parameters, old.parameters)


def test_a_crash_before_the_first_save_leaves_nothing(tmp_path, monkeypatch):
    net, _ = trained()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        net.save(tmp_path / "model.glassnet")
    assert list(tmp_path.iterdir()) == []


# --- damaged files ------------------------------------------------------------------------


def test_truncated_file(model_file, tmp_path):
    path, _, _ = model_file
    blob = path.read_bytes()
    for cut in (3, 20, len(blob) // 2, len(blob) - 1):
        bad = tmp_path / "cut.glassnet"
        bad.write_bytes(blob[:cut])
        with pytest.raises(gn.ModelFileError):
            gn.load(bad)


def test_truncated_tensor_data_is_named(model_file, tmp_path):
    path, _, _ = model_file
    bad = tmp_path / "cut.glassnet"
    bad.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(gn.ModelFileError, match="data is .* bytes, but its header .*truncated"):
        gn.load(bad)


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(0)
    for size in (0, 7, 8, 100, 5000):
        bad = tmp_path / "random.glassnet"
        bad.write_bytes(rng.bytes(size))
        with pytest.raises(gn.ModelFileError):
            gn.load(bad)


def test_tampered_header_architecture(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    doc = json.loads(header["__metadata__"]["glassnet"])
    doc["network"]["layers"][0]["activation"] = "__import__('os').system('rm -rf ~')"
    header["__metadata__"]["glassnet"] = json.dumps(doc)
    bad = tmp_path / "tampered.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError, match="layer 0 uses activation"):
        gn.load(bad)


def test_tampered_header_offsets(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"] = [0, 3]
    bad = tmp_path / "tampered.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError):
        gn.load(bad)


def test_shape_mismatch(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    doc = json.loads(header["__metadata__"]["glassnet"])
    doc["network"]["layers"][0]["units"] = 5  # the tensors hold 6 units
    header["__metadata__"]["glassnet"] = json.dumps(doc)
    bad = tmp_path / "shape.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError, match=r"layers.0.weights has shape \[4, 6\]"):
        gn.load(bad)


def test_nan_weights(tmp_path, model_file):
    path, net, _ = model_file
    header, _ = split(path.read_bytes())
    tensors = {}
    for i, layer in enumerate(net.layers):
        if isinstance(layer, gn.Dense):
            tensors[f"layers.{i}.weights"] = layer.weights.copy()
            if layer.bias is not None:
                tensors[f"layers.{i}.bias"] = layer.bias.copy()
    tensors["layers.3.bias"][1] = np.nan
    bad = tmp_path / "nan.glassnet"
    bad.write_bytes(reseal(safetensors_numpy.save(tensors, metadata=header["__metadata__"])))
    with pytest.raises(gn.ModelFileError, match="layers.3.bias contains NaN"):
        gn.load(bad)


def test_oversized_header_is_refused_before_reading(tmp_path):
    bad = tmp_path / "huge.glassnet"
    bad.write_bytes(struct.pack("<Q", modelfile.MAX_HEADER_BYTES + 1) + b"{}")
    with pytest.raises(
        gn.ModelFileError, match="not a glassnet model file .*over the .*-byte limit"
    ):
        gn.load(bad)


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("pickle", "it is a Python pickle, which glassnet never loads"),
        ("csv", "it is text, such as a data file"),
        ("onnx", "it looks like an ONNX graph"),
    ],
)
def test_a_foreign_file_is_named_for_what_it_is(what, expected):
    if what == "onnx":
        pytest.importorskip("onnx")
    net = gn.Network([gn.Dense(2, "tanh")], input_size=3, seed=0)
    data = {
        "pickle": lambda: pickle.dumps(net),
        "csv": lambda: b"height,weight\n1.7,60\n",
        "onnx": lambda: gn.to_onnx(net).SerializeToString(),
    }[what]()
    with pytest.raises(gn.ModelFileError, match=expected):
        gn.load(data)


def test_wrong_dtype_tensor(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    name = next(k for k in header if k != "__metadata__")
    header[name]["dtype"] = "I64"
    bad = tmp_path / "dtype.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError, match="expected F64"):
        gn.load(bad)


def test_missing_and_unexpected_tensors(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    header["layers.9.weights"] = header.pop("layers.0.weights")
    bad = tmp_path / "names.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError, match="tensor layers.0.weights is missing"):
        gn.load(bad)


def test_a_plain_safetensors_file_is_not_a_model(tmp_path):
    bad = tmp_path / "plain.safetensors"
    bad.write_bytes(safetensors_numpy.save({"w": np.ones(3)}))
    with pytest.raises(gn.ModelFileError, match="no glassnet metadata"):
        gn.load(bad)


def test_a_newer_format_asks_for_an_upgrade(model_file, tmp_path):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    doc = json.loads(header["__metadata__"]["glassnet"])
    doc["format_version"] = modelfile.FORMAT_VERSION + 1
    header["__metadata__"]["glassnet"] = json.dumps(doc)
    bad = tmp_path / "new.glassnet"
    bad.write_bytes(join(header, data))
    with pytest.raises(gn.ModelFileError, match="newer glassnet.*upgrade"):
        gn.load(bad)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(gn.ModelFileError, match="no such model file"):
        gn.load(tmp_path / "nope.glassnet")
    with pytest.raises(gn.ModelFileError, match="is a folder"):
        gn.load(tmp_path)


def test_model_file_error_is_a_value_error():
    assert issubclass(gn.ModelFileError, ValueError)


# --- mutation fuzzing -----------------------------------------------------------------------


def _real_model_bytes():
    net, _ = trained()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.glassnet")
        net.save(path)
        with open(path, "rb") as f:
            return f.read()


_BLOB = _real_model_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_BLOB) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, len(_BLOB))),
)
def test_mutated_files_load_finite_or_raise_model_file_error(tmp_path_factory, edits, cut):
    blob = bytearray(_BLOB)
    for position, value in edits:
        blob[position] = value
    if cut is not None:
        blob = blob[:cut]
    path = tmp_path_factory.mktemp("fuzz") / "m.glassnet"
    path.write_bytes(bytes(blob))
    try:
        net = gn.load(path)
    except gn.ModelFileError:
        return
    assert np.isfinite(net.parameters).all()


# --- every byte is covered by the checksum -------------------------------------------------


def test_every_single_flipped_byte_is_a_model_file_error():
    net, _ = trained()
    blob = gn.dumps(net)
    for position in range(len(blob)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x01
        with pytest.raises(gn.ModelFileError):
            gn.load(bytes(damaged))


def test_a_flipped_weight_byte_is_reported_as_damage():
    net, _ = trained()
    blob = bytearray(gn.dumps(net))
    blob[-3] ^= 0x40  # inside the last bias: still a finite float
    with pytest.raises(gn.ModelFileError, match="damaged: its checksum does not match"):
        gn.load(bytes(blob))


# --- models in memory ------------------------------------------------------------------------


def test_bytes_file_objects_and_paths_give_the_same_model(model_file):
    path, net, X = model_file
    from_path = gn.load(path)
    from_bytes = gn.load(path.read_bytes())
    from_memoryview = gn.load(memoryview(path.read_bytes()))
    with open(path, "rb") as f:
        from_file = gn.load(f)
    from_buffer = gn.load(io.BytesIO(path.read_bytes()))
    for loaded in (from_bytes, from_memoryview, from_file, from_buffer):
        assert repr(loaded) == repr(from_path)
        np.testing.assert_array_equal(loaded.parameters, net.parameters)
        np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_dumps_and_save_to_a_file_object_round_trip(tmp_path):
    net, X = trained()
    buffer = io.BytesIO()
    net.save(buffer)
    np.testing.assert_array_equal(gn.load(buffer.getvalue()).predict(X), net.predict(X))
    gn.save(net, tmp_path / "m.glassnet")
    np.testing.assert_array_equal(gn.load(gn.dumps(net)).parameters, net.parameters)
    assert modelfile.read_metadata(gn.dumps(net))["kind"] == "network"


def test_text_file_objects_are_refused(tmp_path, model_file):
    net, _ = trained()
    with pytest.raises(TypeError, match="binary file object"):
        net.save(io.StringIO())
    with pytest.raises(TypeError, match="binary file object"):
        gn.load(io.StringIO("not a model"))
    with pytest.raises(TypeError, match="takes a path, bytes or a binary file object"):
        gn.load(12)


def test_trailing_bytes_after_a_model_in_a_stream_are_refused(model_file):
    path, _, _ = model_file
    with pytest.raises(gn.ModelFileError, match="bytes after the tensor data"):
        gn.load(io.BytesIO(path.read_bytes() + b"more"))
    with pytest.raises(gn.ModelFileError):
        gn.load(path.read_bytes() + b"more")


# --- special files and big files ---------------------------------------------------------


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.glassnet"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(gn.ModelFileError, match="is a FIFO"):
        gn.load(fifo)  # opening it would block until a writer came


def test_a_device_is_refused():
    with pytest.raises(gn.ModelFileError, match="is a device"):
        gn.load("/dev/zero")


class CountingReader(io.RawIOBase):
    """A huge stream of bytes that counts how much of it is read."""

    def __init__(self, prefix: bytes, size: int):
        self.prefix, self.size, self.taken = prefix, size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.taken)
        chunk = (self.prefix + b"\0" * n)[self.taken : self.taken + n]
        buffer[: len(chunk)] = chunk
        self.taken += len(chunk)
        return len(chunk)


def test_a_big_file_that_is_not_a_model_is_refused_after_eight_bytes():
    stream = CountingReader(b"PK\x03\x04 zip archive, say", 3 * 2**30)
    with pytest.raises(gn.ModelFileError, match="not a glassnet model file .it is a zip archive"):
        gn.load(io.BufferedReader(stream, buffer_size=8))
    assert stream.taken <= 16


def test_a_big_file_with_a_plausible_header_is_refused_before_its_data_is_read(tmp_path):
    header = json.dumps({"x": {"dtype": "F64", "shape": [2**27], "data_offsets": [0, 2**30]}})
    raw = header.encode() + b" " * (-len(header) % 8)
    path = tmp_path / "big.glassnet"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + 2**20)  # sparse: the data is far shorter than announced
    with pytest.raises(gn.ModelFileError, match="no glassnet metadata"):
        gn.load(path)


# --- a model that cannot be loaded is never written ------------------------------------------


def test_non_finite_weights_are_never_written(tmp_path, model_file):
    path, net, _ = model_file
    before = path.read_bytes()
    broken = net.copy()
    broken._params[0] = np.nan  # as a diverged optimizer might leave them
    with pytest.raises(gn.ModelFileError, match="refusing to write a model that would not load"):
        broken.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.glassnet"]
    with pytest.raises(gn.ModelFileError):
        gn.dumps(broken)
