"""glassnet.dask on a real two-worker LocalCluster (worker processes, one thread each).

The cluster is started once for the module. Its scheduler allows one failure per
task, so a task whose worker dies once is retried, and one that kills its worker
twice stops the fit; the tests that kill workers run last.
"""

import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import glassnet as gn

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import glassnet.dask as gd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        c = distributed.Client(cluster, set_as_default=False)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


def rel(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.int64) + (X[:, 2] > 0)
    Y = np.c_[np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]]
    w = rng.uniform(0.2, 2.0, n)
    return X, labels, Y, w


# Uneven chunks: five partitions of different sizes, two or three on each worker.
CHUNKS = (150, 90, 130, 170, 60)


def chunked(a):
    return da.from_array(a, chunks=(CHUNKS,) + a.shape[1:])


def net_for(loss, k):
    out = {"cross_entropy": "softmax", "bce": "sigmoid"}.get(loss, "identity")
    return gn.Network([gn.Dense(6, "tanh"), gn.Dense(k, out)], seed=3)


# -- L-BFGS: the same result as in memory, for every kind of loss reduction ---------------


@pytest.mark.parametrize(
    "loss, weighted, l2",
    [
        ("cross_entropy", False, 0.0),  # mean over samples, integer labels
        ("cross_entropy", True, 0.1),  # ... with sample weights and the L2 penalty
        ("mse", True, 0.1),  # mean over all elements, two outputs
        ("sse", True, 0.1),  # sum: denominator 1 for every partition
    ],
)
def test_lbfgs_equals_in_memory_lbfgs(client, loss, weighted, l2):
    X, labels, Y, w = data()
    y = labels if loss == "cross_entropy" else Y
    k = 3 if loss == "cross_entropy" else 2
    here, there = net_for(loss, k), net_for(loss, k)
    options = {"loss": loss, "optimizer": "lbfgs", "epochs": 30, "l2": l2}
    h_here = here.fit(X, y, sample_weight=w if weighted else None, **options)
    h_there = gd.fit(
        there,
        chunked(X),
        chunked(y),
        sample_weight=chunked(w) if weighted else None,
        client=client,
        **options,
    )
    assert rel(there.parameters, here.parameters) < 1e-8
    np.testing.assert_allclose(h_there.loss, h_here.loss, rtol=1e-10)
    assert there.training_summary["cluster"]["workers"] == 2
    assert there.training_summary["samples"] == 600


def test_shards_sum_to_the_loss_and_gradient_of_one_batch(client):
    # The combination itself, at arbitrary weights: every partition's loss and gradient,
    # scaled by its denominator, add up to the whole batch's (for each reduction).
    from glassnet.dask import fitting
    from glassnet.dask import shards as S

    X, labels, Y, w = data()
    for loss, y, k in (("cross_entropy", labels, 3), ("mse", Y, 2), ("sse", Y, 2)):
        net = net_for(loss, k)
        loss_fn = gn.losses.get(loss)
        with fitting.Session(net, chunked(X), chunked(y), chunked(w), loss_fn, client) as s:
            net.parameters = np.random.default_rng(1).normal(size=net.count_params())
            total, grad, rows = 0.0, S.Sum(), 0
            for values, hi, lo, n in s.shards.run(S.loss_and_grad, net.parameters):
                total, rows = total + sum(values), rows + n
                grad.add(hi, lo)
            grad = grad.result()
            whole = s.shards.denominator(s.n, s.shards.weight)
            expected = net.loss_and_grad(X, gn.data.target(net, y, 600, loss_fn), w, loss_fn)
            assert rows == 600
            assert total / whole == pytest.approx(expected, rel=1e-12)
            assert rel(grad / whole, net.gradients) < 1e-12


