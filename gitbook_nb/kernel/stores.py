"""Where tokens are kept (SECURITY.md F): kernel memory by default, a file or keyring by opt-in.

All stores share one small interface, keyed by ``(issuer host, client id)`` (D3)::

    get(key) -> Token | None;  set(key, token);  delete(key);  clear();  describe() -> str

The keyring store is in ``keyring_store.py``; all are re-exported from :mod:`gitbook_nb.protocol.tokens`.
Tokens are serialised as JSON; the access and refresh tokens are revealed only into the store
itself (a 0600 file or the keyring).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from gitbook_nb.errors import StorageError
from gitbook_nb.protocol.tokens import Secret, Token

__all__ = [
    "FileStore",
    "MemoryStore",
    "TokenStore",
    "persistence_allowed",
    "token_from_dict",
    "token_to_dict",
]

Key = tuple[str, str]
FORMAT_VERSION = 1
MAX_FILE = 1024 * 1024


class TokenStore(Protocol):
    def get(self, key: Key) -> Token | None: ...
    def set(self, key: Key, token: Token) -> None: ...
    def delete(self, key: Key) -> None: ...
    def clear(self) -> None: ...
    def describe(self) -> str: ...
    def keys(self) -> list[Key]: ...


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


def token_to_dict(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token.reveal(),
        "token_type": token.token_type,
        "refresh_token": token.refresh_token.reveal() if token.refresh_token else None,
        "expires_at": token.expires_at,
        "scope": list(token.scope),
        "issuer": token.issuer,
        "client_id": token.client_id,
        "source": token.source,
        "obtained_at": token.obtained_at,
    }


def token_from_dict(data: Any) -> Token:
    """Raise ValueError on anything that is not a token we wrote (treated as corrupt)."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise ValueError("not a token")
    refresh = data.get("refresh_token")
    expires_at = data.get("expires_at")
    scope = data.get("scope", [])
    fields_ok = (
        (refresh is None or isinstance(refresh, str))
        and (expires_at is None or isinstance(expires_at, (int, float)))
        and isinstance(scope, list)
        and all(isinstance(s, str) for s in scope)
        and isinstance(data.get("issuer"), str)
        and isinstance(data.get("client_id"), str)
        and isinstance(data.get("obtained_at", 0), (int, float))
        and isinstance(data.get("token_type", "bearer"), str)
    )
    if not fields_ok or not data["access_token"]:
        raise ValueError("not a token")
    return Token(
        access_token=Secret(data["access_token"]),
        token_type=data.get("token_type", "bearer"),
        refresh_token=Secret(refresh) if refresh else None,
        expires_at=float(expires_at) if expires_at is not None else None,
        scope=tuple(scope),
        issuer=data["issuer"],
        client_id=data["client_id"],
        source="store",  # read back: status() says so
        obtained_at=float(data.get("obtained_at", 0)),
    )


def _serialise(tokens: Mapping[Key, Token]) -> bytes:
    stored = []
    for (issuer, client_id), token in tokens.items():
        entry = token_to_dict(token)
        entry["issuer"], entry["client_id"] = issuer, client_id
        stored.append(entry)
    return json.dumps({"version": FORMAT_VERSION, "tokens": stored}).encode()


class MemoryStore:
    """The default: tokens live only in this kernel's memory and die with it (F1)."""

    def __init__(self) -> None:
        self._tokens: dict[Key, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Token | None:
        with self._lock:
            return self._tokens.get(tuple(key))  # type: ignore[arg-type]

    def set(self, key: Key, token: Token) -> None:
        with self._lock:
            self._tokens[tuple(key)] = token  # type: ignore[index]

    def delete(self, key: Key) -> None:
        with self._lock:
            self._tokens.pop(tuple(key), None)  # type: ignore[arg-type]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def keys(self) -> list[Key]:
        with self._lock:
            return list(self._tokens)

    def describe(self) -> str:
        return "kernel memory"

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._tokens)} token(s))"


def _short(path: Path) -> str:
    home = os.environ.get("HOME")
    text = str(path)
    if home and text.startswith(home.rstrip("/") + "/"):
        return "~" + text[len(home.rstrip("/")) :]
    return text


