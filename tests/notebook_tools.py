"""Running notebooks headless, in a kernel of this test run's own Python (the venv's)."""

import json
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

KERNEL = "glassnet-tests"


def kernel_folder(tmp_path_factory):
    """A kernelspec for sys.executable, so a system-wide python3 kernel is never used."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "glassnet tests", "language": "python"})
    )
    return root


def execute(book, kernels, timeout=300):
    """Execute a notebook in place; a failing cell raises CellExecutionError."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    # local sockets in the kernels' temporary folder, not TCP ports, and no files left here
    manager = KernelManager(
        kernel_name=KERNEL,
        kernel_spec_manager=specs,
        transport="ipc",
        ip=str(kernels / "ipc"),
    )
    client = nbclient.NotebookClient(
        book, km=manager, timeout=timeout, kernel_name=KERNEL, allow_errors=False
    )
    client.execute()
    return book


def outputs(cell):
    return cell.get("outputs", [])


def text_of(book) -> str:
    """Everything the notebook printed or showed as text."""
    parts = []
    for cell in book.cells:
        for out in outputs(cell):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
                parts.append(out["data"].get("text/html", ""))
    return "".join(parts)


def stderr_of(book) -> str:
    return "".join(
        out.get("text", "")
        for cell in book.cells
        for out in outputs(cell)
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    )


def images_in(book) -> int:
    return sum("image/png" in out.get("data", {}) for cell in book.cells for out in outputs(cell))
