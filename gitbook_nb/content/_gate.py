"""One pause shared by every export worker, driven by GitBook's rate-limit headers.

GitBook sends ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds) and answers
429 once the window's budget is spent, with no ``Retry-After`` promised. When one answer says
nothing remains, *all* workers stop sending until the reset, instead of each one running into
its own 429. A pause longer than ``max_wait`` is not waited for: :meth:`RateGate.pause` says
so and the export stops cleanly (what was written stays, a rerun continues).

Clock and sleep are injected (STYLE.md 1): tests drive a sandbox whose clock they move.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["RateGate", "TooLong"]

RESET_MARGIN = 1.0  # X-RateLimit-Reset is whole seconds, cut down: wait one more


class TooLong(Exception):
    """The server asks for a longer pause than the export may wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"{seconds:.0f} s")
        self.seconds = seconds


class RateGate:
    def __init__(
        self,
        *,
        max_wait: float,
        wall: Callable[[], float],
        sleep: Callable[[float], object],
    ) -> None:
        self.max_wait = max_wait
        self._wall = wall
        self._sleep = sleep
        self._cond = threading.Condition()
        self._until = 0.0  # wall time before which nobody sends
        self._sleeping = False
        self._cancelled = False
        self.paused = 0  # how many pauses happened (the export reports it)
        self.waited = 0.0  # seconds spent paused

    def observe(self, remaining: int | None, reset: float | None) -> None:
        """After an answer: nothing left in this window means everybody waits for the reset."""
        if remaining is not None and remaining <= 0 and reset is not None:
            self.pause(reset - self._wall() + RESET_MARGIN)

    def after_429(
        self,
        retry_after: float | None,
        attempt: int,
        remaining: int | None = None,
        reset: float | None = None,
    ) -> float:
        """How long to pause after a 429. With the spent window's ``X-RateLimit-Reset``: until
        then by our own clock (nothing when another worker already waited it out). Without:
        the server's Retry-After (or the client's estimate from Reset), else a backoff."""
        if remaining is not None and remaining <= 0 and reset is not None:
            return max(0.0, reset + RESET_MARGIN - self._wall())
        if retry_after is not None:  # may come from a Reset cut to whole seconds: margin
            return retry_after + RESET_MARGIN
        return 2.0**attempt

    def pause(self, seconds: float) -> None:
        """Hold every worker for ``seconds`` from now; :class:`TooLong` beyond ``max_wait``."""
        if seconds > self.max_wait:
            raise TooLong(seconds)
        with self._cond:
            self._until = max(self._until, self._wall() + max(0.0, seconds))

    def cancel(self) -> None:
        """Release every waiting worker at once (the export is stopping)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def wait(self) -> None:
        """Block until sending is allowed (or the gate is cancelled). One worker sleeps (the
        injected ``sleep``, which may return early); the others wait for it."""
        with self._cond:
            while True:
                left = self._until - self._wall()
                if left <= 0 or self._cancelled:
                    return
                if self._sleeping:
                    self._cond.wait()
                    continue
                self._sleeping = True
                self.paused += 1
                self._cond.release()
                try:
                    self._sleep(left)
                finally:
                    self._cond.acquire()
                    self._sleeping = False
                    self.waited += left
                    self._cond.notify_all()