class FileStore:
    """F2: one JSON file, 0600, in a 0700 directory owned by this user, replaced atomically.

    ``fsync`` is injectable so a test can make a write fail and see the old file survive;
    ``uid`` (default: this process's effective uid) is the owner files must have.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: Callable[[int], None] = os.fsync,
        uid: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._uid = os.geteuid() if uid is None else uid
        self._lock = threading.RLock()

    def describe(self) -> str:
        return f"file {_short(self.path)} (0600)"

    def __repr__(self) -> str:
        return f"FileStore({_short(self.path)!r})"

    # -- checks
    def _check_dir(self, create: bool) -> bool:
        d = self.path.parent
        try:
            st = os.lstat(d)
        except FileNotFoundError:
            if not create:
                return False
            try:
                os.makedirs(d, mode=0o700, exist_ok=True)
                os.chmod(d, 0o700)  # makedirs' mode is filtered by the umask
            except OSError as exc:
                raise StorageError(
                    f"cannot create the token directory {_short(d)}: {exc.strerror}"
                ) from None
            st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode):
            raise StorageError(f"{_short(d)} is not a directory (or is a symlink)")
        if st.st_uid != self._uid:
            raise StorageError(f"the token directory {_short(d)} belongs to another user")
        if st.st_mode & 0o077:
            raise StorageError(
                f"the token directory {_short(d)} is open to other users "
                f"(mode {stat.S_IMODE(st.st_mode):o})",
                hint=f"chmod 700 {_short(d)}, or choose a private directory",
            )
        return True

    def _check_file(self, st: os.stat_result) -> None:
        where = _short(self.path)
        if stat.S_ISLNK(st.st_mode):
            raise StorageError(f"the token file {where} is a symlink; refused")
        if not stat.S_ISREG(st.st_mode):
            raise StorageError(f"the token file {where} is not a regular file")
        if st.st_uid != self._uid:
            raise StorageError(f"the token file {where} belongs to another user; refused")
        if st.st_mode & 0o077:
            raise StorageError(
                f"the token file {where} is readable by others "
                f"(mode {stat.S_IMODE(st.st_mode):o}); refused",
                hint=f"delete it or chmod 600 {where}, then log in again",
            )

    # -- reading
    def _read(self) -> dict[Key, Token]:
        if not self._check_dir(create=False):
            return {}
        try:
            self._check_file(os.lstat(self.path))
        except FileNotFoundError:
            return {}
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise StorageError(
                f"cannot open the token file {_short(self.path)}: {exc.strerror}"
            ) from None
        with os.fdopen(fd, "rb") as fh:
            self._check_file(os.fstat(fh.fileno()))  # the file we opened, not a swapped one
            raw = fh.read(MAX_FILE + 1)
        try:
            if len(raw) > MAX_FILE:
                raise ValueError
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError
            tokens = [token_from_dict(t) for t in data["tokens"]]
        except (ValueError, KeyError, TypeError, RecursionError):
            # F2: a cache miss, one line, and never the contents
            warnings.warn(
                f"gitbook_nb: the token file {_short(self.path)} is unreadable; "
                "ignoring it (log in again to replace it)",
                stacklevel=3,
            )
            return {}
        return {(t.issuer, t.client_id): t for t in tokens}

    def get(self, key: Key) -> Token | None:
        with self._lock:
            return self._read().get(tuple(key))  # type: ignore[arg-type]

    # -- writing
    def _write(self, tokens: dict[Key, Token]) -> None:
        self._check_dir(create=True)
        if not tokens:
            self._unlink()
            return
        # E2: the revealed tokens exist only in the frames of _serialise and _replace, which
        # return instead of raising; a traceback (``%xmode Verbose`` prints every frame's
        # locals) starts here, where no local holds them.
        failure = self._replace(_serialise(tokens))
        if failure is not None:
            raise StorageError(
                f"could not write the token file {_short(self.path)}: {failure}; the previous "
                "file is unchanged"
            )
        try:  # make the rename itself durable
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass

    def _replace(self, payload: bytes) -> str | None:
        """Write ``payload`` to a temp file and rename it over the store; the failure's text
        (never the payload) or None. Returns rather than raises: see :meth:`_write`."""
        tmp = None
        try:  # mkstemp creates the file 0600 in the same directory, so os.replace is atomic
            fd, tmp = tempfile.mkstemp(prefix=".tokens-", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                self._fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return str(exc.strerror or type(exc).__name__)
        return None

    def _unlink(self) -> None:
        try:
            os.unlink(self.path)  # removes a symlink itself, never its target
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"could not remove {_short(self.path)}: {exc.strerror}") from None

    def set(self, key: Key, token: Token) -> None:
        with self._lock:
            tokens = self._read()
            tokens[tuple(key)] = token  # type: ignore[index]
            self._write(tokens)

    def delete(self, key: Key) -> None:
        with self._lock:
            tokens = self._read()
            if tokens.pop(tuple(key), None) is not None:  # type: ignore[arg-type]
                self._write(tokens)

    def clear(self) -> None:
        with self._lock:
            self._unlink()

    def keys(self) -> list[Key]:
        """The (issuer, client id) pairs stored: a new kernel finds a dynamically registered
        client's token without knowing its client id."""
        with self._lock:
            return list(self._read())
