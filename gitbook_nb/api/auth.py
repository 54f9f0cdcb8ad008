"""How a call is authenticated: one flow per call, in the shape of httpx's ``Auth.auth_flow``.

::

    request.token = a usable token (refreshed first when it is about to expire)
    status = yield request
    if status != 401: return
    a newer token, or one refresh (single flight), or forget the dead token
    status = yield request            # once: never a loop (D5)

Every rule about using a token lives here and nowhere else: the bearer, refresh ahead of
expiry (the leeway scales with the token's lifetime, ``Token.refresh_at``), at most one refresh
in flight per grant while other threads wait and reuse its result (also a failed one), a
rotated refresh token never sent again, one retry after a 401, and a dead token forgotten by
identity, only while it is still the current one. Where tokens are kept and how a refresh is
sent belong to the kernel, behind :class:`TokenSource`.

After a final 401 the flow writes ``request.note``: exactly what happened to the token, which
the client puts in the error's hint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Hashable
from typing import Protocol

from gitbook_nb.errors import AuthenticationError, GitBookError, TransportError
from gitbook_nb.protocol.tokens import Token

__all__ = [
    "Auth",
    "AuthRequest",
    "BearerAuth",
    "Flights",
    "GrantAuth",
    "TokenSource",
    "is_transient",
]

NO_TOKEN = "no token was sent: log in first (%gitbook login)"
NOT_KEPT = "the token was refused; nothing was kept and any earlier sign-in stays"
FORGOTTEN = "the token was refused and has been forgotten; log in again (%gitbook login)"
ENV_REFUSED = (
    "GITBOOK_TOKEN was refused; it stays in the environment: fix or unset it, "
    "or log in (%gitbook login)"
)
GONE = "the token was refused and this sign-in has ended meanwhile; log in again (%gitbook login)"
BOTH_REFUSED = (
    "the token was refused, and so was the renewed one; it has been forgotten: "
    "log in again (%gitbook login)"
)


def _renew_failed(err: GitBookError) -> str:
    return (
        f"the token was refused and renewing it failed ({err.message}); the sign-in is kept "
        "and renewed again on the next call"
    )


def _renew_refused(err: GitBookError) -> str:
    return (
        f"the token was refused and could not be renewed ({err.message}); it has been "
        "forgotten: log in again (%gitbook login)"
    )


class AuthRequest:
    """What a flow sees of one call and what it sets: the token to send, and after a final
    401 a ``note`` saying what happened to the token."""

    __slots__ = ("method", "note", "token", "url")

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url
        self.token: Token | None = None
        self.note: str | None = None

    def __repr__(self) -> str:  # the token's own repr is masked (E1)
        return f"<AuthRequest {self.method} {self.url} token={'yes' if self.token else 'no'}>"


Flow = Generator[AuthRequest, int, None]


class Auth:
    """No authentication: the request goes as it is."""

    def auth_flow(self, request: AuthRequest) -> Flow:
        status = yield request
        if status == 401:
            request.note = NO_TOKEN


class BearerAuth(Auth):
    """One fixed token, never renewed or forgotten: a personal token checked before it is
    kept, and tests. ``refused`` is the note after a 401."""

    def __init__(self, token: Token | None, *, refused: str = NOT_KEPT) -> None:
        self.token = token
        self.refused = refused

    def auth_flow(self, request: AuthRequest) -> Flow:
        request.token = self.token
        status = yield request
        if status == 401:
            request.note = NO_TOKEN if self.token is None else self.refused


class TokenSource(Protocol):
    """Where a grant's token is kept (the kernel's token keeper implements it)."""

    def current(self) -> Token | None:
        """The token to use now; the hot path, so memory only."""

    def newer(self, stale: Token) -> Token | None:
        """A token other than ``stale`` kept now (another thread's or kernel's), else None."""

    def renew(self, stale: Token) -> Token:
        """Refresh ``stale`` at its grant's own token endpoint and keep the answer; may return
        a token another kernel got meanwhile. Raises a GitBookError without secrets."""

    def forget(self, dead: Token) -> bool:
        """Forget ``dead`` if it is still the current token; False when it cannot be forgotten
        (GITBOOK_TOKEN) or is no longer current."""


def is_transient(err: GitBookError) -> bool:
    """A failure worth trying again later (network, timeout, 5xx, 429, a busy store lock):
    the token stays."""
    if isinstance(err, TransportError) or getattr(err, "transient", False):
        return True
    status = getattr(err, "status", None)
    return isinstance(status, int) and (status >= 500 or status == 429)


class _Flight:
    __slots__ = ("attempts", "failed", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts = 0
        self.failed: GitBookError | None = None


class Flights:
    """One refresh slot per grant key, shared by every flow of a kernel: at most one refresh
    is in flight per grant, whichever client or settings the calls use."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> _Flight:
        flight = self._flights.get(key)
        if flight is None:
            with self._lock:
                flight = self._flights.setdefault(key, _Flight())
        return flight


