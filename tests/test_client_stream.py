"""``Client.stream`` and the kernel's streamed call: one auth flow, one transport seam.

Through ``MockTransport`` (no socket, no sleeping, an injected clock): the body is handed over
line by line as chunks arrive, a 401 is answered by one refresh and one resend before any body
is read, a second 401 forgets the token, redirects to another host are not followed, the byte
cap and the deadline hold while reading, a token echoed by the server is masked. Over real
HTTP against the sandbox: Ask's events arrive one by one, environment proxies are bypassed on
loopback, each wait for a chunk has the read timeout, tracebacks hold no token, and the
kernel's ``stream`` records history and forgets a refused token.
"""

from __future__ import annotations

import threading
import traceback
import types
from collections import deque
from collections.abc import Callable

import pytest
from support import FakeClock

from gitbook_nb.api.auth import BearerAuth, GrantAuth
from gitbook_nb.api.client import Client
from gitbook_nb.api.mock import MockTransport, SentRequest, failure, respond, streamed
from gitbook_nb.errors import (
    AuthenticationError,
    GitBookError,
    InvalidResponseError,
    NotLoggedInError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.protocol.config import resolve
from gitbook_nb.protocol.tokens import MASK, Secret, Token
from gitbook_nb.protocol.urls import host_key

API = "https://api.example.org/v1"
T0 = 1_700_000_000.0
SSE = {"Accept": "text/event-stream"}


def _token(value: str, *, ttl: float | None = 3600.0, refresh: str | None = "r1") -> Token:
    return Token(
        Secret(value),
        refresh_token=Secret(refresh) if refresh else None,
        expires_at=None if ttl is None else T0 + ttl,
        obtained_at=T0,
        issuer="api.example.org",
        client_id="c",
        source="oauth",
    )


class Source:
    """A TokenSource whose renewals the test scripts; it records renewals and forgettings."""

    def __init__(self, token: Token | None, renew: Callable[[Token], Token] | None = None):
        self.token = token
        self.renew_with = renew
        self.renewed: list[str] = []
        self.forgotten: list[Token] = []

    def current(self) -> Token | None:
        return self.token

    def newer(self, stale: Token) -> Token | None:
        tok = self.token
        return tok if tok is not None and not tok.same_as(stale) else None

    def renew(self, stale: Token) -> Token:
        assert stale.refresh_token is not None and self.renew_with is not None
        self.renewed.append(stale.refresh_token.reveal())
        self.token = self.renew_with(stale)
        return self.token

    def forget(self, dead: Token) -> bool:
        if self.token is not None and self.token.same_as(dead):
            self.forgotten.append(dead)
            self.token = None
            return True
        return False


class Chunks:
    """A scripted body: records how many chunks the client pulled and whether it let go."""

    def __init__(self, *pieces: object, on_pull: Callable[[int], None] | None = None) -> None:
        self.pieces, self.on_pull = list(pieces), on_pull
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> object:
        if self.pulled >= len(self.pieces):
            raise StopIteration
        self.pulled += 1
        if self.on_pull is not None:
            self.on_pull(self.pulled)
        return self.pieces[self.pulled - 1]

    def close(self) -> None:
        self.closed = True


def _bearer(req: SentRequest) -> str | None:
    return None if req.bearer is None else req.bearer.reveal()


def _client(
    handler, *, auth=None, clock=None, sleeps=None, **settings
) -> tuple[Client, MockTransport]:
    transport = MockTransport(handler)
    client = Client(
        resolve(overrides={"api_url": API, **settings}, environ={}),
        auth=auth if auth is not None else BearerAuth(_token("a1")),
        transport=transport,
        sleep=sleeps.append if sleeps is not None else (lambda s: None),
        clock=clock or FakeClock(0.0),
        rng=lambda: 0.5,
    )
    return client, transport


# ------------------------------------------------------------------ reading as it arrives


def test_each_line_is_handed_over_before_the_next_chunk_is_asked_for():
    body = Chunks(b'data: {"n": 1}\n\n', b'data: {"n": 2}\n', b'\ndata: {"n": 3}\n\n')
    client, transport = _client(lambda req: streamed(200, body))
    with client.stream("GET", "/orgs/o/ask/stream", params={"query": "q"}, headers=SSE) as st:
        assert st.status == 200 and body.pulled == 0, "nothing of the body is read on open"
        lines = iter(st)
        assert next(lines) == 'data: {"n": 1}' and body.pulled == 1
        assert next(lines) == "" and body.pulled == 1, "the first event is whole before chunk 2"
        assert next(lines) == 'data: {"n": 2}' and body.pulled == 2
        assert list(lines) == ["", 'data: {"n": 3}', ""] and body.pulled == 3
    assert st.closed and body.closed
    (sent,) = transport.sent
    assert (sent.method, sent.url, sent.params) == (
        "GET",
        API + "/orgs/o/ask/stream",
        {"query": "q"},
    )
    assert sent.headers["Accept"] == "text/event-stream" and _bearer(sent) == "a1"
    assert "Authorization" not in sent.headers  # the bearer travels apart, as a Secret (E1)


def test_lines_split_on_crlf_lf_and_cr_even_across_chunks_and_utf8_split_in_two():
    body = Chunks(b"data: a\r", b"\n\r\n", b"data: \xe2\x82", b"\xac\rdata: b\n", b"tail")
    client, _ = _client(lambda req: streamed(200, body))
    with client.stream("GET", "/s") as st:
        assert list(st) == ["data: a", "", "data: €", "data: b", "tail"]
    with client.stream("GET", "/s") as st:
        st.close()
        with pytest.raises(GitBookError, match="read or closed already"):
            list(st.iter_bytes())


def test_iter_bytes_gives_the_chunks_as_they_came_and_rate_limits_are_kept():
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "9"}
    client, _ = _client(lambda req: streamed(200, Chunks(b"ab", b"", b"c"), headers=headers))
    with client.stream("GET", "/s") as st:
        assert st.rate_limit is not None and st.rate_limit.remaining == 7
        assert list(st.iter_bytes()) == [b"ab", b"c"] and st.received == 3
    assert client.rate_limit == st.rate_limit
    assert repr(st) == "<gitbook_nb.Stream GET /s 200 closed>"


