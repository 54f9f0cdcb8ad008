"""%gitbook sites | site | insights | ask | search --org, over real HTTP against the sandbox.

Each option's query is read back from the sandbox's request log (what was really sent) and
checked against GitBook's OpenAPI spec in test_insights_spec.py; here: tables, DataFrame
dtypes, the chart in the output bundle (and its absence, with the hint), the streamed answer
in one display, missing scopes, an empty result and a 90-day range.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from support import FakeClock

import gitbook_nb
from gitbook_nb.insights import AskResult, InsightsResult
from gitbook_nb.insights import chart as chart_mod
from gitbook_nb.kernel.session import KernelSession, reset_session

PNG = b"\x89PNG\r\n\x1a\n"


class Recorder(DisplayPublisher):
    """Every display the kernel would send to the front end: (data, display_id, update)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[tuple[dict[str, Any], str | None, bool]] = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):  # type: ignore[override]
        self.out.append((dict(data), (transient or {}).get("display_id"), update))


@pytest.fixture
def shown(shell):
    """Records displays for one test; restores the shell's own publisher after."""
    old = shell.display_pub
    shell.display_pub = rec = Recorder()
    yield rec
    shell.display_pub = old


@pytest.fixture(scope="module")
def pat(sandbox) -> str:
    return sandbox.mint_token()  # this module's own token (rate limits are per token)


@pytest.fixture
def kernel(sb, shell, pat):
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    k.login_with_token(pat)
    sb.clear_log()
    magics = shell.magics_manager.registry["GitBookMagics"]
    names = set(shell.user_ns)
    yield k
    for name in set(shell.user_ns) - names:
        del shell.user_ns[name]
    magics.autopandas = False
    reset_session(KernelSession(environ={}))


def run(shell, line: str) -> Any:
    return shell.run_line_magic("gitbook", line)


def sent(sb, method: str = "POST") -> list[Any]:
    """Bodies of the insights queries the sandbox received."""
    return [
        json.loads(r.body)
        for r in sb.requests
        if r.method == method and r.path.endswith("/insights/events/aggregate")
    ]


def outputs(shell, rec: Recorder, value: Any) -> list[dict[str, Any]]:
    """The output bundles a notebook would store for ``value`` shown as a cell's result."""
    data, _ = shell.display_formatter.format(value)
    return [d for d, _, _ in rec.out] + ([data] if data else [])


# ------------------------------------------------------------------ sites, site, search


