"""The compiled path (glassnet.fast) against the NumPy reference: the same numbers.

The optimizer updates and the element-wise kernels do the reference's operations in
its order, so they give the same bits; the small-network kernels compute the matrix
products as loops where NumPy calls BLAS, so whole fits agree to 1e-12 in float64.
The seeds and the gradient checks run on both paths in test_seeds.py and
test_gradcheck.py.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import fast

pytest.importorskip("numba", reason="the fast extra (numba) is not installed")

SRC = Path(gn.__file__).resolve().parent.parent


@contextlib.contextmanager
def glassnet_fast(value: str):
    """GLASSNET_FAST set to ``value`` for a block (what a user sets in the environment)."""
    before = os.environ.get("GLASSNET_FAST")
    os.environ["GLASSNET_FAST"] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ["GLASSNET_FAST"]
        else:
            os.environ["GLASSNET_FAST"] = before


def on_both_paths(run):
    """run() on the NumPy path, then on the compiled path."""
    with glassnet_fast("0"):
        reference = run()
    with glassnet_fast("1"):
        compiled = run()
    return reference, compiled


def steps_of(net, X, compiled=None, epochs=1, batch=None, opt=None, loss="mse"):
    return gn.training.strategy(
        net, gn.losses.get(loss), opt or gn.SGD(), X, batch, epochs, 0.0, compiled
    )


# --- the choice ---------------------------------------------------------------------------


def test_the_argument_and_the_environment_choose_the_path():
    X = np.zeros((4, 3))
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=0).build(3)
    assert steps_of(net, X, compiled=True).compiled
    assert not steps_of(net, X, compiled=False).compiled
    with glassnet_fast("1"):
        assert steps_of(net, X).compiled
        assert not steps_of(net, X, compiled=False).compiled  # the argument first
    with glassnet_fast("0"):
        assert not steps_of(net, X).compiled
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        steps_of(net, X, compiled="yes")


def test_auto_chooses_from_the_call_alone_whatever_ran_before():
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=0).build(3)
    X = np.zeros((4, 3))
    with glassnet_fast("auto"):
        short = steps_of(net, X, epochs=10).compiled
        long = steps_of(net, X, epochs=10**6).compiled  # numba is imported by now
        assert (short, long) == (False, True)
        assert steps_of(net, X, epochs=10).compiled is False  # the same call, the same choice
        # The price is that of a new process, whether numba is imported or not.
        groups, small = fast.scope.groups_for(net, gn.losses.get("mse"), gn.SGD(), X, None)
        threshold = fast.choice.price(groups) / fast.choice.SMALL_STEP
        assert not steps_of(net, X, epochs=int(threshold) - 1).compiled
        assert steps_of(net, X, epochs=int(threshold) + 1).compiled


def test_the_environment_variable_turns_it_off_and_numba_is_never_imported():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import glassnet as gn
        net = gn.Network([gn.Dense(3, "tanh"), gn.Dense(1)], seed=0)
        net.fit(np.eye(3), [1.0, 2.0, 3.0], epochs=10**5 // 3, batch_size=1)
        net.predict(np.eye(3))
        print("glassnet.fast.choice" in sys.modules, "numba" in sys.modules,
              "threadpoolctl" in sys.modules)
    """)
    env = {**os.environ, "GLASSNET_FAST": "0"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "False", "False"]


# --- optimizer updates: the same bits -----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "make",
    [
        lambda: gn.SGD(0.05),
        lambda: gn.SGD(0.05, momentum=0.9),
        lambda: gn.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: gn.Adam(0.01),
        lambda: gn.Adam(0.01, weight_decay=0.1),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw"],
)
@pytest.mark.parametrize("factors", [False, True], ids=["", "lr-factors"])
def test_fused_updates_give_the_numpy_bits(make, dtype, factors):
    from glassnet.fast.steps import CompiledSteps

    rng = np.random.default_rng(0)
    net = gn.Network([gn.Dense(1)], input_size=1000).build(1000, dtype)  # 1000 weights, a bias
    start = rng.normal(size=1001).astype(dtype)
    grads = [rng.normal(size=1001).astype(dtype) for _ in range(5)]
    # factors on the rate, as the default recipe gives (Adam's kernel takes them)
    lr_factors = rng.choice([0.25, 1.0, 6.0], size=1001).astype(dtype) if factors else None
    results = []
    for compiled in (False, True):
        params, opt = start.copy(), make()
        opt.prepare(params, 700, lr_factors)
        saved = np.empty_like(params)
        if compiled:
            update = CompiledSteps(net, gn.losses.get("mse"), opt, 0.0, False, 1).update
        else:
            update = opt.update
        for g in grads:
            update(params, g, saved)
        results.append((params, saved))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])  # the weights before the last


