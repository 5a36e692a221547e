"""Schedules that change within an epoch: CosLog's rate step by step, and the fading of
dropout and weight decay (flat_cos), as the training loop applies them."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import schedules
from glassnet.training import fit_stream


class RecordingAdam(gn.Adam):
    """Adam that notes, at every step, its rate, its weight decay and the strength of
    the network's Dropout layers."""

    def __init__(self, *args, dropouts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.dropouts = list(dropouts)
        self.seen = []

    def step(self, params, grads):
        strengths = [layer.strength for layer in self.dropouts]
        self.seen.append((self.lr, self.weight_decay, strengths))
        super().step(params, grads)


def regression(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -0.5, 2.0] + 0.1 * rng.normal(size=n)


def dropout_net(seed=0):
    layers = [gn.Dense(8, "relu"), gn.Dropout(0.3), gn.Dense(8, "relu"), gn.Dropout(0.1)]
    return gn.Network([*layers, gn.Dense(1)], input_size=3, seed=seed)


def test_coslog_rate_at_runs_its_cycles_on_a_log_scale():
    s = schedules.CosLog(3)
    s.start(0.5, 14)
    # cycle j ends where log2(1 + 7 t) = j, t the share done: there the rate is 0,
    # and in each cycle's middle it is the base rate
    for j in range(1, 4):
        ends = (2.0**j - 1.0) / 7.0 * 14
        middle = (2.0 ** (j - 0.5) - 1.0) / 7.0 * 14
        assert s.rate_at(ends) == pytest.approx(0.0, abs=1e-12)
        assert s.rate_at(middle) == pytest.approx(0.5, rel=1e-12)
    # rate (History's record of an epoch) is the rate in the epoch's middle
    history = gn.History()
    for epoch in range(14):
        assert s.rate(epoch, history) == s.rate_at(epoch + 0.5)
    assert s.rate(20, history) == s.rate_at(13.5)  # asked after the last epoch
    assert s.per_step and not s.fades and not s.constant


def test_flat_cos_is_flat_for_half_then_a_half_cosine_to_zero():
    shares = np.linspace(0.0, 1.0, 101)
    values = [schedules.flat_cos(t) for t in shares]
    assert all(v == 1.0 for t, v in zip(shares, values) if t <= 0.5)
    assert schedules.flat_cos(0.75) == pytest.approx(0.5, rel=1e-12)
    assert schedules.flat_cos(1.0) == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(values) <= 0.0)
    faded = schedules.CosLog(4, fade=True)
    faded.start(1.0, 10)
    assert faded.fades and faded.strength_at(7.5) == schedules.flat_cos(0.75)
    assert schedules.CosLog(4).strength_at(7.5) == 1.0
    assert repr(faded) == "CosLog(cycles=4, fade=True)"


