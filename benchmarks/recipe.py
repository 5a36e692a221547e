"""The default recipe's training step: what its choices cost, each against the
alternative it replaced, in one run with the rounds interleaved.

On a table of 10 000 rows and 9 numeric columns (a binary label), the network the
default recipe builds (embeddings, 3 x 256, Parametric SELU, dropout), trained for 3
epochs of batches of 256 with Adam and label smoothing as the recipe trains it:

- ``float32`` (the recipe's) against the same network and data in ``float64``;
- the learning rate set before every step (``CosLog(4, fade=True)``, the recipe's)
  against a constant rate (no per-step call at all): what the per-step schedule costs;
- the ``Embedding`` layer's forward and backward on a batch of 9 numeric columns and of
  64 (column by column, batched ``np.matmul``, the rows along the last axis) against the
  same arithmetic with the rows in the middle of its stacks, and written with
  ``np.einsum``, as it was;
- the recipe's activations on a batch of 256 x 256 pre-activations: SELU from ``exp(z) - 1``
  against ``expm1(z)``, SELU's slope in arithmetic against the same slope picked with
  ``np.where``, and Mish keeping its slope from the forward pass (one ``exp``) against
  its forward and backward from z (one ``exp`` each) and against the textbook
  ``z tanh(softplus(z))`` and its derivative, as they were;
- the compiled path (``glassnet.fast``, when numba is installed) against NumPy's on the
  same fit: the same bits, in fewer passes;
- Dropout's forward pass in training on the same batch: its mask from 16-bit draws cut
  from the generator's raw 64-bit words, against 16-bit draws from
  ``Generator.integers`` and against float32 uniforms, as it was.

Run:  python benchmarks/recipe.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import os
from importlib.util import find_spec

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread, before NumPy loads

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import activations  # noqa: E402
from glassnet.layers import Embedding  # noqa: E402
from glassnet.losses import CrossEntropy  # noqa: E402
from glassnet.schedules import CosLog  # noqa: E402
from run import interleaved  # noqa: E402

ROWS, COLUMNS, EPOCHS, BATCH = 10_000, 9, 3, 256


def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, COLUMNS))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(COLUMNS)])
    frame["label"] = np.where(np.sin(3 * X[:, 0]) + X[:, 1] * X[:, 2] > 0, "yes", "no")
    return frame


def fits(frame: pd.DataFrame) -> dict:
    """The recipe's network and encoded rows; a fit of each variant from the same start."""
    model = gn.TabularModel.fit(frame, "label", epochs=1, ensemble=1, seed=0)
    X, _ = model.transform(frame)
    y = model.target.encode(frame["label"].to_numpy())
    start = model.network

    def make(dtype, schedule, compiled=False):
        def setup():
            net = copy.deepcopy(start).astype(dtype)
            data = X.astype(dtype)
            opt = gn.Adam(0.04, beta2=0.95, weight_decay=0.02)
            return lambda: net.fit(
                data,
                y,
                loss=CrossEntropy(0.1),
                optimizer=opt,
                epochs=EPOCHS,
                batch_size=BATCH,
                schedule=schedule(),
                compiled=compiled,
            )

        return setup

    fading = lambda: CosLog(4, fade=True)  # noqa: E731
    peers = {
        "float32, per-step schedule (the recipe's), NumPy": make(np.float32, fading),
        "float64, per-step schedule": make(np.float64, fading),
        "float32, constant rate": make(np.float32, lambda: None),
    }
    if find_spec("numba") is not None:  # the fast extra
        make(np.float32, fading, compiled=True)()()  # compiled (or loaded) before timing
        peers["float32, per-step schedule, compiled path"] = make(np.float32, fading, True)
    return peers


