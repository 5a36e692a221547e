"""The documentation site builds with --strict, offline, and shows what it says it shows.

The site is built once for the module, as `make docs` builds it (`mkdocs build --strict`,
the tutorials executed), into a temporary folder; the tests read the HTML it wrote.
"""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("material")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"

#: The pages the site must have, by their source, and a phrase each must show.
PAGES = {
    "index.md": "A NumPy neural-network library in which nothing is hidden",
    "getting-started.md": "make demo",
    "command-line.md": "glassnet train",
    "python-api.md": "Seeing every step",
    "sklearn.md": "MLPClassifier",
    "deploying.md": "ONNX",
    "scaling.md": "Dask",
    "performance.md": "compiled path",
    "architecture.md": "One training step, as data flows",
    "tutorials/index.md": "Seed 003: a neuron, the chain rule, and Emily and Frank",
    "reference/index.md": "glassnet.Network",
}

#: The modules the API reference documents, each on its own page.
REFERENCE = [
    "network", "layers", "activations", "losses", "optimizers", "schedules", "training",
    "data", "gradcheck", "explain", "modelfile", "tabular", "sklearn", "onnx", "serve",
    "dask", "fast",
]  # fmt: skip

#: An asset from another host: what the built site must never load (plain links may point
#: anywhere). The same rule as docs/hooks/offline.py, written again so that a hook that
#: stopped running would not pass its own check.
EXTERNAL_ASSET = re.compile(
    r"""(?:\b(?:src|srcset|data|poster)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+["'](?:https?:)?//"""
    r"""|import\(\s*["'](?:https?:)?//)""",
    re.I,
)


def html_of(site: Path, source: str) -> str:
    """The built page of a source file: docs/a/b.md is site/a/b/index.html."""
    stem = source.rsplit(".", 1)[0]
    if stem == "index" or stem.endswith("/index"):
        path = site / stem.removesuffix("index") / "index.html"
    else:
        path = site / stem / "index.html"
    assert path.is_file(), f"{source} was not built ({path})"
    return path.read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """An HTML page's text, tags and entities aside."""
    import html as _html

    return _html.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, warnings
    return out


def test_every_page_is_built_with_its_content(site):
    for source, phrase in PAGES.items():
        assert phrase in text_of(html_of(site, source)), f"{source} does not show {phrase!r}"


def test_the_architecture_page_is_docs_architecture_md_as_it_is(site):
    page = text_of(html_of(site, "architecture.md"))
    source = (DOCS / "architecture.md").read_text()
    headings = re.findall(r"^#+ (.*)$", source, flags=re.M)
    assert headings and all(heading in page for heading in headings)
    for row in re.findall(r"^\| `([a-z_/]+)`", source, flags=re.M):  # the rooms' table
        assert row in page


def test_the_api_reference_documents_network_fit_from_its_docstring(site):
    import glassnet

    page = html_of(site, "reference/network.md")
    start = page.rindex("<h", 0, page.index('id="glassnet.network.Network.fit"'))
    entry = text_of(page[start : start + 20_000])
    assert entry.split()[0] == "fit"  # the heading, then the signature and the docstring
    assert glassnet.Network.fit.__doc__.split(";")[0].strip() in entry  # "Train the network"
    for parameter in ("loss", "optimizer", "epochs", "batch_size", "shuffle", "verbose"):
        assert parameter in entry
    assert "(n_samples, n_features)" in entry  # the shapes the docstring states


def test_the_drop_in_s_parameters_are_documented_as_help_shows_them(site):
    """MLPClassifier's docstring gets its Parameters and Attributes when its module is
    imported (docs/hooks/runtime_docstrings.py brings them into the reference)."""
    page = html_of(site, "reference/sklearn.md")
    classifier = page.index('id="glassnet.sklearn.MLPClassifier"')
    regressor = page.index('id="glassnet.sklearn.MLPRegressor"')
    assert classifier < regressor
    entries = {"MLPClassifier": page[classifier:regressor], "MLPRegressor": page[regressor:]}
    for estimator, html in entries.items():
        entry = text_of(html)
        assert "Parameters:" in entry and "Attributes:" in entry, estimator
        for parameter in ("hidden_layer_sizes", "early_stopping_metric", "coefs_", "network_"):
            assert parameter in entry, (estimator, parameter)


def test_every_module_of_the_reference_has_its_page(site):
    for module in REFERENCE:
        page = html_of(site, f"reference/{module}.md")
        assert f'id="glassnet.{module}"' in page, module
        assert not re.search(r":(class|func|meth|mod|attr|exc):`", page), (
            f"a Sphinx role was left as text on the page of glassnet.{module}"
        )


def test_every_public_name_of_glassnet_links_to_its_entry(site):
    import glassnet

    page = html_of(site, "reference/index.md")
    for name in glassnet.__all__:
        if name != "__version__":
            link = rf'<a [^>]*href="[^"]+"[^>]*><code>glassnet\.{name}</code></a>'
            assert re.search(link, page), name


def test_a_tutorial_shows_its_figures_as_images(site):
    page = html_of(site, "tutorials/seed000-002_xor.ipynb")
    assert "499 1.12013092852e-08" in text_of(page)  # executed: seed 002's last loss
    images = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 2  # the loss curve and the decision boundary
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)


def test_the_site_loads_nothing_from_the_internet(site):
    pages = list(site.rglob("*.html")) + list(site.rglob("*.css"))
    assert len(pages) > 20
    for path in pages:
        text = path.read_text(encoding="utf-8")
        found = EXTERNAL_ASSET.search(text)
        assert not found, f"{path.relative_to(site)}: {text[found.start() : found.end() + 80]}"
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text