def test_sites_lists_every_site_with_its_published_url_E6(shell, sb, kernel, shown):
    res = run(shell, f"sites {sb.ids['org']}")
    assert [r["id"] for r in res.rows][:2] == [sb.ids["site"], sb.ids["html_site"]]
    by_id = {r["id"]: r for r in res.rows}
    assert by_id[sb.ids["site"]]["url"].endswith("/pub/sites/handbook/")
    assert any(not r["published"] and r["url"] == "" for r in res.rows)
    html_out = outputs(shell, shown, res)[0]["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_out and "<img" not in html_out
    assert sb.requests[-1].path == f"/v1/orgs/{sb.ids['org']}/sites"


def test_site_shows_its_structure_published_or_not(shell, sb, kernel):
    res = run(shell, f"site {sb.ids['org']} {sb.ids['site']}")
    assert res.rows and {"section", "variant", "space", "path", "url"} <= set(res.columns)
    assert res.rows[0]["space"] == sb.ids["space"]
    assert "/pub/sites/handbook/" in res.note
    listed = run(shell, f"sites {sb.ids['org']}").rows
    unpublished = next(r["id"] for r in listed if not r["published"])
    sb.clear_log()
    draft = run(shell, f"site {sb.ids['org']} {unpublished}")
    assert [r.path.rsplit("/", 1)[-1] for r in sb.requests] == ["published", "structure"]
    assert draft.rows and "not published" in draft.note


def test_search_org_and_search_space_are_both_unambiguous(shell, sb, kernel):
    res = run(shell, f'search --org {sb.ids["org"]} "engine"')
    assert sb.requests[-1].path == f"/v1/orgs/{sb.ids['org']}/search"
    assert parse_qs(sb.requests[-1].query) == {"query": ["engine"]}
    assert res.rows and all(r["url"].startswith("http://127.0.0.1:") for r in res.rows)
    assert res.rows == sorted(res.rows, key=lambda r: -r["score"])
    run(shell, f'search {sb.ids["space"]} "engine"')  # the space search is unchanged
    assert sb.requests[-1].path == f"/v1/spaces/{sb.ids['space']}/search"
    nothing = run(shell, f'search --org {sb.ids["org"]} "zzzqqq"')
    assert nothing.rows == [] and "Nothing in this organisation matches" in nothing.note


# ------------------------------------------------------------------ insights


def test_insights_default_is_page_views_per_day_with_a_line_chart(shell, sb, kernel, shown):
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']}")
    assert isinstance(res, InsightsResult)
    (body,) = sent(sb)
    assert body == {
        "select": [{"column": "eventsCount"}],
        "range": "last30Days",
        "groupBy": [{"column": "datetime", "interval": "day"}],
        "where": [{"column": "eventType", "operator": "in", "values": ["page_view"]}],
        "order": {"by": {"column": "datetime", "interval": "day"}, "direction": "asc"},
        "limit": 1000,
    }
    df = res.to_dataframe()
    assert list(df.columns) == ["day", "events"]
    assert str(df["day"].dtype).startswith("datetime64") and str(df["day"].dt.tz) == "UTC"
    assert df["events"].dtype == "int64" and (df["events"] > 0).all()
    assert df["day"].is_monotonic_increasing and 30 <= len(df) <= 31
    assert res.rows[0]["day"] == df["day"].iloc[0].strftime("%Y-%m-%d")
    bundles = outputs(shell, shown, res)
    assert len(bundles) == 2, "the table and the chart are two outputs"
    table, picture = bundles
    assert "text/html" in table and "image/png" not in table
    assert picture["image/png"].startswith(PNG)
    assert picture["text/plain"] == "<chart: Page views per day, last 30 days>"
    assert "pip install" not in table["text/plain"]


def test_insights_by_a_category_draws_bars_of_the_top_groups(shell, sb, kernel, shown):
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} --by path --top 5 -o top")
    (body,) = sent(sb)
    assert body["groupBy"] == [{"column": "urlPath"}] and body["limit"] == 5
    assert body["order"] == {"by": {"column": "eventsCount"}, "direction": "desc"}
    assert shell.user_ns["top"] is res
    counts = [r["events"] for r in res.rows]
    assert len(counts) == 5 and counts == sorted(counts, reverse=True)
    bundles = outputs(shell, shown, res)
    assert bundles[-1]["image/png"].startswith(PNG)
    assert "by path (top 5)" in bundles[-1]["text/plain"]


@pytest.mark.parametrize(
    ("options", "expect"),
    [
        ("--by week", {"groupBy": [{"column": "datetime", "interval": "week"}]}),
        ("--by country", {"groupBy": [{"column": "visitorGeoCountry"}]}),
        ("--by page --top 3", {"groupBy": [{"column": "page"}], "limit": 3}),
        ("--events search_type_query --by search",
         {"where": [{"column": "eventType", "operator": "in", "values": ["search_type_query"]}],
          "groupBy": [{"column": "eventSearchQuery"}]}),
        ("--events all --by event", {"groupBy": [{"column": "eventType"}]}),
        ("--since 7d", {"range": "last7Days"}),
        ("--since 14d", {}),
        ("--from 2026-01-01 --to 2026-01-31",
         {"range": {"from": "2026-01-01T00:00:00.000Z", "to": "2026-02-01T00:00:00.000Z"}}),
        ("--metric visitors", {"select": [{"column": "visitorsCount"}]}),
        ("--by referrerDomain", {"groupBy": [{"column": "referrerDomain"}]}),
    ],
)  # fmt: skip
def test_each_option_builds_its_part_of_the_query(shell, sb, kernel, options, expect):
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} {options}")
    (body,) = sent(sb)
    for key, value in expect.items():
        assert body[key] == value, key
    if "--events all" in options:
        assert "where" not in body
    if options == "--since 14d":
        assert set(body["range"]) == {"from", "to"} and body["range"]["to"].endswith("Z")
    df = res.to_dataframe()
    assert list(df.columns)[-1] in ("events", "visitors")
    assert df[list(df.columns)[-1]].dtype == "int64"


