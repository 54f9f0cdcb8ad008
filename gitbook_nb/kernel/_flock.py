"""A lock shared by every process that uses one token file (issue 13), for the file store.

Several kernels (one per open notebook) share ``tokens.json``; a thread lock guards only its
own process, so two kernels writing at once lost sign-ins, and two refreshing at once sent
one rotated refresh token twice. This lock is ``fcntl.flock`` on an empty file beside the
token file, taken around every read-modify-write.

Why hand-written on ``fcntl.flock`` rather than the ``filelock`` package: the file store is
POSIX-only already (owner and 0600/0700 checks), and what it needs is exactly flock's
guarantee that the kernel drops the lock when the holding process dies, however it dies
(SIGKILL included), plus the store's own checks on the lock file (no symlink, our owner,
0600). ``filelock`` 4 adds a soft-lock fallback whose marker a killed process leaves behind,
and some 15,000 lines of machinery for cases (Windows, shared directories, leases) that a
0700 directory of one user does not have.

Why ``flock`` and not ``fcntl``/``lockf`` record locks: those belong to the process, and any
``close`` of any descriptor of the file drops them; a flock belongs to the one open file
description made here and is released only when that is closed (or the process dies).

The lock file is created 0600, holds nothing (no token, no pid) and is never removed:
removing it while another process waits on the old inode would let two processes hold "the"
lock. A lock file left by a killed kernel is therefore harmless: it is simply reused.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the file store refuses to open
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockBusy", "LockFileRefused", "ProcessLock"]

# Busy-wait steps: flock has no timeout of its own, so a bounded wait polls LOCK_NB with a
# short backoff (what every flock-with-timeout does, filelock included).
_FIRST_STEP = 0.001
_MAX_STEP = 0.02
_BUSY = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES})


class LockBusy(Exception):
    """The lock stayed taken for the whole bounded wait."""


class LockFileRefused(Exception):
    """The lock file cannot be trusted or opened; the text says why (no secret in it)."""


class ProcessLock:
    """Exclusive across processes (flock) and across threads (an RLock); re-entrant per thread.

    ``hold()`` waits at most ``timeout`` seconds, then raises :class:`LockBusy`. A thread that
    already holds the lock may take it again (a transaction that calls ``set``).
    ``clock``/``sleep`` are injectable for tests of the wait itself.
    """

    def __init__(
        self,
        path: Path,
        *,
        uid: int,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if fcntl is None:  # pragma: no cover
            raise LockFileRefused("file locks need a POSIX system")
        self.path = path
        self.timeout = timeout
        self._uid = uid
        self._clock = clock
        self._sleep = sleep
        self._threads = threading.RLock()
        self._fd: int | None = None
        self._depth = 0  # touched only by the thread that holds self._threads

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        deadline = self._clock() + self.timeout
        if not self._threads.acquire(timeout=max(self.timeout, 0.0)):
            raise LockBusy
        try:
            if self._depth == 0:
                self._fd = self._take(deadline)
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor of this open file drops the flock
        self._threads.release()

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC  # CLOEXEC: a child
        try:  # started with exec (a subprocess) must not inherit, and so keep, the lock
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LockFileRefused("is a symlink; refused") from None
            raise LockFileRefused(f"cannot be opened: {exc.strerror}") from None
        try:
            self._check(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _check(self, fd: int) -> None:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise LockFileRefused("is not a regular file")
            if st.st_uid != self._uid:
                raise LockFileRefused("belongs to another user; refused")
            if st.st_mode & 0o077:
                # It holds nothing, so a wider mode exposed nothing: narrow it back to the
                # 0600 of the token file rather than refuse every sign-in over it.
                os.fchmod(fd, 0o600)
        except OSError as exc:
            raise LockFileRefused(f"cannot be checked: {exc.strerror}") from None

    def _take(self, deadline: float) -> int:
        fd = self._open()
        step = _FIRST_STEP
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except OSError as exc:
                    if exc.errno not in _BUSY:
                        raise LockFileRefused(f"cannot be locked: {exc.strerror}") from None
                left = deadline - self._clock()
                if left <= 0:
                    raise LockBusy
                self._sleep(min(step, left))
                step = min(step * 2, _MAX_STEP)
        except BaseException:
            os.close(fd)
            raise

    def held_here(self) -> bool:
        """Whether some thread of this process holds it now (for assertions and repr)."""
        return self._fd is not None
