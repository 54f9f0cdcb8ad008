"""The HTTP client: pure pieces first (path joining, error mapping, pagination steps), then the
real thing over loopback HTTP: against the sandbox, and against tiny purpose-built servers for
what no well-behaved server does (truncated bodies, an untrusted TLS certificate)."""

from __future__ import annotations

import gzip
import json
import logging
import secrets
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitbook_nb.api import answers
from gitbook_nb.api._paths import escape_snippet, join_path, token_host_matches
from gitbook_nb.api.answers import error_for, missing_scope, parse_json, retry_after_seconds
from gitbook_nb.api.auth import BearerAuth, GrantAuth
from gitbook_nb.api.client import Client
from gitbook_nb.api.pagination import next_page
from gitbook_nb.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    GitBookError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.protocol._types import HTTPRequestSpec
from gitbook_nb.protocol.config import resolve
from gitbook_nb.protocol.tokens import Secret, Token

API = "https://api.gitbook.com/v1"


# ------------------------------------------------------------------ D4: path joining (pure)


@pytest.mark.parametrize(
    "path,url",
    [
        ("/user", API + "/user"),
        ("/spaces/abc/content?format=markdown", API + "/spaces/abc/content?format=markdown"),
        ("/spaces/x/../user", API + "/spaces/user"),
        ("/spaces/x/../../user", API + "/user"),
        ("/./orgs", API + "/orgs"),
        ("/search?q=%C3%A9t%C3%A9", API + "/search?q=%C3%A9t%C3%A9"),
    ],
)
def test_D4_good_paths_join_onto_the_base(path, url):
    assert join_path(API, path)[0] == url


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example/x",
        "http://evil.example/x",
        "https:evil.example",
        "user",
        "/a\\b",
        "/a\r\nHost: evil",
        "/a\nb",
        "/a\x00b",
        "/a b",
        "/a\tb",
        "/a\u200bb",
        "/a\u00a0b",
        "/../x",
        "/a/../../x",
        "/%2e%2e/x",
        "/a/%2E%2E/%2e%2e/x",
        "/a%2f..%2f..",
        "/a%5cb",
        "/a%0d%0ab",
        "/x#frag",
        "",
        "\\\\evil.example\\x",
        " /user",
    ],
)
def test_D4_unsafe_paths_refused(path):
    with pytest.raises(UnsafeRequestError):
        join_path(API, path)


def test_D4_path_not_a_string_refused():
    with pytest.raises(UnsafeRequestError):
        join_path(API, None)  # type: ignore[arg-type]


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40))
def test_D4_fuzz_any_accepted_path_stays_under_the_base(text):
    try:
        url, rel = join_path(API, text)
    except UnsafeRequestError:
        return
    assert url.startswith(API + "/")
    assert rel.startswith("/") and not rel.startswith("//")
    assert "/../" not in url.split("?")[0] + "/"


def test_D3_token_host_matching():
    assert token_host_matches("api.gitbook.com", "https://api.gitbook.com/v1/user")
    assert token_host_matches("api.gitbook.com:443", "https://api.gitbook.com/v1/user")
    assert token_host_matches("127.0.0.1:8080", "http://127.0.0.1:8080/v1")
    assert not token_host_matches("127.0.0.1:8080", "http://127.0.0.1:8081/v1")
    assert not token_host_matches("api.gitbook.com", "https://evil.example/v1")
    assert not token_host_matches("", "https://api.gitbook.com/v1")  # fail closed


def test_escape_snippet_caps_and_escapes():
    text = "<b>\x1b[31mred\u202e" + "x" * 500
    out = escape_snippet(text)
    assert len(out) <= 201 and "\x1b" not in out and "\u202e" not in out
    assert "\\x1b" in out and "\\u202e" in out


# ------------------------------------------------------------------ E2/D8: answers (pure)


def test_error_shapes_legacy_and_current_map_to_the_tree():
    legacy = json.dumps({"error": "Not found", "code": 404}).encode()
    current = json.dumps({"error": {"code": 404, "message": "Space not found"}}).encode()
    e1 = error_for(404, "Not Found", {}, legacy, method="GET", path="/book/a/b")
    e2 = error_for(404, "Not Found", {}, current, method="GET", path="/spaces/x")
    assert isinstance(e1, NotFoundError) and isinstance(e2, NotFoundError)
    assert str(e1).startswith("GET /book/a/b: 404 Not Found: Not found")
    assert "Space not found" in str(e2) and e2.code == 404 and e2.status == 404
    assert "\n" not in str(e1)


