"""Markdown as GitBook keeps it and serves it: front matter, the title heading, page links.

GitBook stores links between pages as references to page ids and writes them out when asked:
``format.markdown.refs=stable`` gives ``/pages/<id>``, the default ``relative`` a path relative
to the page being read, like Git Sync's files (``../faq.md``). Markdown sent into a change
request is resolved the other way (spec, ``updateChangeRequestContent``): ``/pages/<id>``,
``/pages/<slug path>``, a Git path (``/pages/a/b.md``, ``.../README.md``) or a relative path
(``./x.md``, ``../y.md``, ``./folder``) become ``/pages/<id>``; external URLs stay as they
are, and a page link that matches nothing is left as plain text.

Hand-written rather than a Markdown library: the sandbox imports nothing outside the standard
library, and it only needs inline links outside code, not a full parse.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Container, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from .data_base import gid

# [text](target "title"), not ![image](...); inline code spans are matched first and kept.
_INLINE = re.compile(
    r"(?P<code>`[^`\n]*`)"
    r"|(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target><[^>\n]*>|[^)\s]*)(?P<title>\s+\"[^\"\n]*\")?\)"
)
_FENCE = re.compile(r"^(```|~~~)")
_EXTERNAL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")
# Front matter keys GitBook maps to page metadata (Git Sync); others are kept in the text.
FRONT_MATTER_KEYS = ("title", "description", "emoji", "icon", "hidden", "noIndex", "noRobotsIndex")
_BOOL_KEYS = ("hidden", "noIndex", "noRobotsIndex")


def normalize(markdown: str) -> str:
    """Unix newlines, no trailing blank lines, one final newline (GitBook normalizes too)."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return text.rstrip() + "\n" if text.strip() else ""


def split_front_matter(markdown: str) -> tuple[dict[str, Any], str]:
    """``---`` front matter of ``key: value`` lines -> (metadata, the rest).

    Hand-written: the package has no YAML dependency and the keys GitBook maps to page
    metadata are scalars. Unknown keys are dropped, like Git Sync does.
    """
    text = markdown.replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return {}, markdown
    end = text.find("\n---", 3)
    if end < 0 or text[end + 4 : end + 5] not in ("", "\n"):
        return {}, markdown
    meta: dict[str, Any] = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in FRONT_MATTER_KEYS:
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        meta[key] = value.lower() == "true" if key in _BOOL_KEYS else value
    return meta, text[end + 5 :]


def split_title(body: str) -> tuple[str | None, str]:
    """A leading ``# Heading`` is the page title (Git Sync's rule): (title, the rest)."""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        match = re.match(r"#\s+(.+?)\s*#*\s*$", line)
        if match is None:
            return None, body
        return match[1], "\n".join(lines[i + 1 :])
    return None, body


@lru_cache(maxsize=65536)  # every tree listing asks again for every page
def document_id(page_id: str, markdown: str) -> str:
    """The id of a page body: a hash of it, so it changes exactly when the body changes."""
    return gid("document", f"{page_id}\n{markdown}")


def rewrite_links(markdown: str, replace: Callable[[str, str], str]) -> str:
    """Call ``replace(text, target)`` for every inline link outside code; use its result."""

    def one(match: re.Match[str]) -> str:
        if match["code"] is not None:
            return match[0]
        target = match["target"]
        if target.startswith("<") and target.endswith(">"):
            target = target[1:-1]
        return replace(match["text"], target) if target else match[0]

    out, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            out.append(line)
        else:
            out.append(line if fenced else _INLINE.sub(one, line))
    return "\n".join(out)


def is_external(target: str) -> bool:
    return bool(_EXTERNAL.match(target)) or (
        target.startswith("/") and not target.startswith("/pages/")
    )


def _file_of(path: str) -> str:
    return f"{path}.md"


def relative_link(from_path: str, to_path: str) -> str:
    """Link from page ``from_path`` to page ``to_path`` as Git Sync files would have it."""
    start = posixpath.dirname(_file_of(from_path)) or "."
    return posixpath.relpath(_file_of(to_path), start)


def to_relative(markdown: str, from_path: str, path_of: Mapping[str, str]) -> str:
    """Stable ``/pages/<id>`` links -> links relative to the page at ``from_path``."""

    def replace(text: str, target: str) -> str:
        ref, _, anchor = target.partition("#")
        if not ref.startswith("/pages/") or ref[7:] not in path_of:
            return f"[{text}]({target})"
        link = relative_link(from_path, path_of[ref[7:]])
        return f"[{text}]({link}{'#' + anchor if anchor else ''})"

    return rewrite_links(markdown, replace)


