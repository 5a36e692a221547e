"""The drop-in estimators: scikit-learn's behaviour, and the extras having an effect."""

import inspect
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_iris, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


# --- the same parameters, attributes and behaviour -----------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"), [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)]
)
def test_every_scikit_learn_parameter_with_the_same_default(ours, theirs):
    mine = inspect.signature(ours.__init__).parameters
    for name, param in inspect.signature(theirs.__init__).parameters.items():
        assert name in mine, name
        assert mine[name].default == param.default, name


FITTED = [
    "coefs_",
    "intercepts_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "n_iter_",
    "t_",
    "n_features_in_",
]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_the_fitted_attributes_match_scikit_learns(blobs, early_stopping):
    X, y = blobs
    ours = MLPClassifier(
        hidden_layer_sizes=(8, 5), max_iter=30, random_state=0, early_stopping=early_stopping
    ).fit(X, y)
    theirs = sk.MLPClassifier(
        hidden_layer_sizes=(8, 5), max_iter=30, random_state=0, early_stopping=early_stopping
    ).fit(X, y)
    for name in FITTED + ["classes_"]:
        mine, ref = getattr(ours, name), getattr(theirs, name)
        assert type(mine) is type(ref) or (mine is None) == (ref is None), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ == 4
    assert ours.out_activation_ == theirs.out_activation_ == "softmax"
    n_train = 270 if early_stopping else 300  # validation_fraction=0.1 held out
    assert ours.t_ == ours.n_iter_ * n_train
    if not early_stopping:  # (with it, both stop when their own validation split says so)
        assert ours.t_ == theirs.t_ and ours.n_iter_ == theirs.n_iter_ == 30
    assert len(ours.loss_curve_) == ours.n_iter_
    assert ours.loss_ == ours.loss_curve_[-1]
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)


def test_feature_names_are_kept():
    pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, X.columns)


def test_initialisation_follows_scikit_learn():
    X, y = make_classification(n_samples=50, n_features=20, random_state=0)
    for activation, factor in (("relu", 6.0), ("logistic", 2.0)):
        model = MLPClassifier(
            hidden_layer_sizes=(30,),
            activation=activation,
            max_iter=1,
            learning_rate_init=1e-12,
            random_state=0,
        ).fit(X, y)
        bound = np.sqrt(factor / (20 + 30))
        assert np.abs(model.coefs_[0]).max() <= bound
        assert np.abs(model.coefs_[0]).max() > 0.9 * bound  # uniform over the whole range
        assert np.abs(model.intercepts_[0]).max() > 0.5 * bound  # biases drawn too


def test_binary_multiclass_and_multilabel_outputs(blobs):
    X, y = blobs
    binary = MLPClassifier(max_iter=20, random_state=0).fit(X, y == 1)
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1
    assert binary.predict_proba(X).shape == (300, 2)
    Y = np.c_[y == 0, y == 1, y == 2, X[:, 0] > 0].astype(int)
    multilabel = MLPClassifier(max_iter=50, random_state=0).fit(X, Y)
    assert multilabel.out_activation_ == "logistic"
    assert multilabel.predict(X).shape == (300, 4)
    assert multilabel.score(X, Y) > 0.5


def test_multi_output_regression():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, Y / 100)
    assert model.predict(X).shape == (200, 3)
    assert model.score(X, Y / 100) > 0.9


def test_poisson_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    model = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=200, random_state=0).fit(
        X, y
    )
    assert model.out_activation_ == "exp"
    assert (model.predict(X) > 0).all()
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor(loss="poisson").fit(X, -np.abs(y) - 1)


def test_float32_stays_float32(blobs):
    X, y = blobs
    model = MLPClassifier(max_iter=10, random_state=0).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in model.coefs_)
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert model.network_.dtype == np.float32


