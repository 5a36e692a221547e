"""glassnet predict: apply a model file to the rows of a data file."""

from __future__ import annotations

import argparse
import sys

from .common import UserError, check_writable, columns, pandas, read_table, write_csv

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "predict",
        help="predict from a CSV file with a model file",
        description="Predict for every row of a CSV file. Columns are matched to the model's by "
        "name (a target column in the file is ignored), the stored preprocessing is applied, "
        "and a CSV with a column named after the target is written.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file from 'glassnet train'")
    p.add_argument("data", metavar="DATA.csv", help="the rows to predict ('-' for stdin)")
    p.add_argument("--out", metavar="PREDS.csv", help="write here instead of stdout")
    p.add_argument("--proba", action="store_true", help="add a probability column per class")
    p.add_argument(
        "--keep", metavar="COLS", help="copy these input columns (an id, say) into the output"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import modelfile
    from ..network import Network
    from ..tabular import PreprocessingError, TabularModel

    if args.out:
        check_writable(args.out, "--out")
    model = modelfile.load(args.model)
    frame = read_table(args.data)
    pd = pandas()
    keep = columns(args.keep)
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
    write_csv(out, args.out)
    if args.out:
        print(f"{len(out)} predictions written to {args.out}", file=sys.stderr)
    return 0