def _page_key(path: str) -> str:
    """A Git path or folder link -> the page path it names."""
    path = path.strip("/")
    for suffix in ("/README.md", "README.md", ".md"):
        if path.endswith(suffix):
            return path[: -len(suffix)].strip("/")
    return path


def to_stable(
    markdown: str,
    from_path: str,
    ids: Container[str],
    paths: Mapping[str, str],
    refs: Mapping[str, str] | None = None,
) -> str:
    """Links sent in a change request -> ``/pages/<id>`` (see the module docstring).

    ``ids`` holds the page ids of the tree, ``paths`` maps a page path to its id and
    ``refs`` a batch-local ``ref`` to the id of a page inserted in the same batch.
    """
    refs = refs or {}

    def replace(text: str, target: str) -> str:
        if is_external(target):
            return f"[{text}]({target})"
        ref, _, anchor = unquote(target).partition("#")
        suffix = f"#{anchor}" if anchor else ""
        found: str | None = None
        if ref.startswith("/pages/"):
            rest = ref[7:]
            found = rest if rest in ids else paths.get(_page_key(rest))
        elif ref:
            key = _page_key(ref.removeprefix("./"))
            found = refs.get(key)
            if found is None:
                start = posixpath.dirname(_file_of(from_path)) if from_path else ""
                joined = posixpath.normpath(posixpath.join(start, ref))
                found = paths.get(_page_key(joined)) if not joined.startswith("..") else None
        else:
            return f"[{text}]({target})"  # only an anchor on this page
        return f"[{text}](/pages/{found}{suffix})" if found else text

    return rewrite_links(markdown, replace)


def _text(value: str) -> dict[str, Any]:
    return {"object": "text", "leaves": [{"object": "leaf", "text": value, "marks": []}]}


def to_document(markdown: str) -> dict[str, Any]:
    """A GitBook JSON document for ``format=document``: headings, code blocks, paragraphs.

    Lists, tables and links stay as paragraph text: enough for a client that reads the
    document format, without a Markdown parser in the sandbox.
    """
    nodes: list[dict[str, Any]] = []
    para: list[str] = []
    code: list[str] | None = None
    syntax = ""

    def flush() -> None:
        if para:
            nodes.append(
                {
                    "object": "block",
                    "type": "paragraph",
                    "data": {},
                    "nodes": [_text(" ".join(para))],
                }
            )
            para.clear()

    for line in markdown.split("\n"):
        if code is not None:
            if _FENCE.match(line.lstrip()):
                lines = [
                    {"object": "block", "type": "code-line", "data": {}, "nodes": [_text(c)]}
                    for c in code
                ]
                data = {"syntax": syntax} if syntax else {}
                nodes.append({"object": "block", "type": "code", "data": data, "nodes": lines})
                code = None
            else:
                code.append(line)
        elif _FENCE.match(line.lstrip()):
            flush()
            code, syntax = [], line.lstrip()[3:].strip()
        elif heading := re.match(r"(#{1,6})\s+(.*)", line):
            flush()
            level = min(3, len(heading[1]))
            nodes.append(
                {
                    "object": "block",
                    "type": f"heading-{level}",
                    "data": {},
                    "nodes": [_text(heading[2].strip())],
                }
            )
        elif line.strip():
            para.append(line.strip())
        else:
            flush()
    flush()
    return {"object": "document", "data": {}, "nodes": nodes}


def from_document(document: Mapping[str, Any]) -> str:
    """A JSON document sent in a change request -> markdown (text of its blocks)."""

    def text_of(node: Any) -> str:
        if not isinstance(node, Mapping):
            return ""
        if node.get("object") == "text":
            return "".join(str(leaf.get("text", "")) for leaf in node.get("leaves") or [])
        return "".join(text_of(n) for n in node.get("nodes") or [])

    out = []
    for block in document.get("nodes") or []:
        kind = block.get("type", "") if isinstance(block, Mapping) else ""
        if kind.startswith("heading-") and kind[-1].isdigit():
            out.append("#" * int(kind[-1]) + " " + text_of(block))
        elif kind == "code":
            lines = [text_of(n) for n in block.get("nodes") or []]
            out.append("\n".join(["```", *lines, "```"]))
        else:
            out.append(text_of(block))
    return normalize("\n\n".join(out))
