"""glassnet in MLflow: a model flavor, a pyfunc wrapper and autologging.

A flavor in the pattern of MLflow's own (``mlflow.sklearn``, ``mlflow.onnx``)::

    import glassnet.mlflow

    with mlflow.start_run():
        glassnet.mlflow.log_model(model, name="model")      # a Network, an estimator
                                                             # or a TabularModel
    net = glassnet.mlflow.load_model("models:/...")          # the same object back
    pyfunc = mlflow.pyfunc.load_model(uri)                   # any MLflow client
    pyfunc.predict(dataframe)                                # = glassnet predict's table

What is stored is the model's safe ``.glassnet`` file (never a pickle), with the input and
output signature read from the model itself (its feature columns and kinds, its classes)
and the pip requirements of the model's kind. :func:`autolog` logs the parameters, every
epoch's metrics and the model of every ``Network.fit``, estimator ``fit`` and
``TabularModel.fit``; :func:`log_run` logs one training, which is what ``glassnet train
--mlflow`` does with a command-line run.

A scikit-learn Pipeline holding a glassnet estimator goes through ``mlflow.sklearn`` with
skops, trusting :data:`glassnet.sklearn.SKOPS_TRUSTED_TYPES`.

Needs the ``mlflow`` extra: ``pip install 'glassnet[mlflow]'``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import mlflow
    import yaml
    from mlflow import pyfunc
    from mlflow.entities import Metric
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import ModelInfo
    from mlflow.models.utils import _save_example
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("glassnet.mlflow needs MLflow: pip install 'glassnet[mlflow]'") from None

from . import __version__
from . import modelfile as _modelfile
from .network import Network
from .training import History

if TYPE_CHECKING:  # for load_model's type only
    from .sklearn import MLPClassifier, MLPRegressor
    from .tabular import TabularModel

__all__ = [
    "FLAVOR_NAME",
    "MODEL_FILE",
    "save_model",
    "log_model",
    "load_model",
    "infer_signature",
    "get_default_pip_requirements",
    "autolog",
    "log_run",
    "PyfuncModel",
]

_log = logging.getLogger(__name__)

#: The flavor's name in an MLmodel file.
FLAVOR_NAME = "glassnet"
#: The model file inside a saved MLflow model's directory.
MODEL_FILE = "model.glassnet"

#: What a model of each kind needs besides glassnet itself, by distribution name.
_NEEDS = {
    "network": ("numpy", "safetensors"),
    "tabular": ("numpy", "safetensors", "pandas", "pyarrow", "narwhals"),
    "estimator": ("numpy", "safetensors", "scikit-learn", "scipy"),
}
_EXTRA = {"network": "io", "tabular": "cli", "estimator": "sklearn"}


def _kind(model) -> str:
    """``network``, ``tabular`` or ``estimator``; a TypeError for anything else."""
    kind = getattr(model, "model_file_kind", None)
    if kind == "network" and isinstance(model, Network):
        return "network"
    if kind == "tabular":
        return "tabular"
    if kind in ("MLPClassifier", "MLPRegressor"):
        return "estimator"
    raise TypeError(
        f"glassnet.mlflow saves a glassnet Network, TabularModel, MLPClassifier or "
        f"MLPRegressor, not a {type(model).__name__}; a scikit-learn Pipeline goes through "
        "mlflow.sklearn.log_model(..., skops_trusted_types=glassnet.sklearn.SKOPS_TRUSTED_TYPES)"
    )


# -- requirements ------------------------------------------------------------------------


def get_default_pip_requirements(model: Any = None) -> list[str]:
    """The pip requirements a model needs to load and predict: glassnet with the extra of
    the model's kind (all three kinds when ``model`` is None), and the installed versions
    of the packages that extra brings."""
    kinds = [_kind(model)] if model is not None else list(_NEEDS)
    extras = ",".join(sorted({_EXTRA[k] for k in kinds}))
    needs = sorted({name for k in kinds for name in _NEEDS[k]})
    pinned = []
    for name in needs:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return [f"glassnet[{extras}]=={__version__}", *pinned]


def _requirements(model, pip_requirements, extra_pip_requirements) -> list[str]:
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise ValueError("give pip_requirements or extra_pip_requirements, not both")
    if pip_requirements is not None:
        return [str(r) for r in pip_requirements]
    return get_default_pip_requirements(model) + [str(r) for r in extra_pip_requirements or ()]


def _write_environment(path: str, requirements: list[str]) -> tuple[str, str]:
    """requirements.txt, python_env.yaml and conda.yaml in the model's directory, as
    MLflow reads them; returns the names of the last two."""
    python = ".".join(map(str, sys.version_info[:3]))
    with open(os.path.join(path, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("".join(f"{r}\n" for r in ["mlflow", *requirements]))
    build = []
    for name in ("pip", "setuptools", "wheel"):
        try:
            build.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            build.append(name)
    python_env = {
        "python": python,
        "build_dependencies": build,
        "dependencies": ["-r requirements.txt"],
    }
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": ["mlflow", *requirements]}],
    }
    for name, document in (("python_env.yaml", python_env), ("conda.yaml", conda)):
        with open(os.path.join(path, name), "w", encoding="utf-8") as f:
            yaml.safe_dump(document, f, default_flow_style=False, sort_keys=False)
    return "conda.yaml", "python_env.yaml"


# -- signature ---------------------------------------------------------------------------

#: The MLflow column type of each kind of feature column.
_COLUMN_TYPES = {"numeric": "double", "boolean": "boolean", "datetime": "datetime"}


def _label_type(labels) -> str:
    values = list(labels)
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return "boolean"
    if values and all(isinstance(v, (int, np.integer)) for v in values):
        return "long"
    if values and all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        return "double"
    return "string"


def _categorical_type(categories) -> str:
    """Categories are stored as text; whole numbers were written as integers."""
    texts = [str(c) for c in categories]
    if texts and all(t.lstrip("-").isdigit() for t in texts):
        return "long"
    return "string"


def infer_signature(model: Any) -> ModelSignature:
    """The input and output signature of a model, read from the model itself.

    * a TabularModel: one input column per feature column, typed as training gave it
      (numbers ``double``, or ``long`` when every training value was an integer and the
      model refuses missing values;
      booleans ``boolean``; dates ``datetime``, or ``string`` when training read them
      from text; categories ``string``, or ``long`` for categories that are whole
      numbers), optional when the model imputes missing values; one output column
      named after the target, ``proba_<class>`` columns with the parameter
      ``proba=True``;
    * an estimator: its ``feature_names_in_`` as ``double`` columns, or an
      ``(n, n_features_in_)`` tensor; its predictions;
    * a Network: an ``(n, input_size)`` tensor in, an ``(n, output_size)`` tensor out.
    """
    kind = _kind(model)
    if kind == "network":
        model.require_built("infer a signature")
        dtype = np.dtype(model.dtype)
        return ModelSignature(
            inputs=Schema([TensorSpec(dtype, (-1, model.input_size), "x")]),
            outputs=Schema([TensorSpec(dtype, (-1, model.output_size), "output")]),
        )
    if kind == "tabular":
        features = model.features
        optional = bool(features.impute)
        inputs: list[ColSpec | TensorSpec] = []
        for column in features.columns:
            name, column_kind = column["name"], column["kind"]
            if column_kind == "categorical":
                dtype = _categorical_type(column.get("categories", ()))
            elif column_kind == "numeric" and column.get("integers") and not optional:
                # as MLflow types a table's integer column (one with a gap is float)
                dtype = "long"
            elif column_kind == "datetime" and column.get("text"):
                dtype = "string"  # dates as text, in the format training read
            else:
                dtype = _COLUMN_TYPES.get(column_kind, "double")
            inputs.append(ColSpec(dtype, name, required=not optional))
        target = model.target
        outputs: list[ColSpec | TensorSpec]
        if target.task == "classification":
            outputs = [ColSpec(_label_type(target.classes), target.name)]
            outputs += [ColSpec("double", f"proba_{c}", required=False) for c in target.classes]
        else:
            outputs = [ColSpec("double", target.name)]
        params = ParamSchema([ParamSpec("proba", "boolean", False)])
        return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        input_schema = Schema([ColSpec("double", str(n)) for n in names])
    else:
        input_schema = Schema([TensorSpec(np.dtype(np.float64), (-1, int(model.n_features_in_)))])
    classes = getattr(model, "classes_", None)
    if classes is not None:
        output_schema = Schema([ColSpec(_label_type(classes.tolist()), "prediction")])
    else:
        width = int(getattr(model, "n_outputs_", 1))
        shape = (-1,) if width == 1 else (-1, width)
        output_schema = Schema([TensorSpec(np.dtype(np.float64), shape, "prediction")])
    return ModelSignature(inputs=input_schema, outputs=output_schema)


# -- save, log, load ---------------------------------------------------------------------


def save_model(
    model: Any,
    path: str | os.PathLike,
    *,
    mlflow_model: Model | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict | None = None,
) -> None:
    """Save a glassnet model as an MLflow model in the new directory ``path``.

    Parameters
    ----------
    model : Network, TabularModel, MLPClassifier or MLPRegressor
        Trained; it is written as a ``.glassnet`` model file (:data:`MODEL_FILE`).
    signature : ModelSignature, optional
        Default: :func:`infer_signature` of the model.
    input_example : a DataFrame, array or dict, optional
        Stored with the model, as MLflow stores examples.
    pip_requirements, extra_pip_requirements : list of str, optional
        Replace, or add to, :func:`get_default_pip_requirements`.
    metadata : dict, optional
        Free-form metadata for the MLmodel file.

    Raises
    ------
    FileExistsError
        If ``path`` exists (nothing is overwritten).
    TypeError
        For an object glassnet.mlflow does not save.
    """
    kind = _kind(model)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists; give save_model a new directory")
    requirements = _requirements(model, pip_requirements, extra_pip_requirements)
    blob = _modelfile.dumps(model)  # checked before anything is written
    os.makedirs(path)
    with open(os.path.join(path, MODEL_FILE), "wb") as f:
        f.write(blob)
    mlflow_model = Model() if mlflow_model is None else mlflow_model
    mlflow_model.signature = infer_signature(model) if signature is None else signature
    if input_example is not None:
        _save_example(mlflow_model, input_example, path)
    if metadata is not None:
        mlflow_model.metadata = metadata
    conda, python_env = _write_environment(path, requirements)
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="glassnet.mlflow",
        data=MODEL_FILE,
        conda_env=conda,
        python_env=python_env,
    )
    mlflow_model.add_flavor(
        FLAVOR_NAME, glassnet_version=__version__, model_file=MODEL_FILE, kind=kind
    )
    mlflow_model.save(os.path.join(path, "MLmodel"))


def log_model(
    model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a glassnet model to the active run (one is started if none is): the arguments
    of :func:`save_model`, and MLflow's own (``name``, ``registered_model_name``,
    ``params``, ``tags``...). Returns MLflow's ``ModelInfo``."""
    return Model.log(
        artifact_path=artifact_path,
        name=name,
        flavor=sys.modules[__name__],
        model=model,
        registered_model_name=registered_model_name,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        **kwargs,
    )


