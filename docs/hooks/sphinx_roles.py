"""A Griffe extension: the Sphinx roles in glassnet's docstrings, as links in the reference.

glassnet's docstrings are NumPy style and name other objects with Sphinx roles
(:class:`Network`, :func:`~glassnet.training.fit`, :mod:`.streaming`). mkdocstrings
renders docstrings as Markdown, where a role would show as ``:class:`` in front of the
name. This extension rewrites each role, in the text Griffe loaded (never in the source),
as an optional cross-reference: a link where the reference documents the target, the
name in code where it does not, so a role never breaks the strict build.

A name is looked up as Sphinx would: a leading dot from the docstring's module outwards,
a plain name in the docstring's own scope (its class, its module and what they import),
a dotted name from the top, and glassnet's top-level names (``glassnet.Network``, which
``glassnet/__init__.py`` imports lazily, out of Griffe's sight) where they are defined.
"""

from __future__ import annotations

import html
import importlib
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(mod|class|func|meth|attr|data|exc|obj):`(~?)([^`<>]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrites ``:role:`target``` in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(lambda m, o=obj: _link(o, m), obj.docstring.value)


def _objects(obj: griffe.Object):
    """The object and every object defined under it (aliases are documented where they point)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


def _link(owner: griffe.Object, match: re.Match) -> str:
    short, target = match.group(2) == "~", match.group(3).strip()
    title = target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip(".")
    identifier = _resolve(owner, target) or target.lstrip(".")
    return (
        f'<autoref identifier="{html.escape(identifier)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def _resolve(owner: griffe.Object, target: str) -> str | None:
    package = owner.package
    if target.startswith("."):
        scope = owner.module
        relative = target.lstrip(".")
        while scope is not None:
            found = _member(package, f"{scope.path}.{relative}")
            if found:
                return found
            scope = scope.parent
        return None
    first, _, rest = target.partition(".")
    try:
        path = owner.resolve(first)
    except (griffe.NameResolutionError, AttributeError, KeyError):
        path = None
    if path:
        found = _member(package, f"{path}.{rest}" if rest else path)
        if found:
            return found
    return _member(package, target) or _public(target)


def _member(package: griffe.Module, path: str) -> str | None:
    """The path of the object at ``path`` under ``package``, if Griffe knows one."""
    if path == package.path:
        return path
    if not path.startswith(package.path + "."):
        return None
    try:
        obj = package[path[len(package.path) + 1 :]]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    try:
        return obj.final_target.path if obj.is_alias else obj.path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return obj.path


def _public(target: str) -> str | None:
    """A lazily imported top-level name (``glassnet.Network``) as the path that defines it."""
    top, _, rest = target.partition(".")
    name, _, attribute = rest.partition(".")
    if top != "glassnet" or not name:
        return None
    try:
        value = getattr(importlib.import_module(top), name)
    except (ImportError, AttributeError):
        return None
    home = getattr(value, "__module__", None)
    if home is None or not hasattr(value, "__qualname__"):
        return None
    path = f"{home}.{value.__qualname__}"
    return f"{path}.{attribute}" if attribute else path
