"""The fit loop: History semantics, batching, shuffling, validation, callbacks, weights."""

import numpy as np
import pytest

import glassnet as gn


def data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.c_[X @ [1.0, -2.0, 0.5], X[:, 0] * X[:, 1]]
    return X, y


def net(seed=0):
    return gn.Network([gn.Dense(5, "tanh"), gn.Dense(2)], input_size=3, seed=seed)


def manual_epochs(model, X, y, batch_size, epochs, lr):
    """A plain loop through the public forward/backward API; returns per-epoch means."""
    means = []
    for _ in range(epochs):
        losses = []
        for s in range(0, len(X), batch_size):
            xb, yb = X[s : s + batch_size], y[s : s + batch_size]
            a = model.forward(xb, training=True).copy()
            losses.append(np.mean((a - yb) ** 2))  # before the update
            model.backward(2 * (a - yb) / yb.size)
            model.parameters -= lr * model.gradients
        means.append(np.mean(losses))
    return means


@pytest.mark.parametrize("batch_size", [1, 5, 12, None])
def test_history_is_the_mean_of_batch_losses_before_each_update(batch_size):
    X, y = data()
    a, b = net(), net()
    history = a.fit(
        X, y, loss="mse", optimizer=gn.SGD(0.05), epochs=4, batch_size=batch_size, shuffle=False
    )
    expected = manual_epochs(b, X, y, batch_size or len(X), 4, 0.05)
    np.testing.assert_allclose(history.loss, expected, rtol=1e-12)
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-12)
    assert history.epochs == 4


def test_shuffling_is_reproducible_and_follows_the_network_seed():
    X, y = data(40)
    runs = []
    for seed in (3, 3, 4):
        model = net(seed=0)
        model.rng = np.random.default_rng(seed)
        runs.append(model.fit(X, y, epochs=3, batch_size=7).loss)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_shuffled_batches_cover_every_sample_once_per_epoch():
    # With SGD and mse, a per-sample epoch over a shuffled order visits each row once:
    # the loss recorded for a constant-prediction model is the mean over all rows.
    X, y = data(9)
    model = gn.Network([gn.Dense(2, bias=True, init="zeros")], input_size=3)
    history = model.fit(X, y, loss="mse", optimizer=gn.SGD(1e-300), epochs=1, batch_size=1)
    assert history.loss[0] == pytest.approx(np.mean(y**2), rel=1e-12)


def test_validation_data_is_evaluated_after_every_epoch():
    X, y = data(30)
    model = net()
    seen = []

    class Record(gn.Callback):
        def on_epoch_end(self, n, history):
            seen.append(n.evaluate(X[:10], y[:10]))

    history = model.fit(
        X[10:], y[10:], epochs=3, validation_data=(X[:10], y[:10]), callbacks=[Record()]
    )
    assert len(history.val_loss) == 3
    np.testing.assert_allclose(history.val_loss, seen, rtol=1e-12)


def test_validation_split_holds_out_samples():
    X, y = data(20)
    history = net().fit(X, y, epochs=2, validation_split=0.25)
    assert len(history.val_loss) == 2
    assert history.__repr__().startswith("History(2 epochs")


def test_validation_split_needs_samples_on_both_sides():
    X, y = data(3)
    with pytest.raises(ValueError, match="at least one sample on each side"):
        net().fit(X, y, validation_split=0.1)


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = data(30)
    model = net()
    best = {}

    class Spy(gn.Callback):
        def on_epoch_end(self, n, history):
            if history.val_loss[-1] == min(history.val_loss):
                best["params"] = n.parameters.copy()

    stopper = gn.EarlyStopping(patience=3)
    history = model.fit(
        X[10:],
        y[10:],
        optimizer=gn.SGD(0.3),
        epochs=500,
        validation_data=(X[:10], y[:10]),
        callbacks=[Spy(), stopper],
    )
    assert history.stopped_early
    assert history.epochs < 500
    assert history.best_epoch == int(np.argmin(history.val_loss))
    np.testing.assert_array_equal(model.parameters, best["params"])


def test_early_stopping_on_the_training_loss():
    X, y = data()
    history = net().fit(
        X,
        y,
        optimizer=gn.SGD(1e-9),
        epochs=100,
        callbacks=[gn.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3)],
    )
    assert history.epochs == 3