@pytest.mark.parametrize(
    "status,cls",
    [
        (400, APIError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIError),
        (412, APIError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_maps_to_its_class(status, cls):
    body = json.dumps({"error": {"code": status, "message": "m"}}).encode()
    err = error_for(status, "", {}, body, method="POST", path="/x")
    assert type(err) is cls and err.status == status and err.method == "POST"
    assert err.hint


def test_scope_parsed_from_message_and_www_authenticate():
    assert missing_scope("Missing scope: space:read", "") == "space:read"
    assert missing_scope("The token requires scope 'organization:read'", "") == "organization:read"
    hdr = 'Bearer error="insufficient_scope", scope="space:write"'
    assert missing_scope("", hdr) == "space:write"
    err = error_for(403, "", {"WWW-Authenticate": hdr}, b"", method="GET", path="/x")
    assert isinstance(err, PermissionDeniedError) and err.scope == "space:write"
    assert "space:write" in str(err)


def test_E2_api_message_is_escaped_truncated_and_token_masked():
    tok = secrets.token_urlsafe(24)
    body = json.dumps(
        {"error": {"code": 400, "message": f"bad token {tok} <script>\n" + "y" * 1000}}
    ).encode()
    err = error_for(400, "", {}, body, method="GET", path="/x", live=[Secret(tok)])
    assert tok not in str(err) and "\n" not in str(err)
    assert len(err.message) < 300


def test_D8_non_json_gives_snippet_not_jsondecodeerror():
    data, err = parse_json(200, b"<html>\x00" + b"z" * 500, label="GET /x")
    assert data is None and isinstance(err, InvalidResponseError)
    assert err.status == 200 and "\\x00" in str(err) and len(str(err)) < 400
    assert parse_json(200, b'{"a": 1}', label="GET /x") == ({"a": 1}, None)
    assert parse_json(204, b"", label="GET /x") == (None, None)
    deep = b"[" * 100000 + b"]" * 100000
    assert isinstance(parse_json(200, deep, label="GET /x")[1], InvalidResponseError)


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds({"Retry-After": "3"}, wall=0) == 3.0
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    epoch = 1445412480.0
    assert retry_after_seconds({"Retry-After": date}, wall=epoch - 10) == pytest.approx(10)
    assert retry_after_seconds({"Retry-After": "soon"}, wall=0) is None
    hdrs = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000", "X-RateLimit-Limit": "5"}
    assert retry_after_seconds(hdrs, wall=990) == 10.0
    rl = answers.parse_rate_limit(hdrs)
    assert (rl.limit, rl.remaining, rl.reset) == (5, 0, 1000.0)


# ------------------------------------------------------------------ pagination steps (pure)


def test_next_page_legacy_envelope():
    data = {"list": [1] * 10, "page": 0, "limit": 10, "total": 25}
    assert next_page(data, {}, API) == ("params", {"page": 1})
    data = {"list": [1] * 5, "page": 2, "limit": 10, "total": 25}
    assert next_page(data, {"page": 2}, API) is None
    # our own page counter wins over a server stuck at page 0
    assert next_page({"list": [1], "page": 0, "limit": 1, "total": 5}, {"page": 3}, API) == (
        "params",
        {"page": 4},
    )


def test_next_page_current_envelope():
    assert next_page({"items": [1], "next": {"page": "abc"}}, {"limit": 2}, API) == (
        "params",
        {"limit": 2, "page": "abc"},
    )
    assert next_page({"items": [1]}, {}, API) is None
    assert next_page({"items": [1], "next": None}, {}, API) is None
    assert next_page({"items": [1], "next": {"url": API + "/orgs?page=2"}}, {}, API) == (
        "url",
        API + "/orgs?page=2",
    )


def test_D3_next_page_link_to_another_host_refused():
    with pytest.raises(UnsafeRequestError, match="pagination link points elsewhere"):
        next_page({"items": [], "next": {"url": "https://evil.example/v1/x"}}, {}, API)
    with pytest.raises(UnsafeRequestError):
        next_page({"items": [], "next": "//evil.example/x"}, {}, API)


# ------------------------------------------------------------------ client construction


def _settings(url: str, **kw):
    return resolve(overrides={"api_url": url, **kw}, environ={})


def test_client_refuses_unfilled_sandbox_marker():
    with pytest.raises(ConfigError):
        Client(resolve(overrides={"profile": "sandbox"}, environ={}))


def test_D4_refused_before_any_request():
    sent = []

    class Recorder:  # a stand-in session: anything reaching it would be a request
        def request(self, *a, **k):
            sent.append(a)
            raise AssertionError("must not send")

    c = Client(_settings(API), session=Recorder())  # type: ignore[arg-type]
    for bad in ("//evil.example/x", "http://evil.example/x", "/a\r\nb", "/a\\b"):
        with pytest.raises(UnsafeRequestError):
            c.request("GET", bad)
    with pytest.raises(UnsafeRequestError):
        c.request("GET", API + "/user")  # a full URL needs allow_url (pagination only)
    with pytest.raises(UnsafeRequestError):
        c.request("GET", "https://evil.example/v1/user", allow_url=True)
    with pytest.raises(UnsafeRequestError):
        c.request("GET", "/user", headers={"Authorization": "Bearer x"})
    with pytest.raises(UnsafeRequestError):
        c.pages("//evil.example/x")
    assert sent == []
    assert c.build_url("/orgs", {"q": "a b"}) == API + "/orgs?q=a+b"


# ================================================================== over real HTTP


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def _token(sb, value: str | None = None) -> Token:
    return Token(
        access_token=Secret(value or sb.personal_token),
        issuer=_host(sb.url),
        client_id="pat",
        source="pat",
    )


def _client(
    sb,
    *,
    legacy: bool = False,
    token: Token | None = None,
    sleeps=None,
    source=None,
    **settings,
) -> Client:
    tok = token if token is not None else _token(sb)
    overrides = {
        "api_url": sb.url if legacy else sb.url + "/v1",
        "profile": "legacy" if legacy else "current",
        **settings,
    }
    return Client(
        resolve(overrides=overrides, environ={}),
        auth=BearerAuth(tok) if source is None else GrantAuth(source),
        sleep=(sleeps.append if sleeps is not None else time.sleep),
    )


def _v1(sb) -> list:
    return [r for r in sb.requests if r.path.startswith("/v1")]


def _wait_for(condition, timeout: float = 5.0) -> None:
    """Wait on an explicit condition (the sandbox logs a request once it has answered)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_current_envelope_walked_fully(sb):
    c = _client(sb)
    org = sb.ids["org"]
    everything = c.request("GET", f"/orgs/{org}/spaces", params={"limit": 1000}).data["items"]
    pages = c.pages(f"/orgs/{org}/spaces", params={"limit": 2})
    walked = [item["id"] for page in pages for item in page.data["items"]]
    assert walked == [item["id"] for item in everything] and len(walked) > 4
    assert pages.count == -(-len(everything) // 2) and not pages.truncated
    cursors = [r.params.get("page") for r in _v1(sb)[1:]]
    assert cursors[0] is None and all(cursors[1:])  # opaque cursors passed back as ?page=


def test_legacy_envelope_walked_fully(sb):
    c = _client(sb, legacy=True)
    total = c.request("GET", "/books").data["total"]
    pages = c.pages("/books", params={"limit": 3})
    walked = [book["id"] for page in pages for book in page.data["list"]]
    assert len(walked) == len(set(walked)) == total == pages.total
    pages_sent = [r.params.get("page", ["0"])[0] for r in sb.requests if r.path == "/books"][1:]
    assert pages_sent == [str(i) for i in range(len(pages_sent))]


def test_pages_stop_at_max_pages_lazily(sb):
    c = _client(sb)
    pages = c.pages(f"/orgs/{sb.ids['org']}/spaces", params={"limit": 1}, max_pages=3)
    assert _v1(sb) == []  # lazy: nothing fetched before iteration
    assert len(list(pages)) == 3 and pages.truncated
    assert len(_v1(sb)) == 3


def test_user_agent_and_bearer_only_in_authorization_header_D3(sb):
    c = _client(sb)
    c.request("GET", "/user")
    c.request("GET", "/orgs", params={"limit": 5})
    for r in _v1(sb):
        assert r.headers.get("User-Agent", "").startswith("gitbook_nb/")
        assert r.headers.get("Authorization") == f"Bearer {sb.personal_token}"
        assert sb.personal_token not in r.query and sb.personal_token.encode() not in r.body
    assert c.rate_limit is not None and c.rate_limit.limit == sb.rate_limit


def test_D3_token_pinned_to_its_issuer_host(sb):
    other = Token(access_token=Secret(sb.personal_token), issuer="api.gitbook.com")
    c = _client(sb, token=other)
    with pytest.raises(UnsafeRequestError, match="issued for api.gitbook.com"):
        c.request("GET", "/user")
    assert _v1(sb) == []


def test_D3_cross_host_redirect_not_followed(sb):
    from gitbook_nb.sandbox import Sandbox

    with Sandbox() as elsewhere:
        sb.add_fault("redirect", path="/v1/user", location=elsewhere.url + "/v1/user", code=307)
        with pytest.raises(UnsafeRequestError) as info:
            _client(sb).request("GET", "/user")
        assert _host(elsewhere.url) in str(info.value)
        assert sb.personal_token not in str(info.value)
        assert elsewhere.requests == []  # nothing at all, so certainly no Authorization
    assert len(_v1(sb)) == 1


def test_D3_same_origin_redirect_followed_with_auth_and_bounded(sb):
    sb.add_fault("redirect", path="/v1/me", location="/v1/user", code=302)
    resp = _client(sb).request("GET", "/me")
    assert resp.status == 200 and resp.data["object"] == "user"
    assert [r.path for r in _v1(sb)] == ["/v1/me", "/v1/user"]
    assert all(r.headers.get("Authorization") for r in _v1(sb))
    sb.clear_log()
    sb.add_fault("redirect", path="/v1/loop", location="/v1/loop")
    with pytest.raises(UnsafeRequestError, match="more than 5 redirects"):
        _client(sb).request("GET", "/loop")
    assert len(_v1(sb)) == 6


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_D3_redirect_of_a_write_is_not_resent(sb, method):
    sb.add_fault("redirect", path="/v1/user", location="/v1/user", code=307)
    with pytest.raises(UnsafeRequestError, match="never resent"):
        _client(sb).request(method, "/user", json={"a": 1})
    assert len(_v1(sb)) == 1


@pytest.mark.parametrize("code", [502, 503, 504])
def test_D7_gateway_errors_retried_for_GET_with_backoff(sb, code):
    sleeps: list[float] = []
    sb.add_fault("status", path="/v1/user", times=2, code=code)
    resp = _client(sb, sleeps=sleeps).request("GET", "/user")
    assert resp.status == 200 and len(_v1(sb)) == 3
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_D7_retries_are_bounded(sb):
    sleeps: list[float] = []
    sb.add_fault("status", path="/v1/user", code=503)
    with pytest.raises(ServerError) as info:
        _client(sb, sleeps=sleeps, max_retries=2).request("GET", "/user")
    assert info.value.status == 503 and len(_v1(sb)) == 3 and len(sleeps) == 2


def test_D7_500_is_not_retried(sb):
    sleeps: list[float] = []
    sb.add_fault("status", path="/v1/user", code=500, message="boom")
    with pytest.raises(ServerError, match="GET /user: 500 Internal Server Error: boom"):
        _client(sb, sleeps=sleeps).request("GET", "/user")
    assert len(_v1(sb)) == 1 and sleeps == []


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "fault", [{"kind": "status", "code": 503}, {"kind": "rate_limit", "retry_after": 1}]
)
def test_D7_writes_are_never_retried(sb, method, fault):
    sleeps: list[float] = []
    params = dict(fault)
    sb.add_fault(params.pop("kind"), path="/v1/user", **params)
    with pytest.raises(APIError) as info:
        _client(sb, sleeps=sleeps).request(method, "/user", json={"x": 1})
    assert len(_v1(sb)) == 1 and sleeps == []
    if isinstance(info.value, RateLimitedError):  # not retried, but the wait is still told
        assert info.value.retry_after == 1.0


def test_D7_429_small_retry_after_is_honoured(sb):
    sleeps: list[float] = []
    sb.add_fault("rate_limit", path="/v1/user", times=1, retry_after=2)
    resp = _client(sb, sleeps=sleeps).request("GET", "/user")
    assert resp.status == 200 and sleeps == [2.0] and len(_v1(sb)) == 2


def test_D7_429_long_retry_after_fails_fast_with_the_wait(sb):
    sleeps: list[float] = []
    sb.add_fault("rate_limit", path="/v1/user", retry_after=3600)
    with pytest.raises(RateLimitedError) as info:
        _client(sb, sleeps=sleeps).request("GET", "/user")
    assert info.value.retry_after == 3600.0 and info.value.status == 429
    assert "3600" in str(info.value)
    assert sleeps == [] and len(_v1(sb)) == 1


def test_D7_connection_refused_retried_then_transport_error(sb):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    c = Client(
        resolve(overrides={"api_url": f"http://127.0.0.1:{port}/v1", "max_retries": 2}, environ={}),
        auth=BearerAuth(Token(Secret("t0k3n"), issuer=f"127.0.0.1:{port}")),
        sleep=sleeps.append,
    )
    with pytest.raises(TransportError, match="connection failed") as info:
        c.request("GET", "/user")
    assert len(sleeps) == 2
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_D6_latency_below_timeout_is_fine_above_it_times_out(sb):
    sb.add_fault("latency", path="/v1/user", seconds=0.3)
    started = time.monotonic()
    assert _client(sb, read_timeout=3).request("GET", "/user").status == 200
    assert time.monotonic() - started >= 0.3
    sb.clear_faults()
    sb.clear_log()
    sb.add_fault("latency", path="/v1/user", seconds=1.0)
    sleeps: list[float] = []
    with pytest.raises(RequestTimeoutError, match="read timeout"):
        _client(sb, sleeps=sleeps, read_timeout=0.2).request("GET", "/user")
    assert len(sleeps) == 1  # a GET read timeout is retried once, not max_retries times
    _wait_for(lambda: len(_v1(sb)) == 2)


def test_D6_dripping_body_stopped_by_the_overall_deadline(sb):
    sb.add_fault("drip", path="/v1/user", seconds=4.0, chunks=40)  # 0.1 s per piece
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="deadline"):
        _client(sb, deadline=1.0, read_timeout=0.8, connect_timeout=0.5).request("GET", "/user")
    assert time.monotonic() - started < 1.6


def test_D6_huge_body_capped(sb):
    sb.add_fault("huge", path="/v1/user", size=3 * 1024 * 1024)
    with pytest.raises(InvalidResponseError, match="cap") as info:
        _client(sb, max_body=1024 * 1024).request("GET", "/user")
    assert info.value.status == 200


def test_D8_non_json_body_gives_escaped_snippet(sb):
    sb.add_fault("non_json", path="/v1/user")
    with pytest.raises(InvalidResponseError) as info:
        _client(sb).request("GET", "/user")
    err = info.value
    assert err.status == 200 and "not JSON" in str(err) and "<html>" in str(err)
    snippet = str(err).split("not JSON: ", 1)[1]
    assert len(snippet.split(" (the server sent")[0]) <= 201
    assert "\n" not in str(err)
    assert not isinstance(err.__context__, ValueError) and err.__context__ is None


@pytest.mark.parametrize("status", [400, 403, 404, 409, 412, 500])
@pytest.mark.parametrize("legacy", [False, True])
def test_error_statuses_both_shapes_over_http(sb, status, legacy):
    path = "/account" if legacy else "/user"
    sb.add_fault(
        "status",
        path=("" if legacy else "/v1") + path,
        code=status,
        message=f"sandbox says {status}",
    )
    with pytest.raises(APIError) as info:
        _client(sb, legacy=legacy, sleeps=[]).request("GET", path)
    err = info.value
    assert err.status == status and err.method == "GET" and err.path == path
    assert f"sandbox says {status}" in str(err)
    expected = {403: PermissionDeniedError, 404: NotFoundError, 500: ServerError}
    assert type(err) is expected.get(status, APIError)


def test_403_names_the_missing_scope(sb):
    tok = _token(sb, sb.mint_token(scopes=["user:read"]))
    with pytest.raises(PermissionDeniedError) as info:
        _client(sb, token=tok).request("GET", "/orgs")
    assert info.value.scope == "organization:read"
    assert "organization:read" in info.value.hint


def test_query_string_values_stay_out_of_messages_E2(sb):
    sb.add_fault("status", path="/v1/user", code=404)
    marker = secrets.token_urlsafe(12)
    with pytest.raises(NotFoundError) as info:
        _client(sb).request("GET", f"/user?x={marker}", params={"y": marker})
    assert marker not in str(info.value) and info.value.path == "/user"


# ------------------------------------------------------------------ D5: 401


class FakeSource:
    """A TokenSource for the client's own tests: ``newer`` offers ``then`` (if any)."""

    def __init__(self, token: Token, then: Token | None = None) -> None:
        self.token, self.then = token, then
        self.asked: list[Token] = []
        self.forgotten: list[Token] = []

    def current(self) -> Token:
        return self.token

    def newer(self, stale: Token) -> Token | None:
        self.asked.append(stale)
        return self.then if self.then is not None and not self.then.same_as(stale) else None

    def renew(self, stale: Token) -> Token:
        raise AssertionError("these tokens have no refresh token")

    def forget(self, dead: Token) -> bool:
        self.forgotten.append(dead)
        return True


def test_D5_401_asks_the_flow_once_then_log_in_again(sb):
    sb.add_fault("revoked", path="/v1/user")
    source = FakeSource(_token(sb))
    c = _client(sb, source=source)
    with pytest.raises(AuthenticationError, match="log in again") as info:
        c.request("GET", "/user")
    assert "forgotten" in info.value.hint
    assert [t.access_token.reveal() for t in source.asked] == [sb.personal_token]
    assert [t.access_token.reveal() for t in source.forgotten] == [sb.personal_token]
    assert len(_v1(sb)) == 1


def test_D5_fresh_token_retried_once_never_loops(sb):
    fresh = sb.mint_token()
    source = FakeSource(_token(sb), then=_token(sb, fresh))
    sb.add_fault("revoked", path="/v1/user", times=1)
    resp = _client(sb, source=source).request("GET", "/user")
    assert resp.status == 200 and len(source.asked) == 1 and source.forgotten == []
    assert [r.headers["Authorization"] for r in _v1(sb)] == [
        f"Bearer {sb.personal_token}",
        f"Bearer {fresh}",
    ]
    sb.clear_log()
    source = FakeSource(_token(sb), then=_token(sb, fresh))
    sb.add_fault("revoked", path="/v1/user")  # the fresh token is refused too
    with pytest.raises(AuthenticationError) as info:
        _client(sb, source=source).request("GET", "/user")
    assert len(source.asked) == 1 and len(_v1(sb)) == 2
    assert [t.access_token.reveal() for t in source.forgotten] == [fresh]  # the one that died
    assert "renewed one" in info.value.hint


def test_D5_really_revoked_token(sb):
    tok = sb.mint_token()
    sb.revoke_token(tok)
    with pytest.raises(AuthenticationError) as info:
        _client(sb, token=_token(sb, tok)).request("GET", "/user")
    assert info.value.status == 401 and tok not in str(info.value)


def test_no_token_401_says_log_in_first(sb):
    c = Client(resolve(overrides={"api_url": sb.url + "/v1"}, environ={}))
    with pytest.raises(AuthenticationError, match="log in first"):
        c.request("GET", "/user")
    assert "Authorization" not in _v1(sb)[0].headers


# ------------------------------------------------------------------ E2: clean tracebacks


def _leaks(err: BaseException, *secret_values: str) -> list[str]:
    """Where a secret shows up: the formatted traceback, the repr of every local of every
    library frame (what ``%xmode Verbose`` prints), and IPython's own verbose rendering."""
    from IPython.core.ultratb import VerboseTB

    texts = {
        "format_exception": "".join(traceback.format_exception(type(err), err, err.__traceback__))
    }
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename != __file__:  # the test's own frame holds the fixtures
            for name, value in frame.f_locals.items():
                texts[f"{frame.f_code.co_name}.{name}"] = repr(value)
        tb = tb.tb_next
    texts["VerboseTB"] = "\n".join(
        VerboseTB(include_vars=True).structured_traceback(type(err), err, err.__traceback__)
    )
    return [where for where, text in texts.items() for s in secret_values if s in text]


def _raised(fn) -> Exception:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the caller checks the type
        return err
    raise AssertionError("no error raised")


@pytest.mark.parametrize(
    "case", ["500", "refused", "timeout", "401", "redirect", "non_json", "deadline"]
)
def test_E2_tracebacks_hold_no_token(sb, case):
    tok = sb.mint_token()
    client = _client(
        sb, token=_token(sb, tok), sleeps=[], read_timeout=0.3, deadline=2.0, connect_timeout=0.5
    )
    if case == "500":
        sb.add_fault("status", path="/v1/user", code=500)
    elif case == "timeout":
        sb.add_fault("latency", path="/v1/user", seconds=1.0)
    elif case == "401":
        sb.revoke_token(tok)
    elif case == "redirect":
        sb.add_fault("redirect", path="/v1/user", location="http://127.0.0.2:9/x")
    elif case == "non_json":
        sb.add_fault("non_json", path="/v1/user")
    elif case == "deadline":
        sb.add_fault("drip", path="/v1/user", seconds=3.0, chunks=30)
    elif case == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = Client(
            resolve(overrides={"api_url": f"http://127.0.0.1:{port}/v1"}, environ={}),
            auth=BearerAuth(Token(Secret(tok), issuer=f"127.0.0.1:{port}")),
            sleep=lambda s: None,
        )
    err = _raised(lambda: client.request("GET", "/user"))
    assert isinstance(err, GitBookError)
    assert err.__cause__ is None and err.__context__ is None
    assert _leaks(err, tok) == []
    assert tok not in str(err) and tok not in repr(err)


def test_E2_token_exchange_failure_holds_no_secret(sb):
    secret = sb.client_secret
    code = secrets.token_urlsafe(16)
    spec = HTTPRequestSpec(
        "POST",
        sb.url + "/oauth/access_token",
        {"Accept": "application/json"},
        form={
            "client_id": sb.client_id,
            "client_secret": secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    sb.add_fault("latency", path="/oauth/access_token", seconds=1.0)
    client = _client(sb, read_timeout=0.2)
    err = _raised(lambda: client.send_spec(spec))
    assert isinstance(err, RequestTimeoutError)
    assert _leaks(err, secret, code) == []


def test_E2_control_test_the_leak_detector_finds_a_leak():
    """The detector above must be able to fail: json's frames keep the text they parsed."""
    value = secrets.token_urlsafe(16)
    err = _raised(lambda: json.loads("{" + value))
    assert not isinstance(err, GitBookError)
    assert any(
        where.startswith("decode.") or where.startswith("raw_decode.")
        for where in _leaks(err, value)
    )


# ------------------------------------------------------------------ E3: logging


def test_E3_nothing_logged_contains_a_secret(sb, caplog):
    caplog.set_level(logging.DEBUG)  # root logger, urllib3 included
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    tok = sb.mint_token()
    fresh = sb.mint_token()
    source = FakeSource(_token(sb, tok), then=_token(sb, fresh))
    c = _client(sb, token=_token(sb, tok), sleeps=[], source=source)
    c.request("GET", "/user")
    sb.add_fault("status", path="/v1/orgs", times=1, code=503)
    c.request("GET", "/orgs")
    sb.add_fault("revoked", path="/v1/user", times=1)
    c.request("GET", "/user")
    sb.add_fault("status", path="/v1/spaces/x", code=500)
    with pytest.raises(ServerError):
        c.request("GET", "/spaces/x")
    code = secrets.token_urlsafe(16)
    status, _, body = c.send_spec(
        HTTPRequestSpec(
            "POST",
            sb.url + "/oauth/access_token",
            {"Accept": "application/json"},
            form={
                "client_id": sb.client_id,
                "client_secret": sb.client_secret,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
    )
    assert status in (200, 400, 401) and body
    messages = [logging.Formatter("%(name)s %(message)s").format(r) for r in caplog.records]
    assert any("GET /user -> 200" in m for m in messages)  # our own debug line
    assert any(m.startswith("urllib3") for m in messages)  # urllib3 really logged
    for value in (tok, fresh, sb.client_secret, code):
        assert not [m for m in messages if value in m]


# ------------------------------------------------------------------ C3: send_spec


def _token_spec(sb, code: str | None = None) -> HTTPRequestSpec:
    return HTTPRequestSpec(
        "POST",
        sb.url + "/oauth/access_token",
        {"Accept": "application/json"},
        form={
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
            "code": code or secrets.token_urlsafe(8),
            "grant_type": "authorization_code",
        },
    )


def test_C3_token_post_does_not_follow_redirects(sb):
    from gitbook_nb.sandbox import Sandbox

    with Sandbox() as elsewhere:
        sb.add_fault(
            "redirect",
            path="/oauth/access_token",
            location=elsewhere.url + "/oauth/access_token",
            code=307,
        )
        with pytest.raises(UnsafeRequestError, match="refusing to resend credentials"):
            _client(sb).send_spec(_token_spec(sb))
        assert elsewhere.requests == []
    assert len([r for r in sb.requests if r.path == "/oauth/access_token"]) == 1


def test_C3_token_post_never_retried_and_returns_the_status(sb):
    sleeps: list[float] = []
    sb.add_fault("status", path="/oauth/access_token", code=503)
    status, headers, body = _client(sb, sleeps=sleeps).send_spec(_token_spec(sb))
    assert status == 503 and json.loads(body)["error"] == "server_error"
    assert sleeps == [] and len([r for r in sb.requests if r.path == "/oauth/access_token"]) == 1
    sb.clear_faults()
    sb.add_fault("latency", path="/oauth/access_token", seconds=1.0)
    with pytest.raises(RequestTimeoutError):
        _client(sb, sleeps=sleeps, read_timeout=0.2).send_spec(_token_spec(sb))
    assert sleeps == []


def test_C1_C5_token_post_secret_in_body_only_and_body_capped(sb):
    code = secrets.token_urlsafe(8)
    _client(sb).send_spec(_token_spec(sb, code))
    logged = [r for r in sb.requests if r.path == "/oauth/access_token"][0]
    assert sb.client_secret not in logged.query and code not in logged.query
    assert logged.form["client_secret"] == [sb.client_secret]
    assert "Authorization" not in logged.headers  # no bearer on OAuth requests
    assert logged.headers["User-Agent"].startswith("gitbook_nb/")
    sb.add_fault("huge", path="/oauth/access_token", size=200 * 1024)
    with pytest.raises(InvalidResponseError, match="cap"):
        _client(sb).send_spec(_token_spec(sb))  # the default cap is token_max_body (64 KiB)


def test_D1_send_spec_refuses_plain_http_endpoint(sb):
    spec = HTTPRequestSpec("POST", "http://evil.example/token", {}, form={"a": "b"})
    with pytest.raises(ConfigError):
        _client(sb).send_spec(spec)


# ------------------------------------------------------------------ servers no API should be


class RawServer:
    """Loopback TCP server that answers every connection with scripted bytes, then closes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                try:
                    conn.sendall(self.answer)
                except OSError:
                    pass  # the client hung up early (body over its cap): expected

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def start(answer: bytes) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _raw_client(server: RawServer, **settings) -> Client:
    return Client(
        resolve(overrides={"api_url": server.url, **settings}, environ={}),
        auth=BearerAuth(Token(Secret("abc"), issuer=_host(server.url))),
        sleep=lambda s: None,
    )


def test_D8_truncated_body(raw_server):
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"items": [1, 2'
    )
    with pytest.raises(InvalidResponseError, match="cut off") as info:
        _raw_client(server).request("GET", "/x")
    assert info.value.status == 200 and info.value.__context__ is None
    assert len(server.requests) == 1


def test_D6_body_without_length_is_capped_while_reading(raw_server):
    server = raw_server(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"7" * (3 << 20))
    with pytest.raises(InvalidResponseError, match="over the 1048576-byte cap"):
        _raw_client(server, max_body=1 << 20).request("GET", "/x")


def test_D6_compressed_body_capped_after_decompression(raw_server):
    bomb = gzip.compress(b" " * (64 << 20))  # 64 MiB of spaces in about 64 KiB
    assert len(bomb) < 200_000
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
        + bomb
    )
    with pytest.raises(InvalidResponseError, match="cap"):
        _raw_client(server, max_body=1 << 20).request("GET", "/x")


# ------------------------------------------------------------------ D2: TLS stays verified


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[str, str]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: (url, cert path)."""
    import datetime
    import ipaddress
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitbook_nb test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (ssl.SSLError, ConnectionError):
                pass  # the client refused our certificate: that is the point

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", str(cert_path)
    server.shutdown()
    server.server_close()


def _tls_client(url: str, session=None) -> Client:
    return Client(
        resolve(overrides={"api_url": url, "max_retries": 0}, environ={}),
        auth=BearerAuth(Token(Secret("abc"), issuer=_host(url))),
        session=session,
    )


def test_D2_environment_cannot_turn_tls_verification_off(tls_server, monkeypatch):
    url, cert = tls_server
    for name in ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    with pytest.raises(TransportError, match="TLS") as info:
        _tls_client(url).request("GET", "/x")
    assert info.value.__context__ is None


def test_D2_a_session_with_verify_false_is_still_verified(tls_server, monkeypatch):
    import requests

    url, _ = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    insecure = requests.Session()
    insecure.verify = False
    with pytest.raises(TransportError, match="TLS"):
        _tls_client(url, session=insecure).request("GET", "/x")


def test_D2_custom_ca_bundle_is_honoured(tls_server, monkeypatch):
    """Control: the same server is reachable once its certificate is trusted on purpose, so the
    two tests above fail because of verification, not for another reason."""
    url, cert = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    assert _tls_client(url).request("GET", "/x").data == {"ok": True}


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_D2_loopback_http_never_goes_through_an_environment_proxy(sb, monkeypatch, variable):
    """http:// is allowed only because loopback traffic never leaves the machine (D1); a proxy
    variable alone must not send the bearer token or the token POST's secret over the network
    in clear text (D2). A listening socket stands in for the proxy and must see nothing."""
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(4)
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.getsockname()[1]}")
        client = _client(sb, read_timeout=1.0, max_retries=0)
        assert client.request("GET", "/user").status == 200
        status, _, _ = client.send_spec(_token_spec(sb))
        assert status < 500
        proxy.setblocking(False)
        with pytest.raises(BlockingIOError):  # nobody connected to the "proxy"
            proxy.accept()
    assert _v1(sb)[-1].headers["Authorization"] == f"Bearer {sb.personal_token}"


@pytest.mark.parametrize(("status", "offset"), [(200, 20), (200, 162), (500, 20), (500, 162)])
def test_E2_a_token_echoed_in_a_non_json_body_is_masked(raw_server, status, offset):
    """A proxy or debug page that echoes the request headers must not put the bearer token
    into the error message: not in a success answer that is not JSON (D8's snippet), and not
    a prefix of it where the 200-character snippet cuts the token in two."""
    tok = secrets.token_urlsafe(30)
    body = b"<html>" + b"x" * offset + b"Authorization: Bearer " + tok.encode() + b"</html>"
    server = raw_server(
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n".encode()
        + body
    )
    client = Client(
        resolve(overrides={"api_url": server.url, "max_retries": 0}, environ={}),
        auth=BearerAuth(Token(Secret(tok), issuer=_host(server.url))),
        sleep=lambda s: None,
    )
    with pytest.raises(APIError) as info:
        client.request("GET", "/x")
    assert info.value.status == status
    assert "Authorization: Bearer" in str(info.value) or offset > 100  # the snippet is there
    assert tok[:6] not in str(info.value) and tok[:6] not in repr(info.value)
    assert _leaks(info.value, tok) == []  # nor in a local of a frame (%xmode Verbose)
