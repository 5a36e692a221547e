"""The compiled step strategy: what a fit on the compiled path hands the training loop.

It keeps the contract of ``glassnet.training.NumpySteps``: ``loss_and_grad`` (through
a :class:`~.plan.Plan`), ``update`` (one fused pass for glassnet's own SGD and Adam,
from their public state; any other optimizer updates itself), ``epochs`` (whole runs of
epochs in one kernel call for small networks trained on in-memory arrays) and
``running`` (the BLAS threading policy). Importing this module imports numba.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..data import ArrayBatches, Trainable
from ..losses import Loss
from ..optimizers import SGD, Adam, Optimizer
from . import kernels, threads
from .plan import Plan
from .scope import small_optimizer

__all__ = ["CompiledSteps"]

#: Shuffle orders drawn ahead for a run of epochs in one call, at most (rows x epochs).
ORDERS = 1 << 16


class CompiledSteps:
    """The steps of one fit of ``net`` with ``loss``, ``opt`` and the L2 penalty ``l2``,
    on the compiled path, in batches of ``rows`` rows; ``whole``: a small network, whose
    steps run whole. A network the kernels do not cover (``covered=False``: a custom
    layer, say) runs its own passes, and only the update is compiled."""

    compiled = True

    def __init__(
        self,
        net: Trainable,
        loss: Loss,
        opt: Optimizer,
        l2: float,
        whole: bool,
        rows: int,
        covered: bool = True,
    ) -> None:
        self.net, self.loss, self.l2, self.rows = net, loss, l2, rows
        # SGD or Adam, whose fields the fused updates below read; or another Optimizer.
        self.opt: Any = opt
        self.plan = Plan(net, loss) if covered else None
        self.loss_and_grad = self._plan_pass if covered else self._numpy_pass
        self.whole = covered and whole and small_optimizer(opt)
        assert net.dtype is not None  # built
        self.cast = net.dtype.type
        self.nothing = np.empty(0, dtype=net.dtype)  # "keep nothing" for the update
        if type(opt) is SGD:
            self.update = self._sgd
        elif type(opt) is Adam:
            self.update = self._adam
        else:
            self.update = opt.update

    def _plan_pass(self, x, y, w, loss, l2: float) -> float:
        assert self.plan is not None  # covered
        return self.plan.loss_and_grad(x, y, w, l2)

    def _numpy_pass(self, x, y, w, loss, l2: float) -> float:
        return self.net.loss_and_grad(x, y, w, loss, l2)

    def _sgd(self, params, grads, saved) -> None:
        """SGD.update in one pass (kernels.sgd, kernels.sgd_momentum); SGD's own update
        where the network has factors on the learning rate, which those kernels lack."""
        opt, cast = self.opt, self.cast
        if opt.lr_factors is not None:
            opt.update(params, grads, saved)
            return
        saved = self.nothing if saved is None else saved
        if opt.momentum == 0.0:
            kernels.sgd(params, grads, cast(opt.lr), saved)
        else:
            kernels.sgd_momentum(
                params,
                grads,
                opt.velocity,
                cast(opt.lr),
                cast(opt.momentum),
                opt.nesterov,
                saved,
            )

    def _adam(self, params, grads, saved) -> None:
        """Adam.update in one pass (kernels.adam), with the network's factors on the
        learning rate when it has them."""
        opt, cast = self.opt, self.cast
        opt.t += 1
        b1, b2 = opt.beta1, opt.beta2
        kernels.adam(
            params,
            grads,
            opt.m,
            opt.v,
            opt.n_weights if opt.weight_decay else 0,
            cast(1.0 - opt.lr * opt.weight_decay),
            cast(b1),
            cast(1.0 - b1),
            cast(b2),
            cast(1.0 - b2),
            cast(opt.eps),
            cast(opt.step_size()),
            self.nothing if saved is None else saved,
            self.nothing if opt.lr_factors is None else opt.lr_factors,
            cast(-opt.lr * opt.weight_decay),
        )

    def epochs(self, batches: Any, first: int, count: int, guard: Any) -> list | None:
        """Up to ``count`` epochs of a small network in one kernel call, on the batches
        and shuffle orders the NumPy path would train on (drawn from the same
        generator, in the same order); None when the batches are not in memory."""
        if not self.whole or type(batches) is not ArrayBatches:
            return None
        n = batches.n
        if batches.shuffle:
            count = min(count, max(1, ORDERS // n))
            orders = np.empty((count, n), dtype=np.intp)
            for e in range(count):
                orders[e] = batches.new_order()
        else:
            orders = np.empty((0, 0), dtype=np.intp)
        record = np.empty((count, 2))
        saved = guard.snapshot if guard.active else self.nothing
        assert self.plan is not None  # whole steps run only where the plan covers the network
        done, bad = self.plan.train(
            batches.X,
            batches.Y,
            batches.W,
            orders,
            count,
            batches.batch,
            self.opt,
            self.l2,
            saved,
            guard.active,
            record,
        )
        if bad >= 0:
            guard.diverged(first + bad, f"the loss became {record[bad, 0]}")
        return [(float(record[e, 0]), float(record[e, 1]), n) for e in range(done)]

    def running(self) -> AbstractContextManager[Any]:
        """The BLAS threading policy while this fit runs (see :mod:`.threads`)."""
        return threads.limited(self.net, self.rows)
