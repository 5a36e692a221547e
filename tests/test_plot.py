"""Every figure renders to a PNG with the Agg backend, and says what it shows."""

import numpy as np
import pytest

import glassnet as gn

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib import colormaps  # noqa: E402

from glassnet import plot  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def render(fig, tmp_path, name="f.png"):
    path = tmp_path / name
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 2000
    return fig


@pytest.fixture(scope="module")
def xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([0, 1, 1, 0])
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], seed=0)
    history = net.fit(X, y, loss="bce", optimizer=gn.Adam(0.05), epochs=300, validation_data=(X, y))
    return net, history, X, y


@pytest.fixture(scope="module")
def tabular():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"weight": rng.normal(150, 20, 80), "height": rng.normal(66, 4, 80)})
    frame["sex"] = np.where(frame["weight"] + 3 * frame["height"] > 350, "M", "F")
    model = gn.TabularModel.fit(frame, "sex", recipe="small", hidden=[6], epochs=30, seed=0)
    return model, model.history, frame


def test_figures_show_themselves_in_notebooks(xor):
    _, history, _, _ = xor
    fig = plot.loss_curve(history)
    assert isinstance(fig, matplotlib.figure.Figure)
    png = fig._repr_png_()
    assert png[:8] == PNG and len(png) > 2000


def test_loss_curve_labels_training_and_validation(xor, tmp_path):
    _, history, _, _ = xor
    fig = render(plot.loss_curve(history), tmp_path)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    assert len(ax.get_lines()[0].get_xdata()) == 300
    assert ax.get_title() == "training and validation loss"


def test_loss_curve_marks_the_restored_epoch_and_goes_log_over_decades(tmp_path):
    history = gn.History(
        loss=[10.0 / (e + 1) ** 2 for e in range(40)],
        val_loss=[12.0 / (e + 1) ** 2 + 0.002 * e for e in range(40)],
        best_epoch=24,
        stopped_early=True,
    )
    fig = render(plot.loss_curve(history), tmp_path)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    restored = [line for line in ax.get_lines() if line.get_label().startswith("restored")]
    assert restored[0].get_label() == "restored: epoch 25"
    assert restored[0].get_xdata()[0] == 25
    assert restored[0].get_ydata()[0] == history.val_loss[24]
    flat = plot.loss_curve([3.0, 2.0, 1.5])
    assert flat.axes[0].get_yscale() == "linear"
    assert plot.loss_curve([3.0, 2.0, 1.5], log=True).axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plot.loss_curve([])


def contrast(a, b):
    la, lb = sorted([plot._luminance(a), plot._luminance(b)])
    return (lb + 0.05) / (la + 0.05)


def blended(rgba):
    """A region colour as it shows: drawn at REGION_ALPHA over white."""
    alpha = plot.REGION_ALPHA
    return [alpha * c + (1 - alpha) for c in rgba[:3]]


def test_markers_stand_out_on_every_region(xor, tmp_path):
    net, _, X, y = xor
    fig = render(plot.decision_boundary(net, X, y), tmp_path, "b.png")
    ax = fig.axes[0]
    points = [c for c in ax.collections if c.get_offsets().shape[0] and c.get_zorder() == 3]
    assert len(points) == 2
    assert points[0].get_paths()[0] != points[1].get_paths()[0]  # classes differ by shape
    cmap = colormaps["RdBu_r"]
    for collection in points:
        face = collection.get_facecolor()[0]
        for xy in collection.get_offsets():
            p = float(net.predict(np.asarray([xy]))[0, 0])
            assert contrast(face, blended(cmap(p))) >= 3.0

    rng = np.random.default_rng(0)
    Xm = rng.normal(size=(60, 2))
    ym = (Xm[:, 0] > 0).astype(int) + (Xm[:, 1] > 0)
    multi = gn.Network([gn.Dense(8, "relu"), gn.Dense(3, "softmax")], seed=0)
    multi.fit(Xm, ym, loss="cross_entropy", epochs=20)
    fig = render(plot.decision_boundary(multi, Xm, ym), tmp_path, "m.png")
    regions = colormaps["tab10"]
    for collection in [c for c in fig.axes[0].collections if c.get_zorder() == 3]:
        face = collection.get_facecolor()[0]
        for k in range(3):  # a point may sit on any class's region
            assert contrast(face, blended(regions(k))) >= 3.0
    with pytest.raises(ValueError, match="2-D inputs"):
        plot.decision_boundary(net, np.ones((3, 3)), [0, 1, 0])


def test_boundary_axes_carry_feature_names(xor, tabular, tmp_path):
    net, _, X, y = xor
    fig = plot.decision_boundary(net, X, y, feature_names=["study", "sleep"])
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("study", "sleep")
    model, _, frame = tabular
    fig = render(plot.decision_boundary(model, frame, frame["sex"]), tmp_path)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight", "height")
    # in the file's units, not standardised ones
    assert ax.get_xlim()[0] > 50 and ax.get_ylim()[0] > 40
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"F", "M"}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_boundary_names_from_an_estimator():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["left", "right"])
    labels = np.where(frame["left"] > 0, "yes", "no")
    clf = gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(frame, labels)
    fig = plot.decision_boundary(clf, frame, labels)
    assert fig.axes[0].get_xlabel() == "left"
    drawing = plot.network(clf)
    texts = {t.get_text() for t in drawing.axes[0].texts}
    assert {"left", "right"} <= texts


