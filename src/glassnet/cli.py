"""The glassnet command: from a CSV file to a model file to predictions.

    glassnet train DATA.csv --target COL [options]    train, print metrics, write a model
    glassnet predict MODEL DATA.csv [--out F]         predictions as CSV
    glassnet inspect MODEL [--weights]                layers, preprocessing, training summary
    glassnet demo [xor|gender|exam|all]               the seed stories

A user error never shows a traceback: it prints one line, ``glassnet: error: ...``,
and exits with status 2. ``--debug`` shows the traceback of anything unexpected.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from . import __version__

__all__ = ["main", "build_parser"]


class UserError(Exception):
    """An error in what the user asked for, reported as one line."""


# --- reading and writing tables ------------------------------------------------------------


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise UserError(
            "the command line needs pandas to read CSV files: pip install 'glassnet[cli]'"
        ) from None
    return pd


def read_csv(path: str):
    pd = _pandas()
    if path != "-" and not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if path != "-" and os.path.isdir(path):
        raise UserError(f"{path} is a folder, not a CSV file")
    try:
        frame = pd.read_csv(sys.stdin if path == "-" else path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"cannot parse {path} as CSV: {first}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file") from None
    if len(frame) == 0:
        raise UserError(f"{path} has a header but no rows")
    return frame


def _check_writable(path: str, flag: str) -> None:
    """Fail before the work, not after it, when an output path cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"{flag} {path} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{flag} {path}: the folder {folder} is not writable")


def _write_csv(frame, path: str | None) -> None:
    if path is None:
        frame.to_csv(sys.stdout, index=False)
        return
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


# --- train ------------------------------------------------------------------------------------


def _hidden_sizes(text: str) -> list[int]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(
            f"--hidden takes layer sizes separated by commas, like 16,16; got {text!r}"
        ) from None
    if any(s <= 0 for s in sizes):
        raise UserError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _batch_size(text: str) -> int | None:
    if text.lower() in ("full", "all", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"--batch-size takes a positive integer or 'full', got {text!r}") from None
    if value < 1:
        raise UserError(f"--batch-size must be at least 1, got {value}")
    return value


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


class _ProgressBar:
    """A tqdm bar over epochs showing the loss and validation loss, opened when training starts."""

    def __init__(self, epochs: int, disable: bool):
        from .training import Callback

        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise UserError(
                "the command line needs tqdm for its progress bar: pip install 'glassnet[cli]'"
            ) from None

        class Update(Callback):
            def on_train_begin(self, net, history):
                self.bar = tqdm(
                    total=epochs,
                    unit="epoch",
                    desc="training",
                    file=sys.stderr,
                    disable=disable,
                    dynamic_ncols=True,
                    leave=True,
                )

            def on_epoch_end(self, net, history):
                postfix = {"loss": f"{history.loss[-1]:.4g}"}
                if history.val_loss:
                    postfix["val_loss"] = f"{history.val_loss[-1]:.4g}"
                self.bar.set_postfix(postfix, refresh=False)
                self.bar.update(1)

            def on_train_end(self, net, history):
                self.bar.close()

        self.callback = Update()


def _cmd_train(args: argparse.Namespace) -> int:
    from .preprocessing import PreprocessingError
    from .tabular import TabularModel, format_metrics

    _check_writable(args.out, "--out")
    if args.plot:
        _check_writable(args.plot, "--plot")
    frame = read_csv(args.data)
    if args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.val_split < 1:
        raise UserError(f"--val-split must be in [0, 1), got {args.val_split}")
    progress = _ProgressBar(args.epochs, disable=args.quiet)
    try:
        model, history = TabularModel.fit(
            frame,
            args.target,
            hidden=_hidden_sizes(args.hidden),
            activation=args.activation,
            loss=args.loss,
            optimizer=args.optimizer,
            lr=args.lr,
            epochs=args.epochs,
            batch_size=_batch_size(args.batch_size),
            val_split=args.val_split,
            early_stopping=args.early_stopping,
            patience=args.patience,
            seed=args.seed,
            impute=args.impute,
            task=args.task,
            ignore=_columns(args.ignore),
            features=_columns(args.features) or None,
            callbacks=[progress.callback],
            source=os.path.basename(args.data),
        )
    except PreprocessingError as exc:
        raise UserError(str(exc)) from None
    info = model.info
    net = model.network
    sizes = " -> ".join([str(net.input_size)] + [str(layer.units) for layer in net.layers])
    held = (
        f" ({info['validation_rows']} held out for validation)" if info["validation_rows"] else ""
    )
    print(f"trained {sizes} ({info['task']}) on {info['rows']} rows{held}")
    stop = ", stopped early" if history.stopped_early else ""
    print(
        f"epochs: {history.epochs}{stop}; final loss {history.loss[-1]:.6g}"
        + (f", validation loss {history.val_loss[-1]:.6g}" if history.val_loss else "")
    )
    print(f"training:   {format_metrics(info['train_metrics'])}")
    if info["validation_metrics"]:
        print(f"validation: {format_metrics(info['validation_metrics'])}")
    try:
        model.save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"model written to {args.out}")
    if args.plot:
        from . import plot

        plot.save_figures(
            os.path.dirname(os.path.abspath(args.plot)),
            {
                os.path.basename(args.plot): plot.loss_curve(
                    history, title=f"training loss: {args.target}"
                )
            },
        )
        print(f"loss curve written to {args.plot}")
    return 0