def test_lbfgs_runs_through_scipy_on_the_flat_vector(blobs):
    X, y = blobs
    model = MLPClassifier(
        solver="lbfgs", hidden_layer_sizes=(10,), max_iter=300, random_state=0
    ).fit(X, y)
    assert 1 <= model.n_iter_ <= 300
    assert model.loss_ == pytest.approx(model.loss_curve_[-1], rel=1e-6)
    assert model.score(X, y) > 0.9
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", max_iter=2, random_state=0).fit(X, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_sgd_learning_rate_schedules(blobs, learning_rate):
    X, y = blobs
    model = MLPClassifier(
        solver="sgd", learning_rate=learning_rate, max_iter=60, random_state=0
    ).fit(X, y)
    lr = model._optimizer.lr
    if learning_rate == "constant":
        assert lr == 0.001
    elif learning_rate == "invscaling":
        assert lr == pytest.approx(0.001 / (model.t_ + 1) ** 0.5)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_convergence_stops_on_tol(blobs):
    X, y = blobs
    model = MLPClassifier(max_iter=1000, tol=1e-2, random_state=0).fit(X, y)
    assert model.n_iter_ < 1000
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)


def test_partial_fit_continues(blobs):
    X, y = blobs
    model = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    t = model._optimizer.t
    model.partial_fit(X[100:], y[100:])
    assert model._optimizer.t > t
    # n_iter_ counts the epochs of the last call, as in scikit-learn 1.9; the curve and
    # t_ count them all.
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 2
    assert model.t_ == len(X)


def test_warm_start_keeps_weights(blobs):
    X, y = blobs
    model = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
    weights = model.coefs_[0].copy()
    model.fit(X, y)
    assert len(model.loss_curve_) == 10
    assert not np.array_equal(model.coefs_[0], weights)
    assert model.loss_curve_[5] < model.loss_curve_[0]


def test_sparse_input_gives_the_same_model(blobs):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = blobs
    X = X * (X > 0.5)
    dense = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    sparse = MLPClassifier(max_iter=20, random_state=0).fit(scipy_sparse.csr_matrix(X), y)
    np.testing.assert_allclose(
        dense.predict_proba(X), sparse.predict_proba(scipy_sparse.csc_matrix(X)), rtol=1e-6
    )


# --- drop-in: swap the import in an existing scikit-learn script ---------------------------------

SCRIPT = """
import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
{import_line}

X, y = load_iris(return_X_y=True)
pipe = Pipeline([("scale", StandardScaler()),
                 ("mlp", MLPClassifier(max_iter=300, random_state=0))])
scores = cross_val_score(pipe, X, y, cv=3)
search = GridSearchCV(pipe, {{"mlp__hidden_layer_sizes": [(5,), (20,)],
                              "mlp__alpha": [1e-4, 1e-2]}}, cv=3)
search.fit(X, y)
print(round(scores.mean(), 2), search.best_params_["mlp__hidden_layer_sizes"],
      round(search.score(X, y), 2), type(search.best_estimator_[-1]).__module__)
"""


def test_swapping_the_import_in_a_scikit_learn_script():
    results = {}
    for key, line in (
        ("sklearn", "from sklearn.neural_network import MLPClassifier"),
        ("glassnet", "from glassnet import MLPClassifier"),
    ):
        code = textwrap.dedent(SCRIPT.format(import_line=line))
        run = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        results[key] = run.stdout.split()
    assert results["glassnet"][-1].startswith("glassnet.sklearn")
    assert abs(float(results["glassnet"][0]) - float(results["sklearn"][0])) <= 0.05
    assert float(results["glassnet"][-2]) > 0.9


# --- the extras do something ---------------------------------------------------------------------


def test_dropout_changes_training_but_not_predict(blobs):
    X, y = blobs
    plain = MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0).fit(X, y)
    dropped = MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0, dropout=0.5).fit(
        X, y
    )
    assert plain.loss_curve_ != dropped.loss_curve_
    assert any(isinstance(layer, gn.Dropout) for layer in dropped.network_.layers)
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    # predict uses the weights as they are: no mask, no rescaling
    hidden = np.maximum(X @ dropped.coefs_[0] + dropped.intercepts_[0], 0)
    z = hidden @ dropped.coefs_[1] + dropped.intercepts_[1]
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(dropped.predict_proba(X), expected, rtol=1e-10)


def test_dropout_per_layer():
    X, y = make_classification(n_samples=100, random_state=0)
    model = MLPClassifier(
        hidden_layer_sizes=(8, 8), dropout=[0.2, 0.0], max_iter=2, random_state=0
    ).fit(X, y)
    rates = [layer.rate for layer in model.network_.layers if isinstance(layer, gn.Dropout)]
    assert rates == [0.2]