def test_the_gradient_sum_does_not_depend_on_grouping_or_order():
    # Partial gradients that nearly cancel, as they do near a minimum: plain float sums
    # of them differ with the order; the shards' exact sums never do.
    from glassnet.dask.shards import Sum

    rng = np.random.default_rng(0)
    parts = rng.normal(size=(12, 500)) * 10.0 ** rng.integers(-3, 4, size=(12, 1))
    parts[-1] = -parts[:-1].sum(axis=0) + rng.normal(size=500) * 1e-9
    results = set()
    plain = set()
    for _ in range(20):
        order = rng.permutation(12)
        cut = sorted(rng.choice(np.arange(1, 12), size=2, replace=False))
        total = Sum()
        for group in np.split(order, cut):  # shards: exact sums of their own parts ...
            shard = Sum()
            for i in group:
                shard.add(parts[i])
            total.add(shard.hi, shard.lo)  # ... then of the shards' sums
        results.add(total.result().tobytes())
        plain.add(np.sum(parts[order], axis=0).tobytes())
    assert len(results) == 1 and len(plain) > 1


def test_a_dataframe_trains_like_its_array(client):
    X, labels, _, _ = data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=labels)
    ddf = dd.from_pandas(frame, npartitions=3)
    here, there = net_for("cross_entropy", 3), net_for("cross_entropy", 3)
    here.fit(X, labels, loss="cross_entropy", optimizer="lbfgs", epochs=20)
    gd.fit(
        there,
        ddf[["a", "b", "c", "d"]],
        ddf["label"],
        loss="cross_entropy",
        epochs=20,
        client=client,
    )
    assert rel(there.parameters, here.parameters) < 1e-8
    saved = gn.load(gn.dumps(there))  # the summary of a cluster fit goes into model files
    assert saved.training_summary["cluster"]["partitions"] == 3


# -- SGD and Adam ------------------------------------------------------------------------------


def test_sync_full_batch_is_in_memory_full_batch_training(client):
    X, _, Y, _ = data()
    here, there = net_for("mse", 2), net_for("mse", 2)
    here.fit(X, Y, loss="mse", optimizer=gn.Adam(0.02), epochs=15)
    gd.fit(
        there,
        chunked(X),
        chunked(Y),
        loss="mse",
        optimizer=gn.Adam(0.02),
        epochs=15,
        strategy="sync",
        client=client,
    )
    assert rel(there.parameters, here.parameters) < 1e-10


def test_average_over_one_partition_is_in_memory_training(client):
    # One shard: its local epoch is the whole epoch, and the optimizer's state (Adam's
    # moments and step count) goes back and forth with the parameters every epoch.
    X, labels, _, _ = data()
    here, there = net_for("cross_entropy", 3), net_for("cross_entropy", 3)
    options = {"loss": "cross_entropy", "epochs": 4, "batch_size": 64, "shuffle": False}
    here.fit(X, labels, optimizer=gn.Adam(0.01), **options)
    gd.fit(
        there,
        da.from_array(X, chunks=600),
        da.from_array(labels, chunks=600),
        optimizer=gn.Adam(0.01),
        strategy="average",
        client=client,
        **options,
    )
    assert rel(there.parameters, here.parameters) < 1e-10


@pytest.mark.parametrize("strategy", ["average", "sync"])
def test_minibatch_strategies_learn_like_one_machine(client, strategy):
    X, _, _, _ = data(1200)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    settings = {"loss": "cross_entropy", "epochs": 6, "batch_size": 100}
    here = net_for("cross_entropy", 3)
    here.fit(X, labels, optimizer=gn.Adam(0.1), **settings)
    net = net_for("cross_entropy", 3)
    history = gd.fit(
        net,
        da.from_array(X, chunks=300),
        da.from_array(labels, chunks=300),
        optimizer=gn.Adam(0.1),
        strategy=strategy,
        client=client,
        **settings,
    )
    assert history.loss[-1] < 0.6 * history.loss[0]
    accuracy = (net.predict(X).argmax(1) == labels).mean()
    assert accuracy > (here.predict(X).argmax(1) == labels).mean() - 0.05
    assert accuracy > 0.9
    assert net.training_summary["cluster"]["strategy"] == strategy