def test_json_shows_the_query_that_was_sent(shell, sb, kernel):
    view = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} --by device --json")
    assert json.loads(repr(view)) == sent(sb)[0]


def test_without_matplotlib_the_table_comes_with_one_line_saying_how(
    shell, sb, kernel, shown, monkeypatch
):
    def missing() -> Any:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(chart_mod, "LOADER", missing)  # the documented import seam
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']}")
    bundles = outputs(shell, shown, res)
    assert len(bundles) == 1 and "image/png" not in bundles[0]
    hint = 'pip install "gitbook_nb[plot]"'
    assert hint in bundles[0]["text/plain"]
    assert hint.replace('"', "&quot;") in bundles[0]["text/html"]
    assert sum(line.count("pip install") for line in bundles[0]["text/plain"].splitlines()) == 1


def test_an_empty_range_says_so_and_draws_nothing(shell, sb, kernel, shown):
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} --from 2001-01-01 --to 2001-01-31")
    assert len(res) == 0 and res.rows == []
    assert res.note.startswith("No page views per day")
    df = res.to_dataframe()
    assert list(df.columns) == ["day", "events"] and len(df) == 0
    bundles = outputs(shell, shown, res)
    assert len(bundles) == 1 and "image/png" not in bundles[0]


def test_a_90_day_range_gives_every_day_with_weekly_seasonality(shell, sb, kernel, shown):
    res = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} --since 90d")
    body = sent(sb)[0]
    assert set(body["range"]) == {"from", "to"}
    df = res.to_dataframe()
    assert 88 <= len(df) <= 91 and df["events"].dtype == "int64"
    weekday = df[df["day"].dt.dayofweek < 5]["events"].iloc[1:-1].mean()
    weekend = df[df["day"].dt.dayofweek >= 5]["events"].mean()
    assert weekday > 1.5 * weekend
    assert outputs(shell, shown, res)[-1]["image/png"].startswith(PNG)


def test_autopandas_binds_a_dataframe_but_still_shows_the_chart(shell, sb, kernel, shown):
    magics = shell.magics_manager.registry["GitBookMagics"]
    magics.autopandas = True
    shown_value = run(shell, f"insights {sb.ids['org']} {sb.ids['site']} --by os -o df")
    assert type(shell.user_ns["df"]).__name__ == "DataFrame"
    assert isinstance(shown_value, InsightsResult)


@pytest.mark.parametrize(
    "line",
    [
        "insights O S --since 30x",
        "insights O S --since 30d --from 2024-01-01 --to 2024-01-02",
        "insights O S --from 2024-01-01",
        "insights O S --by colour",
        "insights O S --events page_viewz",
        "insights O S --to 2024-01-01 --from 2024-02-01",
        "insights O S --top 5000",
        "insights O",
        "ask O",
    ],
)
def test_bad_options_are_refused_before_any_request(shell, sb, kernel, line):
    with pytest.raises(UsageError) as err:
        run(shell, line)
    assert "\n" not in str(err.value)
    assert sb.requests == []


# ------------------------------------------------------------------ scopes


