"""glassnet export: a model file as an ONNX graph, to run without Python or glassnet."""

from __future__ import annotations

import argparse
import logging
import os

from .common import UserError, printable
from .inputs import InputFile
from .outputs import check_output

__all__ = ["add_parser", "run"]

_log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    """Add this command to the glassnet parser's subcommands."""
    p = sub.add_parser(
        "export",
        help="export a model file to ONNX",
        description="Write a model file as an ONNX graph that onnxruntime (or any ONNX "
        "runtime) runs. A model from 'glassnet train' takes its raw columns by name (numbers "
        "as float or double, text as strings, each of shape (n, 1)) and does its "
        "preprocessing inside the graph; its outputs are 'label' and 'probabilities' "
        "(classification) or 'variable' (regression). A network takes 'X' and gives 'output'.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file (any kind glassnet saves)")
    p.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="the graph's float type (default: the model's own)",
    )
    p.set_defaults(run=run)


def _looks_like_onnx(path: str) -> bool:
    try:
        import onnx

        proto = onnx.load(path, load_external_data=False)
    except Exception:  # not a readable ONNX file, whatever the reason
        return False
    # protobuf reads many byte strings without complaint: a real graph has these
    return proto.ir_version > 0 and len(proto.graph.node) > 0


def run(args: argparse.Namespace) -> int:
    from .. import modelfile

    out = args.out
    check_output(out, "the ONNX file", [InputFile.at(args.model, "the model file")])
    if os.path.exists(out) and not _looks_like_onnx(out):
        raise UserError(
            f"the ONNX file {printable(out)} exists and is not an ONNX file; refusing to "
            "overwrite it"
        )
    try:
        from ..onnx import to_onnx
    except ImportError as exc:
        raise UserError(str(exc)) from None
    import onnx

    proto = to_onnx(modelfile.load(args.model), dtype=args.dtype)
    data = proto.SerializeToString()
    path = args.outputs.path(out)
    with open(path, "wb") as f:
        f.write(data)
    onnx.checker.check_model(path)  # what is written loads back
    args.outputs.commit()
    names = [", ".join(v.name for v in side) for side in (proto.graph.input, proto.graph.output)]
    _log.info(
        "ONNX graph written to %s (%s bytes; inputs: %s; outputs: %s)",
        out,
        f"{len(data):,}",
        *names,
    )
    return 0