def test_the_update_keeps_the_weights_it_overwrites():
    rng = np.random.default_rng(1)
    params, grads = rng.normal(size=50), rng.normal(size=50)
    before = params.copy()
    saved = np.empty_like(params)
    opt = gn.Adam(0.1)
    opt.prepare(params, 50)
    opt.update(params, grads, saved)
    np.testing.assert_array_equal(saved, before)
    assert not np.array_equal(params, before)


# --- the default recipe's layers: the same bits -------------------------------------------


def same_bits(a, b):
    """Equal to the bit (+0 and -0 differ, NaNs compare by their bits)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    kind = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    np.testing.assert_array_equal(a.view(kind), b.view(kind))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["selu", "mish"])
def test_parametric_kernels_give_the_layers_bits_at_the_edges(activation, dtype):
    from glassnet.fast import kernels

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 30)) * 4).astype(dtype)
    x[0, :10] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 25.0, -2000.0, 20.0, -1e-30, 1e30]
    x[1:3, :2] = -0.0
    da = rng.normal(size=x.shape).astype(dtype)
    layer = gn.layers.Parametric(activation)
    gn.Network([gn.Dense(30), layer, gn.Dense(1)], seed=0).build(3, dtype)
    layer.alpha[...] = rng.uniform(-0.5, 1.5, size=30)
    with np.errstate(all="ignore"):
        out = layer.forward(x, True).copy()
        dx = layer.backward(da.copy()).copy()
    dalpha = layer.dalpha.copy()

    C, code = kernels.constants(dtype), kernels.PARAMETRIC[activation]
    e, out_k, gap, slope, dx_k = (np.empty_like(x) for _ in range(5))
    kernels.exponent(code, x, e, C)
    with np.errstate(all="ignore"):
        np.exp(e, out=e)
    kernels.parametric_forward(code, x, e, layer.alpha, out_k, gap, slope, C)
    dalpha_k = np.empty_like(dalpha)
    kernels.parametric_backward(da, gap, slope, layer.alpha, dalpha_k, dx_k, C)
    same_bits(out_k, out)
    same_bits(dx_k, dx)
    same_bits(dalpha_k, dalpha)


@pytest.mark.parametrize("width", [1, 2])
def test_a_one_unit_blend_sums_its_gradient_as_numpy_does(width):
    """NumPy sums a single column pairwise and wider ones row by row: alpha's gradient,
    and the weights after plain SGD (which shows every bit of it), agree on both paths."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(300, 4)), rng.normal(size=300)

    def run():
        layers = [gn.Dense(width), gn.layers.Parametric("selu"), gn.Dense(1)]
        net = gn.Network(layers, seed=0)
        net.fit(X, y, loss="mse", optimizer=gn.SGD(0.5), epochs=20, batch_size=64)
        return net.parameters

    numpy_path, compiled = on_both_paths(run)
    same_bits(compiled, numpy_path)


def test_a_custom_activation_named_as_a_built_in_one_runs_its_own_code():
    from glassnet import activations

    custom = activations.Activation("selu", activations.tanh, activations.tanh_backward)
    X, y = problem("mse", n=64, n_in=4, k=1)

    def run():
        net = gn.Network([gn.Dense(70), gn.layers.Parametric(custom), gn.Dense(1)], seed=0)
        net.fit(X, y, loss="mse", optimizer=gn.Adam(0.01), epochs=3, batch_size=16)
        return net.parameters

    numpy_path, compiled = on_both_paths(run)
    same_bits(compiled, numpy_path)


