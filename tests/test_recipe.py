"""The default recipe: its preprocessing (robust scaling with smooth clipping, missing
indicators, embedded categories), the network it sizes from the data, the ensemble of
small data, and everything downstream of such a model (model file, ONNX, explain, the
command line, streaming)."""

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import glassnet as gn  # noqa: E402
from glassnet.layers import Dense, Dropout, Embedding, Parametric, Scale  # noqa: E402
from glassnet.tabular import PreprocessingError  # noqa: E402
from glassnet.tabular.encoding import (  # noqa: E402
    CLIP,
    FeatureEncoder,
    robust_scale,
    smooth_clip,
)
from glassnet.tabular.recipe import (  # noqa: E402
    ENSEMBLE_MAX_EPOCHS,
    ENSEMBLE_ROWS,
    MAX_EPOCHS,
    MIN_EPOCHS,
    MIN_STEPS,
    Recipe,
    describe_recipe,
)


def table(n=400, seed=0, cities=60):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "skewed": rng.lognormal(0, 2, size=n),
            "city": [f"c{i}" for i in rng.integers(0, cities, n)],
            "kind": rng.choice(["a", "b"], n),
        }
    )
    code = frame["city"].str[1:].astype(int)
    frame["y"] = frame["x"] + (code % 5) / 2 + (frame["kind"] == "a") + 0.1 * rng.normal(size=n)
    frame.loc[::9, "x"] = np.nan
    return frame


# -- preprocessing ----------------------------------------------------------------------------


def test_robust_scaling_centres_on_the_median_and_clips_smoothly():
    values = np.array([1.0, 2.0, 3.0, 4.0, 1000.0])
    enc = FeatureEncoder(scaling="robust").fit({"v": values})
    column = enc.columns[0]
    centre, scale = robust_scale(values)
    assert (column["mean"], column["std"]) == (centre, scale) == (3.0, 2.0)
    X, _ = enc.transform({"v": values})
    np.testing.assert_allclose(X[:, 0], smooth_clip((values - 3.0) / 2.0, CLIP))
    assert np.abs(X).max() < CLIP  # the outlier is tamed, not cut off
    assert X[0, 0] < X[1, 0] < X[2, 0] < X[3, 0] < X[4, 0]  # order kept
    # however far a value is, it stays on its side: 1e308 is +CLIP, not the median's 0
    far = enc.transform({"v": np.array([1e30, 1e154, 1e200, 1e308, -1e308])})[0][:, 0]
    np.testing.assert_array_equal(far, [CLIP, CLIP, CLIP, CLIP, -CLIP])
    tiny = FeatureEncoder(scaling="robust").fit({"v": values * 1e-3})  # 1e308 / 0.002: inf
    np.testing.assert_array_equal(tiny.transform({"v": [1e308, -1e308]})[0][:, 0], [CLIP, -CLIP])
    with pytest.raises(PreprocessingError, match="holds an infinite value"):
        tiny.transform({"v": [np.inf]})  # an infinite number is an error, scaled or not
    z = np.array([-np.inf, -1e300, -4.0, 0.0, 1e-300, 5.0, 1e155, np.inf])
    with np.errstate(over="raise", invalid="raise"):  # no overflow on the way
        clipped = smooth_clip(z, CLIP)
    assert np.all(np.diff(clipped) >= 0) and np.abs(clipped).max() <= CLIP
    # quartiles equal: half the range; a constant: 1
    assert robust_scale(np.array([0, 0, 0, 0, 0, 10.0])) == (0.0, 5.0)
    assert robust_scale(np.array([7.0, 7.0])) == (7.0, 1.0)


def test_missing_values_get_an_indicator_column():
    frame = table()
    enc = FeatureEncoder(impute=True, indicators=True).fit(frame, ["x", "skewed"])
    assert enc.output_names == ["x", "x.missing", "skewed"]  # skewed has no missing value
    X, _ = enc.transform(frame[["x", "skewed"]])
    np.testing.assert_array_equal(X[:, 1], frame["x"].isna().to_numpy(dtype=float))
    assert "1 where it was missing" in enc.describe()[0]


