"""glassnet evaluate: how good a model is on a labelled data file, read chunk by chunk."""

from __future__ import annotations

import argparse
import json

from .common import (
    UserError,
    add_chunk_rows,
    add_impute_option,
    add_read_options,
    printable,
    read_options,
    said,
    say,
    warn_filled,
    warn_once,
)
from .inputs import model_and_data
from .outputs import check_plot_path, save_figure

__all__ = ["add_parser", "run", "report_lines"]

_SAMPLE = 20_000  # points kept (uniformly at random) for the predicted-vs-true figure


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "evaluate",
        help="measure a model on a data file that holds the target",
        description="Measure a model file on a data file that holds the target column. "
        "Classification: accuracy, balanced accuracy, log loss, per-class precision, recall, "
        "F1 and support, and the confusion matrix. Regression: R², RMSE and MAE. The data is "
        "read in chunks, so memory does not grow with the number of rows.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file from 'glassnet train'")
    p.add_argument("data", metavar="DATA", help="labelled rows ('-' for CSV on stdin)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the confusion matrix (classification) or predicted against true "
        "values (regression) into this figure (.png, .pdf, .svg, ...)",
    )
    p.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="skip rows whose target is missing (otherwise they are an error)",
    )
    add_impute_option(p)
    add_chunk_rows(p, "read and predicted")
    add_read_options(p)
    p.set_defaults(run=run)


class _Sample:
    """A uniform random sample of (truth, prediction) pairs over chunks (Algorithm R,
    one vectorised step per chunk)."""

    def __init__(self, size: int, seed: int = 0):
        import numpy as np

        self.size, self.seen = size, 0
        self.truth = np.empty(size)
        self.predicted = np.empty(size)
        self.rng = np.random.default_rng(seed)

    def add(self, truth, predicted) -> None:
        import numpy as np

        n = len(truth)
        take = min(max(self.size - self.seen, 0), n)
        self.truth[self.seen : self.seen + take] = truth[:take]
        self.predicted[self.seen : self.seen + take] = predicted[:take]
        if take < n:
            t = self.seen + np.arange(take, n)  # each later row's 0-based position
            slot = (self.rng.random(n - take) * (t + 1)).astype(np.int64)
            hit = slot < self.size
            self.truth[slot[hit]] = truth[take:][hit]
            self.predicted[slot[hit]] = predicted[take:][hit]
        self.seen += n

    def arrays(self):
        k = min(self.seen, self.size)
        return self.truth[:k], self.predicted[:k]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))
        )
    ]
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    return lines


#: A confusion matrix wider than this many characters numbers its columns.
WIDE = 100


def _confusion_lines(cm: dict) -> list[str]:
    """The confusion matrix as a table, headed by the predicted classes' names; where
    that is wider than WIDE characters (many classes, long names), the columns are
    numbered instead, each number the class of the row that bears it (a class in the
    data that the model never saw is a row without a number: nothing predicts it)."""
    labels = [printable(c) for c in cm["labels"]]
    counts = [list(map(str, row)) for row in cm["counts"]]
    head = "confusion matrix (rows: true class, columns: predicted class"
    named = _table(
        ["", *map(printable, cm["predicted"])], [[a, *r] for a, r in zip(labels, counts)]
    )
    if max(map(len, named)) <= WIDE:
        return [head + ")", *named]
    k = len(cm["predicted"])
    numbered = [f"{i + 1} {a}" if i < k else f"- {a}" for i, a in enumerate(labels)]
    table = _table(
        ["", *(str(j + 1) for j in range(k))], [[a, *r] for a, r in zip(numbered, counts)]
    )
    return [head + ", numbered as the rows)", *table]


