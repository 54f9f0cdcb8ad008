"""The kernel session against the sandbox over real HTTP: both flows from a plain script,
failed logins that keep the previous token, refresh, logout, thread safety (issue 3)."""

from __future__ import annotations

import io
import logging
import threading
import time

import pytest
from support import FakeClock

from gitbook_nb import errors
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.protocol.tokens import Secret


def Clock() -> FakeClock:  # noqa: N802 - reads like the class it returns
    return FakeClock(time.time())


def current(sb, clock=None, **extra) -> KernelSession:
    ks = KernelSession(environ={}, clock=clock or Clock())
    ks.configure(
        flow="current",
        api_url=sb.url + "/v1",
        oauth_url=sb.url,
        redirect_uri=sb.redirect_uri,
        **extra,
    )
    return ks


def legacy(sb, secret=None, **extra) -> KernelSession:
    ks = KernelSession(environ={}, clock=Clock())
    ks.configure(
        profile="legacy",
        api_url=sb.url,
        authorize_url=sb.url + "/oauth/authorize",
        token_url=sb.url + "/oauth/access_token",
        client_id=sb.client_id,
        client_secret=Secret(secret or sb.client_secret),
        redirect_uri=sb.redirect_uri,
        **extra,
    )
    return ks


def sign_in(ks: KernelSession, sb) -> None:
    flow = ks.begin_login()
    ks.finish_login(sb.approve(flow.authorize_url))


def test_current_flow_from_a_script_walks_every_item(sb):
    ks = current(sb)
    sign_in(ks, sb)
    assert ks.whoami()["name"] == sb.user
    org = sb.ids["org"]
    first = ks.request("GET", f"/orgs/{org}/spaces")
    everything = ks.paginate(f"/orgs/{org}/spaces", limit=4)
    assert everything.pages > 1
    assert len(everything.rows) == everything.total == first.data["count"]
    assert len({row["id"] for row in everything.rows}) == len(everything.rows)


def test_legacy_flow_from_a_script_walks_every_item(sb):
    ks = legacy(sb)
    sign_in(ks, sb)
    assert ks.whoami()["name"] == sb.user
    books = ks.paginate("/books", limit=10)
    assert books.pages > 1
    assert len(books.rows) == books.total
    assert ks.status()["flow"] == "legacy"


def test_dynamic_registration_is_cached_per_issuer(sb):
    ks = current(sb)
    sign_in(ks, sb)
    sign_in(ks, sb)
    registrations = [r for r in sb.requests if r.method == "POST" and r.path == "/register"]
    assert len(registrations) == 1


def test_A2_a_new_login_cancels_the_old_one(sb):
    ks = current(sb)
    old = ks.begin_login()
    new = ks.begin_login()
    assert old.cancelled and not new.cancelled
    with pytest.raises(errors.FlowUsedError):
        ks.finish_login(sb.approve(old.authorize_url), flow=old)


def test_not_logged_in_is_one_clear_line(sb):
    ks = current(sb)
    with pytest.raises(errors.NotLoggedInError) as info:
        ks.request("GET", "/user")
    assert str(info.value) == (
        "not signed in: run %gitbook login (gitbook_nb.login() in Python), or set GITBOOK_TOKEN"
    )
    assert not [r for r in sb.requests if r.path == "/v1/user"]  # nothing was sent


def _works(ks: KernelSession) -> bool:
    """One authenticated call on whichever API the session's flow uses."""
    path = "/user" if ks.settings.flow == "current" else "/account"
    return ks.request("GET", path).status == 200


def test_failed_login_state_mismatch_keeps_previous_token(sb):
    ks = current(sb)
    sign_in(ks, sb)
    before = ks.token
    stray = ks.begin_login()
    stray_redirect = sb.approve(stray.authorize_url)
    ks.begin_login()  # the stray flow is cancelled: its redirect no longer matches
    with pytest.raises(errors.LoginError):
        ks.finish_login(stray_redirect)
    flow = ks.begin_login()
    redirect = sb.approve(flow.authorize_url).replace("state=", "state=x")
    with pytest.raises(errors.StateMismatchError):
        ks.finish_login(redirect)
    assert ks.token is before and _works(ks)


