"""The kernel's state: settings, the pending login, tokens; and the Python API of DESIGN.md §2.

One :class:`KernelSession` lives per kernel (``get_session()``); the module-level functions
(``configure``, ``begin_login``, ``finish_login``, ``get``...) delegate to it, so notebooks and the
thin notebook layers (widget, magics) share one state. Nothing here knows about IPython.

Failure never loses state: a login that fails at any step (state mismatch, denied, bad secret,
network down) leaves the previous token in place (SECURITY.md, "Bad input loses nothing").
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from gitbook_nb.protocol import config
from gitbook_nb.protocol import oauth
from gitbook_nb.kernel._calls import CallsMixin
from gitbook_nb.errors import AuthenticationError, ConfigError, StorageError
from gitbook_nb.kernel._signin import PAT_CLIENT_ID, SignInMixin
from gitbook_nb.kernel.stores import MemoryStore
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key as host_of  # host[:port], default port dropped: the D3 key

__all__ = [
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
    "whoami",
]


def _default_token_file() -> str:
    """~/.config/gitbook_nb/tokens.json (XDG), only ever used after an explicit opt-in (F1)."""
    import os

    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "gitbook_nb", "tokens.json")


class KernelSession(SignInMixin, CallsMixin):
    """All of a kernel's gitbook_nb state. Thread-safe (G2): one lock guards token changes."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._lock = threading.RLock()
        self._configured: dict[str, Any] = {}
        self._settings: config.Settings | None = None
        self._memory = MemoryStore()
        # api_url -> store key of its latest login. Selection is per API base (legacy and /v1 share
        # a host), pinning is per host (Token.issuer, D3).
        self._active: dict[str, tuple[str, str]] = {}
        # opt-in FileStore/KeyringStore per (token_store, token_file), opened on first use
        self._persistent: dict[tuple[str, str | None], Any] = {}
        self._pending: oauth.PendingFlow | None = None
        self._pending_settings: config.Settings | None = None
        self._sandbox: Any = None
        self._sandbox_url: str | None = None  # kept after stop(): settings still point there
        self._endpoints: dict[str, oauth.Endpoints] = {}  # per issuer, for the kernel's life
        self._registered: dict[tuple[str, str], str] = {}  # (issuer, redirect_uri) -> client_id
        self._who: dict[str, dict[str, Any]] = {}  # api_url -> whoami answer
        self._init_calls()

    def __repr__(self) -> str:  # E1: nothing secret, ever
        s = self._settings
        return (
            f"<KernelSession profile={s.profile if s else '?'} "
            f"signed_in={self.token is not None} pending={self._pending is not None}>"
        )

    # ---------------------------------------------------------------- settings
    def configure(self, **settings: Any) -> config.Settings:
        """Set session-wide settings (below explicit arguments, above the environment)."""
        if "profile" in settings and settings["profile"] is None:
            settings.pop("profile")
        merged = {**self._configured, **settings}
        resolved = self._resolve(merged, {})  # validates before anything changes
        with self._lock:
            self._configured = merged
            self._settings = resolved
        return resolved

    def profile(self, name: str) -> config.Settings:
        return self.configure(profile=name)

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = self._resolve(self._configured, {})
        return self._settings

    def settings_with(self, overrides: Mapping[str, Any] | None) -> config.Settings:
        if not overrides:
            return self.settings
        return self._resolve(self._configured, dict(overrides))

    def _resolve(self, configured: Mapping[str, Any], overrides: dict) -> config.Settings:
        s = config.resolve(overrides=overrides, configured=dict(configured), environ=self._environ)
        if s.api_url == config.SANDBOX_MARKER:
            sb = self._ensure_sandbox()
            # The sandbox's demo client is a legacy-flow client; the current flow registers its
            # own public client (RFC 7591), as with real GitBook.
            legacy = s.flow == "legacy"
            s = config.with_sandbox(
                s,
                url=sb.url,
                client_id=sb.client_id if legacy else None,
                client_secret=Secret(sb.client_secret) if legacy else None,
                redirect_uri=sb.redirect_uri,
            )
        return s

    def _ensure_sandbox(self) -> Any:
        """Start (once per kernel) the embedded sandbox; the only place the core imports it."""
        with self._lock:
            if self._sandbox is None:
                from gitbook_nb.sandbox import Sandbox  # lazy on purpose: layering rule of DESIGN.md §6

                sb = Sandbox()
                sb.start()
                self._sandbox, self._sandbox_url = sb, sb.url
            return self._sandbox

    @property
    def sandbox(self) -> Any:
        """The running sandbox when the profile is a sandbox profile, else None."""
        return self._sandbox if self._is_sandbox(self.settings) else None

    def _is_sandbox(self, s: config.Settings) -> bool:
        base = self._sandbox_url
        return base is not None and (s.api_url == base or s.api_url.startswith(base + "/"))

    def target(self, settings: config.Settings | None = None) -> dict[str, Any]:
        s = settings or self.settings
        flow_word = "current OAuth" if s.flow == "current" else "legacy web flow"
        where = host_of((s.oauth_url if s.flow == "current" else s.authorize_url) or s.api_url)
        name = "the embedded sandbox" if self._is_sandbox(s) else "GitBook"
        return {
            "profile": s.profile,
            "flow": s.flow,
            "host": host_of(s.api_url),
            "description": f"{name} ({flow_word}) at {where}",
        }

    # ---------------------------------------------------------------- tokens
    def _stores(self, s: config.Settings) -> list[Any]:
        if s.token_store == "memory":
            return [self._memory]
        where = (s.token_store, s.token_file)  # a changed store setting opens the new store
        if where not in self._persistent:
            self._persistent[where] = self._open_store(s)
        return [self._memory, self._persistent[where]]

    def _open_store(self, s: config.Settings) -> Any:
        from gitbook_nb.kernel import stores

        allowed, reason = stores.persistence_allowed(self._environ)
        if not allowed:
            raise ConfigError(
                f"token_store={s.token_store!r} refused: {reason} (F1)",
                hint="keep the default token_store='memory' here",
            )
        if s.token_store == "file":
            return stores.FileStore(s.token_file or _default_token_file())
        if s.token_store == "keyring":
            from gitbook_nb.kernel._keyring import KeyringStore

            return KeyringStore()
        raise ConfigError(f"unknown token_store {s.token_store!r}")

    def _env_token(self, s: config.Settings) -> Token | None:
        if self._is_sandbox(s):  # GITBOOK_TOKEN is for a real GitBook: never sent to the sandbox
            return None
        secret = config.token_from_env(self._environ)
        if secret is None:
            return None
        return Token(
            access_token=secret, issuer=host_of(s.api_url), client_id=PAT_CLIENT_ID, source="env"
        )

    def token_for(self, s: config.Settings) -> Token | None:
        """The token to use for ``s.api_url``'s host: the latest login, else GITBOOK_TOKEN."""
        with self._lock:
            active = self._active.get(s.api_url)
            if active is not None:  # the hot path: every call asks
                for store in self._stores(s):
                    tok = store.get(active)
                    if tok is not None:
                        return tok
            # No active login for this API (a fresh kernel with an opt-in store, or after a
            # logout): the configured client first, then personal tokens, then any other client
            # of this host (a dynamically registered one, whose id a new kernel cannot know).
            host = host_of(s.api_url)
            keys = [(host, cid) for cid in (s.client_id, PAT_CLIENT_ID) if cid]
            for store in self._stores(s):
                keys += [k for k in store.keys() if k[0] == host and k not in keys]
            for key in keys:
                for store in self._stores(s):
                    tok = store.get(key)
                    if tok is not None:
                        self._active[s.api_url] = key
                        self._memory.set(key, tok)  # later calls: no store I/O on the hot path
                        return tok
        return self._env_token(s)

    @property
    def token(self) -> Token | None:
        return self.token_for(self.settings)

    def _save_token(self, s: config.Settings, token: Token) -> None:
        with self._lock:
            for store in self._stores(s):
                store.set(token.key, token)
            self._active[s.api_url] = token.key
            self._who.pop(s.api_url, None)

    def _drop_token(self, s: config.Settings, token: Token) -> None:
        with self._lock:
            for store in self._stores(s):
                try:
                    store.delete(token.key)
                except StorageError as err:  # logout must go on; say what stayed
                    warnings.warn(
                        f"gitbook_nb: could not remove the stored token: {err}", stacklevel=3
                    )
            if self._active.get(s.api_url) == token.key:
                del self._active[s.api_url]
            self._who.pop(s.api_url, None)

    def token_from_env_note(self) -> str | None:
        s = self.settings
        tok = self.token_for(s)
        if tok is not None and tok.source == "env":
            return f"using GITBOOK_TOKEN from the environment for {host_of(s.api_url)}"
        return None

    # ---------------------------------------------------------------- who and status
    def whoami(self) -> dict[str, Any]:
        s = self.settings
        tok = self._require_token(s)
        who = self._who.get(s.api_url)
        if who is None:
            try:
                who = self._whoami_with(s, tok)
            except AuthenticationError:
                # D5, as the client does for every other call: refresh once, else clear.
                new = self._on_unauthorized(s, tok)
                if new is None:
                    raise
                who = self._whoami_with(s, new)
            self._who[s.api_url] = who
        return dict(who)

    def status(self) -> dict[str, Any]:
        from gitbook_nb.kernel.environment import detect

        s = self.settings
        tok = self.token_for(s)
        env = detect(self._environ)
        where = None
        if tok is not None:
            where = (
                "environment variable GITBOOK_TOKEN"
                if tok.source == "env"
                else " + ".join(st.describe() for st in self._stores(s))
            )
        expires = tok.expires_in(self._clock) if tok is not None else None
        return {
            **self.target(s),
            "signed_in": tok is not None,
            "who": (self._who.get(s.api_url) or {}).get("name") if tok else None,
            "token_source": tok.source if tok else None,
            "token_stored_in": where,
            "expires_in_s": None if expires is None else round(expires),
            "scopes": " ".join(tok.scope) if tok and tok.scope else None,
            "pending_login": self._pending is not None,
            "environment": env.kind,
            "environment_reason": env.reason,
            "rate_limit": self._rate_limit_text(),
        }


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
    return get_session().configure(**settings)


def profile(name: str) -> config.Settings:
    return get_session().profile(name)


def begin_login(**kw: Any) -> oauth.PendingFlow:
    return get_session().begin_login(**kw)


def finish_login(text: str, **kw: Any) -> Token:
    return get_session().finish_login(text, **kw)


def login_with_token(token: str | Secret | None = None, **kw: Any) -> Token:
    return get_session().login_with_token(token, **kw)


def logout() -> dict[str, Any]:
    return get_session().logout()


def whoami() -> dict[str, Any]:
    return get_session().whoami()


def status() -> dict[str, Any]:
    return get_session().status()


def request(method: str, path: str, **kw: Any) -> Any:
    return get_session().request(method, path, **kw)


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
