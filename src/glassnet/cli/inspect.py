"""glassnet inspect: a model file's layers, preprocessing, training summary and weights."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["add_parser", "run", "training_lines"]


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
    from ..tabular import TabularModel
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
    kind = _value(doc.get("kind"))
    print(f"{printable(args.model)}: {kinds.get(kind, kind)}")
    print(
        f"model format {_value(doc.get('format_version'))}, written by glassnet "
        f"{_value(doc.get('glassnet_version'))} at {_value(doc.get('saved_at'))}"
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
        print()
        print("Training:")
        for line in training_lines(model.info, doc.get("glassnet_version")):
            print(f"  {line}")
    else:
        summary = doc.get("training")
        if summary:
            print()
            print("Training:")
            if isinstance(summary, Mapping):
                for key, value in summary.items():
                    print(f"  {key}: {_value(value)}")
            else:
                print(f"  (not a set of values: {_value(summary)})")
    if args.weights:
        for line in _weights_text(net, input_names):
            print(line)
    say(*(printable(line) for line in lines))
    return 0


def training_lines(info: Any, version: Any = None) -> list[str]:
    """A TabularModel's training summary (``model.info``) as lines of text: its data,
    network, epochs and losses, and its metrics (as :func:`~glassnet.tabular.format_metrics`
    states them). Whatever the summary holds, even edited by hand, is printed: a value
    that is missing as ``missing``, one of an unexpected type as it is; never an error."""
    from ..tabular import format_metrics
    from ..tabular.fixes import option, spell, together
    from ..tabular.recipe import smoothing_note
    from .common import KEPT_READING

    if not isinstance(info, Mapping):
        return [f"(the training summary is not a set of values: {_value(info)})"]
    get = info.get
    rows = f"{_value(get('rows'))} rows"
    if get("dropped_missing_target"):
        rows += f" ({_value(get('dropped_missing_target'))} without a target dropped)"
    if get("validation_rows"):
        rows += f", {_value(get('validation_rows'))} held out for validation"
    na_values = get("na_values")
    if isinstance(na_values, list) and na_values:
        rows += f", read as missing: {', '.join(repr(_value(v)) for v in na_values)}"
    read = get("read")
    if isinstance(read, Mapping) and read:
        # as the options of predict (an unknown key, in a file edited by hand, as it is)
        given = [option(k, _value(v)) if k in KEPT_READING else f"{k}: {_value(v)}"
                 for k, v in read.items()]  # fmt: skip
        rows += f", read with {spell(together(given), 'command line')}"
    hidden = get("hidden")
    if isinstance(hidden, list):
        layers = ", ".join(map(_value, hidden)) or "none"
    else:
        layers = "none" if hidden is None else _value(hidden)
    early = " (stopped early)" if get("stopped_early") is True else ""
    restored = get("restored_epoch")
    loss = get("epoch_loss", get("final_loss"))
    val_loss = get("epoch_val_loss", get("final_val_loss"))
    ensemble = get("ensemble")
    first = " (the first network's)" if isinstance(ensemble, int) and ensemble > 1 else ""
    kept = f"; kept epoch {_value(restored)}{first}: loss" if restored else "; final loss"
    lines = [
        f"data: {_value(get('data'))}, {rows}",
        f"hidden layers: {layers} ({_value(get('activation'))}); loss {_value(get('loss'))}; "
        f"{_value(get('optimizer'))}",
        f"epochs: {_value(get('epochs'))}{early}{kept} {_value(loss)}"
        + (f", validation loss {_value(val_loss)}" if val_loss is not None else "")
        + smoothing_note(info),
    ]
    if isinstance(get("recipe"), str):
        of = (
            f", an ensemble of {_value(ensemble)} networks averaged into one"
            if isinstance(ensemble, int) and ensemble > 1
            else ""
        )
        lines.insert(
            1,
            f"recipe {_value(get('recipe'))}: {_value(get('schedule'))}, "
            f"{_value(get('epoch_budget'))} epoch{'' if get('epoch_budget') == 1 else 's'} "
            f"of batches of {_value(get('batch_size'))}, "
            f"{_value(get('scaling'))} scaling{of}",
        )
    if train := get("train_metrics"):
        lines.append(f"training:   {format_metrics(train)}")
    if validation := get("validation_metrics"):
        lines.append(f"validation: {format_metrics(validation)}")
    lines.append(f"trained {_value(get('trained_at'))} with glassnet {_value(version)}")
    return lines


def _value(value: Any) -> str:
    """A value of a model file's metadata as text: a number to six significant digits,
    text as it is, ``missing`` for none, anything else as JSON would spell it."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    try:
        return json.dumps(value, default=repr)
    except (TypeError, ValueError):  # a circle of lists: not from a file, but not an error
        return repr(value)
