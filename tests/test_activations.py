"""Activations: values, derivatives against central differences, in-place safety."""

import warnings

import numpy as np
import pytest

from glassnet import activations as act

ELEMENTWISE = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "exp", "selu", "silu", "mish"]


def z_values(seed=0):
    z = np.random.default_rng(seed).normal(0, 2, size=(5, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the relu kink
    return z


@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax"])
def test_backward_is_the_chain_rule(name):
    f = act.get(name)
    z = z_values()
    da = np.random.default_rng(1).normal(size=z.shape)
    a = f.forward(z.copy())
    dz = f.backward(z.copy() if f.from_input else a, da.copy())
    # numeric: d/dz_ij of sum(da * f(z))
    eps = 1e-6
    numeric = np.empty_like(z)
    for i, j in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i, j] += eps
        zm[i, j] -= eps
        numeric[i, j] = np.sum(da * (f.forward(zp) - f.forward(zm))) / (2 * eps)
    np.testing.assert_allclose(dz, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax"])
def test_in_place_equals_allocating(name):
    f = act.get(name)
    z = z_values()
    expected = f.forward(z.copy())
    buf = z.copy()
    assert f.forward(buf, out=buf) is buf
    np.testing.assert_array_equal(buf, expected)
    da = np.ones_like(z) * 0.3
    source = z if f.from_input else expected
    expected_dz = f.backward(source, da.copy())
    dbuf = da.copy()
    out = f.backward(source, dbuf, out=dbuf)
    np.testing.assert_array_equal(out, expected_dz)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_forward_that_keeps_its_slope_gives_the_same_bits(dtype):
    """Mish's ``with_slope`` (what Parametric calls in training) gives forward's values
    and the slope backward multiplies by, bit for bit, out to the ends of the numbers."""
    with_slope = [f for f in map(act.get, ELEMENTWISE) if f.with_slope is not None]
    assert [f.name for f in with_slope] == ["mish"]
    z = np.concatenate([z_values().ravel(), [-1e30, -800.0, 0.0, 25.0, 1e30]]).astype(dtype)
    da = np.random.default_rng(2).normal(size=z.shape).astype(dtype)
    for f in with_slope:
        out, slope = np.empty_like(z), np.empty_like(z)
        assert f.with_slope(z, out, slope) is out
        np.testing.assert_array_equal(out, f.forward(z))
        np.testing.assert_array_equal(da * slope, f.backward(z, da))


def test_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(act.relu(z), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(act.leaky_relu(z), [[-0.02, 0.0, 3.0]])
    np.testing.assert_allclose(act.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    assert act.sigmoid(np.array([[0.0]]))[0, 0] == 0.5
    np.testing.assert_allclose(act.softmax(z).sum(axis=1), [1.0])
    np.testing.assert_allclose(act.softmax(z), act.softmax(z + 1000.0), rtol=1e-12)


def test_no_overflow_warnings_at_extremes():
    z = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid(z)
        p = act.softmax(z)
        s32 = act.sigmoid(z.astype(np.float32))
    assert 0.0 <= s[0, 0] < 1e-300 and s[0, -1] == 1.0
    assert np.isfinite(p).all() and p[0, -1] == 1.0
    assert s32.dtype == np.float32 and np.isfinite(s32).all()


def test_float32_stays_float32():
    z = z_values().astype(np.float32)
    for name in [*ELEMENTWISE, "softmax"]:
        f = act.get(name)
        a = f.forward(z.copy())
        assert a.dtype == np.float32, name
        assert f.backward(z if f.from_input else a, np.ones_like(a)).dtype == np.float32, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_slopes_of_selu_and_mish_at_the_ends_of_the_numbers(dtype):
    """Mish's slope tends to 1 above and 0 below, SELU's to its scale above and 0 below,
    with no overflow, however far out the input (infinite too)."""
    z = np.array([[-np.inf, -1e30, -800.0, -100.0, -1.0, 0.5, 30.0, 1e30, np.inf]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mish = act.mish_backward(z, np.ones_like(z))
        selu = act.selu_backward(act.selu(z), np.ones_like(z))
    assert mish.dtype == dtype and selu.dtype == dtype
    np.testing.assert_allclose(mish[0, [0, 1, 2, 3]], 0.0, atol=1e-30)
    np.testing.assert_allclose(mish[0, [6, 7, 8]], 1.0, rtol=1e-6)
    # a + l c, computed as (a + l c - l) + l: within a rounding of l (about 1) of 0
    np.testing.assert_allclose(selu[0, [0, 1, 2, 3]], 0.0, atol=np.finfo(dtype).eps)
    assert (selu[0, 5:] == np.asarray(act.SELU_SCALE, dtype)).all()


def test_names_and_aliases():
    assert act.get("logistic") is act.get("sigmoid")
    assert act.get("linear") is act.get(None) is act.get("identity")
    assert act.get("ReLU").name == "relu"
    assert {"identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"} <= set(act.names())


def test_register_a_custom_activation():
    def softsign(z, out=None):
        return np.divide(z, 1 + np.abs(z), out=out)

    def softsign_backward(a, da, out=None):
        # f'(z) = 1 / (1 + |z|)^2 = (1 - |a|)^2
        return np.multiply(da, (1 - np.abs(a)) ** 2, out=out)

    custom = act.register(act.Activation("softsign", softsign, softsign_backward))
    assert act.get("softsign") is custom
    z = z_values()
    a = custom.forward(z)
    eps = 1e-6
    numeric = (softsign(z + eps) - softsign(z - eps)) / (2 * eps)
    np.testing.assert_allclose(custom.backward(a, np.ones_like(z)), numeric, rtol=1e-6)
