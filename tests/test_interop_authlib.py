"""Signing in against an authorization server that was not written for gitbook_nb (issue 10).

The server (``authlib_server.AuthlibServer``) is built on Authlib and configured as a user
would configure one; each test drives gitbook_nb only through its public API
(``configure``, ``begin_login``, ``finish_login``, ``whoami``, ``get``, ``logout``) and then
reads what the server saw: how the client authenticated, which refresh tokens it presented,
what it revoked. Both flows: the current one (discovery, dynamic registration, PKCE, rotating
refresh tokens, revocation), a pre-registered confidential client with HTTP Basic, and the
legacy web flow with the secret in the body.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib_server import USER, AuthlibServer

import gitbook_nb
from gitbook_nb.errors import ConfigError, NotLoggedInError, TokenExchangeError
from gitbook_nb.kernel.session import KernelSession, reset_session

REDIRECT = "http://127.0.0.1:8765/callback"  # registered with the server; nothing listens


@pytest.fixture
def srv():
    with AuthlibServer() as server:
        yield server


@pytest.fixture(autouse=True)
def kernel():
    """A fresh kernel state that reads no GITBOOK_* variable of the developer's."""
    yield reset_session(KernelSession(environ={}))
    reset_session(KernelSession(environ={}))


def sign_in(srv: AuthlibServer):
    """What a user does: open the link, approve, paste the address the browser shows."""
    flow = gitbook_nb.begin_login()
    return flow, gitbook_nb.finish_login(srv.approve(flow.authorize_url))


def pre_registered(srv: AuthlibServer, method: str, *, profile: str = "current", **settings):
    """A client registered with the server beforehand (no dynamic registration), configured
    as a user would: its id, secret and redirect URI, with the profile's server addresses."""
    app = srv.register_client(method=method, redirect_uris=[REDIRECT])
    servers = {"api_url": srv.url}  # legacy: the OAuth addresses follow the API URL
    if profile == "current":
        servers = {"api_url": srv.url + "/v1", "oauth_url": srv.url}
    gitbook_nb.configure(
        profile=profile,
        **servers,
        client_id=app.client_id,
        client_secret=app.client_secret,
        redirect_uri=REDIRECT,
        **settings,
    )
    return app


def token_requests(srv: AuthlibServer) -> list[tuple[str, str]]:
    return [(method, cid) for endpoint, method, cid in srv.client_auths if endpoint == "token"]


# ------------------------------------------------------------------ current flow, public client