def test_a_missing_category_is_a_level_of_its_own():
    colour = np.array(["red", None, "blue", "red", None, "red"], dtype=object)
    enc = FeatureEncoder(impute=True, indicators=True).fit({"colour": colour})
    (column,) = enc.columns
    assert column["categories"] == ["", "blue", "red"] and column["fill"] == ""
    assert enc.output_names == ["colour=(missing)", "colour=blue", "colour=red"]
    X, _ = enc.transform({"colour": np.array([None, "blue", ""], dtype=object)})
    np.testing.assert_array_equal(X, [[1, 0, 0], [0, 1, 0], [1, 0, 0]])  # "" is missing too
    line = enc.describe()[0]
    assert "((missing), blue, red)" in line and "missing -> a level of its own" in line
    # without indicators (the small recipe), the most frequent level, as before
    plain = FeatureEncoder(impute=True).fit({"colour": colour})
    assert plain.columns[0]["categories"] == ["blue", "red"] and plain.columns[0]["fill"] == "red"
    # embedded, a missing value seen once is rare: it joins the rare values' level
    many = np.array([f"l{i % 12}" for i in range(120)] + [None], dtype=object)
    embedded = FeatureEncoder(impute=True, indicators=True, embed_levels=8).fit({"c": many})
    (column,) = embedded.columns
    assert "" not in column["categories"] and column["other"] and column["fill"] == ""
    assert "missing -> other" in embedded.describe()[0]
    X, warnings = embedded.transform({"c": np.array([None], dtype=object)})
    assert X[0, 0] == len(column["categories"]) and not warnings


def test_a_column_of_many_levels_is_embedded_and_an_identifier_still_refused():
    frame = table()
    enc = FeatureEncoder(embed_levels=8).fit(frame, ["city", "kind"])
    city, kind = enc.columns
    assert city.get("embed") and not kind.get("embed")  # 2 levels: one-hot
    assert enc.output_names == ["city.level", "kind=a", "kind=b"]
    X, warnings = enc.transform(pd.DataFrame({"city": ["c3", "nowhere"], "kind": ["a", "b"]}))
    levels = len(city["categories"])
    assert X[0, 0] == city["categories"].index("c3") and X[1, 0] == levels  # unseen: last
    assert "level for rare values" in warnings[0]
    assert enc.embedding_inputs() == ([], [(0, levels + 1)])
    ids = pd.DataFrame({"id": [f"row{i}" for i in range(400)]})
    with pytest.raises(PreprocessingError, match="looks like an identifier"):
        FeatureEncoder(embed_levels=8).fit(ids)


def test_a_level_seen_once_joins_the_rare_level():
    values = np.array(["a"] * 5 + ["b"] * 5 + [f"once{i}" for i in range(20)], dtype=object)
    values = np.concatenate([values, np.array([f"l{i % 12}" for i in range(120)], dtype=object)])
    enc = FeatureEncoder(embed_levels=8).fit({"c": values})
    (column,) = enc.columns
    assert column["embed"] and column["other"]
    assert not any(c.startswith("once") for c in column["categories"])
    X, warnings = enc.transform({"c": np.array(["once3"], dtype=object)})
    assert X[0, 0] == len(column["categories"]) and not warnings  # "other", not unseen


def test_the_preprocessing_round_trips_through_json():
    frame = table()
    enc = FeatureEncoder(impute=True, scaling="robust", indicators=True, embed_levels=8)
    enc.fit(frame, ["x", "skewed", "city", "kind"])
    again = FeatureEncoder.from_json(enc.to_json())
    np.testing.assert_array_equal(again.transform(frame)[0], enc.transform(frame)[0])
    broken = enc.to_json()
    broken["columns"][0]["clip"] = -1
    with pytest.raises(ValueError, match="invalid clip"):
        FeatureEncoder.from_json(broken)


# -- the recipe -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    return gn.TabularModel.fit(table(), "y", impute=True, seed=0, epochs=8)