def _model_file(local_path: str) -> str:
    mlmodel = Model.load(os.path.join(local_path, "MLmodel"))
    if FLAVOR_NAME not in mlmodel.flavors:
        raise ValueError(
            f"the MLflow model at {local_path} has no glassnet flavor "
            f"(it has {', '.join(sorted(mlmodel.flavors)) or 'none'})"
        )
    return os.path.join(local_path, mlmodel.flavors[FLAVOR_NAME].get("model_file", MODEL_FILE))


def load_model(
    model_uri: str, dst_path: str | None = None
) -> Network | TabularModel | MLPClassifier | MLPRegressor:
    """The glassnet model an MLflow model holds: a Network, a TabularModel or an
    estimator, as it was logged. ``model_uri`` is any MLflow model URI
    (``runs:/<run id>/model``, ``models:/<name>/<version>``, a local path)."""
    local_path = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=dst_path)
    return _modelfile.load(_model_file(local_path))


class PyfuncModel:
    """What ``mlflow.pyfunc.load_model`` gives for a glassnet model.

    ``predict(data, params)``: for a TabularModel, a DataFrame of glassnet predict's
    columns (the prediction, named after the target; ``proba_<class>`` columns with
    ``params={"proba": True}``); for an estimator, its ``predict``; for a Network, its
    output array.
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def get_raw_model(self) -> Any:
        """The glassnet model underneath."""
        return self.model

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        model = self.model
        proba = bool((params or {}).get("proba", False))
        if getattr(model, "model_file_kind", None) == "tabular":
            return model.prediction_table(model_input, proba=proba)[0]
        if isinstance(model, Network):
            return model.predict(_matrix(model_input))
        return model.predict(model_input)


def _matrix(data) -> np.ndarray:
    if isinstance(data, dict):  # a tensor signature's named input
        (data,) = data.values()
    to_numpy = getattr(data, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else data)


def _load_pyfunc(path: str) -> PyfuncModel:
    """MLflow's pyfunc loader (the ``loader_module`` protocol): ``path`` is the model
    file, or the model's directory."""
    if os.path.isdir(path):
        path = _model_file(path)
    return PyfuncModel(_modelfile.load(path))


