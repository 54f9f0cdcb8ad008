"""One sign-in shared by threads (issue 10 acceptance), over real HTTP against the sandbox.

Access tokens live 30 seconds and refresh tokens rotate, with reuse detection on: a refresh
token presented twice revokes the whole grant, which is how threads used to sign a user out.
Time is not slept through: the sandbox and the session share one injected clock, which the
threads move forward as they call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from support import FakeClock

from gitbook_nb import errors
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.protocol.tokens import expiry_leeway
from gitbook_nb.sandbox import Sandbox

THREADS = 8
CALLS = 200
TTL = 30.0
STEP = 1.0  # seconds the shared clock moves every THREADS calls


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def short(clock) -> Iterator[Sandbox]:
    """A sandbox of its own: 30-second access tokens, rotating refresh tokens, our clock."""
    with Sandbox(access_token_ttl=TTL, clock=clock, rate_limit=10**9) as sb:
        assert sb.reuse_detection
        yield sb


def _signed_in(sb: Sandbox, clock: FakeClock) -> KernelSession:
    ks = KernelSession(environ={}, clock=clock)
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
    flow = ks.begin_login()
    ks.finish_login(sb.approve(flow.authorize_url))
    return ks


def _hammer(ks: KernelSession, clock: FakeClock) -> list[BaseException]:
    """THREADS threads x CALLS calls; every THREADS calls the clock moves STEP seconds."""
    failures: list[BaseException] = []
    lock = threading.Lock()
    done = [0]
    start = threading.Barrier(THREADS)

    def worker() -> None:
        start.wait()
        try:
            for _ in range(CALLS):
                assert ks.request("GET", "/user").status == 200
                with lock:
                    done[0] += 1
                    if done[0] % THREADS == 0:
                        clock.now += STEP
        except BaseException as err:  # noqa: BLE001 - collected and asserted by the caller
            failures.append(err)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def _expected_refreshes() -> float:
    """Refresh ahead of expiry: every TTL - leeway seconds of the clock's run."""
    elapsed = THREADS * CALLS / THREADS * STEP
    return elapsed / (TTL - expiry_leeway(TTL))


def test_a_fresh_30_second_token_is_not_expired():
    from gitbook_nb.protocol.tokens import Secret, Token

    tok = Token(Secret("t"), expires_at=1030.0, obtained_at=1000.0)
    assert expiry_leeway(TTL) == 3.0 and not tok.expired(1000.0) and not tok.expired(1026.9)
    assert tok.expired(1027.0)  # 10% of its life before the end: refreshed ahead
    hour = Token(Secret("t"), expires_at=4600.0, obtained_at=1000.0)
    assert hour.expired(4540.0) and not hour.expired(4539.0)  # long tokens: one minute


def test_eight_threads_share_rotating_30_second_tokens(short, clock):
    ks = _signed_in(short, clock)
    first = ks.token
    short.clear_log()
    failures = _hammer(ks, clock)
    assert failures == []
    assert ks.token is not None and not ks.token.same_as(first)  # still signed in, renewed
    assert short.refresh_tokens_replayed == 0
    assert abs(short.refresh_count - _expected_refreshes()) <= 1.5  # about one per expiry
    calls = [r for r in short.requests if r.path == "/v1/user"]
    assert len([r for r in calls if r.status == 200]) == THREADS * CALLS
    refreshes = [r for r in short.requests if r.path == "/token"]
    presented = [r.form["refresh_token"][0] for r in refreshes]
    assert len(presented) == len(set(presented)) == short.refresh_count  # each sent once


def test_one_failed_refresh_costs_nothing(short, clock):
    ks = _signed_in(short, clock)
    short.clear_log()
    short.add_fault("status", path="/token", times=1, code=503)  # the first refresh fails
    failures = _hammer(ks, clock)
    assert failures == []
    assert ks.token is not None
    assert short.refresh_tokens_replayed == 0
    assert abs(short.refresh_count - _expected_refreshes()) <= 1.5
    attempts = [r for r in short.requests if r.path == "/token"]
    assert [r.status for r in attempts].count(503) == 1
    # the failed attempt changed nothing on the server, so its refresh token may go again once
    presented = [r.form["refresh_token"][0] for r in attempts if r.status == 200]
    assert len(presented) == len(set(presented))


def test_waiting_threads_reuse_one_refresh(short, clock):
    """Eight threads find the token due at once: one refresh, the others wait for it."""
    ks = _signed_in(short, clock)
    short.add_fault("latency", path="/token", seconds=0.3)  # keep the refresh in flight
    clock.now = ks.token.refresh_at + 0.5
    failures = []
    start = threading.Barrier(THREADS)

    def call() -> None:
        start.wait()
        try:
            ks.request("GET", "/user")
        except BaseException as err:  # noqa: BLE001
            failures.append(err)

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and short.refresh_count == 1 and short.refresh_tokens_replayed == 0


def test_eight_concurrent_finish_login_send_the_code_once(sb):
    ks = KernelSession(environ={})
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
    flow = ks.begin_login()
    redirected = sb.approve(flow.authorize_url)
    sb.clear_log()
    outcomes: list[str] = []
    start = threading.Barrier(THREADS)

    def finish() -> None:
        start.wait()
        try:
            ks.finish_login(redirected)
            outcomes.append("signed in")
        except errors.LoginError as err:
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=finish) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("signed in") == 1 and len(outcomes) == THREADS
    assert len([r for r in sb.requests if r.path == "/token"]) == 1  # the code went once
    assert ks.request("GET", "/user").status == 200
