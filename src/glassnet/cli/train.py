"""glassnet train: fit a network to a data file and write a model file.

The checks come first (the options, the data file, every output path), then the
reading and the training, then the summary; the model file, and the loss curve and the
report when asked for, are written aside and put in place together at the end
(:mod:`.outputs`). In memory by default; streamed from the file with --stream or
--memory-budget (:mod:`.streaming`); on a Dask cluster with --dask (:mod:`.on_dask`).
"""

from __future__ import annotations

import argparse
import os

from . import fitting, on_dask, streaming
from .common import (
    UserError,
    add_read_options,
    printable,
    read_options,
    reading_of,
    said,
    say,
    warn,
)
from .inputs import data_file
from .outputs import check_distinct, check_output, check_plot_path, save_figure
from .progress import progress_bar

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
        "20% of the rows (stratified by class) are held out, training stops when their loss "
        "stops improving, and the best epoch's weights are kept.",
    )
    p.add_argument("data", metavar="DATA", help="the training data ('-' for CSV on stdin)")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    fitting.add_network_options(p)
    fitting.add_column_options(p)
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
        "--mlflow",
        action="store_true",
        help="also log the run to MLflow: the options, every epoch's losses, the final "
        "metrics and the model (to MLFLOW_TRACKING_URI, else ./mlruns; MLFLOW_EXPERIMENT_NAME "
        "chooses the experiment)",
    )
    out.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write a self-contained HTML report: the data, the network, loss curves, "
        "metrics, weights and, for two features, the decision boundary as training went on",
    )
    streaming.add_stream_options(p)
    on_dask.add_options(p)
    p.set_defaults(run=run)


def check_report_path(path: str, inputs) -> None:
    """The report: an .html file, writable, not an input, and not a file that is no report."""
    check_output(path, "--report", inputs)
    if os.path.splitext(path)[1].lower() not in (".html", ".htm"):
        raise UserError(f"--report {printable(path)}: the report is an HTML file; name it .html")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--report needs matplotlib: pip install 'glassnet[plot]'") from None
    from ..reporting import ReportError, check_destination

    try:
        check_destination(path)  # writable, and not a file that is no report
    except ReportError as exc:
        raise UserError(f"--report: {exc}") from None


def check_model_out(path: str, inputs) -> None:
    """The model path: writable, not an input, and not a file that is not a model."""
    check_output(path, "--out", inputs)
    from .. import modelfile

    try:
        modelfile.check_destination(path)
    except modelfile.ModelFileError as exc:
        raise UserError(f"--out: {printable(str(exc))}") from None


