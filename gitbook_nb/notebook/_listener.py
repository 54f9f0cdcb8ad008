"""A one-shot loopback HTTP server that catches the OAuth redirect (SECURITY.md A9).

RFC 8252 section 7.3: a native client receives the authorization response on a loopback port
it opened itself, so the user need not copy an address. This one:

- binds ``127.0.0.1`` or ``::1`` only, on a free port (port 0) unless told otherwise;
- serves exactly one callback that carries ``code`` or ``error``: it rebuilds the full
  redirect URL (the registered redirect URI plus the query) and hands it to ``on_redirect``;
  any other path answers 404 and a callback without those parameters answers 400, and neither
  consumes the flow;
- closes after the first callback or after ``lifetime`` seconds (the flow's 10 minutes);
- in proxy mode (Binder, JupyterHub) also serves ``/start?n=NONCE``: the browser arrives there
  through jupyter-server-proxy, whose request headers tell the public origin and path the
  kernel cannot know; the handler builds the absolute redirect URI from them, asks
  ``on_start(redirect_uri)`` to begin the login, and 302-redirects to the authorize page.

Hand-written on ``http.server`` (stdlib) because it needs one route and must not pull in a
web framework; ``TCP_NODELAY`` as in the sandbox (PITFALLS: the 40 ms Nagle stall).
"""

from __future__ import annotations

import hmac
import html
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Listener", "origin_from_headers", "page"]

OnRedirect = Callable[[str], "tuple[bool, str]"]
OnStart = Callable[[str], str]

_HOST_RE = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_CONTEXT_RE = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/\-]*)?/proxy/([0-9]{1,5})")


def page(title: str, message: str, *, ok: bool) -> bytes:
    """A tiny self-contained HTML answer; every piece of text is escaped."""
    colour = "#1a7f37" if ok else "#b42318"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body style='font-family:sans-serif;margin:3em'>"
        f"<h2 style='color:{colour}'>{html.escape(title)}</h2>"
        f"<p>{html.escape(message)}</p></body></html>"
    ).encode()


def _first(value: str | None) -> str | None:
    """First value of a comma-joined forwarded header (each proxy hop appends one)."""
    if not value:
        return None
    return value.split(",")[0].strip() or None


def origin_from_headers(headers: Any) -> str | None:
    """The public origin (``https://host[:port]``) of a request that came through proxies.

    Measured with jupyter-server-proxy (tests/test_listener.py): it forwards the browser's
    ``Host`` unchanged and adds ``X-Forwarded-Context``; hub ingresses add
    ``X-Forwarded-Proto``/``X-Forwarded-Host``. Forwarded values win; anything that does not
    look like a host is refused (None) rather than trusted into a redirect URI.
    """
    proto = (_first(headers.get("X-Forwarded-Proto")) or "http").lower()
    host = _first(headers.get("X-Forwarded-Host")) or _first(headers.get("Host"))
    if proto not in ("http", "https") or not host or not _HOST_RE.fullmatch(host):
        return None
    return f"{proto}://{host.lower()}"


class _Server(HTTPServer):
    # A fixed port must really be free, not shared. On Linux SO_REUSEADDR only lets a port in
    # TIME_WAIT be bound again (a socket listening on it still refuses the bind), which a login
    # needs to reuse the port its client was registered with a minute after the last login;
    # elsewhere (Windows, BSD and macOS) it can share a port, so it stays off there.
    allow_reuse_address = sys.platform.startswith("linux")
    timeout = 0.1  # handle_request() returns this often so close()/expiry are noticed

    def __init__(self, addr: tuple[str, int], listener: Listener, family: int) -> None:
        self.address_family = family
        self.listener = listener
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a stalled client cannot hold the one-thread server for long
    server_version = "gitbook_nb-listener"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the request line holds the code and state: never log it (E3)

    def _answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # The callback URL carries the code: no caching, no Referer, no scripts.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        listener = self.server.listener
        parts = urlsplit(self.path)
        if parts.path == listener.path:
            status, body, extra = listener._handle_callback(parts.query, self.command)
        elif parts.path == "/start" and listener.on_start is not None:
            status, body, extra = listener._handle_start(parts.query, self.headers)
        else:
            status, body, extra = 404, page("Not found", "Nothing here.", ok=False), None
        self._answer(status, body, extra)


