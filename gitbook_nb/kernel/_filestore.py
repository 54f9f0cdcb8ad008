"""F2: the file store, one 0600 JSON file that several kernels share (issue 13).

Every read-modify-write runs under a lock on ``<file>.lock`` beside it (see ``_flock.py``)
and re-reads the file under that lock, so it merges with what is on disk *now*, never with
what this process read earlier. Plain reads take no lock: the file is only ever replaced
whole (temp file, fsync, ``os.replace``, directory fsync), so a reader sees one complete
version or the next. Re-exported from :mod:`gitbook_nb.kernel.stores`.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gitbook_nb.errors import StorageError
from gitbook_nb.kernel._flock import LockBusy, LockFileRefused, ProcessLock
from gitbook_nb.kernel._store_common import (
    FORMAT_VERSION,
    Key,
    StoreTransaction,
    serialise_tokens,
    token_from_dict,
)
from gitbook_nb.protocol.tokens import Token

__all__ = ["LOCK_TIMEOUT", "MAX_FILE", "FileStore"]

MAX_FILE = 1024 * 1024
LOCK_TIMEOUT = 10.0  # seconds a write waits for another kernel before it gives up


def _short(path: Path) -> str:
    home = os.environ.get("HOME")
    text = str(path)
    if home and text.startswith(home.rstrip("/") + "/"):
        return "~" + text[len(home.rstrip("/")) :]
    return text


class FileStore:
    """F2: one JSON file, 0600, in a 0700 directory owned by this user, replaced atomically.

    Shared safely by several processes (issue 13): writes and transactions hold an OS lock on
    ``<file>.lock``; a write that cannot get it within ``lock_timeout`` seconds raises a
    StorageError and changes nothing. ``fsync`` is injectable so a test can make a write fail
    and see the old file survive; ``uid`` (default: this process's effective uid) is the owner
    files must have.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: Callable[[int], None] = os.fsync,
        uid: int | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._fsync = fsync
        self._uid = os.geteuid() if uid is None else uid
        self._lock = ProcessLock(self.lock_path, uid=self._uid, timeout=lock_timeout)
        # Temp files are named after the store's own file: two stores in one directory
        # (token_file=...) never sweep each other's writes in progress.
        self._tmp_prefix = f".{self.path.name}-"

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
        return self._read().get(tuple(key))  # type: ignore[arg-type]

    def keys(self) -> list[Key]:
        """The (issuer, client id) pairs stored: a new kernel finds a dynamically registered
        client's token without knowing its client id."""
        return list(self._read())

    def signature(self) -> Hashable:
        """``(mtime_ns, size, inode)`` of the file, None when there is none: one ``stat``.

        Every write renames a new file over the old one, so the inode changes; a freed inode
        can come back and mtime is as coarse as the kernel clock tick, so two writes in one
        tick could look alike: a hint to re-read, never proof (``transaction`` re-reads).
        """
        try:
            st = os.lstat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # -- the lock
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._check_dir(create=True)
        try:
            self._lock.acquire()
        except LockBusy:
            raise StorageError(
                f"the token file {_short(self.path)} stayed locked by another kernel for "
                f"{self._lock.timeout:g} s; nothing was changed",
                hint="try again; if it keeps happening, restart the other notebooks' kernels",
            ) from None
        except LockFileRefused as exc:
            raise StorageError(
                f"the lock file {_short(self.lock_path)} {exc}; nothing was changed",
                hint=f"delete {_short(self.lock_path)}, then try again",
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def transaction(self, key: Key) -> Iterator[StoreTransaction]:
        """Hold the lock, read the token on disk now, and write through ``put``/``delete``
        before letting go: how a kernel refreshes a grant that other kernels share."""
        k: Key = tuple(key)  # type: ignore[assignment]
        with self._locked():
            tx = StoreTransaction(
                k, self._read().get(k), lambda t: self._put(k, t), lambda: self._remove(k)
            )
            try:
                yield tx
            finally:
                tx.close()

    # -- writing (always under the lock, always re-reading the file first)
    def set(self, key: Key, token: Token) -> None:
        with self._locked():
            self._put(tuple(key), token)  # type: ignore[arg-type]

    def delete(self, key: Key) -> None:
        if not self._check_dir(create=False):
            return  # no directory, nothing kept: and deleting creates nothing
        with self._locked():
            self._remove(tuple(key))  # type: ignore[arg-type]

    def clear(self) -> None:
        if not self._check_dir(create=False):
            return
        with self._locked():
            self._unlink()
            self._sweep()  # F4: no copy of a token left behind by a killed writer either

    def _put(self, key: Key, token: Token) -> None:
        tokens = self._read()
        tokens[key] = token
        self._write(tokens)

    def _remove(self, key: Key) -> None:
        tokens = self._read()
        if tokens.pop(key, None) is not None:
            self._write(tokens)

    def _write(self, tokens: dict[Key, Token]) -> None:
        self._sweep()
        if not tokens:
            self._unlink()
            return
        # E2: the revealed tokens exist only in the frames of serialise_tokens and _replace,
        # which return instead of raising; a traceback (``%xmode Verbose`` prints every
        # frame's locals) starts here, where no local holds them.
        failure = self._replace(serialise_tokens(tokens))
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
            fd, tmp = tempfile.mkstemp(prefix=self._tmp_prefix, suffix=".tmp", dir=self.path.parent)
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

    def _sweep(self) -> None:
        """Remove temp files a killed writer left (they hold tokens). Only under the lock:
        then no writer of this file is between its mkstemp and its rename."""
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return
        for name in names:
            if name.startswith(self._tmp_prefix) and name.endswith(".tmp"):
                try:
                    os.unlink(self.path.parent / name)
                except OSError:
                    pass

    def _unlink(self) -> None:
        try:
            os.unlink(self.path)  # removes a symlink itself, never its target
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"could not remove {_short(self.path)}: {exc.strerror}") from None
