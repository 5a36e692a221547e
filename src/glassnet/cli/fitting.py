"""The options of the network, its training and the columns: shared by glassnet train
in memory, streamed from a file, and on a Dask cluster.

:func:`add_network_options` and :func:`add_column_options` add them to a parser;
:func:`checked` refuses values out of range and reads --hidden and --batch-size;
:func:`fit_options` gives them as the fits (``TabularModel.fit``, ``fit_stream``,
``glassnet.dask.tabular.fit_table``) take them.
"""

from __future__ import annotations

import argparse

from .common import UserError, columns, printable

__all__ = [
    "BATCH_SIZE",
    "add_network_options",
    "add_column_options",
    "checked",
    "fit_options",
]

#: --batch-size when not given: the recipe's choice.
BATCH_SIZE = "auto"
#: The largest --seed: NumPy's generators take 0 to 2**32 - 1.
SEED_MAX = 2**32 - 1


def add_network_options(parser) -> None:
    """--recipe, --hidden, --activation, --loss, --optimizer, --lr, --epochs, --batch-size,
    --val-split, --early-stopping, --patience, --ensemble, --scaling, --seed, --task."""
    model = parser.add_argument_group("the network and its training")
    model.add_argument(
        "--recipe",
        choices=["default", "small"],
        help="default: embeddings, 3 layers of 256 with a parametric activation, dropout, "
        "weight decay and a log-cosine schedule, epochs and an ensemble sized by the data "
        "(on a cluster: small); small: 2 layers of 16 ReLU units. Every option below "
        "overrides its part",
    )
    model.add_argument(
        "--hidden",
        metavar="SIZES",
        help="hidden layer sizes, comma-separated ('none' for no hidden layer; "
        "default: the recipe's, 256,256,256 or 16,16)",
    )
    model.add_argument(
        "--activation",
        choices=["relu", "leaky_relu", "tanh", "sigmoid", "identity", "selu", "silu", "mish"],
        help="hidden activation (default: the recipe's: selu for a classification and mish "
        "for a regression, as a learned blend with the identity; relu for small)",
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
    model.add_argument(
        "--lr",
        type=float,
        help="learning rate (default: the recipe's: 0.04 for a classification and 0.2 for a "
        "regression, scaled down per layer by its fan-in; small: 1e-3 adam, 0.01 sgd)",
    )
    model.add_argument(
        "--epochs",
        type=int,
        help="at most this many (default: the recipe's: 8 to 128 by the number of rows; "
        "small: 200)",
    )
    model.add_argument(
        "--batch-size",
        default=BATCH_SIZE,
        metavar="N",
        help="samples per step, or 'full' (default: the recipe's: 256, or 32 for small)",
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
        help="epochs without improvement before early stopping (default: the recipe's: "
        "every epoch of the budget runs and the best is kept; 10 for small)",
    )
    model.add_argument(
        "--ensemble",
        type=int,
        metavar="N",
        help="train N networks from other seeds and validation folds and average them into "
        "one (default: the recipe's: 3 up to 3,000 training rows, else 1)",
    )
    model.add_argument(
        "--scaling",
        choices=["robust", "standard"],
        help="numbers centred on the median, divided by the interquartile range and "
        "smoothly clipped (robust, the default recipe's), or standardised (small's)",
    )
    model.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    model.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression"],
        help="override the automatic choice",
    )