@pytest.mark.parametrize(
    ("line", "scope"),
    [
        ("insights {org} {site}", "site:insights:read"),
        ('ask {org} "How do I install the engine?"', "organization:ask"),
        ('search --org {org} "engine"', "organization:search"),
        ("sites {org}", "site:read"),
        ("site {org} {site}", "site:read"),
    ],
)
def test_a_missing_scope_says_which_and_how_to_sign_in_with_it(shell, sb, kernel, line, scope):
    everything_else = [s for s in ("user:read", "organization:read", "space:read", "site:read",
                                   "site:insights:read", "organization:ask",
                                   "organization:search") if s != scope]  # fmt: skip
    kernel.login_with_token(sb.mint_token(scopes=everything_else))
    with pytest.raises(UsageError) as err:
        run(shell, line.format(org=sb.ids["org"], site=sb.ids["site"]))
    text = str(err.value)
    assert "\n" not in text
    assert f"missing scope {scope}, which {line.split()[0]} needs" in text
    assert f"%gitbook login --scopes {scope}" in text


def test_login_scopes_asks_for_more_scopes(shell, sb, kernel):
    magics = shell.magics_manager.registry["GitBookMagics"]
    magics.widget_factory = lambda: None
    try:
        run(shell, "login --scopes site:insights:read,organization:ask")
    finally:
        magics.widget_factory = None
    scopes = kernel.settings.scopes
    assert "site:insights:read" in scopes and "organization:ask" in scopes
    assert len(scopes) == len(set(scopes))


# ------------------------------------------------------------------ ask


def test_ask_streams_into_one_display_then_shows_the_answer_with_sources(shell, sb, kernel, shown):
    """The server waits, before each next chunk, until the client has shown the previous one:
    an answer read to the end before being shown would stop this test, not pass it."""
    cond = threading.Condition()
    seen: list[int] = []
    stalled: list[int] = []

    def pace(i: int) -> None:
        with cond:
            if not cond.wait_for(lambda: len(seen) >= i, timeout=10):
                stalled.append(i)

    old_publish = shown.publish

    def publish(data, metadata=None, source=None, *, transient=None, update=False, **kw):
        old_publish(data, metadata, source, transient=transient, update=update)
        if update and data.get("text/plain"):
            with cond:
                seen.append(1)
                cond.notify_all()

    shown.publish = publish  # type: ignore[method-assign]
    old_pace, sb.ask_pace = sb.ask_pace, pace
    try:
        res = run(shell, f'ask {sb.ids["org"]} "How do I install the engine?" -o answer')
    finally:
        sb.ask_pace = old_pace
    assert stalled == []
    ids = {display_id for _, display_id, _ in shown.out}
    assert len(ids) == 1 and None not in ids, "one display, updated in place"
    first, *updates = shown.out
    assert first[0] == {"text/plain": ""} and not first[2]
    assert all(update for _, _, update in updates) and len(updates) >= 4
    texts = [d["text/plain"] for d, _, _ in updates[:-1]]
    assert all(len(a) < len(b) for a, b in zip(texts, texts[1:], strict=False))
    assert "still answering" in updates[0][0]["text/html"]
    assert updates[-1][0] == {"text/plain": ""}, "the live display ends empty (see _cmd_insights)"
    assert isinstance(res, AskResult) and shell.user_ns["answer"] is res
    assert "Mount the mill" in res.answer and res.followups
    assert res.rows[0]["title"] == "Installation" and res.rows[0]["url"].startswith("http://")
    html_out = res._repr_html_()
    assert "<strong>Installation</strong>" in html_out  # Markdown rendered
    assert f'<a href="{res.rows[0]["url"]}" target="_blank" rel="noopener noreferrer">' in html_out
    df = res.to_dataframe()
    assert list(df.columns) == ["title", "url", "space", "page", "reason"]