def test_class_weight_shifts_decisions_on_imbalanced_data():
    X, y = make_classification(
        n_samples=600, n_features=5, weights=[0.93, 0.07], class_sep=0.4, random_state=0
    )
    plain = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0).fit(X, y)
    balanced = MLPClassifier(
        hidden_layer_sizes=(16,), max_iter=200, random_state=0, class_weight="balanced"
    ).fit(X, y)
    heavy = MLPClassifier(
        hidden_layer_sizes=(16,), max_iter=200, random_state=0, class_weight={0: 1.0, 1: 30.0}
    ).fit(X, y)
    minority = [np.mean(m.predict(X) == 1) for m in (plain, balanced, heavy)]
    assert minority[1] > 2 * minority[0]
    assert minority[2] > minority[0]
    recall = [np.mean(m.predict(X[y == 1]) == 1) for m in (plain, balanced)]
    assert recall[1] > recall[0]


def test_per_layer_activations_are_the_ones_in_the_network(blobs):
    X, y = blobs
    model = MLPClassifier(
        hidden_layer_sizes=(6, 5, 4),
        activation=["tanh", "leaky_relu", "logistic"],
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    assert [layer.activation for layer in model.network_.layers] == [
        "tanh",
        "leaky_relu",
        "sigmoid",
        "softmax",
    ]
    with pytest.raises(ValueError, match="one of"):
        MLPClassifier(hidden_layer_sizes=(6, 5), activation=["tanh"]).fit(X, y)


def test_a_registered_custom_activation_can_be_named(blobs):
    def softsign(z, out=None):
        return np.divide(z, 1 + np.abs(z), out=out)

    def softsign_backward(a, da, out=None):
        return np.multiply(da, (1 - np.abs(a)) ** 2, out=out)

    gn.activations.register(gn.activations.Activation("softsign", softsign, softsign_backward))
    X, y = blobs
    model = MLPClassifier(
        hidden_layer_sizes=(8,), activation="softsign", max_iter=200, random_state=0
    ).fit(X, y)
    assert model.network_.layers[0].activation == "softsign"
    assert model.score(X, y) > 0.7  # about as well as tanh (0.8); chance is 1/3
    with pytest.raises(ValueError, match="'activation' parameter"):
        MLPClassifier(activation="nonesuch").fit(X, y)


def test_validation_loss_curve_has_one_entry_per_epoch(blobs):
    X, y = blobs
    model = MLPClassifier(early_stopping=True, max_iter=40, random_state=0).fit(X, y)
    assert len(model.validation_loss_curve_) == model.n_iter_ == len(model.loss_curve_)
    assert len(model.validation_scores_) == model.n_iter_
    assert all(np.isfinite(model.validation_loss_curve_))
    assert MLPClassifier(max_iter=2).fit(X, y).validation_loss_curve_ is None


def test_early_stopping_on_the_validation_loss(blobs):
    X, y = blobs
    model = MLPClassifier(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        early_stopping_metric="loss",
        n_iter_no_change=5,
        max_iter=500,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    curve = model.validation_loss_curve_
    assert model.n_iter_ < 500
    best = int(np.argmin(curve))
    assert model.n_iter_ - 1 - best >= 5  # stopped after n_iter_no_change bad epochs
    assert model.best_validation_score_ == model.validation_scores_[best]


def test_the_regressor_tracks_its_validation_loss():
    X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    model = MLPRegressor(early_stopping=True, max_iter=30, random_state=0).fit(X, y / 100)
    assert len(model.validation_loss_curve_) == model.n_iter_


def test_verbose_shows_a_progress_bar(blobs, capsys):
    X, y = blobs
    MLPClassifier(max_iter=5, verbose=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "5/5" in err and "loss=" in err


def test_verbose_two_prints_scikit_learns_lines(blobs, capsys):
    X, y = blobs
    MLPClassifier(max_iter=3, verbose=2, random_state=0).fit(X, y)
    assert "Iteration 3, loss = " in capsys.readouterr().out


def test_the_network_underneath_is_inspectable(blobs):
    X, y = blobs
    model = MLPClassifier(hidden_layer_sizes=(7,), max_iter=5, random_state=0).fit(X, y)
    net = model.network_
    assert isinstance(net, gn.Network)
    assert np.shares_memory(model.coefs_[0], net.parameters)
    hidden, out = net.activations(X)
    np.testing.assert_allclose(out, model.predict_proba(X))
    model.coefs_ = [np.zeros_like(c) for c in model.coefs_]
    assert not net.layers[0].weights.any()


# --- saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPClassifier(
            hidden_layer_sizes=(5,),
            max_iter=20,
            random_state=0,
            dropout=0.1,
            class_weight={0: 2.0, 1: 1.0, 2: 1.0},
        ),
        lambda: MLPRegressor(
            hidden_layer_sizes=(5,),
            activation=["tanh"],
            max_iter=20,
            random_state=0,
            early_stopping=True,
        ),
    ],
)
def test_save_and_load_round_trip(blobs, tmp_path, make):
    X, y = blobs
    model = make().fit(X, y)
    path = tmp_path / "model.glassnet"
    model.save(path)
    loaded = gn.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.loss_curve_ == model.loss_curve_
    assert loaded.n_iter_ == model.n_iter_ and loaded.t_ == model.t_
    if hasattr(model, "classes_"):
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert gn.modelfile.read_metadata(path)["kind"] == type(model).__name__


