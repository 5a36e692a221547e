"""/openapi.json and /docs, for every kind of model, on a real uvicorn server and a real client.

The document is checked by a real validator (openapi-spec-validator), its schemas by
jsonschema (the request examples against the request schema, the answers the server
gives against the response and error schemas), and the examples it gives are sent to
the server, which answers them 200.
"""

import html
import html.parser
import json
import re
import shlex
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
pd = pytest.importorskip("pandas")
spec_validator = pytest.importorskip("openapi_spec_validator")
jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("referencing")

import referencing  # noqa: E402
import referencing.jsonschema  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.serve.openapi import ENUM_LEVELS  # noqa: E402
from test_serve import running  # noqa: E402


def schema_of(document, name):
    """A validator of one of the document's component schemas, its $refs resolved."""
    resource = referencing.Resource(document, referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:openapi", resource)
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry
    )


def examples(document):
    content = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    return content["application/json"]["example"], content["text/csv"]["example"]


def check_document(client):
    """The document, validated; its examples are valid requests that the server answers
    200, with an answer its response schema describes; an error fits the error schema."""
    got = client.get("/openapi.json")
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    document = got.json()
    spec_validator.validate(document)
    assert document["openapi"] == "3.1.0"
    by_json, by_csv = examples(document)
    schema_of(document, "PredictRequest").validate(by_json)
    answers = [
        client.post("/predict", json=by_json),
        client.post("/predict", content=by_csv, headers={"content-type": "text/csv"}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        schema_of(document, "PredictResponse").validate(answer.json())
    assert answers[0].json() == answers[1].json()
    refused = client.post("/predict", content=b"[{", headers={"content-type": "application/json"})
    schema_of(document, "Error").validate(refused.json())
    schema_of(document, "Metadata").validate(client.get("/metadata").json())
    schema_of(document, "Health").validate(client.get("/health").json())
    statuses = set(document["paths"]["/predict"]["post"]["responses"])
    assert statuses == {"200", "400", "408", "413", "415", "422", "500"}
    assert set(document["paths"]) == {
        "/predict",
        "/health",
        "/metadata",
        "/metrics",
        "/openapi.json",
        "/docs",
    }
    return document


def frame_of_every_kind(n=240, seed=3):
    rng = np.random.default_rng(seed)
    seconds = rng.integers(1.2e9, 1.7e9, n)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n).round(2),
            "member": rng.choice(["true", "false"], n),
            "stamp": pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%S"),
            "day": pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d"),
            "local": pd.to_datetime(seconds, unit="s").strftime("%d/%m/%Y %H:%M"),
            "town": rng.choice(["north", "south", "east"], n),
            "shop": [f"s{j % 80}" for j in range(n)],
        }
    )
    frame["label"] = np.where(frame["size"] > 10, "big", "small")
    return frame


@pytest.fixture(scope="module")
def tabular_models():
    frame = frame_of_every_kind()
    gappy = frame.copy()
    gappy.loc[::17, "town"] = None  # missing towns: a level of their own, never listed
    imputing = gn.TabularModel.fit(gappy, "label", epochs=3, impute=True, seed=0)
    assert "" in imputing.features.columns[5]["categories"]
    strict = gn.TabularModel.fit(frame, "label", epochs=3, seed=0)
    return frame, imputing, strict


def test_a_command_line_model_is_described_column_by_column(tabular_models):
    frame, imputing, strict = tabular_models
    for model, nullable in ((imputing, True), (strict, False)):
        with running(model) as client:
            document = check_document(client)
            described = client.get("/metadata").json()["features"]
        assert described[5]["categories"] == ["east", "north", "south"]
        record = document["components"]["schemas"]["Record"]
        properties = record["properties"]
        assert list(properties) == [c for c in frame.columns if c != "label"]
        assert record["required"] == list(properties)  # an absent key is refused
        types = {name: prop["type"] for name, prop in properties.items()}
        expected = {
            "size": "number",
            "member": "boolean",
            "stamp": "string",
            "day": "string",
            "local": "string",
            "town": "string",
            "shop": "string",
        }
        if nullable:
            expected = {name: [kind, "null"] for name, kind in expected.items()}
        assert types == expected
        assert properties["stamp"]["format"] == "date-time"
        assert properties["day"]["format"] == "date"
        assert "format" not in properties["local"]
        assert properties["local"]["x-glassnet-date-format"] == "%d/%m/%Y %H:%M"
        levels = ["east", "north", "south"] + ([None] if nullable else [])
        assert properties["town"]["enum"] == levels
        assert "enum" not in properties["shop"]  # too many levels to list
        shops = re.search(r"one of (\d+) levels", properties["shop"]["description"])
        assert int(shops.group(1)) > ENUM_LEVELS
        answer = document["components"]["schemas"]["PredictResponse"]["properties"]
        assert answer["predictions"]["items"] == {"type": "string", "enum": ["big", "small"]}
        named = answer["probabilities"]["items"]["prefixItems"]
        assert [entry["title"] for entry in named] == ["big", "small"]


