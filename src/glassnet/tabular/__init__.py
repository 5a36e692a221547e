"""Tables in, predictions out: reading data files, column kinds, encoding, TabularModel, metrics.

This package is what the command line stands on, and what ``glassnet.TabularModel``
offers from Python. It needs the ``cli`` extra (pandas, pyarrow, narwhals).

- :mod:`.reading`: data files (CSV/TSV, compressed, Parquet, Arrow, JSON Lines), whole
  or in chunks, as written.
- :mod:`.columns`: any dataframe as NumPy columns; text made into values.
- :mod:`.dates`: dates as people write them (formats, inferred or given), and their
  true calendar in any year.
- :mod:`.survey`: what every column holds over all the rows: kinds, date formats, and
  every problem of the data in one message.
- :mod:`.encoding`: FeatureEncoder and TargetEncoder, fitted by accumulation, as JSON.
- :mod:`.recipe`: Recipe, the options and the steps of training on a table, and the
  training summary.
- :mod:`.model`: TabularModel; :mod:`.summary`: what a trained one says of itself.
- :mod:`.fixes`: the fixes a message names, spelled for Python, the command line or the
  service (``FixableError``).
- :mod:`.metrics`: classification and regression metrics, chunk by chunk.
- :mod:`.streaming`: training a TabularModel from a file read in chunks.
"""

from .encoding import FeatureEncoder, PreprocessingError, TargetEncoder
from .fixes import FixableError
from .metrics import ClassificationMetrics, RegressionMetrics, format_metrics, metrics
from .model import TabularModel
from .reading import DataFileError, ReadOptions, iter_chunks, read_table
from .recipe import OverfittingWarning, Recipe, TrainingWarning

__all__ = [
    "TabularModel",
    "Recipe",
    "FeatureEncoder",
    "TargetEncoder",
    "PreprocessingError",
    "FixableError",
    "OverfittingWarning",
    "TrainingWarning",
    "DataFileError",
    "ReadOptions",
    "read_table",
    "iter_chunks",
    "metrics",
    "format_metrics",
    "ClassificationMetrics",
    "RegressionMetrics",
]
