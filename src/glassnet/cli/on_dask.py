"""glassnet train --dask: the options, the cluster, and the hand-over to glassnet.dask.tabular.

``--dask tcp://host:8786`` connects to a running scheduler (within a few seconds, or a
one-line error); ``--dask local:N`` starts N worker processes of one thread each on this
machine and closes them when training ends, fails or is interrupted. The data stays
files that the workers read; nothing here gathers it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re

from .common import UserError, printable, read_options, said
from .fitting import BATCH_SIZE, fit_options
from .inputs import InputFile

__all__ = ["add_options", "check", "check_without", "fit"]

_LOCAL = re.compile(r"local:(\S*)")
CONNECT_TIMEOUT = 5  # seconds


_log = logging.getLogger(__name__)


def add_options(parser) -> None:
    """The options of ``train`` that send the work to a Dask cluster."""
    g = parser.add_argument_group("on a Dask cluster (the dask extra)")
    g.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="train on a Dask cluster: the scheduler's address (tcp://host:8786), or local:N "
        "for N worker processes on this machine. DATA may then be a file, a glob of Parquet "
        "or CSV files (quoted: 'data/part-*.parquet') or a folder of them; each worker reads "
        "its partitions and keeps them. The optimizer defaults to lbfgs (full batch, one "
        "iteration per epoch). --val-split holds out that share of every partition's rows "
        "(of each class) and early stopping watches them as without --dask. Not with "
        "--report or '-' (standard input)",
    )
    g.add_argument(
        "--strategy",
        choices=["average", "sync"],
        help="with --dask and --optimizer adam or sgd: average (the default: each worker "
        "trains a copy for one epoch, then the copies are averaged) or sync (each batch's "
        "gradient is summed over the workers: one round trip per batch)",
    )


def check_without(args: argparse.Namespace) -> None:
    """Without --dask: refuse what only --dask gives."""
    if args.strategy:
        raise UserError("--strategy applies to training on a Dask cluster: give --dask too")
    if args.optimizer == "lbfgs":
        raise UserError(
            "--optimizer lbfgs trains on a Dask cluster (give --dask local:2, say); "
            "in memory, choose adam or sgd"
        )


def check(args: argparse.Namespace, batch_size: int | str | None):
    """Refuse options that cannot apply with --dask, and find the data files.

    Returns (the DataFiles, the InputFiles that outputs must not overwrite).
    """
    if args.data == "-":
        raise UserError("--dask reads data files, not standard input; give a file or a glob")
    if args.report:
        raise UserError(
            "--report draws from the data in memory; it cannot apply with --dask "
            "(--plot can: it draws the loss curve)"
        )
    args.optimizer = args.optimizer or "lbfgs"
    if args.optimizer == "lbfgs":
        given = [
            flag
            for flag, value in (
                ("--lr", args.lr is not None),
                ("--batch-size", args.batch_size != BATCH_SIZE and batch_size is not None),
                ("--strategy", args.strategy is not None),
            )
            if value
        ]
        if given:
            raise UserError(
                f"{', '.join(given)} cannot apply to --optimizer lbfgs (the default with "
                "--dask: full-batch steps of its own length); leave "
                f"{'it' if len(given) == 1 else 'them'} out, or give --optimizer adam or sgd"
            )
    address(args.dask)  # a malformed one is refused before any reading
    try:
        from ..dask.tabular import read_files
    except ImportError as exc:
        if "glassnet[dask]" not in str(exc):
            raise  # not the missing extra, which the user can install: glassnet's own fault
        raise UserError(said(exc)) from None
    from ..tabular import DataFileError

    options = read_options(args)
    try:
        data = read_files(args.data, options)
    except DataFileError as exc:
        raise UserError(f"the training data: {said(exc)}") from None
    return data, [InputFile.at(p, "the training data") for p in data.paths]


def address(text: str) -> int | str:
    """The number of local workers (``local:N``), or the scheduler's address."""
    match = _LOCAL.fullmatch(text.strip())
    if match:
        try:
            n = int(match.group(1))
        except ValueError:
            n = 0
        if n < 1:
            raise UserError(f"--dask local:N needs a number of workers of at least 1, got {text!r}")
        return n
    if not re.fullmatch(r"([a-z]+://)?[^\s/]+(:\d+)?", text.strip()):
        raise UserError(
            f"--dask takes a scheduler address such as tcp://10.0.0.5:8786, or local:N; "
            f"got {printable(text)!r}"
        )
    return text.strip()


@contextlib.contextmanager
def _quiet():
    """Dask's own log lines (workers starting, being stopped) stay off the terminal, and
    so do asyncio's reports of the client's tasks that a Ctrl-C cut short ("Task
    exception was never retrieved ... AllExit"): the command says it was interrupted."""
    loggers = [logging.getLogger(name) for name in ("distributed", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _glassnet_version() -> str:
    import glassnet

    return glassnet.__version__


@contextlib.contextmanager
def cluster(where: str):
    """A Client of the cluster --dask names, closed (with a local cluster) on the way out."""
    import distributed

    target = address(where)
    with _quiet():
        local = None
        if isinstance(target, int):
            local = distributed.LocalCluster(
                n_workers=target,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # the scheduler's HTTP routes (health, metrics) still listen: on a port of
                # this machine's own choosing, not 8787, which another cluster may hold
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL,
            )
            client = distributed.Client(local, set_as_default=False)
        else:
            try:
                client = distributed.Client(target, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UserError(
                    f"cannot reach the Dask scheduler at {printable(target)} "
                    f"({' '.join(str(exc).split()) or type(exc).__name__})"
                ) from None
        try:
            if isinstance(target, str):  # a scheduler's address, not a local cluster
                _check_workers(client, target)
            yield client
        finally:
            client.close()
            if local is not None:
                local.close()


def _check_workers(client, target: str) -> None:
    try:
        client.wait_for_workers(1, timeout=30)
    except TimeoutError:
        raise UserError(
            f"the Dask scheduler at {printable(target)} has no workers (waited 30 s)"
        ) from None
    try:
        client.run(_glassnet_version)
    except Exception as exc:  # the workers' own error, whatever it is
        raise UserError(
            f"the Dask workers at {printable(target)} cannot run glassnet ({exc}); install it "
            "where they run: pip install 'glassnet[dask]'"
        ) from None


def fit(args: argparse.Namespace, data, hidden: list[int] | None, batch_size, callbacks):
    """Train on the cluster; returns the TabularModel (its ``history`` the epochs)."""
    from ..dask import WorkerLostError
    from ..dask.tabular import fit_table
    from ..tabular import DataFileError, PreprocessingError

    options = fit_options(args, hidden, None if args.optimizer == "lbfgs" else batch_size)
    with cluster(args.dask) as client:
        try:
            model = fit_table(
                data,
                args.target,
                **options,
                strategy=args.strategy or "average",
                callbacks=callbacks,
                source=os.path.basename(args.data),
                client=client,
            )
        except (PreprocessingError, DataFileError, WorkerLostError) as exc:
            raise UserError(said(exc)) from None
    if args.recipe is None and args.optimizer == "lbfgs":
        _log.info(
            "on a cluster the recipe is small, trained by L-BFGS (one round trip per "
            "epoch); --recipe default --optimizer adam trains the in-memory default recipe"
        )
    return model