def test_the_same_scripted_handler_serves_request_with_the_chunks_joined():
    client, _ = _client(
        lambda req: streamed(
            200, Chunks(b'{"a": ', b"1}"), headers={"Content-Type": "application/json"}
        )
    )
    assert client.request("GET", "/x").data == {"a": 1}
    client, _ = _client(lambda req: respond(200, {"a": 1}))  # a plain answer streams as one chunk
    with client.stream("GET", "/x") as st:
        assert list(st) == ['{"a": 1}']


# ------------------------------------------------------------------ the one auth flow


def test_a_401_gets_one_refresh_and_one_resend_before_any_body_is_read_D5():
    wall = FakeClock(T0 + 1)
    source = Source(_token("a1"), renew=lambda stale: _token("a2", refresh="r2"))
    bodies: list[Chunks] = []

    def handler(req: SentRequest):
        body = Chunks(
            b'{"error": {"code": 401, "message": "expired"}}'
            if _bearer(req) == "a1"
            else b"data: ok\n\n"
        )
        bodies.append(body)
        return streamed(401 if _bearer(req) == "a1" else 200, body)

    client, transport = _client(handler, auth=GrantAuth(source, clock=wall))
    with client.stream("GET", "/orgs/o/ask/stream", headers=SSE) as st:
        assert list(st) == ["data: ok", ""]
    assert [_bearer(r) for r in transport.sent] == ["a1", "a2"]
    assert source.renewed == ["r1"] and source.forgotten == []
    assert bodies[0].pulled == 0 and bodies[0].closed, "the refused answer is dropped unread"
    assert bodies[1].closed


