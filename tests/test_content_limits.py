"""export() under GitBook's limits, over real HTTP: bounded concurrency, the rate-limit headers,
429 with and without Retry-After, and a wait longer than allowed.

Each test runs a sandbox of its own whose clock the test owns; the export's ``sleep`` moves
that clock, so a one-hour rate-limit window passes without anybody waiting (STYLE.md 1).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import gitbook_nb
from gitbook_nb.content import ExportError
from gitbook_nb.kernel import session as api
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.sandbox import Sandbox

PAGES_IN_SPACE = 9


class Clock:
    """The sandbox's clock, started at the real time (the HTTP client compares Reset with it)."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextmanager
def start(clock: Clock, **kw: Any) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, **kw) as sb:
        k = reset_session(KernelSession(environ={}))
        # max_retries=0: the client hands every 429 to the export at once, so what is tested
        # here is the export's own waiting (the client's retries have tests of their own).
        k.configure(api_url=sb.url + "/v1", oauth_url=sb.url, max_retries=0)
        k.login_with_token(sb.personal_token)
        sb.clear_log()
        yield sb
        reset_session(KernelSession(environ={}))
        assert sb.errors == []


class Counting:
    """The kernel API, counting page requests in flight: the first ``hold`` of them wait
    until all are in flight together, which only bounded concurrency can reach exactly."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.inflight = self.peak = self.seen = 0
        self.cond = threading.Condition()

    def __getattr__(self, name: str) -> Any:
        return getattr(api, name)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        if "/content/page/" not in path:
            return api.request(method, path, **kw)
        with self.cond:
            self.inflight += 1
            self.seen += 1
            self.peak = max(self.peak, self.inflight)
            self.cond.notify_all()
            if self.seen <= self.hold:
                assert self.cond.wait_for(lambda: self.peak >= self.hold, timeout=30)
        try:
            return api.request(method, path, **kw)
        finally:
            with self.cond:
                self.inflight -= 1


@pytest.mark.parametrize("concurrency", [1, 3, 4])
def test_export_keeps_exactly_n_pages_in_flight(clock: Clock, concurrency: int) -> None:
    with start(clock, rate_limit=1_000_000) as sb:
        counting = Counting(hold=concurrency)
        calls: list[tuple[int, int, int | None]] = []
        res = gitbook_nb.export(
            sb.ids["space"],
            concurrency=concurrency,
            api=counting,
            progress=lambda *a: calls.append(a),
        )
        assert counting.peak == concurrency and len(res.data) == PAGES_IN_SPACE
        assert calls[0] == (0, 0, PAGES_IN_SPACE) and calls[-1] == (9, 9, PAGES_IN_SPACE)
        assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_no_budget_left_pauses_every_worker_until_the_reset(clock: Clock) -> None:
    """X-RateLimit-Remaining 0: all workers wait for X-RateLimit-Reset, then carry on."""
    with start(clock, rate_limit=4, rate_window=60) as sb:
        res = gitbook_nb.export(
            sb.ids["space"], concurrency=2, sleep=clock.sleep, wall=clock, max_wait=600
        )
        assert len(res.data) == PAGES_IN_SPACE and res.failed == []
        # 1 tree + 9 pages with 4 a window (the sign-in used one): at least two more windows
        pauses = [s for s in clock.slept if s > 1.5]
        assert len(pauses) >= 2 and all(55 <= s <= 62.5 for s in pauses)  # each to a reset
        answered = [r.status for r in sb.requests]
        assert answered.count(200) == 1 + PAGES_IN_SPACE
        # only a worker already on its way when the budget ran out meets a 429: at most one
        # per window with two workers
        assert answered.count(429) <= len(pauses)


def test_429_without_retry_after_waits_until_the_reset(clock: Clock) -> None:
    with start(clock, rate_limit=3, rate_window=60) as sb:
        for _ in range(2):  # another notebook spends this token's budget first
            gitbook_nb.get("/user")
        sb.clear_log()
        # one worker: after this first 429, the headers alone pace it (no second 429)
        res = gitbook_nb.export(
            sb.ids["space"], concurrency=1, sleep=clock.sleep, wall=clock, max_wait=120
        )
        assert len(res.data) == PAGES_IN_SPACE
        assert [r.status for r in sb.requests].count(429) == 1
        first = sb.requests[0]
        assert first.status == 429 and first.path.endswith("/content")
        assert 55 <= clock.slept[0] <= 62  # until X-RateLimit-Reset, not a guess


def test_429_with_retry_after_waits_that_long(clock: Clock) -> None:
    with start(clock, rate_limit=1_000_000) as sb:
        faq = gitbook_nb.page(sb.ids["space"], "faq").id
        sb.add_fault(
            "rate_limit",
            path=f"/v1/spaces/{sb.ids['space']}/content/page/{faq}",
            times=1,
            retry_after=90,
        )
        sb.clear_log()
        res = gitbook_nb.export(sb.ids["space"], sleep=clock.sleep, wall=clock)
        assert len(res.data) == PAGES_IN_SPACE and len(clock.slept) == 1
        assert 90 <= clock.slept[0] <= 91
        assert [r.status for r in sb.requests].count(429) == 1


def test_a_wait_beyond_max_wait_stops_and_keeps_what_was_written(
    clock: Clock, tmp_path: Path
) -> None:
    with start(clock, rate_limit=1_000_000) as sb:
        faq = gitbook_nb.page(sb.ids["space"], "faq").id
        sb.add_fault(
            "rate_limit",
            path=f"/v1/spaces/{sb.ids['space']}/content/page/{faq}",
            retry_after=7200,
        )
        with pytest.raises(ExportError) as err:
            gitbook_nb.export(
                sb.ids["space"], to=str(tmp_path), concurrency=1, sleep=clock.sleep, wall=clock
            )
        assert clock.slept == []  # not waited for: two hours is beyond the bound
        assert "rate limit asks to wait 120 min" in str(err.value)
        assert "8 of 9 pages done" in str(err.value) and len(err.value.result.written) == 8
        sb.clear_faults()
        rerun = gitbook_nb.export(sb.ids["space"], to=str(tmp_path))
        assert rerun.written == ["faq.md"]