def run(args: argparse.Namespace) -> int:
    hidden, batch_size = fitting.checked(args)
    if args.dask and (args.stream or args.memory_budget):
        raise UserError(
            "--stream and --memory-budget train on this machine; leave them out with --dask"
        )
    if args.dask:
        files, inputs = on_dask.check(args, batch_size)
    else:
        on_dask.check_without(args)
        args.optimizer = args.optimizer or "adam"
        data = data_file(args.data, "the training data")
        inputs = [data]
    check_model_out(args.out, inputs)
    if args.plot:
        check_plot_path(args.plot, "--plot", inputs)
    if args.report:
        check_report_path(args.report, inputs)
    check_distinct([(args.out, "--out"), (args.plot, "--plot"), (args.report, "--report")])
    if args.mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            raise UserError("--mlflow needs MLflow: pip install 'glassnet[mlflow]'") from None
    if args.dask:
        with progress_bar(args.epochs, args.interrupts, hidden=args.quiet) as bar:
            model = on_dask.fit(args, files, hidden, batch_size, [bar])
        return _finish(args, model, model.history)
    options = read_options(args)

    import warnings

    from ..tabular import DataFileError, PreprocessingError, TabularModel, TrainingWarning
    from ..tabular.reading import read_table

    streamed = streaming.choose(args, data, options)
    if streamed and batch_size is None:
        raise UserError("--batch-size full needs the data in memory; give a number to stream")
    frame = None
    if not streamed:
        try:
            frame = read_table(data.path, options)
        except DataFileError as exc:
            raise UserError(said(exc)) from None
    snapshots = None
    if args.report:
        from ..reporting import Snapshots

        snapshots = Snapshots()  # the decision boundary as training went on
    given = dict(fitting.fit_options(args, hidden, batch_size), source=data.source)
    try:
        with (
            progress_bar(args.epochs, args.interrupts, hidden=args.quiet) as bar,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", TrainingWarning)  # printed below, our way
            callbacks = [bar] if snapshots is None else [bar, snapshots]
            if streamed:
                model = streaming.fit(args, data, options, **given, callbacks=callbacks)
            else:
                model = TabularModel.fit(
                    frame, args.target, **given, callbacks=callbacks, where=data.numbering
                )
    except (DataFileError, PreprocessingError) as exc:
        raise UserError(said(exc)) from None
    report = (frame, snapshots, data.path) if args.report else None
    del frame  # the report needs the data; nothing else does
    return _finish(args, model, model.history, report)


def _finish(args, model, history, report=None) -> int:
    """Print the summary; write the model, and the figures asked for (``report``: the
    data, its snapshots and its path, for --report), and put them in place."""
    if reading := reading_of(args):  # predict, evaluate and explain read the same way
        model.info["read"] = reading
    say(*_summary(model))
    from ..tabular.fixes import spell

    for note in model.info.get("warnings_marked", model.info["warnings"]):
        warn(spell(note, "command line"))
    page = None
    if args.report:  # built before anything is written: if it cannot be, nothing is
        from ..reporting import ReportError, build_report

        frame, snapshots, _ = report
        try:
            page = build_report(model, history, frame, snapshots=snapshots)
        except ReportError as exc:
            raise UserError(
                f"--report {printable(args.report)}: {exc}; nothing was written"
            ) from None
    outputs = args.outputs
    try:
        model.save(outputs.path(args.out))
    except OSError as exc:
        raise UserError(f"cannot write {printable(args.out)}: {exc.strerror or exc}") from None
    written = [f"model written to {printable(args.out)}"]
    if args.plot:
        from .. import plot

        title = f"{printable(args.target)}: loss per epoch"
        save_figure(plot.loss_curve(history, title=title), outputs.path(args.plot))
        written.append(f"loss curve written to {printable(args.plot)}")
    if args.report:
        from ..reporting import ReportError, write_report

        assert page is not None  # built above, with --report
        try:
            write_report(page, outputs.path(args.report), data_path=report[2])
        except ReportError as exc:
            raise UserError(f"--report {printable(args.report)}: {exc}") from None
        written.append(f"report written to {printable(args.report)}")
    outputs.commit()
    say(*written)
    if args.mlflow:
        say(_log_to_mlflow(args, model, history))
    return 0


def _log_to_mlflow(args, model, history) -> str:
    """Log the run (after the files are in place: a tracking store that fails loses
    nothing); the line that says where."""
    import mlflow

    from ..mlflow import log_run

    params = {
        key: value
        for key, value in vars(args).items()
        if key not in ("run", "interrupts", "outputs", "command", "mlflow") and value is not None
    }
    try:
        run_id = log_run(model, history, params=params, run_name=os.path.basename(args.out))
    except Exception as exc:  # the store's own errors: a message, not a traceback
        raise UserError(
            f"--mlflow: the model is written, but logging to MLflow failed: {printable(exc)}"
        ) from None
    return f"logged to MLflow run {run_id} ({printable(mlflow.get_tracking_uri())})"


def _summary(model) -> list[str]:
    """What was trained, on what, for how long, and how well (the model's own summary,
    its suggestions spelled as options of this command)."""
    from ..tabular.summary import summary_lines

    return summary_lines(model, "command line")
