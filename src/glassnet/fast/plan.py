"""How the compiled path runs one network with one loss: which kernels, on which
buffers.

A :class:`Plan` covers networks of Dense (and Dropout) layers with the built-in
activations and losses. It runs a step one of two ways:

- **small networks** (all Dense, at most ``SMALL_PARAMS`` parameters and ``SMALL_WIDTH``
  units a layer, on batches where rows x parameters stays under ``SMALL_WORK``): the
  whole step is one kernel, and whole epochs are one call;
- **the rest**: layer by layer as ``Network.loss_and_grad`` does, the matrix products
  through the layers' own NumPy (BLAS) code, everything around them fused: bias and
  activation in one pass, the activation's derivative with the bias gradient in one
  pass, the loss in one call.

The network's layers keep their contract: their buffers hold the same z, a, dW and db
as on the NumPy path, and the network's gradient vector is filled the same way. A plan
reads the network through its public attributes only, once, when it is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Trainable
from ..layers import Dense
from ..losses import Loss
from ..optimizers import SGD, Adam, Optimizer
from . import kernels
from .scope import SMALL_WORK, small_network

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
        self.hidden = layers[:-1]
        self.last = layers[-1]
        first = layers.index(dense[0])
        self.backward_rest = list(reversed(layers[first:-1]))
        self.small = small_network(net)
        if self.small:
            assert net.input_size is not None  # built
            codes = [self.codes[id(d)] for d in dense]
            self.meta = kernels.describe(self.params, dense, net.input_size, codes)
        # (rows, outputs) -> the small kernel's buffers; (rows, -1) and (rows, -2) -> the
        # per-row loss and the gradient buffers of the layered path.
        self._scratch: dict[tuple[int, int], Any] = {}

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
        grad = last.backward_product(g)
        for layer in self.backward_rest:
            grad = self._backward(layer, grad)
        if l2:
            m = float(z.shape[0]) if w is None else float(w.sum())
            value += kernels.l2_penalty(self.params, self.grads, self.n_weights, l2, m, C, self.S)
        return value

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

    def _forward(self, layer, x) -> np.ndarray:
        if type(layer) is not Dense:
            return layer.forward(x, True)
        z = layer.product(x)
        kernels.bias_activation(self.codes[id(layer)], z, self.bias[id(layer)], self.C)
        return z

    def _backward(self, layer, da) -> np.ndarray | None:
        if type(layer) is not Dense:
            return layer.backward(da)
        assert layer.a is not None  # forward made it
        kernels.activation_backward(self.codes[id(layer)], layer.a, da, self.db[id(layer)], self.C)
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