def test_the_default_recipe_is_the_published_one_sized_by_the_data(fitted):
    info = fitted.info
    assert info["recipe"] == "default" and info["hidden"] == [256, 256, 256]
    assert info["activation"] == "mish" and info["scaling"] == "robust"
    assert info["ensemble"] == 3  # 320 training rows
    assert info["layers"][0].startswith("Embedding") and "CosLog" in info["schedule"]
    line = describe_recipe(info)
    assert line.startswith("recipe default: 3 x 256 (mish), embeddings") and "ensemble of 3" in line
    kinds = [type(layer) for layer in fitted.network.layers]
    assert kinds[:2] == [Embedding, Dense] and Parametric in kinds and Dropout in kinds
    assert Scale not in kinds  # folded into the first Dense layer of the ensemble


def test_the_budget_of_epochs_follows_the_rows():
    recipe = Recipe()
    few, many = recipe.resolved("regression", 200), recipe.resolved("regression", 100_000)
    assert few.epochs == ENSEMBLE_MAX_EPOCHS == 64 and few.ensemble == 3
    assert many.epochs == MIN_EPOCHS == 8 and many.ensemble == 1  # 500,000 / 100,000 rows
    # one network sees 500,000 rows, the three of an ensemble 250,000 together
    assert recipe.resolved("regression", 10_000).epochs == 50
    assert recipe.resolved("regression", 1_000).epochs == 64  # 83 by the budget
    assert recipe.resolved("regression", 2_000).epochs == 41
    # one network, beyond the ensembles' cap: 125 by the budget, 128 at most
    assert recipe.resolved("regression", 4_000).epochs == 125
    assert recipe.resolved("regression", 3_500).epochs == MAX_EPOCHS == 128
    assert recipe.resolved("regression", 1_000).ensemble == 3
    assert recipe.resolved("classification", ENSEMBLE_ROWS + 1).ensemble == 1
    assert Recipe(epochs=7, ensemble=2).resolved("regression", 200).epochs == 7
    small = Recipe(recipe="small").resolved("classification", 200)
    assert (small.hidden, small.activation, small.epochs, small.batch_size) == (
        (16, 16),
        "relu",
        200,
        32,
    )


def test_an_ensemble_predicts_the_mean_of_its_networks():
    frame = table(seed=1)
    one = gn.TabularModel.fit(frame, "y", impute=True, seed=0, ensemble=1, epochs=4)
    three = gn.TabularModel.fit(frame, "y", impute=True, seed=0, ensemble=3, epochs=4)
    # the first network of the ensemble is the single model's, bit for bit
    X, _ = one.features.transform(frame)
    first = np.asarray(one.network.predict(X))
    assert three.network.layers[1].units == 3 * 256
    assert not np.allclose(three.network.predict(X), first)
    assert three.info["validation_rows"] == one.info["validation_rows"]  # each network's


def test_the_small_recipe_is_the_earlier_default():
    model = gn.TabularModel.fit(table(), "y", impute=True, recipe="small")
    assert [type(layer) for layer in model.network.layers] == [Dense, Dense, Dense]
    assert model.info["hidden"] == [16, 16] and model.info["scaling"] == "standard"
    assert model.info["ensemble"] == 1


def test_an_unseeded_recipe_splits_a_partition_unseeded():
    """A cluster's partition is split with the seed and its number; without a seed, as
    an ensemble's member, it is split unseeded (it raised TypeError)."""
    seeded = Recipe(seed=7).split(100, None, part=3)
    assert [a.tolist() for a in seeded] == [
        a.tolist() for a in Recipe(seed=7).split(100, None, part=3)
    ]
    train, val = Recipe(seed=None).split(100, None, part=3)
    assert sorted([*train, *val]) == list(range(100)) and len(val) == 20


@pytest.mark.parametrize(
    "options, fragment",
    [
        (dict(recipe="large"), "unknown recipe 'large'"),
        (dict(ensemble=0), "ensemble must be a positive number"),
        (dict(scaling="minmax"), "unknown scaling"),
        (dict(batch_size="big"), "batch size must be a positive integer"),
    ],
)
def test_options_out_of_range_are_named(options, fragment):
    with pytest.raises(PreprocessingError, match=fragment):
        gn.TabularModel.fit(table(), "y", impute=True, **options)


