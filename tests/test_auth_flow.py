"""The auth flow's rules and the client's retry and redirect rules, through an injected
transport (``MockTransport``): no socket, no sleeping, every request the client would send
recorded. The kernel-level behaviour over real HTTP is in test_grants*.py."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from support import FakeClock

from gitbook_nb.api.auth import Flights, GrantAuth
from gitbook_nb.api.client import Client
from gitbook_nb.api.mock import MockTransport, SentRequest, failure, respond
from gitbook_nb.errors import (
    AuthenticationError,
    GitBookError,
    TokenExchangeError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.protocol.config import resolve
from gitbook_nb.protocol.tokens import Secret, Token

API = "https://api.example.org/v1"
T0 = 1_700_000_000.0


def _token(
    value: str, *, ttl: float | None = 30.0, refresh: str | None = "r1", at: float = T0
) -> Token:
    return Token(
        Secret(value),
        refresh_token=Secret(refresh) if refresh else None,
        expires_at=None if ttl is None else at + ttl,
        obtained_at=at,
        issuer="api.example.org",
        client_id="c",
        source="oauth",
    )


class Source:
    """A TokenSource whose ``renew`` the test scripts; it records every call."""

    def __init__(self, token: Token | None, renew: Callable[[Token], Token] | None = None):
        self.token = token
        self.renew_with = renew
        self.renewed: list[str] = []  # the refresh tokens presented
        self.forgotten: list[Token] = []
        self.lock = threading.Lock()

    def current(self) -> Token | None:
        return self.token

    def newer(self, stale: Token) -> Token | None:
        tok = self.token
        return tok if tok is not None and not tok.same_as(stale) else None

    def renew(self, stale: Token) -> Token:
        with self.lock:
            self.renewed.append(stale.refresh_token.reveal())
        assert self.renew_with is not None
        new = self.renew_with(stale)
        self.token = new
        return new

    def forget(self, dead: Token) -> bool:
        if self.token is not None and self.token.same_as(dead):
            self.forgotten.append(dead)
            self.token = None
            return True
        return False


def _bearer(req: SentRequest) -> str | None:
    return None if req.bearer is None else req.bearer.reveal()


class CountedFlights(Flights):
    """Flights whose refresh slot counts the threads that reached it: a test releases the
    refresh in flight only once every thread is waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Semaphore(0)

    def get(self, key):
        flight = super().get(key)
        if not isinstance(flight.lock, _Counting):
            flight.lock = _Counting(flight.lock, self.arrived)
        return flight

    def wait_for(self, n: int) -> None:
        for _ in range(n):
            assert self.arrived.acquire(timeout=5), "threads did not reach the refresh"


class _Counting:
    def __init__(self, lock, arrived: threading.Semaphore) -> None:
        self._lock, self._arrived = lock, arrived

    def __enter__(self):
        self._arrived.release()
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def _client(
    handler,
    source: Source,
    clock: FakeClock,
    sleeps: list | None = None,
    flights: Flights | None = None,
) -> Client:
    return Client(
        resolve(overrides={"api_url": API}, environ={}),
        auth=GrantAuth(source, clock=clock, flights=flights),
        transport=MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
    )


def ok(req: SentRequest):
    return respond(200, {"bearer": _bearer(req)})


def bearers_of_threads(client: Client, n: int) -> list[object]:
    """``n`` threads each make one call at the same time; the bearer each call was sent with
    (as ``ok`` echoes it), in the order the calls ended."""
    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda: seen.append(client.request("GET", "/user").data["bearer"]))
        for _ in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


# ------------------------------------------------------------------ refresh ahead of expiry


def test_a_due_token_is_renewed_before_the_call_and_a_fresh_one_is_not():
    clock = FakeClock(T0 + 1)
    source = Source(_token("a1"), renew=lambda stale: _token("a2", refresh="r2", at=clock.now))
    client = _client(ok, source, clock)
    assert client.request("GET", "/user").data == {"bearer": "a1"}  # fresh: no refresh
    clock.now = T0 + 27  # 30 s token, 3 s leeway: due
    assert client.request("GET", "/user").data == {"bearer": "a2"}
    assert client.request("GET", "/user").data == {"bearer": "a2"}  # the new one is fresh
    assert source.renewed == ["r1"]


def test_threads_that_find_the_token_due_wait_for_one_refresh():
    clock = FakeClock(T0 + 28)
    flights = CountedFlights()

    def slow_renew(stale: Token) -> Token:
        flights.wait_for(8)  # the owner and the seven others: all at the refresh slot
        return _token("a2", refresh="r2", at=clock.now)

    source = Source(_token("a1"), renew=slow_renew)
    client = _client(ok, source, clock, flights=flights)
    seen = bearers_of_threads(client, 8)
    assert seen == ["a2"] * 8 and source.renewed == ["r1"]


def test_a_transient_refresh_failure_keeps_the_token_and_waiting_threads_reuse_it():
    clock = FakeClock(T0 + 28)
    flights = CountedFlights()

    def down(stale: Token) -> Token:
        flights.wait_for(4)
        raise TransportError("POST auth.example.org/token: connection failed")

    source = Source(_token("a1"), renew=down)
    client = _client(ok, source, clock, flights=flights)
    seen = bearers_of_threads(client, 4)
    assert seen == ["a1"] * 4  # still inside its lifetime: the calls go on
    assert source.renewed == ["r1"]  # the three that waited took the failed attempt's result
    assert source.token is not None and source.forgotten == []
    source.renew_with = lambda stale: _token("a2", refresh="r2", at=clock.now)
    assert client.request("GET", "/user").data == {"bearer": "a2"}  # a later call tries again
    assert source.renewed == ["r1", "r1"]  # the server rotated nothing: r1 was still good