def test_string_labels_and_multilabel_survive_saving(tmp_path, blobs):
    X, y = blobs
    labels = np.array(["ant", "bee", "cat"])[y]
    model = MLPClassifier(max_iter=10, random_state=0).fit(X, labels)
    model.save(tmp_path / "a.glassnet")
    np.testing.assert_array_equal(gn.load(tmp_path / "a.glassnet").predict(X), model.predict(X))
    Y = np.c_[y == 0, y == 1]
    multi = MLPClassifier(max_iter=10, random_state=0).fit(X, Y)
    multi.save(tmp_path / "m.glassnet")
    np.testing.assert_array_equal(gn.load(tmp_path / "m.glassnet").predict(X), multi.predict(X))


def test_pickling_still_works(blobs):
    X, y = blobs
    model = MLPClassifier(max_iter=10, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert np.shares_memory(again.coefs_[0], again.network_.parameters)
    again.partial_fit(X, y)  # and it keeps training


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="adam", early_stopping=True),
        dict(solver="sgd", early_stopping=True),
        dict(solver="sgd", momentum=0.0),
        dict(solver="lbfgs"),
    ],
)
def test_a_pickle_is_no_larger_than_scikit_learns(blobs, params):
    X, y = blobs
    shared = dict(hidden_layer_sizes=(64, 32), max_iter=3, random_state=0, **params)
    ours = MLPClassifier(**shared).fit(X, y)
    theirs = sk.MLPClassifier(**shared).fit(X, y)
    assert len(pickle.dumps(ours)) <= len(pickle.dumps(theirs))


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd", early_stopping=True),
        dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate="adaptive"),
        dict(solver="lbfgs"),
    ],
)
def test_the_state_is_plain_values_and_continues_bit_for_bit(blobs, params):
    """pickle and skops hold no glassnet object but the estimator: a copy made either
    way predicts, and keeps training (warm start), exactly as the original does."""
    skops_io = pytest.importorskip("skops.io")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from glassnet.sklearn import SKOPS_TRUSTED_TYPES

    X, y = blobs
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), est.set_params(**params)).fit(X, y)
        blob = skops_io.dumps(pipe)
        assert skops_io.get_untrusted_types(data=blob) == [SKOPS_TRUSTED_TYPES[0]]
        copies = [
            skops_io.loads(blob, trusted=SKOPS_TRUSTED_TYPES),
            pickle.loads(pickle.dumps(pipe)),
        ]
        for copy in copies:
            np.testing.assert_array_equal(copy.predict_proba(X), pipe.predict_proba(X))
        for model in [pipe, *copies]:
            model.fit(X, y)
    for copy in copies:
        np.testing.assert_array_equal(copy[-1].coefs_[0], pipe[-1].coefs_[0])
        assert copy[-1].loss_curve_ == pipe[-1].loss_curve_
    state = pipe[-1].__getstate__()
    assert isinstance(state["network_"], dict)
    assert "network_" in vars(pipe[-1]) and isinstance(pipe[-1].network_, gn.Network)


