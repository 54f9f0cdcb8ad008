"""Secrets die at the door (issue 10, SECURITY.md E1/E2): no plain secret kept in the session's
objects, none in a frame of a ``%xmode Verbose`` traceback, none in what a server says back.

A scripted OAuth server (``MockTransport``) stands in where the sandbox cannot misbehave the
way a test needs (a token answer the client refuses); the rest runs against the sandbox.
"""

from __future__ import annotations

import getpass
import json
import secrets
import traceback
import types
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import pytest

from gitbook_nb import errors
from gitbook_nb.api.auth import BearerAuth
from gitbook_nb.api.client import Client
from gitbook_nb.api.mock import MockTransport, SentRequest, respond
from gitbook_nb.kernel import session as session_module
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.protocol.config import resolve
from gitbook_nb.protocol.tokens import Secret, Token

ISSUER = "https://auth.example.org"
API = "https://api.example.org/v1"


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
    ours = err.__traceback__  # the test's own frames (and its lambdas' lines) are not shown
    while ours is not None and ours.tb_frame.f_code.co_filename == __file__:
        ours = ours.tb_next
    texts["VerboseTB"] = "\n".join(
        VerboseTB(include_vars=True).structured_traceback(type(err), err, ours)
    )
    return [where for where, text in texts.items() for v in values if v in text]


def _raised(fn) -> BaseException:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the caller checks the type
        return err
    raise AssertionError("nothing was raised")


def _reachable(root: Any, skip_objects: tuple = ()) -> list[Any]:
    """Every object reachable from ``root`` through attributes, slots, containers and closures
    (what ``vars()`` and ``%whos`` could show), modules, classes and ``skip_objects`` excluded."""
    seen: set[int] = {id(o) for o in skip_objects}
    out: list[Any] = []
    stack = [root]
    skip = (type, types.ModuleType, types.BuiltinFunctionType)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (str, bytes, int, float, bool)) or obj is None:
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
            continue
        if isinstance(obj, (list, tuple, set, frozenset, deque)):
            stack.extend(obj)
            continue
        if isinstance(obj, types.MethodType):
            stack.append(obj.__self__)
            continue
        if isinstance(obj, types.FunctionType):
            stack.extend(c.cell_contents for c in obj.__closure__ or () if c.cell_contents)
            continue
        if isinstance(obj, Secret):
            continue  # the one place a secret may live: masked, unpicklable
        for name in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, name):
                stack.append(getattr(obj, name))
        if hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return out


def _plain_copies(root: Any, value: str, skip: tuple = ()) -> list[str]:
    found = _reachable(root, skip)
    return [repr(o)[:80] for o in found if isinstance(o, (str, bytes)) and value in str(o)]


# ------------------------------------------------------------------ settings


def test_E1_configure_keeps_the_client_secret_only_as_a_secret(sb):
    value = "cs_" + secrets.token_urlsafe(24)
    ks = KernelSession(environ={})
    ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url, client_secret=value)
    ks.login_with_token(sb.personal_token)
    ks.request("GET", "/user")
    assert isinstance(ks.settings.client_secret, Secret)
    assert _plain_copies(ks, value) == []  # vars() of everything reachable from the session
    assert value not in repr(vars(ks)) and value not in repr(ks.status())


def test_E2_a_later_config_error_holds_no_secret():
    value = "cs_" + secrets.token_urlsafe(24)
    ks = reset_session(KernelSession(environ={}))
    try:
        session_module.configure(client_secret=value)
        err = _raised(lambda: session_module.configure(api_url="http://evil.example/"))
        assert isinstance(err, errors.ConfigError)
        assert _leaks(err, value) == []
        err = _raised(lambda: session_module.configure(client_secret=value, nonsense=1))
        assert isinstance(err, errors.ConfigError) and _leaks(err, value) == []
        assert _plain_copies(ks, value) == []
    finally:
        reset_session(KernelSession(environ={}))


# ------------------------------------------------------------------ failed logins


def test_E2_a_failed_getpass_login_holds_no_token(sb, monkeypatch):
    typed = "gb_api_" + secrets.token_urlsafe(24)  # unknown to the server: refused (401)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": typed)
    ks = reset_session(KernelSession(environ={}))
    try:
        ks.configure(flow="current", api_url=sb.url + "/v1", oauth_url=sb.url)
        err = _raised(lambda: session_module.login_with_token())
        assert isinstance(err, errors.AuthenticationError) and "nothing was kept" in err.hint
        assert _leaks(err, typed) == []
        assert ks.token is None and _plain_copies(ks, typed) == []
        bad = "gb_api_" + secrets.token_urlsafe(12) + " x" + secrets.token_urlsafe(12)
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": bad)  # a space inside
        err = _raised(lambda: session_module.login_with_token())
        assert isinstance(err, errors.LoginError) and _leaks(err, bad, bad[:20]) == []
    finally:
        reset_session(KernelSession(environ={}))


