"""glassnet train: fit a network to a data file and write a model file."""

from __future__ import annotations

import argparse
import os
import sys

from .common import UserError, check_writable, columns, read_table

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "train",
        help="train a network on a CSV file and write a model file",
        description="Train a network on a CSV file with a header row. Numeric feature columns "
        "are standardised and text columns one-hot encoded; the model file stores that "
        "preprocessing, so predictions are made the same way. A text target, or one with a "
        "few distinct integers, is a classification (softmax and cross-entropy); a real-valued "
        "target is a regression, scaled for training and unscaled for prediction.",
    )
    p.add_argument("data", metavar="DATA.csv", help="the training data ('-' for stdin)")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    p.add_argument(
        "--hidden",
        default="16,16",
        metavar="SIZES",
        help="hidden layer sizes, comma-separated (default: 16,16; 'none' for no hidden layer)",
    )
    p.add_argument(
        "--activation",
        default="relu",
        choices=["relu", "leaky_relu", "tanh", "sigmoid", "identity"],
        help="hidden activation (default: relu)",
    )
    p.add_argument(
        "--loss",
        default="auto",
        choices=["auto", "mse", "mae", "huber", "cross_entropy"],
        help="default: cross_entropy for classification, mse for regression",
    )
    p.add_argument(
        "--optimizer",
        default="adam",
        choices=["adam", "sgd"],
        help="default: adam (sgd uses momentum 0.9)",
    )
    p.add_argument("--lr", type=float, help="learning rate (default: 1e-3 adam, 0.01 sgd)")
    p.add_argument("--epochs", type=int, default=200, help="default: 200")
    p.add_argument(
        "--batch-size", default="32", metavar="N", help="samples per step, or 'full' (default: 32)"
    )
    p.add_argument(
        "--val-split",
        type=float,
        default=0.2,
        metavar="F",
        help="fraction held out for validation (default: 0.2; 0 for none)",
    )
    p.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the validation loss stops improving; keep the best weights",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=10,
        help="epochs without improvement before early stopping (default: 10)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression"],
        help="override the automatic choice",
    )
    p.add_argument(
        "--impute",
        action="store_true",
        help="fill missing feature values (mean, or most frequent text)",
    )
    p.add_argument("--ignore", metavar="COLS", help="columns to leave out, comma-separated")
    p.add_argument(
        "--features", metavar="COLS", help="use only these feature columns, comma-separated"
    )
    p.add_argument(
        "--out",
        default="model.glassnet",
        metavar="MODEL",
        help="the model file to write (default: model.glassnet)",
    )
    p.add_argument("--plot", metavar="PNG", help="also draw the loss curve into this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


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


class _ProgressBar:
    """A tqdm bar over epochs showing the loss and validation loss, opened when training starts."""

    def __init__(self, epochs: int, disable: bool):
        from ..training import Callback

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


def run(args: argparse.Namespace) -> int:
    from ..tabular import PreprocessingError, TabularModel, format_metrics

    check_writable(args.out, "--out")
    if args.plot:
        check_writable(args.plot, "--plot")
    frame = read_table(args.data)
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
            ignore=columns(args.ignore),
            features=columns(args.features) or None,
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
        from .. import plot

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
