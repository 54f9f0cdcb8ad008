"""Signing in and keeping the token fresh: the login half of the kernel session.

Split from ``session.py`` (one concept per module). ``SignInMixin`` expects the session's
settings, token bookkeeping (``token_for``, ``_save_token``, ``_drop_token``, ``_env_token``),
``client_for``, ``_lock``, ``_clock`` and the pending-flow fields. Every failure leaves the
previous token in place: a new token is saved only after the whole exchange succeeded.
"""

from __future__ import annotations

import getpass
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gitbook_nb.protocol import config
from gitbook_nb.protocol import oauth
from gitbook_nb.errors import ConfigError, FlowUsedError, GitBookError, LoginError
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key as host_of

# RFC 6750 b64token: what a bearer token may look like on the wire.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
PAT_CLIENT_ID = "personal-access-token"
PASTE_REDIRECT_URI = "http://127.0.0.1/callback"


def needed(value: str | None, name: str) -> str:
    if not value:
        raise ConfigError(
            f"the setting {name} is needed for this flow",
            hint=f"configure({name}=...) or choose a profile that has it",
        )
    return value


class SignInMixin:
    """begin/finish a login, personal tokens, logout with revocation, refresh (D5)."""

    _lock: threading.RLock
    _clock: Callable[[], float]
    _pending: oauth.PendingFlow | None
    _pending_settings: config.Settings | None
    _endpoints: dict[str, oauth.Endpoints]
    _registered: dict[tuple[str, str], str]
    _who: dict[str, dict[str, Any]]
    _sandbox: Any

    if TYPE_CHECKING:  # provided by KernelSession / CallsMixin

        @property
        def settings(self) -> config.Settings: ...
        def settings_with(self, overrides: Mapping[str, Any] | None) -> config.Settings: ...
        def client_for(self, s: config.Settings) -> Any: ...
        def token_for(self, s: config.Settings) -> Token | None: ...
        def _is_sandbox(self, s: config.Settings) -> bool: ...
        def _save_token(self, s: config.Settings, token: Token) -> None: ...
        def _drop_token(self, s: config.Settings, token: Token) -> None: ...
        def _env_token(self, s: config.Settings) -> Token | None: ...
        def _whoami_with(self, s: config.Settings, tok: Token) -> dict[str, Any]: ...

    # ---------------------------------------------------------------- login
    def needs_client_secret(self, settings: config.Settings | None = None) -> bool:
        s = settings or self.settings
        return s.flow == "legacy" and not s.client_secret

    def _endpoints_for(self, s: config.Settings) -> oauth.Endpoints:
        if s.flow == "legacy":
            return oauth.Endpoints(
                authorize=needed(s.authorize_url, "authorize_url"),
                token=needed(s.token_url, "token_url"),
            )
        issuer = needed(s.oauth_url, "oauth_url")
        if issuer not in self._endpoints:
            status, headers, body = self.client_for(s).send_spec(
                oauth.HTTPRequestSpec(
                    "GET", oauth.discovery_url(issuer), {"Accept": "application/json"}
                ),
                max_body=s.token_max_body,
            )
            self._endpoints[issuer] = oauth.parse_discovery(status, headers, body, issuer=issuer)
        return self._endpoints[issuer]

    def _client_id_for(self, s: config.Settings, ep: oauth.Endpoints, redirect_uri: str) -> str:
        if s.client_id:
            return s.client_id
        if s.flow == "legacy":
            raise ConfigError(
                "the legacy web flow needs a client id",
                hint="set GITBOOK_CLIENT_ID or configure(client_id=...)",
            )
        key = (needed(s.oauth_url, "oauth_url"), redirect_uri)
        if key not in self._registered:  # RFC 7591, cached per issuer for the kernel's life
            if not ep.registration:
                raise ConfigError(
                    "this OAuth server offers no dynamic registration",
                    hint="configure(client_id=...) with a registered app",
                )
            spec = oauth.build_registration_request(ep, redirect_uris=[redirect_uri])
            status, headers, body = self.client_for(s).send_spec(spec, max_body=s.token_max_body)
            self._registered[key] = oauth.parse_registration_response(status, headers, body)
        return self._registered[key]

    def begin_login(
        self,
        *,
        redirect_uri: str | None = None,
        browser_url: Callable[[str], str] | None = None,
        **overrides: Any,
    ) -> oauth.PendingFlow:
        """Start a login and return its pending flow; any older pending flow is cancelled (A2)."""
        s = self.settings_with(overrides)
        redirect = redirect_uri or s.redirect_uri
        if not redirect and s.flow == "current":
            # Paste mode with a public client: the browser lands on a loopback address where
            # nothing listens, and the user copies it from the address bar (RFC 8252 §7.3).
            redirect = PASTE_REDIRECT_URI
        if not redirect:
            raise ConfigError(
                "no redirect URI is configured",
                hint="set GITBOOK_REDIRECT_URI or configure(redirect_uri=...)",
            )
        from gitbook_nb.protocol.urls import validate_redirect_uri

        redirect = validate_redirect_uri(redirect)
        ep = self._endpoints_for(s)
        client_id = self._client_id_for(s, ep, redirect)
        if self._is_sandbox(s) and s.flow == "legacy":
            self._sandbox.register_redirect_uri(redirect)  # stands in for the app's settings page
        flow = oauth.start_login(
            flow=s.flow,
            endpoints=ep,
            client_id=client_id,
            redirect_uri=redirect,
            scopes=tuple(s.scopes) if s.flow == "current" else (),
            now=self._clock,
        )
        if browser_url is not None:
            flow.authorize_url = browser_url(flow.authorize_url)
        with self._lock:
            if self._pending is not None:
                self._pending.cancel()
            self._pending, self._pending_settings = flow, s
        return flow

    @property
    def pending(self) -> oauth.PendingFlow | None:
        return self._pending

    def finish_login(
        self,
        text: str,
        *,
        flow: oauth.PendingFlow | None = None,
        client_secret: Secret | str | None = None,
    ) -> Token:
        """Check the pasted answer, exchange the code, keep the token. Failure keeps the old one."""
        with self._lock:
            current, s = self._pending, self._pending_settings
        flow = flow if flow is not None else current
        if flow is not None and flow is not current and not flow.used:
            flow.cancel()
            raise FlowUsedError(
                "this login was replaced by a newer one", hint="use the most recent login link"
            )
        if flow is not None and s is not None and s.flow == "legacy":
            secret = client_secret if client_secret is not None else s.client_secret
            if not secret:
                raise LoginError(
                    "the legacy web flow needs the app's client secret",
                    hint="set GITBOOK_CLIENT_SECRET or enter it when asked",
                )
            secret = Secret(secret) if isinstance(secret, str) else secret
        else:
            secret = None
        code = oauth.parse_paste(flow, text, now=self._clock)  # marks the flow used (A4)
        assert flow is not None and s is not None  # parse_paste fails closed without a flow
        with self._lock:
            if self._pending is flow:
                self._pending = None
        spec = oauth.build_token_request(flow, code, secret)
        status, headers, body = self.client_for(s).send_spec(spec, max_body=s.token_max_body)
        token, notes = oauth.parse_token_response(
            status,
            headers,
            body,
            issuer=host_of(s.api_url),
            client_id=flow.client_id,
            requested_scopes=flow.scopes,
            now=self._clock,
        )
        for note in notes:
            warnings.warn(f"gitbook_nb: {note}", stacklevel=2)
        self._save_token(s, token)
        return token

    def login_with_token(self, token: str | Secret | None = None, **overrides: Any) -> Token:
        """Use a personal access token (asked with getpass when not given); checked first."""
        s = self.settings_with(overrides)
        if token is None:
            token = getpass.getpass(f"GitBook personal access token for {host_of(s.api_url)}: ")
        secret = token if isinstance(token, Secret) else Secret(str(token).strip(" \t\r\n"))
        if not secret or not _B64TOKEN.fullmatch(secret.reveal()):
            raise LoginError(
                "that does not look like an access token (empty or bad characters)",
                hint="copy the token again from GitBook's developer settings",
            )
        candidate = Token(
            access_token=secret,
            issuer=host_of(s.api_url),
            client_id=PAT_CLIENT_ID,
            source="pat",
            obtained_at=self._clock(),
        )
        who = self._whoami_with(s, candidate)  # a token that does not work never replaces one
        self._save_token(s, candidate)
        self._who[s.api_url] = who
        return candidate

    def logout(self) -> dict[str, Any]:
        """Forget the token everywhere it was stored (F4); revoke it where the server offers."""
        s = self.settings
        first = self.token_for(s)
        with self._lock:
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
        revoked = False
        seen: set[tuple[str, str]] = set()
        # Every token kept for this API (an OAuth login and a personal token may both be stored),
        # so an older one does not silently take over after logout.
        while (
            (tok := self.token_for(s)) is not None and tok.source != "env" and tok.key not in seen
        ):
            seen.add(tok.key)
            if s.flow == "current" and tok.client_id != PAT_CLIENT_ID:
                revoked = self._revoke(s, tok) or revoked
            self._drop_token(s, tok)
        tok = first
        note = None
        if self._env_token(s) is not None:
            note = "GITBOOK_TOKEN is still set in the environment and will be used"
        return {
            "host": host_of(s.api_url),
            "revoked": revoked,
            "note": note,
            "was_signed_in": tok is not None,
        }

    def _revoke(self, s: config.Settings, tok: Token) -> bool:
        try:
            ep = self._endpoints_for(s)
            spec = oauth.build_revocation_request(ep, tok, tok.client_id)
            if spec is None:
                return False
            status, _, _ = self.client_for(s).send_spec(spec, max_body=s.token_max_body)
            return 200 <= status < 300
        except GitBookError:  # the server is unreachable: still forget the token locally
            return False

    # ---------------------------------------------------------------- refresh (D5)
    def _fresh_token(self, s: config.Settings) -> Token | None:
        tok = self.token_for(s)
        if tok is not None and tok.expired(self._clock) and tok.refresh_token:
            tok = self._refresh(s, tok) or tok
        return tok

    def _on_unauthorized(self, s: config.Settings, tok: Token) -> Token | None:
        """Called once per call on a 401: refresh if we can, else forget the token (D5)."""
        if tok.refresh_token:
            new = self._refresh(s, tok)
            if new is not None:
                return new
        if tok.source != "env":
            self._drop_token(s, tok)
        return None

    def _refresh(self, s: config.Settings, tok: Token) -> Token | None:
        with self._lock:  # single flight: the first thread refreshes, the others reuse it
            current = self.token_for(s)
            # compared by value: an opt-in store hands out a fresh copy on every read
            if (
                current is not None
                and current.access_token != tok.access_token
                and not current.expired(self._clock)
            ):
                return current
            try:
                ep = self._endpoints_for(s)
                spec = oauth.build_refresh_request(ep, tok, tok.client_id, s.client_secret)
                status, headers, body = self.client_for(s).send_spec(
                    spec, max_body=s.token_max_body
                )
                new, _ = oauth.parse_token_response(
                    status,
                    headers,
                    body,
                    issuer=tok.issuer,
                    client_id=tok.client_id,
                    requested_scopes=tok.scope,
                    now=self._clock,
                )
            except GitBookError:
                return None
            if new.refresh_token is None:  # the server did not rotate it: keep the old one
                new = new.with_changes(refresh_token=tok.refresh_token)
            self._save_token(s, new)
            return new
