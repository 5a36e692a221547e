"""Optimizers update the flat parameter vector; each step checked by hand."""

import math

import numpy as np
import pytest

import glassnet as gn


def run(opt, params, grads_list, n_weights=None):
    params = np.array(params, dtype=float)
    opt.prepare(params, len(params) if n_weights is None else n_weights)
    for g in grads_list:
        opt.step(params, np.array(g, dtype=float))
    return params


def test_sgd():
    # p - lr * g = [1 - 0.1 * 2, -1 - 0.1 * (-4)] = [0.8, -0.6]
    np.testing.assert_allclose(run(gn.SGD(0.1), [1.0, -1.0], [[2.0, -4.0]]), [0.8, -0.6])


def test_sgd_momentum_two_steps():
    # v1 = -lr g = -0.1;  p1 = 0.9.  v2 = 0.5 * -0.1 - 0.1 = -0.15;  p2 = 0.75.
    assert run(gn.SGD(0.1, momentum=0.5), [1.0], [[1.0], [1.0]])[0] == pytest.approx(0.75)


def test_sgd_nesterov_two_steps():
    # p1 = 1 + (mu v1 - lr g) = 1 + (0.5 * -0.1 - 0.1) = 0.85
    # v2 = -0.15; p2 = 0.85 + (0.5 * -0.15 - 0.1) = 0.675
    opt = gn.SGD(0.1, momentum=0.5, nesterov=True)
    assert run(opt, [1.0], [[1.0], [1.0]])[0] == pytest.approx(0.675)


def test_adam_first_step_moves_by_lr_times_the_sign():
    # After one step m_hat = g and v_hat = g^2, so the move is lr * g / (|g| + eps).
    p = run(gn.Adam(0.01), [0.0, 0.0], [[3.0, -0.5]])
    np.testing.assert_allclose(p, [-0.01, 0.01], rtol=1e-6)


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    g1, g2 = 1.0, 0.5
    m = (1 - b1) * g1
    v = (1 - b2) * g1**2
    p = 0.0 - lr * math.sqrt(1 - b2) / (1 - b1) * m / (math.sqrt(v) + eps)
    m = b1 * m + (1 - b1) * g2
    v = b2 * v + (1 - b2) * g2**2
    p -= lr * math.sqrt(1 - b2**2) / (1 - b1**2) * m / (math.sqrt(v) + eps)
    assert run(gn.Adam(lr), [0.0], [[g1], [g2]])[0] == pytest.approx(p, rel=1e-12)


def test_adam_weight_decay_shrinks_weights_not_biases():
    # Zero gradients: only the decay acts, on the first n_weights entries.
    p = run(gn.Adam(0.1, weight_decay=0.5), [2.0, 2.0, 2.0], [[0.0, 0.0, 0.0]], n_weights=2)
    np.testing.assert_allclose(p, [2.0 * (1 - 0.05), 2.0 * (1 - 0.05), 2.0])


def test_optimizers_keep_float32():
    for opt in (gn.SGD(0.1, momentum=0.9), gn.Adam()):
        p = np.ones(4, dtype=np.float32)
        opt.prepare(p, 4)
        opt.step(p, np.ones(4, dtype=np.float32))
        assert p.dtype == np.float32
        assert all(a.dtype == np.float32 for a in vars(opt).values() if isinstance(a, np.ndarray))


def test_reset_forgets_state():
    opt = gn.Adam()
    run(opt, [0.0], [[1.0]])
    opt.reset()
    assert opt.t == 0
    p = run(opt, [0.0], [[1.0]])  # behaves as a first step again
    assert p[0] == pytest.approx(-1e-3, rel=1e-6)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: gn.SGD(momentum=1.0), "momentum must be below 1"),
        (lambda: gn.SGD(momentum=-0.1), "momentum must be non-negative"),
        (lambda: gn.Adam(beta1=1.0), "beta1 must be below 1"),
        (lambda: gn.Adam(eps=0), "eps must be positive"),
        (lambda: gn.Adam(weight_decay=-1), "weight_decay must be non-negative"),
    ],
)
def test_hyperparameters_are_validated_on_construction(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_get_by_name():
    assert isinstance(gn.optimizers.get("SGD"), gn.SGD)
    assert isinstance(gn.optimizers.get(None), gn.Adam)
    opt = gn.Adam()
    assert gn.optimizers.get(opt) is opt
    with pytest.raises(TypeError):
        gn.optimizers.get(3)


@pytest.mark.parametrize("make", [lambda: gn.Adam(0.01), lambda: gn.SGD(0.01, momentum=0.9)])
def test_pickles_keep_the_state_but_not_the_scratch_buffers(make):
    import pickle

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    model = gn.Network([gn.Dense(50, "tanh"), gn.Dense(1)], seed=0)
    opt = make()
    model.fit(X, y, optimizer=opt, epochs=3, batch_size=8)
    twin_model, twin_opt = pickle.loads(pickle.dumps((model, opt)))
    assert not any(hasattr(twin_opt, name) for name in ("_tmp", "_tmp2"))
    n = model.parameters.size
    assert len(pickle.dumps(opt)) < 8 * n * 2 + 2000  # the state, not the scratch
    model.fit(X, y, optimizer=opt, epochs=2, batch_size=8, shuffle=False)
    twin_model.fit(X, y, optimizer=twin_opt, epochs=2, batch_size=8, shuffle=False)
    np.testing.assert_array_equal(twin_model.parameters, model.parameters)
