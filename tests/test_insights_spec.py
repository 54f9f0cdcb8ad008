"""The requests the insights client builds hold to GitBook's OpenAPI spec (fetched at run time
with npm, never committed; skipped with the reason when npm or its registry is unreachable).

Every ``%gitbook insights`` option is sent to the sandbox and the body it really received is
validated against ``SiteInsightsQueryEventsAggregation`` (strictly: no field the spec does not
define); the Python builder is checked over every ``--by`` name and range form too.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import pytest

pytestmark = pytest.mark.network
pytest.importorskip("openapi_schema_validator")
from spec_support import SpecUnavailable, fetch_spec, validate_request_body  # noqa: E402

from gitbook_nb.insights.query import BY, EVENTS, build_query  # noqa: E402
from gitbook_nb.kernel.session import KernelSession, reset_session  # noqa: E402

AGGREGATE = "/orgs/{organizationId}/sites/{siteId}/insights/events/aggregate"
NOW = datetime(2026, 6, 15, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        return fetch_spec(tmp_path_factory.mktemp("gitbook-api"))
    except SpecUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("by", [*BY, "utmSource", "displayContext", "day,country", None])
@pytest.mark.parametrize(
    "when",
    [{}, {"since": "7d"}, {"since": "90d"}, {"since": "1y"}, {"since": "36h"},
     {"start": "2026-01-01", "end": "2026-03-31"},
     {"start": "2026-01-01T08:00:00+02:00", "end": "2026-01-02T08:00:00Z"}],
)  # fmt: skip
def test_every_by_and_range_builds_a_body_the_spec_accepts(spec, by, when):
    q = build_query(by=by, now=NOW, **when)
    validate_request_body(spec, "post", AGGREGATE, q.body)


@pytest.mark.parametrize(
    "kw",
    [{"events": "all"}, {"events": ",".join(EVENTS)}, {"metric": "visitors"},
     {"metric": "sessions", "top": 1}, {"top": 1000, "by": "search"}],
)  # fmt: skip
def test_events_metrics_and_top_build_bodies_the_spec_accepts(spec, kw):
    validate_request_body(spec, "post", AGGREGATE, build_query(now=NOW, **kw).body)


@pytest.fixture
def shell(sb):
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "gitbook_nb")
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    k.login_with_token(sb.mint_token())
    sb.clear_log()
    yield sh
    reset_session(KernelSession(environ={}))


LINES = [
    "",
    "--by week --since 90d",
    "--by path --top 10",
    "--by page --top 5 --metric visitors",
    "--events search_type_query,search_open_result --by search --top 20",
    "--events all --by event --since 7d",
    "--from 2026-01-01 --to 2026-01-31 --by country",
    "--by device --metric sessions",
]


def test_every_magic_option_sends_what_the_spec_defines(spec, sb, shell):
    for options in LINES:
        shell.run_line_magic("gitbook", f"insights {sb.ids['org']} {sb.ids['site']} {options}")
    bodies = [json.loads(r.body) for r in sb.requests if r.method == "POST"]
    assert len(bodies) == len(LINES)
    for body in bodies:
        validate_request_body(spec, "post", AGGREGATE, body)


def test_ask_sends_what_the_spec_defines(spec, sb, shell):
    path = f"/v1/orgs/{sb.ids['org']}/ask/stream"
    shell.run_line_magic("gitbook", f'ask {sb.ids["org"]} "How do I install the engine?"')
    stream = next(r for r in sb.requests if r.path == path)
    query = parse_qs(stream.query)
    assert query == {"query": ["How do I install the engine?"], "format": ["markdown"]}
    params = {p["name"] for p in spec["paths"]["/orgs/{organizationId}/ask/stream"]["get"]
              ["parameters"] if "name" in p}  # fmt: skip
    assert set(query) - {"format"} <= params  # format: the shared documentFormat
    sb.add_fault("status", path=path, code=404)  # the plain POST, as the fallback sends it
    sb.clear_log()
    shell.run_line_magic("gitbook", f'ask {sb.ids["org"]} "How do I install the engine?"')
    post = next(r for r in sb.requests if r.method == "POST")
    validate_request_body(spec, "post", "/orgs/{organizationId}/ask", json.loads(post.body))