# --- predict ------------------------------------------------------------------------------------


def _cmd_predict(args: argparse.Namespace) -> int:
    from . import io
    from .network import Network
    from .preprocessing import PreprocessingError
    from .tabular import TabularModel

    if args.out:
        _check_writable(args.out, "--out")
    model = io.load(args.model)
    frame = read_csv(args.data)
    pd = _pandas()
    keep = _columns(args.keep)
    for name in keep:
        if name not in frame.columns:
            raise UserError(f"--keep names column {name!r}, which {args.data} does not have")
    out = pd.DataFrame({name: frame[name] for name in keep})
    try:
        if isinstance(model, TabularModel):
            X, warnings = model.transform(frame)
            for message in warnings:
                print(f"glassnet: warning: {message}", file=sys.stderr)
            output = model.network.predict(X)
            out[model.target.name] = model.target.decode(output)
            if args.proba:
                if model.target.task != "classification":
                    raise UserError("--proba needs a classification model; this one is regression")
                for j, label in enumerate(model.target.classes):
                    out[f"proba_{label}"] = output[:, j]
        elif isinstance(model, Network):
            numeric = frame.select_dtypes("number")
            if numeric.shape[1] != model.input_size:
                raise UserError(
                    f"{args.model} is a bare network with {model.input_size} inputs and no column "
                    f"names; {args.data} has {numeric.shape[1]} numeric columns"
                )
            output = model.predict(numeric.to_numpy())
            for j in range(output.shape[1]):
                out[f"output_{j}" if output.shape[1] > 1 else "output"] = output[:, j]
        elif hasattr(model, "predict"):  # a scikit-learn drop-in estimator
            names = getattr(model, "feature_names_in_", None)
            data = frame[list(names)] if names is not None else frame.select_dtypes("number")
            out["prediction"] = model.predict(data.to_numpy() if names is None else data)
            if args.proba and hasattr(model, "predict_proba"):
                proba = model.predict_proba(data.to_numpy() if names is None else data)
                for j, label in enumerate(model.classes_):
                    out[f"proba_{label}"] = proba[:, j]
        else:
            raise UserError(f"{args.model} holds nothing that can predict")
    except PreprocessingError as exc:
        raise UserError(str(exc)) from None
    except KeyError as exc:
        raise UserError(f"{args.data} has no column {exc.args[0]!r}") from None
    _write_csv(out, args.out)
    if args.out:
        print(f"{len(out)} predictions written to {args.out}", file=sys.stderr)
    return 0


# --- inspect -------------------------------------------------------------------------------------


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
    from .layers import Dense

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


