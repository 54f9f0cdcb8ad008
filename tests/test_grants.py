"""A grant owns its lifecycle (issue 10): refresh and revoke go to the server that issued the
token, whatever the settings say later; grants persist through the opt-in store; a dynamic
registration is reused; a failure keeps state consistent and says what happened to the token.
Over real HTTP against sandboxes."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from support import FakeClock

from gitbook_nb import errors
from gitbook_nb.kernel import environment as E
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.kernel.stores import token_from_dict, token_to_dict
from gitbook_nb.notebook._login_flow import LoginFlow
from gitbook_nb.protocol.tokens import GrantInfo, Secret, Token
from gitbook_nb.sandbox import Sandbox


@pytest.fixture
def other() -> Iterator[Sandbox]:
    """A second OAuth server the settings move to after the sign-in."""
    with Sandbox() as sb:
        yield sb


def _current(sb, clock=None, **extra) -> KernelSession:
    ks = KernelSession(environ={}, clock=clock or FakeClock(time.time()))
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url, **extra)
    return ks


def _sign_in(ks: KernelSession, sb) -> Token:
    flow = ks.begin_login()
    return ks.finish_login(sb.approve(flow.authorize_url))


def _oauth_requests(sb) -> list:
    return [r for r in sb.requests if r.path in ("/token", "/revoke", "/register")]


# ------------------------------------------------------------------ the grant's own issuer


def test_refresh_and_logout_after_configure_reach_only_the_issuer(sb, other):
    clock = FakeClock(time.time())
    ks = _current(sb, clock)
    first = _sign_in(ks, sb)
    grant = ks.grant_for()
    assert grant.issuer == sb.url and grant.token_endpoint == sb.url + "/token"
    assert grant.revocation_endpoint == sb.url + "/revoke" and grant.auth_method == "none"
    ks.configure(oauth_url=other.url)  # the settings move on; the grant does not
    sb.clear_log()
    clock.now = first.refresh_at + 1  # due: the next call renews it first
    assert ks.request("GET", "/user").status == 200
    assert [r.path for r in _oauth_requests(sb)] == ["/token"]
    assert not ks.token.same_as(first)
    out = ks.logout()
    assert out["revoked"] is True and out["was_signed_in"] and ks.token is None
    assert [r.path for r in _oauth_requests(sb)] == ["/token", "/revoke"]
    assert other.requests == []  # the new server never saw a token, a refresh or a revocation


def test_logout_says_revoked_only_when_the_issuer_accepted(sb, other):
    ks = _current(sb)
    _sign_in(ks, sb)
    ks.configure(oauth_url=other.url)
    sb.add_fault("status", path="/revoke", code=503)
    out = ks.logout()
    assert out["revoked"] is False and out["was_signed_in"] and ks.token is None
    assert [r.status for r in sb.requests if r.path == "/revoke"] == [503]
    assert other.requests == []


def test_a_stored_grant_is_renewed_at_its_issuer_in_a_new_kernel(sb, other, tmp_path):
    store = {"token_store": "file", "token_file": str(tmp_path / "tokens.json")}
    _sign_in(_current(sb, **store), sb)
    clock = FakeClock(time.time())
    ks = _current(sb, clock, **store)
    ks.configure(oauth_url=other.url)  # this kernel's settings name another server
    stored = ks.token
    assert stored.source == "store" and stored.grant.token_url == sb.url + "/token"
    sb.clear_log()
    clock.now = stored.refresh_at + 1
    assert ks.request("GET", "/user").status == 200
    assert [r.path for r in _oauth_requests(sb)] == ["/token"] and other.requests == []
    again = _current(sb, **store)  # a third kernel reads the rotated token, not the old one
    assert again.token.same_as(ks.token)


def test_grant_information_round_trips_and_old_entries_still_read():
    info = GrantInfo(api_url="https://api.example.org/v1", token_url="https://auth.example.org/t")
    tok = Token(Secret("abc"), issuer="api.example.org", client_id="c", grant=info)
    assert token_from_dict(token_to_dict(tok)).grant == info
    old = token_to_dict(tok)
    del old["grant"]  # written before grants existed
    assert token_from_dict(old).grant is None
    with pytest.raises(ValueError):
        token_from_dict({**old, "grant": {"token_url": 5}})  # not what we write: corrupt


def test_a_token_from_an_older_store_is_renewed_where_its_settings_pointed(sb, tmp_path):
    """No grant information: the settings that found it say where it was issued, once."""
    path = tmp_path / "tokens.json"
    first = _current(sb, token_store="file", token_file=str(path))
    _sign_in(first, sb)
    from gitbook_nb.kernel.stores import FileStore

    store = FileStore(path)
    (key,) = store.keys()
    store.set(key, store.get(key).with_changes(grant=None))  # as an older version wrote it
    clock = FakeClock(time.time())
    ks = _current(sb, clock, token_store="file", token_file=str(path))
    assert ks.grant_for().issuer == sb.url
    clock.now = ks.token.refresh_at + 1
    sb.clear_log()
    assert ks.request("GET", "/user").status == 200
    assert [r.path for r in _oauth_requests(sb)] == ["/token"]


# ------------------------------------------------------------------ what happened to the token


def test_whoami_after_a_refresh_and_a_second_401_says_the_token_is_forgotten(sb):
    ks = _current(sb)
    _sign_in(ks, sb)
    sb.add_fault("revoked", path="/v1/user")  # every token is refused here
    with pytest.raises(errors.AuthenticationError) as info:
        ks.whoami()
    assert "renewed one" in info.value.hint and "forgotten" in info.value.hint
    assert ks.token is None  # exactly as the message says
    assert len([r for r in sb.requests if r.path == "/token"]) == 2  # sign-in, one refresh


def test_a_401_with_a_transient_refresh_failure_keeps_the_sign_in(sb):
    ks = _current(sb)
    first = _sign_in(ks, sb)
    sb.revoke_token(first.access_token.reveal())
    sb.add_fault("status", path="/token", code=503, times=1)
    with pytest.raises(errors.AuthenticationError) as info:
        ks.request("GET", "/user")
    assert "kept" in info.value.hint and ks.token is not None  # as the message says
    assert ks.request("GET", "/user").status == 200  # the next call renews it


def test_a_store_that_refuses_to_write_keeps_nothing_and_status_works(sb, tmp_path):
    shared = tmp_path / "open"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)  # noqa: S103 - F2: a directory others can read is refused
    ks = _current(sb)
    ks.login_with_token(sb.personal_token)  # an earlier sign-in, in memory
    before = ks.token
    ks.configure(token_store="file", token_file=str(shared / "tokens.json"))
    assert ks.status()["signed_in"] and ks.token is before
    pat = sb.mint_token()
    with pytest.raises(errors.StorageError, match="nothing was kept"):
        ks.login_with_token(pat)
    assert ks.token is before  # no half-kept token
    assert not (shared / "tokens.json").exists()
    assert ks.request("GET", "/user").status == 200
    assert ks.status()["token_stored_in"] == "kernel memory"
    fresh = _current(sb, token_store="file", token_file=str(shared / "tokens.json"))
    with pytest.warns(UserWarning, match="token store could not be read"):
        status = fresh.status()  # a new kernel with that store: a warning, not a failure
    assert status["signed_in"] is False


def test_a_refused_personal_token_keeps_nothing(sb):
    ks = _current(sb)
    ks.login_with_token(sb.personal_token)
    before = ks.token
    refused = "gb_api_" + "z" * 30
    with pytest.raises(errors.AuthenticationError) as info:
        ks.login_with_token(refused)
    assert "nothing was kept" in info.value.hint
    assert ks.token is before and refused not in repr(ks.keeper.grants(ks.settings))


# ------------------------------------------------------------------ registration reuse


def _wait_until_free(port: int, timeout: float = 5.0) -> None:
    """The listener closes its socket in its own thread: wait for that, explicitly (as the
    listener binds: a connection in TIME_WAIT does not hold the port on Linux)."""
    end = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if sys.platform.startswith("linux"):
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                return
            except OSError:
                if time.monotonic() > end:
                    raise
        time.sleep(0.01)


def _browser_get(url: str) -> None:
    """What the browser does with the redirect: one GET to the listener (no proxy)."""
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def _local_login(ks: KernelSession) -> LoginFlow:
    flow = LoginFlow(ks, E.detect({}, modules={}), mode="local")
    flow.restart()
    return flow


def test_a_dynamic_registration_is_reused_on_the_port_it_registered():
    ks = KernelSession(environ={})
    ks.configure(profile="sandbox")
    try:
        sb = ks.sandbox
        first = _local_login(ks)
        registered = first.authorize_url and ks.pending.redirect_uri
        assert "Signed in" in first.complete_with_sandbox()
        first.close()
        assert ks.login_redirect() == registered
        port = int(registered.rsplit(":", 1)[1].split("/")[0])
        _wait_until_free(port)
        second = _local_login(ks)  # the port is free again: the same client, no registration
        assert ks.pending.redirect_uri == registered
        assert "Signed in" in second.complete_with_sandbox()
        second.close()
        assert len([r for r in sb.requests if r.path == "/register"]) == 1
        _wait_until_free(port)
        with socket.socket() as busy:  # someone else listens on that port now
            if sys.platform.startswith("linux"):
                busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            busy.bind(("127.0.0.1", port))
            busy.listen()
            third = _local_login(ks)
            assert ks.pending.redirect_uri != registered
            assert "Signed in" in third.complete_with_sandbox()
            third.close()
        assert len([r for r in sb.requests if r.path == "/register"]) == 2
    finally:
        ks.close()


def test_a_registration_kept_in_the_opt_in_store_is_reused_by_a_new_kernel(tmp_path):
    first = KernelSession(environ={})
    first.configure(profile="sandbox", token_store="file", token_file=str(tmp_path / "t.json"))
    try:
        sb = first.sandbox
        flow = _local_login(first)
        registered = first.pending.redirect_uri
        assert "Signed in" in flow.complete_with_sandbox()
        flow.close()
        again = KernelSession(environ={})  # a new kernel on the same store and server
        again.configure(
            flow="current",
            api_url=sb.url + "/v1",
            oauth_url=sb.url,
            token_store="file",
            token_file=str(tmp_path / "t.json"),
        )
        assert again.login_redirect() == registered
        _wait_until_free(int(registered.rsplit(":", 1)[1].split("/")[0]))
        flow = _local_login(again)
        assert again.pending.redirect_uri == registered
        assert again.pending.client_id == first.token.client_id
        _browser_get(sb.approve(flow.authorize_url))  # the consent, then the redirect
        assert "Signed in" in flow.status and again.token.client_id == first.token.client_id
        flow.close()
        assert len([r for r in sb.requests if r.path == "/register"]) == 1
    finally:
        first.close()
