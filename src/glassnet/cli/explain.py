"""glassnet explain: one row's forward and backward pass through a model, every number shown."""

from __future__ import annotations

import argparse

from .common import (
    UserError,
    add_impute_option,
    add_read_options,
    printable,
    read_options,
    read_table,
    said,
    warn,
    warn_filled,
)
from .inputs import data_file

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "explain",
        help="show one row's forward and backward pass through a model, with the chain rule",
        description="Explain one row of a data file: its features after the model's "
        "preprocessing (with their names), the forward pass layer by layer (z = x @ W + b, "
        "a = f(z); dropout off, as in prediction), and, when the row's target is known (the "
        "file has the target column, or --target-value gives it), the loss, the backward "
        "pass (dL/da, f'(z), dL/dz, dL/dW) and the chain rule for one weight, written as "
        "seed 003 writes it. Nothing is changed.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file")
    p.add_argument("data", metavar="DATA.csv", help="the data file ('-' for stdin)")
    p.add_argument(
        "--row",
        type=int,
        default=0,
        metavar="N",
        help="which row to explain, counting from 0 at the first row after the header (default: 0)",
    )
    p.add_argument(
        "--target-value",
        metavar="VALUE",
        help="the row's target, when the file has no target column (a class label or a "
        "number; comma-separated for a network with several outputs)",
    )
    p.add_argument(
        "--target",
        metavar="COL",
        help="for a bare network file: the column holding the target (the others are inputs)",
    )
    p.add_argument(
        "--weight",
        default="W1[0,0]",
        metavar="NAME",
        help="the parameter whose chain rule to write out: W1[0,0] (default), b2[0], or "
        "seed 003's names w1, w5, b3",
    )
    p.add_argument(
        "--optimizer",
        choices=["sgd", "adam"],
        help="also show the update this optimizer's next step would make",
    )
    p.add_argument("--lr", type=float, help="the optimizer's learning rate")
    add_impute_option(p)
    add_read_options(p)
    p.set_defaults(run=run)


def _row(frame, n: int, path: str):
    rows = len(frame)
    if not 0 <= n < rows:
        raise UserError(
            f"--row {n} is outside {path}, which has {rows} row{'s' * (rows != 1)} "
            f"(0 to {rows - 1})"
        )
    return frame.iloc[[n]].reset_index(drop=True)


def _optimizer(args):
    from .. import optimizers

    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    if args.optimizer is None:
        if args.lr is not None:
            raise UserError("--lr needs --optimizer (sgd or adam)")
        return None
    if args.optimizer == "sgd":
        return optimizers.SGD(args.lr if args.lr is not None else 0.01)
    return optimizers.Adam(args.lr if args.lr is not None else 1e-3)


def _tabular(model, row, args):
    """Inputs, target, loss and names for a TabularModel: the features after its own
    preprocessing, the row's target (or --target-value) encoded as training encoded it."""
    from ..tabular import PreprocessingError
    from ..tabular.encoding import is_missing, shown_level

    if args.target:
        raise UserError("--target is for a bare network; this model knows its target column")
    filled: dict[str, int] = {}
    try:
        X, warnings = model.transform(
            row, where=("row", args.row), impute=args.impute, filled=filled
        )
    except PreprocessingError as exc:
        raise UserError(said(exc)) from None
    for message in warnings:
        warn(message)
    warn_filled(filled)
    target = model.target
    value = None
    if args.target_value is not None:
        value = args.target_value
        if target.task == "classification":
            matches = [c for c in target.classes if str(c) == value]
            if not matches:
                shown = ", ".join(map(str, target.classes[:10]))
                raise UserError(
                    f"--target-value {value!r} is not one of the model's classes ({shown})"
                )
            value = matches[0]
        else:
            try:
                value = float(value)
            except ValueError:
                raise UserError(f"--target-value must be a number, got {value!r}") from None
    elif target.name in row.columns and not is_missing(row[target.name].to_numpy())[0]:
        value = row[target.name].iloc[0]
    y = None
    if value is not None:
        try:
            y = target.encode([value])
        except PreprocessingError as exc:
            raise UserError(said(exc)) from None
    loss = "cross_entropy" if target.task == "classification" else model.info.get("loss", "mse")
    outputs = [shown_level(str(c)) for c in target.classes] if target.classes else None
    return model.network, X, y, loss, _input_names(model.features, X[0]), outputs, value


