"""Averaging networks: one Network that computes what several do, on average.

An ensemble of networks trained from different seeds (and validation folds) predicts
better, and varies less from seed to seed, than any one of them. :func:`average` writes
such an ensemble as a single :class:`~glassnet.Network`, so that everything that takes a
network (model files, ONNX export, ``explain``, the HTTP service) takes the ensemble as
it is. The members side by side make each hidden layer: a member's units see only that
member's units of the layer before (a :class:`~glassnet.layers.GroupedDense` layer, one
block a member, where the layer before is one too; elsewhere a Dense layer whose other
weights are zero), and the last Dense layer averages the members' outputs before its
activation::

    z = (z_1 + ... + z_K) / K,   output = f(z)

which, for an identity output (regression), is the mean of the members' predictions,
and for softmax the normalised geometric mean of their probabilities.

The members must have one architecture; the layers averaged are Dense, Dropout,
Parametric, Embedding and Scale (folded into the Dense layer after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from .layers import Dense, Dropout, Embedding, GroupedDense, Layer, Parametric, Scale
from .network import Network

__all__ = ["average"]


def average(networks: Sequence[Network]) -> Network:
    """One network whose last layer's input is the mean of the networks' (see the module).

    Raises
    ------
    ValueError
        If the networks are not built alike (layers, sizes, dtype), or a layer cannot
        be averaged.
    """
    nets = list(networks)
    if not nets:
        raise ValueError("average() needs at least one network")
    for net in nets:
        net.require_built("be averaged")
    first = nets[0]
    for i, net in enumerate(nets[1:], 1):
        if [layer.config() for layer in net.layers] != [layer.config() for layer in first.layers]:
            raise ValueError(f"network {i} has another architecture than network 0")
        if (net.input_size, net.dtype) != (first.input_size, first.dtype):
            raise ValueError(f"network {i} takes other inputs than network 0")
    if len(nets) == 1:
        return first.copy()
    builder = _Builder(nets)
    for i in range(len(first.layers)):
        builder.add([net.layers[i] for net in nets], last=i == len(first.layers) - 1)
    combined = Network(builder.layers, seed=first.seed)
    assert first.input_size is not None and first.dtype is not None  # built
    combined.build(first.input_size, first.dtype)
    for layer, values in zip(combined.layers, builder.values):
        arrays = layer.parameter_arrays()
        for name, value in values.items():
            arrays[name][...] = value
    combined.training_summary = {"ensemble": len(nets)}
    return combined


class _Builder:
    """The combined layers, their parameter values, and where each member's current
    units are among the combined ones (``columns``), with a Scale not yet folded in."""

    def __init__(self, nets: list[Network]) -> None:
        self.K = len(nets)
        width = nets[0].input_size
        assert width is not None  # average() checked that every member is built
        self.width = width
        self.columns = [np.arange(self.width)] * self.K
        self.scales: list[np.ndarray | None] = [None] * self.K
        self.layers: list[Layer] = []
        self.values: list[dict[str, np.ndarray]] = []

    def add(self, layers: list[Layer], last: bool) -> None:
        kind = type(layers[0])
        if kind is Scale:
            for m, layer in enumerate(layers):
                scale = layer.parameter_arrays()["scale"]
                self.scales[m] = scale if self.scales[m] is None else self.scales[m] * scale
            return
        if kind is not Dense and any(s is not None for s in self.scales):
            raise ValueError("a Scale layer must be followed by a Dense layer to be averaged")
        # (The members share one architecture: all their layers here are of this kind.)
        if kind is Dense:
            self._dense(cast(list[Dense], layers), last)
        elif kind is Dropout:
            self._keep(Dropout(cast(Dropout, layers[0]).rate), {})
        elif kind is Parametric:
            alphas = [layer.parameter_arrays()["alpha"] for layer in layers]
            first = cast(Parametric, layers[0])
            self._keep(Parametric(first.activation, first.lr_factor), {"alpha": alphas})
        elif kind is Embedding:
            self._embedding(cast(list[Embedding], layers))
        else:
            raise ValueError(f"a {kind.__name__} layer cannot be averaged")

    def _keep(self, layer: Layer, per_unit: dict[str, list[np.ndarray]]) -> None:
        """A layer that acts unit by unit: its units are where the members' are."""
        values = {}
        for name, arrays in per_unit.items():
            combined = np.zeros(self.width)
            seen = np.zeros(self.width, dtype=bool)
            for columns, array in zip(self.columns, arrays):
                if (seen[columns] & (combined[columns] != array)).any():
                    raise ValueError(f"members share units whose {name} differ")
                combined[columns], seen[columns] = array, True
            values[name] = combined
        self.layers.append(layer)
        self.values.append(values)

    def _dense(self, layers: list[Dense], last: bool) -> None:
        units, K = layers[0].units, self.K
        if not last and self._in_blocks():
            self._grouped(layers)
            return
        out = units if last else K * units
        W = np.zeros((self.width, out))
        b = np.zeros(out)
        for m, layer in enumerate(layers):
            weights = layer.weights
            scale = self.scales[m]
            if scale is not None:
                weights = weights * scale[:, None]
            block = slice(0, units) if last else slice(m * units, (m + 1) * units)
            share = 1.0 / K if last else 1.0
            # (a tuple of an index array and a slice, as NumPy documents; its stubs want arrays)
            np.add.at(W, (self.columns[m], block), weights * share)  # type: ignore[arg-type]
            if layer.bias is not None:
                b[block] += layer.bias * share
        first = layers[0]
        self.layers.append(
            Dense(
                out,
                first.activation,
                bias=first.bias is not None,
                init=first.init,
                lr_factor=first.lr_factor,
                bias_lr_factor=first.bias_lr_factor,
            )
        )
        self.values.append({"weights": W, "bias": b} if first.bias is not None else {"weights": W})
        self.width = out
        self.columns = (
            [np.arange(units)] * K if last else [m * units + np.arange(units) for m in range(K)]
        )
        self.scales = [None] * K

    def _in_blocks(self) -> bool:
        """Whether member m's current units are the m-th block of the combined ones, in
        order, with no Scale to fold in: a hidden Dense layer is then a GroupedDense."""
        if self.width % self.K or any(s is not None for s in self.scales):
            return False
        share = self.width // self.K
        return all(
            np.array_equal(columns, m * share + np.arange(share))
            for m, columns in enumerate(self.columns)
        )

    def _grouped(self, layers: list[Dense]) -> None:
        """A hidden Dense layer of members whose inputs lie in blocks: one block each."""
        units, K, first = layers[0].units, self.K, layers[0]
        values = {"weights": np.stack([layer.weights for layer in layers])}
        if first.bias is not None:
            values["bias"] = np.concatenate([cast(np.ndarray, layer.bias) for layer in layers])
        self.layers.append(
            GroupedDense(
                K * units,
                K,
                first.activation,
                bias=first.bias is not None,
                init=first.init,
                lr_factor=first.lr_factor,
                bias_lr_factor=first.bias_lr_factor,
            )
        )
        self.values.append(values)
        self.width = K * units
        self.columns = [m * units + np.arange(units) for m in range(K)]

    def _embedding(self, layers: list[Embedding]) -> None:
        if any(not np.array_equal(c, np.arange(self.width)) for c in self.columns):
            raise ValueError("an Embedding layer is averaged only as the first layer")
        first, K = layers[0], self.K
        k, F, d, size = len(first.numeric), first.frequencies, first.dims - 1, first.size
        dims = K * d + 1
        layer = Embedding(
            first.numeric,
            first.categorical,
            frequencies=K * F,
            dims=dims,
            sigma=first.sigma,
            size=K * size,
            lr_factor=first.lr_factor,
        )
        arrays = [member.parameter_arrays() for member in layers]
        values = {}
        if k:
            values["frequencies"] = np.concatenate([a["frequencies"] for a in arrays], axis=1)
            values["phases"] = np.concatenate([a["phases"] for a in arrays], axis=1)
            mix = np.zeros((k, K * F, K * d))
            for m, a in enumerate(arrays):
                mix[:, m * F : (m + 1) * F, m * d : (m + 1) * d] = a["mix"]
            values["mix"] = mix
            values["mix_bias"] = np.concatenate([a["mix_bias"] for a in arrays], axis=1)
        for j in range(len(first.categorical)):
            values[f"table_{j}"] = np.concatenate([a[f"table_{j}"] for a in arrays], axis=1)
        passed = self.width - k - len(first.categorical)
        columns = []
        for m in range(K):
            numeric = [
                passed + j * dims + (m * d + t if t < d else dims - 1)
                for j in range(k)
                for t in range(d + 1)
            ]
            categorical = [
                passed + k * dims + j * K * size + m * size + t
                for j in range(len(first.categorical))
                for t in range(size)
            ]
            columns.append(np.array([*range(passed), *numeric, *categorical], dtype=np.intp))
        self.layers.append(layer)
        self.values.append(values)
        self.width = layer.output_size(self.width)
        self.columns = columns
