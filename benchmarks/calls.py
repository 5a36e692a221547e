"""NumPy calls per training step and per prediction: a count, not a time.

Every array a step touches (the data, the flat parameter and gradient vectors and the
views into them, every layer's buffers, the loss's and the optimizer's) is swapped for
a view of the same memory whose class counts each NumPy ufunc call (``np.add``,
``a *= b``, ``z.max()``, ...) and each NumPy function call (``np.dot``, ``np.copyto``,
``np.take``, ...) made with it, then hands the call on unchanged. On the compiled path
the kernels of glassnet.fast are counted too. Two fits that differ only in their
number of epochs give the count per step without what a fit does once.

The count is exact and repeatable, whatever else the machine is doing, so it is the
measure to develop against; ``run.py`` prints it beside the times.

Run:  python benchmarks/calls.py [--detail]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter

import numpy as np

import glassnet as gn
from glassnet import fast

COUNT: Counter = Counter()


def _plain(value):
    if isinstance(value, Counted):
        return value.view(np.ndarray)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _counted(value):
    if type(value) is np.ndarray:
        return value.view(Counted)
    return value


class Counted(np.ndarray):
    """An ndarray view that counts the NumPy calls made with it (its ``dot`` method too,
    which the engine calls instead of ``np.dot``)."""

    def dot(self, b, out=None):
        COUNT["dot"] += 1
        return _counted(np.ndarray.dot(_plain(self), _plain(b), _plain(out)))

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        COUNT[ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"] += 1
        if out is not None:
            kwargs["out"] = _plain(out)
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _counted(result)

    def __array_function__(self, func, types, args, kwargs):
        COUNT[func.__name__] += 1
        out = kwargs.get("out")
        result = func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        if out is not None:
            return out
        return _counted(result)


def _convert(obj, seen):
    """Swap every ndarray reachable from obj's attributes (and dicts, lists, tuples)
    for a Counted view of it (``seen``: id -> what it became)."""
    if id(obj) in seen:
        return seen[id(obj)]
    seen[id(obj)] = obj
    if type(obj) is np.ndarray:
        seen[id(obj)] = obj.view(Counted)
        return seen[id(obj)]
    if isinstance(obj, dict):
        for key, value in list(obj.items()):
            obj[key] = _convert(value, seen)
        return obj
    if isinstance(obj, list):
        obj[:] = [_convert(v, seen) for v in obj]
        return obj
    if isinstance(obj, tuple):
        seen[id(obj)] = tuple(_convert(v, seen) for v in obj)
        return seen[id(obj)]
    if (
        hasattr(obj, "__dict__")
        and type(obj).__module__.startswith("glassnet")
        and not type(obj).__name__ == "Activation"
    ):
        for key, value in list(vars(obj).items()):
            if key in ("net", "_rng", "rng"):
                continue
            setattr(obj, key, _convert(value, seen))
    return obj


class _CountingNumpy:
    """Stands in for ``np`` in glassnet's modules: counts each call of a NumPy function
    or ufunc that no Counted array takes part in (those count themselves)."""

    def __init__(self):
        self._wrapped = {}

    def __getattr__(self, name):
        value = getattr(np, name)
        if not (isinstance(value, np.ufunc) or type(value).__name__ in _FUNCTION_TYPES):
            return value
        wrapped = self._wrapped.get(name)
        if wrapped is None:
            wrapped = self._wrapped[name] = _Counting(value, name)
        return wrapped


class _Counting:
    """A NumPy function or ufunc (and its methods, ``np.add.reduce``) that counts."""

    def __init__(self, func, name):
        self._func, self._name = func, name

    def __call__(self, *args, **kwargs):
        if not any(isinstance(a, Counted) for a in (*args, *kwargs.values())):
            COUNT[self._name] += 1
        return self._func(*args, **kwargs)

    def __getattr__(self, method):
        value = getattr(self._func, method)
        return _Counting(value, f"{self._name}.{method}") if callable(value) else value


_FUNCTION_TYPES = {"function", "builtin_function_or_method", "_ArrayFunctionDispatcher"}
_MODULES = ("activations", "losses", "layers", "network", "training", "optimizers", "validation")


def _count_everything():
    """Count the NumPy calls that do not go through a Counted array (the engine's own
    ``np.take`` into a plain buffer, say) and the compiled kernels' calls too."""
    import importlib

    proxy = _CountingNumpy()
    for name in _MODULES:
        importlib.import_module(f"glassnet.{name}").np = proxy
    if not fast.available():
        return
    from glassnet.fast import kernels, plan, steps

    plan.np = proxy
    # The kernels stay as they are (other kernels call them); plan.py and the step
    # strategy reach them through a stand-in for the module that counts each call.
    counted = _CountingKernels(kernels)
    plan.kernels = counted
    steps.kernels = counted


class _CountingKernels:
    """Stands in for glassnet.fast.kernels: counts each kernel called from Python."""

    def __init__(self, module):
        self._module = module
        self.LOSS_KERNELS = {c: self._counting(k) for c, k in module.LOSS_KERNELS.items()}

    def _counting(self, kernel):
        def call(*args):
            COUNT[f"kernel {kernel.__name__}"] += 1
            return kernel(*_plain(args))

        return call

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if type(value).__name__ == "CPUDispatcher":
            return self._counting(value)
        return value


