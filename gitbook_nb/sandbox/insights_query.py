"""Reading a ``SiteInsightsQueryEventsAggregation`` body (@gitbook/api) into a ``Query``.

Hand-written rather than validated with a JSON-schema library: the spec cannot ship with the
sandbox (no licence), and the grammar is small: 50 columns, each with the item type its
``values`` take (``COLUMNS``). Everything the spec allows is accepted; everything else is a
``BadQuery`` whose message names the field (the route answers it as a v1 400).

Choices where the spec is silent (documented in CONTRIBUTING.md, sandbox section):
- ``select`` defaults to ``[{"column": "eventsCount"}]``; a dimension in ``select`` must also
  be in ``groupBy``; aggregates (``AGGREGATES``) cannot be grouped by or filtered on.
- ``range`` is half-open, ``[from, to)``; presets end now (the sandbox clock): ``last7Days``
  is ``[now - 7 days, now)``, ``last3Months`` and ``lastYear`` go back in calendar months.
- ``operator`` defaults to ``in``; comparison operators take exactly one value and need an
  ordered column (``ORDERED``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

AGGREGATES = (
    "eventsCount",
    "sessionsCount",
    "visitorsCount",
    "pageFeedbackRating",
    "askResponseRating",
)
ORDERED = ("datetime", "dayOfWeek", "hourOfDay", "eventAskResponseRating")
INTERVALS = ("hour", "day", "week", "month")
OPERATORS = ("in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual")
PRESETS = ("lastYear", "last3Months", "last30Days", "last7Days", "last24Hours")
MAX_LIMIT = 1000
EVENT_TYPES = (
    "page_view", "page_markdown_request", "search_open", "search_type_query",
    "search_open_result", "page_post_feedback", "page_post_feedback_comment", "agent_feedback",
    "ask_question", "ask_view", "ask_rate_response", "link_click", "api_client_open",
    "api_client_request", "ad_click", "ad_display", "trademark_click", "llms_request",
    "mcp_request", "rss_request",
)  # fmt: skip
BOTS = (
    "unknown", "googlebot", "bingbot", "duckduckbot", "facebookbot", "applebot", "chatgpt",
    "openai", "claude", "anthropic", "gemini", "perplexity", "cohere", "mistral", "deepseek",
    "meta", "bytespider", "ccbot", "amazonbot", "youbot", "cursor", "vscode", "claude-code",
    "codex", "opencode", "gptbot", "claudebot", "meta-fetcher", "grok", "github-copilot",
    "meta-webindexer", "meta-ads", "duckassist", "amzn-searchbot", "amzn-user",
)  # fmt: skip


class BadQuery(ValueError):
    """A body the spec (or the sandbox's reading of it) refuses: answered as a 400."""


Item = Callable[[Any], Any]  # checks one JSON value of a column, returns its internal form


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and (
        isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    )


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise BadQuery(f"expected {what}")


def _string(v: Any) -> str:
    _check(isinstance(v, str), "a string")
    return v


def _nullable_string(v: Any) -> str | None:
    _check(v is None or isinstance(v, str), "a string or null")
    return v


def _number(v: Any) -> float:
    _check(isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
    return v


def _int_between(lo: int, hi: int | None) -> Item:
    def item(v: Any) -> int:
        _check(_is_int(v) and lo <= v and (hi is None or v <= hi), f"an integer {lo}..{hi}")
        return int(v)

    return item


def _enum(*choices: Any) -> Item:
    def item(v: Any) -> Any:
        _check(v in choices and type(v) in (str, type(None)), f"one of {list(choices)}")
        return v

    return item


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)  # by hand: Python 3.10's fromisoformat reads neither "Z" nor every fraction


def timestamp(v: Any) -> float:
    """A ``Timestamp`` (RFC 3339 date-time with its offset, JSON schema ``date-time``)."""
    m = _RFC3339.fullmatch(v) if isinstance(v, str) else None
    if m is None:
        shown = repr(v[:40]) if isinstance(v, str) else type(v).__name__
        raise BadQuery(
            f"expected a date-time with its offset like 2024-06-01T00:00:00Z, not {shown}"
        )
    offset = m[8].upper()
    zone = timezone.utc
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
        when = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        raise BadQuery(f"not a valid date-time: {v[:40]!r}") from None
    return when.timestamp() + (float(m[7]) if m[7] else 0.0)


def _bool_or_null(v: Any) -> bool | None:
    _check(v is None or isinstance(v, bool), "true, false or null")
    return v


def _page(v: Any) -> tuple[str, str | None] | None:
    if v is None:
        return None
    _check(isinstance(v, dict) and isinstance(v.get("space"), str), "null or {page, space}")
    _check("page" in v and (v["page"] is None or isinstance(v["page"], str)), "{page, space}")
    return (v["space"], v["page"])


def _content_ref(v: Any) -> Any:
    _check(isinstance(v, dict) and isinstance(v.get("kind"), str), "a content reference {kind}")
    if v["kind"] == "url":
        return _string(v.get("url"))
    return ("ref", tuple(sorted((k, repr(x)) for k, x in v.items())))  # matches no sandbox link


def _geo_point(v: Any) -> tuple[float, float, str] | None:
    if v is None:
        return None
    _check(isinstance(v, dict), "null or {latitude, longitude, h3}")
    return (_number(v.get("latitude")), _number(v.get("longitude")), _string(v.get("h3")))


def _counts(*keys: str) -> Item:
    def item(v: Any) -> tuple[float, ...]:
        _check(isinstance(v, dict), "an object with " + ", ".join(keys))
        return tuple(_number(v.get(k)) for k in keys)

    return item


_NS = _nullable_string
COLUMNS: dict[str, Item] = {  # every column of SiteInsightsQueryEventsColumn, in spec order
    "datetime": timestamp,
    "dayOfWeek": _int_between(1, 7),
    "hourOfDay": _int_between(0, 23),
    "url": _string,
    "urlPath": _string,
    "eventType": _enum(*EVENT_TYPES),
    "eventsCount": _number,
    "sessionsCount": _number,
    "visitorsCount": _number,
    "siteSection": _NS,
    "siteSpace": _NS,
    "siteShareKey": _NS,
    "displayContext": _enum("site", "server", "embed", "mcp"),
    "page": _page,
    "visitorGeoCountry": _NS,
    "visitorGeoPoint": _geo_point,
    "visitorDevice": _enum("desktop", "tablet", "mobile", "unknown"),
    "visitorBrowser": _enum("chrome", "firefox", "safari", "edge", "ie", "opera", "unknown"),
    "visitorOS": _enum("windows", "macos", "linux", "android", "ios", "unknown"),
    "visitorBot": _enum(None, "", *BOTS),
    "visitorLanguage": _NS,
    "eventLinkTargetValue": _content_ref,
    "eventLinkTargetKind": _enum(
        "url", "page", "file", "anchor", "space", "collection", "user", "reusable-content"
    ),
    "eventLinkTargetDomain": _NS,
    "eventLinkPosition": _enum("announcement", "header", "footer", "sidebar", "content"),
    "eventAPIOperationPath": _NS,
    "eventAPIOperationMethod": _NS,
    "eventLLMSVariant": _enum(None, "standard", "full"),
    "eventPageNotFoundType": _enum(None, "conditional"),
    "eventMarkdownSource": _enum(None, "page-action"),
    "eventSearchQuery": _string,
    "eventSearchResultRecordId": _NS,
    "eventPageFeedbackRating": _enum("bad", "ok", "good"),
    "eventPageFeedbackComment": _string,
    "eventAskResponseRating": _int_between(-(2**53), 2**53),
    "pageFeedbackRating": _counts("ok", "good", "bad"),
    "askResponseRating": _counts("positive", "negative"),
    "referrer": _string,
    "referrerDomain": _string,
    "utmSource": _string,
    "utmMedium": _string,
    "utmCampaign": _string,
    "utmTerm": _string,
    "utmContent": _string,
    "visitorAuthenticated": _bool_or_null,
    "visitorClaimProperty": _string,
    "visitorClaim": _string,
    "eventAdDomain": _string,
    "eventAdPlacement": _enum("aside"),
    "eventTrademarkPlacement": _enum("sidebar", "ad", "footer", "pdf", "embed"),
}


@dataclass(frozen=True)
class ColumnRef:
    name: str
    interval: str | None = None  # datetime buckets
    claim: str | None = None  # visitorClaim
    precision: int | None = None  # visitorGeoPoint

    def api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.name}
        for key in ("interval", "claim", "precision"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Filter:
    column: ColumnRef
    operator: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    select: tuple[ColumnRef, ...]
    where: tuple[Filter, ...]
    group_by: tuple[ColumnRef, ...]
    order: tuple[ColumnRef, str] | None  # (column, "asc" | "desc")
    start: float  # epoch seconds, inclusive
    end: float  # exclusive
    limit: int

    @property
    def output(self) -> tuple[ColumnRef, ...]:
        """The answer's columns: the groupBy columns, then the selected aggregates."""
        return self.group_by + tuple(c for c in self.select if c not in self.group_by)


def _column(v: Any, where: str, *, filter_: bool = False) -> ColumnRef:
    if not isinstance(v, dict):
        raise BadQuery(f"{where}: expected an object with a column")
    name = v.get("column")
    if name not in COLUMNS:
        raise BadQuery(f"{where}.column: unknown column {str(name)[:60]!r}")
    interval = v.get("interval") if name == "datetime" and not filter_ else None
    if interval is not None and interval not in INTERVALS:
        raise BadQuery(f"{where}.interval: expected one of {', '.join(INTERVALS)}")
    claim = v.get("claim") if name == "visitorClaim" else None
    if name == "visitorClaim" and not isinstance(claim, str):
        raise BadQuery(f"{where}.claim: visitorClaim needs the claim's name")
    precision = v.get("precision") if name == "visitorGeoPoint" and not filter_ else None
    if precision is not None and not (_is_int(precision) and 0 <= precision <= 15):
        raise BadQuery(f"{where}.precision: expected an integer 0..15")
    return ColumnRef(name, interval, claim, None if precision is None else int(precision))


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise BadQuery(f"{key}: expected an array")
    return value


def _filter(v: Any, where: str) -> Filter:
    col = _column(v, where, filter_=True)
    if col.name in AGGREGATES:
        raise BadQuery(f"{where}: {col.name} is an aggregate; where filters events")
    op = v.get("operator", "in")
    if op not in OPERATORS:
        raise BadQuery(f"{where}.operator: expected one of {', '.join(OPERATORS)}")
    raw = v.get("values")
    if not isinstance(raw, list):
        raise BadQuery(f"{where}.values: expected an array")
    values = []
    for j, item in enumerate(raw):
        try:
            values.append(COLUMNS[col.name](item))
        except BadQuery as err:
            raise BadQuery(f"{where}.values[{j}]: {err} for column {col.name}") from None
    if op not in ("in", "notIn"):
        if col.name not in ORDERED:
            raise BadQuery(f"{where}.operator: {op} needs one of {', '.join(ORDERED)}")
        if len(values) != 1:
            raise BadQuery(f"{where}.values: {op} takes exactly one value")
    return Filter(col, op, tuple(values))


def _months_back(now: float, months: int) -> float:
    when = datetime.fromtimestamp(now, timezone.utc)
    total = when.year * 12 + when.month - 1 - months
    year, month = divmod(total, 12)
    day = when.day
    while True:  # clamp the 31st to the month's last day
        try:
            return when.replace(year=year, month=month + 1, day=day).timestamp()
        except ValueError:
            day -= 1


def _range(v: Any, now: float) -> tuple[float, float]:
    days = {"last24Hours": 1, "last7Days": 7, "last30Days": 30}
    if isinstance(v, str):
        if v in days:
            return now - timedelta(days=days[v]).total_seconds(), now
        if v in ("last3Months", "lastYear"):
            return _months_back(now, 3 if v == "last3Months" else 12), now
        raise BadQuery(f"range: expected one of {', '.join(PRESETS)} or {{from, to}}")
    if not isinstance(v, dict) or "from" not in v or "to" not in v:
        raise BadQuery("range: expected a preset or an object with from and to")
    try:
        start, end = timestamp(v["from"]), timestamp(v["to"])
    except BadQuery as err:
        raise BadQuery(f"range: {err}") from None
    if start > end:
        raise BadQuery("range: from must not be after to")
    return start, end


def parse(body: Any, now: float) -> Query:
    """Check a request body against the spec and the rules above; ``now`` ends the presets."""
    if not isinstance(body, dict):
        raise BadQuery("the body must be a JSON object (SiteInsightsQueryEventsAggregation)")
    if "range" not in body:
        raise BadQuery("range is required")
    start, end = _range(body["range"], now)
    select = tuple(_column(v, f"select[{i}]") for i, v in enumerate(_list(body, "select")))
    if "select" not in body:
        select = (ColumnRef("eventsCount"),)
    group = tuple(_column(v, f"groupBy[{i}]") for i, v in enumerate(_list(body, "groupBy")))
    for i, col in enumerate(group):
        if col.name in AGGREGATES:
            raise BadQuery(f"groupBy[{i}]: {col.name} is an aggregate, not a dimension")
        if col in group[:i]:
            raise BadQuery(f"groupBy[{i}]: {col.name} is grouped by twice")
    for i, col in enumerate(select):
        if col.name not in AGGREGATES and col not in group:
            raise BadQuery(f"select[{i}]: {col.name} must also be in groupBy")
    where = tuple(_filter(v, f"where[{i}]") for i, v in enumerate(_list(body, "where")))
    limit = body.get("limit", MAX_LIMIT)
    if not (_is_int(limit) and 1 <= limit <= MAX_LIMIT):
        raise BadQuery(f"limit: expected an integer from 1 to {MAX_LIMIT}")
    query = Query(select, where, group, None, start, end, int(limit))
    if "order" in body:
        order = body["order"]
        if not isinstance(order, dict) or "by" not in order:
            raise BadQuery("order: expected {by, direction}")
        if order.get("direction") not in ("asc", "desc"):
            raise BadQuery("order.direction: expected asc or desc")
        by = _column(order["by"], "order.by")
        if by not in query.output:
            raise BadQuery(f"order.by: {by.name} is not a column of the answer")
        if by.name in _UNORDERABLE:
            raise BadQuery(f"order.by: {by.name} holds objects and cannot be sorted")
        query = Query(select, where, group, (by, order["direction"]), start, end, int(limit))
    return query


_UNORDERABLE = ("page", "pageFeedbackRating", "askResponseRating", "eventLinkTargetValue",
                "visitorGeoPoint")  # fmt: skip
