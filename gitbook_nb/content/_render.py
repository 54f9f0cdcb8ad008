"""A page's markdown as safe HTML for the notebook, with its links pointed at the space.

Pages are written by other people (SECURITY.md E6): raw HTML in them is shown as text, never
run. markdown-it-py (CommonMark; the package's one Markdown dependency, also used for Ask's
answers) parses with ``html=False``, which leaves every raw HTML block and inline tag as
escaped text, and its link check drops ``javascript:``/``vbscript:``/``file:`` links. We only
add link resolution: GitBook writes links between pages relative to the page's file, as Git
Sync does (``../faq.md``, ``guide/README.md``); they become the target page's address in the
space, opened in a new tab.

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


_RENDERER: list[Any] = []  # built on first use: importing markdown-it costs ~30 ms


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    tok = tokens[idx]
    resolve = env.get("resolve") if isinstance(env, dict) else None
    if resolve is not None:
        tok.attrSet("href", resolve(tok.attrGet("href") or ""))
    # a new tab, and the page opened learns nothing about the notebook (A8's rule)
    tok.attrSet("target", "_blank")
    tok.attrSet("rel", "noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def render_markdown(markdown: str, resolve: Callable[[str], str] | None = None) -> str:
    """``markdown`` as HTML: raw HTML escaped, unsafe links dropped, page links resolved."""
    if not _RENDERER:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        md.enable(["table", "strikethrough"])
        md.add_render_rule("link_open", _link_open)
        _RENDERER.append(md)
    return str(_RENDERER[0].render(markdown, {"resolve": resolve}))
