"""``Result``: an API answer that shows itself as a safe, bounded table.

Pure: no I/O, no HTTP, no IPython; pandas is imported only inside :meth:`Result.to_dataframe`.
A ``Result`` holds the parsed JSON and renders on demand (jupysql's ``ResultSet`` and pandas
are the model, STYLE.md 8):

- ``_repr_html_()``: an HTML table in which every key and value is escaped (SECURITY.md E6),
  with a caption (method, path, status, pages, elapsed ms), a "showing N of M rows" footer
  and an optional note (e.g. where ``--max-pages`` stopped).
- ``__repr__()``: the same as a plain-text table. It contains nothing that changes between
  runs (no elapsed time, no rate-limit counters, no addresses) so nbval can compare it.

Rendering is bounded whatever the size of the answer: only the rows that are shown are
flattened (``max_rows``, default 50), the columns come from those rows, and an HTML cell shows
``cell_chars`` (60) characters, the rest (up to ``max_cell``, 200) in its tooltip. Without a
``columns=`` selection a table shows a curated set for the kind of object
(:mod:`gitbook_nb.display._columns`: id and title first); ``columns="all"`` shows every column.
The footer says what was left out and how to see it ("showing 50 of 120 rows, 6 of 28
columns (--columns all, %config GitBookMagics.max_rows)"). Wide tables scroll sideways inside
their output. Module-wide defaults live in :data:`options`; a ``Result`` can override
``max_rows`` and ``max_cell``.

What becomes a row (see :mod:`gitbook_nb.display._tables`):

- a pagination envelope (legacy ``{list, page, limit, total}``, current ``{items, next,
  count}``) is unwrapped to its list; its ``total``/``count`` is the "M" of the footer;
- a list of objects gives one row per object, nested fields as dotted columns;
- a content revision (``{"object": "revision", "pages": [...]}``) gives its flattened page
  tree (``depth``, ``path``, ``title``, ``type``, ``id``, ``slug``) unless ``tree=False``;
  ``tree=True`` (or :meth:`Result.pages_table`) flattens any page tree or page list;
- any other object gives a two-column ``field``/``value`` table;
- a scalar gives one cell; ``None`` (e.g. a 204) gives no rows.

``.rows`` are exactly the rows the table draws (all of them, not only the shown ones), with
credential-looking fields masked; ``.data`` stays untouched.

There is deliberately no ``_repr_json_``: front ends would prefer it over the table and it
would save the whole unbounded answer into the notebook. :func:`render_json` gives a bounded
JSON view for ``--json``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from gitbook_nb.display._columns import ALL, default_columns, kind_of, table_footer
from gitbook_nb.display._json import JSONView, render_json
from gitbook_nb.display._tables import (
    clean_text,
    count_pages,
    envelope,
    first_seen_columns,
    flatten_row,
    html_table,
    is_revision,
    iter_pages,
    select,
    text_grid,
)
from gitbook_nb.display._view import Layout, make_layout
from gitbook_nb.display._view import view as make_view
from gitbook_nb.errors import GitBookError

__all__ = [
    "ColumnError",
    "JSONView",
    "MissingDependencyError",
    "Options",
    "Result",
    "options",
    "render_json",
]


@dataclass
class Options:
    """Module-wide display defaults (``gitbook_nb.display.result.options.max_rows = 100``)."""

    max_rows: int = 50  # rows drawn per table
    max_cell: int = 200  # characters of an HTML cell's tooltip (the full text, capped)
    cell_chars: int = 60  # characters an HTML cell shows before "…" and a tooltip
    max_columns: int = 12  # columns drawn for an object kind without a curated set
    max_colwidth: int = 40  # terminal cells per column in the text form
    max_json_items: int = 50  # list items kept per list by render_json
    max_json_chars: int = 100_000  # characters of render_json output
    max_bytes: int = 80_000  # UTF-8 bytes of one rendered table: cells shrink to fit
    # How to see what a footer says is hidden (the magic's words; Python: columns="all",
    # Result.max_rows or options.max_rows).
    columns_hint: str = "--columns all"
    rows_hint: str = "%config GitBookMagics.max_rows"


options = Options()

# Cells are never cut below this many characters to fit options.max_bytes.
_MIN_CELL = 8

# How many rows a columns= selection is checked against when the Result is made: enough to be
# right in practice, bounded so a 100,000-row answer is not flattened just to check a name.
_COLUMN_SCAN = 1000


class ColumnError(GitBookError, KeyError):
    """A ``columns=`` selection names a column the answer does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return GitBookError.__str__(self)