def test_the_command_line_predicts_with_an_estimator_file(tmp_path, blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    model = MLPClassifier(max_iter=10, random_state=0).fit(frame, y)
    model.save(tmp_path / "e.glassnet")
    frame.to_csv(tmp_path / "x.csv", index=False)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "glassnet.cli",
            "predict",
            str(tmp_path / "e.glassnet"),
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert [int(v) for v in run.stdout.split()[1:]] == list(model.predict(frame))


# --- without scikit-learn ------------------------------------------------------------------------


def test_glassnet_imports_without_scikit_learn_and_names_the_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        import glassnet
        net = glassnet.Network([glassnet.Dense(1)], input_size=2)
        try:
            glassnet.MLPClassifier
        except ImportError as exc:
            print(exc)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "pip install 'glassnet[sklearn]'" in run.stdout


def test_bad_parameters_are_reported_at_fit(blobs):
    X, y = blobs
    model = MLPClassifier(solver="newton")
    with pytest.raises(ValueError, match="'solver' parameter"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="'dropout'"):
        MLPClassifier(dropout=1.5).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MLPClassifier(max_iter=1000, tol=1e-1).fit(X, y)  # converges: no warning


@pytest.mark.parametrize("name", ["tol", "power_t", "alpha"])
@pytest.mark.parametrize("value", [np.nan, -1.0])
def test_nan_and_negative_parameters_get_scikit_learns_message(blobs, name, value):
    X, y = blobs
    for Estimator, theirs in ((MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)):
        target = y if Estimator is MLPClassifier else y.astype(float)
        with pytest.raises(ValueError) as expected:
            theirs(**{name: value}).fit(X, target)
        with pytest.raises(ValueError) as got:
            Estimator(**{name: value}).fit(X, target)
        assert str(got.value) == str(expected.value)


def test_bad_class_weight_and_sample_weight_name_the_problem(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"class_weight gives class 0 the weight -1"):
        MLPClassifier(class_weight={0: -1}, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match=r"sample_weight must hold numbers.*'a'"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=["a"] * len(y))


def test_divergence_is_scikit_learns_value_error():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(10)
    with pytest.raises(ValueError, match="^Solver produced non-finite parameter weights") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor(max_iter=5).fit(X, y)
    assert isinstance(info.value, gn.NonFiniteLossError)  # still glassnet's error too


def test_early_stopping_survives_divergence_and_restores_the_best_weights():
    X, y = load_iris(return_X_y=True)
    model = MLPRegressor(
        activation="identity",
        solver="sgd",
        learning_rate_init=1.0,
        max_iter=20,
        early_stopping=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    assert model.n_iter_ == 20  # it went on
    assert np.isnan(model.validation_scores_[-1])
    assert np.isfinite(model.network_.parameters).all()
    best = model.best_validation_score_
    assert best == np.nanmax(model.validation_scores_) and np.isfinite(best)


def test_starting_weights_can_be_assigned_before_the_first_fit():
    X = np.array([[0.6, 0.8, 0.7]])
    model = MLPClassifier(
        hidden_layer_sizes=2,
        activation="logistic",
        solver="sgd",
        learning_rate_init=0.1,
        alpha=0.0,
        momentum=0.0,
        max_iter=1,
    )
    W0, W1 = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])
    model.coefs_ = [W0, W1]
    model.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    assert model.coefs_[1] is W1  # kept as given until a fit takes them
    model.partial_fit(X, [0], classes=[0, 1])
    # One step by hand: h = sigmoid(x W0 + b0), p = sigmoid(h W1 + b1), and for the
    # log loss dL/dz = p - y, so W1 moves by -0.1 * h (p - 0).
    h = 1 / (1 + np.exp(-(X @ W0 + 0.1)))
    p = 1 / (1 + np.exp(-(h @ W1 + 1.0)))
    np.testing.assert_allclose(model.coefs_[1], W1 - 0.1 * h.T * p, rtol=1e-12)
    model.coefs_[1] = np.zeros((2, 1))  # item assignment reaches the network
    np.testing.assert_array_equal(model.network_.layers[-1].weights, 0.0)
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(2, 2\)"):
        fresh = MLPClassifier(hidden_layer_sizes=2, warm_start=True)
        fresh.coefs_, fresh.intercepts_ = [np.zeros((2, 2)), W1], [np.zeros(2), np.zeros(1)]
        fresh.fit(np.zeros((4, 3)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    ("ours", "theirs"), [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)]
)
@pytest.mark.parametrize("sizes", [(7, 4), ()])  # () : no hidden layer at all
def test_initial_weights_are_scikit_learns_draw_for_draw(ours, theirs, blobs, sizes):
    X, y = blobs
    kwargs = dict(hidden_layer_sizes=sizes, solver="lbfgs", max_iter=1, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine, ref = ours(**kwargs).fit(X, y), theirs(**kwargs).fit(X, y)
    for a, b in zip(mine.coefs_ + mine.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_the_early_stopping_split_is_scikit_learns(blobs):
    X, y = blobs
    # Full-batch SGD does not shuffle, so both train alike, on the same split.
    kwargs = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        batch_size=len(X),
        early_stopping=True,
        max_iter=5,
        random_state=7,
        n_iter_no_change=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine, ref = MLPRegressor(**kwargs).fit(X, y), sk.MLPRegressor(**kwargs).fit(X, y)
    np.testing.assert_allclose(mine.validation_scores_, ref.validation_scores_, rtol=1e-9)
    np.testing.assert_allclose(mine.loss_curve_, ref.loss_curve_, rtol=1e-9)


def test_html_repr_has_a_tooltip_for_every_parameter_and_a_documentation_link():
    for model in (MLPClassifier(), MLPRegressor()):
        html = model._repr_html_()
        link = model._get_doc_link()
        assert link.startswith("https://") and type(model).__name__ in link
        assert f'href="{link}"' in html
        for name in model.get_params():
            assert f"--doc-link-{name};" in html, name  # the tooltip's anchor
        assert html.count('class="param-doc-description"') == len(model.get_params())


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_convergence_warning_points_at_the_users_line(solver):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    for fit in (
        lambda: MLPClassifier(solver=solver, max_iter=2).fit(X, y),
        lambda: make_pipeline(StandardScaler(), MLPClassifier(solver=solver, max_iter=2)).fit(X, y),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        (warning,) = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        assert warning.filename == __file__
        assert "{" not in str(warning.message)


# --- random_state out of range: scikit-learn's message, naming the option --------------------


@pytest.mark.parametrize("seed", [-1, 2**32, -(2**40)])
@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_a_random_state_out_of_range_is_named_as_scikit_learn_names_it(blobs, make, seed):
    X, y = blobs
    model = make(hidden_layer_sizes=(3,), max_iter=2, random_state=seed)
    expected = (
        f"The 'random_state' parameter of {make.__name__} must be an int in the range "
        f"\\[0, 4294967295\\], .* Got {seed} instead."
    )
    with pytest.raises(ValueError, match=expected):
        model.fit(X, y)
    with pytest.raises(ValueError, match=expected):
        model.partial_fit(X, y, **({"classes": np.unique(y)} if make is MLPClassifier else {}))
    make(hidden_layer_sizes=(3,), max_iter=2, random_state=2**32 - 1).fit(X, y)  # the largest


# --- a model file's estimator: every attribute checked against the network ---------------------


@pytest.fixture(scope="module")
def saved(blobs):
    X, y = blobs
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(frame, y)
    return gn.dumps(model)


def _edited(blob, change):
    from modelfile_tools import edit_document

    return edit_document(blob, lambda d: change(d["payload"]))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: p["fitted"].update(classes_=[0, 1]),
            r"classes_ has 2 labels, but the network has 3 outputs",
        ),
        (
            lambda p: p["fitted"].update(classes_=[0, 1, 2, 3]),
            r"classes_ has 4 labels, but the network has 3 outputs",
        ),
        (lambda p: p["fitted"].update(classes_=[0, 1, 1]), "classes_ repeats a label"),
        (lambda p: p["fitted"].update(classes_=[0, "a", 2]), "classes_ mixes kinds of labels"),
        (lambda p: p["fitted"].update(classes_=[0, [1], 2]), r"classes_\[1\] must be a string"),
        (lambda p: p["fitted"].update(classes_="012"), "classes_ must be a list of strings"),
        (lambda p: p["fitted"].update(y_type_="binary"), "a binary target has one output"),
        (lambda p: p["fitted"].update(y_type_="continuous"), "y_type_ is 'continuous'"),
        (lambda p: p["fitted"].pop("classes_"), "fitted.classes_ is missing"),
        (
            lambda p: p["fitted"].update(feature_names_in_=["f0", "f1"]),
            "feature_names_in_ has 2 names, but the network takes 6 features",
        ),
        (lambda p: p["fitted"].update(feature_names_in_=[1] * 6), r"feature_names_in_\[0\] must"),
        (lambda p: p["fitted"].update(n_features_in_=5), "n_features_in_ is 5, but the network's"),
        (lambda p: p["fitted"].update(n_layers_=4), "n_layers_ is 4, but the network's is 3"),
        (lambda p: p["fitted"].update(out_activation_="logistic"), "out_activation_ is 'logist"),
        (lambda p: p["fitted"].update(loss_curve_=[0.5, "x"]), r"loss_curve_\[1\] must be a num"),
        (lambda p: p["fitted"].update(n_iter_="3"), "n_iter_ must be an integer or null"),
        (lambda p: p["fitted"].pop("n_outputs_"), "fitted.n_outputs_ is missing"),
        (lambda p: p.update(params=[]), "payload.params must be a JSON object, not \\[\\]"),
        (lambda p: p.update(fitted=None), "payload.fitted must be a JSON object"),
        (lambda p: p.pop("params"), "payload.params is missing"),
        (lambda p: p["params"].update(magic=1), "payload.params has an unknown parameter 'magic'"),
        (lambda p: p["params"].update(solver="magic"), "payload.params: The 'solver' parameter"),
        (lambda p: p["params"].update(random_state=-1), "The 'random_state' parameter"),
        (
            lambda p: p["params"].update(class_weight=[[0, 1.0, 2]]),
            "class_weight must be a list of \\[label, weight\\] pairs",
        ),
    ],
)
def test_a_tampered_estimator_file_is_refused_naming_the_field(saved, change, expected):
    with pytest.raises(gn.ModelFileError, match=f"invalid MLPClassifier metadata .*{expected}"):
        gn.load(_edited(saved, change))