# -- a training run ----------------------------------------------------------------------


def log_run(
    model,
    history=None,
    *,
    params: dict[str, Any] | None = None,
    run_name: str | None = None,
    log_model_file: bool = True,
) -> str:
    """Log one training to MLflow and return the run's id: ``params``, every epoch's
    metrics of the ``history`` (a History, or an estimator's curves), the final metrics a
    TabularModel's summary holds (``train_<name>`` and ``validation_<name>``), and the model
    (:func:`log_model`, as ``model``). It logs to the active run, or to a new one of
    ``run_name`` that it ends. The tracking store is MLflow's own choice
    (``MLFLOW_TRACKING_URI``, else ./mlruns), as for any MLflow client.
    """
    active = mlflow.active_run()
    started = active is None
    run = mlflow.start_run(run_name=run_name) if active is None else active
    status = "FAILED"
    try:
        if params:
            mlflow.log_params({k: _text(v) for k, v in params.items()})
        _log_history(run.info.run_id, model, history)
        info = getattr(model, "info", None) or {}
        finals = {
            f"{part}_{name}": float(value)
            for part in ("train", "validation")
            for name, value in (info.get(f"{part}_metrics") or {}).items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        if finals:
            mlflow.log_metrics(finals)
        if log_model_file:
            log_model(model, name="model")
        status = "FINISHED"
        return run.info.run_id
    finally:
        if started:
            mlflow.end_run(status=status)


# -- autologging -------------------------------------------------------------------------


class _Autolog:
    """What :func:`autolog` switched on: the methods it wrapped and its options."""

    def __init__(self):
        self.originals: dict[tuple[type, str], Any] = {}
        self.log_models = True
        self.silent = False
        self.local = threading.local()  # the depth of nested fits in this thread


_AUTOLOG = _Autolog()


def _targets() -> Iterator[tuple[type, str]]:
    yield Network, "fit"
    try:
        from .sklearn import MLPClassifier, MLPRegressor
    except ImportError:
        pass
    else:
        yield MLPClassifier, "fit"
        yield MLPRegressor, "fit"
    try:
        from .tabular import TabularModel
    except ImportError:
        pass
    else:
        yield TabularModel, "fit"


def autolog(*, log_models: bool = True, disable: bool = False, silent: bool = False) -> None:
    """Log every glassnet training to MLflow: ``Network.fit``, the estimators' ``fit``
    and ``TabularModel.fit`` each log, to the active run (or a run of their own), their
    parameters, every epoch's metrics (loss, validation loss, learning rate and the
    History's other measures; an estimator's curves) and, with ``log_models``, the
    trained model (:func:`log_model`). A fit inside another (a TabularModel's network)
    is logged once, by the outer one.

    ``autolog(disable=True)`` restores the methods. ``silent`` turns a failure to log
    into a debug message instead of a warning; training itself never fails for it.
    """
    for (owner, attribute), original in _AUTOLOG.originals.items():
        setattr(owner, attribute, original)
    _AUTOLOG.originals.clear()
    if disable:
        return
    _AUTOLOG.log_models, _AUTOLOG.silent = bool(log_models), bool(silent)
    for owner, attribute in _targets():
        original = owner.__dict__[attribute]
        _AUTOLOG.originals[(owner, attribute)] = original
        setattr(owner, attribute, _logged(original))


def _logged(original):
    """``original`` (a function or a classmethod), logging its outermost calls."""
    is_classmethod = isinstance(original, classmethod)
    function = original.__func__ if is_classmethod else original

    @functools.wraps(function)
    def fit(first, *args, **kwargs):
        depth = getattr(_AUTOLOG.local, "depth", 0)
        if depth:
            return function(first, *args, **kwargs)
        _AUTOLOG.local.depth = 1
        try:
            return _run_logged(function, first, args, kwargs)
        finally:
            _AUTOLOG.local.depth = 0

    return classmethod(fit) if is_classmethod else fit


def _run_logged(function: Callable, first, args, kwargs):
    active = mlflow.active_run()
    started = active is None
    run_id = (mlflow.start_run() if active is None else active).info.run_id
    status = "FAILED"
    try:
        _quietly(lambda: mlflow.log_params(_params(first, args, kwargs)))
        result = function(first, *args, **kwargs)
        model, history = _trained(first, result)
        _quietly(lambda: _log_history(run_id, model, history))
        if _AUTOLOG.log_models:
            _quietly(lambda: log_model(model, name="model"))
        status = "FINISHED"
        return result
    finally:
        if started:
            mlflow.end_run(status=status)


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # logging must never break training
        level = logging.DEBUG if _AUTOLOG.silent else logging.WARNING
        _log.log(level, "glassnet.mlflow.autolog could not log: %s", exc)


def _text(value: Any) -> str:
    return str(value)[:6000]  # MLflow's limit on a parameter's value


def _params(first, args, kwargs) -> dict[str, str]:
    """The parameters of a fit: an estimator's ``get_params``, a Network's layers and
    fit arguments, a TabularModel's options."""
    if hasattr(first, "get_params"):
        return {k: _text(v) for k, v in first.get_params().items()}
    params: dict[str, str] = {}
    if isinstance(first, Network):
        params["layers"] = _text([repr(layer) for layer in first.layers])
        params["seed"] = _text(first.seed)
        names = ("X", "y", "loss", "optimizer", "epochs", "batch_size")
        given = {**dict(zip(names, args)), **kwargs}
    else:  # TabularModel.fit(frame, target, **options)
        given = {**dict(zip(("frame", "target"), args)), **kwargs}
    for key, value in given.items():
        if key in ("X", "y", "frame", "validation_data", "callbacks", "sample_weight"):
            continue
        params[key] = _text(value)
    return params


def _trained(first, result) -> tuple[Any, Any]:
    """(the trained model, its History or None) from what a fit returned."""
    if isinstance(first, Network):
        return first, result
    if isinstance(result, tuple):  # (model, History)
        return result[0], result[1]
    if hasattr(first, "network_"):
        return first, first
    return result, getattr(result, "history", None)


def _curves(history) -> dict[str, list]:
    if isinstance(history, History):
        curves = {"loss": history.loss, "val_loss": history.val_loss, "lr": history.lr}
        curves.update(history.metrics)
        return curves
    if history is not None and hasattr(history, "network_"):  # an estimator
        names = ("loss_curve_", "validation_scores_", "validation_loss_curve_")
        return {n.rstrip("_"): getattr(history, n, None) or [] for n in names}
    return {}


def _log_history(run_id: str, model, history) -> None:
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), now, step)
        for key, values in _curves(history).items()
        for step, value in enumerate(values)
        if value is not None
    ]
    client = mlflow.MlflowClient()
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
