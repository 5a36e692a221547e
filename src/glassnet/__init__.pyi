"""The public names of glassnet, for type checkers (the package imports them lazily)."""

import os
from typing import Any, BinaryIO

from . import activations as activations
from . import initializers as initializers
from . import losses as losses
from . import optimizers as optimizers
from .explain import Explanation as Explanation
from .gradcheck import check_gradients as check_gradients
from .layers import Dense as Dense
from .layers import Dropout as Dropout
from .layers import Layer as Layer
from .modelfile import ModelFileError as ModelFileError
from .modelfile import dumps as dumps
from .modelfile import save as save
from .network import Network as Network
from .onnx import to_onnx as to_onnx
from .optimizers import SGD as SGD
from .optimizers import Adam as Adam
from .reporting import Snapshots as Snapshots
from .reporting import report as report
from .sklearn import MLPClassifier as MLPClassifier
from .sklearn import MLPRegressor as MLPRegressor
from .tabular import TabularModel as TabularModel
from .training import Callback as Callback
from .training import EarlyStopping as EarlyStopping
from .training import History as History
from .training import NonFiniteLossError as NonFiniteLossError

__version__: str
__all__: list[str]

def load(
    source: str | os.PathLike[str] | bytes | BinaryIO,
) -> Network | TabularModel | MLPClassifier | MLPRegressor:
    """Load a model file: a Network, a TabularModel, or an estimator."""

def __getattr__(name: str) -> Any: ...
