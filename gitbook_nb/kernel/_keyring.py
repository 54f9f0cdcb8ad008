"""F3: the system keyring as an opt-in token store, only with a backend that protects secrets.

``keyring`` is an optional extra, imported when a store is made, never at module import.

Across processes (several kernels at once, issue 13) the keyring API offers no lock, so this
store guarantees less than the file store; exactly:

- guaranteed: each token is one keyring entry written whole by one ``set_password`` call, so
  another kernel reads the old token or the new one, never a mix; ``get`` and ``transaction``
  read the keyring every time (no cache), so a token rotated or deleted (logout) by another
  kernel is seen by the next read; within one process, a thread lock makes ``transaction``
  exclusive, as in the other stores.
- not guaranteed: mutual exclusion between processes. Two kernels refreshing the same grant at
  the same moment may both send its refresh token; a server with reuse detection then revokes
  the grant and both are signed out. Two kernels storing their first token for different
  clients at the same moment may leave one out of the index that ``keys()`` reads (the token
  itself is kept; a new kernel just does not find a dynamically registered client's token
  until the next sign-in). ``signature`` counts only this process's writes (reading every
  entry on each call would cost a keyring round trip per call), so a kernel learns of another
  kernel's renewal or logout only when its own token is refused: a renewal then costs one
  retry, and after a logout the message says to log in again.

For several kernels against a server that rotates refresh tokens, ``token_store="file"`` is
the store that guarantees one refresh at a time.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from gitbook_nb.errors import StorageError
from gitbook_nb.kernel.stores import Key, StoreTransaction, token_from_dict, token_to_dict
from gitbook_nb.protocol.tokens import Token

__all__ = ["KeyringStore"]

# F3: backends that are no protection at all, by "module.Class" anywhere in the MRO.
_REFUSED_BACKENDS = frozenset(
    {
        "keyring.backends.fail.Keyring",
        "keyring.backends.null.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
    }
)


def _backend_problem(backend: Any) -> str | None:
    chain = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend":
        if not chain:
            return "no keyring backend is available"
        for sub in chain:
            problem = _backend_problem(sub)
            if problem:
                return problem
        return None
    for cls in type(backend).__mro__:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in _REFUSED_BACKENDS or "plaintext" in name.lower():
            return f"the keyring backend {name} does not protect secrets"
    return None


def _entry_json(key: Key, token: Token) -> str:
    entry = token_to_dict(token)
    entry["issuer"], entry["client_id"] = key
    return json.dumps(entry)


class KeyringStore:
    """F3: the system keyring, only with a real backend; never a silent plaintext fallback.

    ``keyring`` is imported here, not at module import (an optional extra). ``backend`` lets
    a caller (or test) pass a backend instance instead of the system default. What it does
    and does not guarantee across processes: see the module docstring.
    """

    SERVICE = "gitbook_nb"
    _INDEX = "__index__"

    def __init__(self, backend: Any = None) -> None:
        try:
            import keyring
            import keyring.errors
        except ImportError:
            raise StorageError(
                "the keyring store needs the 'keyring' package",
                hint="pip install keyring, or use token_store='file'",
            ) from None
        self._errors: tuple[type[BaseException], ...] = (keyring.errors.KeyringError,)
        self._backend = backend if backend is not None else keyring.get_keyring()
        problem = _backend_problem(self._backend)
        if problem:
            raise StorageError(
                problem,
                hint="install a system keyring, or use "
                "token_store='file' (a 0600 file) or the default memory store",
            )
        self._lock = threading.RLock()  # re-entrant: set/get inside a transaction
        self._writes = 0  # this object's writes: its signature

    def describe(self) -> str:
        return f"keyring ({type(self._backend).__module__}.{type(self._backend).__qualname__})"

    def __repr__(self) -> str:
        return f"KeyringStore({type(self._backend).__qualname__})"

    @staticmethod
    def _user(key: Key) -> str:
        return json.dumps(list(key))

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(self.SERVICE, *args)
        except self._errors as exc:
            raise StorageError(f"the keyring refused: {type(exc).__name__}") from None

    def _index(self) -> list[str]:
        raw = self._call(self._backend.get_password, self._INDEX)
        try:
            index = json.loads(raw) if raw else []
            return [u for u in index if isinstance(u, str)]
        except (ValueError, TypeError):
            return []

    def get(self, key: Key) -> Token | None:
        with self._lock:
            raw = self._call(self._backend.get_password, self._user(key))
        if raw is None:
            return None
        try:
            return token_from_dict(json.loads(raw))
        except (ValueError, TypeError, RecursionError):
            warnings.warn(
                "gitbook_nb: an unreadable token in the keyring was ignored", stacklevel=2
            )
            return None

    def set(self, key: Key, token: Token) -> None:
        with self._lock:
            self._writes += 1
            # E2: the revealed token is an argument only of _put, which returns its failure
            # instead of raising (``%xmode Verbose`` prints every frame's locals).
            failure = self._put(self._user(key), _entry_json(key, token))
            if failure is not None:
                raise StorageError(f"the keyring refused: {failure}")
            index = self._index()
            if self._user(key) not in index:
                index.append(self._user(key))
                self._call(self._backend.set_password, self._INDEX, json.dumps(index))

    @contextmanager
    def transaction(self, key: Key) -> Iterator[StoreTransaction]:
        """Exclusive among this process's threads only; the token is read from the keyring
        as it is now (see the module docstring for what another process may do meanwhile)."""
        k: Key = tuple(key)  # type: ignore[assignment]
        with self._lock:
            tx = StoreTransaction(k, self.get(k), lambda t: self.set(k, t), lambda: self.delete(k))
            try:
                yield tx
            finally:
                tx.close()

    def signature(self) -> Hashable:
        """A count of this store object's own writes. The kernel compares it on every call,
        and a keyring read costs a round trip to the keyring service (D-Bus, Keychain) per
        entry, so it reads nothing: another process's writes do not change it (the module
        docstring says what that costs), while ``get`` and ``transaction`` read afresh."""
        with self._lock:
            return self._writes

    def _put(self, user: str, value: str) -> str | None:
        """Store ``value``; the failure's type name or None. Any exception is caught: one
        escaping from the backend would carry ``value`` in its frames."""
        try:
            self._backend.set_password(self.SERVICE, user, value)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            return type(exc).__name__
        return None

    def _delete_user(self, user: str) -> None:
        try:
            self._backend.delete_password(self.SERVICE, user)
        except self._errors:
            pass  # PasswordDeleteError: already gone

    def delete(self, key: Key) -> None:
        with self._lock:
            self._writes += 1
            self._delete_user(self._user(key))
            index = [u for u in self._index() if u != self._user(key)]
            self._call(self._backend.set_password, self._INDEX, json.dumps(index))

    def keys(self) -> list[Key]:
        with self._lock:
            users = self._index()
        out: list[Key] = []
        for user in users:
            try:
                issuer, client_id = json.loads(user)
            except (ValueError, TypeError):
                continue
            if isinstance(issuer, str) and isinstance(client_id, str):
                out.append((issuer, client_id))
        return out

    def clear(self) -> None:
        with self._lock:
            self._writes += 1
            for user in self._index():
                self._delete_user(user)
            self._delete_user(self._INDEX)
