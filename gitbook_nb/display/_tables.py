"""Turning GitBook JSON into flat rows: envelopes, dotted columns, page trees, masking.

Pure and cheap: no I/O, no pandas. Everything here works item by item (generators, explicit
stacks instead of recursion) so that :mod:`gitbook_nb.display.result` can render the first 50 rows
of a 100,000-row answer without touching the other 99,950, and so that a 5,000-level page
tree or a deeply nested object never hits Python's recursion limit.

Cell text is made safe here too (:func:`clean_text`): API content is written by other people,
so control characters and bidi overrides are shown as visible escapes, and :func:`html_table`
escapes every header and cell (SECURITY.md E6). :func:`text_grid` lays out the plain-text form.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from gitbook_nb.protocol import envelopes
from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = [
    "clean_text",
    "count_pages",
    "envelope",
    "first_seen_columns",
    "flatten_pages",
    "flatten_row",
    "html_table",
    "is_revision",
    "iter_pages",
    "looks_secret",
    "mask_value",
    "prune_json",
    "summarise",
    "text_grid",
    "text_width",
    "truncate_width",
]

# ---------------------------------------------------------------------------------------------
# Envelopes


def envelope(data: Any) -> tuple[list[Any], int | None] | None:
    """``(items, total)`` if ``data`` is a pagination envelope, else ``None``.

    One decoder for pagination, ``--all`` and tables: :mod:`gitbook_nb.protocol.envelopes`.
    """
    env = envelopes.decode(data)
    return None if env is None else (env.items, env.total)


# ---------------------------------------------------------------------------------------------
# Secrets in displayed rows

# Matched against the last dotted component with separators removed and lower-cased, so
# ``access_token``, ``accessToken``, ``auth.refresh-token`` and ``password`` all match, while
# ``token_type``, ``tokens`` or ``passwordChangedAt`` do not.
_SECRET_KEY = re.compile(
    r"(access|refresh|id|bearer|api|auth|session|personalaccess)?token"
    r"|(client)?secret|password|passwd|apikey|privatekey|codeverifier"
)


@lru_cache(maxsize=4096)  # the same few column names repeat on every row
def looks_secret(key: str) -> bool:
    """True when any part of a (possibly dotted) column name names a credential.

    Any part, so that everything under ``{"token": {...}}`` is masked too.
    """
    return any(
        _SECRET_KEY.fullmatch(re.sub(r"[\s_\-]", "", part).lower()) is not None
        for part in str(key).split(".")
    )


def mask_value(key: str, value: Any) -> Any:
    """The value to show for ``key``: a mask for Secrets and credential-looking keys."""
    if isinstance(value, Secret):
        return MASK
    if value not in (None, "") and looks_secret(key):
        return MASK
    return value


# ---------------------------------------------------------------------------------------------
# Flattening one item into a row

_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


def summarise(value: list[Any] | tuple[Any, ...]) -> str:
    """A list as one cell: scalars joined with ", ", anything else "[N items]"."""
    if not value:
        return ""
    if all(isinstance(v, _SCALARS) or isinstance(v, Secret) for v in value):
        return ", ".join(
            MASK if isinstance(v, Secret) else "" if v is None else str(v) for v in value
        )
    return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"


def _leaf(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, (list, tuple)):
        return summarise(value)
    if isinstance(value, _SCALARS):
        return value
    return str(value)  # anything else JSON cannot produce (a user-built Result): shown as text


def flatten_row(item: Any) -> dict[str, Any]:
    """One item as a flat dict: nested dicts become dotted keys (``author.username``).

    Lists are summarised (:func:`summarise`), an empty nested dict becomes an empty cell, a
    non-dict item becomes ``{"value": ...}``, and credential-looking keys are masked. Uses an
    explicit stack: nesting depth is not limited by the recursion limit.
    """
    if not isinstance(item, Mapping):
        return {"value": _leaf(item)}
    row: dict[str, Any] = {}
    # Stack of (prefix, iterator over the mapping's items); depth-first keeps key order.
    # Exact-type checks first: this loop runs for every cell of .rows (100,000 rows: ~0.3 s).
    stack: list[tuple[str, Iterator[tuple[Any, Any]]]] = [("", iter(item.items()))]
    while stack:
        prefix, it = stack[-1]
        for key, value in it:
            name = prefix + key if type(key) is str else f"{prefix}{key}"
            kind = type(value)
            if kind is dict or (kind not in _SCALAR_TYPES and isinstance(value, Mapping)):
                if value:
                    stack.append((name + ".", iter(value.items())))
                    break
                row[name] = None
                continue
            if kind not in _SCALAR_TYPES:
                value = _leaf(value)
            if value is not None and value != "" and looks_secret(name):
                value = MASK
            row[name] = value
        else:
            stack.pop()
    return row


def first_seen_columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Union of the rows' keys in first-seen order (stable across runs)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in seen:
                seen[key] = None
    return list(seen)


# ---------------------------------------------------------------------------------------------
# Page trees (GET /spaces/{id}/content answers a revision whose ``pages`` nest)

# Beyond this many ancestors the path keeps the last ones behind "…": a 5,000-level tree would
# otherwise cost O(depth^2) characters, and no cell shows more than 200 of them anyway.
MAX_PATH_PARTS = 12


def _roots(tree: Any) -> list[Any]:
    if isinstance(tree, list):
        return tree
    if isinstance(tree, Mapping):
        # A revision (or any container without a title) lists its top pages; a page is a root.
        if tree.get("object") == "revision" or "title" not in tree:
            pages = tree.get("pages")
            return pages if isinstance(pages, list) else []
        return [tree]
    return []


def iter_pages(tree: Any) -> Iterator[dict[str, Any]]:
    """Rows for a page tree in document (pre-)order, lazily.

    Accepts a revision, a list of pages or one page. Each row has ``depth`` (0 for top pages),
    ``path`` (titles joined with " / "), ``title``, ``type`` (GitBook's ``type``, else
    ``kind``), ``id`` and ``slug`` (GitBook's own ``path``/``slug``). Nodes without ``pages``
    (GitBook omits it on leaves) are leaves; non-dict nodes are skipped; a node seen twice (a
    cycle in a hand-built tree) is not walked again.
    """
    # Stack of (iterator over siblings, depth, ancestor titles). Iterative: no recursion limit.
    roots = _roots(tree)
    stack: list[tuple[Iterator[Any], int, tuple[str, ...]]] = [(iter(roots), 0, ())]
    seen: set[int] = set()
    while stack:
        siblings, depth, ancestors = stack[-1]
        node = next(siblings, _END)
        if node is _END:
            stack.pop()
            continue
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        title = node.get("title")
        title = "" if title is None else str(title)
        parts = (*ancestors, title)
        if len(parts) > MAX_PATH_PARTS:  # keep the tuple short: see MAX_PATH_PARTS
            parts = ("…", *parts[-(MAX_PATH_PARTS - 1) :])
        yield {
            "depth": depth,
            "path": " / ".join(parts),
            "title": title,
            "type": node.get("type", node.get("kind")),
            "id": node.get("id"),
            "slug": node.get("path", node.get("slug")),
        }
        children = node.get("pages")
        if isinstance(children, list) and children:
            stack.append((iter(children), depth + 1, parts))


_END = object()


def flatten_pages(tree_or_revision: Any) -> list[dict[str, Any]]:
    """All rows of :func:`iter_pages` as a list."""
    return list(iter_pages(tree_or_revision))


def count_pages(tree: Any) -> int:
    """Number of rows :func:`iter_pages` would give, without building them."""
    count = 0
    stack: list[Any] = list(reversed(_roots(tree)))
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        count += 1
        children = node.get("pages")
        if isinstance(children, list):
            stack.extend(children)
    return count


def is_revision(data: Any) -> bool:
    """A content revision: shown as its flattened page tree by default."""
    return (
        isinstance(data, Mapping)
        and data.get("object") == "revision"
        and isinstance(data.get("pages"), list)
    )


# ---------------------------------------------------------------------------------------------
# Safe, bounded cell text

# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates (Trojan Source), line and
# paragraph separators, and invisible marks that can disguise text. ZWJ/ZWNJ (U+200C/D) stay:
# emoji and several scripts need them.
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x061C,
    0x200B,
    0x200E,
    0x200F,
    *range(0x2028, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
]
_ESCAPES = {cp: (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}") for cp in _UNSAFE}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def clean_text(value: Any, limit: int | None = None) -> str:
    """A value as one line of safe text, at most ``limit`` characters (ending in "…").

    Only the first ``limit + 1`` characters are looked at, so a 10 MB string costs nothing.
    """
    if type(value) is str:  # the common case first: every cell of every table passes here
        text = value
        if limit is not None and len(text) <= limit and text.isprintable():
            return text
    elif isinstance(value, Secret):
        return MASK
    else:
        text = "" if value is None else value if isinstance(value, str) else str(value)
    cut = limit is not None and len(text) > limit
    if limit is not None:
        text = text[: limit + 1]
    if not text.isprintable():  # every escaped character is unprintable: skip the common case
        text = text.translate(_ESCAPES)
    if limit is not None and (cut or len(text) > limit):
        text = text[: max(limit - 1, 0)] + "…"
    return text


def char_width(ch: str) -> int:
    """Terminal cells for one character: 2 for wide/fullwidth (CJK), 0 for combining marks."""
    if ch < "\u0300":  # fast path for ASCII and Latin-1
        return 1
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Terminal cells of ``text``.

    The fast paths run at C speed and cover nearly every cell: ASCII, text whose characters are
    all below U+0300 (one cell each, as ``char_width`` says), and an ASCII cell cut with "…"
    (U+2026, one cell). The per-character sum used to dominate the plain-text repr that IPython
    computes for every displayed Result (bench/README.md, figure 1).
    """
    if text.isascii() or max(text) < "\u0300":
        return len(text)
    if text[-1] == "\u2026" and text[:-1].isascii():
        return len(text)
    return sum(map(char_width, text))


def truncate_width(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` cells, ending in "…" when cut."""
    if text_width(text) <= width:
        return text
    if text.isascii():  # one cell per character: the loop below, at C speed
        return text[: max(width - 1, 0)] + "…"
    out: list[str] = []
    used = 0
    for ch in text:
        w = char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def select(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows restricted to ``columns``, in that order (missing cells are None)."""
    return [{c: row.get(c) for c in columns} for row in rows]


# ---------------------------------------------------------------------------------------------
# Layout: the cells arrive already cleaned and cut (clean_text); these only arrange them.


def html_table(
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    titles: Sequence[Sequence[str | None]] | None = None,
) -> str:
    """An HTML table in which every header and cell is escaped (SECURITY.md E6).

    ``titles`` (parallel to ``cells``) holds the full text of cells that were cut: it becomes
    the cell's ``title`` attribute, the browser's tooltip. Cells do not wrap (``nowrap``): a
    long URL would otherwise squeeze the text beside it into a narrow column; the caller wraps
    the table in a box that scrolls sideways instead.
    """
    esc = html.escape  # quote=True (the default): safe in attributes too
    out = ['<table class="dataframe gitbook-nb-table" border="1" style="white-space:nowrap">']
    out.append("<thead><tr>" + "".join([f"<th>{esc(c)}</th>" for c in columns]) + "</tr>")
    out.append("</thead><tbody>")
    for i, row in enumerate(cells):
        tips = titles[i] if titles is not None else None
        if not row:
            out.append("<tr></tr>")
        elif tips is None or not any(tips):  # the common row: no cell was cut
            out.append("<tr><td>" + "</td><td>".join([esc(c) for c in row]) + "</td></tr>")
        else:
            out.append("<tr>")
            for c, tip in zip(row, tips, strict=True):
                attr = "" if tip is None else f' title="{esc(tip)}"'
                out.append(f"<td{attr}>{esc(c)}</td>")
            out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def text_grid(
    columns: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool], width: int
) -> list[str]:
    """Header, rule and rows aligned by display width; numbers right-aligned like pandas."""
    # Each cell's display width is worked out once (it used to be three times: to cut, to size
    # the column and to pad), an ASCII cell's width is its length, and the grid is padded a
    # column at a time (one loop per column instead of one per cell, bench figure 1c).
    if not columns:
        return ["", "", *("" for _ in cells)]
    padded = []
    for column, right in zip(zip(columns, *cells, strict=True), numeric, strict=True):
        fitted = [_fitted(c, width) for c in column]
        w = max(used for _, used in fitted)
        if right:
            padded.append([" " * (w - used) + text for text, used in fitted])
        else:
            padded.append([text + " " * (w - used) for text, used in fitted])
        padded[-1].insert(1, "-" * w)  # the rule under the header
    return ["  ".join(line).rstrip() for line in zip(*padded, strict=True)]


def _fitted(text: str, width: int) -> tuple[str, int]:
    """``truncate_width(text, width)`` and its display width."""
    # One cell per character: ASCII, also when already cut with "…" (U+2026, one cell).
    if text.isascii() or (text[-1] == "…" and text[:-1].isascii()):
        if len(text) <= width:
            return text, len(text)
        return text[: max(width - 1, 0)] + "…", max(width - 1, 0) + 1
    text = truncate_width(text, width)
    return text, text_width(text)


JSON_DEPTH = 64  # deeper levels show as "…"; also keeps prune_json's recursion shallow


def prune_json(value: Any, max_items: int, depth: int = 0, key: str = "") -> Any:
    """A bounded, masked copy of JSON for display: lists cut at ``max_items`` (plus a marker
    saying how many were left out), levels below ``JSON_DEPTH`` shown as "…", Secrets and
    everything under credential-looking keys masked."""
    if isinstance(value, Secret) or (key and looks_secret(key) and value not in (None, "")):
        return MASK  # everything under a credential-looking key, whatever its shape
    if isinstance(value, Mapping) or isinstance(value, (list, tuple)):
        if depth >= JSON_DEPTH:
            return "…"
        if isinstance(value, Mapping):
            return {str(k): prune_json(v, max_items, depth + 1, str(k)) for k, v in value.items()}
        out = [prune_json(v, max_items, depth + 1) for v in value[:max_items]]
        if len(value) > max_items:
            out.append(f"… {len(value) - max_items} more items")
        return out
    return value