def test_a_frozen_dropout_mask_stays_frozen_on_the_compiled_path():
    """The mask the compiled path draws is the layer's: frozen (as the gradient check
    freezes it), the next pass reuses it, and the NumPy pass, with it, gives the same
    gradient (to the layered kernels' rounding: another mask would differ at once)."""
    from glassnet.fast.plan import Plan

    X, y = problem("mse", n=32, n_in=5, k=2)
    dropout = gn.Dropout(0.4)
    net = gn.Network([gn.Dense(70, "tanh"), dropout, gn.Dense(2)], seed=3).build(5)
    loss = gn.losses.get("mse")
    plan = Plan(net, loss)
    plan.loss_and_grad(X, y, None, 0.0)
    mask = dropout.mask.copy()
    dropout.freeze_mask = True
    plan.loss_and_grad(X, y, None, 0.0)
    compiled = net.gradients.copy()
    np.testing.assert_array_equal(dropout.mask, mask)
    net.loss_and_grad(X, y, None, loss)
    np.testing.assert_allclose(net.gradients, compiled, rtol=1e-12, atol=1e-15)


def recipe_network(task, seed=0):
    """A network as the default recipe builds one: embeddings, a front scale, blends,
    dropout, factors on the rate; one output for a regression (its bias gradient is a
    single column's sum)."""
    act = "selu" if task == "classification" else "mish"
    layers = [gn.layers.Embedding(numeric=[0, 2]), gn.layers.Scale(lr_factor=6.0)]
    for _ in range(2):
        layers += [gn.Dense(80, lr_factor=0.5), gn.layers.Parametric(act), gn.Dropout(0.15)]
    layers.append(gn.Dense(3, "softmax") if task == "classification" else gn.Dense(1))
    return gn.Network(layers, seed=seed)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_recipe_networks_give_the_same_bits_on_both_paths(task, dtype):
    X, y = problem("cross_entropy" if task == "classification" else "mse", n=200, n_in=4, k=1)
    if task == "classification":
        loss = gn.losses.CrossEntropy(smoothing=0.1)
    else:
        loss, y = gn.losses.get("mse"), y.astype(dtype)
    X = X.astype(dtype)

    def run():
        net = recipe_network(task)
        opt = gn.Adam(0.01, weight_decay=0.02)
        history = net.fit(X, y, loss=loss, optimizer=opt, epochs=3, batch_size=32)
        return history, net

    with glassnet_fast("1"):
        net = recipe_network(task).build(4, dtype)
        assert steps_of(net, X, loss=loss, opt=gn.Adam(0.01), batch=32).plan is not None
    (h0, n0), (h1, n1) = on_both_paths(run)
    np.testing.assert_array_equal(n1.parameters, n0.parameters)
    # the loss kernels sum a batch's rows in their own order: the reported loss agrees
    # to rounding (the gradients, hence the weights, to the bit)
    np.testing.assert_allclose(h1.loss, h0.loss, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_the_default_recipe_trains_on_the_compiled_path_to_the_same_bits():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=400),
            "b": rng.uniform(0, 10, size=400),
            "c": rng.choice(["x", "y", "z"], size=400),
        }
    )
    labels = frame.assign(label=np.where(frame.a + frame.b / 5 > 1, "yes", "no"))
    amounts = frame.assign(amount=frame.a * 3 + frame.b)
    for data, target in ((labels, "label"), (amounts, "amount")):

        def fit(data=data, target=target):
            return gn.TabularModel.fit(data, target, seed=0, epochs=2).network.parameters

        numpy_path, compiled = on_both_paths(fit)
        np.testing.assert_array_equal(compiled, numpy_path)


# --- whole fits agree ---------------------------------------------------------------------

ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "exp"]
LOSSES = {
    "sse": "identity",
    "mse": "sigmoid",
    "half_squared_error": "tanh",
    "mae": "identity",
    "huber": "leaky_relu",
    "bce": "sigmoid",
    "cross_entropy": "softmax",
    "poisson": "exp",
}