def test_ask_shows_html_looking_text_as_text_E6(shell, sb, kernel):
    res = run(shell, f'ask {sb.ids["org"]} "img onerror"')
    assert "<img" in res.answer, "the sandbox quotes an HTML-looking page"
    html_out = res._repr_html_()
    assert "<img" not in html_out and "&lt;img" in html_out


def test_ask_without_an_answer_says_so(shell, sb, kernel):
    res = run(shell, f'ask {sb.ids["org"]} "zzqx wqzz"')
    assert res.answer == "" and res.rows == []
    assert "found no answer" in repr(res)


def test_ask_falls_back_to_the_plain_call_when_the_stream_is_refused(shell, sb, kernel):
    path = f"/v1/orgs/{sb.ids['org']}/ask/stream"
    sb.add_fault("status", path=path, code=404)
    res = run(shell, f'ask {sb.ids["org"]} "How do I install the engine?"')
    assert [(r.method, r.path) for r in sb.requests][:2] == [
        ("GET", path),
        ("POST", f"/v1/orgs/{sb.ids['org']}/ask"),
    ]
    assert json.loads(sb.requests[1].body) == {"query": "How do I install the engine?"}
    assert "Mount the mill" in res.answer and res.rows[0]["title"] == "Installation"


def test_a_refused_token_on_the_stream_is_not_retried_as_a_post_D5(shell, sb, kernel):
    """The auth flow owns the 401: the stream is not sent again with a token the kernel has
    forgotten, and no POST tries the same token a second time."""
    doomed = sb.mint_token()  # not the module's token: later tests still use that one
    kernel.login_with_token(doomed)
    sb.revoke_token(doomed)
    sb.clear_log()
    with pytest.raises(UsageError) as err:
        run(shell, f'ask {sb.ids["org"]} "How do I install the engine?"')
    assert "\n" not in str(err.value) and "log in" in str(err.value)
    assert [(r.method, r.path) for r in sb.requests] == [
        ("GET", f"/v1/orgs/{sb.ids['org']}/ask/stream")
    ]
    assert kernel.token is None and kernel.history()[-1]["status"] == 401


def test_ask_renews_a_due_token_before_it_streams(sb):
    """A signed-in (OAuth) kernel whose token is due: one refresh at the token endpoint, then
    the stream with the new token; nothing falls back to the plain call."""
    clock = FakeClock(time.time())
    k = reset_session(KernelSession(environ={}, clock=clock))
    try:
        k.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url,
                    scopes=("user:read", "organization:ask"))  # fmt: skip
        first = k.finish_login(sb.approve(k.begin_login().authorize_url))
        clock.now = first.refresh_at + 1
        sb.clear_log()
        res = gitbook_nb.ask(sb.ids["org"], "How do I install the engine?", sources=False)
        renewed = k.token
    finally:
        reset_session(KernelSession(environ={}))
    assert "Mount the mill" in res.answer
    assert [(r.method, r.path) for r in sb.requests] == [
        ("POST", "/token"),
        ("GET", f"/v1/orgs/{sb.ids['org']}/ask/stream"),
    ]
    assert not renewed.same_as(first)
    bearer = sb.requests[1].headers["Authorization"]
    assert bearer == "Bearer " + renewed.access_token.reveal()


# ------------------------------------------------------------------ the Python API


def test_python_api_insights_and_ask_are_exported(sb, kernel):
    assert "insights" in gitbook_nb.__all__ and "ask" in gitbook_nb.__all__
    res = gitbook_nb.insights(sb.ids["org"], sb.ids["site"], by="device", plot=False)
    assert isinstance(res, InsightsResult) and res.chart() is None
    assert gitbook_nb.insights.sites(sb.ids["org"]).rows  # the package's other functions
    answer = gitbook_nb.ask(sb.ids["org"], "How do I install the engine?", stream=False)
    assert "Mount the mill" in answer.answer
    assert [r.method for r in sb.requests].count("POST") == 2
