"""ONNX export, run through onnxruntime: every activation, loss and model kind, both dtypes.

Parity: 1e-5 relative in float32 and 1e-12 in float64, relative to the size of the
outputs (an output that is a near-cancellation of larger terms is judged on that scale).
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")

import glassnet as gn  # noqa: E402
from glassnet import activations  # noqa: E402
from glassnet.onnx import to_onnx  # noqa: E402

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


def run(proto, feeds):
    """Check the graph, then run it in onnxruntime: {output name: array}. Float feeds
    are given in the float type each input declares (a float32 graph's numbers are
    float32; times stay double), as a caller holding float64 columns would cast them."""
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for value in proto.graph.input:
        if value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            feeds = {**feeds, value.name: np.asarray(feeds[value.name], dtype=np.float32)}
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def assert_parity(got, want, dtype):
    want = np.asarray(want, dtype=np.float64)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 0.8)
    return X, y


# --- Network -------------------------------------------------------------------------------------

ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "exp"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_in_every_position(data, activation, dtype):
    X, _ = data
    X = X.astype(dtype) * 3  # far enough into every activation's tails
    net = gn.Network(
        [gn.Dense(6, activation), gn.Dropout(0.3), gn.Dense(4, "tanh"), gn.Dense(3, activation)],
        input_size=5,
        seed=1,
    ).astype(dtype)
    out = run(to_onnx(net), {"X": X})["output"]
    assert out.dtype == dtype
    assert_parity(out, net.predict(X), dtype)


@pytest.mark.parametrize(
    ("loss", "output"),
    [
        ("mse", "identity"),
        ("sse", "identity"),
        ("half_squared_error", "identity"),
        ("mae", "identity"),
        ("huber", "identity"),
        ("bce", "sigmoid"),
        ("cross_entropy", "softmax"),
        ("poisson", "exp"),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_networks_trained_with_every_loss(data, loss, output, dtype):
    X, y = data
    X = X.astype(dtype)
    units = 3 if output == "softmax" else 1
    target = y if output == "softmax" else (y > 0).astype(dtype)
    net = gn.Network([gn.Dense(8, "relu"), gn.Dense(units, output)], seed=0)
    net.fit(X, target, loss=loss, optimizer=gn.Adam(0.01), epochs=3, batch_size=32)
    assert_parity(run(to_onnx(net), {"X": X})["output"], net.predict(X), dtype)


def test_bias_free_layers_and_a_dtype_other_than_the_networks(data):
    X, _ = data
    net = gn.Network([gn.Dense(4, "tanh", bias=False), gn.Dense(2, bias=False)], input_size=5)
    proto = to_onnx(net, dtype="float32")
    assert not any(node.op_type == "Gemm" for node in proto.graph.node)  # no bias to add
    out = run(proto, {"X": X.astype(np.float32)})["output"]
    assert_parity(out, net.copy().astype(np.float32).predict(X.astype(np.float32)), np.float32)


def test_custom_activations_are_refused_by_name():
    swish = activations.Activation(
        "swish_for_onnx_test", lambda z, out=None: z / (1 + np.exp(-z)), lambda a, da, out=None: da
    )
    activations.register(swish)
    net = gn.Network([gn.Dense(3, "swish_for_onnx_test"), gn.Dense(1)], input_size=2)
    with pytest.raises(
        ValueError, match="layer 0 uses the custom activation 'swish_for_onnx_test'"
    ):
        to_onnx(net)


def test_what_cannot_be_exported_says_why():
    with pytest.raises(ValueError, match="not built yet"):
        to_onnx(gn.Network([gn.Dense(1)]))
    with pytest.raises(TypeError, match="not dict"):
        to_onnx({})
    with pytest.raises(TypeError, match="float32 or float64"):
        to_onnx(gn.Network([gn.Dense(1)], input_size=2), dtype="int32")


# --- the drop-in -----------------------------------------------------------------------------


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


CLASSIFIERS = {
    "multiclass, leaky_relu and tanh layers": (
        dict(hidden_layer_sizes=(8, 6), activation=["leaky_relu", "tanh"], dropout=0.1),
        lambda y: np.array(["low", "mid", "high"])[y],
    ),
    "binary, logistic": (dict(hidden_layer_sizes=(7,), activation="logistic"), lambda y: y > 0),
    "binary, integer labels": (dict(hidden_layer_sizes=(5,)), lambda y: 3 * (y > 0) + 1),
    "multilabel": (
        dict(hidden_layer_sizes=(6,), activation="relu"),
        lambda y: np.c_[y == 0, y == 1, y == 2].astype(int),
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CLASSIFIERS))
def test_classifiers_give_labels_and_probabilities(data, case, dtype):
    X, y = data
    params, target = CLASSIFIERS[case]
    X = X.astype(dtype)
    model = fit_quietly(gn.MLPClassifier(max_iter=30, random_state=0, **params), X, target(y))
    out = run(to_onnx(model), {"X": X})
    assert list(out) == ["label", "probabilities"]
    np.testing.assert_array_equal(out["label"], model.predict(X))
    assert_parity(out["probabilities"], model.predict_proba(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "params",
    [
        dict(loss="squared_error", activation="relu"),
        dict(loss="poisson", activation=["tanh", "leaky_relu"], hidden_layer_sizes=(6, 5)),
        dict(loss="squared_error", activation="identity", solver="lbfgs"),
    ],
)
def test_regressors_including_poissons_exp_output(data, params, dtype):
    X, y = data
    X = X.astype(dtype)
    target = np.c_[y + 1.0, X[:, 0] ** 2] if params["loss"] == "squared_error" else y + 1.0
    model = fit_quietly(gn.MLPRegressor(max_iter=30, random_state=0, **params), X, target)
    out = run(to_onnx(model), {"X": X})["variable"]
    assert_parity(out, model.predict(X).reshape(len(X), -1), dtype)


def test_a_pipeline_converts_with_skl2onnx(data):
    pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    X = X * 10 + 3
    for model, target in (
        (gn.MLPClassifier(activation="leaky_relu", max_iter=30, random_state=0), y),
        (gn.MLPClassifier(max_iter=30, random_state=0), np.c_[y == 0, y == 2].astype(int)),
        (gn.MLPRegressor(loss="poisson", max_iter=30, random_state=0), y + 1.0),
    ):
        pipe = fit_quietly(make_pipeline(StandardScaler(), model), X, target)
        options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
        proto = to_onnx(pipe, X=X[:1], options=options)
        out = run(proto, {"X": X})
        if hasattr(model, "classes_"):
            np.testing.assert_array_equal(out["label"], pipe.predict(X))
            assert_parity(out["probabilities"], pipe.predict_proba(X), np.float64)
        else:
            assert_parity(out["variable"].ravel(), pipe.predict(X), np.float64)
    # the default float32 input, and skl2onnx's ZipMap of the probabilities
    pipe = fit_quietly(make_pipeline(StandardScaler(), gn.MLPClassifier(max_iter=20)), X, y)
    proto = to_onnx(pipe, X=X[:1], dtype="float32")
    out = run(proto, {"X": X.astype(np.float32)})
    np.testing.assert_array_equal(out["output_label"], pipe.predict(X))
    assert set(out["output_probability"][0]) == {0, 1, 2}


def test_importing_glassnet_registers_nothing_and_skl2onnx_converts_once_registered():
    pytest.importorskip("skl2onnx")
    code = textwrap.dedent("""
        import sys, numpy as np
        import sklearn.neural_network  # what scikit-learn's own imports add is not glassnet's
        hooks = list(sys.meta_path)
        import glassnet
        model = glassnet.MLPRegressor(max_iter=2).fit(np.eye(3), [1.0, 2.0, 3.0])
        assert sys.meta_path == hooks, "an import hook was added"
        assert "skl2onnx" not in sys.modules and "glassnet.onnx" not in sys.modules
        import skl2onnx
        try:
            skl2onnx.to_onnx(model, np.eye(3)[:1])
        except Exception as exc:  # not registered: skl2onnx does not know the estimator
            print("unknown:", type(exc).__name__)
        import glassnet.onnx
        glassnet.onnx.register_skl2onnx()
        proto = skl2onnx.to_onnx(model, np.eye(3)[:1])
        print([o.name for o in proto.graph.output])
    """)
    run_ = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300
    )
    assert run_.returncode == 0, run_.stderr
    assert run_.stdout.splitlines()[0].startswith("unknown:")
    assert run_.stdout.splitlines()[-1] == "['variable']"


# --- TabularModel: raw columns in, labels or target units out ----------------------------------


@pytest.fixture(scope="module")
def table():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 160
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "town": rng.choice(["north", "south", "east", "a town"], n),
            "age": rng.integers(1, 90, n).astype(float),
            "kind": rng.choice(["x", "y"], n),
        }
    )
    frame["label"] = np.where(frame["size"] + (frame["town"] == "north") * 3 > 11, "big", "small")
    frame["count"] = rng.choice([1, 2, 7], n)
    frame["price"] = frame["size"] * 3 + frame["age"] * 0.1
    frame.loc[3, "age"] = np.nan
    frame.loc[5, "town"] = None
    frame.loc[9, "town"] = "  "
    return frame


TARGETS = ["label", "count", "price"]


def feeds_for(proto, frame, dtype):
    """The raw columns as the graph takes them: numbers, and text ('' where missing)."""
    feeds = {}
    for value in proto.graph.input:
        column = frame[value.name]
        if value.type.tensor_type.elem_type == onnx.TensorProto.STRING:
            text = ["" if not isinstance(v, str) else v for v in column]
            feeds[value.name] = np.array(text, dtype=object).reshape(-1, 1)
        else:
            feeds[value.name] = column.to_numpy(dtype=dtype).reshape(-1, 1)
    return feeds


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", TARGETS)
def test_a_command_line_model_runs_on_raw_columns(table, target, dtype):
    others = [t for t in TARGETS if t != target]
    model = gn.TabularModel.fit(table.drop(columns=others), target, epochs=5, impute=True)
    model.network.astype(dtype)
    test = table.drop(columns=TARGETS).copy()
    test.loc[7, "town"] = "west"  # never seen in training: all zeros, as in Python
    proto = to_onnx(model)
    inputs = {v.name: v.type.tensor_type.elem_type for v in proto.graph.input}
    text, number = onnx.TensorProto.STRING, onnx.TensorProto.FLOAT
    if dtype == np.float64:
        number = onnx.TensorProto.DOUBLE
    assert inputs == {"size": number, "town": text, "age": number, "kind": text}
    out = run(proto, feeds_for(proto, test, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.predict(test)
        if model.target.task == "classification":
            np.testing.assert_array_equal(out["label"], expected)
            assert_parity(out["probabilities"], model.predict_proba(test), dtype)
        else:
            assert_parity(out["variable"].ravel(), expected, dtype)


def test_unknown_column_kinds_are_named(table):
    model = gn.TabularModel.fit(table[["size", "label"]], "label", epochs=1)
    model.features.columns[0] = dict(model.features.columns[0], kind="geohash")
    with pytest.raises(ValueError, match="column 'size' is of kind 'geohash'"):
        to_onnx(model)


def test_the_column_kinds_of_the_documented_preprocessing_format(table):
    """Boolean, categorical with an "other" level, and datetime columns, built from the
    preprocessing's JSON as its format documents them (the reference below computes each
    block from that description, with pandas for the calendar)."""
    from types import SimpleNamespace

    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    n = 300
    seconds = rng.integers(-3 * 10**9, 4 * 10**9, n).astype(float)  # 1874 to 2096
    seconds[:4] = [0.0, 951782400.0, 951868799.0, -86400.0]  # 1970, 2000-02-29 (leap), ...
    when = pd.to_datetime(seconds, unit="s")
    flags = rng.choice([0.0, 1.0], n)
    towns = rng.choice(["north", "south", "west", ""], n).astype(object)
    seconds[7], flags[8] = np.nan, np.nan
    parts = {
        "year": when.year,
        "month": when.month,
        "dayofweek": when.day_of_week,
        "dayofyear": when.day_of_year,
        "hour": when.hour,
    }
    columns = [
        {"name": "flag", "kind": "boolean", "mean": 0.4, "std": 0.5},
        {
            "name": "town",
            "kind": "categorical",
            "categories": ["north", "south"],
            "other": True,
            "fill": "north",
        },
        {
            "name": "when",
            "kind": "datetime",
            "parts": [{"part": p, "mean": 3.0 + j, "std": 2.0 + j} for j, p in enumerate(parts)],
        },
    ]
    blocks = [np.where(np.isnan(flags), 0.4, flags)[:, None] - 0.4]
    blocks[0] = blocks[0] / 0.5
    filled = np.where(towns == "", "north", towns)
    levels = np.c_[filled == "north", filled == "south"].astype(float)
    blocks.append(np.c_[levels, 1 - levels.max(axis=1)])
    for j, part in enumerate(parts):
        x = np.asarray(parts[part], dtype=float)
        x[7] = 3.0 + j  # the missing time: the part's mean
        blocks.append(((x - (3.0 + j)) / (2.0 + j))[:, None])
    X = np.concatenate(blocks, axis=1)
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], input_size=X.shape[1], seed=0)
    model = SimpleNamespace(
        model_file_kind="tabular",
        network=net,
        features=SimpleNamespace(to_json=lambda: {"impute": True, "columns": columns}),
        target=SimpleNamespace(
            to_json=lambda: {"name": "y", "task": "regression", "mean": 10.0, "std": 3.0}
        ),
    )
    proto = to_onnx(model)
    feeds = {
        "flag": flags.reshape(-1, 1),
        "town": towns.reshape(-1, 1),
        "when": seconds.reshape(-1, 1),
    }
    out = run(proto, feeds)["variable"]
    assert_parity(out, net.predict(X) * 3.0 + 10.0, np.float64)


def test_a_model_with_every_column_kind_runs_on_raw_columns():
    """Numbers, true/false, dates, text with its rare levels grouped as "other", and
    integer codes read as categories: the real command-line model, exported."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 300
    towns = ["north", "south", "east", "west", "up", "down"]
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "town": rng.choice(towns, n, p=[0.4, 0.3, 0.2, 0.06, 0.02, 0.02]),
            "member": rng.choice([True, False], n),
            "when": pd.to_datetime(rng.integers(1.2e9, 1.7e9, n), unit="s"),
            "code": rng.choice([101, 202, 303], n),
        }
    )
    frame["label"] = np.where(frame["size"] + 3 * (frame["town"] == "north") > 11, "big", "tiny")
    model = gn.TabularModel.fit(
        frame, "label", epochs=5, max_categories=3, categorical=["code"], impute=True
    )
    kinds = {c["name"]: c["kind"] for c in model.features.to_json()["columns"]}
    assert kinds == {
        "size": "numeric",
        "town": "categorical",
        "member": "boolean",
        "when": "datetime",
        "code": "categorical",
    }
    test = frame.drop(columns=["label"]).head(60).copy()
    test.loc[3, "size"] = np.nan
    test.loc[4, "town"] = ""
    test.loc[6, "when"] = pd.NaT
    test.loc[7, "town"] = "nowhere"  # no level: the "other" column
    seconds = (test["when"] - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    feeds = {
        "size": test[["size"]].to_numpy(dtype=float),
        "town": test[["town"]].to_numpy(dtype=object),
        "member": test["member"].map({True: 1.0, False: 0.0}).astype(float).to_numpy()[:, None],
        "when": seconds.to_numpy(dtype=float)[:, None],
        "code": test["code"].astype(str).to_numpy(dtype=object)[:, None],
    }
    out = run(to_onnx(model), feeds)
    np.testing.assert_array_equal(out["label"], model.predict(test))
    assert_parity(out["probabilities"], model.predict_proba(test), model.network.dtype.type)


def test_a_date_missing_in_training_gets_an_indicator_in_the_graph_too():
    """A date column with missing cells in training gets a column that is 1 where the
    date was missing (as numbers do); the graph computes it from the NaN time."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(rng.integers(1.2e9, 1.7e9, n), unit="s"),
            "size": rng.normal(10, 3, n),
        }
    )
    frame.loc[rng.random(n) < 0.15, "when"] = pd.NaT
    frame["amount"] = frame["size"] + np.where(frame["when"].isna(), 5.0, 0.0)
    model = gn.TabularModel.fit(frame, "amount", epochs=5, impute=True, seed=0)
    names = model.features.output_names
    assert names[: names.index("size")][-1] == "when.missing"
    test = frame.drop(columns=["amount"]).head(80).copy()
    test.loc[2, "when"] = pd.Timestamp("2200-01-01")  # far from training: clipped
    X, _ = model.transform(test)
    np.testing.assert_array_equal(X[:, names.index("when.missing")], test["when"].isna())
    seconds = (test["when"] - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    feeds = {
        "when": seconds.to_numpy(dtype=float)[:, None],
        "size": test[["size"]].to_numpy(dtype=float),
    }
    out = run(to_onnx(model), feeds)
    assert_parity(out["variable"], model.predict(test).reshape(-1, 1), model.network.dtype.type)


# --- a classifier trained on one class ----------------------------------------------------------


def _both_sides_of_one_half(model, X):
    """Shift the output bias so that some rows are above 0.5 and some below: the graph's
    class index is then 1 for some rows, where a one-entry table of labels has none."""
    p = model.predict_proba(X)[:, 1]
    model.intercepts_[-1] -= np.log(np.median(p) / (1 - np.median(p)))
    p = model.predict_proba(X)[:, 1]
    assert (p > 0.5).any() and (p < 0.5).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "label", [7, "only", True, 2.0], ids=["integer", "text", "boolean", "number"]
)
def test_a_one_class_classifier_runs_in_onnxruntime(data, label, dtype):
    X, _ = data
    X = X.astype(dtype)
    model = fit_quietly(
        gn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0),
        X,
        np.full(len(X), label),
    )
    _both_sides_of_one_half(model, X)
    out = run(to_onnx(model), {"X": X})
    np.testing.assert_array_equal(out["label"], model.predict(X))
    assert out["probabilities"].shape == (len(X), 2)
    assert_parity(out["probabilities"], model.predict_proba(X), dtype)


def test_a_one_class_classifier_in_a_pipeline(data):
    pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = data
    model = gn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    pipe = fit_quietly(make_pipeline(StandardScaler(), model), X, np.full(len(X), "only"))
    _both_sides_of_one_half(model, StandardScaler().fit_transform(X))
    out = run(to_onnx(pipe, X=X[:1], options={id(model): {"zipmap": False}}), {"X": X})
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    assert_parity(out["probabilities"], pipe.predict_proba(X), np.float64)
    # skl2onnx's ZipMap would name one label for two columns: refused when converting
    with pytest.raises(ValueError, match="trained on one class.*'zipmap': False"):
        to_onnx(pipe, X=X[:1].astype(np.float32), dtype="float32")


# --- a command-line model without --impute: NaN where predict refuses a missing cell -------------


@pytest.fixture(scope="module")
def every_kind():
    """A table with a column of every kind, and the raw columns as the graph takes them."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "town": rng.choice(["north", "south", "east"], n),
            "member": rng.choice([True, False], n),
            "when": pd.to_datetime(rng.integers(1.2e9, 1.7e9, n), unit="s"),
        }
    )
    frame["label"] = np.where(frame["size"] + 3 * (frame["town"] == "north") > 11, "big", "tiny")
    frame["price"] = frame["size"] * 3 + frame["member"] * 2.0
    frame["grade"] = np.where(frame["size"] > 10, 2, 1)

    def feeds(test):
        return {
            "size": test[["size"]].to_numpy(dtype=float),
            "town": test[["town"]].to_numpy(dtype=object),
            "member": test[["member"]].to_numpy(dtype=float),
            "when": ((test["when"] - pd.Timestamp(0)) / pd.Timedelta(seconds=1))
            .to_numpy(dtype=float)
            .reshape(-1, 1),
        }

    return frame, feeds


