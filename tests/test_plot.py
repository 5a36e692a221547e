"""Every figure renders to a PNG with the Agg backend."""

import numpy as np
import pytest

import glassnet as gn

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
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


def test_loss_curve_with_validation(xor, tmp_path):
    _, history, _, _ = xor
    fig = render(plot.loss_curve(history, log=True), tmp_path)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    assert len(ax.get_lines()[0].get_xdata()) == 300


def test_loss_curve_from_a_list(tmp_path):
    fig = render(plot.loss_curve([3.0, 2.0, 1.5]), tmp_path)
    assert len(fig.axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match="empty"):
        plot.loss_curve([])


def test_decision_boundary_binary_and_multiclass(xor, tmp_path):
    net, _, X, y = xor
    render(plot.decision_boundary(net, X, y), tmp_path, "b.png")
    rng = np.random.default_rng(0)
    Xm = rng.normal(size=(60, 2))
    ym = (Xm[:, 0] > 0).astype(int) + (Xm[:, 1] > 0)
    multi = gn.Network([gn.Dense(8, "relu"), gn.Dense(3, "softmax")], seed=0)
    multi.fit(Xm, ym, loss="cross_entropy", epochs=20)
    render(plot.decision_boundary(multi, Xm, ym), tmp_path, "m.png")
    with pytest.raises(ValueError, match="2-D inputs"):
        plot.decision_boundary(net, np.ones((3, 3)), [0, 1, 0])


def test_network_drawing_colours_and_sizes_edges_by_weight(xor, tmp_path):
    net, _, _, _ = xor
    fig = render(plot.network(net), tmp_path)
    edges = fig.axes[0].collections[0]
    widths = edges.get_linewidths()
    assert len(widths) == 2 * 4 + 4 * 1
    all_weights = np.concatenate([net.layers[0].weights.ravel(), net.layers[1].weights.ravel()])
    # the widest edge is the largest weight
    assert np.argmax(widths) == np.argmax(np.abs(all_weights))


def test_network_drawing_elides_wide_layers(tmp_path):
    net = gn.Network([gn.Dense(100, "relu"), gn.Dense(3, "softmax")], input_size=5, seed=0)
    fig = render(plot.network(net, max_units=10), tmp_path)
    assert any(t.get_text() == "⋮" for t in fig.axes[0].texts)
