"""How the compiled path runs one network with one loss: which kernels, on which
buffers.

A :class:`Plan` covers networks of Dense (and Dropout) layers with the built-in
activations and losses. It runs a step one of two ways:

- **small networks** (all Dense, at most ``SMALL_PARAMS`` parameters and ``SMALL_WIDTH``
  units a layer, on batches where rows x parameters stays under ``SMALL_WORK``): the
  whole step is one kernel, and whole epochs are one call;
- **the rest**: layer by layer as Network._loss_and_grad does, the matrix products
  through NumPy (BLAS), everything around them fused: bias and
  activation in one pass, the activation's derivative with the bias gradient in one
  pass, the loss in one call, dW of a single row as an outer product.

The network's layers keep their contract: their buffers hold the same z, a, dW and db
as on the NumPy path, and net.gradients is filled the same way.
"""

from __future__ import annotations

import numpy as np

from .. import losses as _losses
from ..activations import BUILTIN
from ..layers import Dense, Dropout
from ..optimizers import SGD

__all__ = ["Plan", "make_plan", "covers", "small_network", "SMALL_PARAMS", "SMALL_WIDTH"]

#: glassnet.fast.kernels, imported by the first Plan (importing it imports numba, about
#: a second): deciding whether the compiled path applies, and pays, needs no numba.
kernels = None

SMALL_PARAMS = 4096
SMALL_WIDTH = 64
SMALL_WORK = 1 << 16  # rows x parameters per call, beyond which BLAS wins
_LOSS_TYPES = {
    _losses.SSE,
    _losses.MSE,
    _losses.HalfSquaredError,
    _losses.MAE,
    _losses.Huber,
    _losses.BinaryCrossEntropy,
    _losses.CrossEntropy,
    _losses.Poisson,
}


def covers(net, loss) -> bool:
    """Whether the compiled path covers this network and loss (None: prediction only):
    Dense and Dropout layers, the built-in activations and losses."""
    if loss is not None and type(loss) not in _LOSS_TYPES:  # a subclass may change the math
        return False
    for layer in net.layers:
        if type(layer) is Dense:
            if layer._act not in BUILTIN:  # (an unpickled copy of one compares equal)
                return False
        elif type(layer) is not Dropout:
            return False
    return True


def small_network(net, training: bool = True) -> bool:
    """Whether a covered network is small enough for the whole-step kernels (in
    training, Dropout layers must have a rate of 0: at prediction they are the
    identity)."""
    widths = [net.input_size] + [layer.units for layer in net.layers if type(layer) is Dense]
    if net._params.size > SMALL_PARAMS or max(widths) > SMALL_WIDTH:
        return False
    return not training or all(type(layer) is Dense or layer.rate == 0.0 for layer in net.layers)


def make_plan(net, loss) -> Plan | None:
    """A Plan when the compiled path covers this network and loss (None: prediction
    only), else None."""
    if not covers(net, loss):
        return None
    global kernels
    if kernels is None:
        from . import kernels
    return Plan(net, loss)