def add_column_options(parser) -> None:
    """--ignore, --features, --categorical, --numeric, --max-categories, --date-format,
    --impute, --drop-missing-target."""
    cols = parser.add_argument_group("the columns")
    cols.add_argument(
        "--ignore",
        action="append",
        metavar="COLS",
        help="columns to leave out, comma-separated (or the option repeated)",
    )
    cols.add_argument(
        "--features",
        action="append",
        metavar="COLS",
        help="use only these feature columns, comma-separated (or the option repeated)",
    )
    cols.add_argument(
        "--categorical",
        action="append",
        metavar="COLS",
        help="treat these columns as categories (integer codes, say), comma-separated (or "
        "the option repeated)",
    )
    cols.add_argument(
        "--numeric",
        action="append",
        metavar="COLS",
        help="treat these columns as numbers, comma-separated (or the option repeated)",
    )
    cols.add_argument(
        "--max-categories",
        type=int,
        metavar="N",
        help="at most N levels per categorical column: the N-1 most frequent values and "
        "one for all others (one-hot columns, or the rows of the column's embedding when "
        "it has more than 8 levels in the default recipe)",
    )
    cols.add_argument(
        "--date-format",
        action="append",
        metavar="FORMAT",
        help="how dates that are not ISO 8601 are written, as a strftime format such as "
        "%%d/%%m/%%Y (day first) or '%%m/%%d/%%Y %%H:%%M'; COL=FORMAT for one column (give "
        "the option once per column). Without it the data decides, and says when it cannot",
    )
    cols.add_argument(
        "--impute",
        action="store_true",
        help="fill missing feature values: a number with the training mean (and a column "
        "that says so), text with a level of its own (the most frequent value under "
        "--recipe small)",
    )
    cols.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="drop rows whose target is missing (otherwise they are an error)",
    )


def checked(args: argparse.Namespace) -> tuple[list[int] | None, int | str | None]:
    """Refuse values out of range; returns (the hidden layer sizes, the batch size or None
    for the full batch; None for the sizes and "auto" for the batch size leave the choice
    to the recipe)."""
    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    if args.ensemble is not None and args.ensemble < 1:
        raise UserError(f"--ensemble must be at least 1, got {args.ensemble}")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.val_split < 1:
        raise UserError(f"--val-split must be in [0, 1), got {args.val_split}")
    if args.patience is not None and args.patience < 1:
        raise UserError(f"--patience must be at least 1, got {args.patience}")
    if args.max_categories is not None and args.max_categories < 2:
        raise UserError(f"--max-categories must be at least 2, got {args.max_categories}")
    if not 0 <= args.seed <= SEED_MAX:
        raise UserError(f"--seed must be from 0 to {SEED_MAX} (2**32 - 1), got {args.seed}")
    args.date_format = _date_formats(args.date_format)
    return _hidden_sizes(args.hidden), _batch_size(args.batch_size)


def _date_formats(given: list[str] | None) -> str | dict[str, str] | None:
    """One strftime format for every date column, or one by column name (COL=FORMAT)."""
    if not given:
        return None
    from ..tabular.dates import check_format

    named, plain = {}, []
    for text in given:
        column, sep, fmt = text.partition("=")
        if sep and not column.startswith("%"):
            if column in named:
                raise UserError(f"--date-format gives column {printable(column)!r} twice")
            named[column] = fmt
        else:
            plain.append(text)
    if plain and (named or len(plain) > 1):
        raise UserError(
            "--date-format takes one FORMAT for every date column, or COL=FORMAT for each "
            "column, not both"
        )
    for fmt in plain or named.values():
        try:
            check_format(fmt)
        except ValueError as exc:
            raise UserError(f"--date-format {printable(fmt)}: {printable(exc)}") from None
    return plain[0] if plain else named


def _hidden_sizes(text: str | None) -> list[int] | None:
    if text is None:
        return None
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


def _batch_size(text: str) -> int | str | None:
    if text.lower() == "auto":
        return "auto"
    if text.lower() in ("full", "all", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"--batch-size takes a positive integer or 'full', got {text!r}") from None
    if value < 1:
        raise UserError(f"--batch-size must be at least 1, got {value}")
    return value


def fit_options(
    args: argparse.Namespace, hidden: list[int] | None, batch_size: int | str | None
) -> dict:
    """The options of the network, its training and the columns, as the fits take them
    (None, and a batch size of "auto", leave the choice to the recipe)."""
    recipe = {} if args.recipe is None else {"recipe": args.recipe}
    return {
        **recipe,
        "ensemble": args.ensemble,
        "scaling": args.scaling,
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
        "date_format": args.date_format,
        "na_values": tuple(columns(args.na_values)),
    }
