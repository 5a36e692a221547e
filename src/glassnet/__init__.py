"""glassnet: a NumPy neural-network library in which nothing is hidden.

The public names are imported on first use, so ``import glassnet`` stays quick (the
command line starts at once) and an optional extra is needed only by what uses it. Type
checkers read them, with their types, from the stub beside this file (``__init__.pyi``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_NAMES = {
    "Network": "network",
    "Dense": "layers",
    "Dropout": "layers",
    "Layer": "layers",
    "SGD": "optimizers",
    "Adam": "optimizers",
    "History": "training",
    "Callback": "training",
    "EarlyStopping": "training",
    "NonFiniteLossError": "training",
    "TabularModel": "tabular",
    "ModelFileError": "modelfile",
    "load": "modelfile",
    "save": "modelfile",
    "dumps": "modelfile",
    "to_onnx": "onnx",  # needs the onnx extra
    "check_gradients": "gradcheck",
    "Explanation": "explain",
    "report": "reporting",  # needs the plot extra
    "Snapshots": "reporting",
    "MLPClassifier": "sklearn",  # needs the sklearn extra
    "MLPRegressor": "sklearn",
}
_MODULES = ("activations", "initializers", "losses", "optimizers")

__all__ = [*_NAMES, *_MODULES, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    elif name.startswith("_"):
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)  # a submodule: glassnet.plot
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but needs something missing
            raise AttributeError(f"module 'glassnet' has no attribute {name!r}") from None
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
