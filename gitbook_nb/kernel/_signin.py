"""Signing in and out: begin/finish a login, personal tokens, logout with revocation.

:class:`Login` is one part of the kernel session (composed, not mixed in). What it guarantees:

* A pending flow is *spent* under a lock: the pasted address is checked and the flow marked
  used by one caller at a time, so the code is sent at most once even when several threads
  (a listener and a click, or eight concurrent ``finish_login`` calls) bring the same address.
* A failed login keeps the previous sign-in: a grant is kept only after the whole exchange
  succeeded, and kept all or nothing (:class:`~gitbook_nb.kernel._keeper.TokenKeeper`).
* Secrets die at the door: the pasted address, a getpass'd token and the client secret are
  wrapped in :class:`Secret` as they arrive, and every failure is raised from a frame that no
  longer holds a plain token, code, secret or token answer (``%xmode Verbose`` prints them).
* Logout forgets every grant of the API (F4) and revokes each at its own issuer.
"""

from __future__ import annotations

import getpass
import re
import threading
import warnings
from collections.abc import Callable
from typing import Any

from gitbook_nb.api.auth import BearerAuth
from gitbook_nb.errors import ConfigError, FlowUsedError, GitBookError, LoginError
from gitbook_nb.kernel._grants import PAT_CLIENT_ID, Grant
from gitbook_nb.kernel._issuers import Issuers, clean
from gitbook_nb.kernel._keeper import TokenKeeper
from gitbook_nb.protocol import config, oauth
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key, validate_redirect_uri

__all__ = ["PAT_CLIENT_ID", "PASTE_REDIRECT_URI", "Login"]

# RFC 6750 b64token: what a bearer token may look like on the wire.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
PASTE_REDIRECT_URI = "http://127.0.0.1/callback"
REFUSED_PAT = "the token was refused; nothing was kept and any earlier sign-in stays"


def _wrap(value: str | Secret | None) -> Secret | None:
    """A Secret with ASCII whitespace trimmed, or None; no local ever holds the plain text."""
    if value is None:
        return None
    return Secret(Secret(value).reveal().strip(" \t\r\n")) or None


