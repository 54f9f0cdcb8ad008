"""``%gitbook sites | site | insights | ask | search --org``: site analytics and Ask in a notebook.

Handlers of the FEATURES entries in ``_magic_parse`` (``handler(magics, cmd) -> (shown,
bound)``); the work is done by :mod:`gitbook_nb.insights`. Ask streams: one display is updated
as the answer grows (IPython display handle), then cleared, and the finished answer is the
cell's result. Why clear it rather than leave the last update there: saved notebooks keep the
final state of an updated display, but nbval (and other tools that replay outputs) only see
the first one; a display that starts and ends empty reads the same in both.
"""

from __future__ import annotations

from typing import Any

from gitbook_nb import insights as features
from gitbook_nb.display import render_json
from gitbook_nb.insights.analytics import insights as run_insights
from gitbook_nb.notebook._magic_parse import Command

__all__ = ["ask", "insights", "search", "site", "sites"]

_BLANK = {"text/plain": ""}


def _show(magics: Any, res: Any, cmd: Command, raw: Any) -> tuple[Any, Any]:
    if cmd.options.json:
        return render_json(raw), res
    return magics._table(res, cmd)


def sites(magics: Any, cmd: Command) -> tuple[Any, Any]:
    res = features.sites(cmd.args[0])
    return _show(magics, res, cmd, getattr(res, "raw", res.data))


def site(magics: Any, cmd: Command) -> tuple[Any, Any]:
    res = features.site(cmd.args[0], cmd.args[1])
    return _show(magics, res, cmd, getattr(res, "raw", res.data))


def search(magics: Any, cmd: Command) -> tuple[Any, Any]:
    res = features.search(cmd.args[0], " ".join(cmd.args[1:]), limit=cmd.options.limit)
    return _show(magics, res, cmd, getattr(res, "raw", res.data))


def insights(magics: Any, cmd: Command) -> tuple[Any, Any]:
    o = cmd.options
    query = features.build_query(
        events=o.get("events", "page_view"),
        by=o.get("by", "day"),
        since=o.get("since"),
        start=o.get("from"),
        end=o.get("to"),
        top=o.get("top"),
        metric=o.get("metric", "events"),
    )
    res = run_insights(cmd.args[0], cmd.args[1], query=query)
    res.max_rows = magics.max_rows
    bound = res.to_dataframe() if magics.autopandas else res
    if o.json:  # the query that was sent, as the API's spec names it
        return res.to_json(), bound
    return res, bound  # the Result, not the DataFrame: it also draws the chart


def ask(magics: Any, cmd: Command) -> tuple[Any, Any]:
    from IPython.display import display  # a notebook front end only: imported when asked

    live: list[Any] = []

    def update(partial: Any) -> None:
        if live and live[0] is not None:
            live[0].update(partial._repr_mimebundle_(), raw=True)

    live.append(display(_BLANK, raw=True, display_id=True))
    try:
        res = features.ask(cmd.args[0], " ".join(cmd.args[1:]), on_update=update)
    finally:
        if live[0] is not None:
            live[0].update(_BLANK, raw=True)
    bound = res.to_dataframe() if magics.autopandas else res
    if cmd.options.json:
        return res.to_json(), bound
    return res, bound
