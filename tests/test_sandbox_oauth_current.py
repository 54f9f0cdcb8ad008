"""The sandbox's current OAuth server (GITBOOK.md section 2): discovery, registration, PKCE,
expiring access tokens, rotating refresh tokens, revocation, scopes."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from support import FakeClock, pkce_pair

from gitbook_nb.sandbox import Sandbox

ACCEPT = {"Accept": "application/json"}


def discover(sb: Sandbox) -> dict:
    resp = requests.get(f"{sb.url}/.well-known/oauth-authorization-server", timeout=10)
    assert resp.status_code == 200
    return resp.json()


def register(sb: Sandbox, redirect: str | None = None, name: str = "gitbook_nb tests") -> str:
    meta = {
        "client_name": name,
        "redirect_uris": [redirect or "http://127.0.0.1:8765/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    resp = requests.post(discover(sb)["registration_endpoint"], json=meta, timeout=10)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert "client_secret" not in body
    return body["client_id"]


class Login:
    """One authorization request, as a client following GITBOOK.md would build it."""

    def __init__(
        self,
        sb: Sandbox,
        client_id: str,
        scopes: str = "user:read space:read",
        redirect: str = "http://127.0.0.1:8765/callback",
        **override: str,
    ) -> None:
        self.sb, self.client_id, self.redirect = sb, client_id, redirect
        self.verifier, challenge = pkce_pair()
        self.state = secrets.token_urlsafe(32)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": scopes,
            **override,
        }
        self.url = f"{sb.url}/authorize?{urlencode({k: v for k, v in params.items() if v})}"

    def redirected(self, approve: bool = True) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.sb.approve(self.url, approve)).query)

    def code(self) -> str:
        q = self.redirected()
        assert q["state"] == [self.state]
        return q["code"][0]

    def exchange(self, code: str, **override: str | None) -> requests.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
            **override,
        }
        return requests.post(
            f"{self.sb.url}/token",
            data={k: v for k, v in form.items() if v is not None},
            headers=ACCEPT,
            allow_redirects=False,
            timeout=10,
        )


def refresh(sb: Sandbox, client_id: str, refresh_token: str, **extra: str) -> requests.Response:
    return requests.post(
        f"{sb.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            **extra,
        },
        headers=ACCEPT,
        timeout=10,
    )


def user(sb: Sandbox, token: str) -> requests.Response:
    return requests.get(
        f"{sb.url}/v1/user", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_discovery_document(sb):
    doc = discover(sb)
    assert doc["issuer"] == sb.url
    assert doc["authorization_endpoint"] == sb.url + "/authorize"
    assert doc["token_endpoint"] == sb.url + "/token"
    assert doc["registration_endpoint"] == sb.url + "/register"
    assert doc["revocation_endpoint"] == sb.url + "/revoke"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["token_endpoint_auth_methods_supported"] == ["none"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert doc["response_types_supported"] == ["code"]
    scopes = doc["scopes_supported"]
    assert len(scopes) == 29 and len(set(scopes)) == 29
    assert {
        "user:read",
        "organization:read",
        "space:read",
        "space:write",
        "site:read",
        "site:insights:read",
        "change-request:merge",
    } <= set(scopes)


def test_registration_rules(sb):
    url = sb.url + "/register"
    bad = [
        {"redirect_uris": ["http://evil.example/cb"]},  # http only on loopback
        {"redirect_uris": []},
        {"redirect_uris": ["https://ok.example/cb#frag"]},
        {
            "redirect_uris": ["https://ok.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        {"redirect_uris": ["https://ok.example/cb"], "grant_types": ["implicit"]},
    ]
    for meta in bad:
        resp = requests.post(url, json=meta, timeout=10)
        assert resp.status_code == 400
        assert resp.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")
    assert requests.post(url, data=b"[1]", timeout=10).status_code == 400


def test_full_flow_with_refresh_rotation(sb):
    client_id = register(sb)
    login = Login(sb, client_id)
    resp = login.exchange(login.code())
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    tok = resp.json()
    assert tok["token_type"].lower() == "bearer"
    assert tok["expires_in"] == sb.access_token_ttl
    assert tok["scope"].split() == ["user:read", "space:read"]
    assert user(sb, tok["access_token"]).json()["displayName"] == sb.user
    first = refresh(sb, client_id, tok["refresh_token"])
    assert first.status_code == 200
    new = first.json()
    assert new["refresh_token"] != tok["refresh_token"]
    assert new["access_token"] != tok["access_token"]
    assert user(sb, new["access_token"]).status_code == 200
    # the old refresh token is spent; presenting it again revokes the whole grant
    reuse = refresh(sb, client_id, tok["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert user(sb, new["access_token"]).status_code == 401
    assert refresh(sb, client_id, new["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_can_narrow_but_not_widen_scopes(sb):
    client_id = register(sb)
    login = Login(sb, client_id)
    tok = login.exchange(login.code()).json()
    wide = refresh(sb, client_id, tok["refresh_token"], scope="user:read space:write")
    assert wide.json()["error"] == "invalid_scope"
    narrow = refresh(sb, client_id, tok["refresh_token"], scope="user:read")
    assert narrow.json()["scope"] == "user:read"


def test_refresh_token_of_another_client_is_refused(sb):
    a, b = register(sb), register(sb)
    login = Login(sb, a)
    tok = login.exchange(login.code()).json()
    assert refresh(sb, b, tok["refresh_token"]).json()["error"] == "invalid_grant"


def test_denied_consent(sb):
    login = Login(sb, register(sb))
    q = login.redirected(approve=False)
    assert q["error"] == ["access_denied"] and q["state"] == [login.state]


@pytest.mark.parametrize(
    "override,error",
    [
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "user:read space:everything"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_errors_redirect_with_state(sb, override, error):
    login = Login(sb, register(sb), **override)
    q = login.redirected()
    assert q["error"] == [error] and q["state"] == [login.state] and "code" not in q


def test_authorize_unknown_client_or_redirect_is_a_page(sb):
    client_id = register(sb)
    for login in (
        Login(sb, "gbc_unknown"),
        Login(sb, client_id, redirect="http://127.0.0.1:8765/elsewhere"),
        Login(sb, sb.client_id),
    ):  # the legacy app is not a current-flow client
        resp = requests.get(login.url, allow_redirects=False, timeout=10)
        assert resp.status_code == 400 and "Location" not in resp.headers


def test_registered_loopback_redirect_ignores_the_port(sb):
    client_id = register(sb, redirect="http://127.0.0.1/callback")
    login = Login(sb, client_id, redirect="http://127.0.0.1:45678/callback")
    assert login.exchange(login.code()).status_code == 200


def test_missing_or_wrong_verifier(sb):
    login = Login(sb, register(sb))
    missing = login.exchange(login.code(), code_verifier=None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = login.exchange(login.code(), code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_code_bound_to_client_and_redirect_uri(sb):
    login = Login(sb, register(sb))
    other = register(sb)
    assert login.exchange(login.code(), client_id=other).json()["error"] == "invalid_grant"
    resp = login.exchange(login.code(), redirect_uri="http://127.0.0.1:8765/other")
    assert resp.json()["error"] == "invalid_grant"
    unknown = login.exchange(login.code(), client_id="gbc_nobody")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


def test_reused_code_revokes_its_tokens(sb):
    login = Login(sb, register(sb))
    code = login.code()
    tok = login.exchange(code).json()
    again = login.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert user(sb, tok["access_token"]).status_code == 401
    assert refresh(sb, login.client_id, tok["refresh_token"]).status_code == 400


def test_expired_code_and_expiring_access_token():
    clock = FakeClock()
    with Sandbox(clock=clock, access_token_ttl=120) as sb:
        login = Login(sb, register(sb))
        code = login.code()
        clock.now += 601
        assert login.exchange(code).json()["error"] == "invalid_grant"
        tok = login.exchange(login.code()).json()
        assert tok["expires_in"] == 120
        assert user(sb, tok["access_token"]).status_code == 200
        clock.now += 121
        expired = user(sb, tok["access_token"])
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
        fresh = refresh(sb, login.client_id, tok["refresh_token"]).json()
        assert user(sb, fresh["access_token"]).status_code == 200


def test_revocation_always_answers_200(sb):
    login = Login(sb, register(sb))
    tok = login.exchange(login.code()).json()
    revoke = sb.url + "/revoke"
    assert (
        requests.post(
            revoke, data={"token": "unknown", "client_id": login.client_id}, timeout=10
        ).status_code
        == 200
    )
    resp = requests.post(
        revoke, data={"token": tok["access_token"], "client_id": login.client_id}, timeout=10
    )
    assert resp.status_code == 200 and user(sb, tok["access_token"]).status_code == 401
    requests.post(
        revoke,
        data={
            "token": tok["refresh_token"],
            "client_id": login.client_id,
            "token_type_hint": "refresh_token",
        },
        timeout=10,
    )
    assert refresh(sb, login.client_id, tok["refresh_token"]).status_code == 400


def test_scopes_are_enforced_with_a_403_naming_the_scope(sb):
    login = Login(sb, register(sb), scopes="user:read")
    tok = login.exchange(login.code()).json()["access_token"]
    headers = {"Authorization": f"Bearer {tok}"}
    assert requests.get(f"{sb.url}/v1/user", headers=headers, timeout=10).status_code == 200
    denied = requests.get(f"{sb.url}/v1/orgs", headers=headers, timeout=10)
    assert denied.status_code == 403
    assert denied.json() == {"error": {"code": 403, "message": "Missing scope: organization:read"}}
    denied = requests.get(f"{sb.url}/v1/spaces/{sb.ids['space']}", headers=headers, timeout=10)
    assert denied.json()["error"]["message"] == "Missing scope: space:read"


def test_E6_consent_page_escapes_an_html_client_name(sb):
    client_id = register(sb, name="<img src=x onerror=alert(1)>")
    login = Login(sb, client_id, scopes="user:read")
    page = requests.get(login.url, timeout=10)
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "user:read" in page.text
    assert login.state not in page.text  # the form carries a consent id, not the raw params
    assert login.exchange(login.code()).status_code == 200


def test_token_endpoint_rejects_get_and_unknown_grant(sb):
    assert requests.get(sb.url + "/token", timeout=10).status_code == 405
    resp = requests.post(
        sb.url + "/token", data={"grant_type": "password", "client_id": register(sb)}, timeout=10
    )
    assert resp.json()["error"] == "unsupported_grant_type"
