"""The service described as an OpenAPI 3.1 document, generated from the loaded model.

:func:`openapi_document` writes what ``GET /openapi.json`` answers: ``POST /predict``'s
request body as JSON (a record or a list of records, one property per feature column,
typed as the model reads it; or rows of numbers for a bare network or an estimator
fitted without column names) and as CSV, with an example of each that the service
answers with 200; the answer (predictions typed by the model's labels, probabilities
with one named entry per class); every error the service answers, each with its JSON
body ``{"error": "..."}``; and the other routes. The schemas are JSON Schema 2020-12, as
OpenAPI 3.1 has them.

The document says what the service accepts, no more: a feature is required in every
record (a model trained with ``impute`` takes ``null`` for a missing value, but not an
absent key), and a text column's levels are an ``enum`` when the model has at most
:data:`ENUM_LEVELS` of them and no "other" level (a value never seen in training is
still answered, with a warning). Where the service is more lenient than the schema, the
schema's description says so: a JSON string is read as a CSV cell, so ``"1.5"`` is a
number in a numeric column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

from .adapters import (
    Adapter,
    ArrayAdapter,
    EstimatorAdapter,
    NetworkAdapter,
    TabularAdapter,
    levels_of,
)
from .errors import MESSAGE_CHARS

__all__ = ["ENUM_LEVELS", "ERRORS", "openapi_document", "example_request", "feature_schemas"]

#: A text column with at most this many levels lists them as the property's ``enum``.
ENUM_LEVELS = 50

#: The error statuses ``POST /predict`` answers, and what each means.
ERRORS = {
    400: "The body cannot be read: malformed JSON or CSV, not UTF-8 (or not the charset "
    "its Content-Type names), empty, or the client left before it was whole.",
    408: "The body did not arrive whole within the body timeout; the connection is closed.",
    413: "The body is over a limit: bytes, rows, or a CSV's columns.",
    415: "Another content type than application/json or text/csv, or an unknown charset.",
    422: "The rows do not fit the model: a missing column, text where a number belongs, a "
    "list in a cell, the wrong number of values, or values that overflow the network.",
    500: "An internal error in glassnet (a bug): please report it.",
}

_REF = "#/components/schemas/"


def openapi_document(
    adapter: Adapter, about: dict[str, Any], *, metrics: bool = True
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a service of ``adapter``'s model; ``about`` is what
    ``/metadata`` answers (its ``request`` entry holds the limits); ``metrics``: whether
    the service has ``GET /metrics``."""
    limits = about["request"]
    features = feature_schemas(adapter)
    example = example_request(adapter)
    schemas: dict[str, Any] = {
        "PredictRequest": _request_schema(adapter, limits["max_rows"]),
        "PredictResponse": _response_schema(adapter),
        "Error": {
            "type": "object",
            "description": "A refused request: the message names the problem and the record "
            f"or line (at most {MESSAGE_CHARS} characters and a note of what was cut).",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
            "additionalProperties": False,
        },
        "Health": {
            "type": "object",
            "properties": {"status": {"const": "ok"}},
            "required": ["status"],
        },
        "Metadata": _metadata_schema(),
    }
    if features is not None:
        schemas["Record"] = {
            "type": "object",
            "description": "One row: a value for each feature column, by name. Other keys "
            "are ignored.",
            "properties": features,
            "required": list(features),
        }
    if isinstance(adapter, ArrayAdapter):
        schemas["Row"] = _row_schema(adapter)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"glassnet prediction service ({_model_summary(about)})",
            "version": about["glassnet_version"],
            "description": _description(about),
        },
        "paths": {
            path: item
            for path, item in _paths(example, limits).items()
            if metrics or path != "/metrics"
        },
        "components": {
            "schemas": schemas,
            "responses": {
                str(status): {
                    "description": text,
                    "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
                }
                for status, text in ERRORS.items()
            },
        },
    }


def feature_schemas(adapter: Adapter) -> dict[str, dict[str, Any]] | None:
    """The JSON Schema of each feature column of a record, by name; None for a model
    that takes rows of numbers alone (a network, an estimator without column names)."""
    if isinstance(adapter, TabularAdapter):
        return {c["name"]: _column_schema(c, adapter.impute) for c in adapter.columns}
    if isinstance(adapter, EstimatorAdapter) and adapter.names is not None:
        return {name: _number(f"column {j} of X") for j, name in enumerate(adapter.names)}
    return None