def test_failed_login_denied_keeps_previous_token(sb):
    ks = current(sb)
    sign_in(ks, sb)
    before = ks.token
    flow = ks.begin_login()
    sb.clear_log()
    with pytest.raises(errors.AccessDeniedError):
        ks.finish_login(sb.approve(flow.authorize_url, approve=False))
    assert not [r for r in sb.requests if r.path == "/token"]  # B4: nothing sent
    assert ks.token is before and _works(ks)


def test_failed_login_bad_secret_keeps_previous_token(sb):
    ks = legacy(sb)
    sign_in(ks, sb)
    before = ks.token
    flow = ks.begin_login()
    with pytest.raises(errors.TokenExchangeError):
        ks.finish_login(sb.approve(flow.authorize_url), client_secret=Secret("wrong-secret"))
    assert ks.token is before and _works(ks)


def test_failed_login_network_down_keeps_previous_token(sb):
    import socket

    ks = legacy(sb)
    sign_in(ks, sb)
    before = ks.token
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    flow = ks.begin_login(token_url=dead + "/oauth/access_token")
    with pytest.raises(errors.TransportError):
        ks.finish_login(sb.approve(flow.authorize_url))
    assert ks.token is before and _works(ks)


def test_bad_personal_token_keeps_previous_token(sb):
    ks = current(sb)
    ks.login_with_token(sb.personal_token)
    before = ks.token
    with pytest.raises(errors.AuthenticationError):
        ks.login_with_token("gb_api_thisisnotarealtoken0000")
    with pytest.raises(errors.LoginError):
        ks.login_with_token("  \u200b  ")
    assert ks.token is before and _works(ks)


def test_refresh_before_expiry_rotates_the_refresh_token(sb):
    clock = Clock()
    ks = current(sb, clock=clock)
    sign_in(ks, sb)
    first = ks.token
    clock.now = first.expires_at + 1  # our clock says expired; the call refreshes first
    assert _works(ks)
    second = ks.token
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert [r for r in sb.requests if r.path == "/token"]


def test_D5_refresh_once_on_401_then_log_in_again(sb):
    ks = current(sb)
    sign_in(ks, sb)
    sb.revoke_token(ks.token.access_token.reveal())  # the server forgets the access token
    assert _works(ks)  # one 401, one refresh, one retry
    pat = current(sb)
    pat.login_with_token(sb.mint_token())
    sb.revoke_token(pat.token.access_token.reveal())
    sb.clear_log()
    with pytest.raises(errors.AuthenticationError):
        pat.request("GET", "/user")
    assert len([r for r in sb.requests if r.path == "/v1/user"]) == 1  # no loop
    assert pat.token is None  # cleared for that host
    with pytest.raises(errors.NotLoggedInError):
        pat.request("GET", "/user")


def test_F4_logout_revokes_and_forgets(sb):
    ks = current(sb)
    sign_in(ks, sb)
    access = ks.token.access_token.reveal()
    out = ks.logout()
    assert out["revoked"] and ks.token is None
    import requests

    answer = requests.get(
        sb.url + "/v1/user", headers={"Authorization": f"Bearer {access}"}, timeout=5
    )
    assert answer.status_code == 401


def test_env_token_is_used_with_a_note(sb):
    ks = KernelSession(environ={"GITBOOK_TOKEN": sb.personal_token})
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
    assert ks.token_from_env_note()
    assert ks.whoami()["name"] == sb.user
    assert ks.status()["token_stored_in"] == "environment variable GITBOOK_TOKEN"
    assert ks.logout()["note"]  # the environment still has it: say so


def test_F1_persistent_store_refused_on_binder(sb, tmp_path):
    ks = KernelSession(
        environ={
            "BINDER_LAUNCH_HOST": "https://mybinder.org/",
            "JUPYTERHUB_SERVICE_PREFIX": "/user/x/",
        }
    )
    ks.configure(
        flow="current",
        api_url=sb.url + "/v1",
        oauth_url=sb.url,
        token_store="file",
        token_file=str(tmp_path / "t.json"),
    )
    with pytest.raises(errors.ConfigError):
        ks.login_with_token(sb.personal_token)
    assert not (tmp_path / "t.json").exists()


