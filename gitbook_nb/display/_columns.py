"""Which columns a table shows by default: a curated set per kind of GitBook object.

A GitBook organisation has 28 fields once flattened and a space 30 (ten of them
``permissions.*``): drawn whole, a table is wider than any screen and the few fields a person
looks for are lost among them. So each kind of object gets a short default list, id and title
first, then what matters for that kind; ``columns="all"`` (``--columns all``) shows everything,
and the footer says how many columns were left out.

The kind is read from the items' ``object`` field (GitBook's current API sets it on most
objects) or, for answers without one (search hits, legacy books), from the request path.
Only the rows that are drawn are looked at, so the choice costs nothing on a 100,000-row answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ALL", "CURATED", "default_columns", "kind_of", "table_footer"]

# kind -> default columns, in order. A column the rows do not have is skipped.
CURATED: dict[str, tuple[str, ...]] = {
    "user": ("id", "displayName", "email"),
    "organization": ("id", "title", "type", "plan", "hostname", "createdAt"),
    "space": ("id", "title", "emoji", "visibility", "changeRequestsOpen", "updatedAt"),
    "collection": ("id", "title", "description"),
    "member": ("id", "user.displayName", "user.email", "role", "lastSeenAt"),
    "team": ("id", "title", "members"),
    "page": ("id", "title", "path", "type", "description"),
    "page-tree": ("id", "title", "path", "type", "slug"),
    "search-hit": ("id", "title", "path", "description", "score"),
    "org-search-hit": ("id", "title", "type", "score", "pages"),
    "change-request": ("id", "number", "subject", "status", "createdBy.displayName", "updatedAt"),
    "site": ("id", "title", "type", "visibility", "published", "basename"),
    "book": ("id", "title", "public", "author.name", "language.name", "dates.created"),
    "revision": ("id", "type", "createdAt"),
    "integration": ("name", "title", "description"),
}

# Answers whose items carry no ``object`` field: recognised by their path instead.
_PATH_KINDS = [
    (re.compile(r"/spaces/[^/]+/search$"), "search-hit"),
    (re.compile(r"/orgs/[^/]+/search$"), "org-search-hit"),
    (re.compile(r"(^|/)books(/all)?$|/authors?/[^/]+/books$"), "book"),
]

# Columns put first, in this order, for a kind that has no curated list.
_LEADING = ("id", "title", "name", "displayName", "subject")
# Left out by default for an unknown kind: the type tag repeats on every row, the permission
# flags and the API's own self-link are for programs, not for people.
_NOISE = re.compile(r"^(object|urls\.location|permissions\..*)$")


def kind_of(rows: Sequence[Mapping[str, Any]], path: str = "") -> str | None:
    """The kind of object the rows are (a key of :data:`CURATED`), or None if unknown."""
    for row in rows[:5]:
        kind = row.get("object")
        if isinstance(kind, str) and kind in CURATED:
            return kind
    bare = path.split("?", 1)[0].rstrip("/")
    for pattern, kind in _PATH_KINDS:
        if pattern.search(bare):
            return kind
    return None


def default_columns(available: Sequence[str], kind: str | None, *, limit: int) -> list[str]:
    """The columns to draw when the caller chose none.

    ``available`` are the drawn rows' columns in first-seen order. A curated kind shows its list
    (the columns it has of it); anything else shows the id and a title-like column first, then
    the other columns without the noisy ones, at most ``limit`` of them.
    """
    have = set(available)
    if kind is not None:
        chosen = [c for c in CURATED[kind] if c in have]
        if chosen:
            return chosen
    leading = [c for c in _LEADING if c in have]
    rest = [c for c in available if c not in leading and not _NOISE.match(c)]
    return (leading + rest)[: max(limit, 1)]


ALL = "all"  # columns="all" / --columns all: every column, none left out


def table_footer(
    *,
    shown: int,
    total: int,
    fetched: int,
    columns: int,
    available: int,
    rows_hint: str,
    columns_hint: str,
) -> str:
    """The line under a table: how much of it is drawn, and how to see the rest.

    "3 rows" when everything is drawn; otherwise "showing R of N rows, C of M columns
    (--columns all, %config GitBookMagics.max_rows)", naming only the hints that apply.
    """
    plural = "s" if total != 1 else ""
    hidden_rows = shown < fetched
    hidden_columns = columns < available
    if shown == total and not hidden_columns:
        return f"{total} row{plural}"
    text = f"showing {shown} of {total} row{plural}"
    if fetched not in (shown, total):
        text += f" ({fetched} fetched)"
    if hidden_columns:
        text += f", {columns} of {available} columns"
    hints = ([columns_hint] if hidden_columns else []) + ([rows_hint] if hidden_rows else [])
    if hints:
        text += f" ({', '.join(hints)})"
    return text
