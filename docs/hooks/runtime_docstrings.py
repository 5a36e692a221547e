"""A Griffe extension: docstrings that glassnet completes at import time, as Python shows them.

Griffe reads the source without running it. A few docstrings are finished when their
module is imported: ``glassnet.sklearn.params.document`` appends every constructor
parameter and fitted attribute to the estimators' docstrings, from one table that the
parameter checks use too. This extension imports the modules that define such classes
and takes the docstring Python has (``help(MLPClassifier)``), wherever it extends the one
in the source, so the reference shows the same Parameters and Attributes sections.

A module that cannot be imported is a warning, which the strict build turns into an error:
the docs extra installs what these modules need.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import griffe

#: The modules whose classes are completed at import time (by ``params.document``).
MODULES = ["glassnet.sklearn.estimators"]


class RuntimeDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for path in MODULES:
            if not path.startswith(pkg.path + "."):
                continue
            try:
                module = importlib.import_module(path)
            except ImportError as exc:
                griffe.logger.warning(f"cannot import {path} for its docstrings: {exc}")
                continue
            static = pkg[path[len(pkg.path) + 1 :]]
            for name, obj in static.members.items():
                if obj.is_alias or obj.docstring is None or not obj.is_class:
                    continue
                runtime = inspect.cleandoc(getattr(module, name).__doc__ or "")
                if runtime != obj.docstring.value and runtime.startswith(obj.docstring.value):
                    obj.docstring.value = runtime
