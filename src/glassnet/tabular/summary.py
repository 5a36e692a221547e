"""What a trained TabularModel says of itself: the summary ``glassnet train`` prints and
:meth:`TabularModel.summary <glassnet.tabular.model.TabularModel.summary>` returns.

It is read from the model alone (its training summary, ``model.info``, its network and
its target), so a model loaded from a file says what it said when it was trained. The
options it suggests are marked fixes (:mod:`.fixes`): ``task='regression'`` in Python,
``--task regression`` on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..layers import Dense
from .fixes import option, spell
from .metrics import format_metrics
from .recipe import describe_recipe, smoothing_note

__all__ = ["summary_lines", "describe_stream", "describe_cluster"]


def summary_lines(model: Any, face: str = "python") -> list[str]:
    """The summary of a trained TabularModel, line by line: what was trained on which
    rows, the recipe, where it ran, the epochs and the losses of the one kept, and the
    metrics on the training and validation rows; the options it suggests spelled for
    ``face`` (:data:`~.fixes.FACES`)."""
    return [spell(line, face) for line in _lines(model)]


def _lines(model: Any) -> list[str]:
    info = model.info
    net = model.network
    if "recipe" in info:
        widths = [*info["hidden"], net.output_size]
    else:
        widths = [layer.units for layer in net.layers if isinstance(layer, Dense)]
    sizes = " -> ".join(map(str, [net.input_size, *widths]))
    rows = f"{info['rows']} rows"
    if "epochs" not in info:  # trained by partial_fit, a batch at a time
        return [
            f"trained {sizes} ({info['task']}) by {info['partial_fit_calls']} partial_fit "
            f"call{'s' * (info['partial_fit_calls'] != 1)} on {rows}",
            describe_recipe(info),
            f"the last call's loss: {info['final_loss']:.6g}",
        ]
    if info["dropped_missing_target"]:
        rows += f" ({info['dropped_missing_target']} without a target dropped)"
    if info["validation_rows"]:
        strat = ", stratified" if info["stratified"] else ""
        rows += (
            f": {info['training_rows']} for training, {info['validation_rows']} held out "
            f"for validation{strat}"
        )
        if info.get("validation_out_of_fold"):
            rows += f", other rows for each of the {info['ensemble']} networks"
    lines = [f"trained {sizes} ({info['task']}) on {rows}"]
    classes = model.target.classes or []
    numbers = [c for c in classes if isinstance(c, (int, float)) and not isinstance(c, bool)]
    # a task the user chose needs no note (a model saved before it was recorded gets one)
    if not info.get("task_given") and len(classes) > 2 and numbers == classes:
        lines.append(
            f"the target's {len(classes)} whole numbers are read as {len(classes)} classes; "
            f"{option('task', 'regression')} predicts a number instead"
        )
    lines.append(describe_recipe(info))
    if info.get("cluster"):
        lines.append(describe_cluster(info["cluster"]))
    if "streamed" in info:
        lines.append(describe_stream(info))
    epochs, stopped = info["epochs"], info["stopped_early"]
    patience = info.get("patience")
    stop = ""
    if stopped:
        stop = f", stopped early (no improvement in {patience})" if patience else ", stopped early"
    val = (
        f", validation loss {info['epoch_val_loss']:.6g}"
        if info["epoch_val_loss"] is not None
        else ""
    )
    val += smoothing_note(info)
    if info["restored_epoch"]:
        # an ensemble's networks each keep their own best epoch: the first one's is told
        who = f"the first of the {info['ensemble']} networks " if info["ensemble"] > 1 else ""
        lines.append(
            f"epochs: {epochs}{stop}; {who}kept the weights of epoch "
            f"{info['restored_epoch']}: loss {info['epoch_loss']:.6g}{val}"
        )
        if info["restored_epoch"] == epochs > 1 and not stopped:
            lines.append(
                "the last epoch was the best one: more epochs may help "
                f"({option('epochs', 2 * epochs)} gives twice as many)"
            )
    else:
        lines.append(f"epochs: {epochs}; final loss {info['epoch_loss']:.6g}{val}")
    lines.append(f"training:   {format_metrics(info['train_metrics'])}")
    if info["validation_metrics"]:
        out_of_fold = info.get("validation_out_of_fold")
        which = f" (out of fold, {out_of_fold} rows)" if out_of_fold else ""
        lines.append(f"validation{which}: {format_metrics(info['validation_metrics'])}")
    return lines


def describe_stream(info: Mapping[str, Any]) -> str:
    """One line on how a streamed model was read: its chunks and shuffle buffer."""
    stream = info["streamed"]
    held = stream["held_out_rows"] - info["validation_rows"]
    extra = f" ({held} more held-out rows trained on)" if held > 0 else ""
    return (
        f"streamed from the file in chunks of {stream['chunk_rows']} rows, through a "
        f"shuffle buffer of {stream['buffer_rows']} rows{extra}"
    )


def describe_cluster(cluster: Mapping[str, Any]) -> str:
    """One line on where a model trained on a Dask cluster ran."""
    workers, partitions = cluster.get("workers"), cluster.get("partitions")
    how = cluster.get("strategy")
    how = "L-BFGS over all of them" if how == "lbfgs" else f"strategy {how}"
    return (
        f"on a Dask cluster: {workers} worker{'s' * (workers != 1)}, {partitions} "
        f"partition{'s' * (partitions != 1)}, {how}"
    )