class Plan:
    """The compiled path for ``net`` with ``loss`` (see the module docstring)."""

    def __init__(self, net, loss):
        self.net = net
        self.loss_code = -1 if loss is None else kernels.LOSSES[loss.name]
        self.fused = self.loss_code in kernels.FUSED
        self.loss_kernel = kernels.LOSS_KERNELS.get(self.loss_code)
        dtype = net.dtype
        self.C = kernels.constants(dtype, getattr(loss, "delta", 1.0))
        self.S = np.empty(1, dtype=dtype)
        self.empty = np.empty(0, dtype=dtype)
        self.empty2 = np.empty((0, 0), dtype=dtype)
        self.no_labels = np.empty(0, dtype=np.intp)
        self.no_orders = np.empty((0, 0), dtype=np.intp)
        self.no_hyper = np.zeros(8)
        self.record = np.empty((1, 2))
        self.codes = {
            id(layer): kernels.ACTIVATIONS[layer.activation]
            for layer in net.layers
            if isinstance(layer, Dense)
        }
        dense = [layer for layer in net.layers if type(layer) is Dense]
        self.n_params = net._params.size
        self.small_predict = small_network(net, training=False)
        self.small = small_network(net)
        if self.small_predict:
            codes = [self.codes[id(layer)] for layer in dense]
            self.meta = kernels.describe(net._params, dense, net.input_size, codes)
            self.units = [layer.units for layer in dense]
            self.units_total = sum(self.units)
            self.k = self.units[-1]

        self._scratch: dict[tuple[int, int], tuple] = {}

    # -- small networks: the whole step in one kernel ------------------------------------

    def small_for(self, rows: int) -> bool:
        """Whether a batch of ``rows`` runs as one whole-step kernel."""
        return self.small and rows * self.n_params <= SMALL_WORK

    def _buffers(self, m: int, k: int):
        buffers = self._scratch.get((m, k))
        if buffers is None:
            if len(self._scratch) >= 4:
                self._scratch.clear()
            dtype = self.net.dtype
            ws = np.empty(kernels.workspace_size(self.meta, m, k), dtype=dtype)
            buffers = (ws, np.empty(m, dtype=np.intp), np.empty(m, dtype=dtype))
            self._scratch[(m, k)] = buffers
        return buffers

    def _targets(self, y):
        if y.ndim == 1:  # cross-entropy's class labels
            return self.empty2, y
        return y, self.no_labels

    def loss_and_grad(self, x, y, w, l2: float) -> float:
        """Network._loss_and_grad on the compiled path: fills net._grads, returns the loss."""
        if self.small_for(x.shape[0]):
            net = self.net
            Y, labels = self._targets(y)
            ws, lb, rows = self._buffers(x.shape[0], Y.shape[1])
            # The kernel of a run of epochs, for one epoch of one batch and no update:
            # one kernel to compile, not two.
            kernels.train(
                net._params,
                net._grads,
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
                net.n_weights,
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

    def train(self, X, Y, W, orders, n_epochs, batch, opt, l2, saved, check, record):
        """Run ``n_epochs`` epochs in one call (see kernels.train); returns
        (epochs run, the epoch that saw a non-finite loss or -1)."""
        net = self.net
        kind, M, V, hyper = _optimizer_arrays(opt, net)
        Yf, labels = self._targets(Y)
        ws, lb, rows = self._buffers(min(batch, X.shape[0]), Yf.shape[1])
        done, t, bad = kernels.train(
            net._params,
            net._grads,
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
            net.n_weights,
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
            opt.t = int(t)
        return int(done), int(bad)

    def predict(self, x) -> np.ndarray | None:
        """Network.predict for a few rows through a small network; None otherwise.

        The kernel leaves every layer's output in one fresh array; the last is returned.
        """
        m = x.shape[0]
        if not (self.small_predict and m * self.n_params <= SMALL_WORK):
            return None
        ws = np.empty(m * self.units_total, dtype=self.net.dtype)
        kernels.predict(self.net._params, x, self.meta, self.C, ws)
        return ws[m * (self.units_total - self.k) :].reshape(m, self.k)

    def activations(self, x) -> list[np.ndarray] | None:
        """Network.activations for a few rows through a small network; None otherwise
        (and with Dropout layers, whose outputs the NumPy path lists too)."""
        m = x.shape[0]
        if not (self.small and m * self.n_params <= SMALL_WORK) or len(self.units) != len(
            self.net.layers
        ):
            return None
        ws = np.empty(m * self.units_total, dtype=self.net.dtype)
        kernels.predict(self.net._params, x, self.meta, self.C, ws)
        outputs, at = [], 0
        for u in self.units:
            outputs.append(ws[at : at + m * u].reshape(m, u))
            at += m * u
        return outputs

    # -- the rest: layer by layer, BLAS for the products, fused around them ----------------

    def _layered(self, x, y, w, l2: float) -> float:
        net = self.net
        C = self.C
        for layer in net._hidden_layers:
            x = self._forward(layer, x, True)
        last = net.layers[-1]
        z = self._linear(last, x)
        g = net._grad_buffer(z.shape[0])
        Y, labels = self._targets(y)
        code = self.codes[id(last)]
        db = self.empty if last._db is None else last._db
        # z = x @ W + b; a = f(z) too, unless the loss computes it from z
        kernels.bias_activation(kernels.IDENTITY if self.fused else code, z, self._bias(last), C)
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
            if last._db is not None:
                kernels.column_sums(g, db)
        else:
            kernels.activation_backward(code, z, g, db, C)
        grad = self._backward_linear(last, g)
        for layer in net._backward_layers[1:]:
            grad = self._backward(layer, grad)
        if l2:
            m = float(z.shape[0]) if w is None else float(w.sum())
            value += kernels.l2_penalty(net._params, net._grads, net.n_weights, l2, m, C, self.S)
        return value

    def _rows(self, m: int) -> np.ndarray:
        rows = self._scratch.get((m, -1))
        if rows is None:
            rows = self._scratch[(m, -1)] = np.empty(m, dtype=self.net.dtype)
        return rows

    def _bias(self, layer) -> np.ndarray:
        return self.empty if layer._b is None else layer._b

    def _linear(self, layer, x) -> np.ndarray:
        """z = x @ W into the layer's buffer (the bias is added by the next kernel)."""
        if x.shape[0] != layer._n:
            layer._prepare(x.shape[0], layer._W.dtype)
        layer._x = x
        return np.dot(x, layer._W, out=layer._a)

    def _forward(self, layer, x, training: bool) -> np.ndarray:
        if type(layer) is not Dense:
            return layer.forward(x, training)
        z = self._linear(layer, x)
        kernels.bias_activation(self.codes[id(layer)], z, self._bias(layer), self.C)
        return z

    def _backward(self, layer, da) -> np.ndarray | None:
        if type(layer) is not Dense:
            return layer.backward(da)
        db = self.empty if layer._db is None else layer._db
        kernels.activation_backward(self.codes[id(layer)], layer._a, da, db, self.C)
        return self._backward_linear(layer, da)

    def _backward_linear(self, layer, dz) -> np.ndarray | None:
        """dW = x.T @ dz (an outer product for one row) and dx = dz @ W.T; db is done."""
        x = layer._x
        if x.shape[0] == 1:
            kernels.outer(x, dz, layer._dW)
        else:
            np.dot(x.T, dz, out=layer._dW)
        if layer.need_dx:
            return np.dot(dz, layer._W.T, out=layer._dx)
        return None


def _optimizer_arrays(opt, net):
    """The small kernels' view of an optimizer: (kind, m, v, hyper)."""
    empty = np.empty(0, dtype=net.dtype)
    if isinstance(opt, SGD):
        kind = kernels.SGD if opt.momentum == 0.0 else kernels.MOMENTUM
        V = opt.velocity if kind == kernels.MOMENTUM else empty
        hyper = [opt.lr, opt.momentum, float(opt.nesterov), 0.0, 0.0, 0.0, 1.0, 0.0]
        return kind, empty, V, np.array(hyper)
    decayed = net.n_weights if opt.weight_decay else 0
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