def test_a_second_401_forgets_the_renewed_token_and_says_so_D5():
    wall = FakeClock(T0 + 1)
    renewed = _token("a2", refresh="r2")
    source = Source(_token("a1"), renew=lambda stale: renewed)
    bodies: list[Chunks] = []

    def handler(req: SentRequest):
        bodies.append(Chunks(b'{"error": {"code": 401, "message": "Invalid token"}}'))
        return streamed(401, bodies[-1], headers={"Content-Type": "application/json"})

    client, transport = _client(handler, auth=GrantAuth(source, clock=wall))
    with pytest.raises(AuthenticationError) as info:
        client.stream("GET", "/orgs/o/ask/stream")
    assert [_bearer(r) for r in transport.sent] == ["a1", "a2"], "one resend, never a loop"
    assert source.forgotten == [renewed] and source.token is None
    assert info.value.status == 401 and "Invalid token" in str(info.value)
    assert "forgotten" in info.value.hint and "log in again" in info.value.hint
    assert all(b.closed for b in bodies)


def test_a_token_due_for_renewal_is_renewed_before_the_stream_is_opened():
    wall = FakeClock(T0 + 3590)  # a one-hour token inside its leeway
    source = Source(_token("a1"), renew=lambda stale: _token("a2", refresh="r2", ttl=7200))
    client, transport = _client(
        lambda req: streamed(200, Chunks(b"x\n")), auth=GrantAuth(source, clock=wall)
    )
    with client.stream("GET", "/s") as st:
        assert list(st) == ["x"]
    assert [_bearer(r) for r in transport.sent] == ["a2"] and source.renewed == ["r1"]


def test_the_token_goes_only_to_its_own_host_D3():
    other = Token(Secret("a1"), issuer="elsewhere.example.org", client_id="c", source="oauth")
    client, transport = _client(lambda req: streamed(200, Chunks(b"x")), auth=BearerAuth(other))
    with pytest.raises(UnsafeRequestError, match="elsewhere.example.org"):
        client.stream("GET", "/s")
    assert transport.sent == []


# ------------------------------------------------------------------ D3, D4, D6, D7


@pytest.mark.parametrize(
    "location", ["https://evil.example/x", "//evil.example/x", "http://api.example.org/v1/x"]
)
def test_a_redirect_to_another_origin_is_not_followed_D3(location):
    body = Chunks(b"moved")
    client, transport = _client(lambda req: streamed(302, body, headers={"Location": location}))
    with pytest.raises(UnsafeRequestError):
        client.stream("GET", "/orgs/o/ask/stream")
    assert len(transport.sent) == 1 and body.closed and body.pulled == 0


def test_a_streamed_post_is_never_redirected_nor_retried_D7():
    for status, headers in ((307, {"Location": API + "/y"}), (503, {})):
        client, transport = _client(
            lambda req, s=status, h=headers: streamed(s, Chunks(b""), headers=h)
        )
        with pytest.raises((UnsafeRequestError, ServerError)):
            client.stream("POST", "/y")
        assert len(transport.sent) == 1


def test_a_get_stream_is_retried_on_503_and_the_first_answer_dropped_D7():
    bodies = [Chunks(b"busy"), Chunks(b"data: ok\n")]
    answers = iter([streamed(503, bodies[0]), streamed(200, bodies[1])])
    sleeps: list[float] = []
    client, transport = _client(lambda req: next(answers), sleeps=sleeps)
    with client.stream("GET", "/s") as st:
        assert list(st) == ["data: ok"]
    assert len(transport.sent) == 2 and len(sleeps) == 1
    assert bodies[0].closed and bodies[0].pulled == 0


def test_paths_are_checked_before_anything_is_sent_D4():
    client, transport = _client(lambda req: streamed(200, Chunks(b"x")))
    for bad in ("//evil.example/x", "https://evil.example/x", "/a\r\nb", "/a\\b"):
        with pytest.raises(UnsafeRequestError):
            client.stream("GET", bad)
    with pytest.raises(UnsafeRequestError):
        client.stream("GET", "/s", headers={"Authorization": "Bearer other"})
    assert transport.sent == []