MISSING = {"size": np.nan, "town": "", "member": np.nan, "when": np.nan}


@pytest.mark.parametrize("target", ["label", "price", "grade"])
def test_a_missing_cell_without_impute_gives_nan_as_predict_refuses_it(every_kind, target):
    from glassnet.tabular import PreprocessingError

    frame, feeds = every_kind
    others = [c for c in ("label", "price", "grade") if c != target]
    model = gn.TabularModel.fit(frame.drop(columns=others), target, epochs=3)
    assert not model.features.to_json()["impute"]
    test = frame.drop(columns=["label", "price", "grade"]).head(8).reset_index(drop=True)
    columns = feeds(test)
    for row, (name, value) in enumerate(MISSING.items(), start=1):
        columns[name] = columns[name].copy()
        columns[name][row, 0] = value
        broken = test.iloc[[row]].copy()
        broken[name] = ["" if name == "town" else None]  # an empty text cell, NaN, NaT
        with pytest.raises(PreprocessingError, match="missing values"):
            model.predict(broken)  # what the graph answers NaN for
    out = run(to_onnx(model), columns)
    dtype = model.network.dtype.type  # the graph computes in the network's float type
    refused = np.isin(np.arange(len(test)), [1, 2, 3, 4])
    kept = test.iloc[~refused]
    if target == "price":
        assert np.isnan(out["variable"][refused]).all()
        assert_parity(out["variable"][~refused].ravel(), model.predict(kept), dtype)
        return
    assert np.isnan(out["probabilities"][refused]).all()
    assert_parity(out["probabilities"][~refused], model.predict_proba(kept), dtype)
    np.testing.assert_array_equal(out["label"][~refused], model.predict(kept))
    if target == "label":  # text labels: the empty string, as the graph takes a missing text
        assert list(out["label"][refused]) == [""] * 4


