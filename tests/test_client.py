"""The HTTP client: pure pieces first (path joining, error mapping, pagination steps), then the
real thing over loopback HTTP: against the sandbox, and against tiny purpose-built servers for
what no well-behaved server does (truncated bodies, an untrusted TLS certificate)."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import ssl
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitbook_nb import answers
from gitbook_nb.answers import error_for, missing_scope, parse_json, retry_after_seconds
from gitbook_nb.client import Client
from gitbook_nb.config import resolve
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
from gitbook_nb.pagination import next_page
from gitbook_nb.tokens import Token
from gitbook_nb.transport import escape_snippet, join_path, token_host_matches

API = "https://api.gitbook.com/v1"


# ------------------------------------------------------------------ D4: path joining (pure)


@pytest.mark.parametrize("path,url", [
    ("/user", API + "/user"),
    ("/spaces/abc/content?format=markdown", API + "/spaces/abc/content?format=markdown"),
    ("/spaces/x/../user", API + "/spaces/user"),
    ("/spaces/x/../../user", API + "/user"),
    ("/./orgs", API + "/orgs"),
    ("/search?q=%C3%A9t%C3%A9", API + "/search?q=%C3%A9t%C3%A9"),
])
def test_D4_good_paths_join_onto_the_base(path, url):
    assert join_path(API, path)[0] == url


@pytest.mark.parametrize("path", [
    "//evil.example/x", "http://evil.example/x", "https:evil.example", "user",
    "/a\\b", "/a\r\nHost: evil", "/a\nb", "/a\x00b", "/a b", "/a\tb", "/a\u200bb",
    "/a\u00a0b", "/../x", "/a/../../x", "/%2e%2e/x", "/a/%2E%2E/%2e%2e/x", "/a%2f..%2f..",
    "/a%5cb", "/a%0d%0ab", "/x#frag", "", "\\\\evil.example\\x", " /user",
])
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


@pytest.mark.parametrize("status,cls", [
    (400, APIError), (401, AuthenticationError), (403, PermissionDeniedError),
    (404, NotFoundError), (409, APIError), (412, APIError), (429, RateLimitedError),
    (500, ServerError), (502, ServerError), (503, ServerError),
])
def test_each_status_maps_to_its_class(status, cls):
    body = json.dumps({"error": {"code": status, "message": "m"}}).encode()
    err = error_for(status, "", {}, body, method="POST", path="/x")
    assert type(err) is cls and err.status == status and err.method == "POST"
    assert err.hint


def test_scope_parsed_from_message_and_www_authenticate():
    assert missing_scope("Missing scope: space:read", "") == "space:read"
    assert missing_scope("The token requires scope 'organization:read'", "") == \
        "organization:read"
    hdr = 'Bearer error="insufficient_scope", scope="space:write"'
    assert missing_scope("", hdr) == "space:write"
    err = error_for(403, "", {"WWW-Authenticate": hdr}, b"", method="GET", path="/x")
    assert isinstance(err, PermissionDeniedError) and err.scope == "space:write"
    assert "space:write" in str(err)


def test_E2_api_message_is_escaped_truncated_and_token_masked():
    tok = secrets.token_urlsafe(24)
    body = json.dumps({"error": {"code": 400, "message": f"bad token {tok} <script>\n"
                                 + "y" * 1000}}).encode()
    err = error_for(400, "", {}, body, method="GET", path="/x", secret=tok)
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
    assert next_page({"list": [1], "page": 0, "limit": 1, "total": 5}, {"page": 3}, API) == \
        ("params", {"page": 4})


def test_next_page_current_envelope():
    assert next_page({"items": [1], "next": {"page": "abc"}}, {"limit": 2}, API) == \
        ("params", {"limit": 2, "page": "abc"})
    assert next_page({"items": [1]}, {}, API) is None
    assert next_page({"items": [1], "next": None}, {}, API) is None
    assert next_page({"items": [1], "next": {"url": API + "/orgs?page=2"}}, {}, API) == \
        ("url", API + "/orgs?page=2")


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
