"""Tables in, predictions out: reading data files, encoding columns, the TabularModel, metrics.

This package is what the command line stands on, and what ``glassnet.TabularModel``
offers from Python. It needs pandas (the ``cli`` extra) only where a file is read.
"""

from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder
from .metrics import format_metrics, metrics
from .model import TabularModel
from .reading import DataFileError, read_table

__all__ = [
    "TabularModel",
    "FeatureEncoder",
    "TargetEncoder",
    "PreprocessingError",
    "DataFileError",
    "read_table",
    "metrics",
    "format_metrics",
]