def einsum_embedding(layer: Embedding, x: np.ndarray, da: np.ndarray) -> None:
    """The periodic embedding's forward and backward written with np.einsum (row-major
    (n, k, F) stacks): the same arithmetic as Embedding's, the way it was written."""
    p = layer.parameter_arrays()
    xn = x[:, layer.numeric]
    c = (2 * np.pi) * xn[:, :, None] * p["frequencies"] + p["phases"]
    h = np.cos(c)
    e = np.einsum("nkf,kfd->nkd", h, p["mix"]) + p["mix_bias"]
    n, k = xn.shape
    np.concatenate([e, xn[:, :, None]], axis=2).reshape(n, k * layer.dims)
    de = da.reshape(n, k, layer.dims)
    de_mix = de[:, :, :-1]
    np.einsum("nkf,nkd->kfd", h, de_mix)
    de_mix.sum(axis=0)
    dc = np.einsum("nkd,kfd->nkf", de_mix, p["mix"])
    dc *= -np.sin(c)
    (2 * np.pi) * np.einsum("nkf,nk->kf", dc, xn)
    dc.sum(axis=0)


def rows_in_the_middle(layer: Embedding, x: np.ndarray, da: np.ndarray) -> None:
    """The periodic embedding's forward and backward with (k, n, F) stacks, the rows in
    the middle and the frequencies last, as it was: the same arithmetic as Embedding's."""
    p = layer.parameter_arrays()
    xn = x[:, layer.numeric].T
    c = (2 * np.pi) * xn[:, :, None] * p["frequencies"][:, None, :]
    c += p["phases"][:, None, :]
    h = np.cos(c)
    e = np.matmul(h, p["mix"])
    e += p["mix_bias"][:, None, :]
    k, n = xn.shape
    out = np.empty((n, k, layer.dims), dtype=e.dtype)
    out[:, :, :-1] = e.transpose(1, 0, 2)
    out[:, :, -1] = xn.T
    np.concatenate([x[:, :0], out.reshape(n, k * layer.dims)], axis=1)
    de = da.reshape(n, k, layer.dims).transpose(1, 0, 2)
    de_mix = de[:, :, :-1]
    np.matmul(h.transpose(0, 2, 1), de_mix)
    de_mix.sum(axis=1)
    dc = np.matmul(de_mix, p["mix"].transpose(0, 2, 1))
    dc *= -np.sin(c)
    (2 * np.pi) * np.matmul(xn[:, None, :], dc)[:, 0, :]
    dc.sum(axis=1)


def embeddings(columns: int = COLUMNS, dtype=np.float32, reps: int = 300) -> dict:
    rng = np.random.default_rng(1)
    layer = Embedding(range(columns), (), 16, 4, 0.1, 8, lr_factor=0.1)
    gn.Network([layer, gn.Dense(1)], seed=0).build(columns, dtype)
    x = rng.normal(size=(BATCH, columns)).astype(dtype)
    da = rng.normal(size=(BATCH, layer.output_size(columns))).astype(dtype)

    def glassnet():
        def work():
            for _ in range(reps):
                layer.forward(x, training=True)
                layer.backward(da)

        return work

    def einsum():
        return lambda: [einsum_embedding(layer, x, da) for _ in range(reps)]

    def middle():
        return lambda: [rows_in_the_middle(layer, x, da) for _ in range(reps)]

    return {
        "Embedding ((k, F, n) stacks, batched matmul)": glassnet,
        "the same with the rows in the middle (k, n, F)": middle,
        "the same with np.einsum": einsum,
    }