def test_numbers_beyond_float32_are_clipped_in_the_graph_as_in_python():
    """1e308 is infinite in a float32 graph: it is smoothly clipped to the bound there, as
    NumPy clips the float64 number, not turned into NaN (inf / inf)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    frame["y"] = frame["x"] + 0.5 * frame["z"]
    model = gn.TabularModel.fit(frame, "y", epochs=2, seed=0)
    x = np.array([1e308, -1e308, 1e40, 1.0])
    with np.errstate(over="ignore"):
        feeds = {"x": x.astype(np.float32)[:, None], "z": np.zeros((4, 1), np.float32)}
    out = run(to_onnx(model), feeds)["variable"].ravel()
    assert np.isfinite(out).all()
    assert_parity(out, model.predict(pd.DataFrame({"x": x, "z": 0.0})), np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ["selu", "mish", "silu"])
def test_the_tabular_recipe_s_layers_export_with_parity(dtype, act):
    from glassnet.layers import Embedding, Parametric, Scale

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    X[:, 3], X[:, 4] = rng.integers(0, 3, 50), rng.integers(0, 4, 50)  # level indices
    net = gn.Network(
        [
            Embedding(numeric=[0, 1, 2], categorical=[(3, 3), (4, 4)], size=3),
            Scale(6.0),
            gn.Dense(8),
            Parametric(act, 0.1),
            gn.Dropout(0.1),
            gn.Dense(6, act),
            gn.Dense(3, "softmax"),
        ],
        seed=0,
    ).build(5, dtype)
    net.parameters = rng.normal(size=net.count_params()) * 0.5  # away from the start
    out = run(to_onnx(net), {"X": X.astype(dtype)})["output"]
    assert_parity(out, net.predict(X.astype(dtype)), dtype)
