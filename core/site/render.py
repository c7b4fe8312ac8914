"""HTML of the catalogue's pages: Jinja2 templates shipped with the package.

Every link a template writes is relative (`root` leads back to the site's top), so the
site can be served under any path, or opened from disk.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from core.site.catalogue import Page, paragraphs

#: files copied as they are (style sheet, search script)
STATIC = ("site.css", "search.js")


class Renderer:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("core.site", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    @cached_property
    def fingerprint(self) -> str:
        """A hash of every template and static file: a change to one re-renders all pages."""
        h = hashlib.sha256()
        for name in sorted(self.env.list_templates()):
            h.update(name.encode())
            h.update(resources.files("core.site").joinpath("templates", name).read_bytes())
        for name, data in self.static_files():
            h.update(name.encode())
            h.update(data)
        return h.hexdigest()

    def static_files(self) -> list[tuple[str, bytes]]:
        return [(f"static/{name}", resources.files("core.site").joinpath("static", name)
                 .read_bytes()) for name in STATIC]

    def render(self, page: Page, shell: dict[str, Any], text: str | None = None) -> bytes:
        """The page's HTML; `text` is the file's text layer for a document page."""
        root = "../" * page.path.count("/")
        html = self.env.get_template(page.template).render(
            site=shell, page=page.context, root=root, path=page.path,
            paragraphs=paragraphs(text) if text else [],
        )
        return html.encode("utf-8")
