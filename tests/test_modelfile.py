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
from modelfile_tools import edit_document, join, reseal, split

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


# --- every format is checksummed -----------------------------------------------------------


def _relabelled(blob: bytes, version: int) -> bytes:
    """The same file claiming another format_version, its checksum left as it was."""
    header, data = split(blob)
    doc = json.loads(header["__metadata__"]["glassnet"])
    doc["format_version"] = version
    header["__metadata__"]["glassnet"] = json.dumps(doc)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def test_a_file_relabelled_as_format_1_is_still_checksummed():
    net, _ = trained()
    relabelled = _relabelled(gn.dumps(net), 1)
    with pytest.raises(gn.ModelFileError, match="damaged: its checksum does not match"):
        gn.load(relabelled)
    damaged = bytearray(relabelled)
    damaged[-3] ^= 0x40  # a weight byte: still a finite float
    with pytest.raises(gn.ModelFileError, match="damaged"):
        gn.load(bytes(damaged))


def test_a_format_1_file_has_no_checksum_and_is_refused_saying_why(model_file):
    path, net, _ = model_file
    header, _ = split(path.read_bytes())
    doc = json.loads(header["__metadata__"]["glassnet"])
    doc["format_version"] = 1
    tensors = {
        f"layers.{i}.{name}": array
        for i, layer in enumerate(net.layers)
        for name, array in layer.parameter_arrays().items()
    }
    # as glassnet's first builds wrote it: no checksum in the metadata
    old = safetensors_numpy.save(tensors, metadata={"glassnet": json.dumps(doc)})
    for source in (old, io.BytesIO(old)):
        with pytest.raises(gn.ModelFileError, match="format 1, which has no checksum.*train"):
            gn.load(source)
    with pytest.raises(gn.ModelFileError, match="format 1, which has no checksum"):
        modelfile.read_metadata(old)
    # resealed by hand, the claim of format 1 is still refused
    with pytest.raises(gn.ModelFileError, match="format 1, which has no checksum"):
        gn.load(edit_document(path.read_bytes(), lambda d: d.update(format_version=1)))


def test_a_format_2_file_without_its_checksum_is_damaged(model_file):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    del header["__metadata__"]["glassnet_sha256"]
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with pytest.raises(gn.ModelFileError, match="checksum is missing or malformed"):
        gn.load(struct.pack("<Q", len(raw)) + raw + data)


# --- every field of the document has its type -----------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(kind=["network"]), 'kind must be a string, not \\["network"\\]'),
        (lambda d: d.update(kind={"a": 1}), "kind must be a string"),
        (lambda d: d.update(kind="Pickle"), "unknown kind of model 'Pickle'"),
        (lambda d: d.update(format_version="2"), 'invalid format_version "2"'),
        (lambda d: d.update(format_version=True), "invalid format_version true"),
        (lambda d: d.update(glassnet_version=[0, 1]), "glassnet_version must be a string"),
        (lambda d: d.update(saved_at={}), "saved_at must be a string"),
        (lambda d: d.update(payload=[]), "payload metadata is not a JSON object"),
        (lambda d: d.update(training="fast"), "training summary is not a JSON object"),
        (lambda d: d.update(network=[]), "network description is not a JSON object"),
        (lambda d: d["network"].update(seed="0"), "invalid seed"),
        (lambda d: d["network"].update(layers={"0": {}}), "no valid list of layers"),
    ],
)
def test_every_field_of_the_document_is_type_checked(model_file, change, expected):
    path, _, _ = model_file
    with pytest.raises(gn.ModelFileError, match=expected):
        gn.load(edit_document(path.read_bytes(), change))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.update(epochs=[1]), "training.epochs must be an integer, not \\[1\\]"),
        (lambda t: t.update(epochs=5.0), "training.epochs must be an integer"),
        (lambda t: t.update(samples=True), "training.samples must be an integer"),
        (lambda t: t.update(final_loss="low"), "training.final_loss must be a number or null"),
        (lambda t: t.update(loss_name=["mse"]), "training.loss_name must be a string"),
        (lambda t: t.update(optimizer=None), "training.optimizer must be a string"),
        (lambda t: t.update(cluster=[]), "training.cluster must be a JSON object"),
        (lambda t: t.update(cluster={"workers": "2"}), "training.cluster.workers must be an"),
    ],
)
def test_a_tampered_training_summary_is_refused_naming_the_field(model_file, change, expected):
    path, _, _ = model_file
    tampered = edit_document(path.read_bytes(), lambda d: change(d["training"]))
    with pytest.raises(gn.ModelFileError, match=f"training summary is invalid: {expected}"):
        gn.load(tampered)
    with pytest.raises(gn.ModelFileError, match=expected):
        modelfile.read_metadata(tampered)


