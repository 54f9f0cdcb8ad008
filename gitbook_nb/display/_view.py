"""What a table draws, worked out once for both of its forms (HTML and plain text).

Why a module of its own: IPython asks every displayed ``Result`` for its HTML *and* its text
in one call (``_repr_mimebundle_``). The rows shown, the columns, which columns are numeric and
the footer are the same for both forms, so a :class:`Layout` holds them, made once per call.
Every cell is cleaned once, at the longest length either form shows (the tooltip's), and then
cut for each form with :func:`cut`: cleaning keeps a prefix of the escaped text, so cutting the
longer cleaned text gives exactly what cleaning at the shorter length gives. Before, each form
cleaned each cell itself, and the HTML form cleaned every cut cell a second time for its
tooltip (bench/README.md, figure 1c).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitbook_nb.display._tables import clean_text, is_number
from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = ["Layout", "View", "cut", "make_layout", "view"]


@dataclass
class Layout:
    """The shown rows' columns and cells, independent of how long a cell may be."""

    columns: list[str]
    # Cells cleaned at ``limit`` characters; None stands for a Secret, shown as the mask at
    # any length (as clean_text does), so it is never cut.
    full: list[list[str | None]]
    limit: int
    numeric: list[bool]
    footer: str


@dataclass
class View:
    """One form's cells: cut at that form's length, with tooltips for the cut ones."""

    columns: list[str]
    cells: list[list[str]]
    numeric: list[bool]
    footer: str
    titles: list[list[str | None]] | None = None


def make_layout(
    rows: Sequence[Mapping[str, Any]], columns: list[str], footer: str, limit: int
) -> Layout:
    """Clean each shown cell once, at ``limit`` characters (the longest any form needs)."""
    full = [[_clean(row.get(c), limit) for c in columns] for row in rows]
    numeric = [
        all(is_number(v) for r in rows if (v := r.get(c)) is not None)
        and any(r.get(c) is not None for r in rows)
        for c in columns
    ]
    return Layout(columns, full, limit, numeric, footer)


def _clean(value: Any, limit: int) -> str | None:
    if type(value) is str and len(value) <= limit and value.isprintable():
        return value  # most cells: short plain text, nothing to escape or cut
    return None if isinstance(value, Secret) else clean_text(value, limit)


def cut(full: str | None, limit: int) -> str:
    """``clean_text(value, limit)`` from ``full = clean_text(value, longer)``, for any
    ``limit <= longer``: the cleaned text is kept whole when it fits, else its first
    ``limit - 1`` characters and "…" (a text cut at ``longer`` is longer than ``limit``)."""
    if full is None:
        return MASK
    if len(full) <= limit:
        return full
    return full[: max(limit - 1, 0)] + "…"


def view(layout: Layout, cell_limit: int, *, tooltip: int | None = None) -> View:
    """Cells cut at ``cell_limit`` (``<= layout.limit``); a cut cell keeps its text up to
    ``tooltip`` characters (``<= layout.limit``) as its tooltip when that shows more."""
    if cell_limit > layout.limit or (tooltip is not None and tooltip > layout.limit):
        raise ValueError("a view cannot show more of a cell than its layout cleaned")
    cells = [
        [f if f is not None and len(f) <= cell_limit else cut(f, cell_limit) for f in line]
        for line in layout.full
    ]
    titles: list[list[str | None]] | None = None
    if tooltip is not None and tooltip > cell_limit:  # tooltips only where a cell was cut
        for i, line in enumerate(cells):
            for j, text in enumerate(line):
                if not text.endswith("…"):  # cheap test first: most cells are short
                    continue
                tip = cut(layout.full[i][j], tooltip)
                if tip != text:
                    if titles is None:
                        titles = [[None] * len(layout.columns) for _ in cells]
                    titles[i][j] = tip
    heads = [clean_text(c, cell_limit) for c in layout.columns]
    return View(heads, cells, layout.numeric, layout.footer, titles)
