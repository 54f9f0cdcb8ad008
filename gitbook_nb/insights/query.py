"""``%gitbook insights`` options -> the spec's ``SiteInsightsQueryEventsAggregation`` body.

Pure (no I/O; ``now`` is injected). GitBook's OpenAPI spec defines the body: ``range`` (a preset
such as ``last30Days`` or ``{from, to}`` date-times) is required; ``select`` lists aggregates
(``eventsCount``, ``visitorsCount``, ``sessionsCount``), ``groupBy`` the dimensions (a
``datetime`` column takes an ``interval``: hour, day, week, month), ``where`` filters events
(``{column, values, operator?}``), ``order`` is ``{by: column, direction}``, ``limit`` is 1..1000.

Friendly names map onto the spec's columns (``--by country`` is ``visitorGeoCountry``); any spec
column name is accepted as it is, so nothing the API offers is hidden behind the short list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from gitbook_nb.errors import GitBookError

__all__ = [
    "AGGREGATES",
    "BY",
    "EVENTS",
    "InsightsQuery",
    "QueryError",
    "build_query",
    "parse_since",
]

INTERVALS = ("hour", "day", "week", "month")
AGGREGATES = {"events": "eventsCount", "visitors": "visitorsCount", "sessions": "sessionsCount"}
# --by NAME -> the spec's column (a datetime interval for the time buckets)
BY: dict[str, str] = {
    "hour": "datetime",
    "day": "datetime",
    "week": "datetime",
    "month": "datetime",
    "page": "page",
    "path": "urlPath",
    "url": "url",
    "country": "visitorGeoCountry",
    "language": "visitorLanguage",
    "device": "visitorDevice",
    "browser": "visitorBrowser",
    "os": "visitorOS",
    "bot": "visitorBot",
    "referrer": "referrerDomain",
    "search": "eventSearchQuery",
    "event": "eventType",
    "section": "siteSection",
    "space": "siteSpace",
    "weekday": "dayOfWeek",
    "hourofday": "hourOfDay",
    "rating": "eventPageFeedbackRating",
}
# Every column of SiteInsightsQueryEventsColumn (spec order), accepted verbatim by --by.
SPEC_COLUMNS = (
    "datetime dayOfWeek hourOfDay url urlPath eventType eventsCount sessionsCount visitorsCount "
    "siteSection siteSpace siteShareKey displayContext page visitorGeoCountry visitorGeoPoint "
    "visitorDevice visitorBrowser visitorOS visitorBot visitorLanguage eventLinkTargetValue "
    "eventLinkTargetKind eventLinkTargetDomain eventLinkPosition eventAPIOperationPath "
    "eventAPIOperationMethod eventLLMSVariant eventPageNotFoundType eventMarkdownSource "
    "eventSearchQuery eventSearchResultRecordId eventPageFeedbackRating eventPageFeedbackComment "
    "eventAskResponseRating pageFeedbackRating askResponseRating referrer referrerDomain "
    "utmSource utmMedium utmCampaign utmTerm utmContent visitorAuthenticated "
    "visitorClaimProperty visitorClaim eventAdDomain eventAdPlacement eventTrademarkPlacement"
).split()
# SiteInsightsEventType
EVENTS = (
    "page_view page_markdown_request search_open search_type_query search_open_result "
    "page_post_feedback page_post_feedback_comment agent_feedback ask_question ask_view "
    "ask_rate_response link_click api_client_open api_client_request ad_click ad_display "
    "trademark_click llms_request mcp_request rss_request"
).split()
# --since values that are exactly one of the spec's presets (the server's own "now" ends them)
PRESETS = {
    "24h": "last24Hours",
    "1d": "last24Hours",
    "7d": "last7Days",
    "1w": "last7Days",
    "30d": "last30Days",
    "3m": "last3Months",
    "1y": "lastYear",
    "12m": "lastYear",
}
_UNITS = {"h": 1 / 24, "d": 1, "w": 7}
MAX_LIMIT = 1000


class QueryError(GitBookError):
    """An insights option the spec cannot express (refused before any request)."""


@dataclass(frozen=True)
class InsightsQuery:
    """The JSON body plus what the display needs to label the table and the chart."""

    body: dict[str, Any]
    by: tuple[str, ...]  # the --by names, one per groupBy column
    events: tuple[str, ...]  # event types filtered on (empty: all)
    metric: str  # the aggregate's friendly name: events, visitors or sessions
    period: str  # "last 30 days", "2024-06-01 to 2024-06-30"
    top: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def interval(self) -> str | None:
        """The time bucket when the first dimension is time (day, week, ...), else None."""
        return self.by[0] if self.by and self.by[0] in INTERVALS else None


def _words(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [w.strip() for w in items if w and w.strip()]


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_since(text: str, *, now: datetime) -> tuple[Any, str]:
    """``30d`` -> (the spec's range, a label). Exact presets use the server's clock."""
    t = text.strip().lower()
    if t in PRESETS:
        n, unit = int(t[:-1]), t[-1]
        label = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}[unit]
        return PRESETS[t], f"last {n} {label}{'s' if n != 1 else ''}"
    m = re.fullmatch(r"(\d{1,4})([hdw])", t)
    if not m or int(m[1]) < 1:
        raise QueryError(
            f"--since takes a length such as 30d, 12w or 48h, not {text[:20]!r}",
            hint="or give --from DATE --to DATE (YYYY-MM-DD)",
        )
    days = int(m[1]) * _UNITS[m[2]]
    if days > 366:
        raise QueryError("--since goes back at most a year (GitBook keeps a year of insights)")
    start = now - timedelta(days=days)
    unit = {"h": "hour", "d": "day", "w": "week"}[m[2]]
    return {"from": _stamp(start), "to": _stamp(now)}, f"last {m[1]} {unit}s"


def _date(text: str, what: str, *, end: bool) -> datetime:
    """YYYY-MM-DD (a whole day: ``--to`` includes it) or an ISO date-time with an offset."""
    t = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            day = date.fromisoformat(t)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return start + timedelta(days=1) if end else start
        when = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"{what} takes a date such as 2024-06-01, not {t[:30]!r}",
            hint="YYYY-MM-DD, or a date-time with its offset (2024-06-01T08:00:00Z)",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _range(since: str | None, start: str | None, end: str | None, now: datetime) -> tuple[Any, str]:
    if since and (start or end):
        raise QueryError("give --since, or --from and --to, not both")
    if start or end:
        if not (start and end):
            raise QueryError(
                "--from and --to go together", hint="e.g. --from 2024-06-01 --to 2024-06-30"
            )
        a, b = _date(start, "--from", end=False), _date(end, "--to", end=True)
        if a >= b:
            raise QueryError("--from must be before --to")
        label = f"{start.strip()} to {end.strip()}"
        return {"from": _stamp(a), "to": _stamp(b)}, label
    return parse_since(since or "30d", now=now)


def _column(name: str) -> tuple[str, dict[str, Any]]:
    key = name.strip()
    low = key.lower()
    if low in BY:
        col: dict[str, Any] = {"column": BY[low]}
        if low in INTERVALS:
            col["interval"] = low
        return low, col
    if key in SPEC_COLUMNS and key not in ("eventsCount", "sessionsCount", "visitorsCount"):
        return key, {"column": key}
    raise QueryError(
        f"--by does not know {key[:40]!r}",
        hint="use " + ", ".join(BY) + ", or a column name of GitBook's insights API",
    )


def build_query(
    *,
    events: str | list[str] | tuple[str, ...] | None = "page_view",
    by: str | list[str] | tuple[str, ...] | None = "day",
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    top: int | None = None,
    metric: str = "events",
    now: datetime | None = None,
) -> InsightsQuery:
    """The ``SiteInsightsQueryEventsAggregation`` for these options (see the module docstring).

    ``events``: event types to count (``"all"`` or empty: every type). ``by``: one or more
    dimensions (``"day"``, ``"page,country"``). ``top``: the N biggest groups. ``metric``:
    events, visitors or sessions.
    """
    now = now or datetime.now(timezone.utc)
    rng, period = _range(since, start, end, now)
    chosen = _words(events)
    if [e.lower() for e in chosen] in ([], ["all"]):
        chosen = []
    bad = [e for e in chosen if e not in EVENTS]
    if bad:
        raise QueryError(
            f"unknown event type {bad[0][:40]!r}", hint="event types: " + ", ".join(EVENTS)
        )
    if metric not in AGGREGATES:
        raise QueryError(f"--metric takes {', '.join(AGGREGATES)}, not {metric[:20]!r}")
    dims = [_column(w) for w in _words(by)]
    names = tuple(n for n, _ in dims)
    if len(set(names)) != len(names) or sum(n in INTERVALS for n in names) > 1:
        raise QueryError("each --by dimension once, and at most one time bucket")
    if top is not None and not 1 <= int(top) <= MAX_LIMIT:
        raise QueryError(f"--top takes 1 to {MAX_LIMIT} (the API's limit)")
    aggregate = {"column": AGGREGATES[metric]}
    body: dict[str, Any] = {"select": [aggregate], "range": rng}
    if dims:
        body["groupBy"] = [c for _, c in dims]
    if chosen:
        body["where"] = [{"column": "eventType", "operator": "in", "values": chosen}]
    time_first = bool(names) and names[0] in INTERVALS
    if top is not None or (dims and not time_first):
        body["order"] = {"by": aggregate, "direction": "desc"}  # biggest groups first
    elif time_first:
        body["order"] = {"by": dims[0][1], "direction": "asc"}  # a time series, oldest first
    body["limit"] = int(top) if top is not None else MAX_LIMIT
    return InsightsQuery(body, names, tuple(chosen), metric, period, top)
