"""Every bad input raises early, at the boundary, with a message that names the problem."""

import numpy as np
import pytest

import glassnet as gn

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y = np.array([1.0, 1.0, 0.0, 0.0])


def net():
    return gn.Network([gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")], seed=0)


# --- data --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(bad):
    X_bad = X.copy()
    X_bad[2, 1] = bad
    with pytest.raises(ValueError, match=r"X contains (NaN|infinity) at row 2, column 1"):
        net().fit(X_bad, Y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_y(bad):
    y_bad = Y.copy()
    y_bad[3] = bad
    with pytest.raises(ValueError, match=r"y contains (NaN|infinity) at row 3"):
        net().fit(X, y_bad)


def test_non_finite_X_at_predict():
    model = net()
    model.fit(X, Y)
    with pytest.raises(ValueError, match="X contains NaN"):
        model.predict([[np.nan, 0.0]])


def test_float64_values_too_large_for_float32_are_caught():
    model = gn.Network([gn.Dense(1)], input_size=2).astype(np.float32)
    with pytest.raises(ValueError, match="infinity"):
        model.predict(np.array([[1e300, 0.0]]))


def test_rows_differ():
    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        net().fit(X, Y[:3])


def test_empty_data():
    with pytest.raises(ValueError, match="X is empty"):
        net().fit(np.empty((0, 2)), np.empty(0))


def test_no_feature_columns():
    with pytest.raises(ValueError, match="no columns"):
        net().fit(np.empty((4, 0)), Y)


@pytest.mark.parametrize(
    ("bad", "error", "pattern"),
    [
        ([["a", "b"], ["c", "d"]], TypeError, "X must be numeric, but it holds text"),
        (np.array([[1, "x"], [2, 3]], dtype=object), TypeError, "X must be numeric.*'x'"),
        (np.array([[1 + 2j, 0], [1, 1]]), TypeError, "complex"),
        ([[1, 2], [3]], ValueError, "not a rectangular array"),
    ],
)
def test_non_numeric_X(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        net().fit(bad, [1, 0])


def test_non_numeric_y():
    with pytest.raises(TypeError, match="y must be numeric"):
        net().fit(X, ["yes", "yes", "no", "no"])


def test_one_dimensional_X_is_explained():
    with pytest.raises(ValueError, match=r"X must be 2-D.*reshape\(-1, 1\)"):
        net().fit(np.array([1.0, 2.0, 3.0, 4.0]), Y)


def test_wrong_number_of_features_at_predict():
    model = net()
    model.fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but the network expects 2"):
        model.predict(np.ones((1, 3)))


def test_wrong_number_of_features_at_fit_on_a_built_network():
    model = gn.Network([gn.Dense(1)], input_size=5)
    with pytest.raises(ValueError, match="X has 2 features, but the network expects 5"):
        model.fit(X, Y)


def test_target_width_does_not_match_the_output_layer():
    with pytest.raises(ValueError, match="y has 2 columns, but the output layer has 1 unit"):
        net().fit(X, np.ones((4, 2)))


def test_predict_before_training():
    with pytest.raises(RuntimeError, match="before the network is built"):
        net().predict(X)


# --- names -------------------------------------------------------------------------


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown activation 'rleu' \(did you mean 'relu'\?\)"):
        gn.Dense(3, "rleu")
    with pytest.raises(ValueError, match="valid names are: .*sigmoid.*tanh"):
        gn.Dense(3, "gelu")


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'mes'.*valid names are: .*mse"):
        net().fit(X, Y, loss="mes")


def test_unknown_optimizer_lists_the_valid_names():
    with pytest.raises(
        ValueError, match="unknown optimizer .adma.*valid names are: adam, lbfgs, sgd"
    ):
        net().fit(X, Y, optimizer="adma")


def test_unknown_initialiser_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown initialiser 'hee'.*he_normal"):
        gn.Dense(3, init="hee")


def test_loss_needs_its_output_activation():
    model = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "relu")])
    with pytest.raises(ValueError, match="loss 'bce' needs a sigmoid output layer.*'relu'"):
        model.fit(X, Y, loss="bce")


# --- sizes and rates -------------------------------------------------------------------


@pytest.mark.parametrize("units", [0, -3])
def test_units_must_be_positive(units):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        gn.Dense(units)


@pytest.mark.parametrize("units", [2.5, "3", None, True])
def test_units_must_be_an_integer(units):
    with pytest.raises(TypeError, match="units must be a positive integer"):
        gn.Dense(units)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
@pytest.mark.parametrize("optimizer", [gn.SGD, gn.Adam])
def test_learning_rate_must_be_positive(optimizer, lr):
    with pytest.raises(ValueError, match="learning rate must be"):
        optimizer(lr=lr)


def test_learning_rate_must_be_a_number():
    with pytest.raises(TypeError, match="learning rate must be a number"):
        gn.SGD(lr="fast")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"verbose": 3}, "verbose must be 0, 1 or 2"),
        ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\)"),
        ({"l2": -1.0}, "l2 must be a non-negative number"),
        ({"sample_weight": [1, 1, -1, 1]}, "sample_weight must be non-negative"),
        ({"sample_weight": [1, 1]}, "X has 4 rows but sample_weight has 2"),
    ],
)
def test_fit_arguments(kwargs, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        net().fit(X, Y, **kwargs)


def test_softmax_over_one_unit_is_refused():
    with pytest.raises(ValueError, match="softmax over 1 unit"):
        gn.Dense(1, "softmax")


def test_network_needs_layers():
    with pytest.raises(ValueError, match="at least one layer"):
        gn.Network([])
    with pytest.raises(TypeError, match="list of layers"):
        gn.Network(gn.Dense(3))
    with pytest.raises(TypeError, match="layer 1 is a int"):
        gn.Network([gn.Dense(3), 4])


def test_targets_outside_the_loss_range():
    with pytest.raises(ValueError, match=r"bce targets must lie in \[0, 1\]"):
        net().fit(X, [0, 1, 2, 0], loss="bce")
    classifier = gn.Network([gn.Dense(3, "softmax")])
    with pytest.raises(ValueError, match="integer class labels 0..2"):
        classifier.fit(X, [0, 1, 3, 0], loss="cross_entropy")


def test_weight_assignment_checks_shape_and_values():
    model = gn.Network([gn.Dense(3), gn.Dense(1, bias=False)], input_size=2)
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 3\), got \(3, 2\)"):
        model.layers[0].weights = np.zeros((3, 2))
    with pytest.raises(ValueError, match="must be finite"):
        model.layers[0].bias = [0, np.nan, 0]
    with pytest.raises(ValueError, match="bias=False"):
        model.layers[1].bias = [0.0]


