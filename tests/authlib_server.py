"""An OAuth 2 authorization server built on Authlib, for interoperability tests (issue 10).

Not our sandbox: a server written with a well-kept OAuth library and configured the way a
user would configure one, so gitbook_nb is checked against code that was not written for it.
It serves, on 127.0.0.1 with a free port, from a thread:

* RFC 8414 discovery (``/.well-known/oauth-authorization-server``), validated by Authlib;
* RFC 7591 open dynamic registration (``/register``);
* the authorization code grant with PKCE (S256 only; required for public clients), on the
  current paths (``/authorize``, ``/token``) and the legacy ones (``/oauth/authorize``,
  ``/oauth/access_token``);
* rotating refresh tokens: each use issues a new one and revokes the old; a rotated refresh
  token presented again is recorded as a replay and revokes its whole grant, as servers with
  reuse detection do;
* RFC 7009 revocation (``/revoke``);
* client authentication by ``none``, ``client_secret_post`` and ``client_secret_basic``, each
  client held to its registered method (Authlib's rule);
* a tiny resource server: ``GET /v1/user`` (current API) and ``GET /account`` (legacy API)
  answer for a valid bearer token.

Stdlib WSGI (``wsgiref``) instead of Flask: Authlib's core server classes need only a request
adapter (``authlib_parts.WsgiOAuth2Request``), so the tests need no web framework.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests
from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib_parts import (
    ALL_METHODS,
    SCOPES,
    USER,
    AuthorizationCode,
    Bearer,
    Client,
    CodeGrant,
    RefreshGrant,
    Registration,
    Revocation,
    S256Only,
    Server,
    TokenRecord,
    WsgiOAuth2Request,
    WsgiRequest,
    read_request,
)

# ------------------------------------------------------------------ the server a test starts


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per connection, as a real server serves several clients at once."""

    daemon_threads = True


