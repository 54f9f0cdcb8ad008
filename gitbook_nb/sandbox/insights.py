"""Site insights under /v1: ``POST /orgs/{orgId}/sites/{siteId}/insights/events/aggregate``.

The body is the spec's ``SiteInsightsQueryEventsAggregation`` (read by ``insights_query``),
the answer its ``SiteInsightsQueryEventsAggregationResult`` (computed by ``insights_agg``)
over the site's generated traffic (``insights_events``). Scope ``site:insights:read``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from . import insights_agg, insights_query
from .data import Dataset, User
from .data_sites import SiteSeed
from .insights_events import EventLog, InsightEvent, generate
from .messages import Request, Response, json_response, v1_error
from .sites import Route, find_site, route_into

if TYPE_CHECKING:
    from .app import Sandbox

ROUTES: list[Route] = []
route = route_into(ROUTES)


class Traffic:
    """Each site's events, generated on first use and kept for the day (sandbox clock)."""

    def __init__(self, data: Dataset, clock: Callable[[], float]) -> None:
        self._data, self._clock = data, clock
        self._logs: dict[str, tuple[date, EventLog]] = {}
        self._lock = threading.Lock()

    def log(self, site: SiteSeed) -> EventLog:
        now = self._clock()
        today = datetime.fromtimestamp(now, timezone.utc).date()
        with self._lock:  # one generation per site even when requests race
            kept = self._logs.get(site.id)
            if kept is None or kept[0] != today:
                kept = self._logs[site.id] = (today, generate(site, self._data, now))
            return kept[1]


@route("POST", r"/orgs/([^/]+)/sites/([^/]+)/insights/events/aggregate", "site:insights:read")
def _aggregate(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    site = find_site(sb, viewer, m[1], m[2])
    if isinstance(site, Response):
        return site
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return v1_error(400, "The body must be JSON (SiteInsightsQueryEventsAggregation)")
    try:
        query = insights_query.parse(body, sb.clock())
    except insights_query.BadQuery as err:
        return v1_error(400, f"Invalid insights query: {err}")
    return json_response(200, insights_agg.run(sb.traffic.log(site), query, sb.url))


def events_of(sb: Sandbox, site_id: str) -> tuple[InsightEvent, ...]:
    """Every event of a site, oldest first (``Sandbox.site_events``)."""
    from .data_sites import SITES_BY_ID

    site = SITES_BY_ID.get(site_id)
    if site is None:
        raise KeyError(f"no seeded site {site_id!r}")
    log = sb.traffic.log(site)
    return tuple(log.event(i) for i in range(len(log)))
