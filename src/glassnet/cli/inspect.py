"""glassnet inspect: a model file's layers, preprocessing, training summary and weights."""

from __future__ import annotations

import argparse

import numpy as np

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "inspect",
        help="show a model file's layers, preprocessing and training summary",
        description="Show the layers, shapes, activations and parameter count, the "
        "preprocessing, and how the model was trained.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument(
        "--weights", action="store_true", help="print every weight matrix and bias, labelled"
    )
    p.set_defaults(run=run)


def _matrix_lines(
    M: np.ndarray, row_names: list[str], col_names: list[str], width: int = 8
) -> list[str]:
    """A labelled table of a matrix, in column blocks that fit a terminal."""
    lines = []
    name_w = max(len(n) for n in row_names)
    for start in range(0, M.shape[1], width):
        cols = range(start, min(start + width, M.shape[1]))
        cells = [[f"{M[i, j]: .6f}" for j in cols] for i in range(M.shape[0])]
        cell_w = max(max(len(c) for row in cells for c in row), *(len(col_names[j]) for j in cols))
        lines.append(" " * (name_w + 3) + " ".join(col_names[j].rjust(cell_w) for j in cols))
        for name, row in zip(row_names, cells):
            lines.append(f"  {name.ljust(name_w)} " + " ".join(c.rjust(cell_w) for c in row))
        if start + width < M.shape[1]:
            lines.append("")
    return lines


def _weights_text(net, input_names: list[str] | None) -> list[str]:
    from ..layers import Dense

    lines = []
    names = input_names or [f"x{i + 1}" for i in range(net.input_size)]
    for index, layer in enumerate(net.layers):
        if not isinstance(layer, Dense):
            lines += ["", f"layer {index}: {layer!r} (no parameters)"]
            continue
        units = [f"unit {j + 1}" for j in range(layer.units)]
        lines += [
            "",
            f"layer {index}: Dense({layer.units}, {layer.activation}) "
            f"weights {layer.weights.shape[0]} x {layer.weights.shape[1]} "
            "(row: input, column: unit)",
        ]
        lines += _matrix_lines(np.asarray(layer.weights, dtype=np.float64), names, units)
        if layer.bias is not None:
            lines += [f"layer {index}: bias"]
            lines += _matrix_lines(
                np.asarray(layer.bias, dtype=np.float64)[np.newaxis], ["bias"], units
            )
        names = [f"h{index}.{j + 1}" for j in range(layer.units)]
    return lines


def run(args: argparse.Namespace) -> int:
    from .. import modelfile
    from ..network import Network
    from ..tabular import TabularModel, format_metrics
    from .common import printable, say

    lines: list[str] = []

    def print(*parts) -> None:  # every line goes through say(), escaped, at the end
        lines.extend(" ".join(map(str, parts)).split("\n"))

    model = modelfile.load(args.model)
    doc = modelfile.read_metadata(args.model)
    kinds = {
        "tabular": "a command-line model (preprocessing + network)",
        "network": "a glassnet Network",
        "MLPClassifier": "a glassnet MLPClassifier (scikit-learn drop-in)",
        "MLPRegressor": "a glassnet MLPRegressor (scikit-learn drop-in)",
    }
    print(f"{printable(args.model)}: {kinds.get(doc['kind'], doc['kind'])}")
    print(
        f"model format {doc['format_version']}, written by glassnet {doc.get('glassnet_version')}"
        f" at {doc.get('saved_at')}"
    )
    # a Network, a TabularModel (.network) or a drop-in estimator (.network_)
    net = model if isinstance(model, Network) else getattr(model, "network", None) or model.network_
    print()
    print(net.summary(print_=False))
    input_names = None
    if isinstance(model, TabularModel):
        input_names = model.features.output_names
        print()
        print("Preprocessing of the inputs:")
        for line in model.features.describe():
            print(f"  {line}")
        print(f"Target: {model.target.describe()}")
        info = model.info
        print()
        print("Training:")
        held = (
            f", {info.get('validation_rows')} held out for validation"
            if info.get("validation_rows")
            else ""
        )
        print(f"  data: {info.get('data')}, {info.get('rows')} rows{held}")
        hidden = ", ".join(map(str, info.get("hidden") or [])) or "none"
        print(
            f"  hidden layers: {hidden} ({info.get('activation')}); loss {info.get('loss')}; "
            f"{info.get('optimizer')}"
        )
        early = " (stopped early)" if info.get("stopped_early") else ""
        restored = info.get("restored_epoch")
        loss = info.get("epoch_loss", info.get("final_loss"))
        val_loss = info.get("epoch_val_loss", info.get("final_val_loss"))
        kept = f"; kept epoch {restored}: loss" if restored else "; final loss"
        print(
            f"  epochs: {info.get('epochs')}{early}{kept} {_number(loss)}"
            + (f", validation loss {_number(val_loss)}" if val_loss is not None else "")
        )
        if info.get("train_metrics"):
            print(f"  training:   {format_metrics(info['train_metrics'])}")
        if info.get("validation_metrics"):
            print(f"  validation: {format_metrics(info['validation_metrics'])}")
        print(f"  trained {info.get('trained_at')} with glassnet {doc.get('glassnet_version')}")
    else:
        summary = doc.get("training") or {}
        if summary:
            print()
            print("Training:")
            for key, value in summary.items():
                print(f"  {key}: {value}")
    if args.weights:
        for line in _weights_text(net, input_names):
            print(line)
    say(*(printable(line) for line in lines))
    return 0


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else str(value)