def example_request(adapter: Adapter) -> dict[str, Any]:
    """A request the model answers: ``{"json": [...], "csv": "..."}``, one row each."""
    if isinstance(adapter, TabularAdapter):
        record = {c["name"]: _example_value(c) for c in adapter.columns}
    else:
        assert isinstance(adapter, ArrayAdapter)  # a network or an estimator: adapter_for
        record = dict.fromkeys(adapter.labels(), 0.0)
    if isinstance(adapter, ArrayAdapter) and adapter.names is None:
        body: list = [list(record.values())]
    else:
        body = [record]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(record)
    writer.writerow(["" if v is None else _cell(v) for v in record.values()])
    return {"json": body, "csv": out.getvalue()}


# -- the request ------------------------------------------------------------------------------


def _number(description: str, nullable: bool = False) -> dict[str, Any]:
    return {
        "type": ["number", "null"] if nullable else "number",
        "description": description + '; a string is read as a CSV cell ("1.5" is 1.5)',
    }


def _column_schema(spec: dict[str, Any], impute: bool) -> dict[str, Any]:
    """How a record gives one column of a command-line model, as its encoder reads it,
    with an example value."""
    return {**_column_type(spec, impute), "examples": [_example_value(spec)]}


def _column_type(spec: dict[str, Any], impute: bool) -> dict[str, Any]:
    kind = spec["kind"]
    missing = "; null is a missing value, filled from training" if impute else ""
    if kind == "numeric":
        # robust scaling (clipped) centres on the median and divides by a robust scale
        centre, spread = (
            ("median", "robust scale") if "clip" in spec else ("mean", "standard deviation")
        )
        return _number(
            f"a number (training {centre} {_short(spec['mean'])}, {spread} "
            f"{_short(spec['std'])}){missing}",
            impute,
        )
    if kind == "boolean":
        return {
            "type": ["boolean", "null"] if impute else "boolean",
            "description": 'true or false (the text "true"/"false" in any case, or 1 and 0, '
            f"is read too){missing}",
        }
    if kind == "datetime":
        fmt = spec.get("format")
        schema: dict[str, Any] = {"type": ["string", "null"] if impute else "string"}
        if fmt is None:
            with_time = any(p["part"] == "hour" for p in spec["parts"])
            schema["format"] = "date-time" if with_time else "date"
            schema["description"] = (
                "an ISO 8601 date"
                + (", with its time (a zone is converted to UTC)" if with_time else "")
                + f"{missing}"
            )
        else:
            schema["x-glassnet-date-format"] = fmt
            schema["description"] = f"a date written as {fmt} (strftime){missing}"
        return schema
    levels = levels_of(spec)
    schema = {"type": ["string", "null"] if impute else "string"}
    if spec.get("other"):
        text = f"text: one of {len(levels)} levels, and any other value is the level 'other'"
    elif len(levels) <= ENUM_LEVELS:
        schema["enum"] = levels + ([None] if impute else [])
        text = "text, one of the levels seen in training (another value is answered with a "
        text += "warning, and encoded as none of them)"
    else:
        text = f"text: one of {len(levels)} levels (GET /metadata lists them; another value "
        text += "is answered with a warning)"
    schema["description"] = text + "; a number is read as its text (101 is '101')" + missing
    return schema


def _example_value(spec: dict[str, Any]) -> Any:
    """A value of this column that the model reads: the training centre of a number, the
    most frequent level of a text column, true, and a date in the column's format."""
    kind = spec["kind"]
    if kind == "numeric":
        return _short(spec["mean"])
    if kind == "boolean":
        return True
    if kind == "datetime":
        years = [p["mean"] for p in spec["parts"] if p["part"] == "year"]
        year = min(max(round(years[0]) if years else 2000, 1), 9999)
        when = dt.datetime(year, 6, 15, 12, 0, 0, tzinfo=dt.timezone.utc)
        fmt = spec.get("format")
        if fmt is not None:
            return when.strftime(fmt)
        if any(p["part"] == "hour" for p in spec["parts"]):
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return when.strftime("%Y-%m-%d")
    levels = levels_of(spec)
    return spec.get("fill") or (levels[0] if levels else "")


