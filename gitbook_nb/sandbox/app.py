"""``Sandbox``: the embedded GitBook-compatible server and its Python control surface.

Tests, tutorials and benchmarks start one (``with Sandbox() as sb:``), point a client at
``sb.url``, and steer it: approve consents over HTTP (``sb.approve``), mint or revoke tokens,
switch faults on and off, read the request log, advance an injected clock.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .data import DEFAULT_USER, USERS_BY_NAME, Dataset
from .data_sites import SITES
from .data_spaces import BULK_SPACE
from .faults import Faults
from .insights import Traffic
from .insights_events import InsightEvent
from .messages import Headers, Request
from .oauth_common import demo_client
from .oauth_current import SCOPES
from .paging import Cursors
from .store import Store

ERROR_STYLES = ("github", "rfc6749")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it. Nothing is masked: the log exists for tests."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes
    status: int
    time: float

    @property
    def params(self) -> dict[str, list[str]]:
        return Request(self.method, self.path, self.query, self.headers).params

    @property
    def form(self) -> dict[str, list[str]]:
        return Request(self.method, self.path, self.query, self.headers, self.body).form


class Sandbox:
    """A GitBook look-alike on 127.0.0.1 (legacy API + OAuth at the root, current API at /v1)."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        books: int | None = None,
        spaces: int | None = None,
        error_style: str = "github",
        access_token_ttl: float = 3600,
        rate_limit: int = 5000,
        clock: Callable[[], float] = time.time,
        rate_window: float = 3600.0,
        rate_retry_after: bool = False,
        pages: int | None = None,
        latency: float = 0.0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the sandbox binds a loopback address only (127.0.0.1 or ::1)")
        self.host, self.port = host, port
        self.error_style = error_style
        self.access_token_ttl = access_token_ttl
        self.rate_limit = rate_limit
        # Refresh grants answered, and rotated refresh tokens presented again (a kernel must
        # never do that; with reuse_detection the sandbox then revokes the grant, RFC 9700).
        self.refresh_count = 0
        self.refresh_tokens_replayed = 0
        self.reuse_detection = True
        # GitBook's docs show 60 a window and a 429 without Retry-After: rate_window sets the
        # window (seconds), rate_retry_after=True adds a Retry-After to each 429.
        self.rate_window, self.rate_retry_after = rate_window, rate_retry_after
        # Added to every request before it is answered (e.g. 0.02 for the export benchmark);
        # unlike the latency fault it survives clear_faults(). ``sleep`` is the seam tests use.
        self.latency, self.sleep = latency, time.sleep
        self.clock = clock
        self.data = Dataset(books, spaces, pages=pages, clock=clock)
        self.store = Store(clock)
        self.faults = Faults()
        self.cursors = Cursors(secrets.token_bytes(32))
        self.traffic = Traffic(self.data, clock)  # site insights events, built on first use
        # Called before each streamed Ask chunk but the first: a short pause by default, so a
        # reader sees the answer grow; a test swaps in a gate to step through the chunks.
        self.ask_pace: Callable[[int], None] = lambda i: time.sleep(0.05)
        self.scopes_supported = SCOPES
        self.username = DEFAULT_USER.username
        self.user = DEFAULT_USER.name
        self.client_id = "gitbook-nb-demo"
        self.client_secret = secrets.token_urlsafe(32)
        self._demo = self.store.add_client(demo_client(self.client_id, self.client_secret))
        self.personal_token = self.store.issue("pat", self.username, prefix="gb_api_").token
        self.errors: list[str] = []  # tracebacks of sandbox bugs (should stay empty)
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.ids = self._well_known_ids()

    @property
    def error_style(self) -> str:
        """How the legacy token endpoint reports errors: "github" or "rfc6749" (switchable)."""
        return self._error_style

    @error_style.setter
    def error_style(self, style: str) -> None:
        if style not in ERROR_STYLES:
            raise ValueError(f"error_style must be one of {ERROR_STYLES}, not {style!r}")
        self._error_style = style

    def _well_known_ids(self) -> dict[str, str]:
        data = self.data
        spaces = data.org_spaces[data.orgs[0].id][:2]  # seeded: "main", then the HTML one
        return {
            "org": data.orgs[0].id,
            "space": spaces[0].id,
            "page": data.tree(spaces[0])[0].id,
            "collection": data.collections[0].id,
            "book": "ada/notes-on-the-engine",
            "user": DEFAULT_USER.id,
            "username": DEFAULT_USER.username,
            "html_space": spaces[-1].id,
            "page_path": "getting-started",  # the path of "page" in "space"
            "change_request": data.change_requests(spaces[0])[0].id,  # #1, with one edit
            **({"bulk_space": BULK_SPACE.id} if data.space(BULK_SPACE.id) else {}),  # pages=N
            "site": SITES[0].id,  # "Engine handbook": sections, ~100k insights events
            "html_site": SITES[1].id,  # HTML-looking title, little traffic
        }

    # -- lifecycle
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        from .server import SandboxHTTPServer  # http.server only when a server is wanted

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = SandboxHTTPServer((self.host, self.port), self, family)
        self.port = self._server.server_address[1]
        self._demo.redirect_uris.insert(0, self.redirect_uri)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"gitbook-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # no secrets: the demo secret and tokens stay out of reprs
        where = self.url if self._server is not None else "not started"
        return f"<Sandbox {where}>"

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() or use `with`")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return self.url + "/callback"

    def register_redirect_uri(self, uri: str) -> None:
        """Allow one more redirect URI for the demo app (e.g. a Binder proxy URL)."""
        if uri not in self._demo.redirect_uris:
            self._demo.redirect_uris.append(uri)

    # -- tokens
    def mint_token(
        self,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = None,
        user: str | None = None,
    ) -> str:
        """A new personal access token (``gb_api_...``); ``scopes=None`` means every scope."""
        username = user or self.username
        if username not in USERS_BY_NAME:
            raise ValueError(f"unknown sandbox user {username!r}")
        scopes = None if scopes is None else tuple(scopes)
        bad = [s for s in scopes or () if s not in SCOPES]
        if bad:
            raise ValueError(f"unknown scope {bad[0]!r}")
        return self.store.issue(
            "pat", username, scopes=scopes, ttl=expires_in, prefix="gb_api_"
        ).token

    def revoke_token(self, token: str) -> bool:
        return self.store.revoke(token)

    # -- faults
    def add_fault(
        self, kind: str, path: str | None = None, times: int | None = None, **params: Any
    ) -> int:
        return self.faults.add(kind, path, times, **params)

    def remove_fault(self, fault_id: int) -> bool:
        return self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- request log
    def log(self, req: Request, status: int) -> None:
        entry = LoggedRequest(
            req.method, req.path, req.query, req.headers, req.body, status, self.clock()
        )
        with self._log_lock:
            self._log.append(entry)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- site insights
    def site_events(self, site_id: str) -> tuple[InsightEvent, ...]:
        """Every insights event of a site, oldest first: the raw data behind the aggregate
        endpoint (90 days ending today on the sandbox clock), for tests and tutorials."""
        from .insights import events_of

        return events_of(self, site_id)

    # -- consent
    def approve(self, authorize_url: str, approve: bool = True) -> str:
        """Drive the consent page over HTTP like a browser; return the redirect's Location."""
        from .approve import drive_consent

        return drive_consent(self, authorize_url, approve)