def _counted_fit(make, X, y, epochs, **fit):
    """The NumPy calls of a fit of ``epochs`` epochs, after a warm-up fit."""
    net, opt = make()
    net.fit(X, y, optimizer=opt, epochs=1, **fit)  # builds every buffer
    seen: dict = {}
    net._params = net._params.view(Counted)
    net._grads = net._grads.view(Counted)
    net._bind(net.layout())
    for obj in (net, opt, *net.layers, fit.get("loss")):
        _convert(obj, seen)
    COUNT.clear()
    with _methods_counted():
        net.fit(X.view(Counted), _counted(y), optimizer=opt, epochs=epochs, **fit)
    return Counter(COUNT)


@contextlib.contextmanager
def _methods_counted():
    """Also count ``a.dot(...)`` on arrays that are not Counted (the data, once the
    boundary's checks have made it a plain array): C method calls show in a profile."""

    def profile(frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", None) == "dot":
            if frame.f_code is not Counted.dot.__code__:  # (that one counts itself)
                COUNT["dot"] += 1

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)


def per_step(make, X, y, steps_per_epoch, epochs=3, **fit) -> Counter:
    """NumPy calls per training step (the difference of two fits, divided)."""
    a = _counted_fit(make, X, y, epochs, **fit)
    b = _counted_fit(make, X, y, 2 * epochs, **fit)
    steps = epochs * steps_per_epoch
    return Counter({k: (b[k] - a[k]) / steps for k in b if b[k] != a[k]})


def per_predict(net, x, repeat=10) -> Counter:
    net.predict(x)
    net._params = net._params.view(Counted)
    net._grads = net._grads.view(Counted)
    net._bind(net.layout())
    xc = x.view(Counted)
    net.predict(xc)
    COUNT.clear()
    with _methods_counted():
        for _ in range(repeat):
            net.predict(xc)
    return Counter({k: v / repeat for k, v in COUNT.items()})


# --- the cases ----------------------------------------------------------------------------

SEED1_X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
SEED1_Y = np.array([[0, 1, 1, 0]], dtype=float).T
GENDER_X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)
GENDER_Y = np.array([1, 0, 0, 1], dtype=float)


def cases():
    rng = np.random.default_rng(0)
    Xm = rng.normal(size=(2048, 64)).astype(np.float32)
    labels = rng.integers(0, 10, size=2048)
    mse, sse, ce = gn.losses.get("mse"), gn.losses.get("sse"), gn.losses.get("cross_entropy")

    def tiny():
        net = gn.Network([gn.Dense(3, "relu", bias=False), gn.Dense(1, bias=False)], input_size=3)
        return net, gn.SGD(1e-3)

    def seed3():
        net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
        return net, gn.SGD(0.1)

    def medium():
        net = gn.Network(
            [gn.Dense(256, "relu"), gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0
        ).build(64, np.float32)
        return net, gn.Adam(1e-3)

    return {
        "tiny: seed 001, full batch, SGD": (
            tiny,
            SEED1_X,
            SEED1_Y,
            1,
            {"loss": sse, "shuffle": False},
        ),
        "per-sample: seed 003, batch 1, SGD": (
            seed3,
            GENDER_X,
            GENDER_Y,
            4,
            {"loss": mse, "batch_size": 1, "shuffle": False},
        ),
        "medium float32: 64-256-128-10, batch 128, Adam": (
            medium,
            Xm,
            labels,
            16,
            {"loss": ce, "batch_size": 128},
        ),
    }


def count_all(detail: bool = False) -> dict:
    results = {}
    paths = [("NumPy path", False)] + ([("compiled path", True)] if fast.available() else [])
    for path, on in paths:
        for name, (make, X, y, steps, fit) in cases().items():
            counts = per_step(make, X, y, steps, compiled=on, **fit)
            results[(name, path)] = counts
    net = gn.Network([gn.Dense(2, "sigmoid"), gn.Dense(1, "sigmoid")], input_size=2, seed=0)
    results[("predict 1 row: seed 003's network", "NumPy path")] = per_predict(net, GENDER_X[:1])
    return results


def report(results, detail: bool = False) -> list[str]:
    lines = [
        "NumPy calls per step (kernel calls of the compiled path in brackets; small networks"
        " train whole runs of epochs in one kernel call, hence 0 a step)"
    ]
    names = list(dict.fromkeys(name for name, _ in results))
    for name in names:
        cells = []
        for path in ("NumPy path", "compiled path"):
            counts = results.get((name, path))
            if counts is None:
                continue
            numpy_calls = sum(v for k, v in counts.items() if not k.startswith("kernel "))
            kernel_calls = sum(v for k, v in counts.items() if k.startswith("kernel "))
            cell = f"{path} {numpy_calls:g}"
            if path == "compiled path":
                cell += f" [{kernel_calls:g}]"
            cells.append(cell)
            if detail:
                cells.append("(" + ", ".join(f"{k} {v:g}" for k, v in sorted(counts.items())) + ")")
        lines.append(f"  {name:<48} " + "   ".join(cells))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="every call, by name")
    args = parser.parse_args(argv)
    _count_everything()
    print("\n".join(report(count_all(), args.detail)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