class AuthlibServer:
    """Start with ``with AuthlibServer() as srv:``; ``srv.url`` is the issuer and API base.

    ``token_auth_methods`` is what the discovery document lists (and registration accepts);
    ``access_token_ttl`` the access tokens' lifetime; ``clock`` the server's time.
    What happened is recorded for the tests: ``client_auths`` ((endpoint, method, client_id)
    per authenticated request), ``refresh_presented``, ``replays`` (rotated refresh tokens
    presented again), ``revoked`` (token strings revoked through RFC 7009), ``registrations``,
    and ``requests`` ((method, path) of every request).
    """

    def __init__(
        self,
        *,
        token_auth_methods: Iterable[str] = ALL_METHODS,
        access_token_ttl: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_auth_methods = tuple(token_auth_methods)
        self.access_token_ttl = access_token_ttl
        self.clock = clock
        self.url = ""
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: list[TokenRecord] = []
        self.client_auths: list[tuple[str, str, str]] = []
        self.refresh_presented: list[str] = []
        self.replays: list[str] = []
        self.revoked: list[str] = []
        self.registrations: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.RLock()  # one request at a time changes the state
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._server = Server(self)
        self._server.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(42),
                refresh_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda client, grant_type: self.access_token_ttl,
            ),
        )
        self._server.register_grant(CodeGrant, [S256Only(required=True)])
        self._server.register_grant(RefreshGrant)
        self._server.register_endpoint(Revocation)
        self._server.register_endpoint(Registration)
        self._protector = ResourceProtector()
        self._protector.register_token_validator(Bearer(self))

    # ---------------------------------------------------------------- life
    def start(self) -> AuthlibServer:
        httpd = make_server(
            "127.0.0.1", 0, self._app, server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_port}"
        self.metadata()  # Authlib validates the document once, as a deployment would
        # a short poll: stop() waits for the loop to notice, and tests stop a server each
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> AuthlibServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- set-up a user would do
    def metadata(self) -> dict[str, Any]:
        base = self.url
        doc = AuthorizationServerMetadata(
            issuer=base,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            registration_endpoint=f"{base}/register",
            revocation_endpoint=f"{base}/revoke",
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=list(self.token_auth_methods),
            revocation_endpoint_auth_methods_supported=list(self.token_auth_methods),
            scopes_supported=list(SCOPES),
        )
        doc.validate()
        return dict(doc)

    def register_client(
        self,
        *,
        method: str,
        redirect_uris: Iterable[str],
        grant_types: Iterable[str] = ("authorization_code", "refresh_token"),
    ) -> Client:
        """A client registered by hand (an admin page in real life); a secret unless public."""
        client = Client(
            client_id="app-" + generate_token(12),
            client_secret=None if method == "none" else generate_token(32),
            token_endpoint_auth_method=method,
            redirect_uris=list(redirect_uris),
            grant_types=tuple(grant_types),
        )
        with self._lock:
            self.clients[client.client_id] = client
        return client

    # ---------------------------------------------------------------- what a person or time does
    def approve(self, authorize_url: str, *, approve: bool = True) -> str:
        """Open the consent page as the browser would, click Approve (or Deny), and return the
        address the browser is sent to."""
        with requests.Session() as http:
            http.trust_env = False  # loopback: never through a proxy (PITFALLS)
            page = http.get(authorize_url, allow_redirects=False, timeout=10)
            if page.status_code != 200:
                raise AssertionError(f"consent page: HTTP {page.status_code} {page.text[:200]}")
            answer = http.post(
                authorize_url,
                data={"confirm": "yes" if approve else "no"},
                allow_redirects=False,
                timeout=10,
            )
        if answer.status_code != 302:
            raise AssertionError(f"consent: HTTP {answer.status_code} {answer.text[:200]}")
        return answer.headers["Location"]

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (its lifetime has passed)."""
        with self._lock:
            for record in self.tokens:
                record.forced_expiry = True

    def token_works(self, access_token: str) -> bool:
        with self._lock:
            record = self.find_token(access_token)
            return record is not None and not (record.is_expired() or record.is_revoked())

    # ---------------------------------------------------------------- state the grants use
    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        previous = getattr(request, "refresh_token", None)
        self.tokens.append(
            TokenRecord(
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                client_id=request.client.client_id,
                scope=token.get("scope", ""),
                issued_at=self.clock(),
                expires_in=int(token["expires_in"]),
                family=previous.family if previous is not None else generate_token(16),
                clock=self.clock,
            )
        )

    def find_token(self, value: str) -> TokenRecord | None:
        for record in reversed(self.tokens):
            if value in (record.access_token, record.refresh_token):
                return record
        return None

    def present_refresh_token(self, value: str) -> TokenRecord | None:
        """Reuse detection: a rotated refresh token presented again ends its whole grant."""
        self.refresh_presented.append(value)
        record = self.find_token(value)
        if record is None or record.refresh_token != value:
            return None
        if record.rotated:
            self.replays.append(value)
            self._revoke_family(record.family)
            return None
        return None if record.refresh_revoked else record

    def revoke(self, record: TokenRecord, value: str) -> None:
        """RFC 7009 2.1: revoking a refresh token also ends the access tokens of its grant."""
        self.revoked.append(value)
        if value == record.refresh_token:
            self._revoke_family(record.family)
        else:
            record.access_revoked = True

    def _revoke_family(self, family: str) -> None:
        for record in self.tokens:
            if record.family == family:
                record.access_revoked = record.refresh_revoked = True

    # ---------------------------------------------------------------- HTTP
    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        req = read_request(environ, self.url)
        with self._lock:
            self.requests.append((req.method, req.path))
            status, body, headers = self._route(req)
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            headers = [h for h in headers if h[0].lower() != "content-type"]
            headers.append(("Content-Type", "application/json"))
        else:
            payload = str(body or "").encode()
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload]

    def _route(self, req: WsgiRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        path, method = req.path, req.method
        if path == "/.well-known/oauth-authorization-server" and method == "GET":
            return 200, self.metadata(), []
        if path in ("/authorize", "/oauth/authorize"):
            return self._consent(req)
        if path in ("/token", "/oauth/access_token") and method == "POST":
            return self._server.create_token_response(req)
        if path == "/revoke" and method == "POST":
            return self._server.create_endpoint_response("revocation", req)
        if path == "/register" and method == "POST":
            return self._server.create_endpoint_response("client_registration", req)
        if path in ("/v1/user", "/account") and method == "GET":
            return self._resource(req, v1=path.startswith("/v1/"))
        return 404, {"error": "not_found"}, []

    def _consent(self, req: WsgiRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        try:
            grant = self._server.get_consent_grant(req, end_user=USER)
        except OAuth2Error as err:
            return 400, f"authorization request refused: {err.error}", []
        if req.method == "GET":
            return 200, "<form method=post><button name=confirm value=yes>Approve</button>", []
        approved = req.form.get("confirm") == ["yes"]
        return self._server.create_authorization_response(
            grant.request, grant_user=USER if approved else None, grant=grant
        )

    def _resource(self, req: WsgiRequest, *, v1: bool) -> tuple[int, Any, list[tuple[str, str]]]:
        try:
            self._protector.validate_request(
                ["user:read"] if v1 else None, WsgiOAuth2Request(req)
            )
        except OAuth2Error as err:
            status, body, headers = err()
            return status, dict(body), list(headers)
        if v1:
            return 200, {"object": "user", "id": USER["id"], "displayName": USER["name"],
                         "email": USER["email"]}, []
        return 200, {"type": "User", **USER}, []