def test_nan_and_infinity_are_not_the_json_glassnet_writes(model_file):
    path, _, _ = model_file
    header, data = split(path.read_bytes())
    text = header["__metadata__"]["glassnet"]
    header["__metadata__"]["glassnet"] = text.replace('"final_loss": ', '"final_loss": NaN, "x": ')
    with pytest.raises(gn.ModelFileError, match="not valid JSON .NaN is not a JSON number"):
        gn.load(join(header, data))


def test_a_free_form_training_summary_round_trips_and_wrong_types_are_never_written(tmp_path):
    net, X = trained()
    net.training_summary = dict(net.training_summary, note="by hand", tags=["a", 1, None])
    assert gn.load(gn.dumps(net)).training_summary == net.training_summary
    net.training_summary["epochs"] = "many"
    with pytest.raises(gn.ModelFileError, match="refusing to write.*training.epochs"):
        net.save(tmp_path / "m.glassnet")
    assert not list(tmp_path.iterdir())


def test_check_json_names_the_deepest_field():
    spec = {"a": [{"b": (float, None)}], "m": {str: int}}
    modelfile.check_json({"a": [{"b": 1}, {"b": None}], "m": {"x": 1}, "other": [[]]}, spec, "doc")
    with pytest.raises(ValueError, match=r"^doc.a\[1\].b must be a number or null, not \"1\"$"):
        modelfile.check_json({"a": [{"b": 1}, {"b": "1"}]}, spec, "doc")
    with pytest.raises(ValueError, match=r"^doc.m.y must be an integer, not false$"):
        modelfile.check_json({"m": {"x": 1, "y": False}}, spec, "doc")
    with pytest.raises(ValueError, match=r"^doc.a must be a list of JSON objects, not 3$"):
        modelfile.check_json({"a": 3}, spec, "doc")


# --- a command-line model's training summary: whatever loads can be printed ------------------


@pytest.fixture(scope="module")
def tabular_blob():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "town": rng.choice(["n", "s"], 40)})
    frame["y"] = np.where(frame["x"] > 0, "hi", "lo")
    model = gn.TabularModel.fit(frame, "y", epochs=2, hidden=[3])
    return gn.dumps(model)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("hidden", 5, "payload.info.hidden must be a list of integers, not 5"),
        ("hidden", ["3"], r"payload.info.hidden\[0\] must be an integer"),
        ("train_metrics", [0.9], "payload.info.train_metrics must be a JSON object"),
        ("train_metrics", {"accuracy": "high"}, "payload.info.train_metrics.accuracy must be a"),
        ("epoch_loss", "0.1", "payload.info.epoch_loss must be a number or null"),
        ("epochs", None, "payload.info.epochs must be an integer"),
        ("stopped_early", "no", "payload.info.stopped_early must be true or false"),
        ("warnings", "overfits", "payload.info.warnings must be a list of strings"),
        ("data", 7, "payload.info.data must be a string or null"),
        ("kinds", {"x": 1}, "payload.info.kinds.x must be a string"),
    ],
)
def test_a_tampered_tabular_training_summary_is_refused(tabular_blob, field, value, expected):
    tampered = edit_document(tabular_blob, lambda d: d["payload"]["info"].update({field: value}))
    with pytest.raises(gn.ModelFileError, match=f"training summary is invalid: {expected}"):
        gn.load(tampered)