def _short(x: float) -> float:
    """A number to four significant digits, for a description or an example."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return 0.0
    return round(x, 3 - int(math.floor(math.log10(abs(x)))))


def _cell(v: Any) -> str:
    """A JSON value as the CSV cell that the service reads the same way."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _row_schema(adapter: ArrayAdapter) -> dict[str, Any]:
    n = adapter.n_features
    return {
        "type": "array",
        "description": f"One row: {n} numbers, in the order the model was trained on; a "
        'string is read as a CSV cell ("1.5" is 1.5).',
        "prefixItems": [{"type": "number", "title": name} for name in adapter.labels()],
        "items": False,
        "minItems": n,
        "maxItems": n,
    }


def _request_schema(adapter: Adapter, max_rows: int) -> dict[str, Any]:
    def many(item: str) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"$ref": _REF + item},
            "minItems": 1,
            "maxItems": max_rows,
        }

    if isinstance(adapter, TabularAdapter):
        forms = [{"$ref": _REF + "Record"}, many("Record")]
    elif isinstance(adapter, EstimatorAdapter) and adapter.names is not None:
        forms = [{"$ref": _REF + "Record"}, many("Record"), many("Row")]
    else:
        return {**many("Row"), "description": "A list of rows."}
    return {
        "description": "One record, or a list of records"
        + (" (or of rows of numbers, in the order of fit's columns)" if len(forms) > 2 else "")
        + ".",
        "oneOf": forms,
    }


# -- the answer -------------------------------------------------------------------------------


def _json_type(values: list) -> dict[str, Any]:
    """The JSON type that all these labels share (none where they are mixed)."""
    if all(isinstance(v, bool) for v in values):
        return {"type": "boolean"}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return {"type": "integer"}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return {"type": "number"}
    if all(isinstance(v, str) for v in values):
        return {"type": "string"}
    return {}


def _probabilities(classes: list, what: str) -> dict[str, Any]:
    """A row of probabilities: one entry per class, named by it, in ``classes`` order."""
    k = len(classes)
    return {
        "type": "array",
        "description": f"One row's probabilities, one per {what}, in the order of classes.",
        "prefixItems": [
            {"type": "number", "minimum": 0, "maximum": 1, "title": str(c)} for c in classes
        ],
        "items": False,
        "minItems": k,
        "maxItems": k,
    }


def _outputs(n: int, title: str) -> dict[str, Any]:
    return {
        "type": "array",
        "prefixItems": [{"type": "number", "title": f"{title} {j}"} for j in range(n)],
        "items": False,
        "minItems": n,
        "maxItems": n,
    }


def _classified(classes: list, what: str, label: dict[str, Any]) -> dict[str, Any]:
    shown = ", ".join(map(str, classes[:10])) + (", ..." if len(classes) > 10 else "")
    return {
        "predictions": {
            "type": "array",
            "items": label,
            "description": f"The predicted {what} of each row, in order ({shown}).",
        },
        "classes": {
            "type": "array",
            "const": classes,
            "description": "The classes, in the order of each row's probabilities.",
        },
        "probabilities": {
            "type": "array",
            "items": _probabilities(classes, what),
            "description": f"Each row's probability of each {what}, in the order of classes.",
        },
    }


def _response_schema(adapter: Adapter) -> dict[str, Any]:
    required = ["predictions"]
    if isinstance(adapter, TabularAdapter):
        target = adapter.model.target
        if target.task == "classification":
            classes = _labels(target.classes)
            label = {**_json_type(classes), "enum": classes}
            properties = _classified(classes, "class", label)
            required += ["classes", "probabilities"]
        else:
            properties = {
                "predictions": {
                    "type": "array",
                    "items": {"type": "number"},
                    "description": f"The predicted {target.name}, one per row.",
                }
            }
        properties["warnings"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": "Present when there are any: values never seen in training, say.",
        }
    elif isinstance(adapter, NetworkAdapter):
        n = adapter.model.output_size
        properties = {
            "predictions": {
                "type": "array",
                "items": _outputs(n, "output"),
                "description": "The network's outputs, one row of them per row.",
            }
        }
    else:
        assert isinstance(adapter, EstimatorAdapter)  # the last kind adapter_for makes
        est = adapter.model
        if adapter.classifier:
            classes = _labels(est.classes_.tolist())
            if est.target_type == "multilabel-indicator":
                label = {
                    "type": "array",
                    "items": {"enum": [0, 1]},
                    "minItems": len(classes),
                    "maxItems": len(classes),
                }
                properties = _classified(classes, "label", label)
            else:
                properties = _classified(classes, "class", {**_json_type(classes), "enum": classes})
            required += ["classes", "probabilities"]
        else:
            n = est.n_outputs_
            item = {"type": "number"} if n == 1 else _outputs(n, "output")
            properties = {
                "predictions": {
                    "type": "array",
                    "items": item,
                    "description": "The predicted value of each row, in order.",
                }
            }
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _labels(labels) -> list:
    """Class labels as JSON gives them (NumPy scalars as Python ones)."""
    return [v.item() if hasattr(v, "item") else v for v in labels]


