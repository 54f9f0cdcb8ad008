"""The sandbox's legacy OAuth web flow (GITBOOK.md section 1), walked with plain ``requests``."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from support import FakeClock, pkce_pair

from gitbook_nb.sandbox import ConsentError, Sandbox

LEGACY_401 = "Authentication has failed (Invalid user, password or access token)"


def authorize_url(sb: Sandbox, **extra: str) -> tuple[str, str]:
    state = secrets.token_urlsafe(32)
    params = {
        "client_id": sb.client_id,
        "redirect_uri": sb.redirect_uri,
        "response_type": "code",
        "state": state,
        **extra,
    }
    return f"{sb.url}/oauth/authorize?{urlencode(params)}", state


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def get_code(sb: Sandbox, **extra: str) -> str:
    url, state = authorize_url(sb, **extra)
    q = query_of(sb.approve(url))
    assert q["state"] == [state]
    return q["code"][0]


def exchange(
    sb: Sandbox, code: str, *, json_answer: bool = False, **fields: str
) -> requests.Response:
    form = {
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        **fields,
    }
    headers = {"Accept": "application/json"} if json_answer else {}
    return requests.post(
        f"{sb.url}/oauth/access_token",
        data=form,
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )


def account(sb: Sandbox, token: str) -> requests.Response:
    return requests.get(
        f"{sb.url}/account", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


@pytest.fixture
def rfc_style(sb):
    sb.error_style = "rfc6749"
    yield sb
    sb.error_style = "github"


def test_full_flow_form_encoded_answer(sb):
    url, state = authorize_url(sb)
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "gitbook_nb demo app" in page.text
    assert "Approve" in page.text and "Deny" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"  # A8: the consent page is never framed
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    location = sb.approve(url)
    assert location.startswith(sb.redirect_uri + "?")
    q = query_of(location)
    assert q["state"] == [state] and len(q["code"][0]) >= 20
    resp = exchange(sb, q["code"][0])
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    answer = parse_qs(resp.text, keep_blank_values=True)
    assert answer["token_type"] == ["bearer"] and "scope" in answer
    token = answer["access_token"][0]
    assert len(token) == 40  # like GitBook's documented example
    me = account(sb, token)
    assert me.status_code == 200 and me.json()["username"] == "ada"
    assert me.json()["type"] == "User"


def test_json_answer_with_accept_header(sb):
    resp = exchange(sb, get_code(sb), json_answer=True)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["token_type"] == "bearer" and account(sb, body["access_token"]).ok
    assert resp.headers["Cache-Control"] == "no-store"


def test_client_credentials_in_basic_auth(sb):
    code = get_code(sb)
    resp = requests.post(
        f"{sb.url}/oauth/access_token",
        data={"code": code, "grant_type": "authorization_code"},
        auth=(sb.client_id, sb.client_secret),
        timeout=10,
    )
    assert "access_token" in parse_qs(resp.text)


def test_denied_consent_redirects_with_access_denied_and_state(sb):
    url, state = authorize_url(sb)
    q = query_of(sb.approve(url, approve=False))
    assert q["error"] == ["access_denied"] and q["state"] == [state] and "code" not in q


def test_state_is_only_echoed_when_sent(sb):
    url = f"{sb.url}/oauth/authorize?" + urlencode(
        {"client_id": sb.client_id, "redirect_uri": sb.redirect_uri, "response_type": "code"}
    )
    q = query_of(sb.approve(url))
    assert "code" in q and "state" not in q


def test_consent_is_single_use(sb):
    url, _ = authorize_url(sb)
    page = requests.get(url, timeout=10).text
    consent_id = page.split('name="consent_id" value="')[1].split('"')[0]
    form = {"consent_id": consent_id, "decision": "approve"}
    first = requests.post(f"{sb.url}/oauth/authorize", data=form, allow_redirects=False, timeout=10)
    second = requests.post(
        f"{sb.url}/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert first.status_code == 302 and "code=" in first.headers["Location"]
    assert second.status_code == 400 and "Location" not in second.headers


def test_reused_code_fails_and_revokes_its_token(sb):
    code = get_code(sb)
    token = parse_qs(exchange(sb, code).text)["access_token"][0]
    assert account(sb, token).status_code == 200
    again = exchange(sb, code)
    assert again.status_code == 200  # GitHub style: HTTP 200 with an error field
    assert parse_qs(again.text)["error"] == ["bad_verification_code"]
    gone = account(sb, token)
    assert gone.status_code == 401 and gone.json() == {"error": LEGACY_401, "code": 401}


def test_expired_code_is_refused():
    clock = FakeClock()
    with Sandbox(clock=clock) as sb:
        code = get_code(sb)
        clock.now += 601
        resp = exchange(sb, code, json_answer=True)
        assert resp.json()["error"] == "bad_verification_code"
        fresh = get_code(sb)
        clock.now += 599
        assert "access_token" in exchange(sb, fresh, json_answer=True).json()


def test_wrong_secret_github_style(sb):
    resp = exchange(sb, get_code(sb), client_secret="not-the-secret")
    assert resp.status_code == 200
    assert parse_qs(resp.text)["error"] == ["incorrect_client_credentials"]


def test_wrong_secret_rfc6749_style(rfc_style):
    sb = rfc_style
    resp = exchange(sb, get_code(sb), client_secret="not-the-secret")
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert "error_description" in resp.json()


def test_wrong_redirect_uri_at_token_both_styles(sb):
    other = f"http://127.0.0.1:{sb.port + 1}/other"
    resp = exchange(sb, get_code(sb), redirect_uri=other, json_answer=True)
    assert resp.status_code == 200 and resp.json()["error"] == "redirect_uri_mismatch"
    sb.error_style = "rfc6749"
    try:
        resp = exchange(sb, get_code(sb), redirect_uri=other)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    finally:
        sb.error_style = "github"
    # the same redirect URI as at authorize is fine
    assert "access_token" in parse_qs(exchange(sb, get_code(sb), redirect_uri=sb.redirect_uri).text)


def test_error_style_switches_at_run_time(sb):
    code = "no-such-code"
    assert parse_qs(exchange(sb, code).text)["error"] == ["bad_verification_code"]
    sb.error_style = "rfc6749"
    try:
        resp = exchange(sb, code)
        assert (resp.status_code, resp.json()["error"]) == (400, "invalid_grant")
    finally:
        sb.error_style = "github"
    assert exchange(sb, code, json_answer=True).json()["error"] == "bad_verification_code"


def test_unknown_client_or_unregistered_redirect_is_a_page_not_a_redirect(sb):
    for params in (
        {"client_id": "nope", "redirect_uri": sb.redirect_uri},
        {"client_id": sb.client_id, "redirect_uri": "https://evil.example/cb"},
        {"client_id": sb.client_id, "redirect_uri": sb.redirect_uri + "/extra"},
        {"client_id": sb.client_id},
    ):
        url = f"{sb.url}/oauth/authorize?{urlencode({**params, 'response_type': 'code'})}"
        resp = requests.get(url, allow_redirects=False, timeout=10)
        assert resp.status_code == 400 and "Location" not in resp.headers
        with pytest.raises(ConsentError):
            sb.approve(url)


def test_loopback_redirect_matches_any_port_but_nothing_else(sb):
    ok = f"http://127.0.0.1:{sb.port + 7}/callback"
    url, _ = authorize_url(sb, redirect_uri=ok)
    assert sb.approve(url).startswith(ok + "?code=")
    for bad in (
        "http://localhost:8000/callback",
        f"http://127.0.0.1:{sb.port}/other",
        "https://127.0.0.1/callback",
    ):
        url, _ = authorize_url(sb, redirect_uri=bad)
        assert requests.get(url, allow_redirects=False, timeout=10).status_code == 400


def test_registered_redirect_uri_is_matched_exactly(sb):
    binder = "https://hub.example.org/user/ada/proxy/8888/callback"
    url, _ = authorize_url(sb, redirect_uri=binder)
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 400
    sb.register_redirect_uri(binder)
    assert sb.approve(url).startswith(binder + "?code=")
    url, _ = authorize_url(sb, redirect_uri=binder + "x")
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 400


def test_pkce_checked_when_a_challenge_was_sent(sb):
    verifier, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    missing = exchange(sb, get_code(sb, **pkce), json_answer=True).json()
    wrong = exchange(
        sb, get_code(sb, **pkce), code_verifier=pkce_pair()[0], json_answer=True
    ).json()
    right = exchange(sb, get_code(sb, **pkce), code_verifier=verifier, json_answer=True).json()
    assert missing["error"] == wrong["error"] == "bad_verification_code"
    assert right["token_type"] == "bearer"


def test_pkce_plain_is_refused_at_authorize(sb):
    for method in ({"code_challenge_method": "plain"}, {}):
        url, state = authorize_url(sb, code_challenge="a" * 43, **method)
        q = query_of(sb.approve(url))
        assert q["error"] == ["invalid_request"] and q["state"] == [state]


def test_duplicate_and_unsupported_parameters_redirect_with_error(sb):
    url, state = authorize_url(sb)
    q = query_of(sb.approve(url + "&state=second"))
    assert q["error"] == ["invalid_request"]
    url, state = authorize_url(sb, response_type="token")
    q = query_of(sb.approve(url))
    assert q["error"] == ["unsupported_response_type"] and q["state"] == [state]


def test_E6_A8_callback_page_escapes_everything_and_refuses_framing(sb):
    evil = '"><script>alert(1)</script>'
    resp = requests.get(
        f"{sb.url}/callback", params={"code": evil, "state": "s", "error": evil}, timeout=10
    )
    assert resp.status_code == 200
    assert "<script>alert(1)" not in resp.text
    assert "&lt;script&gt;" in resp.text or "%3Cscript%3E" in resp.text
    assert "Copy" in resp.text and "notebook" in resp.text
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'sha256-" in csp  # A8, one script


def test_token_answer_is_not_json_by_default_and_parses_as_form(sb):
    resp = exchange(sb, get_code(sb))
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)
    assert set(parse_qs(resp.text, keep_blank_values=True)) >= {"access_token", "token_type"}
