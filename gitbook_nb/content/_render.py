"""A page's markdown as safe HTML for the notebook, with its links pointed at the space.

Pages are written by other people (SECURITY.md E6): raw HTML in them is shown as text, never
run. mistune (a pure-Python CommonMark renderer, already a dependency of nbconvert) does the
parsing with ``escape=True``, which turns every raw HTML block and inline tag into escaped
text, and its ``safe_url`` drops ``javascript:``/``vbscript:``/``data:`` links. We only add
link resolution: GitBook writes links between pages relative to the page's file, as Git Sync
does (``../faq.md``, ``guide/README.md``); they become the target page's address in the space.

Why not ``_repr_markdown_``: Jupyter front ends render markdown outputs with raw HTML passed
through (sanitised, but still markup), so the rendering is done here, where HTML stays text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = ["page_link_resolver", "render_markdown", "target_path"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def target_path(from_path: str, link: str) -> str | None:
    """The page path a Git-Sync-style relative link names, seen from page ``from_path``.

    ``None`` when the link is not a relative page link (external, anchor, absolute) or when it
    climbs above the space. ``README.md`` names its folder's page, ``x.md`` the page ``x``.
    """
    if not link or link.startswith(("#", "/", "\\")) or _SCHEME.match(link):
        return None
    ref = unquote(link.split("#", 1)[0].split("?", 1)[0])
    if not ref:
        return None
    start = posixpath.dirname(f"{from_path.strip('/')}.md")
    joined = posixpath.normpath(posixpath.join(start, ref))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        return None
    for suffix in ("/README.md", "README.md", ".md"):
        if joined.endswith(suffix):
            joined = joined[: -len(suffix)]
            break
    return joined.strip("/") if joined not in (".", "") else ""


def page_link_resolver(page_path: str, page_url: str | None) -> Callable[[str], str]:
    """A function turning links of the page at ``page_path`` into addresses in its space.

    GitBook's page URLs end with the page path (``.../s/SPACE/guides/install``); the space's
    base is the page's own URL without that path. Without a usable URL, links stay as written.
    """
    base = None
    if page_url and urlsplit(page_url).scheme in ("http", "https"):
        quoted = quote(page_path.strip("/"))
        trimmed = page_url.rstrip("/")
        if quoted and trimmed.endswith("/" + quoted):
            base = trimmed[: -len(quoted)]
        elif not quoted:
            base = trimmed + "/"

    def resolve(link: str) -> str:
        if base is None:
            return link
        target = target_path(page_path, link)
        if target is None:
            return link
        anchor = link.split("#", 1)[1] if "#" in link else ""
        return base + quote(target) + (f"#{quote(anchor)}" if anchor else "")

    return resolve


def render_markdown(markdown: str, resolve: Callable[[str], str] | None = None) -> str:
    """``markdown`` as HTML: raw HTML escaped, unsafe links dropped, page links resolved."""
    import mistune  # only when a page is shown: keeps `import gitbook_nb.content` light

    class _Renderer(mistune.HTMLRenderer):
        def link(self, text: str, url: str, title: str | None = None) -> str:
            target = resolve(url) if resolve is not None else url
            html = super().link(text, target, title)
            # a new tab, and the page opened learns nothing about the notebook (A8's rule)
            return html.replace("<a ", '<a target="_blank" rel="noopener noreferrer" ', 1)

    render: Any = mistune.create_markdown(
        renderer=_Renderer(escape=True),
        plugins=["table", "strikethrough", "task_lists"],
    )
    return str(render(markdown))
