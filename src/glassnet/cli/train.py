"""glassnet train: fit a network to a data file and write a model file."""

from __future__ import annotations

import argparse
import os
import sys

from . import on_dask
from .common import (
    UserError,
    add_chunk_rows,
    add_read_options,
    atomic_path,
    check_distinct,
    check_input,
    check_output,
    columns,
    printable,
    progress_line,
    read_options,
    say,
    warn,
)

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "train",
        help="train a network on a data file and write a model file",
        description="Train a network on a data file (CSV, TSV, Parquet, Feather, JSON Lines) "
        "with a header row. Numbers, booleans and date parts are standardised and categories "
        "one-hot encoded, all fitted on the training rows only; the model file stores that "
        "preprocessing, so predictions are made the same way. A text target, or one with a "
        "few distinct integers, is a classification (softmax and cross-entropy); a real-valued "
        "target is a regression, scaled for training and unscaled for prediction. By default "
        "20%% of the rows (stratified by class) are held out, training stops when their loss "
        "stops improving, and the best epoch's weights are kept.",
    )
    p.add_argument("data", metavar="DATA", help="the training data ('-' for CSV on stdin)")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    model = p.add_argument_group("the network and its training")
    model.add_argument(
        "--hidden",
        default="16,16",
        metavar="SIZES",
        help="hidden layer sizes, comma-separated (default: 16,16; 'none' for no hidden layer)",
    )
    model.add_argument(
        "--activation",
        default="relu",
        choices=["relu", "leaky_relu", "tanh", "sigmoid", "identity"],
        help="hidden activation (default: relu)",
    )
    model.add_argument(
        "--loss",
        default="auto",
        choices=["auto", "mse", "mae", "huber", "cross_entropy"],
        help="default: cross_entropy for classification, mse for regression",
    )
    model.add_argument(
        "--optimizer",
        choices=["adam", "sgd", "lbfgs"],
        help="default: adam (sgd uses momentum 0.9); with --dask, lbfgs (the default there)",
    )
    model.add_argument("--lr", type=float, help="learning rate (default: 1e-3 adam, 0.01 sgd)")
    model.add_argument("--epochs", type=int, default=200, help="at most this many (default: 200)")
    model.add_argument(
        "--batch-size", default="32", metavar="N", help="samples per step, or 'full' (default: 32)"
    )
    model.add_argument(
        "--val-split",
        type=float,
        default=0.2,
        metavar="F",
        help="fraction held out for validation, stratified by class (default: 0.2; 0 for none)",
    )
    model.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stop when the validation loss stops improving and keep the best epoch's "
        "weights (default: on; --no-early-stopping trains every epoch)",
    )
    model.add_argument(
        "--patience",
        type=int,
        default=10,
        help="epochs without improvement before early stopping (default: 10)",
    )
    model.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    model.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression"],
        help="override the automatic choice",
    )
    cols = p.add_argument_group("the columns")
    cols.add_argument("--ignore", metavar="COLS", help="columns to leave out, comma-separated")
    cols.add_argument(
        "--features", metavar="COLS", help="use only these feature columns, comma-separated"
    )
    cols.add_argument(
        "--categorical",
        metavar="COLS",
        help="treat these columns as categories (integer codes, say), comma-separated",
    )
    cols.add_argument(
        "--numeric", metavar="COLS", help="treat these columns as numbers, comma-separated"
    )
    cols.add_argument(
        "--max-categories",
        type=int,
        metavar="N",
        help="at most N one-hot columns per categorical column: the N-1 most frequent "
        "values and one for all others",
    )
    cols.add_argument(
        "--impute",
        action="store_true",
        help="fill missing feature values (the training mean, or the most frequent value)",
    )
    cols.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="drop rows whose target is missing (otherwise they are an error)",
    )
    add_read_options(p)
    out = p.add_argument_group("outputs")
    out.add_argument(
        "--out",
        default="model.glassnet",
        metavar="MODEL",
        help="the model file to write (default: model.glassnet)",
    )
    out.add_argument(
        "--plot", metavar="FILE", help="also draw the loss curve (.png, .pdf, .svg, ...)"
    )
    out.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write a self-contained HTML report: the data, the network, loss curves, "
        "metrics, weights and, for two features, the decision boundary as training went on",
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    add_stream_options(p)
    on_dask.add_options(p)
    p.set_defaults(run=run)