class MissingDependencyError(GitBookError, ImportError):
    """An optional dependency (pandas) is not installed."""


class Result:
    """One API answer; see the module docstring for how it becomes a table.

    ``columns`` (a list or a comma-separated string of dotted names) selects and orders the
    columns (or, for a field/value table, the fields); an unknown name raises
    :class:`ColumnError` listing the available ones; ``"all"`` shows every column. ``total``
    is the number of rows that exist (the session passes it after ``--all``); ``note`` is
    shown under the table
    (``truncated_note`` is accepted as its older name).
    """

    def __init__(
        self,
        data: Any,
        *,
        status: int = 200,
        pages: int = 1,
        elapsed: float = 0.0,
        method: str = "GET",
        path: str = "",
        total: int | None = None,
        note: str | None = None,
        rate_limit: Any = None,
        truncated_note: str | None = None,
        columns: Sequence[str] | str | None = None,
        tree: bool | None = None,
        max_rows: int | None = None,
        max_cell: int | None = None,
    ) -> None:
        # Cheap bookkeeping only: the answer is flattened when (and as far as) it is shown.
        self.data = data
        self.status = status
        self.pages = pages
        self.elapsed = elapsed
        self.method = method
        self.path = path
        self.note = note if note is not None else truncated_note
        self.rate_limit = rate_limit
        self.max_rows = max_rows
        self.max_cell = max_cell
        self._rows: list[dict[str, Any]] | None = None
        self._count: int | None = None
        self._kind, self._items, envelope_total = _classify(data, tree)
        self._total = total if total is not None else envelope_total
        if isinstance(columns, str):
            columns = [c.strip() for c in columns.split(",") if c.strip()]
        self._selection: list[str] | None = list(dict.fromkeys(columns)) if columns else None
        self._all_columns = self._selection == [ALL]
        if self._all_columns:
            self._selection = None
        if self._selection:
            self._check_selection(self._selection)

    # -- data access --------------------------------------------------------------------------

    @property
    def rows(self) -> list[dict[str, Any]]:
        """All rows as flat dicts (computed once, then cached)."""
        if self._rows is None:
            self._rows = self._select(list(self._iter_rows()))
        return self._rows

    @property
    def total(self) -> int | None:
        """How many rows exist on the server when known (envelope ``total``/``count``)."""
        return self._total

    @property
    def columns(self) -> list[str]:
        """Column names of :attr:`rows`, first-seen order (or the ``columns=`` selection)."""
        if self._kind == "object":
            return ["field", "value"]
        return list(self._selection) if self._selection else first_seen_columns(self.rows)

    def __len__(self) -> int:
        if self._kind == "list":
            return len(self._items)
        if self._kind == "tree":
            return self._row_count()
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, key: Any) -> Any:
        """``r["total"]`` reads the JSON; ``r[0]`` / ``r[:3]`` index the unwrapped list."""
        if isinstance(key, (int, slice)) and self._kind == "list":
            return self._items[key]
        return self.data[key]

    def to_dataframe(self) -> Any:
        """The rows as a pandas DataFrame (pandas is an optional extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependencyError(
                "to_dataframe() needs pandas, which is not installed",
                hint="pip install gitbook_nb[pandas]",
            ) from None
        return pd.DataFrame(self.rows, columns=self.columns)

    def with_options(self, **changes: Any) -> Result:
        """The same answer with other display options (``columns``, ``tree``, ``max_rows``...)."""
        options: dict[str, Any] = {
            "status": self.status,
            "pages": self.pages,
            "elapsed": self.elapsed,
            "method": self.method,
            "path": self.path,
            "total": self._total,
            "note": self.note,
            "rate_limit": self.rate_limit,
            "max_rows": self.max_rows,
            "max_cell": self.max_cell,
        }
        options.update(changes)
        return Result(self.data, **options)

    def pages_table(self) -> Result:
        """The same answer shown as a flattened page tree (depth, path, title, ...)."""
        return self.with_options(tree=True, total=None)

    def to_json(self) -> JSONView:
        """The answer as bounded, pretty JSON (what ``--json`` shows)."""
        return render_json(self.data)

    # -- rendering ------------------------------------------------------------------------------

    def _repr_mimebundle_(
        self,
        include: Container[str] | None = None,
        exclude: Container[str] | None = None,
    ) -> dict[str, str]:
        """Both forms in one call, for IPython's display formatter.

        Without it IPython calls ``_repr_html_`` and then runs its pretty-printer over
        ``__repr__`` line by line; with it, that pass is skipped (~30 µs of a ~1 ms displayed
        ``%gitbook`` call, bench/README.md figure 1), and both forms share one layout (the
        shown rows, columns and cleaned cells: :mod:`gitbook_nb.display._view`). The content
        is the same as ``__repr__`` and ``_repr_html_`` give.
        """
        out: dict[str, str] = {}
        layout: Layout | None = None
        cls = type(self)
        forms = (
            ("text/plain", cls.__repr__, Result.__repr__, self._plain),
            ("text/html", cls._repr_html_, Result._repr_html_, self._rich),
        )
        for mime, own, base, shared in forms:
            if (include is None or mime in include) and (exclude is None or mime not in exclude):
                if own is not base:  # a subclass draws this form its own way
                    out[mime] = own(self)
                    continue
                layout = layout or self._layout()
                out[mime] = shared(layout)
        return out

    def _repr_html_(self) -> str:
        return self._rich(self._layout())

    def __repr__(self) -> str:
        return self._plain(self._layout())

    def _rich(self, layout: Layout) -> str:
        return self._fit(self._html, self._limit("max_cell"), layout)

    def _plain(self, layout: Layout) -> str:
        return self._fit(self._text, min(self._limit("max_cell"), options.max_colwidth), layout)

    def _fit(self, render: Callable[[Layout, int], str], cell_limit: int, layout: Layout) -> str:
        """Render, then re-render with shorter cells while over ``options.max_bytes``.

        The row, column and cell caps already bound the output; this last guard keeps a table
        of 1,500 long, quote-heavy (6x when escaped) or CJK (3 bytes each) cells small too.
        """
        out = render(layout, cell_limit)
        while len(out.encode()) > options.max_bytes and cell_limit > _MIN_CELL:
            cell_limit = max(
                _MIN_CELL, cell_limit * options.max_bytes // len(out.encode()) * 9 // 10
            )
            out = render(layout, cell_limit)
        return out

    def _html(self, layout: Layout, cell_limit: int) -> str:
        view = make_view(layout, min(cell_limit, options.cell_chars), tooltip=cell_limit)
        out = ['<div class="gitbook-nb-result">']
        caption = self._caption(with_time=True)
        if caption:
            out.append(
                f'<div class="gitbook-nb-caption" style="font-size:smaller;'
                f'opacity:0.75">{_h(caption)}</div>'
            )
        if view.columns:
            # A wide table scrolls inside its own box instead of widening the whole page.
            out.append('<div class="gitbook-nb-scroll" style="overflow-x:auto;max-width:100%">')
            out.append(html_table(view.columns, view.cells, view.titles))
            out.append("</div>")
        out.append(
            f'<div class="gitbook-nb-footer" style="font-size:smaller">{_h(view.footer)}</div>'
        )
        if self.note:
            out.append(
                f'<div class="gitbook-nb-note" style="font-size:smaller">'
                f"{_h(clean_text(self.note, self._limit('max_cell')))}</div>"
            )
        out.append("</div>")
        return "".join(out)

    def _text(self, layout: Layout, width: int) -> str:
        view = make_view(layout, width)
        lines = []
        caption = self._caption(with_time=False)
        if caption:
            lines.append(caption)
        if view.columns:
            lines.extend(text_grid(view.columns, view.cells, view.numeric, width))
        lines.append(view.footer)
        if self.note:
            lines.append("note: " + clean_text(self.note, self._limit("max_cell")))
        return "\n".join(lines)

    __str__ = __repr__

    # -- internals ------------------------------------------------------------------------------

    def _limit(self, name: str) -> int:
        value = getattr(self, name)
        return max(int(value if value is not None else getattr(options, name)), 1)

    def _iter_rows(self) -> Iterator[dict[str, Any]]:
        """Unselected rows, lazily: a caller that stops early flattens only what it took."""
        if self._kind == "list":
            return (flatten_row(item) for item in self._items)
        if self._kind == "tree":
            return iter_pages(self.data)
        if self._kind == "object":
            return ({"field": k, "value": v} for k, v in flatten_row(self.data).items())
        if self._kind == "scalar":
            return iter([flatten_row(self.data)])
        return iter(())

    def _select(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self._selection:
            return rows
        if self._kind == "object":  # a selection picks fields, in the order asked
            by_field = {r["field"]: r for r in rows}
            return [by_field[f] for f in self._selection if f in by_field]
        return select(rows, self._selection)

    def _check_selection(self, wanted: list[str]) -> None:
        head = list(islice(self._iter_rows(), _COLUMN_SCAN))
        if self._kind == "object":
            available = [r["field"] for r in head]
        else:
            available = first_seen_columns(head)
        if not head:
            return  # nothing to select from: an empty table, not an error
        unknown = [c for c in wanted if c not in available]
        if unknown:
            shown = ", ".join(available[:40]) + (", ..." if len(available) > 40 else "")
            raise ColumnError(
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                hint=f"available: {shown}",
            )

    def _row_count(self) -> int:
        if self._count is None:
            if self._rows is not None:
                self._count = len(self._rows)
            elif self._kind == "list":
                self._count = len(self._items)
            elif self._kind == "tree":
                self._count = count_pages(self.data)
            else:
                self._count = len(self.rows)
        return self._count

    def _layout(self) -> Layout:
        """What to draw, for both forms: the first ``max_rows`` rows, their columns, the
        footer, and the cells cleaned at ``max_cell`` characters (each form cuts them)."""
        limit = self._limit("max_rows")
        if self._rows is not None or self._kind in ("object", "scalar"):
            head = self.rows[:limit]  # one object is cheap, and a field selection needs all
        else:
            head = self._select(list(islice(self._iter_rows(), limit)))
        fetched = self._row_count()
        total = max(self._total or 0, fetched) if self._kind == "list" else fetched
        if self._kind == "object":
            columns = available = ["field", "value"]
        elif self._selection:
            columns = available = list(self._selection)
        else:
            available = first_seen_columns(head)
            if self._all_columns:
                columns = available
            else:
                kind = "page-tree" if self._kind == "tree" else kind_of(head, self.path)
                columns = default_columns(available, kind, limit=options.max_columns)
        footer = table_footer(
            shown=len(head),
            total=total,
            fetched=fetched,
            columns=len(columns),
            available=len(available),
            rows_hint=options.rows_hint,
            columns_hint=options.columns_hint,
        )
        return make_layout(head, columns, footer, self._limit("max_cell"))

    def _caption(self, *, with_time: bool) -> str:
        if not self.path:
            return ""
        parts = [
            clean_text(f"{self.method} {self.path}", 300),
            str(self.status),
            f"{self.pages} page{'s' if self.pages != 1 else ''}",
        ]
        if with_time:  # volatile: HTML only, never in the text form nbval compares
            parts.append(f"{float(self.elapsed or 0) * 1000:.0f} ms")
            remaining = getattr(self.rate_limit, "remaining", None)
            limit = getattr(self.rate_limit, "limit", None)
            if remaining is not None and limit is not None:
                parts.append(f"rate limit {remaining}/{limit}")
        return " · ".join(parts)


def _h(text: str) -> str:
    return html.escape(text, quote=True)  # quote=True: safe in attributes too


def _classify(data: Any, tree: bool | None) -> tuple[str, list[Any], int | None]:
    """(kind, items, total from the envelope); kind: list, tree, object, scalar or empty."""
    if tree or (tree is None and is_revision(data)):
        return "tree", [], None
    env = envelope(data)
    if env is not None:
        return "list", env[0], env[1]
    if isinstance(data, (list, tuple)):
        return "list", data, None  # type: ignore[return-value]
    if isinstance(data, Mapping):
        return "object", [], None
    if data is None:
        return "empty", [], None
    return "scalar", [], None
