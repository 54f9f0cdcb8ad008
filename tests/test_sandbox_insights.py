"""Site insights in the sandbox: ``POST /v1/orgs/{org}/sites/{site}/insights/events/aggregate``.

Every expected number is computed here, independently, from the raw events the sandbox
exposes (``Sandbox.site_events``), with datetime arithmetic rather than the server's epoch
arithmetic. The sandbox's clock is fixed (a Wednesday afternoon), so "today" never moves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import requests
from support import FakeClock

from gitbook_nb.sandbox import Sandbox
from gitbook_nb.sandbox.insights_query import AGGREGATES, COLUMNS

NOW = datetime(2024, 6, 12, 15, 30, 7, tzinfo=timezone.utc)
FIRST_DAY = datetime(2024, 3, 15, tzinfo=timezone.utc)  # 90 days ending on June 12th
MISSED = {"pricing", "api key", "docker", "dark mode", "<script>alert('q')</script>"}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


ALL = {"from": iso(FIRST_DAY), "to": iso(NOW)}


@pytest.fixture(scope="module")
def sb():
    with Sandbox(clock=FakeClock(NOW.timestamp()), rate_limit=1_000_000) as sb:
        yield sb


@pytest.fixture(scope="module")
def events(sb):
    return sb.site_events(sb.ids["site"])


def aggregate(sb, body, site: str | None = None, token: str | None = None) -> requests.Response:
    return requests.post(
        f"{sb.url}/v1/orgs/{sb.ids['org']}/sites/{site or sb.ids['site']}"
        "/insights/events/aggregate",
        json=body,
        headers={"Authorization": f"Bearer {token or sb.personal_token}"},
        timeout=30,
    )


def rows(sb, body, **kw) -> list[tuple]:
    """The columnar answer as rows (tuples in column order); fails on anything but a 200."""
    resp = aggregate(sb, body, **kw)
    assert resp.status_code == 200, resp.text
    columns = resp.json()["columns"]
    return list(zip(*(c["values"] for c in columns), strict=True))


def day(e) -> datetime:
    return e.timestamp.replace(hour=0, minute=0, second=0, microsecond=0)


def between(events, start: datetime, end: datetime):
    return [e for e in events if start <= e.timestamp < end]


def ranked(counts: dict, n: int) -> list[tuple]:
    """Largest first; ties in ascending key order with null first (the sandbox's rule)."""
    keys = sorted(counts, key=lambda k: (k is not None, k))
    return [(k, counts[k]) for k in sorted(keys, key=lambda k: -counts[k])][:n]


def test_ninety_days_of_events_ending_now(sb, events):
    assert 80_000 <= len(events) <= 120_000
    assert min(e.timestamp for e in events) >= FIRST_DAY
    assert max(e.timestamp for e in events) < NOW
    assert rows(sb, {"range": ALL}) == [(len(events),)]  # select defaults to eventsCount
    daily = rows(sb, {"range": ALL, "groupBy": [{"column": "datetime", "interval": "day"}]})
    assert len(daily) == 90 and daily[0][0] == iso(FIRST_DAY)
    assert daily[-1][0] == iso(NOW.replace(hour=0, minute=0, second=0))


def test_days_with_events_sessions_and_visitors(sb, events):
    body = {
        "range": ALL,
        "select": [{"column": c} for c in ("eventsCount", "sessionsCount", "visitorsCount")],
        "groupBy": [{"column": "datetime", "interval": "day"}],
    }
    per_day = defaultdict(list)
    for e in events:
        per_day[iso(day(e))].append(e)
    expected = [
        (k, len(v), len({e.session for e in v}), len({e.visitor for e in v}))
        for k, v in sorted(per_day.items())
    ]
    assert rows(sb, body) == expected


def test_weekdays_are_busier_than_weekends(sb):
    by_day = rows(sb, {"range": ALL, "groupBy": [{"column": "dayOfWeek"}]})
    assert [d for d, _ in by_day] == [1, 2, 3, 4, 5, 6, 7]
    counts = dict(by_day)
    assert min(counts[d] for d in range(1, 6)) > 1.5 * max(counts[6], counts[7])


@pytest.mark.parametrize("interval", ["hour", "week", "month"])
def test_time_buckets(sb, events, interval):
    def bucket(e):
        t = e.timestamp.replace(minute=0, second=0, microsecond=0)
        if interval == "week":
            return day(e) - timedelta(days=e.timestamp.weekday())
        if interval == "month":
            return day(e).replace(day=1)
        return t

    start = NOW - timedelta(days=40)
    expected = Counter(iso(bucket(e)) for e in between(events, start, NOW))
    body = {
        "range": {"from": iso(start), "to": iso(NOW)},
        "groupBy": [{"column": "datetime", "interval": interval}],
    }
    assert rows(sb, body) == sorted(expected.items())


def test_hour_of_day_and_raw_datetimes(sb, events):
    expected = Counter(e.timestamp.hour for e in events)
    assert rows(sb, {"range": ALL, "groupBy": [{"column": "hourOfDay"}]}) == sorted(
        expected.items()
    )
    hour = NOW.replace(minute=0, second=0) - timedelta(hours=3)
    window = between(events, hour, hour + timedelta(hours=1))
    body = {
        "range": {"from": iso(hour), "to": iso(hour + timedelta(hours=1))},
        "groupBy": [{"column": "datetime"}],  # no interval: each event's own second
    }
    assert rows(sb, body) == sorted(Counter(iso(e.timestamp) for e in window).items())


def test_top_pages_ordered_and_limited(sb, events):
    views = Counter(e.page for e in events if e.type == "page_view")
    body = {
        "range": ALL,
        "select": [{"column": "eventsCount"}],
        "where": [{"column": "eventType", "values": ["page_view"]}],
        "groupBy": [{"column": "page"}],
        "order": {"by": {"column": "eventsCount"}, "direction": "desc"},
        "limit": 5,
    }
    got = [(None if p is None else (p["space"], p["page"]), n) for p, n in rows(sb, body)]
    assert got == ranked(views, 5)
    body["order"]["direction"] = "asc"
    body["limit"] = 1000
    ascending = rows(sb, body)
    assert [n for _, n in ascending] == sorted(views.values())
    assert None in [p for p, _ in ascending]  # 404s: page views that found no page


def test_broken_urls_are_page_views_without_page(sb, events):
    broken = Counter(e.url_path for e in events if e.type == "page_view" and e.page is None)
    body = {
        "range": ALL,
        "where": [
            {"column": "eventType", "values": ["page_view"]},
            {"column": "page", "values": [None]},
        ],
        "groupBy": [{"column": "urlPath"}],
    }
    assert rows(sb, body) == sorted(broken.items()) and broken


def test_searches_with_and_without_results(sb, events):
    typed = Counter(e.search_query for e in events if e.type == "search_type_query")
    opened = Counter(e.search_query for e in events if e.type == "search_open_result")
    body = {
        "range": ALL,
        "groupBy": [{"column": "eventSearchQuery"}],  # events without a query drop out
        "where": [{"column": "eventType", "values": ["search_type_query"]}],
    }
    assert rows(sb, body) == sorted(typed.items())
    body["where"][0]["values"] = ["search_open_result"]
    assert rows(sb, body) == sorted(opened.items())
    missed = {q for q in typed if q not in opened}
    assert missed == MISSED  # what readers look for and the docs do not have


def test_feedback_and_ask_ratings(sb, events):
    feedback = defaultdict(Counter)
    for e in events:
        if e.type == "page_post_feedback":
            feedback[e.page][e.feedback_rating] += 1
    body = {
        "range": ALL,
        "select": [{"column": "pageFeedbackRating"}],
        "where": [{"column": "eventType", "values": ["page_post_feedback"]}],
        "groupBy": [{"column": "page"}],
    }
    got = {(p["space"], p["page"]): r for p, r in rows(sb, body)}
    assert got == {p: {k: c[k] for k in ("ok", "good", "bad")} for p, c in feedback.items()}
    asks = Counter(e.ask_rating > 0 for e in events if e.type == "ask_rate_response")
    expected = {"positive": asks[True], "negative": asks[False]}
    assert rows(sb, {"range": ALL, "select": [{"column": "askResponseRating"}]}) == [(expected,)]
    comments = Counter(e.feedback_comment for e in events if e.feedback_comment)
    by_comment = rows(sb, {"range": ALL, "groupBy": [{"column": "eventPageFeedbackComment"}]})
    assert by_comment == sorted(comments.items())
    assert any("<script>" in c for c in comments)  # reader text, to be shown as text


@pytest.mark.parametrize(
    "column,attr",
    [
        ("visitorGeoCountry", "country"),
        ("visitorDevice", "device"),
        ("visitorBrowser", "browser"),
        ("visitorOS", "os"),
        ("visitorBot", "bot"),
        ("visitorLanguage", "language"),
        ("displayContext", "display_context"),
        ("referrer", "referrer"),
        ("siteSection", "site_section"),
        ("siteSpace", "site_space"),
        ("eventType", "type"),
    ],
)
def test_dimensions_match_the_raw_events(sb, events, column, attr):
    start = NOW - timedelta(days=30)
    expected = Counter(getattr(e, attr) for e in between(events, start, NOW))
    body = {"range": {"from": iso(start), "to": iso(NOW)}, "groupBy": [{"column": column}]}
    assert rows(sb, body) == sorted(expected.items(), key=lambda kv: (kv[0] is not None, kv[0]))


def test_where_operators_and_several_groups(sb, events):
    since = NOW - timedelta(days=14)
    body = {
        "range": ALL,
        "select": [{"column": "visitorsCount"}, {"column": "eventsCount"}],
        "where": [
            {"column": "datetime", "operator": "greaterThanOrEqual", "values": [iso(since)]},
            {"column": "hourOfDay", "operator": "lessThan", "values": [12]},
            {"column": "visitorGeoCountry", "operator": "notIn", "values": ["US", None]},
            {"column": "visitorDevice", "values": ["mobile", "tablet"]},
        ],
        "groupBy": [{"column": "visitorGeoCountry"}, {"column": "visitorDevice"}],
    }
    picked = [
        e
        for e in events
        if e.timestamp >= since
        and e.timestamp.hour < 12
        and e.country not in ("US", None)
        and e.device in ("mobile", "tablet")
    ]
    groups = defaultdict(list)
    for e in picked:
        groups[(e.country, e.device)].append(e)
    expected = [(*k, len({e.visitor for e in v}), len(v)) for k, v in sorted(groups.items())]
    assert rows(sb, body) == expected and expected


def test_url_referrer_utm_and_links(sb, events):
    got = rows(sb, {"range": ALL, "groupBy": [{"column": "url"}], "limit": 3})
    assert all(u.startswith(f"{sb.url}/pub/sites/handbook/") for u, _ in got)
    utm = Counter(e.utm[0] for e in events)
    assert rows(sb, {"range": ALL, "groupBy": [{"column": "utmSource"}]}) == sorted(utm.items())
    domains = Counter(e.referrer.split("/")[2] if e.referrer else "" for e in events)
    body = {"range": ALL, "groupBy": [{"column": "referrerDomain"}]}
    assert rows(sb, body) == sorted(domains.items())
    links = Counter(e.link for e in events if e.link)
    link_columns = [{"column": "eventLinkTargetValue"}, {"column": "eventLinkPosition"}]
    body = {"range": ALL, "groupBy": link_columns}
    got = {(v["url"], pos): n for v, pos, n in rows(sb, body)}
    assert got == dict(links)


@pytest.mark.parametrize(
    "preset,start",
    [
        ("last24Hours", NOW - timedelta(hours=24)),
        ("last7Days", NOW - timedelta(days=7)),
        ("last30Days", NOW - timedelta(days=30)),
        ("last3Months", NOW.replace(month=3)),
        ("lastYear", NOW.replace(year=2023)),
    ],
)
def test_range_presets_end_now(sb, events, preset, start):
    assert rows(sb, {"range": preset}) == [(len(between(events, start, NOW)),)]


def test_empty_results(sb):
    past = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    assert rows(sb, {"range": past}) == [(0,)]  # no groupBy: one row of zeros
    resp = aggregate(sb, {"range": past, "groupBy": [{"column": "page"}]})
    assert resp.json() == {
        "columns": [{"column": "page", "values": []}, {"column": "eventsCount", "values": []}]
    }
    drafts = v1(sb, f"/orgs/{sb.ids['org']}/sites", published="false").json()["items"]
    unpublished = drafts[0]["id"]
    assert rows(sb, {"range": "lastYear"}, site=unpublished) == [(0,)]  # never had readers


def test_other_sites_have_their_own_traffic(sb):
    events = sb.site_events(sb.ids["html_site"])
    assert 0 < len(events) < 10_000
    assert rows(sb, {"range": ALL}, site=sb.ids["html_site"]) == [(len(events),)]


def test_every_spec_column_can_be_grouped_by(sb):
    """All 50 columns of the spec are accepted; the sandbox records most of them."""
    for name in COLUMNS:
        if name in AGGREGATES:
            continue
        column = {"column": name, **({"claim": "plan"} if name == "visitorClaim" else {})}
        resp = aggregate(sb, {"range": "last7Days", "groupBy": [column], "limit": 2})
        assert resp.status_code == 200, (name, resp.text)


W = "last7Days"


def cond(column: str, values: list, operator: str = "in") -> dict:
    return {"column": column, "values": values, "operator": operator}


BAD_BODIES = [
    ([], "JSON object"),
    ({}, "range is required"),
    ({"range": "last2Days"}, "range"),
    ({"range": {"from": "2024-06-01T00:00:00Z"}}, "range"),
    ({"range": {"from": "2024-06-01", "to": "2024-06-02"}}, "offset"),
    ({"range": {"from": "2024-06-02T00:00:00Z", "to": "2024-06-01T00:00:00Z"}}, "range"),
    ({"range": W, "select": [{"column": "nope"}]}, "select[0].column"),
    ({"range": W, "select": {"column": "eventsCount"}}, "select"),
    ({"range": W, "select": [{"column": "page"}]}, "select[0]"),
    ({"range": W, "groupBy": [{"column": "eventsCount"}]}, "groupBy[0]"),
    ({"range": W, "groupBy": [{"column": "page"}] * 2}, "groupBy[1]"),
    ({"range": W, "groupBy": [{"column": "datetime", "interval": "year"}]}, "interval"),
    ({"range": W, "groupBy": [{"column": "visitorClaim"}]}, "claim"),
    ({"range": W, "where": [{"column": "eventsCount", "values": [1]}]}, "where[0]"),
    ({"range": W, "where": [{"column": "dayOfWeek", "values": [8]}]}, "values[0]"),
    ({"range": W, "where": [{"column": "eventType", "values": ["view"]}]}, "values[0]"),
    ({"range": W, "where": [{"column": "page", "values": [{"page": "x"}]}]}, "values[0]"),
    ({"range": W, "where": [{"column": "urlPath", "values": "/x"}]}, "values"),
    ({"range": W, "where": [cond("urlPath", [], "like")]}, "operator"),
    ({"range": W, "where": [cond("urlPath", ["/a"], "lessThan")]}, "operator"),
    ({"range": W, "where": [cond("hourOfDay", [1, 2], "lessThan")]}, "exactly one"),
    ({"range": W, "limit": 0}, "limit"),
    ({"range": W, "limit": 1001}, "limit"),
    ({"range": W, "limit": "10"}, "limit"),
    ({"range": W, "limit": True}, "limit"),
    ({"range": W, "order": {"by": {"column": "visitorsCount"}, "direction": "desc"}}, "order.by"),
    ({"range": W, "order": {"by": {"column": "eventsCount"}, "direction": "up"}}, "direction"),
    ({"range": W, "groupBy": [{"column": "page"}],
      "order": {"by": {"column": "page"}, "direction": "asc"}}, "order.by"),
]  # fmt: skip


@pytest.mark.parametrize("body,field", BAD_BODIES)
def test_bad_bodies_are_400_naming_the_field(sb, body, field):
    resp = aggregate(sb, body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == 400 and field in err["message"]


def test_body_that_is_not_json(sb):
    resp = requests.post(
        f"{sb.url}/v1/orgs/{sb.ids['org']}/sites/{sb.ids['site']}/insights/events/aggregate",
        data=b"range=last7Days",
        headers={"Authorization": f"Bearer {sb.personal_token}"},
        timeout=30,
    )
    assert resp.status_code == 400 and "JSON" in resp.json()["error"]["message"]


def test_limits_and_the_largest_answer(sb, events):
    assert len(rows(sb, {"range": ALL, "groupBy": [{"column": "datetime"}], "limit": 3})) == 3
    biggest = rows(sb, {"range": ALL, "groupBy": [{"column": "datetime"}]})
    assert len(biggest) == 1000  # many more distinct seconds than the cap
    assert biggest[0][0] == iso(min(e.timestamp for e in events))


def v1(sb, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.personal_token}"}
    return requests.get(f"{sb.url}/v1{path}", headers=headers, params=params, timeout=30)


def test_scope_and_membership(sb):
    resp = aggregate(sb, {"range": W}, token=sb.mint_token(scopes=["site:read"]))
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "Missing scope: site:insights:read"
    only = sb.mint_token(scopes=["site:insights:read"])
    assert aggregate(sb, {"range": W}, token=only).status_code == 200
    assert aggregate(sb, {"range": W}, site="site_nope").status_code == 404
    orgs = {o["title"]: o["id"] for o in v1(sb, "/orgs").json()["items"]}
    cafe_org = orgs["Ünïcödé Labs 🚀"]
    cafe = v1(sb, f"/orgs/{cafe_org}/sites").json()["items"][0]["id"]
    stranger = sb.mint_token(user="mallory")  # a member of the first organisation only
    resp = requests.post(
        f"{sb.url}/v1/orgs/{cafe_org}/sites/{cafe}/insights/events/aggregate",
        json={"range": W},
        headers={"Authorization": f"Bearer {stranger}"},
        timeout=30,
    )
    assert resp.status_code == 404 and resp.json()["error"]["message"] == "Organization not found"
    assert aggregate(sb, {"range": W}, site=cafe).status_code == 404  # not in this org


def test_generation_is_deterministic_and_per_day(events):
    """Another sandbox, one day later, serves the same events for the days both cover."""
    later = NOW + timedelta(days=1)
    with Sandbox(clock=FakeClock(later.timestamp())) as other:
        theirs = other.site_events(other.ids["site"])
    start, end = FIRST_DAY + timedelta(days=2), NOW.replace(hour=0, minute=0, second=0)
    assert between(events, start, end) == between(theirs, start, end)
    assert between(events, start, end)
    assert max(e.timestamp for e in theirs) >= NOW  # the window moved with the clock
    assert min(e.timestamp for e in theirs) >= FIRST_DAY + timedelta(days=1)
