"""The login widget, headless (set ``.value``, call ``.click()``), against the sandbox over HTTP.

Each test gets its own KernelSession (and so its own sandbox for the sandbox profiles), so
a stopped sandbox or a used flow never leaks into the next test.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from ipywidgets.embed import embed_data

from gitbook_nb.errors import LoginError
from gitbook_nb.kernel import environment as E
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.notebook.widget import LoginWidget, NoStdinError, login

LOCAL = E.detect({}, modules={})
HUB = E.detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}, modules={})
HTTP = requests.Session()
HTTP.trust_env = False


@pytest.fixture
def ks() -> Iterator[KernelSession]:
    s = KernelSession(environ=dict(os.environ))
    yield s
    s.close()


@pytest.fixture
def made() -> Iterator[list[LoginWidget]]:
    widgets: list[LoginWidget] = []
    yield widgets
    for w in widgets:
        w.close()


@pytest.fixture
def make(made):
    def _make(
        session: KernelSession, *, env: E.Environment = LOCAL, mode: str | None = None, **settings
    ) -> LoginWidget:
        w = login(session=session, environment_=env, mode=mode, display=False, **settings)
        made.append(w)
        return w

    return _make


class FakeTimers:
    """The widget's timer factory, fired by the test instead of by the clock."""

    def __init__(self) -> None:
        self.timers: list[FakeTimers.Timer] = []

    class Timer:
        def __init__(self, seconds: float, function) -> None:
            self.seconds, self.function, self.live = seconds, function, False

        def start(self) -> None:
            self.live = True

        def cancel(self) -> None:
            self.live = False

    def __call__(self, seconds: float, function) -> FakeTimers.Timer:
        t = FakeTimers.Timer(seconds, function)
        self.timers.append(t)
        return t

    def pending(self, at_least: float = 0.0) -> list[FakeTimers.Timer]:
        return [t for t in self.timers if t.live and t.seconds >= at_least]

    def fire(self, at_least: float = 0.0) -> None:
        """Run the live timers of at least ``at_least`` seconds (each once)."""
        for t in self.pending(at_least):
            t.live = False
            t.function()


def start_link(w: LoginWidget) -> tuple[int, str]:
    """(port, nonce) of a proxy-mode widget's /start link, read from what the widget shows."""
    m = re.search(r'href="/user/ada/proxy/([0-9]+)/start\?n=([A-Za-z0-9_-]+)"', w.link.value)
    assert m, w.link.value
    return int(m.group(1)), m.group(2)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def dump_state() -> str:
    return json.dumps(embed_data(views=None)["manager_state"])


def assert_clean(*values: str) -> None:
    """E4: none of these strings sits in any widget trait."""
    dump = dump_state()
    for v in values:
        assert v and v not in dump


def visible(w: LoginWidget) -> list:
    """The widgets the person sees now (the box's children, rows opened up)."""
    out = []
    for child in w.box.children:
        out.extend(child.children if hasattr(child, "children") else [child])
    return out


def signed_in(w: LoginWidget, who: str) -> None:
    """The signed-in state: one line and Sign out, nothing else; the link (with state) gone."""
    assert w.state == "signed-in"
    assert w.status.startswith(f"Signed in as {who} on 127.0.0.1:"), w.status
    assert visible(w) == [w.status_line, w.sign_out_button]
    assert "Signed in as" in w.status_line.value and "this kernel session" in w.status_line.value
    assert w.address.value == "" and w.link.value == ""


def listener_port(url: str) -> int:
    """The loopback listener's port, read from an authorize URL's redirect_uri."""
    return int(urlsplit(query(url)["redirect_uri"][0]).port)


# --------------------------------------------------------------------------- success
def test_A9_listener_completes_current_login_with_no_paste(ks, make):
    w = make(ks, profile="sandbox")
    assert w.mode == "local"
    assert "Local mode: this notebook catches GitBook&#x27;s answer" in w.mode_line.value
    assert w.state == "waiting" and w.link in visible(w) and w.cancel_button in visible(w)
    assert w.address not in visible(w) and w.paste_toggle in visible(w)  # paste: a fallback
    assert "the embedded sandbox (current OAuth)" in w.title.value
    sb = ks.sandbox
    redirected = sb.approve(w.authorize_url)
    assert redirected.startswith(query(w.authorize_url)["redirect_uri"][0] + "?")
    r = HTTP.get(redirected, timeout=30)
    assert r.status_code == 200 and "Signed in as Ada Lovelace" in r.text
    signed_in(w, sb.user)
    assert ks.whoami()["name"] == sb.user