def test_validation_data_and_early_stopping(client):
    X, labels, _, _ = data(900)
    net = net_for("cross_entropy", 3)
    stop = gn.EarlyStopping(patience=2, min_delta=10.0)  # no epoch improves this much
    history = gd.fit(
        net,
        chunked(X[:600]),
        chunked(labels[:600]),
        loss="cross_entropy",
        epochs=30,
        validation_data=(da.from_array(X[600:], chunks=150), da.from_array(labels[600:], 150)),
        callbacks=[stop],
        client=client,
    )
    assert history.stopped_early and len(history.val_loss) == 3 == history.epochs
    assert history.best_epoch == 0  # and its weights were put back
    assert history.val_loss[0] == pytest.approx(
        net.evaluate(X[600:], labels[600:], loss="cross_entropy"), rel=1e-12
    )


@pytest.mark.parametrize("strategy", ["average", "sync"])
def test_divergence_stops_with_finite_weights(client, strategy):
    X, _, Y, _ = data()
    net = gn.Network([gn.Dense(2)], seed=0)
    with pytest.raises(gn.NonFiniteLossError, match="restored"):
        gd.fit(
            net,
            chunked(X * 1e3),
            chunked(Y),
            loss="mse",
            optimizer=gn.SGD(10.0),
            epochs=50,
            batch_size=100,
            strategy=strategy,
            client=client,
        )
    assert np.isfinite(net.parameters).all()


# -- estimators ------------------------------------------------------------------------------