@pytest.mark.parametrize("batch_size", [7, 50])
def test_a_per_step_schedule_sets_the_rate_before_every_step(batch_size):
    X, y = regression()
    net = dropout_net()
    opt = RecordingAdam(0.01)
    history = net.fit(
        X, y, optimizer=opt, epochs=3, batch_size=batch_size, schedule=schedules.CosLog(2)
    )
    steps = -(-len(X) // batch_size)
    expected = schedules.CosLog(2)
    expected.start(0.01, 3)
    rates = [rate for rate, _, _ in opt.seen]
    assert len(rates) == 3 * steps
    for epoch in range(3):
        for i in range(steps):
            assert rates[epoch * steps + i] == expected.rate_at(epoch + (i + 0.5) / steps)
    # History keeps one rate an epoch, the epoch's middle
    assert history.lr == [expected.rate_at(epoch + 0.5) for epoch in range(3)]


def test_a_fading_schedule_fades_dropout_and_weight_decay_and_puts_them_back():
    X, y = regression(80)
    net = dropout_net()
    dropouts = [layer for layer in net.layers if isinstance(layer, gn.Dropout)]
    opt = RecordingAdam(0.01, weight_decay=0.05, dropouts=dropouts)
    schedule = schedules.CosLog(4, fade=True)
    net.fit(X, y, optimizer=opt, epochs=4, batch_size=10, schedule=schedule)
    steps = 8
    for n, (rate, decay, strengths) in enumerate(opt.seen):
        progress = n // steps + (n % steps + 0.5) / steps
        factor = schedules.flat_cos(progress / 4)
        assert rate == schedule.rate_at(progress)
        assert decay == 0.05 * factor
        assert strengths == [factor, factor]
    assert opt.seen[0][1] == 0.05 and opt.seen[-1][1] < 0.05 * 0.01  # it did fade
    # after training: the rates and the decay as they were set
    assert [layer.strength for layer in dropouts] == [1.0, 1.0]
    assert [layer.rate for layer in dropouts] == [0.3, 0.1]
    assert opt.weight_decay == 0.05
    assert "strength" not in net.layers[1].config()


def test_fading_is_put_back_when_training_is_interrupted():
    X, y = regression(80)
    net = dropout_net()
    dropouts = [layer for layer in net.layers if isinstance(layer, gn.Dropout)]

    class Interrupt(gn.Callback):
        def on_epoch_end(self, net, history):
            if history.epochs == 3:
                assert dropouts[0].strength < 1.0  # in the fading half
                raise KeyboardInterrupt

    opt = gn.Adam(0.01, weight_decay=0.05)
    with pytest.raises(KeyboardInterrupt):
        net.fit(
            X,
            y,
            optimizer=opt,
            epochs=4,
            batch_size=10,
            callbacks=[Interrupt()],
            schedule=schedules.CosLog(4, fade=True),
        )
    assert [layer.strength for layer in dropouts] == [1.0, 1.0]
    assert opt.weight_decay == 0.05


def test_a_dropout_layer_at_zero_strength_drops_nothing():
    layer = gn.Dropout(0.5)
    gn.Network([layer, gn.Dense(1)], input_size=4, seed=0)  # gives the layer its generator
    x = np.ones((3, 4))
    assert (layer.forward(x, training=True) != 1.0).any()
    layer.strength = 0.0
    np.testing.assert_array_equal(layer.forward(x, training=True), x)
    layer.strength = 0.5  # drops at 0.25, scaling the rest by 1 / 0.75
    out = layer.forward(np.ones((2000, 4)), training=True)
    kept = out != 0.0
    np.testing.assert_allclose(out[kept], 1.0 / 0.75)
    assert abs(1.0 - kept.mean() - 0.25) < 0.03


def test_a_stream_takes_the_epochs_middle_until_it_knows_its_steps():
    X, y = regression(60)
    opt = RecordingAdam(0.01)
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0)

    def blocks():
        return [(X[:25], y[:25]), (X[25:], y[25:])]

    fit_stream(net, blocks, optimizer=opt, epochs=3, batch_size=20, schedule=schedules.CosLog(2))
    expected = schedules.CosLog(2)
    expected.start(0.01, 3)
    rates = [rate for rate, _, _ in opt.seen]
    assert rates[:3] == [expected.rate_at(0.5)] * 3  # the first epoch: 3 steps, unknown yet
    for epoch in (1, 2):
        for i in range(3):
            assert rates[epoch * 3 + i] == expected.rate_at(epoch + (i + 0.5) / 3)


def test_a_per_step_schedule_keeps_the_same_bits_in_a_repeat():
    X, y = regression()
    runs = []
    for _ in range(2):
        net = dropout_net(seed=3)
        net.fit(
            X,
            y,
            optimizer=gn.Adam(0.02, weight_decay=0.01),
            epochs=5,
            batch_size=8,
            schedule=schedules.CosLog(4, fade=True),
        )
        runs.append(net.parameters.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert math.isfinite(float(runs[0].sum()))


def test_a_clusters_step_task_drops_at_the_strength_it_is_given():
    """The task a cluster's worker runs for one step (dask.shards.batch_loss_and_grad)
    sets its copy's Dropout layers to the fading schedule's strength before the pass."""
    pytest.importorskip("distributed")
    from types import SimpleNamespace

    from glassnet.dask import shards

    X, y = regression(40)
    net = dropout_net()
    net.build(3)
    loss = gn.losses.get("mse")
    part = shards.Part(X, y.reshape(-1, 1), None, loss.denominator(40, 1, None))
    shard = shards.Shard(SimpleNamespace(net=net, loss=loss), 0, part)
    params = net.parameters.copy()
    at_zero = shards.batch_loss_and_grad(shard, params, 0, 0, 1, False, 0.0)
    assert [layer.strength for layer in shard.net.layers[1:4:2]] == [0.0, 0.0]
    # no dropout at strength 0: the loss of the network as it predicts
    expected = net.loss_of(X, y.reshape(-1, 1), None, loss)
    assert at_zero[0] / part.d == pytest.approx(expected, rel=1e-12)
    at_full = shards.batch_loss_and_grad(shard, params, 0, 0, 1, False, 1.0)
    assert [layer.strength for layer in shard.net.layers[1:4:2]] == [1.0, 1.0]
    assert at_full[0] != at_zero[0]  # it dropped
