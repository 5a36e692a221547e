"""How the compiled path runs one network with one loss: which kernels, on which
buffers.

A :class:`Plan` covers networks of Dense (and Dropout) layers with the built-in
activations and losses, and the default recipe's networks (Embedding, Scale, Parametric
blends of SELU or Mish, a cross-entropy with label smoothing). It runs a step one of two
ways:

- **small networks** (all Dense, at most ``SMALL_PARAMS`` parameters and ``SMALL_WIDTH``
  units a layer, on batches where rows x parameters stays under ``SMALL_WORK``): the
  whole step is one kernel, and whole epochs are one call;
- **the rest**: layer by layer as ``Network.loss_and_grad`` does, the matrix products
  through the layers' own NumPy (BLAS) code, everything around them fused: bias and
  activation in one pass, the activation's derivative with the bias gradient in one
  pass, the loss in one call; a Parametric layer's blend in one pass after NumPy's
  exp, and its backward in one; Dropout's mask and product in one pass after its draws.
  Embedding, Scale and a label-smoothed loss run their own NumPy code.

The network's Dense and Dropout layers keep their contract: their buffers hold the same
z, a, dW, db and mask as on the NumPy path, and the network's gradient vector is filled
the same way. A Parametric layer's blend keeps its intermediate values in the plan's
buffers, not the layer's. A plan reads the network through its public attributes only:
its structure once, when it is made; each step, what a step may change (a Dropout
layer's rate and frozen mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from ..data import Trainable
from ..layers import Dense, Dropout, Parametric
from ..losses import Loss
from ..optimizers import SGD, Adam, Optimizer
from . import kernels
from .scope import SMALL_WORK, small_network, smoothed

__all__ = ["Plan"]


class Plan:
    """The compiled path for ``net`` with ``loss`` (see the module docstring); made
    for one fit, once the network is built. Importing this module imports numba."""

    def __init__(self, net: Trainable, loss: Loss) -> None:
        self.net = net
        self.params, self.grads = net.parameters, net.gradients
        self.n_params, self.n_weights = self.params.size, net.n_weights
        self.loss_code = kernels.LOSSES[loss.name]
        self.fused = self.loss_code in kernels.FUSED
        self.loss_kernel = kernels.LOSS_KERNELS[self.loss_code]  # one for every code
        assert net.dtype is not None  # built
        dtype = self.dtype = net.dtype
        self.C = kernels.constants(dtype, getattr(loss, "delta", 1.0))
        self.S = np.empty(1, dtype=dtype)
        self.empty = np.empty(0, dtype=dtype)
        self.empty2 = np.empty((0, 0), dtype=dtype)
        self.no_labels = np.empty(0, dtype=np.intp)
        self.no_orders = np.empty((0, 0), dtype=np.intp)
        self.no_hyper = np.zeros(8)
        self.record = np.empty((1, 2))
        layers = net.layers
        dense = [layer for layer in layers if type(layer) is Dense]
        # Each Dense layer's kernel code and its bias and bias gradient (empty: none).
        self.codes = {id(d): kernels.ACTIVATIONS[d.activation] for d in dense}
        self.bias = {id(d): self.empty if d.bias is None else d.bias for d in dense}
        self.db = {id(d): self.empty if d.db is None else d.db for d in dense}
        # A layer of one unit: NumPy sums its single column pairwise, not row by row, so
        # its bias gradient is NumPy's own sum (the kernels are given no db).
        self.column_db = {id(d) for d in dense if d.units == 1}
        self.db.update((key, self.empty) for key in self.column_db)
        self.hidden = layers[:-1]
        self.last = layers[-1]
        # backward from the last layer back to the first with parameters (the last one
        # that needs no dx), as Network.loss_and_grad
        first = max(i for i, layer in enumerate(layers) if not layer.need_dx)
        self.backward_rest = list(reversed(layers[first:-1]))
        # Parametric layers whose blend runs in kernels: their activation's code
        # (the built-in activation: a custom one of the same name runs its own code)
        self.blends = {
            id(layer): kernels.PARAMETRIC[layer.activation]
            for layer in layers
            if type(layer) is Parametric
            and layer.activation in kernels.PARAMETRIC
            and layer.act == activations.get(layer.activation)
        }
        # a loss the kernels do not compute (label smoothing) runs its own NumPy pass
        self.loss = loss
        self.numpy_loss = smoothed(loss)
        self.small = small_network(net, loss)
        if self.small:
            assert net.input_size is not None  # built
            codes = [self.codes[id(d)] for d in dense]
            self.meta = kernels.describe(self.params, dense, net.input_size, codes)
        # (rows, outputs) -> the small kernel's buffers; (rows, -1) and (rows, -2) -> the
        # per-row loss and the gradient buffers of the layered path.
        self._scratch: dict[tuple[int, int], Any] = {}
        # (layer, rows) -> the buffers of a Parametric layer the plan runs; the layer ->
        # those of its last forward pass
        self._layer_scratch: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
        self._blended: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    # -- small networks: the whole step in one kernel ------------------------------------

    def small_for(self, rows: int) -> bool:
        """Whether a batch of ``rows`` runs as one whole-step kernel."""
        return self.small and rows * self.n_params <= SMALL_WORK

    def _buffers(self, m: int, k: int):
        buffers = self._scratch.get((m, k))
        if buffers is None:
            if len(self._scratch) >= 4:
                self._scratch.clear()
            dtype = self.dtype
            ws = np.empty(kernels.workspace_size(self.meta, m, k), dtype=dtype)
            buffers = (ws, np.empty(m, dtype=np.intp), np.empty(m, dtype=dtype))
            self._scratch[(m, k)] = buffers
        return buffers

    def _targets(self, y):
        if y.ndim == 1:  # cross-entropy's class labels
            return self.empty2, y
        return y, self.no_labels

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, l2: float) -> float:
        """Network.loss_and_grad on the compiled path: fills the network's gradient vector,
        returns the loss."""
        if self.small_for(x.shape[0]):
            Y, labels = self._targets(y)
            ws, lb, rows = self._buffers(x.shape[0], Y.shape[1])
            # The kernel of a run of epochs, for one epoch of one batch and no update:
            # one kernel to compile, not two.
            kernels.train(
                self.params,
                self.grads,
                x,
                Y,
                labels,
                self.empty if w is None else w,
                self.no_orders,
                1,
                x.shape[0],
                self.meta,
                self.loss_code,
                l2,
                self.n_weights,
                self.C,
                self.S,
                ws,
                lb,
                rows,
                kernels.NO_UPDATE,
                self.empty,
                self.empty,
                self.no_hyper,
                0,
                self.empty,
                False,
                self.record,
            )
            return float(self.record[0, 0])
        return self._layered(x, y, w, l2)

    def train(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        W: np.ndarray | None,
        orders: np.ndarray,
        n_epochs: int,
        batch: int,
        opt: Optimizer,
        l2: float,
        saved: np.ndarray,
        check: bool,
        record: np.ndarray,
    ) -> tuple[int, int]:
        """Run ``n_epochs`` epochs in one call (see kernels.train); returns
        (epochs run, the epoch that saw a non-finite loss or -1)."""
        kind, M, V, hyper = _optimizer_arrays(opt, self.dtype, self.n_weights)
        Yf, labels = self._targets(Y)
        ws, lb, rows = self._buffers(min(batch, X.shape[0]), Yf.shape[1])
        done, t, bad = kernels.train(
            self.params,
            self.grads,
            X,
            Yf,
            labels,
            self.empty if W is None else W,
            orders,
            n_epochs,
            batch,
            self.meta,
            self.loss_code,
            l2,
            self.n_weights,
            self.C,
            self.S,
            ws,
            lb,
            rows,
            kind,
            M,
            V,
            hyper,
            getattr(opt, "t", 0),
            saved,
            check,
            record,
        )
        if kind == kernels.ADAM:
            assert isinstance(opt, Adam)
            opt.t = int(t)
        return int(done), int(bad)

    # -- the rest: layer by layer, BLAS for the products, fused around them ----------------

    def _layered(self, x, y, w, l2: float) -> float:
        C, last = self.C, self.last
        for layer in self.hidden:
            x = self._forward(layer, x)
        z = last.product(x)
        g = self._gradient_buffer(z.shape)
        Y, labels = self._targets(y)
        code, db = self.codes[id(last)], self.db[id(last)]
        # z = x @ W + b; a = f(z) too, unless the loss computes it from z
        kernels.bias_activation(kernels.IDENTITY if self.fused else code, z, self.bias[id(last)], C)
        if self.numpy_loss:
            value = self.loss.fused(z, y, w, g)
        else:
            value = self.loss_kernel(
                self.loss_code,
                z,
                Y,
                labels,
                self.empty if w is None else w,
                g,
                self._rows(z.shape[0]),
                C,
                self.S,
            )
        if self.fused:
            if db.size:
                kernels.column_sums(g, db)
        else:
            kernels.activation_backward(code, z, g, db, C)
        self._column_sum(last, g)
        grad = last.backward_product(g)
        for layer in self.backward_rest:
            grad = self._backward(layer, grad)
        if l2:
            m = float(z.shape[0]) if w is None else float(w.sum())
            value += kernels.l2_penalty(self.params, self.grads, self.n_weights, l2, m, C, self.S)
        return value

    def _column_sum(self, layer, dz) -> None:
        """The bias gradient of a layer of one unit, as Dense.backward_linear sums it."""
        if id(layer) in self.column_db:
            layer.bias_gradient(dz)

    def _gradient_buffer(self, shape) -> np.ndarray:
        g = self._scratch.get((shape[0], -2))
        if g is None:
            g = self._scratch[(shape[0], -2)] = np.empty(shape, dtype=self.dtype)
        return g

    def _rows(self, m: int) -> np.ndarray:
        rows = self._scratch.get((m, -1))
        if rows is None:
            rows = self._scratch[(m, -1)] = np.empty(m, dtype=self.dtype)
        return rows

    def _blend_buffers(self, layer, x) -> tuple[np.ndarray, ...]:
        """A Parametric layer's five buffers like x (e, out, gap, slope, dx), kept for
        batches like x."""
        key = (id(layer), x.shape[0])
        buffers = self._layer_scratch.get(key)
        if buffers is None:
            if len(self._layer_scratch) >= 4 * len(self.hidden):
                self._layer_scratch.clear()
            buffers = tuple(np.empty_like(x) for _ in range(5))
            self._layer_scratch[key] = buffers
        return buffers

    def _forward(self, layer, x) -> np.ndarray:
        code = self.blends.get(id(layer))
        if code is not None:  # Parametric: NumPy's exp, then one kernel for the rest
            e, out, gap, slope, dx = self._blend_buffers(layer, x)
            kernels.exponent(code, x, e, self.C)
            np.exp(e, out=e)
            kernels.parametric_forward(code, x, e, layer.alpha, out, gap, slope, self.C)
            self._blended[id(layer)] = (gap, slope, dx if layer.need_dx else None)
            return out
        if type(layer) is Dropout:
            return self._dropout(layer, x)
        if type(layer) is not Dense:
            return layer.forward(x, True)
        z = layer.product(x)
        kernels.bias_activation(self.codes[id(layer)], z, self.bias[id(layer)], self.C)
        return z

    def _dropout(self, layer: Dropout, x: np.ndarray) -> np.ndarray:
        """Dropout.forward in one pass after its draws (a frozen mask, or no dropout
        now: the layer's own)."""
        rate = layer.training_rate
        if rate == 0.0 or layer.freeze_mask or x.ndim != 2:
            return layer.forward(x, True)
        mask, out = layer.training_buffers(x)  # the layer's, which its backward reads
        scale = self.dtype.type(layer.scale(rate))  # as NumPy casts the Python float
        kernels.dropout(x, layer.draw(x.shape), layer.threshold(rate), scale, mask, out)
        return out

    def _backward(self, layer, da) -> np.ndarray | None:
        if id(layer) in self.blends:
            gap, slope, dx = self._blended[id(layer)]
            kept = self.empty2 if dx is None else dx  # empty: no dx wanted
            dalpha = layer.dalpha
            # one unit: NumPy sums the single column pairwise, so its own sum does
            column = dalpha.size == 1
            kernels.parametric_backward(
                da, gap, slope, layer.alpha, self.empty if column else dalpha, kept, self.C
            )
            if column:
                np.add.reduce(np.multiply(da, gap), 0, None, dalpha)
            return dx
        if type(layer) is not Dense:
            return layer.backward(da)
        assert layer.a is not None  # forward made it
        kernels.activation_backward(self.codes[id(layer)], layer.a, da, self.db[id(layer)], self.C)
        self._column_sum(layer, da)
        return layer.backward_product(da)


def _optimizer_arrays(opt, dtype, n_weights: int):
    """The small kernels' view of an optimizer: (kind, m, v, hyper)."""
    empty = np.empty(0, dtype=dtype)
    if isinstance(opt, SGD):
        kind = kernels.SGD if opt.momentum == 0.0 else kernels.MOMENTUM
        V = opt.velocity if kind == kernels.MOMENTUM else empty
        hyper = [opt.lr, opt.momentum, float(opt.nesterov), 0.0, 0.0, 0.0, 1.0, 0.0]
        return kind, empty, V, np.array(hyper)
    decayed = n_weights if opt.weight_decay else 0
    hyper = [
        opt.lr,
        0.0,
        0.0,
        opt.beta1,
        opt.beta2,
        opt.eps,
        1.0 - opt.lr * opt.weight_decay,
        float(decayed),
    ]
    return kernels.ADAM, opt.m, opt.v, np.array(hyper)