def test_a_refused_refresh_forgets_the_token_and_never_sends_it_again():
    clock = FakeClock(T0 + 28)

    def refused(stale: Token) -> Token:
        raise TokenExchangeError(
            "refused: invalid_grant (HTTP 400)", error="invalid_grant", status=400
        )

    source = Source(_token("a1"), renew=refused)
    transport_calls: list[SentRequest] = []
    client = _client(lambda r: transport_calls.append(r) or ok(r), source, clock)
    with pytest.raises(AuthenticationError, match="could not be renewed") as info:
        client.request("GET", "/user")
    assert "forgotten" in info.value.message and info.value.__context__ is None
    assert source.token is None and transport_calls == []  # nothing sent with a dying token
    assert source.renewed == ["r1"]


# ------------------------------------------------------------------ after a 401


def test_a_401_renews_once_and_retries_once():
    clock = FakeClock(T0 + 1)
    source = Source(_token("a1"), renew=lambda stale: _token("a2", refresh="r2"))

    def handler(req: SentRequest):
        return ok(req) if _bearer(req) == "a2" else respond(401, {"error": "expired"})

    client = _client(handler, source, clock)
    assert client.request("GET", "/user").data == {"bearer": "a2"}
    assert source.renewed == ["r1"]


def test_a_second_401_forgets_the_renewed_token_and_says_so():
    clock = FakeClock(T0 + 1)
    source = Source(_token("a1"), renew=lambda stale: _token("a2", refresh="r2"))
    sent: list[str | None] = []

    def handler(req: SentRequest):
        sent.append(_bearer(req))
        return respond(401, {"error": "no"})

    with pytest.raises(AuthenticationError) as info:
        _client(handler, source, clock).request("GET", "/user")
    assert sent == ["a1", "a2"]  # one retry, never a loop
    assert [t.access_token.reveal() for t in source.forgotten] == ["a2"]
    assert "renewed one" in info.value.hint and "forgotten" in info.value.hint


def test_a_401_uses_a_token_another_thread_got_and_forgets_nothing():
    """Forgetting is by identity: the dead token is not the current one any more."""
    clock = FakeClock(T0 + 1)
    source = Source(_token("a1", refresh=None))
    sent: list[str | None] = []

    def handler(req: SentRequest):
        sent.append(_bearer(req))
        if _bearer(req) == "a1":
            source.token = _token("b1", refresh=None)  # meanwhile, a new sign-in
            return respond(401, {"error": "no"})
        return ok(req)

    assert _client(handler, source, clock).request("GET", "/user").data == {"bearer": "b1"}
    assert sent == ["a1", "b1"] and source.forgotten == [] and source.token is not None


def test_a_401_on_a_token_that_cannot_be_renewed_forgets_it():
    clock = FakeClock(T0 + 1)
    source = Source(_token("a1", refresh=None, ttl=None))
    with pytest.raises(AuthenticationError) as info:
        _client(lambda r: respond(401, {}), source, clock).request("GET", "/user")
    assert "has been forgotten" in info.value.hint and source.token is None


def test_gitbook_token_refused_stays_and_says_so():
    clock = FakeClock(T0 + 1)
    env = Token(Secret("e1"), issuer="api.example.org", client_id="pat", source="env")
    source = Source(env)
    source.forget = lambda dead: False  # GITBOOK_TOKEN cannot be forgotten
    with pytest.raises(AuthenticationError) as info:
        _client(lambda r: respond(401, {}), source, clock).request("GET", "/user")
    assert "GITBOOK_TOKEN" in info.value.hint and "stays" in info.value.hint


# ------------------------------------------------------------------ retries and redirects (D3, D7)


def test_D7_a_GET_is_retried_on_503_and_connection_failures_a_POST_never():
    clock = FakeClock(T0 + 1)
    answers = [respond(503, {}), failure("connect"), respond(200, {"ok": True})]
    sleeps: list[float] = []
    client = _client(lambda r: answers.pop(0), Source(_token("a1")), clock, sleeps)
    assert client.request("GET", "/user").data == {"ok": True} and len(sleeps) == 2
    posts: list[SentRequest] = []
    client = _client(lambda r: posts.append(r) or respond(503, {}), Source(_token("a1")), clock)
    with pytest.raises(GitBookError):
        client.request("POST", "/orgs", json={})
    assert len(posts) == 1


def test_D3_same_origin_redirects_keep_the_bearer_other_hosts_are_refused():
    clock = FakeClock(T0 + 1)

    def handler(req: SentRequest):
        if req.url.endswith("/old"):
            return respond(307, headers={"Location": "/v1/new"})
        if req.url.endswith("/away"):
            return respond(302, headers={"Location": "https://evil.example/steal"})
        return ok(req)

    client = _client(handler, Source(_token("a1")), clock)
    assert client.request("GET", "/old").data == {"bearer": "a1"}
    with pytest.raises(UnsafeRequestError, match="evil.example"):
        client.request("GET", "/away")