def add_stream_options(p) -> None:
    """--stream, --chunk-rows, --buffer-rows, --memory-budget: data larger than memory."""
    g = p.add_argument_group("data larger than memory")
    g.add_argument(
        "--stream",
        action="store_true",
        help="read the file in chunks (several passes: statistics, validation rows, one per "
        "epoch) instead of loading it; memory is bounded by the chunk and buffer sizes",
    )
    add_chunk_rows(g, "read, when streaming,")
    g.add_argument(
        "--buffer-rows",
        type=int,
        default=65_536,
        metavar="N",
        help="rows of the shuffle buffer that mixes the chunks when streaming (default: 65536)",
    )
    g.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="stream (and say so) when training in memory would take more than SIZE, "
        "e.g. 2GiB or 500MB",
    )


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2}
_UNITS.update({"mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3})
_UNITS.update({"t": 1000**4, "tb": 1000**4, "tib": 1024**4})


def memory_size(text: str) -> int:
    """Bytes from '2GiB', '500MB', '1.5G' or '1000000'."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match and match.group(2).lower()
    if not match or unit not in _UNITS or float(match.group(1)) <= 0:
        raise UserError(f"--memory-budget takes a size such as 2GiB, 500MB or 800MiB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def _choose_streaming(args, options) -> bool:
    """Whether to stream: --stream, or --memory-budget exceeded (said on stderr)."""
    budget = memory_size(args.memory_budget) if args.memory_budget else None
    for flag, value, least in (
        ("--chunk-rows", args.chunk_rows, 1),
        ("--buffer-rows", args.buffer_rows, 0),
    ):
        if value < least:
            raise UserError(f"{flag} must be at least {least}, got {value}")
    if not args.stream and budget is None:
        return False
    if args.data == "-":
        raise UserError("streaming reads the data several times; give a file, not standard input")
    if args.report:
        raise UserError("--report needs the data in memory; leave it out when streaming")
    if args.stream:
        return True
    from ..tabular import DataFileError
    from ..tabular.encoding import human_bytes
    from ..tabular.streaming import estimate_in_memory

    try:
        needed, rows, width = estimate_in_memory(args.data, options)
    except DataFileError as exc:
        raise UserError(str(exc)) from None
    if needed <= budget:
        return False
    warn_line(
        f"training in memory would take about {human_bytes(needed)} (some {rows} rows, "
        f"{width} encoded columns), more than --memory-budget {human_bytes(budget)}: "
        f"streaming in chunks of {args.chunk_rows} rows instead"
    )
    return True


def warn_line(message: str) -> None:
    """A note on stderr, not a warning: ``glassnet: ...``."""
    import contextlib

    with contextlib.suppress(OSError):
        sys.stderr.write(f"glassnet: {printable(message)}\n")
        sys.stderr.flush()


def _fit_streamed(args, options, **fit_options):
    """TabularModel.fit_stream with the command's options; (model, history)."""
    from ..tabular import TabularModel

    fit_options.pop("where", None)
    return TabularModel.fit_stream(
        args.data,
        args.target,
        chunk_rows=args.chunk_rows,
        buffer_rows=args.buffer_rows,
        read_options=options,
        **fit_options,
    )


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


def _progress(epochs: int, disable: bool):
    """The engine's tqdm bar over epochs, on stderr, with the loss and validation loss."""
    try:
        from tqdm import tqdm
    except ImportError:
        raise UserError(
            "the command line needs tqdm for its progress bar: pip install 'glassnet[cli]'"
        ) from None
    from ..training import ProgressBar

    def bar(**kwargs):
        return tqdm(**kwargs, file=sys.stderr, disable=disable, dynamic_ncols=True)

    class Update(ProgressBar):
        def on_train_begin(self, net, history):
            super().on_train_begin(net, history)
            progress_line(not disable)  # a Ctrl-C message must start on a fresh line

        def on_train_end(self, net, history):
            super().on_train_end(net, history)
            progress_line(False)

    return Update(bar, epochs)


def check_plot_path(path: str, flag: str, inputs) -> None:
    """A figure path must have an extension matplotlib writes, and matplotlib must be there."""
    check_output(path, flag, inputs)
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(f"{flag} needs matplotlib: pip install 'glassnet[plot]'") from None
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise UserError(
            f"{flag} {printable(path)}: cannot draw a .{printable(ext) or '(no extension)'} "
            f"file; use one of {', '.join('.' + e for e in sorted(supported))}"
        )


def check_report_path(path: str, inputs) -> None:
    """The report: an .html file, writable, not an input, and not a file that is no report."""
    check_output(path, "--report", inputs)
    if os.path.splitext(path)[1].lower() not in (".html", ".htm"):
        raise UserError(f"--report {printable(path)}: the report is an HTML file; name it .html")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--report needs matplotlib: pip install 'glassnet[plot]'") from None
    if os.path.exists(path):
        from ..reporting import is_report

        if not is_report(path):
            raise UserError(
                f"--report {printable(path)} exists and is not a glassnet report; refusing to "
                "replace it (remove it, or choose another name)"
            )


def save_figure(fig, path: str) -> None:
    """Write a figure atomically, in the format its extension names."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=ext, dpi=120)


def check_model_out(path: str, inputs) -> None:
    """The model path: writable, not an input, and not a file that is not a model."""
    check_output(path, "--out", inputs)
    if os.path.exists(path):
        from .. import modelfile

        try:
            modelfile.read_metadata(path)
        except (modelfile.ModelFileError, ValueError, OSError):
            raise UserError(
                f"--out {printable(path)} exists and is not a glassnet model file; refusing "
                "to replace it (remove it, or choose another name)"
            ) from None


def fit_options(args: argparse.Namespace, hidden: list[int], batch_size: int | None) -> dict:
    """The options of the network, its training and the columns, as the fits take them."""
    return {
        "hidden": hidden,
        "activation": args.activation,
        "loss": args.loss,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "epochs": args.epochs,
        "batch_size": batch_size,
        "val_split": args.val_split,
        "early_stopping": args.early_stopping,
        "patience": args.patience,
        "seed": args.seed,
        "impute": args.impute,
        "task": args.task,
        "ignore": columns(args.ignore),
        "features": columns(args.features) or None,
        "categorical": columns(args.categorical),
        "numeric": columns(args.numeric),
        "max_categories": args.max_categories,
        "drop_missing_target": args.drop_missing_target,
    }


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.val_split < 1:
        raise UserError(f"--val-split must be in [0, 1), got {args.val_split}")
    if args.patience < 1:
        raise UserError(f"--patience must be at least 1, got {args.patience}")
    if args.max_categories is not None and args.max_categories < 2:
        raise UserError(f"--max-categories must be at least 2, got {args.max_categories}")
    hidden = _hidden_sizes(args.hidden)
    batch_size = _batch_size(args.batch_size)
    if args.dask and (args.stream or args.memory_budget):
        raise UserError(
            "--stream and --memory-budget train on this machine; leave them out with --dask"
        )
    if args.dask:
        files, inputs = on_dask.check(args, batch_size)
    else:
        on_dask.check_without(args)
        args.optimizer = args.optimizer or "adam"
        check_input(args.data, "the training data")
        inputs = [(args.data, "the training data")]
    check_model_out(args.out, inputs)
    if args.plot:
        check_plot_path(args.plot, "--plot", inputs)
    if args.report:
        check_report_path(args.report, inputs)
    check_distinct([(args.out, "--out"), (args.plot, "--plot"), (args.report, "--report")])
    progress = _progress(args.epochs, disable=args.quiet)
    callbacks = [progress]
    if args.dask:
        try:
            model, history = on_dask.fit(args, files, hidden, batch_size, callbacks)
        finally:
            progress_line(False)
        return _finish(args, model, history)
    options = read_options(args)

    import warnings

    from ..tabular import DataFileError, OverfittingWarning, PreprocessingError, TabularModel
    from ..tabular.reading import read_table, row_numbering

    streaming = _choose_streaming(args, options)
    if streaming and batch_size is None:
        raise UserError("--batch-size full needs the data in memory; give a number to stream")
    frame = None
    if not streaming:
        try:
            frame = read_table(args.data, options)
        except DataFileError as exc:
            raise UserError(str(exc)) from None
    snapshots = None
    if args.report:
        from ..reporting import Snapshots

        snapshots = Snapshots()  # the decision boundary as training went on
        callbacks.append(snapshots)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverfittingWarning)  # printed below, our way
            given = dict(
                **fit_options(args, hidden, batch_size),
                callbacks=callbacks,
                source=os.path.basename(args.data) if args.data != "-" else "stdin",
                where=row_numbering(args.data),
            )
            if streaming:
                model, history = _fit_streamed(args, options, **given)
            else:
                model, history = TabularModel.fit(frame, args.target, **given)
    except DataFileError as exc:
        raise UserError(str(exc)) from None
    except PreprocessingError as exc:
        raise UserError(str(exc)) from None
    finally:
        progress_line(False)
    report = (frame, snapshots) if args.report else None
    del frame  # the report needs the data; nothing else does
    return _finish(args, model, history, report)


def _finish(args, model, history, report=None) -> int:
    """Print the summary, write the model, and the figures asked for (``report``: the
    data and its snapshots, for --report)."""
    from ..tabular import format_metrics as fmt

    info = model.info
    net = model.network
    sizes = " -> ".join([str(net.input_size)] + [str(layer.units) for layer in net.layers])
    rows = f"{info['rows']} rows"
    if info["dropped_missing_target"]:
        rows += f" ({info['dropped_missing_target']} without a target dropped)"
    if info["validation_rows"]:
        strat = ", stratified" if info["stratified"] else ""
        rows += (
            f": {info['training_rows']} for training, {info['validation_rows']} held out "
            f"for validation{strat}"
        )
    lines = [f"trained {sizes} ({info['task']}) on {rows}"]
    if info.get("cluster"):
        lines.append(on_dask.describe(info["cluster"]))
    if "streamed" in info:
        lines.append(_streamed_line(info))
    stop = f", stopped early (no improvement in {args.patience})" if history.stopped_early else ""
    val = (
        f", validation loss {info['epoch_val_loss']:.6g}"
        if info["epoch_val_loss"] is not None
        else ""
    )
    if info["restored_epoch"]:
        lines.append(
            f"epochs: {history.epochs}{stop}; kept the weights of epoch {info['restored_epoch']}: "
            f"loss {info['epoch_loss']:.6g}{val}"
        )
    else:
        lines.append(f"epochs: {history.epochs}; final loss {info['epoch_loss']:.6g}{val}")
    lines.append(f"training:   {fmt(info['train_metrics'])}")
    if info["validation_metrics"]:
        lines.append(f"validation: {fmt(info['validation_metrics'])}")
    say(*lines)
    for note in info["warnings"]:
        warn(note + " (the default; drop --no-early-stopping)")
    try:
        model.save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {printable(args.out)}: {exc.strerror or exc}") from None
    say(f"model written to {printable(args.out)}")
    if args.plot:
        from .. import plot

        save_figure(
            plot.loss_curve(history, title=f"{printable(args.target)}: loss per epoch"), args.plot
        )
        say(f"loss curve written to {printable(args.plot)}")
    if args.report:
        from ..reporting import training_report

        frame, snapshots = report
        training_report(
            model, history, frame, args.report, data_path=args.data, snapshots=snapshots
        )
        say(f"report written to {printable(args.report)}")
    return 0


def _streamed_line(info: dict) -> str:
    stream = info["streamed"]
    held = stream["held_out_rows"] - info["validation_rows"]
    extra = f" ({held} more held-out rows trained on)" if held > 0 else ""
    return (
        f"streamed from the file in chunks of {stream['chunk_rows']} rows, through a "
        f"shuffle buffer of {stream['buffer_rows']} rows{extra}"
    )