def test_a_regression_model_answers_numbers():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=80), "town": rng.choice(["a", "b"], 80)})
    frame["price"] = 3 * frame["size"] + 1
    model = gn.TabularModel.fit(frame, "price", epochs=3, seed=0)
    with running(model) as client:
        document = check_document(client)
    answer = document["components"]["schemas"]["PredictResponse"]
    assert answer["properties"]["predictions"]["items"] == {"type": "number"}
    assert answer["required"] == ["predictions"]


def test_a_network_takes_rows_of_its_width():
    net = gn.Network([gn.Dense(4, "tanh"), gn.Dense(2)], input_size=3, seed=0)
    with running(net) as client:
        document = check_document(client)
        rows = schema_of(document, "PredictRequest")
        assert rows.is_valid([[1.0, 2.0, 3.0]])
        assert not rows.is_valid([[1.0, 2.0]])
        assert client.post("/predict", json=[[1.0, 2.0]]).status_code == 422
    schemas = document["components"]["schemas"]
    assert "Record" not in schemas
    assert [item["title"] for item in schemas["Row"]["prefixItems"]] == ["x0", "x1", "x2"]
    outputs = schemas["PredictResponse"]["properties"]["predictions"]["items"]
    assert outputs["minItems"] == outputs["maxItems"] == 2


def test_the_drop_in_estimators_are_described_by_their_columns_and_classes():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    frame = pd.DataFrame(X, columns=["width", "height", "depth"])
    labels = np.array(["low", "mid", "high"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
        classifier.fit(frame, labels)
        regressor = gn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
        regressor.fit(X, X[:, :2])
    with running(classifier) as client:
        document = check_document(client)
    schemas = document["components"]["schemas"]
    assert list(schemas["Record"]["properties"]) == ["width", "height", "depth"]
    assert len(schemas["PredictRequest"]["oneOf"]) == 3  # a record, records, rows
    named = schemas["PredictResponse"]["properties"]["probabilities"]["items"]["prefixItems"]
    assert [entry["title"] for entry in named] == ["high", "low", "mid"]
    with running(regressor) as client:
        document = check_document(client)
    predictions = document["components"]["schemas"]["PredictResponse"]["properties"]
    assert predictions["predictions"]["items"]["maxItems"] == 2


class Assets(html.parser.HTMLParser):
    """Every src= and href= of a page, and its script and link elements."""

    def __init__(self):
        super().__init__()
        self.references, self.elements = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)
        self.references += [value for name, value in attrs if name in ("src", "href")]


def test_the_docs_page_is_offline_html_of_the_same_document(tabular_models):
    frame, model, _ = tabular_models
    with running(model) as client:
        page = client.get("/docs")
        document = client.get("/openapi.json").json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for column in frame.columns.drop("label"):
        assert f"<code>{column}</code>" in text
    for path in document["paths"]:
        assert f"<code>{path}</code>" in text
    for status in ("400", "408", "413", "415", "422", "500"):
        assert f"<td>{status}</td>" in text
    assets = Assets()
    assets.feed(text)
    assert "script" not in assets.elements and "link" not in assets.elements
    assert assets.references == ["openapi.json"]  # this service's own document, and nothing else
    assert "http://" not in text.replace(str(client.base_url), "")
    assert "https://" not in text and "@import" not in text and "url(" not in text
    # the curl line sends the document's own example to this service
    by_json, _ = examples(document)
    base = str(client.base_url).rstrip("/")
    plain = html.unescape(text)
    assert f"curl -s {base}/predict" in plain
    sent = [line for line in plain.splitlines() if line.strip().startswith("-d ")]
    assert len(sent) == 1 and shlex.split(sent[0].replace("</pre>", ""))[1:] == [
        json.dumps(by_json)
    ]
