"""The token keeper: which grant each API uses, kept in memory and in the opt-in stores.

One owner for "where is the token now": the auth flow asks it for the current token
(:class:`KeeperSource`, the flow's :class:`~gitbook_nb.api.auth.TokenSource`), for a newer one
after a 401, to renew one, and to forget a dead one by identity. Rules it keeps:

* All or nothing: a grant is kept in the opt-in store first and only then in memory, so a store
  that refuses to write leaves no half-kept token (and nothing of a refused token stays).
* A grant remembers the store it lives in (its *home*); renewing, forgetting and noticing
  another kernel's writes use that store, whatever ``token_store`` says later.
* Renewing a grant that other kernels share happens inside the store's transaction (issue 13):
  the token on disk is read again under the lock and used if another kernel renewed it
  already; otherwise the renewed token is written before the lock is let go.
* A store's ``signature()`` is compared on every use: another kernel's renewal is picked up and
  its logout is seen before this kernel sends a dead token.
* Reading a store never breaks a call or ``status()``: a failure is one warning, and the kernel
  goes on with what it has in memory.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Hashable, Mapping
from contextlib import ExitStack
from typing import Any

from gitbook_nb.errors import ConfigError, GitBookError, StorageError
from gitbook_nb.kernel._grants import PAT_CLIENT_ID, Grant
from gitbook_nb.protocol import config
from gitbook_nb.protocol.tokens import Token
from gitbook_nb.protocol.urls import host_key

__all__ = ["KeeperSource", "TokenKeeper"]

Key = tuple[str, str]


def _default_token_file() -> str:
    """~/.config/gitbook_nb/tokens.json (XDG), only ever used after an explicit opt-in (F1)."""
    import os

    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "gitbook_nb", "tokens.json")


def _warn(text: str) -> None:
    warnings.warn(f"gitbook_nb: {text}", stacklevel=4)


class TokenKeeper:
    """See the module docstring. Thread-safe; the hot path (:meth:`grant`) takes no lock."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        is_sandbox: Callable[[config.Settings], bool],
        renewer: Callable[[Grant], Token] | None = None,
    ) -> None:
        self._environ = environ
        self._is_sandbox = is_sandbox
        self.renewer = renewer  # set by the session: sends the refresh to the grant's issuer
        self._lock = threading.RLock()
        self._grants: dict[Key, Grant] = {}  # every grant this kernel holds
        self._active: dict[str, Key] = {}  # api_url -> key of its latest sign-in
        self._homes: dict[Key, Any] = {}  # key -> the opt-in store it lives in
        self._seen: dict[int, Hashable] = {}  # id(store) -> signature after our last look
        self._stores: dict[tuple[str, str | None], Any] = {}  # (token_store, token_file)

    def __repr__(self) -> str:
        return f"<TokenKeeper {len(self._grants)} grant(s)>"

    # ---------------------------------------------------------------- stores
    def store_for(self, s: config.Settings) -> Any:
        """The opt-in store of ``s`` (opened once), or None for ``token_store='memory'``."""
        if s.token_store == "memory":
            return None
        where = (s.token_store, s.token_file)
        store = self._stores.get(where)
        if store is None:
            with self._lock:
                store = self._stores.get(where)
                if store is None:
                    store = self._stores[where] = self._open(s)
        return store

    def _open(self, s: config.Settings) -> Any:
        from gitbook_nb.kernel import stores

        allowed, reason = stores.persistence_allowed(self._environ)
        if not allowed:
            raise ConfigError(
                f"token_store={s.token_store!r} refused: {reason}",
                hint="keep the default token_store='memory' here",
            )
        if s.token_store == "file":
            return stores.FileStore(s.token_file or _default_token_file())
        if s.token_store == "keyring":
            from gitbook_nb.kernel._keyring import KeyringStore

            return KeyringStore()
        raise ConfigError(f"unknown token_store {s.token_store!r}")

    def describe(self, s: config.Settings, grant: Grant | None) -> str | None:
        """Where ``grant`` lives, in words (F4); never raises."""
        if grant is None:
            return None
        if grant.source == "env":
            return "environment variable GITBOOK_TOKEN"
        home = self._homes.get(grant.key)
        return "kernel memory" + (f" + {home.describe()}" if home is not None else "")

    # ---------------------------------------------------------------- reading
    def grant(self, s: config.Settings) -> Grant | None:
        """The grant calls to ``s.api_url`` use: its latest sign-in, else one found in the
        opt-in store, else GITBOOK_TOKEN. The hot path: two dict lookups and, for a grant
        kept in an opt-in store, one ``signature()``."""
        key = self._active.get(s.api_url)
        if key is not None:
            grant = self._grants.get(key)
            if grant is not None:
                home = self._homes.get(key)
                if home is None or self._unchanged(home):
                    return grant
                return self._reload(s, grant, home)
        return self._lookup(s)

    def _unchanged(self, store: Any) -> bool:
        try:
            return bool(store.signature() == self._seen.get(id(store)))
        except GitBookError:
            return True  # unreadable now: go on with memory (one warning comes from _reload)

    def _note_seen(self, store: Any) -> None:
        try:
            self._seen[id(store)] = store.signature()
        except GitBookError:
            self._seen.pop(id(store), None)

    def _reload(self, s: config.Settings, grant: Grant, home: Any) -> Grant | None:
        """Another process wrote ``home``: adopt its newer token, or see its logout."""
        with self._lock:
            self._note_seen(home)  # before reading: a write after this is seen next time
            try:
                disk = home.get(grant.key)
            except GitBookError as err:
                _warn(f"could not read {home.describe()} ({err.message}); using this kernel's copy")
                return grant
            current = self._grants.get(grant.key)
            if current is None:
                return self._lookup(s)
            if disk is None:  # signed out in another kernel: so are we (F4)
                self._drop(current)
                return self._lookup(s)
            if not disk.same_as(current.token):
                current = self._adopt(current, disk)
            return current

    def _adopt(self, grant: Grant, token: Token) -> Grant:
        newer = grant.with_token(token)
        self._grants[grant.key] = newer
        return newer

    def _lookup(self, s: config.Settings) -> Grant | None:
        """No active sign-in for this API: the configured client's token, a personal token,
        then any other client of this host (a registered one a new kernel cannot name)."""
        host = host_key(s.api_url)
        with self._lock:
            keys = [(host, cid) for cid in (s.client_id, PAT_CLIENT_ID) if cid]
            keys += [k for k in self._grants if k[0] == host and k not in keys]
            for key in keys:  # tokens are pinned to a host (D3), which both APIs may share
                grant = self._grants.get(key)
                if grant is not None:
                    self._active[s.api_url] = key
                    return grant
            found = self._from_store(s, host, keys)
            if found is not None:
                return found
        return self._env_grant(s)

    def _from_store(self, s: config.Settings, host: str, keys: list[Key]) -> Grant | None:
        try:
            store = self.store_for(s)
            if store is None:
                return None
            self._note_seen(store)
            keys = keys + [k for k in store.keys() if k[0] == host and k not in keys]
            for key in keys:
                token = store.get(key)
                if token is not None:
                    grant = Grant.from_stored(token, s)
                    self._grants[key], self._homes[key] = grant, store
                    self._active[s.api_url] = key
                    return grant
        except GitBookError as err:  # never breaks a call or status(): memory goes on
            _warn(f"the token store could not be read ({err.message}); using kernel memory")
        return None

    def _env_grant(self, s: config.Settings) -> Grant | None:
        if self._is_sandbox(s):  # GITBOOK_TOKEN is for a real GitBook: never sent to the sandbox
            return None
        secret = config.token_from_env(self._environ)
        if secret is None:
            return None
        token = Token(
            access_token=secret, issuer=host_key(s.api_url), client_id=PAT_CLIENT_ID, source="env"
        )
        return Grant.personal(token, s.api_url)

    def newer(self, s: config.Settings, stale: Token) -> Token | None:
        """A token other than ``stale`` for this API now, reading the grant's store again
        (not only its signature): after a 401 the store is the truth."""
        grant = self.grant(s)
        if grant is None:
            return None
        if not grant.token.same_as(stale):
            return grant.token
        home = self._homes.get(grant.key)
        if home is None:
            return None
        self._seen.pop(id(home), None)  # force the next look to read
        again = self.grant(s)
        if again is not None and not again.token.same_as(stale):
            return again.token
        return None

    def grants(self, s: config.Settings) -> list[Grant]:
        """Every grant this kernel holds for ``s``'s API host (logout forgets them all)."""
        host = host_key(s.api_url)
        with self._lock:
            found = {k: g for k, g in self._grants.items() if k[0] == host}
            try:
                store = self.store_for(s)
                if store is not None:
                    for key in store.keys():
                        if key[0] == host and key not in found:
                            token = store.get(key)
                            if token is not None:  # not adopted: only listed (logout, reuse)
                                found[key] = Grant.from_stored(token, s)
            except GitBookError as err:
                _warn(f"the token store could not be read ({err.message})")
            return list(found.values())

    # ---------------------------------------------------------------- writing
    def keep(self, s: config.Settings, grant: Grant) -> None:
        """Keep a new sign-in: the opt-in store first, then memory. Nothing is kept when the
        store refuses (its error says so)."""
        store = self.store_for(s)  # F1 refusal: before anything is kept
        if store is not None:
            try:
                store.set(grant.key, grant.token)
            except StorageError as err:
                raise StorageError(
                    f"signed in, but {store.describe()} refused the token ({err.message}); "
                    "nothing was kept",
                    hint="fix the token store, or configure(token_store='memory'); "
                    "then sign in again",
                ) from None
        with self._lock:
            self._grants[grant.key] = grant
            if store is not None:
                self._homes[grant.key] = store
                self._note_seen(store)
            else:
                self._homes.pop(grant.key, None)
            self._active[s.api_url] = grant.key

    def renew(self, s: config.Settings, stale: Token) -> Token:
        """Refresh the grant holding ``stale`` at its own issuer (see the module docstring)."""
        grant = self._holding(s, stale)
        if grant is None:
            newer = self.newer(s, stale)
            if newer is not None:
                return newer
            raise StorageError("this sign-in ended meanwhile")
        home = self._homes.get(grant.key)
        if home is None or not hasattr(home, "transaction"):
            return self._renewed(grant, None)
        with ExitStack() as stack:
            try:
                tx = stack.enter_context(home.transaction(grant.key))
            except StorageError as err:
                err.transient = True  # type: ignore[attr-defined]  # the lock is busy: later
                raise
            stack.callback(self._note_seen, home)
            disk = tx.token
            if disk is None:
                with self._lock:
                    self._drop(grant)
                raise StorageError("this sign-in ended in another kernel (a logout)")
            if not disk.same_as(stale):  # another kernel renewed it: no second refresh
                with self._lock:
                    return self._adopt(grant, disk).token
            return self._renewed(grant, tx)

    def _renewed(self, grant: Grant, tx: Any) -> Token:
        if self.renewer is None:
            raise ConfigError("no renewer is wired to this token keeper")
        fresh = grant.with_token(self.renewer(grant))
        if tx is not None:
            try:
                tx.put(fresh.token)
            except StorageError as err:  # the old refresh token is spent: keep the new one here
                _warn(f"the renewed token could not be stored ({err.message}); kept in memory")
        with self._lock:
            self._grants[grant.key] = fresh
        return fresh.token

    def _holding(self, s: config.Settings, token: Token) -> Grant | None:
        with self._lock:
            grant = self._grants.get(token.key)
            if grant is not None and grant.token.same_as(token):
                return grant
            current = self.grant(s)
            return current if current is not None and current.token.same_as(token) else None

    def forget(self, s: config.Settings, dead: Token) -> bool:
        """Forget ``dead`` if it is still the current token of its grant (D5), here and in its
        store; a newer token (another thread's or kernel's) is left alone."""
        with self._lock:
            grant = self._grants.get(dead.key)
            if grant is None or not grant.token.same_as(dead):
                return False
            self._drop(grant, only=dead)
            return True

    def forget_all(self, s: config.Settings) -> list[Grant]:
        """Logout (F4): every grant for this API host, from memory and every store it is in."""
        found = self.grants(s)
        with self._lock:
            for grant in found:
                self._drop(grant)
            store = self._safe_store(s)
            for grant in found:
                if store is not None and self._homes.get(grant.key) is not store:
                    self._delete_from(store, grant.key, None)
        return found

    def _safe_store(self, s: config.Settings) -> Any:
        try:
            return self.store_for(s)
        except GitBookError:
            return None

    def _drop(self, grant: Grant, only: Token | None = None) -> None:
        key = grant.key
        self._grants.pop(key, None)
        for api, k in list(self._active.items()):
            if k == key:
                del self._active[api]
        home = self._homes.pop(key, None)
        if home is not None:
            self._delete_from(home, key, only)

    def _delete_from(self, store: Any, key: Key, only: Token | None) -> None:
        """Delete ``key`` from ``store``; with ``only``, just while it still holds that token."""
        try:
            if only is not None and hasattr(store, "transaction"):
                with store.transaction(key) as tx:
                    if tx.token is not None and tx.token.same_as(only):
                        tx.delete()
            else:
                store.delete(key)
            self._note_seen(store)
        except StorageError as err:  # logout goes on; say what stayed
            _warn(f"could not remove the stored token: {err.message}")


class KeeperSource:
    """The token keeper seen by the auth flow of one settings value (its TokenSource)."""

    __slots__ = ("_keeper", "_settings")

    def __init__(self, keeper: TokenKeeper, settings: config.Settings) -> None:
        self._keeper = keeper
        self._settings = settings

    def current(self) -> Token | None:
        grant = self._keeper.grant(self._settings)
        return None if grant is None else grant.token

    def newer(self, stale: Token) -> Token | None:
        return self._keeper.newer(self._settings, stale)

    def renew(self, stale: Token) -> Token:
        return self._keeper.renew(self._settings, stale)

    def forget(self, dead: Token) -> bool:
        return self._keeper.forget(self._settings, dead)
