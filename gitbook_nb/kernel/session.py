"""The kernel's state and the Python API of DESIGN.md §2.

One :class:`KernelSession` lives per kernel (``get_session()``); the module-level functions
(``configure``, ``begin_login``, ``finish_login``, ``get``...) delegate to it, so notebooks and the
thin notebook layers (widget, magics) share one state. Nothing here knows about IPython.

The session is composed of small parts, each the one owner of its concept:

* :class:`~gitbook_nb.kernel._settings.KernelSettings`: settings, profiles and the embedded
  sandbox (``.config``);
* :class:`~gitbook_nb.kernel._keeper.TokenKeeper`: which grant each API uses, in memory and in
  the opt-in stores (``.keeper``);
* :class:`~gitbook_nb.kernel._issuers.Issuers`: OAuth servers, their endpoints and registered
  clients, and a grant's refresh and revocation at its own issuer (``.issuers``);
* :class:`~gitbook_nb.kernel._signin.Login`: begin/finish, personal tokens, logout (``.signin``);
* :class:`~gitbook_nb.kernel._calls.Calls`: request, stream, paginate, prepare, whoami,
  history (``.calls``), authenticated by the api layer's one auth flow.

Failure never loses state: a login that fails at any step (state mismatch, denied, bad secret,
network down, a store that refuses to write) leaves the previous sign-in in place.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from gitbook_nb.kernel._calls import Calls
from gitbook_nb.kernel._grants import PAT_CLIENT_ID, Grant
from gitbook_nb.kernel._issuers import Issuers
from gitbook_nb.kernel._keeper import TokenKeeper
from gitbook_nb.kernel._settings import KernelSettings
from gitbook_nb.kernel._signin import Login
from gitbook_nb.protocol import config, oauth
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key as host_of  # host[:port], default port dropped

__all__ = [
    "PAT_CLIENT_ID",
    "KernelSession",
    "begin_login",
    "configure",
    "delete",
    "finish_login",
    "get",
    "get_session",
    "history",
    "login_with_token",
    "logout",
    "paginate",
    "patch",
    "post",
    "prepare",
    "profile",
    "request",
    "status",
    "stream",
    "whoami",
]


class KernelSession:
    """All of a kernel's gitbook_nb state, composed (see the module docstring). Thread-safe."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        transport: Any = None,
    ) -> None:
        """``transport`` replaces HTTP for every request the session sends (tests: an
        :class:`~gitbook_nb.api.mock.MockTransport`)."""
        self._environ = os.environ if environ is None else environ
        self._clock = clock  # the login widget reads it for its expiry timer
        self._who: dict[str, tuple[Token, dict[str, Any]]] = {}  # api_url -> (token, answer)
        self.config = KernelSettings(self._environ, start_sandbox=_start_sandbox)
        self.keeper = TokenKeeper(self._environ, is_sandbox=self.config.is_sandbox)
        self.calls = Calls(
            self.keeper, settings=lambda: self.settings, clock=clock, transport=transport
        )
        self.issuers = Issuers(lambda: self.calls.client_for(self.settings), clock=clock)
        self.keeper.renewer = self.issuers.refresh
        self.signin = Login(
            self.keeper,
            self.issuers,
            who=self.calls.whoami,
            clock=clock,
            sandbox_redirect=self.config.sandbox_redirect,
        )

    def __repr__(self) -> str:  # E1: nothing secret, ever
        s = self.config.resolved
        return (
            f"<KernelSession profile={s.profile if s else '?'} "
            f"signed_in={self.token is not None} pending={self.pending is not None}>"
        )

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    # ---------------------------------------------------------------- settings
    def configure(self, **settings: Any) -> config.Settings:
        """Set session-wide settings (below explicit arguments, above the environment).
        Only normalised values are kept: a client secret as a Secret (E1)."""
        settings = config.seal_secrets(settings)  # E2: no frame below holds its text
        return self.config.configure(**settings)

    def profile(self, name: str) -> config.Settings:
        return self.configure(profile=name)

    @property
    def settings(self) -> config.Settings:
        return self.config.current

    def settings_with(self, overrides: Mapping[str, Any] | None) -> config.Settings:
        return self.config.with_overrides(overrides)

    @property
    def sandbox(self) -> Any:
        """The running sandbox when the profile is a sandbox profile, else None."""
        return self.config.sandbox_for(self.settings)

    @property
    def _sandbox(self) -> Any:  # the sandbox this kernel started, whatever the profile
        return self.config.started

    def target(self, settings: config.Settings | None = None) -> dict[str, Any]:
        return self.config.target(settings or self.settings)

    # ---------------------------------------------------------------- sign-in
    def token_for(self, s: config.Settings) -> Token | None:
        """The token calls to ``s.api_url`` use: the latest sign-in, else GITBOOK_TOKEN."""
        grant = self.keeper.grant(s)
        return None if grant is None else grant.token

    def grant_for(self, s: config.Settings | None = None) -> Grant | None:
        return self.keeper.grant(s or self.settings)

    @property
    def token(self) -> Token | None:
        return self.token_for(self.settings)

    @property
    def pending(self) -> oauth.PendingFlow | None:
        return self.signin.pending

    def needs_client_secret(self, settings: config.Settings | None = None) -> bool:
        return self.signin.needs_client_secret(settings or self.settings)

    def login_redirect(self, settings: config.Settings | None = None) -> str | None:
        """The loopback redirect URI a listener should bind to reuse this issuer's registered
        client (None: any free port)."""
        return self.signin.preferred_redirect(settings or self.settings)

    def begin_login(
        self,
        *,
        redirect_uri: str | None = None,
        browser_url: Callable[[str], str] | None = None,
        **overrides: Any,
    ) -> oauth.PendingFlow:
        """Start a login and return its pending flow; any older pending flow is cancelled (A2)."""
        overrides = config.seal_secrets(overrides)
        s = self.settings_with(overrides)
        return self.signin.begin(s, redirect_uri=redirect_uri, browser_url=browser_url)

    def finish_login(
        self,
        text: str | Secret,
        *,
        flow: oauth.PendingFlow | None = None,
        client_secret: Secret | str | None = None,
    ) -> Token:
        """Check the pasted answer, exchange the code, keep the token. Failure keeps the old one."""
        text = Secret(text)  # the address may hold an unspent code (E2)
        client_secret = None if client_secret is None else Secret(client_secret)
        return self.signin.finish(text, flow=flow, client_secret=client_secret)

    def login_with_token(self, token: str | Secret | None = None, **overrides: Any) -> Token:
        """Use a personal access token (asked with getpass when not given); checked first."""
        token = None if token is None else Secret(token)
        overrides = config.seal_secrets(overrides)
        s = self.settings_with(overrides)
        candidate, who = self.signin.with_token(s, token)
        self._who[s.api_url] = (candidate, who)
        return candidate

    def logout(self) -> dict[str, Any]:
        """Forget the token everywhere it was stored (F4); revoke it where the server offers."""
        s = self.settings
        was, revoked = self.signin.logout(s)
        self._who.pop(s.api_url, None)
        left = self.keeper.grant(s)
        note = None
        if left is not None and left.source == "env":
            note = "GITBOOK_TOKEN is still set in the environment and will be used"
        return {"host": host_of(s.api_url), "revoked": revoked, "note": note, "was_signed_in": was}

    def token_from_env_note(self) -> str | None:
        s = self.settings
        grant = self.keeper.grant(s)
        if grant is not None and grant.source == "env":
            return f"using GITBOOK_TOKEN from the environment for {host_of(s.api_url)}"
        return None

    # ---------------------------------------------------------------- calls
    def client_for(self, s: config.Settings) -> Any:
        return self.calls.client_for(s)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        return self.calls.request(method, path, **kw)

    def stream(self, method: str, path: str, **kw: Any) -> Any:
        """``with session.stream("GET", path, params=...) as s: for line in s: ...``: a call
        read as it arrives (``api.stream.Stream``), with the same sign-in rules and history."""
        return self.calls.stream(method, path, **kw)

    def paginate(self, path: str, **kw: Any) -> Any:
        return self.calls.paginate(path, **kw)

    def prepare(self, method: str, path: str, **kw: Any) -> Any:
        return self.calls.prepare(method, path, **kw)

    def history(self) -> list[dict[str, Any]]:
        return self.calls.history()

    def whoami(self) -> dict[str, Any]:
        """Who the current token belongs to: asked of the API (one call), remembered for
        ``status()``."""
        s = self.settings
        who = self.calls.whoami(s)
        grant = self.keeper.grant(s)
        if grant is not None:
            self._who[s.api_url] = (grant.token, who)
        return dict(who)

    def status(self) -> dict[str, Any]:
        """Where things stand; never fails because of a token store (it says so instead)."""
        from gitbook_nb.kernel.environment import detect

        s = self.settings
        grant = self.keeper.grant(s)
        tok = None if grant is None else grant.token
        env = detect(self._environ)
        seen = self._who.get(s.api_url)
        who = seen[1].get("name") if seen and tok is not None and seen[0].same_as(tok) else None
        expires = tok.expires_in(self._clock) if tok is not None else None
        return {
            **self.target(s),
            "signed_in": tok is not None,
            "who": who,
            "token_source": tok.source if tok else None,
            "token_stored_in": self.keeper.describe(s, grant),
            "expires_in_s": None if expires is None else round(expires),
            "scopes": " ".join(tok.scope) if tok and tok.scope else None,
            "pending_login": self.pending is not None,
            "environment": env.kind,
            "environment_reason": env.reason,
            "rate_limit": self.calls.rate_limit_text(),
        }

    def close(self) -> None:
        """Close HTTP sessions and stop a sandbox this session started."""
        self.calls.close()
        self.config.stop_sandbox()