def test_the_byte_cap_holds_while_streaming_D6():
    line = b"data: " + b"x" * 500 + b"\n\n"
    body = Chunks(line, line, line, line)
    client, _ = _client(lambda req: streamed(200, body), max_body=1200)
    got: list[str] = []
    with (
        client.stream("GET", "/s") as st,
        pytest.raises(InvalidResponseError, match="1200-byte cap"),
    ):
        for text in st:
            got.append(text)
    assert len([t for t in got if t.startswith("data:")]) == 2, "what fitted was handed over"
    assert body.pulled == 3 and body.closed, "reading stopped at the chunk that passed the cap"


def test_the_overall_deadline_holds_while_streaming_D6():
    clock = FakeClock(0.0)

    def later(pulled: int) -> None:
        clock.now = 10.0 * pulled  # each chunk "takes" ten seconds

    body = Chunks(b"data: 1\n", b"data: 2\n", b"data: 3\n", on_pull=later)
    client, _ = _client(
        lambda req: streamed(200, body),
        clock=clock,
        deadline=15.0,
        connect_timeout=1.0,
        read_timeout=5.0,
    )
    got: list[str] = []
    with client.stream("GET", "/s") as st, pytest.raises(RequestTimeoutError, match="deadline"):
        for text in st:
            got.append(text)
    assert got == ["data: 1"] and body.pulled == 2 and body.closed


def test_a_read_timeout_or_reset_mid_stream_is_a_clean_error_D6():
    for broken, kind in (
        (failure("read_timeout"), RequestTimeoutError),
        (failure("connect"), TransportError),
    ):
        body = Chunks(b"data: 1\n", broken, b"data: never\n")
        client, _ = _client(lambda req, b=body: streamed(200, b))
        got: list[str] = []
        with client.stream("GET", "/s") as st, pytest.raises(kind) as info:
            got.extend(st)
        assert got == ["data: 1"] and body.closed and body.pulled == 2
        assert info.value.__cause__ is None and info.value.__suppress_context__


# ------------------------------------------------------------------ E2


@pytest.mark.parametrize("status", [401, 403, 500])
def test_a_token_echoed_in_an_error_answer_is_masked_E2(status):
    tok, refresh = "tok-" + "s" * 30, "ref-" + "r" * 30
    body = f'{{"error": {{"code": {status}, "message": "bad {tok} / {refresh}"}}}}'.encode()
    client, _ = _client(
        lambda req: streamed(
            status,
            Chunks(body[:20], body[20:]),
            reason=f"No {tok}",
            headers={"Content-Type": "application/json"},
        ),
        auth=BearerAuth(_token(tok, refresh=refresh)),
    )
    with pytest.raises((AuthenticationError, PermissionDeniedError, ServerError)) as info:
        client.stream("GET", "/s")
    err = info.value
    shown = f"{err} {err.hint} {err.code} {err!r}"
    assert tok not in shown and refresh not in shown and MASK in str(err)
    assert _leaks(err, tok, refresh) == []


def _leaks(err: BaseException, *values: str) -> list[str]:
    """Where a value shows up: the formatted traceback, the repr of every local of every frame
    but the test's own (what ``%xmode Verbose`` prints), and IPython's verbose rendering."""
    from IPython.core.ultratb import VerboseTB

    texts = {"format": "".join(traceback.format_exception(type(err), err, err.__traceback__))}
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename != __file__:
            for name, value in frame.f_locals.items():
                texts[f"{frame.f_code.co_name}.{name}"] = repr(value)
        tb = tb.tb_next
    ours = err.__traceback__
    while ours is not None and ours.tb_frame.f_code.co_filename == __file__:
        ours = ours.tb_next
    texts["VerboseTB"] = "\n".join(
        VerboseTB(include_vars=True).structured_traceback(type(err), err, ours)
    )
    return [where for where, text in texts.items() for v in values if v in text]


# ------------------------------------------------------------------ the kernel's streamed call


def _kernel(handler) -> tuple[KernelSession, MockTransport]:
    transport = MockTransport(handler)
    ks = KernelSession(environ={}, transport=transport)
    ks.configure(api_url=API, oauth_url="https://api.example.org")
    return ks, transport


