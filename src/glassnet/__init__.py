"""glassnet: a NumPy neural-network library in which nothing is hidden."""

from . import activations, initializers, losses, optimizers
from .gradcheck import check_gradients
from .layers import Dense, Dropout, Layer
from .modelfile import ModelFileError, dumps, load, save
from .network import Network
from .optimizers import SGD, Adam
from .tabular import TabularModel
from .training import Callback, EarlyStopping, History, NonFiniteLossError

__version__ = "0.1.0"

__all__ = [
    "Network",
    "Dense",
    "Dropout",
    "Layer",
    "SGD",
    "Adam",
    "History",
    "Callback",
    "EarlyStopping",
    "TabularModel",
    "NonFiniteLossError",
    "ModelFileError",
    "check_gradients",
    "load",
    "save",
    "dumps",
    "activations",
    "initializers",
    "losses",
    "optimizers",
    "__version__",
]


def __getattr__(name: str):
    # The drop-in estimators need scikit-learn, an optional extra: import on first use.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import sklearn as _sk

        return getattr(_sk, name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
