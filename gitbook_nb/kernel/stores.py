"""Where tokens are kept (SECURITY.md F): kernel memory by default, a file or keyring by opt-in.

All stores share one small interface, keyed by ``(issuer host, client id)`` (D3)::

    get(key) -> Token | None;  set(key, token);  delete(key);  clear();  keys();  describe()
    transaction(key) -> context manager yielding StoreTransaction (.token, .put(t), .delete())
    signature() -> a cheap hashable value that changes when the store is written

``transaction`` is how a kernel refreshes a grant that other kernels share (issue 13): it holds
the store's lock, reads the token kept *now*, and writes the rotated one before letting go, so
no refresh token is sent twice. ``signature`` tells a kernel, cheaply, that the file store was
written since it last looked, by any process (a hint to re-read; the transaction is the truth;
the keyring's counts only this process's writes, see ``_keyring.py``).

The keyring store is in ``_keyring.py``, the file lock in ``_flock.py``. Tokens are serialised
as JSON; the access and refresh tokens are revealed only into the store itself (a 0600 file or
the keyring).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager

from gitbook_nb.kernel._filestore import LOCK_TIMEOUT, FileStore
from gitbook_nb.kernel._store_common import (
    Key,
    StoreTransaction,
    TokenStore,
    token_from_dict,
    token_to_dict,
)
from gitbook_nb.protocol.tokens import Token

__all__ = [
    "LOCK_TIMEOUT",
    "FileStore",
    "Key",
    "MemoryStore",
    "StoreTransaction",
    "TokenStore",
    "persistence_allowed",
    "token_from_dict",
    "token_to_dict",
]


def persistence_allowed(environ: Mapping[str, str] = os.environ) -> tuple[bool, str]:
    """F1: a persistent store is refused by default on Binder and shared hubs.

    There the home directory (or keyring) may be shared, snapshotted or outlive the user's
    session. Only names are looked at, never values.
    """
    if (
        "BINDER_REQUEST" in environ
        or "BINDER_LAUNCH_HOST" in environ
        or ("REPO_DIR" in environ and any(k.startswith("BINDER_") for k in environ))
    ):
        return False, "running on Binder: tokens stay in kernel memory"
    if "JUPYTERHUB_API_TOKEN" in environ or "JUPYTERHUB_SERVICE_PREFIX" in environ:
        return False, "running on a shared JupyterHub: tokens stay in kernel memory"
    return True, "local kernel"


class MemoryStore:
    """The default: tokens live only in this kernel's memory and die with it (F1).

    Its lock is re-entrant so that ``get``/``set`` work inside its own transaction; its
    signature is a write counter (no other process can write to it).
    """

    def __init__(self) -> None:
        self._tokens: dict[Key, Token] = {}
        self._lock = threading.RLock()
        self._writes = 0

    def get(self, key: Key) -> Token | None:
        with self._lock:
            return self._tokens.get(tuple(key))  # type: ignore[arg-type]

    def set(self, key: Key, token: Token) -> None:
        with self._lock:
            self._tokens[tuple(key)] = token  # type: ignore[index]
            self._writes += 1

    def delete(self, key: Key) -> None:
        with self._lock:
            if self._tokens.pop(tuple(key), None) is not None:  # type: ignore[arg-type]
                self._writes += 1

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._writes += 1

    def keys(self) -> list[Key]:
        with self._lock:
            return list(self._tokens)

    @contextmanager
    def transaction(self, key: Key) -> Iterator[StoreTransaction]:
        k: Key = tuple(key)  # type: ignore[assignment]
        with self._lock:
            tx = StoreTransaction(
                k, self._tokens.get(k), lambda t: self.set(k, t), lambda: self.delete(k)
            )
            try:
                yield tx
            finally:
                tx.close()

    def signature(self) -> Hashable:
        with self._lock:
            return self._writes

    def describe(self) -> str:
        return "kernel memory"

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._tokens)} token(s))"