def _paths(value, path=()):
    """Every path into a JSON value."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield (*path, key)
        if isinstance(item, (dict, list)):
            yield from _paths(item, (*path, key))


def _replaced(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


WRONG = [None, "text", 3, 2.5, True, [], ["a"], [None], {}, {"k": "v"}]


def test_whatever_loads_after_its_summary_is_tampered_with_can_be_inspected(
    tabular_blob, tmp_path, capsys
):
    from glassnet import cli

    net, _ = trained()
    cases = []
    for blob, part in ((tabular_blob, ("payload", "info")), (gn.dumps(net), ("training",))):
        doc = json.loads(split(blob)[0]["__metadata__"]["glassnet"])
        summary = doc
        for key in part:
            summary = summary[key]
        for path in [*_paths(summary, part), (*part, "extra")]:
            cases += [(blob, path, value) for value in WRONG]
    loaded = 0
    for blob, path, value in cases:
        tampered = edit_document(blob, lambda d, p=path, v=value: _replaced(d, p, v))
        try:
            gn.load(tampered)
        except gn.ModelFileError:
            continue
        loaded += 1
        model = tmp_path / "m.glassnet"
        model.write_bytes(tampered)
        assert cli.main(["inspect", str(model)]) == 0, (path, value)
        capsys.readouterr()
    assert loaded > 20  # free-form fields, and nulls where a summary may have them


# --- file objects that return fewer bytes than asked -------------------------------------------


class Trickle(io.RawIOBase):
    """A raw stream, as a socket or a pipe is: each read returns at most ``step`` bytes."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.at = data, step, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.step, len(self.data) - self.at)
        buffer[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


@pytest.mark.parametrize("step", [1, 3, 7, 4096])
def test_a_stream_that_returns_short_reads_loads_the_model(model_file, step):
    path, net, X = model_file
    loaded = gn.load(Trickle(path.read_bytes(), step))
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    assert modelfile.read_metadata(Trickle(path.read_bytes(), step))["kind"] == "network"


def test_a_short_reading_stream_is_still_checked_to_its_end(model_file):
    path, _, _ = model_file
    blob = path.read_bytes()
    with pytest.raises(gn.ModelFileError, match="truncated"):
        gn.load(Trickle(blob[:-5], 3))
    with pytest.raises(gn.ModelFileError, match="bytes after the tensor data"):
        gn.load(Trickle(blob + b"!", 3))
    damaged = bytearray(blob)
    damaged[-3] ^= 0x40
    with pytest.raises(gn.ModelFileError, match="damaged"):
        gn.load(Trickle(bytes(damaged), 3))


def test_a_non_blocking_stream_with_nothing_ready_is_named():
    class NothingYet(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            return None  # what a non-blocking raw stream returns with no data ready

    with pytest.raises(gn.ModelFileError, match="non-blocking.*blocking file object"):
        gn.load(NothingYet())


def test_the_tabular_recipe_s_layers_round_trip_and_bad_configs_are_refused():
    import io

    from glassnet.layers import Embedding, Parametric, Scale
    from modelfile_tools import edit_document

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5))
    X[:, 3] = rng.integers(0, 3, 20)
    net = gn.Network(
        [
            Embedding(numeric=[0, 1], categorical=[(3, 3)], size=2),
            Scale(6.0),
            gn.Dense(4, lr_factor=0.5),
            Parametric("mish", 0.1),
            gn.Dense(2),
        ],
        seed=0,
    ).build(5)
    blob = gn.dumps(net)
    again = gn.load(io.BytesIO(blob))
    np.testing.assert_array_equal(again.predict(X), net.predict(X))
    assert [layer.config() for layer in again.layers] == [layer.config() for layer in net.layers]

    def tamper(change):
        return edit_document(blob, change)

    def column_outside(doc):
        doc["network"]["layers"][0]["numeric"] = [0, 9]

    def unknown_activation(doc):
        doc["network"]["layers"][3]["activation"] = "gelu"

    for change, words in ((column_outside, "outside"), (unknown_activation, "gelu")):
        with pytest.raises(gn.ModelFileError, match=words):
            gn.load(io.BytesIO(tamper(change)))
