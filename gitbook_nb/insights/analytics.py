"""``insights(org, site, ...)``: one aggregation over a site's reader events, as a Result.

``POST /orgs/{orgId}/sites/{siteId}/insights/events/aggregate`` with the body
:func:`~gitbook_nb.insights.query.build_query` makes (scope ``site:insights:read``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitbook_nb.insights.ask import segment
from gitbook_nb.insights.query import InsightsQuery, build_query
from gitbook_nb.insights.results import InsightsResult
from gitbook_nb.insights.scopes import needs
from gitbook_nb.kernel import session as kernel_session

__all__ = ["aggregate_path", "insights"]


def aggregate_path(org: str, site: str) -> str:
    return (
        f"/orgs/{segment(org, 'organization')}/sites/{segment(site, 'site')}"
        "/insights/events/aggregate"
    )


def insights(
    org: str,
    site: str,
    *,
    events: str | list[str] | None = "page_view",
    by: str | list[str] | None = "day",
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    top: int | None = None,
    metric: str = "events",
    query: InsightsQuery | None = None,
    plot: bool | Callable[[], Any] = True,
) -> InsightsResult:
    """Count a site's events: page views per day by default, over the last 30 days.

    ``events``: event types (``"page_view,search_type_query"``, ``"all"``); ``by``: ``day``,
    ``week``, ``month``, ``hour``, ``page``, ``path``, ``country``, ``device``, ``referrer``,
    ``search``... or a column name of the API; ``since``: ``30d``, ``12w``, ``48h`` (or
    ``start``/``end`` dates, ``end`` included); ``top``: the N biggest groups; ``metric``:
    events, visitors or sessions. ``plot=False`` never draws the chart.
    """
    q = query or build_query(events=events, by=by, since=since, start=start, end=end, top=top,
                             metric=metric)  # fmt: skip
    path = aggregate_path(org, site)
    with needs("insights"):
        res = kernel_session.request("POST", path, json=q.body)
    return InsightsResult(res.data, q, path=path, status=res.status, elapsed=res.elapsed,
                          rate_limit=res.rate_limit, plot=plot)  # fmt: skip