def report_lines(result: dict, source: str) -> list[str]:
    """The metrics as text for a terminal (names escaped)."""
    lines = [f"evaluated on {result['rows']} rows of {printable(source)} ({result['task']})"]
    if result["task"] == "regression":
        lines += [
            f"R²    {result['r2']:.6f}",
            f"RMSE  {result['rmse']:.6g}",
            f"MAE   {result['mae']:.6g}",
        ]
        return lines
    log_loss = result["log_loss"]
    lines += [
        f"accuracy           {result['accuracy']:.6f}",
        f"balanced accuracy  {result['balanced_accuracy']:.6f}",
        "log loss           "
        + (
            f"{log_loss:.6f}" if log_loss is not None else "undefined (classes the model never saw)"
        ),
        "",
    ]
    rows = [
        [
            printable(c["class"]),
            f"{c['precision']:.4f}",
            f"{c['recall']:.4f}",
            f"{c['f1']:.4f}",
            str(c["support"]),
        ]
        for c in result["per_class"]
    ]
    lines += _table(["class", "precision", "recall", "f1", "support"], rows)
    lines += ["", *_confusion_lines(result["confusion_matrix"])]
    if result["unknown_classes"]:
        shown = ", ".join(printable(c) for c in result["unknown_classes"][:5])
        lines += ["", f"classes in the data that the model never saw: {shown}"]
    if never := result.get("never_predicted"):
        from ..tabular.metrics import never_predicted_note

        lines += ["", never_predicted_note(never, printable)]
    return lines


def run(args: argparse.Namespace) -> int:
    from .. import modelfile

    model_input, data = model_and_data(args)
    if args.plot:
        check_plot_path(args.plot, "--plot", [model_input, data])
    model = modelfile.load(args.model)
    options = read_options(args, model, data.path)

    from ..tabular import DataFileError, PreprocessingError, TabularModel
    from ..tabular.columns import missing_mask
    from ..tabular.reading import iter_chunks

    if not isinstance(model, TabularModel):
        raise UserError(
            f"{printable(args.model)} is not a command-line model: it has no target column "
            "to measure against (train one with 'glassnet train')"
        )
    target = model.target.name
    acc = model.metrics_accumulator()
    regression = model.target.task == "regression"
    sample = _Sample(_SAMPLE) if args.plot and regression else None
    unit, first = data.numbering
    skipped = 0
    seen: set = set()
    filled: dict = {}
    try:
        for chunk in iter_chunks(data.path, options, chunk_rows=args.chunk_rows):
            if target not in chunk.columns:
                raise UserError(
                    f"the data has no target column {printable(target)!r} to measure against"
                )
            numbers = None
            if args.drop_missing_target:
                import numpy as np

                keep = ~missing_mask(chunk[target].to_numpy(dtype=object))
                if not keep.all():
                    skipped += int((~keep).sum())
                    numbers = first + np.flatnonzero(keep) + int(chunk.index[0])
                    chunk = chunk[keep]
                    if not len(chunk):
                        continue
            where = (unit, numbers if numbers is not None else first + int(chunk.index[0]))
            notes: list = []
            output = model.update_metrics(
                acc, chunk, where=where, impute=args.impute, filled=filled, warnings=notes
            )
            warn_once(notes, seen)
            if sample is not None:
                truth = model.target.decode(
                    model.target.encode(chunk[target].to_numpy(), where=where)
                )
                sample.add(truth, model.target.decode(output))
    except (PreprocessingError, DataFileError) as exc:
        raise UserError(said(exc)) from None
    warn_filled(filled)
    result = acc.result()
    if result["rows"] == 0:
        raise UserError("no rows with a target to measure against")
    result["skipped_missing_target"] = skipped
    if args.json:
        from ..modelfile import jsonable  # NaN and infinity become null

        say(json.dumps(jsonable(result), ensure_ascii=True))
    else:
        lines = report_lines(result, args.data)
        if skipped:
            lines.insert(1, f"({skipped} rows without a target skipped)")
        say(*lines)
    if args.plot:
        from .. import plot

        if regression:
            assert sample is not None  # taken with --plot, for a regression
            truth, predicted = sample.arrays()
            fig = plot.predicted_vs_true(truth, predicted, name=target, r2=result["r2"])
        else:
            cm = result["confusion_matrix"]
            fig = plot.confusion_matrix(cm["counts"], cm["labels"], cm["predicted"])
        save_figure(fig, args.outputs.path(args.plot))
        args.outputs.commit()
        if not args.json:
            say(f"figure written to {printable(args.plot)}")
    return 0