class Listener:
    """One loopback server for one pending login. See the module docstring.

    ``on_redirect(url) -> (ok, message)`` runs in the listener's thread; it must not raise
    (an exception is caught and shown as a generic failure). ``on_timeout()`` runs once when
    the lifetime passes without a callback.
    """

    def __init__(
        self,
        on_redirect: OnRedirect,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/callback",
        lifetime: float = 600.0,
        on_start: OnStart | None = None,
        on_timeout: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if host not in ("127.0.0.1", "::1"):  # A9: never reachable from another machine
            raise ValueError("the listener binds 127.0.0.1 or ::1 only (security rule A9)")
        if not path.startswith("/") or path == "/start":
            raise ValueError("callback path must start with / and not be /start")
        self.on_redirect = on_redirect
        self.on_start = on_start
        self.on_timeout = on_timeout
        self.path = path
        self._clock = clock
        self._deadline = clock() + lifetime
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.done = threading.Event()  # set once a callback was served (either outcome)
        self.result: tuple[bool, str] | None = None
        self.started = False
        # The /start link lives in a widget trait while pending; the nonce keeps other local
        # users of a shared machine from starting (and so hijacking) this login.
        self.start_nonce = secrets.token_urlsafe(16)
        self.public_redirect_uri: str | None = None
        family = socket.AF_INET6 if host == "::1" else socket.AF_INET
        self._server = _Server((host, port), self, family)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._serve, name="gitbook_nb-listener", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ addresses
    @property
    def local_redirect_uri(self) -> str:
        """The redirect URI as seen from this machine (A7: a loopback IP literal)."""
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{h}:{self.port}{self.path}"

    @property
    def redirect_uri(self) -> str:
        """The redirect URI the flow registered: the public one in proxy mode, else local."""
        return self.public_redirect_uri or self.local_redirect_uri

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # ------------------------------------------------------------------ serving
    def _serve(self) -> None:
        timed_out = False
        try:
            while not self._closed.is_set():
                if self._clock() >= self._deadline:
                    timed_out = True
                    break
                self._server.handle_request()
        finally:
            self._closed.set()
            self._server.server_close()
        if timed_out and not self.done.is_set() and self.on_timeout is not None:
            try:
                self.on_timeout()
            except Exception:  # noqa: S110 - a callback must not kill the thread noisily
                pass

    def close(self, *, wait: bool = True) -> None:
        """Stop serving (idempotent); waits for the socket to close unless called inside it."""
        self._closed.set()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a callback was served; True if it was."""
        return self.done.wait(timeout)

    # ------------------------------------------------------------------ routes
    def _handle_callback(self, query: str, method: str) -> tuple[int, bytes, dict | None]:
        params = parse_qs(query, keep_blank_values=True)
        if "code" not in params and "error" not in params:
            # A stray visit (favicon prefetch, a user opening the bare address) must not burn
            # the flow: only an authorization response consumes it.
            return (
                400,
                page(
                    "No sign-in answer here",
                    "This address expects the redirect from GitBook.",
                    ok=False,
                ),
                None,
            )
        if method == "HEAD":  # link checkers and prefetchers must not consume it either
            return 200, b"", None
        with self._lock:
            if self.done.is_set():
                return (
                    410,
                    page(
                        "Already used",
                        "This sign-in answer was already received; "
                        "start a new login in the notebook.",
                        ok=False,
                    ),
                    None,
                )
            self.done.set()
        url = f"{self.redirect_uri}?{query}"
        try:
            ok, message = self.on_redirect(url)
        except Exception as err:  # never show details: they could hold the code
            ok, message = False, f"sign-in failed ({type(err).__name__}); see the notebook"
        self.result = (ok, message)
        self._closed.set()  # one-shot: the serving loop ends after this answer
        if ok:
            return 200, page("Signed in", f"{message}. You can close this tab.", ok=True), None
        return (
            200,
            page("Sign-in failed", f"{message}. See the notebook for the next step.", ok=False),
            None,
        )

    def _handle_start(self, query: str, headers: Any) -> tuple[int, bytes, dict | None]:
        assert self.on_start is not None
        nonce = (parse_qs(query).get("n") or [""])[0]
        if not hmac.compare_digest(nonce.encode(), self.start_nonce.encode()):
            return 404, page("Not found", "Nothing here.", ok=False), None
        origin = origin_from_headers(headers)
        context = headers.get("X-Forwarded-Context") or headers.get("X-ProxyContextPath")
        m = _CONTEXT_RE.fullmatch(context or "")
        if origin is None or m is None or int(m.group(2)) != self.port:
            return (
                400,
                page(
                    "Cannot sign in through this address",
                    "This link only works through the Jupyter server's proxy. "
                    "Use the paste box in the notebook instead.",
                    ok=False,
                ),
                None,
            )
        with self._lock:
            if self.started:
                return (
                    409,
                    page(
                        "Already started",
                        "This sign-in link was already used; start a new login in the notebook.",
                        ok=False,
                    ),
                    None,
                )
            self.started = True
        self.public_redirect_uri = f"{origin}{context}{self.path}"
        try:
            authorize = self.on_start(self.public_redirect_uri)
        except Exception as err:
            # on_start returns readable GitBookError text through its own status line; here
            # only the class name, which never holds a secret.
            return (
                502,
                page(
                    "Could not start the sign-in",
                    f"{type(err).__name__}: {getattr(err, 'message', '')}; see the notebook.",
                    ok=False,
                ),
                None,
            )
        if authorize.startswith("/"):
            # Absolute Location: jupyter-server-proxy would prefix a path-only Location with
            # this listener's own proxy path (it rewrites Location headers starting with /).
            authorize = origin + authorize
        return (
            302,
            page("Redirecting", "Continue to GitBook to sign in.", ok=True),
            {"Location": authorize},
        )