def test_E2_a_failed_exchange_holds_no_code_or_secret(sb):
    ks = reset_session(KernelSession(environ={}))
    try:
        ks.configure(
            profile="legacy",
            api_url=sb.url,
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            redirect_uri=sb.redirect_uri,
        )
        flow = ks.begin_login()
        redirected = sb.approve(flow.authorize_url)
        code = dict(p.split("=", 1) for p in urlsplit(redirected).query.split("&"))["code"]
        wrong = "wrong-" + secrets.token_urlsafe(16)
        err = _raised(lambda: session_module.finish_login(redirected, client_secret=wrong))
        assert isinstance(err, errors.TokenExchangeError)
        found = _leaks(err, code, wrong, sb.client_secret, flow.verifier.reveal())
        assert found == []
        # a pasted address whose code is still unspent (the state does not match)
        flow = ks.begin_login()
        redirected = sb.approve(flow.authorize_url)
        code = dict(p.split("=", 1) for p in urlsplit(redirected).query.split("&"))["code"]
        tampered = redirected.replace("state=", "state=x")
        err = _raised(lambda: session_module.finish_login(tampered))
        assert isinstance(err, errors.StateMismatchError) and _leaks(err, code) == []
    finally:
        reset_session(KernelSession(environ={}))


class FakeAuthServer:
    """A scripted OAuth server and API: discovery, registration, and a token answer the
    client must refuse (a working-looking access token of an unsupported type)."""

    def __init__(self) -> None:
        self.access = "at_" + secrets.token_urlsafe(24)
        self.refresh = "rt_" + secrets.token_urlsafe(24)
        self.token_type = "mac"

    def __call__(self, req: SentRequest):
        path = urlsplit(req.url).path
        if path == "/.well-known/oauth-authorization-server":
            return respond(
                200,
                {
                    "issuer": ISSUER,
                    "authorization_endpoint": ISSUER + "/authorize",
                    "token_endpoint": ISSUER + "/token",
                    "registration_endpoint": ISSUER + "/register",
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["none"],
                },
            )
        if path == "/register":
            return respond(201, {"client_id": "c1", "token_endpoint_auth_method": "none"})
        if path == "/token":
            return respond(
                200,
                {
                    "access_token": self.access,
                    "refresh_token": self.refresh,
                    "token_type": self.token_type,
                    "expires_in": 3600,
                },
            )
        return respond(404, {"error": {"code": 404, "message": "no such path"}})


def test_E2_a_refused_token_answer_is_not_in_any_frame():
    server = FakeAuthServer()
    transport = MockTransport(server)  # the test's scripted server: not part of the session
    ks = reset_session(KernelSession(environ={}, transport=transport))
    try:
        ks.configure(flow="current", api_url=API, oauth_url=ISSUER)
        flow = ks.begin_login()
        code = secrets.token_urlsafe(16)
        redirected = f"{flow.redirect_uri}?code={code}&state={flow.state.reveal()}"
        err = _raised(lambda: session_module.finish_login(redirected))
        assert isinstance(err, errors.TokenExchangeError)
        assert _leaks(err, server.access, server.refresh, code) == []
        assert ks.token is None
        assert _plain_copies(ks, server.access, (transport,)) == []
        assert _plain_copies(ks, code, (transport,)) == []
    finally:
        reset_session(KernelSession(environ={}))


def test_the_scripted_server_signs_in_when_the_answer_is_good():
    """Control for the test above: the same script with a bearer answer is accepted."""
    server = FakeAuthServer()
    server.token_type = "Bearer"
    ks = KernelSession(environ={}, transport=MockTransport(server))
    ks.configure(flow="current", api_url=API, oauth_url=ISSUER)
    flow = ks.begin_login()
    ks.finish_login(f"{flow.redirect_uri}?code=abc&state={flow.state.reveal()}")
    assert ks.token.access_token.reveal() == server.access
    assert ks.grant_for().token_endpoint == ISSUER + "/token"


# ------------------------------------------------------------------ what servers say back


def _client_answering(answer, token: Token, secret: str) -> Client:
    settings = resolve(overrides={"api_url": API, "client_secret": secret}, environ={})
    return Client(settings, auth=BearerAuth(token), transport=MockTransport(lambda r: answer))


@pytest.mark.parametrize("which", ["access", "refresh", "client_secret"])
def test_E2_server_text_is_masked_in_reason_header_code_and_body(which):
    access = "at_" + secrets.token_urlsafe(20)
    refresh = "rt_" + secrets.token_urlsafe(20)
    client_secret = "cs_" + secrets.token_urlsafe(20)
    value = {"access": access, "refresh": refresh, "client_secret": client_secret}[which]
    token = Token(
        Secret(access), refresh_token=Secret(refresh), issuer="api.example.org", source="pat"
    )
    answers = [
        respond(499, {"error": "x"}, reason=f"Echo {value}"),  # unknown status: its phrase
        respond(
            403,
            {"error": {"code": 403, "message": "no"}},
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{value}"'},
        ),
        respond(400, {"error": {"code": f"bad-{value}", "message": "x"}}),
        respond(401, body=json.dumps({"message": f"token {value} refused"}).encode()),
        respond(500, body=f"<html>{value}</html>".encode(), headers={"Content-Type": "text/html"}),
        respond(200, body=f"<html>{value}</html>".encode(), headers={"Content-Type": "text/html"}),
    ]
    for answer in answers:
        client = _client_answering(answer, token, client_secret)
        err = _raised(lambda c=client: c.request("GET", "/x"))
        assert isinstance(err, errors.GitBookError)
        shown = " ".join(
            str(x) for x in (err, err.hint, getattr(err, "code", ""), getattr(err, "scope", ""))
        )
        assert value not in shown and value[:12] not in shown, answer.status
        assert _leaks(err, value) == []
