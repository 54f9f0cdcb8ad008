"""The one-shot loopback listener (SECURITY.md A9), alone and behind jupyter-server-proxy."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from gitbook_nb.notebook._listener import Listener, origin_from_headers

HTTP = requests.Session()
HTTP.trust_env = False


class Recorder:
    """An ``on_redirect`` that records what it got and answers as told."""

    def __init__(self, answer: tuple[bool, str] = (True, "Signed in as <Ada> (sandbox)")) -> None:
        self.urls: list[str] = []
        self.answer = answer

    def __call__(self, url: str) -> tuple[bool, str]:
        self.urls.append(url)
        return self.answer


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def listener(rec) -> Iterator[Listener]:
    lst = Listener(rec)
    yield lst
    lst.close()


def url(lst: Listener, path: str) -> str:
    return f"http://127.0.0.1:{lst.port}{path}"


def test_A9_binds_loopback_only(listener):
    assert listener._server.socket.getsockname()[0] == "127.0.0.1"
    assert listener.local_redirect_uri == f"http://127.0.0.1:{listener.port}/callback"
    for bad in ("0.0.0.0", "", "192.0.2.2", "::", "localhost"):  # noqa: S104
        with pytest.raises(ValueError, match="A9"):
            Listener(lambda u: (True, ""), host=bad)


def test_A9_not_reachable_from_a_non_loopback_address(listener):
    """Connect to the listener's port on every non-loopback address of this machine."""
    addrs = {ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    addrs |= _udp_route_address()
    addrs = {a for a in addrs if not a.startswith("127.")}
    assert addrs, "this machine has no non-loopback IPv4 address to try"
    for addr in addrs:
        with pytest.raises(OSError):
            socket.create_connection((addr, listener.port), timeout=2).close()


def _udp_route_address() -> set[str]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a source address
        return {s.getsockname()[0]}
    except OSError:
        return set()
    finally:
        s.close()


def test_A9_ipv6_loopback(rec):
    lst = Listener(rec, host="::1")
    try:
        assert lst.local_redirect_uri == f"http://[::1]:{lst.port}/callback"
        r = HTTP.get(f"http://[::1]:{lst.port}/callback?code=c&state=s", timeout=5)
        assert r.status_code == 200 and rec.urls == [lst.local_redirect_uri + "?code=c&state=s"]
    finally:
        lst.close()


def test_A9_serves_one_callback_with_the_full_url_then_closes(listener, rec):
    r = HTTP.get(url(listener, "/callback?code=abc&state=xyz&extra=%2F"), timeout=5)
    assert r.status_code == 200
    assert rec.urls == [f"{listener.local_redirect_uri}?code=abc&state=xyz&extra=%2F"]
    assert "Signed in as &lt;Ada&gt; (sandbox). You can close this tab." in r.text  # escaped
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert listener.done.is_set() and listener.result == (True, "Signed in as <Ada> (sandbox)")
    listener._thread.join(5)
    assert not listener._thread.is_alive() and listener.closed
    with pytest.raises(requests.ConnectionError):  # one-shot: the port is closed now
        HTTP.get(url(listener, "/callback?code=again&state=xyz"), timeout=5)
    assert len(rec.urls) == 1


def test_A9_other_paths_do_not_consume_the_flow(listener, rec):
    for path in (
        "/",
        "/favicon.ico",
        "/callback/",
        "/callbackx?code=1&state=2",
        "/start",
        "/start?n=guess",
    ):
        assert HTTP.get(url(listener, path), timeout=5).status_code == 404, path
    # the callback path without an authorization answer (a prefetch, a curious user)
    r = HTTP.get(url(listener, "/callback"), timeout=5)
    assert r.status_code == 400
    assert HTTP.get(url(listener, "/callback?foo=1"), timeout=5).status_code == 400
    assert HTTP.head(url(listener, "/callback?code=1&state=2"), timeout=5).status_code == 200
    assert rec.urls == [] and not listener.done.is_set()
    r = HTTP.get(url(listener, "/callback?error=access_denied&state=s"), timeout=5)
    assert r.status_code == 200
    assert rec.urls == [f"{listener.redirect_uri}?error=access_denied&state=s"]


def test_failure_message_is_escaped_and_exceptions_hide_their_text():
    lst = Listener(Recorder((False, "state <b>mismatch</b>")))
    r = HTTP.get(url(lst, "/callback?code=c&state=s"), timeout=5)
    assert "Sign-in failed" in r.text and "state &lt;b&gt;mismatch&lt;/b&gt;" in r.text
    lst.close()

    def boom(u: str) -> tuple[bool, str]:
        raise RuntimeError(f"leaky {u}")

    lst = Listener(boom)
    r = HTTP.get(url(lst, "/callback?code=SECRETCODE&state=s"), timeout=5)
    assert r.status_code == 200 and "RuntimeError" in r.text and "SECRETCODE" not in r.text
    lst.close()


def test_A9_times_out_and_closes():
    now = [1000.0]
    timed_out = threading.Event()
    lst = Listener(Recorder(), lifetime=600, clock=lambda: now[0], on_timeout=timed_out.set)
    assert HTTP.get(url(lst, "/nothing"), timeout=5).status_code == 404
    now[0] += 600  # ten minutes later
    assert timed_out.wait(5)
    lst._thread.join(5)
    assert lst.closed and not lst.done.is_set()
    with pytest.raises(requests.ConnectionError):
        HTTP.get(url(lst, "/callback?code=c&state=s"), timeout=5)


def test_close_is_idempotent(listener):
    listener.close()
    listener.close()
    assert listener.closed and not listener._thread.is_alive()


def test_origin_from_headers():
    assert origin_from_headers({"Host": "hub.example.org"}) == "http://hub.example.org"
    assert (
        origin_from_headers(
            {
                "Host": "127.0.0.1:8888",
                "X-Forwarded-Proto": "https, http",
                "X-Forwarded-Host": "Hub.Example.org",
            }
        )
        == "https://hub.example.org"
    )
    assert origin_from_headers({"Host": "[::1]:8888"}) == "http://[::1]:8888"
    for bad in (
        {"Host": "evil.example/path"},
        {"Host": "a b"},
        {},
        {"Host": "ok", "X-Forwarded-Proto": "javascript"},
        {"Host": "x@evil.example"},
    ):
        assert origin_from_headers(bad) is None


def start_listener(authorize: str = "/user/ada/proxy/9000/oauth/authorize?state=s"):
    seen: list[str] = []

    def on_start(redirect_uri: str) -> str:
        seen.append(redirect_uri)
        return authorize

    return Listener(Recorder(), on_start=on_start), seen


def test_start_builds_the_public_redirect_uri_and_redirects_absolutely():
    lst, seen = start_listener()
    try:
        headers = {
            "Host": "hub.example.org",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Context": f"/user/ada/proxy/{lst.port}",
        }
        start = url(lst, f"/start?n={lst.start_nonce}")
        r = HTTP.get(start, headers=headers, allow_redirects=False, timeout=5)
        assert r.status_code == 302
        # absolute: jupyter-server-proxy rewrites a Location that starts with "/"
        assert r.headers["Location"] == (
            "https://hub.example.org/user/ada/proxy/9000/oauth/authorize?state=s"
        )
        assert seen == [f"https://hub.example.org/user/ada/proxy/{lst.port}/callback"]
        assert lst.redirect_uri == seen[0]
        # only one /start per flow
        r = HTTP.get(start, headers=headers, allow_redirects=False, timeout=5)
        assert r.status_code == 409 and len(seen) == 1
        # the callback arrives (through the proxy) at /callback and is rebuilt publicly
        HTTP.get(url(lst, "/callback?code=c&state=s"), timeout=5)
        assert lst.on_redirect.urls == [seen[0] + "?code=c&state=s"]
    finally:
        lst.close()


def test_start_refuses_without_nonce_or_proxy_headers():
    lst, seen = start_listener()
    try:
        ok = {"Host": "h", "X-Forwarded-Context": f"/proxy/{lst.port}"}
        assert HTTP.get(url(lst, "/start?n=wrong"), headers=ok, timeout=5).status_code == 404
        n = lst.start_nonce
        for headers in (
            {"Host": "h"},  # not through the proxy
            {"Host": "h", "X-Forwarded-Context": "/proxy/1"},  # another port
            {"Host": "bad host", "X-Forwarded-Context": f"/proxy/{lst.port}"},
        ):
            r = HTTP.get(
                url(lst, f"/start?n={n}"), headers=headers, allow_redirects=False, timeout=5
            )
            assert r.status_code == 400 and "paste" in r.text
        assert seen == [] and not lst.started
    finally:
        lst.close()


# ---------------------------------------------------------------------------- real proxy
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A real Jupyter server with jupyter-server-proxy, under base URL /jupyter/user/x/."""
    port, token = _free_port(), secrets.token_hex(16)
    root = tmp_path_factory.mktemp("jroot")
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--ServerApp.base_url=/jupyter/user/x/",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.port_retries=0",
            "--allow-root",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}/jupyter/user/x/"
    deadline = time.monotonic() + 60
    try:
        while True:  # wait for the server to answer (an explicit condition, not a sleep)
            try:
                if (
                    HTTP.get(
                        base + "api/status", headers={"Authorization": f"token {token}"}, timeout=2
                    ).status_code
                    == 200
                ):
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "Jupyter server did not start"
            threading.Event().wait(0.1)
        yield base, token
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


class _Echo(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        _Echo.seen.append({"path": self.path, **{k: v for k, v in self.headers.items()}})
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a) -> None:
        pass


@pytest.mark.slow
def test_headers_jupyter_server_proxy_actually_sends(jupyter_server):
    """PITFALLS: which headers reach a process behind jupyter-server-proxy (measured)."""
    base, token = jupyter_server
    echo = HTTPServer(("127.0.0.1", 0), _Echo)
    t = threading.Thread(target=echo.serve_forever, daemon=True)
    t.start()
    try:
        eport = echo.server_address[1]
        r = HTTP.get(
            f"{base}proxy/{eport}/start?n=1",
            timeout=10,
            headers={"Authorization": f"token {token}", "X-Forwarded-Proto": "https"},
        )
        assert r.status_code == 200
        got = _Echo.seen[-1]
        assert got["path"] == "/start?n=1"  # the proxy strips its prefix
        host, _, _ = base.removeprefix("http://").partition("/")
        assert got["Host"] == host  # the browser's Host, forwarded unchanged
        assert got["X-Forwarded-Context"] == f"/jupyter/user/x/proxy/{eport}"
        assert got["X-Forwarded-Proto"] == "https"  # an upstream proxy's header passes through
    finally:
        echo.shutdown()
        echo.server_close()


@pytest.mark.slow
def test_A9_listener_login_round_trip_through_jupyter_server_proxy(jupyter_server):
    base, token = jupyter_server
    auth = {"Authorization": f"token {token}"}
    authorize = "http://127.0.0.1:1/oauth/authorize?state=s"  # absolute: passed unchanged
    lst, seen = start_listener(authorize)
    try:
        r = HTTP.get(
            f"{base}proxy/{lst.port}/start?n={lst.start_nonce}",
            headers=auth,
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 302 and r.headers["Location"] == authorize
        host = base.removeprefix("http://").partition("/")[0]
        expected = f"http://{host}/jupyter/user/x/proxy/{lst.port}/callback"
        assert seen == [expected] and lst.redirect_uri == expected
        # the authorization server sends the browser to the public redirect URI
        r = HTTP.get(f"{expected}?code=c0de&state=s", headers=auth, timeout=10)
        assert r.status_code == 200 and "Signed in as &lt;Ada&gt;" in r.text
        assert lst.on_redirect.urls == [f"{expected}?code=c0de&state=s"]
    finally:
        lst.close()


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["sandbox", "sandbox-legacy"])
def test_A9_widget_login_through_a_real_jupyter_server_proxy(jupyter_server, profile):
    """Binder/JupyterHub end to end, as a browser would: the widget's relative /start link,
    the sandbox's consent page *through the proxy* (its form must post to a relative
    action), and the redirect back through the proxy to the listener. No paste."""
    import html as html_mod
    import re
    from urllib.parse import urljoin

    from gitbook_nb.kernel import environment as E
    from gitbook_nb.kernel.session import KernelSession
    from gitbook_nb.notebook.widget import login
    from gitbook_nb.sandbox.approve import _ConsentForm

    base, token = jupyter_server
    origin = base.split("/jupyter/")[0]
    auth = {"Authorization": f"token {token}"}
    hub = E.detect({"JUPYTERHUB_SERVICE_PREFIX": "/jupyter/user/x/"}, modules={})
    ks = KernelSession(environ=dict(os.environ))
    w = login(session=ks, environment_=hub, display=False, profile=profile)
    try:
        assert w.mode == "proxy"
        href = html_mod.unescape(re.search(r'href="([^"]+)"', w.link.value).group(1))
        port = int(re.search(r"/proxy/([0-9]+)/start", href).group(1))  # the listener's
        assert href.startswith("/jupyter/user/x/proxy/")  # relative: resolves in the browser
        r = HTTP.get(origin + href, headers=auth, allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        consent_url = r.headers["Location"]
        assert consent_url.startswith(f"{origin}/jupyter/user/x/proxy/{ks.sandbox.port}/")
        page_ = HTTP.get(consent_url, headers=auth, timeout=30)
        assert page_.status_code == 200
        form = _ConsentForm()
        form.feed(page_.text)
        assert form.action is not None and not form.action.startswith(("/", "http"))
        name, value = form.buttons["approve"]
        r = HTTP.post(
            urljoin(consent_url, form.action),
            headers=auth,
            allow_redirects=False,
            data={**form.fields, name: value},
            timeout=30,
        )
        assert r.status_code in (302, 303), r.text
        back = r.headers["Location"]
        assert back.startswith(f"{origin}/jupyter/user/x/proxy/{port}/callback?")
        done = HTTP.get(back, headers=auth, timeout=30)
        assert done.status_code == 200 and "Signed in as Ada Lovelace" in done.text
        assert w.status.startswith("Signed in as Ada Lovelace")
    finally:
        w.close()
        ks.close()
