"""The ``/docs`` page: the service's OpenAPI document as one HTML page, readable offline.

:func:`docs_page` renders it once, from the same document ``/openapi.json`` answers:
the endpoints, the input columns with their types, an example request as JSON and as
CSV with the ``curl`` lines that send them, and the answers (the predictions' schema
and every error). The page has inline CSS and nothing else: no script, no style sheet,
font or image from another host, so it reads the same with no network. The one part
that depends on the request, the service's address in the ``curl`` lines, is filled in
by :meth:`DocsPage.render`.
"""

from __future__ import annotations

import html
import json
import shlex
from typing import Any

__all__ = ["DocsPage", "docs_page"]

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.3rem 0.6rem;
         border-bottom: 1px solid #eee; }
th { background: #f5f5f7; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { background: #f5f5f7; padding: 0.7rem; overflow-x: auto; }
.method { font-weight: bold; } .muted { color: #666; }
"""

#: Where the page names the service's address; filled in for each request.
_BASE = "\x00base\x00"


class DocsPage:
    """The page, with the service's address still to fill in."""

    def __init__(self, text: str):
        self.text = text

    def render(self, base_url: str) -> bytes:
        """The page for a service at ``base_url`` (``http://host:port``)."""
        return self.text.replace(_BASE, html.escape(shlex.quote(base_url))).encode()


def docs_page(document: dict[str, Any]) -> DocsPage:
    """The ``/docs`` page of an OpenAPI document made by :func:`.openapi.openapi_document`."""
    e = html.escape
    info = document["info"]
    schemas = document["components"]["schemas"]
    predict = document["paths"]["/predict"]["post"]
    bodies = predict["requestBody"]["content"]
    example_json = json.dumps(bodies["application/json"]["example"])
    example_csv = bodies["text/csv"]["example"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(info['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(info['title'])}</h1>",
        f"<p>{e(info['description'])}</p>",
        '<p class="muted">glassnet ' + e(info["version"]) + ". The machine-readable "
        'document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>',
        "<h2>Endpoints</h2>",
        "<table><tr><th>method</th><th>path</th><th>what</th></tr>",
    ]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            parts.append(
                f'<tr><td class="method">{e(method.upper())}</td><td><code>{e(path)}</code>'
                f"</td><td>{e(op.get('summary', ''))}</td></tr>"
            )
    parts.append("</table>")
    parts += _inputs(schemas, predict)
    parts += [
        "<h2>An example request</h2>",
        "<p>As JSON:</p>",
        f"<pre>{e(json.dumps(bodies['application/json']['example'], indent=2))}</pre>",
        f"<pre>curl -s {_BASE}/predict -H 'Content-Type: application/json' \\\n"
        f"    -d {e(shlex.quote(example_json))}</pre>",
        "<p>As CSV (a header row, then one line a row):</p>",
        f"<pre>{e(example_csv)}</pre>",
        f"<pre>curl -s {_BASE}/predict -H 'Content-Type: text/csv' \\\n"
        f"    --data-binary {e(shlex.quote(example_csv.rstrip()))}</pre>",
    ]
    parts += _answers(document, predict)
    parts.append("</body></html>")
    return DocsPage("\n".join(parts))


def _type(schema: dict[str, Any]) -> str:
    """A property's type in a few words: ``number or null``, ``string (date-time)``."""
    kinds = schema.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    text = " or ".join(kinds)
    if "format" in schema:
        text += f" ({schema['format']})"
    if "x-glassnet-date-format" in schema:
        text += f" ({schema['x-glassnet-date-format']})"
    if "enum" in schema:
        levels = ", ".join(json.dumps(v) for v in schema["enum"])
        text += f": one of {levels}"
    return text


def _inputs(schemas: dict[str, Any], predict: dict[str, Any]) -> list[str]:
    e = html.escape
    request = schemas["PredictRequest"]
    out = ["<h2>Input columns</h2>", f"<p>{e(request.get('description', ''))}</p>"]
    if "Record" in schemas:
        record = schemas["Record"]
        required = set(record.get("required", []))
        out.append(
            "<p>A record is a JSON object with one property per column; a CSV body has "
            "one column of each name.</p>"
        )
        out.append(
            "<table><tr><th>column</th><th>JSON type</th><th>required</th>"
            "<th>example</th><th>how it is read</th></tr>"
        )
        for name, prop in record["properties"].items():
            example = json.dumps(prop["examples"][0]) if prop.get("examples") else ""
            out.append(
                f"<tr><td><code>{e(name)}</code></td><td>{e(_type(prop))}</td>"
                f"<td>{'yes' if name in required else 'no'}</td><td><code>{e(example)}</code>"
                f"</td><td>{e(prop.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    if "Row" in schemas:
        row = schemas["Row"]
        names = ", ".join(item["title"] for item in row["prefixItems"])
        out.append(f"<p>A row is a JSON array: {e(row['description'])} Columns: {e(names)}.</p>")
        if "Record" not in schemas:
            out.append("<p>A CSV body has a header row and as many columns, read in order.</p>")
    out.append(f"<p>{e(predict.get('description', ''))}</p>")
    return out


def _answers(document: dict[str, Any], predict: dict[str, Any]) -> list[str]:
    e = html.escape
    schemas = document["components"]["schemas"]
    answer = schemas["PredictResponse"]
    out = [
        "<h2>Answers</h2>",
        "<p><code>POST /predict</code> answers 200 with a JSON object:</p>",
        "<table><tr><th>key</th><th>always</th><th>what</th></tr>",
    ]
    required = set(answer.get("required", []))
    for name, prop in answer["properties"].items():
        out.append(
            f"<tr><td><code>{e(name)}</code></td><td>{'yes' if name in required else 'no'}"
            f"</td><td>{e(prop.get('description', _type(prop)))}</td></tr>"
        )
    out.append("</table>")
    out.append(
        f"<details><summary>Its JSON Schema</summary><pre>{e(json.dumps(answer, indent=2))}"
        "</pre></details>"
    )
    out.append(
        '<p>Every refusal is answered with a JSON object <code>{"error": "..."}</code> '
        "that names the problem, and the record or line:</p>"
    )
    out.append("<table><tr><th>status</th><th>when</th></tr>")
    responses = document["components"]["responses"]
    for status in predict["responses"]:
        if status in responses:
            out.append(
                f"<tr><td>{e(status)}</td><td>{e(responses[status]['description'])}</td></tr>"
            )
    out.append("</table>")
    out.append("<p>The other endpoints:</p><table><tr><th>path</th><th>answers</th></tr>")
    for path, operations in document["paths"].items():
        if path == "/predict":
            continue
        for op in operations.values():
            ok = op["responses"]["200"]
            kinds = ", ".join(ok.get("content", {}))
            out.append(
                f"<tr><td><code>{e(path)}</code></td><td>{e(ok['description'])} "
                f'<span class="muted">({e(kinds)})</span></td></tr>'
            )
    out.append("</table>")
    return out
