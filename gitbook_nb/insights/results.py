"""What ``insights()`` and ``ask()`` return: Results that show a chart or a rendered answer.

``InsightsResult`` is a table of the aggregated groups (one row per day, page, country...) whose
rows are made from the answer's columns only as far as they are shown, a typed DataFrame
(:meth:`to_dataframe`) and a chart (:meth:`chart`). In a notebook it shows as two outputs, the
table and the chart as ``image/png``: one MIME bundle holding both would make front ends pick
the HTML and drop the picture. Without matplotlib it shows the table and one line saying how
to get the chart.

``AskResult`` is GitBook's answer: Markdown rendered to HTML with raw HTML turned off (so an
answer quoting ``<img onerror=...>`` shows that text, SECURITY.md E6), the sources as a table
of linked pages (also its rows and DataFrame) and the follow-up questions.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from gitbook_nb.display import Result, render_json
from gitbook_nb.insights import chart as _chart
from gitbook_nb.insights.frame import Columns, columns_of
from gitbook_nb.insights.query import INTERVALS, InsightsQuery

__all__ = ["AskResult", "InsightsResult", "render_markdown"]

_EVENT_WORDS = {
    "page_view": "page views",
    "search_type_query": "searches",
    "search_open_result": "search results opened",
    "ask_question": "questions asked",
    "page_post_feedback": "page ratings",
    "link_click": "link clicks",
}


class _Rows(list):  # type: ignore[type-arg]
    """The answer's rows for ``Result``, made on demand from the columns.

    A list (what ``Result`` tables are built from) that holds nothing itself: iterating or
    indexing builds the rows asked for, so showing 50 rows of a 100,000-row answer builds 50.
    """

    def __init__(self, columns: Columns) -> None:
        super().__init__()
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns)

    def __bool__(self) -> bool:
        return len(self._columns) > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._columns.iter_rows()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return list(islice(self._columns.iter_rows(), *key.indices(len(self))))
        index = range(len(self))[key]
        return next(islice(self._columns.iter_rows(), index, None))


def describe(query: InsightsQuery) -> str:
    """``page views per day, last 30 days`` (the note under the table, the chart's title)."""
    events = query.events
    what = (
        _EVENT_WORDS.get(events[0], events[0].replace("_", " ") + " events")
        if len(events) == 1
        else ("events of " + ", ".join(events) if events else "events of every type")
    )
    if query.metric != "events":
        what = f"{query.metric} ({what})"
    if not query.by:
        return f"{what}, {query.period}"
    head = query.by[0]
    per = f"per {head}" if head in INTERVALS else f"by {' and '.join(query.by)}"
    top = f" (top {query.top})" if query.top else ""
    return f"{what} {per}{top}, {query.period}"


class InsightsResult(Result):
    """One insights aggregation: ``.query`` (what was sent), ``.answer`` (the JSON), the table,
    :meth:`to_dataframe` and :meth:`chart`. ``plot`` is matplotlib's import seam (see
    :mod:`gitbook_nb.insights.chart`); ``plot=False`` never draws."""

    def __init__(
        self,
        answer: Any,
        query: InsightsQuery,
        *,
        path: str = "",
        status: int = 200,
        elapsed: float = 0.0,
        rate_limit: Any = None,
        plot: bool | Callable[[], Any] = True,
        max_rows: int | None = None,
    ) -> None:
        self.answer = answer
        self.query = query
        self.table = columns_of(answer, query.by, label=f"POST {path}")
        self.description = describe(query)
        self._plot = plot
        self._chart: _chart.Chart | None | bool = False  # False: not drawn yet
        super().__init__(
            _Rows(self.table),
            status=status,
            elapsed=elapsed,
            method="POST",
            path=path,
            rate_limit=rate_limit,
            max_rows=max_rows,
            note=self._note(),
        )

    def _note(self) -> str:
        if not len(self.table):
            return f"No {self.description}: nothing was recorded in this range."
        return self.description + " (UTC)"

    # -- data --------------------------------------------------------------------------------
    def to_dataframe(self) -> Any:
        """A DataFrame typed as analysts expect: UTC datetimes, int64 counts."""
        try:
            return self.table.to_dataframe()
        except ImportError:
            return super().to_dataframe()  # raises the one-line "needs pandas" error

    def to_json(self) -> Any:
        """``--json`` shows the query that was sent (the answer is in ``.answer``)."""
        return render_json(self.query.body)

    # -- the chart ---------------------------------------------------------------------------
    @property
    def chartable(self) -> bool:
        """One dimension and at least one row: a line over time, or bars for a category."""
        return len(self.query.by) == 1 and len(self.table) > 0 and self._plot is not False

    def chart(self) -> _chart.Chart | None:
        """The chart (drawn once), or None without matplotlib or without a single dimension."""
        if self._chart is False:
            self._chart = self._draw() if self.chartable else None
            if self._chart is None and self.chartable:
                self.note = f"{self._note()}. {_chart.INSTALL_HINT}"
        return self._chart  # type: ignore[return-value]

    def _draw(self) -> _chart.Chart | None:
        loader = self._plot if callable(self._plot) else None
        t = self.table
        by = self.query.by[0]
        metric = self.query.metric
        counts = t.values[t.names.index(metric)]
        title = self.description[:1].upper() + self.description[1:]
        if by in INTERVALS:
            x = t.times().dt.tz_localize(None)  # matplotlib's date axis wants naive UTC
            return _chart.render_png(
                x, counts, kind="line", title=title,
                xlabel=f"{by} (UTC)", ylabel=f"{metric} per {by} (count)", loader=loader,
            )  # fmt: skip
        labels = t.values[0]
        if by == "page":  # page ids; a null page is a view that found nothing (a 404)
            labels = ["404 (no page)" if v is None else v for v in labels]
        return _chart.render_png(
            labels, counts, kind="bars", title=title,
            xlabel=f"{metric} (count)", ylabel=by, loader=loader,
        )  # fmt: skip

    # -- display -----------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        """Two outputs: the table, then the chart (see the module docstring for why)."""
        from IPython.display import display  # only ever called by IPython itself

        picture = self.chart()
        display(self._repr_mimebundle_(), raw=True)
        if picture is not None:
            display(picture._repr_mimebundle_(), raw=True)


# ---------------------------------------------------------------------------------------------
# Ask


def render_markdown(text: str) -> str:
    """Markdown as HTML with raw HTML off: HTML-looking text is shown, never run (E6)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # a stripped-down environment: show the text as it came
        return f'<pre style="white-space:pre-wrap">{html.escape(text)}</pre>'
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return md.enable("table").render(text)


def _safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _text(value: Any, limit: int = 300) -> str:
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AskResult(Result):
    """GitBook's answer to a question: ``.answer`` (Markdown), ``.followups``, ``.question``;
    its rows and DataFrame are the sources (title, url, space, page, reason)."""

    def __init__(
        self,
        question: str,
        answer: str,
        sources: list[dict[str, Any]],
        followups: list[str],
        *,
        path: str = "",
        method: str = "GET",
        status: int = 200,
        elapsed: float = 0.0,
        rate_limit: Any = None,
        partial: bool = False,
        data: Any = None,
    ) -> None:
        self.question = question
        self.answer = answer
        self.followups = list(followups)
        self.partial = partial
        self.raw = data
        note = None
        if not answer and not partial:
            note = "GitBook found no answer to this question in the organisation's content."
        super().__init__(
            sources,
            status=status,
            elapsed=elapsed,
            method=method,
            path=path,
            rate_limit=rate_limit,
            note=note,
        )

    def _sources_html(self) -> str:
        if not self.rows:
            return ""
        out = ['<table class="gitbook-nb-sources"><thead><tr><th>source</th><th>space</th>'
               "<th>why</th></tr></thead><tbody>"]  # fmt: skip
        for row in self.rows:
            title = html.escape(_text(row.get("title") or row.get("page")))
            url = _safe_url(row.get("url"))
            link = (
                f'<a href="{html.escape(url, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">{title}</a>'
                if url
                else title
            )
            out.append(
                f"<tr><td>{link}</td><td>{html.escape(_text(row.get('space')))}</td>"
                f"<td>{html.escape(_text(row.get('reason')))}</td></tr>"
            )
        out.append("</tbody></table>")
        return "".join(out)

    def _repr_html_(self) -> str:
        parts = ['<div class="gitbook-nb-ask">']
        parts.append(f"<p><b>Q:</b> {html.escape(_text(self.question, 500))}</p>")
        if self.answer:
            parts.append(f'<div class="gitbook-nb-answer">{render_markdown(self.answer)}</div>')
        if self.partial:
            parts.append('<p style="opacity:0.6">… (GitBook is still answering)</p>')
        elif self.note:
            parts.append(f"<p>{html.escape(self.note)}</p>")
        if self.rows and not self.partial:
            parts.append("<p><b>Sources</b></p>" + self._sources_html())
        if self.followups and not self.partial:
            items = "".join(f"<li>{html.escape(_text(q))}</li>" for q in self.followups)
            parts.append(f"<p><b>Follow-up questions</b></p><ul>{items}</ul>")
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        lines = [f"Q: {_text(self.question, 500)}", ""]
        if self.answer:
            lines += ["".join(ch if ch.isprintable() or ch == "\n" else " " for ch in self.answer)]
        if self.partial:
            lines.append("… (GitBook is still answering)")
        elif self.note:
            lines.append(self.note)
        if self.rows and not self.partial:
            lines += ["", "Sources:"]
            lines += [
                f"- {_text(r.get('title') or r.get('page'))} ({_text(r.get('space'))})"
                + (f": {_safe_url(r.get('url'))}" if _safe_url(r.get("url")) else "")
                for r in self.rows
            ]
        if self.followups and not self.partial:
            lines += ["", "Follow-up questions:"] + [f"- {_text(q)}" for q in self.followups]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.__repr__(), "text/html": self._repr_html_()}

    def to_json(self) -> Any:
        return render_json(self.raw if self.raw is not None else {"answer": self.answer})