# --- non-finite loss during training ------------------------------------------------------


def test_diverging_training_stops_with_a_hint_and_restores_weights():
    rng = np.random.default_rng(0)
    Xb = rng.normal(size=(50, 3)) * 1e3
    yb = Xb @ np.array([1.0, 2.0, 3.0])
    model = gn.Network([gn.Dense(8, "relu"), gn.Dense(1)], seed=0)
    with pytest.raises(gn.NonFiniteLossError) as info:
        model.fit(Xb, yb, optimizer=gn.SGD(1.0), epochs=50, batch_size=10)
    message = str(info.value)
    assert "loss became" in message
    assert "scaling the inputs" in message
    assert "lowering the learning rate (currently 1)" in message
    assert "restored to the last ones that gave a finite loss" in message
    assert np.isfinite(model.parameters).all()
    assert np.isfinite(model.evaluate(Xb, yb))  # the restored weights still work


def test_diverging_full_batch_training_restores_finite_weights():
    X = np.array([[1e3, -2e3], [3e3, 1e3], [-1e3, 5e2]])
    y = np.array([1.0, -2.0, 3.0])
    model = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0)
    with pytest.raises(gn.NonFiniteLossError):
        model.fit(X, y, loss="sse", optimizer=gn.SGD(10.0), epochs=100)
    assert np.isfinite(model.evaluate(X, y, loss="sse"))


def test_non_finite_loss_error_is_a_value_error_too():
    assert issubclass(gn.NonFiniteLossError, ValueError)
    assert issubclass(gn.NonFiniteLossError, FloatingPointError)


def test_a_non_finite_validation_loss_stops_training():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0])
    X_val = np.array([[1e308, 1e308]])  # finite, but the network's output overflows
    model = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=0)
    with pytest.raises(gn.NonFiniteLossError, match="the validation loss became"):
        model.fit(X, y, optimizer=gn.SGD(0.01), epochs=5, validation_data=(X_val, [1.0]))
    assert np.isfinite(model.parameters).all()


def test_a_last_update_that_makes_weights_non_finite_is_caught():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([1e150, -1e150])
    model = gn.Network([gn.Dense(1)], seed=0)
    # One full-batch step: its loss is finite, but the step size 1e300 sends the
    # weights to infinity, and no later loss would notice.
    with pytest.raises(gn.NonFiniteLossError, match="last update made the weights non-finite"):
        model.fit(X, y, loss="sse", optimizer=gn.SGD(1e300), epochs=1)
    assert np.isfinite(model.parameters).all()


def test_divergence_can_be_recorded_instead_of_stopping():
    X = np.array([[1e3, -2e3], [3e3, 1e3], [-1e3, 5e2]])
    y = np.array([1.0, -2.0, 3.0])
    model = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0)
    history = model.fit(
        X, y, loss="sse", optimizer=gn.SGD(10.0), epochs=100, stop_on_nonfinite=False
    )
    assert history.epochs == 100
    assert not np.isfinite(history.loss[-1])


def test_fit_never_modifies_the_callers_arrays():
    Xc = X.copy()
    yc = Y.copy()
    w = np.array([1.0, 2.0, 1.0, 1.0])
    model = net()
    model.fit(Xc, yc, epochs=5, batch_size=2, sample_weight=w, validation_split=0.25)
    np.testing.assert_array_equal(Xc, X)
    np.testing.assert_array_equal(yc, Y)
    np.testing.assert_array_equal(w, [1.0, 2.0, 1.0, 1.0])
    # float64 C-contiguous data is used without a copy, and still left alone
    model.fit(Xc, yc, epochs=3)
    np.testing.assert_array_equal(Xc, X)