def problem(loss, n=24, n_in=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if loss == "bce":
        y = rng.integers(0, 2, size=(n, k)).astype(float)
    elif loss == "cross_entropy":
        y = rng.integers(0, k, size=n)
    elif loss == "poisson":
        y = rng.poisson(1.0, size=(n, k)).astype(float)
    else:
        y = rng.normal(size=(n, k))
    return X, y


def agree(make, X, y, **fit):
    def run():
        net, opt = make()
        history = net.fit(X, y, optimizer=opt, **fit)
        return history, net

    (h0, n0), (h1, n1) = on_both_paths(run)
    np.testing.assert_allclose(h1.loss, h0.loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h1.sample_loss, h0.sample_loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(n1.parameters, n0.parameters, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(n1.predict(X), n0.predict(X), rtol=1e-12, atol=1e-14)
    return n0, n1


@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_small_network_fits_agree(hidden, loss):
    X, y = problem(loss)

    def make():
        net = gn.Network([gn.Dense(5, hidden), gn.Dense(3, LOSSES[loss])], seed=1)
        return net, gn.Adam(0.01)

    agree(make, X, y, loss=loss, epochs=4, batch_size=5)


@pytest.mark.parametrize(
    "make_opt",
    [lambda: gn.SGD(0.05), lambda: gn.SGD(0.05, momentum=0.8, nesterov=True), gn.Adam],
    ids=["sgd", "nesterov", "adam"],
)
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_weights_l2_and_shuffling_agree(make_opt, batch_size):
    X, y = problem("mse", n=20)
    w = np.random.default_rng(3).uniform(0.2, 2.0, size=20)

    def make():
        net = gn.Network([gn.Dense(6, "tanh"), gn.Dense(4, "relu"), gn.Dense(3)], seed=2)
        return net, make_opt()

    agree(make, X, y, loss="mse", epochs=5, batch_size=batch_size, sample_weight=w, l2=0.1)


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse"])
def test_wider_networks_agree_layer_by_layer(loss):
    X, y = problem(loss, n=300, n_in=20, k=4)

    def make():
        layers = [gn.Dense(80, "relu"), gn.Dropout(0.0), gn.Dense(70, "tanh"), gn.Dense(4)]
        layers[-1] = gn.Dense(4, LOSSES[loss] if loss != "mse" else "identity")
        return gn.Network(layers, seed=4), gn.Adam(1e-3)

    agree(make, X, y, loss=loss, epochs=2, batch_size=32)


def test_dropout_and_a_batch_of_one_agree_layer_by_layer():
    X, y = problem("mse", n=40, n_in=10, k=2)

    def make():
        net = gn.Network([gn.Dense(100, "relu"), gn.Dropout(0.3), gn.Dense(2)], seed=5)
        return net, gn.SGD(1e-3, momentum=0.9)

    agree(make, X, y, loss="mse", epochs=2, batch_size=1)


def test_float32_fits_stay_float32_and_agree_to_float32_rounding():
    X, y = problem("cross_entropy", n=64, n_in=8)

    def run():
        net = gn.Network([gn.Dense(16, "relu"), gn.Dense(3, "softmax")], seed=0)
        history = net.fit(X.astype(np.float32), y, loss="cross_entropy", epochs=5, batch_size=8)
        return history, net

    (h0, n0), (h1, n1) = on_both_paths(run)
    assert n1.dtype == np.float32 and n1.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(h1.loss, h0.loss, rtol=1e-5)
    np.testing.assert_allclose(n1.parameters, n0.parameters, rtol=1e-4, atol=1e-5)


# --- the divergence guard ------------------------------------------------------------------


@pytest.mark.parametrize("width", [4, 200], ids=["whole-step kernel", "layer by layer"])
def test_divergence_restores_exactly_the_last_weights_with_a_finite_loss(width):
    X = np.array([[1e3, -2e3], [3e3, 1e3], [-1e3, 5e2]])
    y = np.array([1.0, -2.0, 3.0])

    def make():
        return gn.Network([gn.Dense(width, "tanh"), gn.Dense(1)], seed=0)

    diverging = make()
    with pytest.raises(gn.NonFiniteLossError) as info:
        diverging.fit(X, y, loss="sse", optimizer=gn.SGD(10.0), epochs=100, compiled=True)
    # Epoch e (1-based) saw the first non-finite loss, from the weights that e - 1
    # updates made; the last finite loss came from the weights of e - 2 updates.
    epoch = int(str(info.value).split("epoch ")[1].split(":")[0])
    assert epoch >= 3
    finite = make()
    history = finite.fit(X, y, loss="sse", optimizer=gn.SGD(10.0), epochs=epoch - 2, compiled=True)
    assert np.isfinite(history.loss[-1])
    np.testing.assert_array_equal(diverging.parameters, finite.parameters)


# --- BLAS threads ---------------------------------------------------------------------------


def _blas_threads():
    """The thread count of NumPy's BLAS (numba may load scipy's too, which the step
    does not use)."""
    from threadpoolctl import threadpool_info

    return [
        lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas" and "numpy" in lib["filepath"]
    ]


class RecordThreads(gn.Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, history):
        self.seen.append(_blas_threads())


@pytest.fixture
def two_blas_threads():
    """BLAS on two threads (make test starts each test process on one), so that the
    policy's one thread shows."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield


def test_small_steps_run_blas_on_one_thread_and_give_it_back(two_blas_threads):
    before = _blas_threads()
    assert before == [2]
    X, y = problem("mse", n=50)
    record = RecordThreads()
    gn.Network([gn.Dense(8, "tanh"), gn.Dense(3)], seed=0).fit(
        X, y, epochs=2, batch_size=10, callbacks=[record], compiled=True
    )
    assert all(threads == [1] for threads in record.seen)
    assert _blas_threads() == before
    with pytest.raises(gn.NonFiniteLossError):  # given back when fit raises, too
        gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0).fit(
            X * 1e3, y[:, 0] * 1e3, loss="sse", optimizer=gn.SGD(10.0), epochs=50, compiled=True
        )
    assert _blas_threads() == before


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_thread_policy_does_not_change_results(monkeypatch, dtype, two_blas_threads):
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(512, 128)).astype(dtype), rng.integers(0, 10, size=512)

    def run():
        net = gn.Network([gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0)
        record = RecordThreads()
        net.fit(
            X,
            labels,
            loss="cross_entropy",
            epochs=1,
            batch_size=128,
            callbacks=[record],
            compiled=True,
        )
        return net.parameters.copy(), record.seen[0]

    policy, threads = run()
    # float64 products give the same bits on one BLAS thread and two, float32 ones not:
    # so the policy limits float64 networks only.
    assert (threads == [1]) == (dtype == np.float64)
    monkeypatch.setattr("glassnet.fast.threads.SMALL_PRODUCT", 0)  # never limit
    unlimited, threads = run()
    assert threads == _blas_threads()
    np.testing.assert_array_equal(unlimited, policy)


def test_without_threadpoolctl_nothing_is_limited(monkeypatch):
    from glassnet.fast import threads

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    monkeypatch.setattr(threads, "_controller", None)
    net = gn.Network([gn.Dense(3)], input_size=2)
    context = threads.limited(net, 1)
    assert type(context).__name__ == "nullcontext"


# --- the on-disk cache ----------------------------------------------------------------------


def _copy_package(tmp_path) -> Path:
    """A copy of the package where the kernels' own cache folder cannot be made (a file
    stands where __pycache__ would go; even root cannot make a folder there)."""
    dest = tmp_path / "src"
    shutil.copytree(
        SRC / "glassnet", dest / "glassnet", ignore=shutil.ignore_patterns("__pycache__")
    )
    (dest / "glassnet" / "fast" / "__pycache__").write_text("not a folder")
    return dest


CACHED_KERNEL = textwrap.dedent("""
    import numpy as np
    from glassnet.fast import kernels
    db = np.empty(3)
    kernels.column_sums(np.ones((2, 3)), db)
    print(db.tolist(), kernels.column_sums.stats.cache_path)
""")


def test_a_read_only_package_caches_in_the_users_cache_folder(tmp_path):
    src = _copy_package(tmp_path)
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(src), "XDG_CACHE_HOME": str(cache)}
    env.pop("NUMBA_CACHE_DIR", None)
    run = subprocess.run(
        [sys.executable, "-c", CACHED_KERNEL], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[2.0, 2.0, 2.0]")
    assert str(cache) in run.stdout
    assert list(cache.rglob("*.nbi"))


def test_without_any_writable_cache_folder_kernels_still_run(tmp_path):
    src = _copy_package(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder either")
    env = {**os.environ, "PYTHONPATH": str(src), "XDG_CACHE_HOME": str(blocked)}
    env["HOME"] = str(blocked)
    env.pop("NUMBA_CACHE_DIR", None)
    run = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", CACHED_KERNEL],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[2.0, 2.0, 2.0]")


# --- when the kernels pay (auto), and saying when they compile -----------------------------


def test_in_auto_mode_a_seed_sized_fit_never_imports_numba_and_gives_the_numpy_path_result():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import glassnet as gn
        X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
        y = np.array([0.0, 1.0, 1.0, 0.0])
        net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1)], seed=0)
        history = net.fit(X, y, loss="sse", optimizer=gn.SGD(1e-3), epochs=3000)
        out = net.predict(X[:1])
        print("numba" in sys.modules, repr(history.loss[-1]), repr(out[0, 0]))
    """)
    runs = {}
    for setting in ("auto", "0"):
        env = {**os.environ, "GLASSNET_FAST": setting}
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
        runs[setting] = run.stdout.split()
    assert runs["auto"][0] == "False"
    assert runs["auto"][1:] == runs["0"][1:]


def test_larger_networks_use_the_layered_kernels_and_the_saving_grows_with_the_steps():
    choice, scope = fast.choice, fast.scope
    net = gn.Network([gn.Dense(300, "relu"), gn.Dense(10, "softmax")], seed=0).build(64)
    X = np.zeros((1000, 64), dtype=np.float64)
    loss = gn.losses.get("cross_entropy")
    groups, small = scope.groups_for(net, loss, gn.Adam(), X, 32)
    assert (groups, small) == (["layers", "update"], False)
    one = choice.saving(net, X, 32, 1, small)
    assert choice.saving(net, X, 32, 10, small) == pytest.approx(10 * one)
    assert choice.saving(net, X, 128, 1, small) < one  # fewer, larger steps
    # Sparse input and networks the plan does not cover still use the fused updates.
    sparse = pytest.importorskip("scipy.sparse").csr_matrix(X)
    assert scope.groups_for(net, loss, gn.Adam(), sparse, 32) == (["update"], False)
    assert choice.price(["layers", "update"]) > choice.IMPORT


class MyDense(gn.Dense):
    """A layer the compiled path does not cover: a fit of it uses the updates alone."""


NOTICE = textwrap.dedent("""
    import logging, sys
    import numpy as np
    import glassnet as gn
    from test_fast import MyDense
    logging.basicConfig(level=logging.INFO, format="glassnet: %(message)s")
    for _ in range(2):
        net = gn.Network([MyDense(3, "tanh"), gn.Dense(1)], seed=0)
        net.fit(np.eye(3), [1.0, 2.0, 3.0], epochs=2, optimizer=gn.Adam(0.1))
    print("numba" in sys.modules)
""")


def _notice_run(env):
    env = {**env, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent)])}
    return subprocess.run(
        [sys.executable, "-c", NOTICE], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_first_compile_says_so_once_and_later_processes_load_quietly(tmp_path):
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "GLASSNET_FAST": "1"}
    first = _notice_run(env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True"]
    lines = first.stderr.splitlines()
    assert len(lines) == 1, first.stderr
    assert lines[0].startswith("glassnet: compiling the fast kernels once (about ")
    assert f"cached in {cache}" in lines[0]
    second = _notice_run(env)
    assert second.returncode == 0 and second.stderr == "", second.stderr


def test_with_no_writable_cache_folder_fits_still_run_and_say_they_compile_each_time(tmp_path):
    src = _copy_package(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    env = {**os.environ, "XDG_CACHE_HOME": str(blocked), "HOME": str(blocked)}
    env.pop("NUMBA_CACHE_DIR", None)
    env["GLASSNET_FAST"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(Path(__file__).parent)])
    run = subprocess.run(
        [sys.executable, "-c", NOTICE], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert "no cache folder can be written, so each process compiles them again" in run.stderr


def test_warm_compiles_ahead_in_processes_side_by_side_and_status_tells(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = textwrap.dedent("""
        import logging
        from glassnet.fast import ahead, cache
        logging.basicConfig(level=logging.INFO, format="glassnet: %(message)s")
        cache.GROUPS = ("update",)  # the quickest group, in both dtypes: two processes
        print(round(ahead.warm_all(jobs=2), 1) >= 0)
    """)
    run = subprocess.run(
        [sys.executable, "-c", warm], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("glassnet: compiling the fast kernels once")
    assert "glassnet: the fast kernels are ready" in run.stderr
    status = subprocess.run(
        [sys.executable, "-m", "glassnet.fast", "--status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert "float64: update cached" in status.stdout
    assert "float32: update cached" in status.stdout
    assert str(tmp_path / "numba") in status.stdout
    again = subprocess.run(
        [sys.executable, "-c", warm], capture_output=True, text=True, env=env, timeout=120
    )
    assert "cached already" in again.stderr, again.stderr