def test_F4_file_store_status_and_logout_remove_it_everywhere(sb, tmp_path):
    path = tmp_path / "gitbook" / "tokens.json"
    ks = KernelSession(environ={})
    ks.configure(
        flow="current",
        api_url=sb.url + "/v1",
        oauth_url=sb.url,
        token_store="file",
        token_file=str(path),
    )
    ks.login_with_token(sb.personal_token)
    assert "file" in ks.status()["token_stored_in"]
    # a new kernel with the same opt-in reads it back
    again = KernelSession(environ={})
    again.configure(
        flow="current",
        api_url=sb.url + "/v1",
        oauth_url=sb.url,
        token_store="file",
        token_file=str(path),
    )
    assert again.whoami()["name"] == sb.user
    again.logout()
    assert not path.exists() or sb.personal_token not in path.read_text()
    third = KernelSession(environ={})
    third.configure(
        flow="current",
        api_url=sb.url + "/v1",
        oauth_url=sb.url,
        token_store="file",
        token_file=str(path),
    )
    assert third.token is None


def test_E1_session_repr_and_vars_show_no_secret(sb):
    ks = current(sb)
    sign_in(ks, sb)
    text = repr(ks) + repr(vars(ks)) + repr(ks.status()) + repr(ks.history())
    assert ks.token.access_token.reveal() not in text
    assert ks.token.refresh_token.reveal() not in text


def test_E3_nothing_secret_is_logged_at_debug(sb):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        ks = legacy(sb)
        flow = ks.begin_login()
        redirect = sb.approve(flow.authorize_url)
        ks.finish_login(redirect)
        ks.request("GET", "/account")
        secrets_seen = [
            ks.token.access_token.reveal(),
            sb.client_secret,
            flow.verifier.reveal(),
            flow.state.reveal(),
        ]
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    logged = stream.getvalue()
    assert logged  # urllib3 and friends did log at DEBUG
    for secret in secrets_seen:
        assert secret not in logged


def test_G2_eight_threads_share_one_session_without_mixups(sb):
    ks = current(sb)
    token = sb.mint_token()
    ks.login_with_token(token)
    sb.clear_log()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(500):
                result = ks.request("GET", "/user")
                assert result.data["displayName"] == sb.user
        except BaseException as err:  # collected and asserted below
            failures.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    calls = [r for r in sb.requests if r.path == "/v1/user"]
    assert len(calls) == 4000
    assert {r.headers.get("Authorization") for r in calls} == {f"Bearer {token}"}


def test_D3_gitbook_token_is_never_sent_to_the_sandbox():
    ks = KernelSession(environ={"GITBOOK_TOKEN": "gb_api_realtokenforgitbook0000"})
    try:
        ks.configure(profile="sandbox")
        assert ks.token is None and ks.token_from_env_note() is None
        sb = ks.sandbox
        with pytest.raises(errors.NotLoggedInError):
            ks.request("GET", "/user")
        assert not [r for r in sb.requests if "realtoken" in str(r.headers)]
    finally:
        ks.close()


def test_history_keeps_the_status_of_failed_calls_and_no_secret(sb):
    ks = current(sb)
    ks.login_with_token(sb.personal_token)
    with pytest.raises(errors.NotFoundError):
        ks.request("GET", "/spaces/does-not-exist", params={"q": "x"})
    ks.paginate(f"/orgs/{sb.ids['org']}/spaces", limit=20)
    last_two = ks.history()[-2:]
    assert [(h["method"], h["path"], h["status"]) for h in last_two] == [
        ("GET", "/spaces/does-not-exist", 404),
        ("GET", f"/orgs/{sb.ids['org']}/spaces", 200),
    ]
    assert last_two[1]["pages"] > 1
    assert sb.personal_token not in repr(ks.history())