def _metadata_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The model and the service: the features with their types, the task, "
        "target and classes, how the model was trained, the model file, the request limits.",
        "properties": {
            "kind": {"enum": ["tabular", "network", "estimator"]},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "kind": {"type": "string"},
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "format": {
                            "type": "string",
                            "description": "how a date column's text is written: a strftime "
                            "format, or ISO 8601",
                        },
                    },
                    "required": ["name", "type"],
                },
            },
            "glassnet_version": {"type": "string"},
            "model_file": {"type": ["string", "null"]},
            "request": {
                "type": "object",
                "properties": {
                    "content_types": {"type": "array", "items": {"type": "string"}},
                    "max_body_bytes": {"type": "integer"},
                    "max_rows": {"type": "integer"},
                    "max_columns": {"type": "integer"},
                    "body_timeout_seconds": {"type": "number"},
                },
            },
        },
        "required": ["kind", "features", "glassnet_version", "request"],
    }


# -- the routes -------------------------------------------------------------------------------


def _json_answer(description: str, schema: dict[str, Any], example=None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def _paths(example: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    errors = {str(s): {"$ref": f"#/components/responses/{s}"} for s in ERRORS}
    return {
        "/predict": {
            "post": {
                "operationId": "predict",
                "summary": "Predict rows given as JSON or CSV",
                "description": f"At most {limits['max_rows']} rows and "
                f"{limits['max_body_bytes']} bytes, arriving whole within "
                f"{limits['body_timeout_seconds']:g} seconds; a CSV body may have "
                f"{limits['max_columns']} columns at most (the model's and others, which "
                "are ignored).",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": _REF + "PredictRequest"},
                            "example": example["json"],
                        },
                        "text/csv": {
                            "schema": {
                                "type": "string",
                                "description": "A table with a header row naming the "
                                "columns (any order; others are ignored), as `glassnet "
                                "predict` reads a CSV file: the separator (, ; tab or |) "
                                "sniffed, every cell as written, only an empty cell missing; "
                                "UTF-8 unless the Content-Type names a charset.",
                            },
                            "example": example["csv"],
                        },
                    },
                },
                "responses": {
                    "200": _json_answer(
                        "The predictions, one per row, in order.",
                        {"$ref": _REF + "PredictResponse"},
                    ),
                    **errors,
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Whether the service answers",
                "responses": {
                    "200": _json_answer("It does.", {"$ref": _REF + "Health"}, {"status": "ok"})
                },
            }
        },
        "/metadata": {
            "get": {
                "operationId": "metadata",
                "summary": "The model and the request limits",
                "responses": {"200": _json_answer("The model.", {"$ref": _REF + "Metadata"})},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Counters and timings in Prometheus' text format",
                "responses": {
                    "200": {
                        "description": "glassnet_requests_total, "
                        "glassnet_request_duration_seconds, glassnet_rows_predicted_total "
                        "and glassnet_model_info.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json_answer("OpenAPI 3.1.", {"type": "object"})},
            }
        },
        "/docs": {
            "get": {
                "operationId": "docs",
                "summary": "This document as a web page (no asset from another host)",
                "responses": {
                    "200": {
                        "description": "HTML.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def _model_summary(about: dict[str, Any]) -> str:
    kind = about["kind"]
    if kind == "tabular":
        return f"{about['task']} of {about['target']}"
    if kind == "estimator":
        return about["estimator"]
    return f"a network of {len(about['features'])} inputs and {about['outputs']} outputs"


def _description(about: dict[str, Any]) -> str:
    source = about.get("model_file")
    return (
        f"Predictions of the {about['kind']} model"
        + (f" in {source}" if source else "")
        + ", served by glassnet "
        + about["glassnet_version"]
        + '. Every refused request is answered with a JSON body {"error": "..."} that '
        "names the problem; a route that does not exist is answered 404, and a method a "
        "route does not take 405, with the same body."
    )