def test_A8_link_opens_a_new_tab_and_says_paste_only_here(ks, make):
    w = make(ks, profile="sandbox")
    link = w.link.value
    assert 'target="_blank"' in link and 'rel="noopener noreferrer"' in link
    assert "Sign in with GitBook" in link and "<iframe" not in dump_state()
    assert "only into this notebook" in w.hint.value
    # the href is escaped: & in the query becomes &amp;
    assert w.authorize_url.replace("&", "&amp;") in link


def test_current_flow_paste_success(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    assert w.state == "ready" and w.address in visible(w) and w.paste_toggle not in visible(w)
    assert w.cancel_button not in visible(w)  # nothing to wait for: the paste comes with a click
    status = w.submit(ks.sandbox.approve(w.authorize_url))
    signed_in(w, ks.sandbox.user)
    assert status == w.status


def test_legacy_sandbox_listener_and_paste(ks, make):
    w = make(ks, profile="sandbox-legacy")
    assert w.mode == "local" and "legacy web flow" in w.title.value
    assert w.complete_with_sandbox().startswith("Signed in as Ada Lovelace")
    w2 = make(ks, mode="paste", profile="sandbox-legacy")
    assert w2.complete_with_sandbox().startswith("Signed in as Ada Lovelace")
    signed_in(w2, ks.sandbox.user)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def legacy_settings(sb, redirect_uri: str) -> dict:
    """A "registered app" on the shared sandbox, configured like a real legacy app."""
    sb.register_redirect_uri(redirect_uri)
    return {
        "profile": "legacy",
        "api_url": sb.url,
        "authorize_url": f"{sb.url}/oauth/authorize",
        "token_url": f"{sb.url}/oauth/access_token",
        "client_id": sb.client_id,
        "redirect_uri": redirect_uri,
    }


def test_legacy_app_secret_from_env_and_its_fixed_loopback_redirect(sb, make):
    """GITBOOK_CLIENT_SECRET; the app's fixed redirect URI is a loopback port: no paste."""
    fixed = f"http://127.0.0.1:{_free_port()}/gitbook-cb"
    env = {**os.environ, "GITBOOK_CLIENT_SECRET": sb.client_secret}
    session = KernelSession(environ=env)
    try:
        w = make(session, **legacy_settings(sb, fixed))
        assert w.mode == "local" and query(w.authorize_url)["redirect_uri"] == [fixed]
        assert w.secret not in visible(w)  # the secret came from the environment
        r = HTTP.get(sb.approve(w.authorize_url), timeout=30)
        assert r.status_code == 200
        signed_in(w, sb.user)
        assert_clean(sb.client_secret, session.token.access_token.reveal())
    finally:
        session.close()


def test_legacy_app_with_another_redirect_is_paste_mode(sb, make):
    session = KernelSession(environ={**os.environ, "GITBOOK_CLIENT_SECRET": sb.client_secret})
    try:
        w = make(session, **legacy_settings(sb, "https://app.example.org/oauth/done"))
        assert w.mode == "paste" and "fixed by its registration" in w.mode_line.value
    finally:
        session.close()


def test_E4_legacy_secret_via_password_fallback_is_cleared(sb, make):
    session = KernelSession(environ=dict(os.environ))
    try:
        w = make(session, mode="paste", **legacy_settings(sb, sb.redirect_uri))
        # no kernel here, so getpass is impossible and the Password box is shown instead
        assert w.secret in visible(w)
        redirected = sb.approve(w.authorize_url)
        assert "client secret" in w.submit(redirected)  # asks for it, nothing consumed
        assert not session.pending.used
        w.secret.value = sb.client_secret
        verifier = session.pending.verifier.reveal()
        w.submit(redirected)
        signed_in(w, sb.user)
        assert w.secret.value == "" and w.secret not in visible(w)
        q = query(redirected)
        assert_clean(
            sb.client_secret,
            q["code"][0],
            q["state"][0],
            session.token.access_token.reveal(),
            verifier,
        )
    finally:
        session.close()


def test_password_fallback_with_listener_holds_the_redirect(sb, make):
    """The redirect arrives before the secret: kept in memory, finished on the click."""
    fixed = f"http://127.0.0.1:{_free_port()}/cb2"
    session = KernelSession(environ=dict(os.environ))
    try:
        w = make(session, **legacy_settings(sb, fixed))
        r = HTTP.get(sb.approve(w.authorize_url), timeout=30)
        assert "client secret" in r.text and "client secret" in w.status
        w.secret.value = sb.client_secret
        w.finish_button.click()  # empty box: uses the held redirect
        signed_in(w, sb.user)
        assert "Already signed in" in w.submit("")  # the held redirect was used, then dropped
    finally:
        session.close()


def test_secret_from_getpass_prompt(sb, made):
    session = KernelSession(environ=dict(os.environ))
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return sb.client_secret

    try:
        session.configure(**legacy_settings(sb, sb.redirect_uri))
        w = LoginWidget(session=session, environment_=LOCAL, mode="paste", secret_prompt=prompt)
        made.append(w)
        assert asked and sb.client_id in asked[0]
        assert w.secret not in visible(w)
        w.submit(sb.approve(w.authorize_url))
        signed_in(w, sb.user)
        assert sb.client_secret not in dump_state()
        w.sign_out_button.click()
        w.start_again.click()  # a button callback never prompts (no stdin there)
        assert len(asked) == 1 and w.secret in visible(w)  # dropped after use: asked in the box
    finally:
        session.close()


def test_no_stdin_prompt_falls_back_to_password(sb, made):
    session = KernelSession(environ=dict(os.environ))

    def no_stdin(text: str) -> str:
        raise NoStdinError

    try:
        session.configure(**legacy_settings(sb, sb.redirect_uri))
        w = LoginWidget(session=session, environment_=LOCAL, mode="paste", secret_prompt=no_stdin)
        made.append(w)
        assert w.secret in visible(w)
    finally:
        session.close()


# --------------------------------------------------------------------------- failures
def failed(w: LoginWidget, *words: str) -> None:
    assert w.status.startswith("Sign-in failed: "), w.status
    assert "\n" not in w.status and "Traceback" not in w.status
    for word in words:
        assert word in w.status, (word, w.status)
    assert w.address.value == ""  # E4: cleared after a failed submit too


def test_B6_state_mismatch_from_another_flow(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    parts = urlsplit(w.authorize_url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q["state"] = secrets.token_urlsafe(32)  # a login this widget did not start
    other = sb_approve(ks, urlunsplit(parts._replace(query=urlencode(q))))
    w.submit(other)
    failed(w, "state", "start a new login")
    assert "href" not in w.link.value  # the flow is over: the link (with its state) is gone
    assert ks.token is None


def sb_approve(ks: KernelSession, url: str, approve: bool = True) -> str:
    return ks.sandbox.approve(url, approve=approve)


def test_A3_expired_flow_is_refused_without_a_request(make):
    now = [1_000_000.0]
    session = KernelSession(environ=dict(os.environ), clock=lambda: now[0])
    try:
        w = make(session, mode="paste", profile="sandbox")
        redirected = sb_approve(session, w.authorize_url)
        session.sandbox.clear_log()
        now[0] += 601
        w.submit(redirected)
        failed(w, "older than 10 minutes")
        assert w.link.value == "" and w.state == "failed"
        assert not [r for r in session.sandbox.requests if "token" in r.path]
    finally:
        session.close()


def test_expiry_timer_ends_the_login_and_removes_the_link(ks, made):
    timers = FakeTimers()
    w = LoginWidget(session=ks, environment_=LOCAL, timer_factory=timers, secret_prompt=None)
    made.append(w)
    ks.configure(profile="sandbox")
    w.restart()
    url = w.authorize_url
    assert timers.pending(500) and w.state == "waiting"
    timers.fire(500)  # what the timer runs after 10 minutes
    assert w.state == "failed" and w.failure == "expired" and "expired" in w.status
    assert w.link.value == "" and visible(w) == [w.status_line, w.start_again]
    assert not timers.pending() and url not in dump_state()  # countdown stopped, link gone
    w.start_again.click()
    assert w.state == "waiting" and w.authorize_url not in (None, url)


def test_A4_second_paste_fails_locally(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    good = sb_approve(ks, w.authorize_url)
    q = query(good)
    w.submit(good.replace(q["state"][0], "x" + q["state"][0][1:]))  # reaches the state check
    failed(w, "state")
    w.submit(good)
    failed(w, "already used")
    assert ks.token is None


def test_paste_after_success_is_refused(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    good = sb_approve(ks, w.authorize_url)
    w.submit(good)
    tok = ks.token
    assert "Already signed in" in w.submit(good)
    assert ks.token is tok


def test_B4_denied_consent(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    w.submit(sb_approve(ks, w.authorize_url, approve=False))
    failed(w, "declined", "Start again")
    assert "Approve" not in w.status  # that page is gone: the next step is here
    assert w.state == "failed" and w.failure == "denied"
    assert visible(w) == [w.status_line, w.start_again]
    assert ks.token is None


def test_B4_denied_consent_through_the_listener(ks, make):
    w = make(ks, profile="sandbox")
    r = HTTP.get(sb_approve(ks, w.authorize_url, approve=False), timeout=30)
    assert "Sign-in failed" in r.text
    failed(w, "declined")


def test_C4_wrong_secret(sb, make):
    session = KernelSession(environ={**os.environ, "GITBOOK_CLIENT_SECRET": "wrong-" + "x" * 20})
    try:
        w = make(session, mode="paste", **legacy_settings(sb, sb.redirect_uri))
        w.submit(sb.approve(w.authorize_url))
        failed(w)
        assert "client" in w.status.lower() and "wrong-" not in w.status
        assert session.token is None and "href" not in w.link.value
    finally:
        session.close()


def test_wrong_typed_secret_asks_again(sb, make):
    session = KernelSession(environ=dict(os.environ))
    try:
        w = make(session, mode="paste", **legacy_settings(sb, sb.redirect_uri))
        w.secret.value = "not-the-secret"
        w.submit(sb.approve(w.authorize_url))
        failed(w)
        assert w.secret.value == "" and w.secret in visible(w)
        w.start_again.click()  # a fresh login in the same widget
        assert w.authorize_url is not None and "href" in w.link.value
        w.secret.value = sb.client_secret
        w.submit(sb.approve(w.authorize_url))
        signed_in(w, sb.user)
    finally:
        session.close()


def test_network_error_is_one_line_with_next_step(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    redirected = sb_approve(ks, w.authorize_url)
    ks.sandbox.stop()  # the token endpoint is gone
    w.submit(redirected)
    failed(w, "network")
    assert ks.token is None


def test_paste_into_an_old_widget_after_a_new_login(ks, make):
    old = make(ks, mode="paste", profile="sandbox")
    old_url = old.authorize_url
    new = make(ks, mode="paste", profile="sandbox")
    old.submit(sb_approve(ks, old_url))
    failed(old, "replaced by a newer one")
    new.submit(sb_approve(ks, new.authorize_url))
    signed_in(new, ks.sandbox.user)


def test_old_widget_listener_after_a_new_login(ks, make):
    old = make(ks, profile="sandbox")
    old_url = old.authorize_url
    new = make(ks, profile="sandbox")
    HTTP.get(sb_approve(ks, old_url), timeout=30)
    failed(old, "replaced by a newer one")
    assert new.complete_with_sandbox().startswith("Signed in as")


def test_B1_malformed_paste_keeps_the_flow(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    good = sb_approve(ks, w.authorize_url)
    assert "Paste the address" in w.submit("  ")
    w.submit(good + "\u200b")
    failed(w, "U+200B")
    assert "href" in w.link.value and not ks.pending.used  # not consumed: try again
    w.submit(good)
    signed_in(w, ks.sandbox.user)


def test_unexpected_exception_is_shown_without_its_text(ks, make):
    class Broken(KernelSession):
        def finish_login(self, text, **kw):
            raise RuntimeError(f"leaks {text}")

    session = Broken(environ=dict(os.environ))
    try:
        w = make(session, mode="paste", profile="sandbox")
        w.submit("http://127.0.0.1:1/callback?code=SECRETCODE&state=s")
        assert "RuntimeError" in w.status and "SECRETCODE" not in w.status
        assert "SECRETCODE" not in dump_state()
    finally:
        session.close()


def test_submit_before_start_in_proxy_mode(ks, make):
    w = make(ks, env=HUB, profile="sandbox")
    assert w.mode == "proxy" and w.authorize_url is None
    assert "Click" in w.submit("http://127.0.0.1:1/callback?code=abc&state=x")


# --------------------------------------------------------------------------- run-all safety
def test_gitbook_token_skips_the_login(sandbox, make):
    env = {
        **os.environ,
        "GITBOOK_TOKEN": sandbox.personal_token,
        "GITBOOK_API_URL": sandbox.url + "/v1",
    }
    session = KernelSession(environ=env)
    try:
        w = make(session)
        assert w.mode == "env" and w.state == "env" and session.pending is None
        assert "using GITBOOK_TOKEN from the environment" in w.status
        assert w.status.startswith(f"Signed in as {sandbox.user} on ")
        assert visible(w) == [w.status_line, w.mode_line] and w.link.value == ""
        assert sandbox.personal_token not in dump_state()
    finally:
        session.close()


# --------------------------------------------------------------------------- proxy mode
def test_proxy_mode_builds_a_relative_start_link(ks, make):
    w = make(ks, env=HUB, profile="sandbox")
    assert w.mode == "proxy"
    assert "Proxy mode: the answer comes back through the Jupyter server" in w.mode_line.value
    assert "JupyterHub with jupyter-server-proxy installed" in w.mode_line.value
    assert w.state == "ready" and w.authorize_url is None
    assert re.search(r'href="/user/ada/proxy/[0-9]+/start\?n=[A-Za-z0-9_-]{20,}"', w.link.value)


@pytest.mark.parametrize("profile", ["sandbox", "sandbox-legacy"])
def test_proxy_mode_login_as_the_browser_would_do_it(ks, make, profile):
    """/start through a (simulated) proxy: public redirect URI, sandbox consent, callback."""
    w = make(ks, env=HUB, profile=profile)
    port, nonce = start_link(w)
    headers = {
        "Host": "hub.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Context": f"/user/ada/proxy/{port}",
    }
    r = HTTP.get(
        f"http://127.0.0.1:{port}/start?n={nonce}",
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text
    sb = ks.sandbox
    location = r.headers["Location"]
    assert location.startswith(f"https://hub.example.org/user/ada/proxy/{sb.port}/")
    public_cb = f"https://hub.example.org/user/ada/proxy/{port}/callback"
    assert ks.pending.redirect_uri == public_cb
    assert w.state == "waiting" and "Waiting for GitBook" in w.status  # the click was seen
    kernel_side = E.local_url(location.removeprefix("https://hub.example.org"), HUB)
    redirected = sb.approve(kernel_side)
    assert redirected.startswith(public_cb + "?")
    # the proxy would strip its prefix: the listener sees /callback?...
    r = HTTP.get(f"http://127.0.0.1:{port}/callback?{urlsplit(redirected).query}", timeout=30)
    assert "Signed in as" in r.text
    signed_in(w, sb.user)
    q = query(redirected)
    assert_clean(q["code"][0], q["state"][0], nonce, ks.token.access_token.reveal())


def test_proxy_mode_complete_with_sandbox(ks, make):
    w = make(ks, env=HUB, profile="sandbox")
    assert w.complete_with_sandbox().startswith("Signed in as")


def test_paste_mode_on_colab_says_why(ks, make):
    w = make(ks, env=E.detect({"COLAB_RELEASE_TAG": "x"}, modules={}), profile="sandbox")
    assert w.mode == "paste"
    assert "Paste mode, because Colab" in w.mode_line.value


# --------------------------------------------------------------------------- E4
def test_E4_embed_data_clean_after_a_full_listener_login(ks, make):
    w = make(ks, profile="sandbox")
    verifier, state = ks.pending.verifier.reveal(), ks.pending.state.reveal()
    assert state in dump_state()  # while pending the link holds the state (unavoidable)
    redirected = sb_approve(ks, w.authorize_url)
    HTTP.get(redirected, timeout=30)
    signed_in(w, ks.sandbox.user)
    tok = ks.token
    assert_clean(
        query(redirected)["code"][0],
        state,
        verifier,
        tok.access_token.reveal(),
        tok.refresh_token.reveal(),
    )


def test_close_cancels_and_removes_the_views(ks, make):
    w = make(ks, profile="sandbox")
    flow, url = ks.pending, w.authorize_url
    w.close()
    assert flow.cancelled and w.box.comm is None
    with pytest.raises(requests.ConnectionError):  # the listener is closed
        HTTP.get(query(url)["redirect_uri"][0] + "?code=x&state=y", timeout=5)


def test_login_displays_once(ks, capsys, made):
    w = login(session=ks, environment_=LOCAL, mode="paste", profile="sandbox")
    made.append(w)
    assert "<gitbook_nb login widget>" in capsys.readouterr().out  # no kernel: the repr
    w._ipython_display_()  # the cell's value: not drawn a second time
    assert capsys.readouterr().out == ""
    assert "mode='paste'" in repr(w) and ks.pending.state.reveal() not in repr(w)


# --------------------------------------------------------------------------- E4, saved notebook
NOTEBOOK_CELLS = [
    "import json, os, requests\nimport gitbook_nb\n"
    "from gitbook_nb.kernel.session import get_session",
    "w = gitbook_nb.login(profile='sandbox')\nw.mode",
    # what the user's browser does: consent on the sandbox, then the redirect hits the listener
    "sb = get_session().sandbox\nflow = get_session().pending\n"
    "redirected = sb.approve(w.authorize_url)\n"
    "http = requests.Session()\nhttp.trust_env = False\n"
    "_ = http.get(redirected, timeout=30)\nw.status",
    "first = {'code': redirected, 'verifier': flow.verifier.reveal(),\n"
    "         'state': flow.state.reveal(),\n"
    "         'token': get_session().token.access_token.reveal()}\n"
    "del redirected, flow",
    "w2 = gitbook_nb.login(profile='sandbox-legacy')\nw2.complete_with_sandbox()",
    "with open(os.environ['GBNB_SECRETS_OUT'], 'w') as f:\n"
    "    json.dump({**first, 'token2': get_session().token.access_token.reveal(),\n"
    "               'client_secret': sb.client_secret}, f)",
]


def test_E4_notebook_saved_with_widget_state_has_no_secret(tmp_path, monkeypatch):
    """nbclient executes a login notebook with store_widget_state=True (the default)."""
    import nbformat
    from nbclient import NotebookClient

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", root)
    monkeypatch.setenv("GBNB_SECRETS_OUT", str(tmp_path / "secrets.json"))
    for name in list(os.environ):  # the kernel must see a local machine
        if name.startswith(("JUPYTERHUB_", "BINDER_", "VSCODE_", "COLAB_")):
            monkeypatch.delenv(name)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        nb,
        timeout=120,
        startup_timeout=60,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": tmp_path}},
    )
    client.execute()
    saved = nbformat.writes(nb)
    (tmp_path / "executed.ipynb").write_text(saved)

    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    # Kernel gone: what the saved notebook shows of the sign-in is tied to the kernel that did
    # it, never a bare status a later reader (or a restarted kernel) would take as current.
    lines = [json.dumps(m) for m in state.values() if "Signed in as Ada Lovelace" in json.dumps(m)]
    assert lines and all("this kernel session; a restart signs out" in x for x in lines)
    assert not any("Sign in with GitBook" in json.dumps(m) for m in state.values())
    assert "'local'" in json.dumps(nb.cells[1].outputs)
    assert "Signed in as Ada Lovelace" in json.dumps(nb.cells[4].outputs)
    found = json.loads((tmp_path / "secrets.json").read_text())
    q = query(found.pop("code"))
    found.update(code=q["code"][0], state2=q["state"][0])
    assert found["state"] == found["state2"]
    for name, value in found.items():
        assert value and value not in saved, f"{name} leaked into the saved notebook"


def test_paste_mode_current_flow_without_a_configured_redirect(sb, make):
    """Colab-like front ends: paste mode with a public client and no redirect URI configured."""
    session = KernelSession(environ={})
    try:
        w = make(session, mode="paste", flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback" in w.authorize_url
        w.submit(sb.approve(w.authorize_url))
        signed_in(w, sb.user)
    finally:
        session.close()


def test_E3_sandbox_stand_in_logs_no_code_or_state(ks, make, caplog):
    """The sandbox stand-in for the click delivers the redirect without logging its query."""
    import logging

    with caplog.at_level(logging.DEBUG):
        w = make(ks, profile="sandbox")
        assert w.mode == "local"
        flow_state = ks.pending.state.reveal()
        assert w.complete_with_sandbox().startswith("Signed in as")
        token = ks.token.access_token.reveal()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/callback" not in logged or "code=" not in logged
    assert flow_state not in logged and token not in logged


# --------------------------------------------------------------------------- states (issue 14)
def deliver_in_thread(ks: KernelSession, w: LoginWidget, approve: bool = True) -> threading.Thread:
    """What the user's browser does while a cell waits: consent, then the redirect."""
    url = w.authorize_url

    def run() -> None:
        HTTP.get(ks.sandbox.approve(url, approve=approve), timeout=30)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_ready_in_paste_mode_shows_the_link_button_and_the_paste_box(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    assert w.state == "ready"
    assert 'class="jupyter-button widget-button mod-primary"' in w.link.value  # a button look
    assert visible(w)[:3] == [w.title, w.link, w.mode_line]
    assert w.address in visible(w) and w.finish_button in visible(w)


def test_paste_fallback_is_behind_a_toggle_in_local_mode(ks, make):
    w = make(ks, profile="sandbox")
    assert w.address not in visible(w) and w.finish_button not in visible(w)
    w.paste_toggle.click()
    assert w.address in visible(w) and w.finish_button in visible(w)
    w.submit(ks.sandbox.approve(w.authorize_url))  # pasting works in local mode too
    signed_in(w, ks.sandbox.user)


def test_waiting_shows_a_countdown_and_cancel(ks, made):
    timers = FakeTimers()
    ks.configure(profile="sandbox")
    w = LoginWidget(session=ks, environment_=LOCAL, timer_factory=timers, secret_prompt=None)
    made.append(w)
    assert w.state == "waiting" and "Waiting for GitBook" in w.status
    assert re.search(r">(9:5[0-9]|10:00) left<", w.countdown.value), w.countdown.value
    ticks = [t for t in timers.pending() if t.seconds == 1.0]
    assert len(ticks) == 1
    ticks[0].live = False
    ticks[0].function()  # one second later: the countdown re-arms itself
    assert len([t for t in timers.pending() if t.seconds == 1.0]) == 1


def test_cancel_ends_the_login_and_offers_start_again(ks, make):
    w = make(ks, profile="sandbox")
    flow, url = ks.pending, w.authorize_url
    w.cancel_button.click()
    assert w.state == "failed" and w.failure == "cancelled" and "cancelled" in w.status
    assert flow.cancelled and visible(w) == [w.status_line, w.start_again]
    assert url not in dump_state()
    w.start_again.click()
    assert w.state == "waiting"
    assert w.complete_with_sandbox().startswith("Signed in as")


def test_a_second_login_retires_the_first_widget(ks, make):
    old = make(ks, profile="sandbox")
    new = make(ks, profile="sandbox")
    assert old.state == "failed" and old.failure == "replaced" and "newer" in old.status
    assert new.state == "waiting"
    assert new.complete_with_sandbox().startswith("Signed in as")


def test_sign_out_from_the_widget(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    w.complete_with_sandbox()
    w.sign_out_button.click()
    assert w.state == "signed-out" and w.status.startswith("Signed out of 127.0.0.1:")
    assert ks.token is None and w.start_again.description == "Sign in again"
    w.start_again.click()
    assert w.state == "ready"


def test_kernel_stop_marks_a_signed_in_widget(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    w.complete_with_sandbox()
    w.mark_stopped()  # what the kernel's exit hook calls for every login widget
    assert w.state == "stopped" and "This kernel has stopped" in w.status
    assert "run %gitbook login" in w.status and visible(w) == [w.status_line]
    assert "Signed in as" not in dump_state()


# --------------------------------------------------------------------------- wait (--wait)
def test_wait_returns_on_success(ks, made):
    w = login(session=ks, environment_=LOCAL, display=False, profile="sandbox")
    made.append(w)
    t = deliver_in_thread(ks, w)
    assert w.wait(60) == "signed-in"
    t.join(30)
    signed_in(w, ks.sandbox.user)


def test_login_wait_returns_the_widget_once_signed_in(ks, made):
    """login(wait=...) itself: the browser's answer arrives while the call blocks."""
    ks.configure(profile="sandbox")
    started = threading.Event()

    def browser() -> None:  # waits for the login to exist (an explicit condition), then answers
        deadline = time.monotonic() + 30
        while ks.pending is None and time.monotonic() < deadline:
            started.wait(0.01)
        HTTP.get(ks.sandbox.approve(ks.pending.authorize_url), timeout=30)

    t = threading.Thread(target=browser, daemon=True)
    t.start()
    w = login(session=ks, environment_=LOCAL, display=False, wait=60)
    made.append(w)
    t.join(30)
    signed_in(w, ks.sandbox.user)


def test_wait_returns_on_failure(ks, made):
    w = login(session=ks, environment_=LOCAL, display=False, profile="sandbox")
    made.append(w)
    deliver_in_thread(ks, w, approve=False)
    assert w.wait(60) == "failed" and w.failure == "denied"


def test_wait_returns_on_cancel_clicked_while_waiting(ks, made):
    w = login(session=ks, environment_=LOCAL, display=False, profile="sandbox")
    made.append(w)
    clicks: list[int] = []

    def poll() -> None:  # stands in for jupyter-ui-poll delivering the front end's click
        clicks.append(1)
        if len(clicks) == 3:
            w.cancel_button.click()

    assert w.wait(60, poll=poll) == "failed" and w.failure == "cancelled"
    assert len(clicks) == 3


def test_wait_times_out_and_cancels(ks, made):
    w = login(session=ks, environment_=LOCAL, display=False, profile="sandbox")
    made.append(w)
    flow = ks.pending
    assert w.wait(0.2) == "failed" and w.failure == "timeout"
    assert flow.cancelled and "Stopped waiting after 0 s" in w.status


def test_login_wait_raises_on_timeout_so_run_all_stops(ks, made):
    with pytest.raises(LoginError, match="Stopped waiting"):
        login(session=ks, environment_=LOCAL, display=False, profile="sandbox", wait=0.2)


def test_wait_in_paste_mode_says_why_it_cannot(ks, make):
    w = make(ks, mode="paste", profile="sandbox")
    with pytest.raises(LoginError) as info:
        w.wait(5)
    assert "paste mode" in str(info.value) and "\n" not in str(info.value)
    assert w.state == "ready"  # the login goes on: paste, then run the next cells


def test_wait_with_gitbook_token_returns_at_once(sandbox, made):
    env = {
        **os.environ,
        "GITBOOK_TOKEN": sandbox.personal_token,
        "GITBOOK_API_URL": sandbox.url + "/v1",
    }
    session = KernelSession(environ=env)
    try:
        w = login(session=session, environment_=LOCAL, display=False, wait=5)
        made.append(w)
        assert w.state == "env"
    finally:
        session.close()


# --------------------------------------------------------------------------- kernel gone
def test_a_restarted_kernel_tells_its_signed_in_widget(tmp_path):
    """A real kernel signs in, then is shut down as a restart does: on its way out it sends the
    widget's new state, so the view left on the page no longer says "Signed in as"."""
    from jupyter_client.manager import start_new_kernel

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "BINDER_"))}
    env["PYTHONPATH"] = root
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        code = (
            "import gitbook_nb\n"
            "w = gitbook_nb.login(profile='sandbox', mode='paste')\n"
            "print(w.complete_with_sandbox())"
        )
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
        assert reply["content"]["status"] == "ok"
        while kc.iopub_channel.msg_ready():  # drop what the cell sent
            kc.get_iopub_msg(timeout=5)
        km.shutdown_kernel(now=False, restart=True)
        sent: list[str] = []
        while kc.iopub_channel.msg_ready() or not sent:
            try:
                msg = kc.get_iopub_msg(timeout=10)
            except Exception:  # queue.Empty: the kernel is gone
                break
            if msg["msg_type"] == "comm_msg":
                sent.append(json.dumps(msg["content"]))
        assert any("This kernel has stopped" in m for m in sent), sent
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)


def test_blocking_wait_where_clicks_cannot_arrive_says_to_interrupt_instead_of_cancel(ks, made):
    """Outside a pollable kernel (ipykernel 7.1+ cannot be polled) a click on Cancel would
    reach the kernel only after the cell: the waiting row hides it and says how to stop."""
    from gitbook_nb.notebook.widget import wait_for

    w = login(session=ks, environment_=LOCAL, display=False, profile="sandbox")
    made.append(w)
    seen: dict[str, object] = {}

    def browser() -> None:
        # the user's browser acts once the waiting row shows how to stop (explicit condition)
        deadline = time.monotonic() + 30
        while "interrupt the kernel" not in w.stop_hint.value and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["hint"], seen["cancel"] = w.stop_hint.value, w.cancel_button.layout.display
        HTTP.get(ks.sandbox.approve(w.authorize_url), timeout=30)

    t = threading.Thread(target=browser, daemon=True)
    t.start()
    assert wait_for(w, 60) == "signed-in"
    t.join(30)
    assert "interrupt the kernel" in str(seen["hint"]) and seen["cancel"] == "none"
    assert w.stop_hint.value == "" and w.cancel_button.layout.display is None