def test_regression_is_a_prediction_surface(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(1)], seed=0)
    net.fit(X, X.sum(axis=1), epochs=20)
    fig = render(plot.decision_boundary(net, X, X.sum(axis=1)), tmp_path)
    assert fig.axes[0].get_title() == "predictions"


def test_network_drawing_colours_and_sizes_edges_by_weight(xor, tmp_path):
    net, _, _, _ = xor
    fig = render(plot.network(net), tmp_path)
    edges = fig.axes[0].collections[0]
    widths = np.asarray(edges.get_linewidths())
    alphas = edges.get_edgecolor()[:, 3]
    assert len(widths) == 2 * 4 + 4 * 1
    all_weights = np.concatenate([net.layers[0].weights.ravel(), net.layers[1].weights.ravel()])
    # the widest and most opaque edge is the largest weight; weak edges fade
    assert widths.max() == pytest.approx(
        0.3 + 3.2 * np.abs(all_weights).max() / np.abs(net.parameters).max()
    )
    assert np.argmax(widths) == np.argmax(alphas)
    assert np.all(np.diff(widths) >= 0)  # drawn weakest first, strongest on top
    assert np.corrcoef(widths, alphas)[0, 1] > 0.99


def test_network_drawing_names_inputs_and_outputs(tabular, tmp_path):
    model, _, _ = tabular
    fig = render(plot.network(model), tmp_path)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"weight", "height", "F", "M"} <= texts
    with pytest.raises(ValueError, match="input_names has 1"):
        plot.network(model.network, input_names=["one"])


def test_network_drawing_keeps_20_units_and_elides_beyond(tmp_path):
    net = gn.Network([gn.Dense(20, "relu"), gn.Dense(3, "softmax")], input_size=10, seed=0)
    fig = render(plot.network(net), tmp_path)
    assert not any(t.get_text() == "⋮" for t in fig.axes[0].texts)
    assert len(fig.axes[0].collections[0].get_linewidths()) == 10 * 20 + 20 * 3
    wide = gn.Network([gn.Dense(100, "relu"), gn.Dense(3, "softmax")], input_size=5, seed=0)
    fig = render(plot.network(wide, max_units=10), tmp_path)
    assert any(t.get_text() == "⋮" for t in fig.axes[0].texts)


def test_weights_heat_maps(tabular, tmp_path):
    model, _, _ = tabular
    fig = render(plot.weights(model), tmp_path)
    first, second = fig.axes[:2]
    assert [t.get_text() for t in first.get_yticklabels()] == ["weight", "height", "bias"]
    assert [t.get_text() for t in second.get_xticklabels()] == ["F", "M"]
    image = first.get_images()[0].get_array()
    np.testing.assert_array_equal(image[:2], model.network.layers[0].weights)
    np.testing.assert_array_equal(image[2], model.network.layers[0].bias)


def test_boundary_evolution_draws_each_snapshot_and_leaves_the_model(xor, tmp_path):
    net, _, X, y = xor
    before = net.parameters.copy()
    start = np.zeros_like(before)
    pairs = [(0, start), (10, before * 0.5), (300, before)]
    fig = render(plot.boundary_evolution(net, X, y, pairs), tmp_path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["before training", "after epoch 10", "after epoch 300"]
    np.testing.assert_array_equal(net.parameters, before)
    with pytest.raises(ValueError, match="no snapshots"):
        plot.boundary_evolution(net, X, y, [])
    with pytest.raises(ValueError, match="parameters"):
        plot.boundary_evolution(net, X, y, [(1, np.zeros(3))])


def test_many_points_are_sampled_not_all_drawn(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 2))
    y = (X[:, 0] > 0).astype(int)
    net = gn.Network([gn.Dense(2, "tanh"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
    fig = render(plot.decision_boundary(net, X, y, resolution=40), tmp_path)
    drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections if c.get_zorder() == 3)
    assert drawn == plot.MAX_POINTS


def test_a_confusion_matrix_of_many_classes_stays_a_picture_one_can_open():
    """200 classes asked for a 122-inch figure (14,640 pixels a side, 8 GB to draw)."""
    n = 200
    counts = np.diag(np.full(n, 30)) + np.roll(np.eye(n, dtype=int), 1, axis=1)
    names = [f"k{i:03d}" for i in range(n)]
    fig = plot.confusion_matrix(counts, names)
    width, height = fig.get_size_inches()
    assert width <= 15 and height <= 14
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert len(shown) <= 40 and shown[:2] == ["k000", "k005"]  # every 5th class named
    few = plot.confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"])
    assert [t.get_text() for t in few.axes[0].get_yticklabels()] == ["a", "b", "c"]
    assert few.get_size_inches()[1] == pytest.approx(3.8)