def test_the_kernel_stream_needs_a_sign_in_and_records_history():
    def handler(req: SentRequest):
        if req.url.endswith("/user"):
            return respond(200, {"id": "u1", "displayName": "Ada"})
        if req.url.endswith("/missing"):
            return streamed(404, Chunks(b'{"error": {"code": 404, "message": "Not found"}}'))
        return streamed(200, Chunks(b"data: 1\n\n"))

    ks, transport = _kernel(handler)
    with pytest.raises(NotLoggedInError, match="not signed in"):
        ks.stream("GET", "/orgs/o/ask/stream").__enter__()
    assert transport.sent == []
    ks.login_with_token(Secret("pat-" + "p" * 30))
    with ks.stream("GET", "/orgs/o/ask/stream", params={"query": "q"}, headers=SSE) as st:
        assert list(st) == ["data: 1", ""]
    with pytest.raises(GitBookError) as info, ks.stream("GET", "/missing"):
        pass
    assert info.value.status == 404
    rows = [(h["method"], h["path"], h["status"]) for h in ks.history()]
    assert rows[-2:] == [("GET", "/orgs/o/ask/stream", 200), ("GET", "/missing", 404)]
    assert _bearer(transport.sent[-2]) == "pat-" + "p" * 30


def test_a_refused_personal_token_is_forgotten_by_the_kernel_stream_D5():
    def handler(req: SentRequest):
        if req.url.endswith("/user") and len(transport.sent) == 1:
            return respond(200, {"id": "u1"})
        return streamed(401, Chunks(b'{"error": {"code": 401, "message": "revoked"}}'))

    ks, transport = _kernel(handler)
    ks.login_with_token(Secret("pat-" + "p" * 30))
    with pytest.raises(AuthenticationError) as info, ks.stream("GET", "/s"):
        pass
    assert ks.token is None and "log in again" in info.value.hint
    assert len(transport.sent) == 2 and ks.history()[-1]["status"] == 401


# ------------------------------------------------------------------ over real HTTP


def _sandbox_client(sb, tok: str, **settings) -> Client:
    return Client(
        resolve(overrides={"api_url": sb.url + "/v1", **settings}, environ={}),
        auth=BearerAuth(Token(Secret(tok), issuer=host_key(sb.url), client_id="pat", source="pat")),
        sleep=lambda s: None,
    )


def _ask(sb) -> tuple[str, dict[str, str]]:
    path = f"/orgs/{sb.ids['org']}/ask/stream"
    return path, {"query": "How do I install the engine?", "format": "markdown"}