@pytest.mark.parametrize(
    ("labels", "change", "expected"),
    [
        # a binary target: one sigmoid output for one or two labels
        (lambda y: y > 0, lambda p: p["fitted"].update(classes_=[]), "classes_ has 0 labels"),
        (
            lambda y: y > 0,
            lambda p: p["fitted"].update(classes_=[False, True, 2]),
            "classes_ has 3 labels, but the network has 1 output",
        ),
        # a label matrix: its classes are its columns, 0 to n - 1
        (
            lambda y: np.c_[y == 0, y == 1],
            lambda p: p["fitted"].update(classes_=[5, 7]),
            "classes_ of a label matrix must be 0 to 1",
        ),
    ],
)
def test_the_classes_of_binary_and_label_matrix_targets_are_checked(
    blobs, labels, change, expected
):
    X, y = blobs
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, labels(y))
    gn.load(gn.dumps(model))  # as saved, it loads
    with pytest.raises(gn.ModelFileError, match=expected):
        gn.load(_edited(gn.dumps(model), change))


def test_an_infinite_n_iter_no_change_survives_a_model_file(blobs):
    X, y = blobs
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, n_iter_no_change=np.inf).fit(X, y)
    loaded = gn.load(gn.dumps(model))
    assert loaded.n_iter_no_change == np.inf
    assert loaded.get_params() == model.get_params()


def test_a_one_class_classifier_round_trips(blobs):
    X, _ = blobs
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    model.fit(X, np.full(len(X), "only"))
    loaded = gn.load(gn.dumps(model))
    assert list(loaded.classes_) == ["only"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