def _start_sandbox() -> Any:
    """Start the embedded sandbox: the only place the core imports it (DESIGN.md §6)."""
    from gitbook_nb.sandbox import Sandbox  # lazy on purpose

    return Sandbox().start()


_SESSION: KernelSession | None = None
_SESSION_LOCK = threading.Lock()


def get_session() -> KernelSession:
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = KernelSession()
        return _SESSION


def reset_session(session: KernelSession | None = None) -> KernelSession:
    """Replace the kernel's session (tests; or to start clean). Stops a sandbox it started."""
    global _SESSION
    with _SESSION_LOCK:
        old, _SESSION = _SESSION, session or KernelSession()
    if old is not None:
        old.close()
    return _SESSION


# ---------------------------------------------------------------- module-level API (DESIGN §2)
def configure(**settings: Any) -> config.Settings:
    settings = config.seal_secrets(settings)  # E2: first, before anything can fail
    return get_session().configure(**settings)


def profile(name: str) -> config.Settings:
    return get_session().profile(name)


def begin_login(**kw: Any) -> oauth.PendingFlow:
    kw = config.seal_secrets(kw)  # E2: a client secret override is never plain in a frame
    return get_session().begin_login(**kw)


def finish_login(text: str | Secret, **kw: Any) -> Token:
    text = Secret(text)  # E2: no frame keeps the pasted address (it may hold a code)
    kw = config.seal_secrets(kw)
    return get_session().finish_login(text, **kw)