def where_selu_backward(a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """SELU's derivative picked with np.where, as it was written."""
    s, c = activations.SELU_SCALE, activations.SELU_ALPHA
    return da * np.where(a > 0.0, s, a + s * c).astype(a.dtype, copy=False)


def expm1_selu(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """SELU with np.expm1, as it was written."""
    negative = np.expm1(np.minimum(z, 0.0))
    negative *= activations.SELU_ALPHA
    out = np.maximum(z, 0.0, out=out)
    out += negative
    out *= activations.SELU_SCALE
    return out


def textbook_mish(z: np.ndarray, da: np.ndarray) -> np.ndarray:
    """Mish and its derivative from softplus and tanh, as they were written."""
    t = np.tanh(np.logaddexp(z, 0.0))
    z * t
    s = 1.0 / (1.0 + np.exp(-z))
    return da * (t + z * s * (1.0 - t * t))


def activation_steps(reps: int = 300) -> tuple[dict, dict, dict]:
    """(SELU's forward, its backward, Mish's forward and backward), each against its old
    form."""
    rng = np.random.default_rng(2)
    z, da = rng.normal(size=(2, BATCH, 256)).astype(np.float32)
    a = activations.selu(z)

    def repeat(work):
        return lambda: lambda: [work() for _ in range(reps)]

    out = np.empty_like(z)  # as Parametric gives its buffer
    selu_forward = {
        "SELU forward (exp(z) - 1)": repeat(lambda: activations.selu(z, out)),
        "SELU forward with np.expm1": repeat(lambda: expm1_selu(z, out)),
    }
    selu = {
        "SELU backward (the slope in arithmetic)": repeat(lambda: activations.selu_backward(a, da)),
        "SELU backward with np.where": repeat(lambda: where_selu_backward(a, da)),
    }
    slope = np.empty_like(z)
    mish = {
        "Mish forward keeping its slope, backward a product": repeat(
            lambda: (
                activations.mish_with_slope(z, out, slope),
                np.multiply(da, slope, out),
            )
        ),
        "Mish forward + backward from z (one exp each)": repeat(
            lambda: (activations.mish(z, out), activations.mish_backward(z, da, out))
        ),
        "Mish from softplus and tanh": repeat(lambda: textbook_mish(z, da)),
    }
    return selu_forward, selu, mish


def dropout_masks(reps: int = 300) -> dict:
    """Dropout's forward pass in training, against its mask drawn as float32 uniforms."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(BATCH, 256)).astype(np.float32)
    layer = gn.Dropout(0.15)
    gn.Network([layer, gn.Dense(1)], seed=0).build(256, np.float32)
    mask, out = np.empty_like(x), np.empty_like(x)

    def uniforms():
        rng.random(dtype=np.float32, out=mask)
        np.greater_equal(mask, 0.15, out=mask)
        np.multiply(mask, 1.0 / (1.0 - 0.15), out=mask)
        np.multiply(x, mask, out=out)

    def integers():
        draws = rng.integers(0, 2**16, size=x.shape, dtype=np.uint16)
        np.greater_equal(draws, layer.threshold(0.15), out=mask)
        np.multiply(mask, 1.0 / (1.0 - 0.15), out=mask)
        np.multiply(x, mask, out=out)

    def repeat(work):
        return lambda: lambda: [work() for _ in range(reps)]

    return {
        "Dropout forward (16-bit draws from raw words)": repeat(
            lambda: layer.forward(x, training=True)
        ),
        "the same mask from Generator.integers": repeat(integers),
        "the same mask from float32 uniforms": repeat(uniforms),
    }


def show(title: str, times: dict) -> None:
    first = next(iter(times.values()))
    print(f"\n{title}\n| variant | median s | time / first row's |\n|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.3f} | {seconds / first:.2f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    show(
        f"One fit: {ROWS} rows, {EPOCHS} epochs of {BATCH} (1 BLAS thread)",
        interleaved(fits(table()), args.rounds),
    )
    for columns in (COLUMNS, 64):
        show(f"Embedding forward + backward, {BATCH} rows x {columns} columns, 300 times",
             interleaved(embeddings(columns), args.rounds))  # fmt: skip
    for peers in activation_steps():
        show(f"On {BATCH} x 256 float32 pre-activations, 300 times",
             interleaved(peers, args.rounds))  # fmt: skip
    show(f"Dropout(0.15) on {BATCH} x 256 float32 inputs, 300 times",
         interleaved(dropout_masks(), args.rounds))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