class GrantAuth(Auth):
    """The flow for a kernel's sign-in; see the module docstring for its rules."""

    def __init__(
        self,
        source: TokenSource,
        *,
        flights: Flights | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._flights = flights if flights is not None else Flights()
        self._clock = clock

    def auth_flow(self, request: AuthRequest) -> Flow:
        token = self._source.current()
        if token is not None and token.expires_at is not None:
            due = token.refresh_at
            if due is not None and self._clock() >= due:
                token = self._ahead(token)
        request.token = token
        status = yield request
        if status != 401:
            return
        if token is None:
            request.note = NO_TOKEN
            return
        retry, note = self._after_401(token)
        if retry is None:
            request.note = note
            return
        request.token = retry
        status = yield request
        if status == 401:
            forgotten = self._source.forget(retry)
            request.note = BOTH_REFUSED if forgotten or retry.source != "env" else ENV_REFUSED

    # ------------------------------------------------------------------ the rules
    def _ahead(self, token: Token) -> Token | None:
        """Refresh before expiry; a transient failure keeps the (still valid) token."""
        if not token.refresh_token:
            return token  # nothing to renew it with: use it until the server says 401
        new, err = self._refresh(token)
        if new is not None:
            return new
        if err is None:
            return self._source.current()  # signed out (or in again) meanwhile
        if is_transient(err):
            return token  # inside the leeway it still works; the next call tries again
        raise AuthenticationError(
            f"the sign-in expired and could not be renewed ({err.message}); "
            "the token has been forgotten",
            hint="log in again (%gitbook login)",
        ) from None

    def _after_401(self, stale: Token) -> tuple[Token | None, str]:
        newer = self._source.newer(stale)
        if newer is not None:
            return newer, ""
        if self._source.current() is None:
            return None, GONE
        if stale.refresh_token:
            new, err = self._refresh(stale)
            if new is not None:
                return new, ""
            if err is None:
                return None, GONE
            return None, (_renew_failed(err) if is_transient(err) else _renew_refused(err))
        forgotten = self._source.forget(stale)
        if stale.source == "env":
            return None, ENV_REFUSED
        return None, FORGOTTEN if forgotten else GONE

    def _refresh(self, stale: Token) -> tuple[Token | None, GitBookError | None]:
        """Single flight: ``(new token, None)``, ``(None, failure)`` or ``(None, None)`` when
        the sign-in ended meanwhile. Threads that waited for an attempt reuse its result."""
        flight = self._flights.get(stale.key)
        seen = flight.attempts
        with flight.lock:
            newer = self._source.newer(stale)
            if newer is not None:
                return newer, None  # another thread (or kernel) renewed it: reuse that
            if flight.attempts != seen and flight.failed is not None:
                return None, flight.failed  # we waited for an attempt that failed: its result
            if self._source.current() is None:
                return None, None
            try:
                new = self._source.renew(stale)
            except GitBookError as err:
                flight.failed = err.with_traceback(None)
            else:
                flight.failed = None
                return new, None
            finally:
                # Counted when the attempt is over: every thread that arrived while it was in
                # flight (whatever it read) sees the count move and takes its result.
                flight.attempts += 1
            failed = flight.failed
            if not is_transient(failed):
                # The refresh token is dead (invalid_grant, revoked): never send it again.
                self._source.forget(stale)
            return None, failed