def _cmd_inspect(args: argparse.Namespace) -> int:
    from . import io
    from .network import Network
    from .tabular import TabularModel, format_metrics

    model = io.load(args.model)
    doc = io.read_metadata(args.model)
    kinds = {
        "tabular": "a command-line model (preprocessing + network)",
        "network": "a glassnet Network",
        "MLPClassifier": "a glassnet MLPClassifier (scikit-learn drop-in)",
        "MLPRegressor": "a glassnet MLPRegressor (scikit-learn drop-in)",
    }
    print(f"{args.model}: {kinds.get(doc['kind'], doc['kind'])}")
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
        val_loss = info.get("final_val_loss")
        print(
            f"  epochs: {info.get('epochs')}{early}; final loss {info.get('final_loss'):.6g}"
            + (f", validation loss {val_loss:.6g}" if val_loss is not None else "")
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
    return 0


# --- demo ---------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demos

    demos.run(args.name, stream=sys.stdout, plot_dir=args.plot)
    if args.plot:
        print(f"\nfigures written to {args.plot}/")
    return 0


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="A NumPy neural-network library in which nothing is hidden.",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train",
        help="train a network on a CSV file and write a model file",
        description="Train a network on a CSV file with a header row. Numeric feature columns "
        "are standardised and text columns one-hot encoded; the model file stores that "
        "preprocessing, so predictions are made the same way. A text target, or one with a "
        "few distinct integers, is a classification (softmax and cross-entropy); a real-valued "
        "target is a regression, scaled for training and unscaled for prediction.",
    )
    train.add_argument("data", metavar="DATA.csv", help="the training data ('-' for stdin)")
    train.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    train.add_argument(
        "--hidden",
        default="16,16",
        metavar="SIZES",
        help="hidden layer sizes, comma-separated (default: 16,16; 'none' for no hidden layer)",
    )
    train.add_argument(
        "--activation",
        default="relu",
        choices=["relu", "leaky_relu", "tanh", "sigmoid", "identity"],
        help="hidden activation (default: relu)",
    )
    train.add_argument(
        "--loss",
        default="auto",
        choices=["auto", "mse", "mae", "huber", "cross_entropy"],
        help="default: cross_entropy for classification, mse for regression",
    )
    train.add_argument(
        "--optimizer",
        default="adam",
        choices=["adam", "sgd"],
        help="default: adam (sgd uses momentum 0.9)",
    )
    train.add_argument("--lr", type=float, help="learning rate (default: 1e-3 adam, 0.01 sgd)")
    train.add_argument("--epochs", type=int, default=200, help="default: 200")
    train.add_argument(
        "--batch-size", default="32", metavar="N", help="samples per step, or 'full' (default: 32)"
    )
    train.add_argument(
        "--val-split",
        type=float,
        default=0.2,
        metavar="F",
        help="fraction held out for validation (default: 0.2; 0 for none)",
    )
    train.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the validation loss stops improving; keep the best weights",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=10,
        help="epochs without improvement before early stopping (default: 10)",
    )
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression"],
        help="override the automatic choice",
    )
    train.add_argument(
        "--impute",
        action="store_true",
        help="fill missing feature values (mean, or most frequent text)",
    )
    train.add_argument("--ignore", metavar="COLS", help="columns to leave out, comma-separated")
    train.add_argument(
        "--features", metavar="COLS", help="use only these feature columns, comma-separated"
    )
    train.add_argument(
        "--out",
        default="model.glassnet",
        metavar="MODEL",
        help="the model file to write (default: model.glassnet)",
    )
    train.add_argument("--plot", metavar="PNG", help="also draw the loss curve into this PNG")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_cmd_train)

    predict = sub.add_parser(
        "predict",
        help="predict from a CSV file with a model file",
        description="Predict for every row of a CSV file. Columns are matched to the model's by "
        "name (a target column in the file is ignored), the stored preprocessing is applied, "
        "and a CSV with a column named after the target is written.",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file from 'glassnet train'")
    predict.add_argument("data", metavar="DATA.csv", help="the rows to predict ('-' for stdin)")
    predict.add_argument("--out", metavar="PREDS.csv", help="write here instead of stdout")
    predict.add_argument("--proba", action="store_true", help="add a probability column per class")
    predict.add_argument(
        "--keep", metavar="COLS", help="copy these input columns (an id, say) into the output"
    )
    predict.set_defaults(func=_cmd_predict)

    inspect = sub.add_parser(
        "inspect",
        help="show a model file's layers, preprocessing and training summary",
        description="Show the layers, shapes, activations and parameter count, the "
        "preprocessing, and how the model was trained.",
    )
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument(
        "--weights", action="store_true", help="print every weight matrix and bias, labelled"
    )
    inspect.set_defaults(func=_cmd_inspect)

    demo = sub.add_parser(
        "demo",
        help="retell the seed tutorials: data, training, predictions, weights",
        description="Retell the seed tutorials: the data and the network, the training "
        "with its loss printed as the seeds print it, and the predictions, learned weights "
        "and hidden activations.",
    )
    demo.add_argument(
        "name",
        nargs="?",
        default="all",
        choices=["xor", "gender", "exam", "all"],
        help="which story to tell (default: all)",
    )
    demo.add_argument("--plot", metavar="DIR", help="also write the figures as PNGs into DIR")
    demo.set_defaults(func=_cmd_demo)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    from .io import ModelFileError
    from .training import NonFiniteLossError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UserError, ModelFileError, NonFiniteLossError, ValueError, TypeError) as exc:
        if args.debug:
            raise
        parser.exit(2, f"glassnet: error: {_one_line(exc)}\n")
    except ImportError as exc:
        parser.exit(2, f"glassnet: error: {_one_line(exc)}\n")
    except OSError as exc:
        if args.debug:
            raise
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        parser.exit(2, f"glassnet: error: {exc.strerror or _one_line(exc)}{where}\n")
    except KeyboardInterrupt:
        parser.exit(130, "glassnet: interrupted\n")
    except Exception as exc:  # a bug in glassnet, not the user's doing
        if args.debug:
            raise
        parser.exit(
            70,
            f"glassnet: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for the traceback, and please report it)\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