def test_current_flow_paste_mode_needs_no_configured_redirect(sb):
    ks = KernelSession(environ={}, clock=Clock())
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
    flow = ks.begin_login()
    assert flow.redirect_uri == "http://127.0.0.1/callback"
    redirected = sb.approve(flow.authorize_url)  # the browser would fail to load it: copy it
    assert redirected.startswith("http://127.0.0.1/callback?")
    ks.finish_login(redirected)
    assert ks.whoami()["name"] == sb.user


def test_A4_second_paste_of_a_used_flow_says_used_even_when_bound(sb):
    ks = legacy(sb)
    flow = ks.begin_login()
    redirected = sb.approve(flow.authorize_url)
    with pytest.raises(errors.TokenExchangeError):
        ks.finish_login(redirected, flow=flow, client_secret=Secret("wrong"))
    sb.clear_log()
    with pytest.raises(errors.FlowUsedError) as info:
        ks.finish_login(redirected, flow=flow)
    assert "newer" not in str(info.value)
    assert sb.requests == []  # refused locally


def test_D5_whoami_401_clears_the_token(sb):
    """whoami uses its own throwaway client; its 401 must clear the token like any call's."""
    ks = current(sb)
    ks.login_with_token(sb.mint_token())
    sb.revoke_token(ks.token.access_token.reveal())
    sb.clear_log()
    with pytest.raises(errors.AuthenticationError, match="log in again"):
        ks.whoami()
    assert len([r for r in sb.requests if r.path == "/v1/user"]) == 1  # no loop
    assert ks.token is None  # cleared for that host
    with pytest.raises(errors.NotLoggedInError):
        ks.whoami()


def test_D5_whoami_401_refreshes_an_oauth_token_once(sb):
    ks = current(sb)
    sign_in(ks, sb)
    first = ks.token
    sb.revoke_token(first.access_token.reveal())
    assert ks.whoami()["name"] == sb.user  # one 401, one refresh, one retry
    assert ks.token is not None and ks.token.access_token != first.access_token


def test_D5_a_refreshed_token_that_is_refused_too_is_forgotten(sb):
    ks = current(sb)
    sign_in(ks, sb)
    sb.add_fault("revoked", path="/v1/user")  # every token is refused on this path
    with pytest.raises(errors.AuthenticationError):
        ks.request("GET", "/user")
    refreshes = [r for r in sb.requests if r.path == "/token"]
    assert len(refreshes) == 2  # the sign-in, then exactly one refresh: no loop
    assert ks.token is None  # the refreshed token died too: nothing stale is kept
    with pytest.raises(errors.NotLoggedInError):
        ks.request("GET", "/user")


def test_F4_logout_forgets_every_token_kept_for_the_api(sb):
    ks = current(sb)
    ks.login_with_token(sb.mint_token())  # a personal token...
    sign_in(ks, sb)  # ...and then an OAuth login for the same API
    out = ks.logout()
    assert out["revoked"] and out["was_signed_in"]
    assert ks.token is None  # the personal token did not take over


def test_D5_refresh_on_401_works_with_a_token_read_back_from_the_file_store(sb, tmp_path):
    store = {"token_store": "file", "token_file": str(tmp_path / "tokens.json")}
    first_kernel = current(sb, **store)
    sign_in(first_kernel, sb)
    first = first_kernel.token.access_token.reveal()
    ks = current(sb, **store)  # a new kernel: the token comes from the file, a copy per read
    sb.revoke_token(first)
    assert _works(ks)  # one 401, one refresh from the stored refresh token, one retry
    assert ks.token.access_token.reveal() != first


def test_F4_a_logout_elsewhere_is_seen_before_anything_is_sent(sb, tmp_path):
    """A token read back from the file store is used from memory while the file is unchanged
    (one stat per call); once another kernel removed it, this one says "not signed in"."""
    store = {"token_store": "file", "token_file": str(tmp_path / "tokens.json")}
    first = current(sb, **store)
    first.login_with_token(sb.personal_token)
    ks = current(sb, **store)
    assert _works(ks) and _works(ks)
    first.logout()  # the other kernel signs out: the file no longer holds the token
    sb.clear_log()
    with pytest.raises(errors.NotLoggedInError):
        ks.request("GET", "/user")
    assert sb.requests == []  # nothing sent with a token that was signed out
