"""Issue 13's acceptance at session level: several kernels, one token file, one sandbox.

Each kernel is a fresh interpreter with its own ``KernelSession`` on the shared file
(``token_store="file"``), driven over stdin/stdout by JSON lines. The sandbox runs here, on a
clock the test moves; every kernel's clock is set to the same moment before each round of
calls (like one system clock), so 30-second tokens expire several times in a run that takes
about a second, and every step waits on an explicit reply, never on a fixed sleep.
"""

from __future__ import annotations

import time

import pytest
from support import WORKER_LOOP, FakeClock, Worker

from gitbook_nb.protocol.tokens import expiry_leeway
from gitbook_nb.sandbox import Sandbox

KERNELS = 4
ROUNDS = 10
CALLS_PER_ROUND = 10  # 4 kernels x 100 calls
STEP = 10.0  # seconds of the shared clock per round
TTL = 30.0  # the sandbox's access-token lifetime

WORKER = (
    r"""
import json, sys
from gitbook_nb.errors import GitBookError
from gitbook_nb.kernel.session import KernelSession

base, token_file, now = sys.argv[1], sys.argv[2], [float(sys.argv[3])]
ks = KernelSession(environ={}, clock=lambda: now[0])
ks.configure(flow="current", api_url=base + "/v1", oauth_url=base,
             redirect_uri=base + "/callback", token_store="file", token_file=token_file)

def failure(err):
    return {"type": type(err).__name__, "message": err.message, "hint": err.hint}

def run(cmd):
    if "now" in cmd:
        now[0] = cmd["now"]
    op = cmd["op"]
    if op == "begin_login":
        return {"url": ks.begin_login().authorize_url}
    if op == "finish_login":
        ks.finish_login(cmd["pasted"])
        return {}
    if op == "calls":
        errors, users = [], set()
        for _ in range(cmd["n"]):
            try:
                users.add(ks.request("GET", "/user").data["id"])
            except GitBookError as err:
                errors.append(failure(err))
        return {"errors": errors, "users": sorted(users)}
    if op == "status":
        st = ks.status()
        return {"signed_in": st["signed_in"], "stored_in": st["token_stored_in"]}
    if op == "logout":
        ks.logout()
        return {}
    if op == "call":
        try:
            ks.request("GET", "/user")
        except GitBookError as err:
            return failure(err)
        return {"ok": True}
    raise ValueError(op)
"""
    + WORKER_LOOP
    + "ks.close()\n"
)


class Kernel(Worker):
    """One kernel: its own KernelSession on the shared token file, at the shared clock."""

    def __init__(self, sb: Sandbox, token_file, now: float) -> None:
        super().__init__(WORKER, sb.url, str(token_file), repr(now))


@pytest.fixture
def world(tmp_path):
    clock = FakeClock(time.time())
    with Sandbox(access_token_ttl=TTL, clock=clock, rate_limit=1_000_000) as sb:
        assert sb.reuse_detection  # a replayed refresh token would revoke the grant
        token_file = tmp_path / "private" / "tokens.json"
        kernels = [Kernel(sb, token_file, clock.now) for _ in range(KERNELS)]
        try:
            for k in kernels:
                k.ready()
            yield sb, clock, kernels
        finally:
            for k in kernels:
                k.close()


def sign_in(sb: Sandbox, kernel: Kernel, now: float) -> None:
    url = kernel.call(op="begin_login", now=now)["url"]
    assert kernel.call(op="finish_login", pasted=sb.approve(url), now=now) == {}


def expected_refreshes(start: float) -> int:
    """How many times the shared clock, moving STEP per round, reaches a token's renewal
    moment (its expiry minus the leeway that scales with its lifetime)."""
    issued, count = start, 0
    for n in range(1, ROUNDS + 1):
        now = start + n * STEP
        if now >= issued + TTL - expiry_leeway(TTL):
            issued, count = now, count + 1
    return count


def test_four_kernels_share_one_rotating_grant_without_a_replay(world):
    sb, clock, kernels = world
    sign_in(sb, kernels[0], clock.now)  # one kernel signs in; the others find it in the file
    assert sb.refresh_count == 0
    start = clock.now
    for _ in range(ROUNDS):
        clock.now += STEP  # the sandbox's clock...
        for k in kernels:  # ...and every kernel's, then all call at once
            k.send(op="calls", n=CALLS_PER_ROUND, now=clock.now)
        for k in kernels:
            out = k.recv()
            assert out == {"errors": [], "users": [sb.ids["user"]]}
    assert sb.refresh_tokens_replayed == 0  # no refresh token was presented twice
    assert sb.refresh_count == expected_refreshes(start) >= 3  # one per expiry, all together
    calls = [r for r in sb.requests if r.path == "/v1/user"]
    assert len(calls) == KERNELS * ROUNDS * CALLS_PER_ROUND  # not one retry after a 401
    assert all(r.status == 200 for r in calls)
    for k in kernels:  # nobody was signed out
        status = k.call(op="status")
        assert status["signed_in"] is True and "tokens.json" in status["stored_in"]


def test_logout_in_one_kernel_signs_out_the_others(world):
    sb, clock, kernels = world
    sign_in(sb, kernels[0], clock.now)
    for k in kernels:
        assert k.call(op="call") == {"ok": True}
    before = len(sb.requests)
    kernels[1].call(op="logout")  # not the kernel that signed in
    for k in kernels:
        out = k.call(op="call")
        assert out["type"] == "NotLoggedInError", out
        assert "log" in out["hint"].lower()  # the next step: log in (or set GITBOOK_TOKEN)
        assert k.call(op="status")["signed_in"] is False
    api_calls = [r for r in sb.requests[before:] if r.path.startswith("/v1/")]
    assert api_calls == []  # said "not signed in" without sending the dead token