def test_current_flow_discovery_registration_pkce_rotation_and_revocation(srv):
    gitbook_nb.configure(profile="current", api_url=srv.url + "/v1", oauth_url=srv.url)
    flow, token = sign_in(srv)

    query = parse_qs(urlsplit(flow.authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]  # A5, and Authlib refuses anything else
    assert urlsplit(flow.authorize_url).path == "/authorize"  # from the discovery document
    assert len(srv.registrations) == 1  # RFC 7591
    assert srv.registrations[0]["token_endpoint_auth_method"] == "none"
    client_id = flow.client_id
    assert token_requests(srv) == [("none", client_id)]  # a public client sends no secret
    assert gitbook_nb.whoami()["name"] == USER["name"]

    # The server says the access token is spent: the next call refreshes once and retries.
    srv.expire_access_tokens()
    assert gitbook_nb.get("/user").data["id"] == USER["id"]
    srv.expire_access_tokens()
    assert gitbook_nb.get("/user").data["id"] == USER["id"]
    assert len(srv.refresh_presented) == 2
    assert len(set(srv.refresh_presented)) == 2 and srv.replays == []  # rotated, never replayed
    assert token_requests(srv) == [("none", client_id)] * 3

    # Signing in again on the same issuer reuses the registration.
    sign_in(srv)
    assert len(srv.registrations) == 1

    latest = srv.tokens[-1]
    out = gitbook_nb.logout()
    assert out["revoked"] is True and out["was_signed_in"] is True
    assert latest.refresh_token in srv.revoked  # RFC 7009: the grant's refresh token
    assert ("revocation", "none", client_id) in srv.client_auths
    assert not srv.token_works(latest.access_token)
    with pytest.raises(NotLoggedInError):
        gitbook_nb.get("/user")


def test_current_flow_threads_refresh_once_per_expiry_and_never_replay(srv):
    """8 threads share one sign-in while the server expires the access token twice: every call
    succeeds, each rotated refresh token is presented once, and no replay signs the user out."""
    gitbook_nb.configure(profile="current", api_url=srv.url + "/v1", oauth_url=srv.url)
    sign_in(srv)

    def calls(_: int) -> list[str]:
        return [gitbook_nb.get("/user").data["id"] for _ in range(10)]

    expiries = 2
    for phase in range(expiries + 1):
        if phase:
            srv.expire_access_tokens()
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = [i for batch in pool.map(calls, range(8)) for i in batch]
        assert ids == [USER["id"]] * 80
    assert srv.replays == []
    assert len(set(srv.refresh_presented)) == len(srv.refresh_presented)
    assert 1 <= len(srv.refresh_presented) <= expiries


# ------------------------------------------------------------------ current flow, confidential


def test_pre_registered_confidential_client_with_client_secret_basic(srv):
    """A server without dynamic registration for this app: id and secret are configured, the
    client authenticates with HTTP Basic (RFC 6749 2.3.1) at the token, refresh and
    revocation requests."""
    app = pre_registered(srv, "client_secret_basic")
    flow, _ = sign_in(srv)
    assert flow.client_id == app.client_id and srv.registrations == []
    assert token_requests(srv) == [("client_secret_basic", app.client_id)]
    assert gitbook_nb.whoami()["name"] == USER["name"]

    srv.expire_access_tokens()
    assert gitbook_nb.get("/user").data["id"] == USER["id"]
    assert token_requests(srv) == [("client_secret_basic", app.client_id)] * 2
    assert srv.replays == []

    assert gitbook_nb.logout()["revoked"] is True
    assert ("revocation", "client_secret_basic", app.client_id) in srv.client_auths


def test_a_wrong_client_authentication_method_is_named_not_blamed_on_the_secret(srv):
    # the server lists client_secret_post; this client may not use it
    app = pre_registered(srv, "client_secret_basic", token_auth_method="client_secret_post")
    with pytest.raises(TokenExchangeError) as info:
        sign_in(srv)
    err = info.value
    assert err.error == "invalid_client" and err.status == 401
    assert "client_secret_post" in err.hint and "GITBOOK_TOKEN_AUTH_METHOD" in err.hint
    assert f"the sign-in server 127.0.0.1:{urlsplit(srv.url).port}" in err.message
    assert app.client_secret not in str(err)
    with pytest.raises(NotLoggedInError):  # nothing was kept
        gitbook_nb.get("/user")


def test_a_method_the_server_does_not_list_is_refused_before_the_code_is_sent():
    with AuthlibServer(token_auth_methods=("client_secret_basic", "none")) as srv:
        pre_registered(srv, "client_secret_basic", token_auth_method="client_secret_post")
        with pytest.raises(ConfigError) as info:
            sign_in(srv)
        assert "client_secret_post" in info.value.message
        assert "client_secret_basic" in info.value.hint
        assert ("POST", "/token") not in srv.requests


# ------------------------------------------------------------------ legacy web flow


def test_legacy_flow_with_client_secret_post_follows_the_api_url(srv):
    """The legacy profile pointed at another server: authorize and token URLs follow the API
    URL, the secret travels in the body (client_secret_post), and /account answers."""
    app = pre_registered(srv, "client_secret_post", profile="legacy")
    flow, token = sign_in(srv)
    assert flow.authorize_url.startswith(srv.url + "/oauth/authorize?")
    assert ("POST", "/oauth/access_token") in srv.requests
    assert token_requests(srv) == [("client_secret_post", app.client_id)]
    assert gitbook_nb.whoami()["name"] == USER["name"]

    srv.expire_access_tokens()  # this server also rotates refresh tokens for legacy clients
    assert gitbook_nb.get("/account").data["id"] == USER["id"]
    assert token_requests(srv) == [("client_secret_post", app.client_id)] * 2
    assert srv.replays == []

    assert gitbook_nb.logout()["was_signed_in"] is True
    with pytest.raises(NotLoggedInError):
        gitbook_nb.get("/account")


def test_a_refused_code_names_the_server(srv):
    pre_registered(srv, "client_secret_post", profile="legacy")
    flow = gitbook_nb.begin_login()
    address = srv.approve(flow.authorize_url)
    code = parse_qs(urlsplit(address).query)["code"][0]
    with pytest.raises(TokenExchangeError) as info:
        gitbook_nb.finish_login(address.replace(code, code[::-1]))
    err = info.value
    assert err.error == "invalid_grant"
    assert err.message.startswith(f"the sign-in server 127.0.0.1:{urlsplit(srv.url).port}")
    assert "\n" not in str(err)