def _input_names(features, x) -> list[str]:
    """The encoded inputs' names for one row ``x``; an embedded category's index input
    also names the level it holds (``team.level (Dortmund)``), which its number alone
    does not say."""
    from ..tabular.encoding import shown_level

    names = [shown_level(name, 60) for name in features.output_names]
    _, embedded = features.embedding_inputs()  # (position, levels), in column order
    columns = [column for column in features.columns if column.get("embed")]
    for (at, _), column in zip(embedded, columns):
        level, categories = int(x[at]), column["categories"]
        label = categories[level] if 0 <= level < len(categories) else "(other)"
        names[at] += f" ({printable(shown_level(label)) if label else '(missing)'})"
    return names


def _bare(net, row, args, names=None):
    """Inputs and target for a network file: numeric columns (or the estimator's own)."""
    frame = row
    y = None
    if args.target:
        if args.target not in frame.columns:
            raise UserError(f"{args.data} has no column {args.target!r}")
        y = frame[args.target].to_numpy(dtype=float)
        frame = frame.drop(columns=[args.target])
    if names is not None:
        absent = [n for n in names if n not in frame.columns]
        if absent:
            raise UserError(f"{args.data} has no column {absent[0]!r}; the model needs {names}")
        frame = frame[names]
    numeric = frame.select_dtypes("number")
    if numeric.shape[1] != net.input_size:
        raise UserError(
            f"{args.model} is a network with {net.input_size} inputs; {args.data} has "
            f"{numeric.shape[1]} numeric columns"
            + (" besides the target" if args.target else "")
            + ("" if args.target else " (give --target COL if one of them is the target)")
        )
    if args.target_value is not None:
        try:
            y = [float(v) for v in args.target_value.split(",")]
        except ValueError:
            raise UserError(
                f"--target-value must be numbers, comma-separated; got {args.target_value!r}"
            ) from None
    summary = net.training_summary or {}
    loss = summary.get("loss_name") or "mse"
    return numeric.to_numpy(dtype=float), y, loss, [str(c) for c in numeric.columns]


def run(args: argparse.Namespace) -> int:
    from .. import modelfile
    from ..network import Network

    data = data_file(args.data, "the data")
    model = modelfile.load(args.model)
    frame = read_table(data.path, read_options(args, model, data.path))
    row = _row(frame, args.row, args.data)
    opt = _optimizer(args)
    if hasattr(model, "features") and hasattr(model, "target"):  # a TabularModel
        net, X, y, loss, names, outputs, label = _tabular(model, row, args)
    elif isinstance(model, Network) or hasattr(model, "network_"):
        if args.impute:
            raise UserError("--impute needs a command-line model, which keeps what to fill with")
        net = model if isinstance(model, Network) else model.network_
        known = getattr(model, "feature_names_in_", None)
        X, y, loss, names = _bare(net, row, args, None if known is None else list(known))
        classes = getattr(model, "classes_", None)
        outputs = None
        if classes is not None and len(classes) == net.output_size:
            outputs = [str(c) for c in classes]
    else:
        raise UserError(f"{args.model} holds nothing that can be explained")
    if y is None and opt is not None:
        raise UserError("--optimizer needs the row's target (a target column or --target-value)")
    # names, levels and labels come from files: escaped before they reach the terminal
    names = [printable(n) for n in names]
    outputs = None if outputs is None else [printable(o) for o in outputs]
    try:
        # the prediction path (dropout off): the prediction shown is the one predict gives
        ex = net.explain(
            X,
            y,
            loss=loss,
            optimizer=opt,
            training=False,
            input_names=names,
            output_names=outputs,
        )
        if y is not None:
            text = ex.text(args.weight)
        else:
            text = str(ex)
    except ValueError as exc:
        raise UserError(said(exc)) from None
    features = ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, X[0]))
    print(f"row {args.row} of {printable(args.data)}, as the network sees it: {features}")
    if hasattr(model, "target") and hasattr(model, "features"):
        predicted = model.target.decode(ex.y_pred)[0]
        shown = f"{predicted:.6g}" if isinstance(predicted, float) else printable(predicted)
        truth = "" if label is None else f" (target: {printable(label)})"
        print(f"prediction: {shown}{truth}")
        target = model.target
        if target.task == "regression":  # the pass below is in the network's units
            mean, std = float(target.mean), float(target.std)
            print(
                f"the network works in standardised units of {printable(target.name)}: "
                f"(value - {mean:.6g}) / {std:.6g}; its output {float(ex.y_pred[0, 0]):.6g} "
                f"is the prediction {shown}"
                + ("" if label is None else ", and y_true below is the target's")
            )
    print()
    print(text)
    return 0