def login_with_token(token: str | Secret | None = None, **kw: Any) -> Token:
    token = None if token is None else Secret(token)
    kw = config.seal_secrets(kw)
    return get_session().login_with_token(token, **kw)


def logout() -> dict[str, Any]:
    return get_session().logout()


def whoami() -> dict[str, Any]:
    return get_session().whoami()


def status() -> dict[str, Any]:
    return get_session().status()


def request(method: str, path: str, **kw: Any) -> Any:
    return get_session().request(method, path, **kw)


def stream(method: str, path: str, **kw: Any) -> Any:
    return get_session().stream(method, path, **kw)


def get(path: str, **params: Any) -> Any:
    return get_session().request("GET", path, params=params or None)


def post(path: str, json: Any = None, **params: Any) -> Any:
    return get_session().request("POST", path, json=json, params=params or None)


def patch(path: str, json: Any = None, **params: Any) -> Any:
    return get_session().request("PATCH", path, json=json, params=params or None)


def delete(path: str, **params: Any) -> Any:
    return get_session().request("DELETE", path, params=params or None)


def paginate(path: str, **kw: Any) -> Any:
    return get_session().paginate(path, **kw)


def prepare(method: str, path: str, **kw: Any) -> Any:
    return get_session().prepare(method, path, **kw)


def history() -> list[dict[str, Any]]:
    return get_session().history()
