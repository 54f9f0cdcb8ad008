"""What a login needs besides its own logic: states, timers, the kernel's list of logins,
waiting for one to settle, and delivering a redirect to the loopback listener.

Split from :mod:`gitbook_nb.notebook._login_flow` (one concept per module); no ipywidgets here.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from gitbook_nb.errors import LoginError

__all__ = [
    "SETTLED",
    "STATES",
    "LoginTimers",
    "TimerFactory",
    "daemon_timer",
    "deliver_to_listener",
    "retire_older",
    "session_now",
    "wait_settled",
    "waiting_login",
]

STATES = ("ready", "waiting", "signed-in", "failed", "env", "signed-out", "stopped")
SETTLED = frozenset({"signed-in", "failed", "env", "signed-out", "stopped"})
# A timer as a value: ``factory(seconds, function)`` returns something with start() and
# cancel() (threading.Timer). Tests pass their own and fire it, instead of waiting 10 minutes.
TimerFactory = Callable[[float, Callable[[], None]], Any]
# Every login of this kernel, so a newer one can retire the older widgets (A2) and a message
# can say "finish the sign-in above" only when such a widget is really waiting.
_LOGINS: weakref.WeakSet[Any] = weakref.WeakSet()


def daemon_timer(seconds: float, function: Callable[[], None]) -> threading.Timer:
    """The default timer: a daemon thread, so a pending login never keeps a process alive."""
    timer = threading.Timer(seconds, function)
    timer.daemon = True
    return timer


class LoginTimers:
    """A login's two timers, made by one factory: the expiry (the link's lifetime) and the
    countdown's next tick while waiting (a timer rather than a loop, so no thread idles)."""

    def __init__(self, factory: TimerFactory) -> None:
        self._factory = factory
        self._expiry: Any = None
        self._tick: Any = None

    def expire_in(self, seconds: float, function: Callable[[], None]) -> None:
        self._expiry = self._factory(seconds, function)
        self._expiry.start()

    def tick_in(self, seconds: float, function: Callable[[], None]) -> None:
        self._tick = self._factory(seconds, function)
        self._tick.start()

    def stop_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def stop(self) -> None:
        """Cancel both, without waiting for a running one (it may wait for the login's lock)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.stop_tick()


def session_now(session: Any) -> float:
    """The session's clock (tests inject one), else the wall clock: a login's lifetime is
    counted on the clock that stamped it."""
    clock: Callable[[], float] = (
        getattr(session, "clock", None) or getattr(session, "_clock", None) or time.time
    )
    return float(clock())


def retire_older(flow: Any) -> None:
    """A newer login replaces the older ones of its session (A2): say so in their widgets,
    rather than let them wait for an answer that can no longer come."""
    for other in list(_LOGINS):
        if other is not flow and other.session is flow.session:
            other._replaced()


def waiting_login(session: Any = None) -> bool:
    """True when a login widget of this kernel (for ``session``, if given) is ready or
    waiting: only then may a message point at "the login widget above"."""
    return any(
        f.state in ("ready", "waiting") and (session is None or f.session is session)
        for f in list(_LOGINS)
    )


def wait_settled(
    flow: Any,
    timeout: float | None = None,
    *,
    poll: Callable[[], None] | None = None,
    interval: float = 0.1,
) -> str:
    """Block until ``flow`` (a LoginFlow) settles or ``timeout`` seconds pass (then cancel it);
    returns its state. ``None``: until its link expires. See ``LoginFlow.wait``."""
    if flow.mode == "paste" and flow.state in ("ready", "waiting"):
        raise LoginError(
            "--wait cannot wait in paste mode: the address you paste arrives with a click, "
            "which a waiting cell cannot receive",
            hint="paste the address into the widget, then run the next cells",
        )
    if timeout is None:
        timeout = flow.seconds_left() or 0.0
    deadline = time.monotonic() + timeout
    try:
        while not flow.settled.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                flow.cancel(
                    status=f"Stopped waiting after {timeout:.0f} s and cancelled the sign-in; "
                    "click Start again, or run the cell again.",
                    failure="timeout",
                )
                break
            if poll is not None:
                poll()
            flow.settled.wait(min(left, interval) if poll is not None else left)
    except KeyboardInterrupt:  # "Interrupt the kernel" while waiting: give up the login
        flow.cancel()
        raise
    return str(flow.state)


def deliver_to_listener(redirected: str) -> None:
    """GET the redirect on the loopback listener, as the browser would.

    http.client rather than requests: urllib3 logs request lines (with the code and state in the
    query) at DEBUG, and nothing secret may be logged (E3); no proxy applies to loopback either.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(redirected)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        conn.getresponse().read()
    finally:
        conn.close()