def test_over_http_each_event_arrives_before_the_server_builds_the_next(sb, monkeypatch):
    """The server waits at a gate before each next event; only the client opens it, after it
    has read a whole event. A proxy in the environment is not used on loopback (D2)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    gate, passed, pause = threading.Semaphore(0), [], sb.ask_pace
    sb.ask_pace = lambda i: passed.append(gate.acquire(timeout=30))
    client = _sandbox_client(sb, sb.mint_token())
    path, params = _ask(sb)
    events: list[str] = []
    try:
        with client.stream("GET", path, params=params, headers=SSE) as st:
            assert st.headers["Content-Type"].startswith("text/event-stream")
            assert st.rate_limit is not None
            for line in st:
                if line.startswith("data:"):
                    events.append(line)
                if line == "":
                    gate.release()
    finally:
        sb.ask_pace = pause
        client.close()
    answers = [e for e in events if '"type": "answer"' in e]
    assert len(answers) >= 5 and passed == [True] * (len(answers) - 1)
    assert events[-1] == "data: {}", "the done event ends the stream"
    assert st.closed


def test_over_http_each_wait_for_a_chunk_has_the_read_timeout_D6(sb):
    """The server holds the second event until the client has given up on it."""
    released, pause = threading.Event(), sb.ask_pace
    sb.ask_pace = lambda i: released.wait(timeout=30)
    tok = sb.mint_token()
    client = _sandbox_client(sb, tok, read_timeout=0.3, connect_timeout=0.3, deadline=30.0)
    path, params = _ask(sb)
    got: list[str] = []
    try:
        with (
            client.stream("GET", path, params=params, headers=SSE) as st,
            pytest.raises(RequestTimeoutError) as info,
        ):
            got.extend(st)
    finally:
        released.set()
        sb.ask_pace = pause
        client.close()
    assert sum(line.startswith("data:") for line in got) == 1, "the event before the hold"
    assert "read timeout" in str(info.value) and st.closed
    assert _leaks(info.value, tok) == []  # E2: the reading frames hold no token either


def _plain_copies(root: object, value: str) -> list[str]:
    """Plain copies of ``value`` reachable from ``root`` through attributes, slots, containers,
    bound methods and closures (what ``vars()`` or a debugger could show); Secrets excepted."""
    seen: set[int] = set()
    found: list[str] = []
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, Secret)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes, bytearray)):
            if value in (obj if isinstance(obj, str) else bytes(obj).decode("latin-1")):
                found.append(repr(obj)[:80])
        elif isinstance(obj, dict):
            stack.extend([*obj.keys(), *obj.values()])
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            stack.extend(obj)
        elif isinstance(obj, types.MethodType):
            stack.append(obj.__self__)
        elif isinstance(obj, types.FunctionType):
            stack.extend(c.cell_contents for c in obj.__closure__ or ())
        else:
            for name in getattr(type(obj), "__slots__", ()):
                stack.append(getattr(obj, name, None))
            if hasattr(obj, "__dict__"):
                stack.extend(vars(obj).values())
    return found


def test_over_http_an_open_stream_holds_no_plain_token_E1(sb):
    """The transport keeps urllib3's response only, not requests' (whose ``.request`` holds
    the Authorization header it sent)."""
    tok = sb.mint_token()
    client = _sandbox_client(sb, tok)
    path, params = _ask(sb)
    try:
        with client.stream("GET", path, params=params, headers=SSE) as st:
            first = next(iter(st))
            assert first.startswith("data:")
            assert _plain_copies(st, tok) == []
    finally:
        client.close()


@pytest.mark.parametrize("case", ["401", "500", "refused"])
def test_over_http_stream_errors_hold_no_token_E2(sb, case):
    import socket

    tok = sb.mint_token()
    client = _sandbox_client(sb, tok, connect_timeout=0.5, read_timeout=1.0, deadline=5.0)
    path, params = _ask(sb)
    if case == "401":
        sb.revoke_token(tok)
    elif case == "500":
        sb.add_fault("status", path="/v1" + path, code=500)
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = Client(
            resolve(overrides={"api_url": f"http://127.0.0.1:{port}/v1"}, environ={}),
            auth=BearerAuth(Token(Secret(tok), issuer=f"127.0.0.1:{port}")),
            sleep=lambda s: None,
        )
    try:
        client.stream("GET", path, params=params).close()
    except GitBookError as err:
        caught: BaseException = err
    else:
        raise AssertionError("no error")
    finally:
        client.close()
    expected = {"401": AuthenticationError, "500": ServerError, "refused": TransportError}[case]
    assert isinstance(caught, expected)
    assert _leaks(caught, tok) == []


def test_over_http_the_kernel_stream_records_history_and_forgets_a_revoked_token(sb):
    ks = KernelSession(environ={})
    ks.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    tok = sb.mint_token()
    ks.login_with_token(Secret(tok))
    path, params = _ask(sb)
    with ks.stream("GET", path, params=params, headers=SSE) as st:
        lines = list(st)
    assert lines[-2:] == ["data: {}", ""] and ks.history()[-1]["status"] == 200
    sb.revoke_token(tok)
    sb.clear_log()
    with pytest.raises(AuthenticationError), ks.stream("GET", path, params=params):
        pass
    assert ks.token is None and ks.history()[-1]["status"] == 401
    assert [(r.method, r.path) for r in sb.requests] == [("GET", "/v1" + path)]
    ks.close()