class Login:
    """begin/finish, personal tokens, logout. ``who(settings, auth)`` asks the API who a token
    belongs to (the session's call, through ``auth``)."""

    def __init__(
        self,
        keeper: TokenKeeper,
        issuers: Issuers,
        *,
        who: Callable[[config.Settings, Any], dict[str, Any]],
        clock: Callable[[], float],
        sandbox_redirect: Callable[[config.Settings, str], None],
    ) -> None:
        self._keeper = keeper
        self._issuers = issuers
        self._who = who
        self._clock = clock
        self._sandbox_redirect = sandbox_redirect
        self._lock = threading.Lock()  # spends a flow: one caller at a time
        self.pending: oauth.PendingFlow | None = None
        self._pending_settings: config.Settings | None = None

    def __repr__(self) -> str:
        return f"<Login pending={self.pending is not None}>"

    # ---------------------------------------------------------------- begin
    def needs_client_secret(self, s: config.Settings) -> bool:
        return s.flow == "legacy" and not s.client_secret

    def preferred_redirect(self, s: config.Settings) -> str | None:
        """The loopback redirect a listener should bind to reuse a registration: only for the
        current flow with a dynamically registered client (a listener that chooses its own
        address asks; a configured redirect URI is used as it is)."""
        if s.flow != "current" or s.client_id:
            return None
        self._issuers.learn(self._keeper.grants(s))  # kept in an opt-in store: reusable too
        return self._issuers.preferred_redirect(s.oauth_url)

    def begin(
        self,
        s: config.Settings,
        *,
        redirect_uri: str | None = None,
        browser_url: Callable[[str], str] | None = None,
    ) -> oauth.PendingFlow:
        """Start a login and return its pending flow; an older pending flow is cancelled (A2)."""
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
        redirect = validate_redirect_uri(redirect)
        ep = self._issuers.for_login(s)
        client_id = self._client_id(s, ep, redirect)
        self._sandbox_redirect(s, redirect)
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
            if self.pending is not None:
                self.pending.cancel()
            self.pending, self._pending_settings = flow, s
        return flow

    def _client_id(self, s: config.Settings, ep: oauth.Endpoints, redirect: str) -> str:
        if s.client_id:  # a registered app (legacy) or a pre-registered client (current)
            return s.client_id
        if s.flow == "legacy":
            raise ConfigError(
                "the legacy web flow needs a client id",
                hint="set GITBOOK_CLIENT_ID or configure(client_id=...)",
            )
        issuer = s.oauth_url or ""
        self._issuers.learn(self._keeper.grants(s))
        return self._issuers.client_id(issuer, ep, redirect)

    # ---------------------------------------------------------------- finish
    def finish(
        self,
        text: str | Secret,
        *,
        flow: oauth.PendingFlow | None = None,
        client_secret: Secret | str | None = None,
    ) -> Token:
        """Check the pasted answer, exchange the code, keep the grant. Failure keeps the old
        one; a code is sent at most once."""
        text = Secret(text)  # the address may hold an unspent code: never plain in a frame
        client_secret = _wrap(client_secret)
        spent = self._spend(text, flow, client_secret)
        if isinstance(spent, GitBookError):
            raise spent
        flow, s, code, secret = spent
        del text
        method = oauth.choose_auth_method(flow.endpoints, s.token_auth_method, bool(secret))
        spec = oauth.build_token_request(flow, code, secret, auth_method=method)
        del code
        result, notes = self._issuers.token_answer(
            spec,
            api_host=host_key(s.api_url),
            client_id=flow.client_id,
            scopes=flow.scopes,
            auth_method=method,
        )
        del spec
        if isinstance(result, GitBookError):
            raise result
        for note in notes:
            warnings.warn(f"gitbook_nb: {note}", stacklevel=3)
        grant = Grant.from_login(
            result,
            settings=s,
            endpoints=flow.endpoints,
            client_secret=secret,
            auth_method=method,
            redirect_uri=flow.redirect_uri,
        )
        self._keeper.keep(s, grant)
        return grant.token

    def _spend(
        self, text: Secret, flow: oauth.PendingFlow | None, client_secret: Secret | None
    ) -> tuple[oauth.PendingFlow, config.Settings, Secret, Secret | None] | GitBookError:
        """Under the lock: choose the flow, check the address and mark the flow used (A4).
        Returns the failure instead of raising it (the frames below hold the address)."""
        with self._lock:
            current, s = self.pending, self._pending_settings
            flow = flow if flow is not None else current
            if flow is not None and flow is not current and not flow.used:
                flow.cancel()
                return FlowUsedError(
                    "this login was replaced by a newer one", hint="use the most recent login link"
                )
            secret: Secret | None = None
            if flow is not None and s is not None and (s.flow == "legacy" or s.client_id):
                # a registered app's secret; a dynamically registered client is public
                secret = client_secret if client_secret is not None else s.client_secret
                if s.flow == "legacy" and not secret:
                    return LoginError(
                        "the legacy web flow needs the app's client secret",
                        hint="set GITBOOK_CLIENT_SECRET or enter it when asked",
                    )
            try:
                code = Secret(oauth.parse_paste(flow, text.reveal(), now=self._clock))
            except GitBookError as err:
                return clean(err)
            assert flow is not None and s is not None  # parse_paste fails closed without them
            if self.pending is flow:
                self.pending = None
            return flow, s, code, secret

    def cancel(self) -> None:
        with self._lock:
            if self.pending is not None:
                self.pending.cancel()
                self.pending = None

    # ---------------------------------------------------------------- personal tokens
    def with_token(
        self, s: config.Settings, token: str | Secret | None
    ) -> tuple[Token, dict[str, Any]]:
        """Use a personal access token (getpass when None), checked before it is kept."""
        token = (
            Secret(getpass.getpass(f"GitBook personal access token for {host_key(s.api_url)}: "))
            if token is None
            else Secret(token)
        )
        secret = _wrap(token)
        del token
        if secret is None or not _B64TOKEN.fullmatch(secret.reveal()):
            raise LoginError(
                "that does not look like an access token (empty or bad characters); "
                "nothing was kept",
                hint="copy the token again from GitBook's developer settings",
            )
        candidate = Token(
            access_token=secret,
            issuer=host_key(s.api_url),
            client_id=PAT_CLIENT_ID,
            source="pat",
            obtained_at=self._clock(),
        )
        del secret
        # Checked with this token only, never renewed or forgotten: a refusal keeps nothing.
        who = self._who(s, BearerAuth(candidate, refused=REFUSED_PAT))
        self._keeper.keep(s, Grant.personal(candidate, s.api_url))
        return candidate, who

    # ---------------------------------------------------------------- logout
    def logout(self, s: config.Settings) -> tuple[bool, bool]:
        """Forget every grant of this API everywhere (F4) and revoke each at its own issuer;
        ``(was_signed_in, revoked)``, revoked only if an issuer accepted."""
        was = self._keeper.grant(s) is not None
        self.cancel()
        revoked = False
        for grant in self._keeper.forget_all(s):
            revoked = self._issuers.revoke(grant) or revoked
        return was, revoked