def test_classifier_lbfgs_equals_its_own_fit(client):
    X, labels, _, _ = data()
    names = np.array(["low", "mid", "high"], dtype=object)[labels]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    ddf = dd.from_pandas(frame.assign(label=names), npartitions=4)
    settings = {"hidden_layer_sizes": (5,), "solver": "lbfgs", "max_iter": 25}
    settings.update(random_state=0, class_weight="balanced", alpha=0.01)
    here, there = gn.MLPClassifier(**settings), gn.MLPClassifier(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 25 iterations do not converge
        here.fit(frame, names)
        assert gd.fit(there, ddf[["a", "b", "c", "d"]], ddf["label"], client=client) is there
    assert rel(there.network_.parameters, here.network_.parameters) < 1e-8
    assert list(there.classes_) == ["high", "low", "mid"] == list(here.classes_)
    assert list(there.feature_names_in_) == ["a", "b", "c", "d"]
    assert there.n_iter_ == here.n_iter_ and there.n_features_in_ == 4
    np.testing.assert_allclose(there.loss_curve_, here.loss_curve_, rtol=1e-10)
    assert (there.predict(frame) == here.predict(frame)).all()


def test_regressor_adam_sets_what_fit_sets(client):
    X, _, Y, _ = data()
    est = gn.MLPRegressor(hidden_layer_sizes=(8,), max_iter=4, batch_size=100, random_state=0)
    with pytest.warns(Warning, match="Maximum iterations"):
        gd.fit(est, chunked(X), chunked(Y), client=client)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4 and est.t_ == 4 * 600
    assert est.n_outputs_ == 2 and est.predict(X).shape == (600, 2)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_estimator_settings_belong_to_the_estimator(client):
    X, labels, _, _ = data()
    with pytest.raises(TypeError, match="its own settings.*epochs"):
        gd.fit(gn.MLPClassifier(), chunked(X), chunked(labels), epochs=5, client=client)
    with pytest.raises(ValueError, match="early_stopping"):
        gd.fit(gn.MLPClassifier(early_stopping=True), chunked(X), chunked(labels), client=client)


# -- prediction ------------------------------------------------------------------------------


def test_predict_maps_over_partitions_lazily(client):
    X, labels, _, _ = data()
    net = net_for("cross_entropy", 3)
    net.fit(X, labels, loss="cross_entropy", optimizer="lbfgs", epochs=10)
    expected = net.predict(X)
    lazy = gd.predict(net, chunked(X))
    assert isinstance(lazy, da.Array) and lazy.chunks[0] == CHUNKS
    graph = dict(lazy.__dask_graph__()).values()  # the model file's checksum field, once:
    assert sum(pickle.dumps(task).count(b"glassnet_sha256") for task in graph) == 1
    net.parameters = np.zeros(net.count_params())  # later changes do not reach it
    np.testing.assert_array_equal(client.compute(lazy).result(), expected)

    frame = pd.DataFrame(X, columns=list("abcd"), index=np.arange(600) * 10)
    out = client.compute(gd.predict(net.copy(), dd.from_pandas(frame, npartitions=3))).result()
    assert list(out.index) == list(frame.index) and list(out.columns) == [0, 1, 2]


def test_predict_and_predict_proba_of_a_classifier(client):
    X, labels, _, _ = data()
    names = np.array(["low", "mid", "high"], dtype=object)[labels]
    frame = pd.DataFrame(X, columns=list("abcd"))
    est = gn.MLPClassifier((8,), max_iter=30, random_state=0).fit(frame, names)
    ddf = dd.from_pandas(frame, npartitions=3)
    labels_out = client.compute(gd.predict(est, ddf)).result()
    proba = client.compute(gd.predict_proba(est, ddf)).result()
    assert isinstance(labels_out, pd.Series) and (labels_out.to_numpy() == est.predict(frame)).all()
    assert list(proba.columns) == list(est.classes_)
    np.testing.assert_array_equal(proba.to_numpy(), est.predict_proba(frame))
    arr = client.compute(gd.predict_proba(est, da.from_array(X, chunks=200))).result()
    np.testing.assert_array_equal(arr, est.predict_proba(X))
    with pytest.raises(ValueError, match="not the ones"):
        gd.predict(est, ddf[["b", "a", "c", "d"]])


# -- bad input, at the boundary ---------------------------------------------------------------


def test_bad_collections_are_named_before_anything_runs(client):
    X, labels, _, _ = data()
    net = net_for("cross_entropy", 3)
    fit = lambda X_, y_, **kw: gd.fit(net, X_, y_, loss="cross_entropy", client=client, **kw)  # noqa: E731
    with pytest.raises(TypeError, match="Dask array or a Dask DataFrame"):
        fit(X, labels)
    with pytest.raises(ValueError, match="chunked differently.*rechunk"):
        fit(chunked(X), da.from_array(labels, chunks=100))
    unknown = dd.from_pandas(pd.DataFrame(X), npartitions=5).to_dask_array()
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        fit(unknown, chunked(labels))
    frame = pd.DataFrame(X, columns=list("abcd")).assign(town=["north", "south"] * 300)
    with pytest.raises(TypeError, match="numeric columns only.*'town'"):
        fit(dd.from_pandas(frame, npartitions=2), chunked(labels))
    ddf = dd.from_pandas(pd.DataFrame(X), npartitions=3)
    with pytest.raises(ValueError, match="3 partitions but y has 5"):
        fit(ddf, chunked(labels))
    with pytest.raises(ValueError, match="Series"):
        fit(ddf[0], chunked(labels))
    with pytest.raises(ValueError, match="strategy"):
        fit(chunked(X), chunked(labels), strategy="fast")
    with pytest.raises(ValueError, match="needs a dask.distributed Client"):
        gd.fit(net, chunked(X), chunked(labels), loss="cross_entropy")


def test_bad_values_are_named_by_partition(client):
    X, labels, _, _ = data()
    net = net_for("cross_entropy", 3)
    bad = X.copy()
    bad[200, 1] = np.nan  # row 200 is row 50 of partition 1 (rows 150 to 239)
    with pytest.raises(ValueError, match=r"X \(partition 1\) contains NaN at row 50, column 1"):
        gd.fit(net, chunked(bad), chunked(labels), loss="cross_entropy", client=client)
    with pytest.raises(ValueError, match="partition .*class labels 0..2"):
        gd.fit(net, chunked(X), chunked(labels + 1), loss="cross_entropy", client=client)
    ce = {"loss": "cross_entropy", "client": client}
    left = dd.from_pandas(pd.DataFrame(X), npartitions=2).clear_divisions()
    shifted = pd.Series(labels, index=np.arange(600) + 1)
    right = dd.from_pandas(shifted, npartitions=2).clear_divisions()
    with pytest.raises(ValueError, match=r"partition [01]: X and y hold different rows"):
        gd.fit(net, left, right, **ce)
    with pytest.raises(ValueError, match="different index values"):
        gd.fit(net, dd.from_pandas(pd.DataFrame(X), 2), dd.from_pandas(shifted, 2), **ce)
    with client.as_current():  # client=None: the current client
        gd.fit(net, chunked(X), chunked(labels), loss="cross_entropy", epochs=2)


# -- a worker dies mid-fit (these run last: they kill workers) -------------------------------


class DyingCrossEntropy(gn.losses.CrossEntropy):
    """Cross-entropy that kills the worker process computing it on a partition of
    ``rows`` rows: on the ``after``-th call after which it claims ``marker`` (so once in
    the whole cluster), or, with ``always``, every time."""

    def __init__(self, marker, rows, after=3, always=False):
        super().__init__()
        self.marker, self.rows, self.after, self.always = str(marker), rows, after, always
        self.home, self.calls = os.getpid(), 0

    def fused(self, z, y, w, out):
        if os.getpid() != self.home and z.shape[0] == self.rows:
            self.calls += 1
            if self.always or (self.calls >= self.after and self._claim()):
                os._exit(1)
        return super().fused(z, y, w, out)

    def _claim(self) -> bool:
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            return True
        except FileExistsError:
            return False


def test_a_worker_killed_mid_fit_is_recovered_and_the_result_is_unchanged(client, tmp_path):
    client.wait_for_workers(2, timeout=120)
    before = set(client.nthreads())
    X, labels, _, _ = data()
    here, undisturbed, there = (net_for("cross_entropy", 3) for _ in range(3))
    here.fit(X, labels, loss="cross_entropy", optimizer="lbfgs", epochs=20)
    gd.fit(undisturbed, chunked(X), chunked(labels), loss="cross_entropy", epochs=20, client=client)
    dying = DyingCrossEntropy(tmp_path / "died", rows=170, after=4)
    gd.fit(there, chunked(X), chunked(labels), loss=dying, epochs=20, client=client)
    assert (tmp_path / "died").exists()  # claimed just before the worker exited
    client.wait_for_workers(2, timeout=120)
    assert set(client.nthreads()) != before  # the nanny started a new worker process
    # The lost partitions were recomputed on the other worker, grouped differently, and
    # the fit is the one an undisturbed cluster makes, to the last bit.
    np.testing.assert_array_equal(there.parameters, undisturbed.parameters)
    assert rel(there.parameters, here.parameters) < 1e-8


def test_a_worker_that_keeps_dying_stops_the_fit_with_a_clear_error(client, tmp_path):
    client.wait_for_workers(2, timeout=120)
    X, labels, _, _ = data()
    net = net_for("cross_entropy", 3)
    net.build(4)
    start = net.parameters.copy()
    dying = DyingCrossEntropy(tmp_path / "died", rows=170, always=True)
    with pytest.raises(gd.WorkerLostError, match="worker died.*starting weights"):
        gd.fit(net, chunked(X), chunked(labels), loss=dying, epochs=20, client=client)
    np.testing.assert_array_equal(net.parameters, start)
    client.wait_for_workers(2, timeout=120)