def test_early_stopping_without_validation_data_says_so():
    X, y = data()
    with pytest.raises(ValueError, match="needs validation data"):
        net().fit(X, y, epochs=3, callbacks=[gn.EarlyStopping()])


def test_integer_sample_weights_equal_repeated_rows():
    X, y = data(6)
    w = np.array([1, 2, 1, 3, 1, 1])
    a, b = net(), net()
    ha = a.fit(X, y, loss="mse", optimizer=gn.SGD(0.1), epochs=3, sample_weight=w)
    hb = b.fit(
        np.repeat(X, w, axis=0),
        np.repeat(y, w, axis=0),
        loss="mse",
        optimizer=gn.SGD(0.1),
        epochs=3,
    )
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-10)


def test_l2_adds_the_stated_penalty():
    X, y = data()
    model = net()
    W = model.parameters[: model.n_weights].copy()
    plain = model.evaluate(X, y)
    history = model.fit(X, y, optimizer=gn.SGD(1e-300), epochs=1, l2=0.5)
    assert history.loss[0] == pytest.approx(plain + 0.5 * 0.5 * W @ W / len(X), rel=1e-12)


def test_cross_entropy_takes_labels_or_one_hot_rows():
    X, _ = data(12)
    labels = np.arange(12) % 3
    onehot = np.eye(3)[labels]
    results = []
    for target in (labels, onehot, labels.reshape(-1, 1)):
        model = gn.Network([gn.Dense(4, "relu"), gn.Dense(3, "softmax")], input_size=3, seed=0)
        results.append(model.fit(X, target, loss="cross_entropy", epochs=3).loss)
    assert results[0] == results[1] == results[2]


def test_a_reused_optimizer_continues():
    X, y = data()
    opt = gn.Adam(0.01)
    model = net()
    model.fit(X, y, optimizer=opt, epochs=3)
    assert opt.t == 3
    model.fit(X, y, optimizer=opt, epochs=2)
    assert opt.t == 5


def test_verbose_two_prints_a_line_per_epoch(capsys):
    X, y = data()
    net().fit(X, y, epochs=3, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3  loss ")


def test_verbose_one_shows_a_tqdm_bar_with_the_loss(capsys):
    pytest.importorskip("tqdm")
    X, y = data()
    history = net().fit(X, y, epochs=50, verbose=1)
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one bar, updated in place
    assert "50/50" in err and f"loss={history.loss[-1]:.4g}" in err


def test_verbose_one_without_tqdm_rewrites_one_plain_line(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.std", None)
    X, y = data()
    net().fit(X, y, epochs=50, verbose=1)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "\r" in err and "epoch 50/50" in err


def test_silent_by_default(capsys):
    X, y = data()
    net().fit(X, y, epochs=3)
    assert capsys.readouterr() == ("", "")


def test_training_summary_is_recorded():
    X, y = data()
    model = net()
    model.fit(X, y, loss="huber", epochs=2)
    assert model.training_summary["epochs"] == 2
    assert model.training_summary["loss_name"] == "huber"
    assert model.training_summary["samples"] == 12


def test_history_keeps_the_validation_outputs_its_loss_measured():
    """Callbacks score the validation rows from ``history.val_outputs`` instead of a
    second forward pass: they are the outputs of the weights after the last epoch."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = gn.Network([gn.Dense(5, "relu"), gn.Dense(2, "softmax")], seed=0)
    seen = []

    class Record(gn.training.Callback):
        def on_epoch_end(self, net, history):
            seen.append(history.val_outputs.copy())

    history = net.fit(
        X[:45], y[:45], loss="cross_entropy", optimizer=gn.Adam(0.05), epochs=3,
        batch_size=16, validation_data=(X[45:], y[45:]), callbacks=[Record()],
    )  # fmt: skip
    assert len(seen) == 3 and not np.array_equal(seen[0], seen[-1])
    np.testing.assert_array_equal(history.val_outputs, net.predict(X[45:]))
    assert history.val_loss[-1] == net.evaluate(X[45:], y[45:], loss="cross_entropy")
    assert gn.Network([gn.Dense(2, "softmax")]).fit(X, y, loss="cross_entropy").val_outputs is None
