"""A MkDocs hook: the site loads nothing from the internet.

Material's fonts are turned off in mkdocs.yml and its icons and search are bundled.
The notebook pages come from nbconvert's templates, which load MathJax and Mermaid from
a CDN (and the widget renderer when a notebook stores widget state); the tutorials use
none of them, so their loaders are taken out here. Then every page is checked: a
script, style sheet, image, frame or CSS import from another host is a warning, which
``mkdocs build --strict`` turns into a failed build. Plain links (``<a href>``) are
not assets and stay.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("mkdocs.hooks.offline")

# nbconvert's loaders: MathJax (base/mathjax.html.j2) and Mermaid (lab/mermaidjs.html.j2)
NBCONVERT_LOADERS = [
    re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
    re.compile(
        r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", '
        r"async \(\) => \{\s*const diagrams = .*?</script>",
        re.S,
    ),
]

# an asset fetched from another host: src=, srcset=, a <link> href, or CSS url()/@import
EXTERNAL_ASSET = re.compile(
    r"""(?:\b(?:src|srcset|data|poster)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+["'](?:https?:)?//"""
    r"""|import\(\s*["'](?:https?:)?//)""",
    re.I,
)


def on_post_page(output: str, page, config) -> str:
    for loader in NBCONVERT_LOADERS:
        output = loader.sub("", output)
    for match in EXTERNAL_ASSET.finditer(output):
        context = output[max(0, match.start() - 80) : match.end() + 80].replace("\n", " ")
        log.warning("%s loads an asset from the internet: ...%s...", page.file.src_uri, context)
    return output