# -- downstream -------------------------------------------------------------------------------


def test_the_model_file_keeps_everything(fitted, tmp_path):
    fitted.save(tmp_path / "m.glassnet")
    again = gn.load(tmp_path / "m.glassnet")
    frame = table(seed=2)
    np.testing.assert_array_equal(
        again.predict(frame, impute=True), fitted.predict(frame, impute=True)
    )
    assert again.info["recipe"] == "default" and again.info["ensemble"] == 3


def test_onnx_computes_what_predict_does(fitted):
    ort = pytest.importorskip("onnxruntime")
    frame = table(seed=3)
    proto = gn.to_onnx(fitted, "float32")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for spec in session.get_inputs():
        column = frame[[spec.name]].to_numpy()
        if spec.type == "tensor(string)":
            feeds[spec.name] = column.astype(str).astype(object)
        else:
            feeds[spec.name] = column.astype(np.float32 if "float)" in spec.type else np.float64)
    (got,) = session.run(None, feeds)
    want = fitted.predict(frame, impute=True)
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_explain_writes_out_the_embedding(fitted):
    frame = table(seed=4).head(1)
    X, _ = fitted.features.transform(frame, impute=True)
    text = str(fitted.network.explain(X, np.zeros((1, 1))))
    assert "Embedding" in text or "embedding" in text


def test_the_command_line_states_the_recipe(tmp_path):
    from glassnet import cli

    table().to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "m.glassnet"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(
            [
                "train",
                str(tmp_path / "t.csv"),
                "--target",
                "y",
                "--impute",
                "--out",
                str(out),
                "--epochs",
                "3",
                "--quiet",
            ]  # fmt: skip
        )
    assert code == 0
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("trained 6 -> 256 -> 256 -> 256 -> 1 (regression)")
    assert lines[1].startswith("recipe default: 3 x 256 (mish), embeddings")


def test_streaming_trains_the_recipe_too(tmp_path):
    table(n=600).to_csv(tmp_path / "t.csv", index=False)
    model = gn.TabularModel.fit_stream(
        str(tmp_path / "t.csv"), "y", impute=True, epochs=3, chunk_rows=100
    )
    assert model.info["recipe"] == "default" and model.info["ensemble"] == 1
    with pytest.raises(PreprocessingError, match="ensemble needs the data in memory"):
        gn.TabularModel.fit_stream(str(tmp_path / "t.csv"), "y", impute=True, ensemble=3)


def test_the_figures_draw_a_recipe_model(fitted):
    plot = pytest.importorskip("glassnet.plot")
    figure = plot.weights(fitted)
    dense = [layer for layer in fitted.network.layers if isinstance(layer, Dense)]
    images = [ax.get_images()[0].get_array() for ax in figure.axes if ax.get_images()]
    assert [image.shape[0] for image in images] == [d.weights.shape[0] + 1 for d in dense]
    plot.network(fitted)  # the drawing of the network, from its Dense layers


def test_few_epochs_on_few_rows_take_smaller_batches_to_warm_up():
    """Two epochs of one batch each gave the learning rate's rise from 0 no step: the
    first one, at half the peak rate, wrecked the network (validation R² -27)."""
    resolved = Recipe(epochs=2).resolved("regression", 240)
    assert resolved.batch_size == 7 and 2 * -(-240 // 7) >= MIN_STEPS
    assert Recipe().resolved("regression", 240).batch_size == 256  # 64 epochs: 64 steps
    assert Recipe(epochs=2).resolved("regression", 100_000).batch_size == 256
    assert Recipe(epochs=2, batch_size=64).resolved("regression", 240).batch_size == 64
    assert Recipe(epochs=2, recipe="small").resolved("regression", 240).batch_size == 32
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    frame["y"] = 3 * frame["x"] + frame["z"] + 0.3 * rng.normal(size=300)
    model = gn.TabularModel.fit(frame, "y", epochs=2, ensemble=1, seed=0)
    assert model.info["batch_size"] < 8 and model.info["validation_metrics"]["r2"] > 0.5
