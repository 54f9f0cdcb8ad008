"""Parsed %gitbook lines remembered between calls (notebook/_line_memo.py), and why that never
lets a secret through (E5): a remembered line belongs to one set of live secrets, and a line
that reads the notebook ({name}) or has a cell body is parsed every time."""

from __future__ import annotations

import secrets

import pytest
from IPython.core.error import UsageError

from gitbook_nb.errors import GitBookError, UnsafeRequestError
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.notebook._line_memo import LineMemo
from gitbook_nb.protocol.tokens import MASK, Secret


def fresh_secret() -> str:
    """Shaped like no known token, so only the comparison with live secrets can find it."""
    return "sandbox_" + secrets.token_urlsafe(24)


def test_the_same_line_with_the_same_secrets_is_parsed_once():
    memo = LineMemo()
    token, env = Secret(fresh_secret()), fresh_secret()
    live = memo.live([token, env, None])
    first = memo.parse("GET /user", None, {}, live)
    again = memo.live([token, env, None])  # the same values, as the next call reads them
    assert again is live
    assert memo.parse("GET /user", None, {}, again) is first
    assert (first.method, first.path) == ("GET", "/user")


def test_E5_a_line_accepted_before_a_secret_was_live_is_refused_once_it_is():
    memo = LineMemo()
    new = fresh_secret()
    line = f"GET /user q={new}"
    assert memo.parse(line, None, {}, memo.live([fresh_secret()])).params == (("q", new),)
    for values in ([Secret(new)], [new], [None, fresh_secret(), new]):  # token, env, secret
        with pytest.raises(UnsafeRequestError) as info:
            memo.parse(line, None, {}, memo.live(values))
        assert new not in str(info.value)


def test_lines_that_read_the_notebook_or_have_a_body_are_parsed_every_time():
    memo = LineMemo()
    live = memo.live([])
    assert memo.parse("GET /spaces/{sid}", None, {"sid": "a"}, live).path == "/spaces/a"
    assert memo.parse("GET /spaces/{sid}", None, {"sid": "b"}, live).path == "/spaces/b"
    one = memo.parse("POST /x", '{"a": 1}', {}, live)
    two = memo.parse("POST /x", '{"a": 2}', {}, live)
    assert (one.body, two.body) == ({"a": 1}, {"a": 2})


def test_a_refused_line_is_refused_every_time():
    memo = LineMemo()
    live = memo.live([])
    for _ in range(2):
        with pytest.raises(GitBookError):
            memo.parse("GET //evil.example/x", None, {}, live)


def test_the_memo_is_bounded_and_forgets():
    memo = LineMemo()
    live = memo.live([fresh_secret()])
    first = memo.parse("GET /x", None, {}, live)
    for i in range(LineMemo.MAX_LINES + 5):
        memo.parse(f"GET /x{i}", None, {}, live)
    assert 0 < len(memo) <= LineMemo.MAX_LINES
    memo.forget()
    assert len(memo) == 0
    assert memo.parse("GET /x", None, {}, memo.live([])) is not first


def test_E1_the_memo_shows_no_secret():
    value = fresh_secret()
    memo = LineMemo()
    memo.parse("GET /user", None, {}, memo.live([value, Secret(value)]))
    assert memo.holds(Secret(value))
    assert value not in repr(memo) and value not in repr(vars(memo))
    assert MASK in repr(vars(memo))  # the secrets are there, as Secrets


# ------------------------------------------------------------------ through the magic


@pytest.fixture
def signed_in(shell, sb):
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    k.login_with_token(sb.mint_token())
    sb.clear_log()
    yield k
    reset_session(KernelSession(environ={}))


def test_E5_a_client_secret_configured_between_two_runs_of_a_line_is_refused(
    shell, signed_in, sb
):
    secret = fresh_secret()
    line = f"GET /user q={secret}"
    assert shell.run_line_magic("gitbook", line).data["object"] == "user"  # not live yet
    signed_in.configure(client_secret=secret)
    sb.clear_log()
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("gitbook", line)
    assert secret not in str(info.value)
    assert sb.requests == []  # refused before anything was sent


def test_E1_logout_leaves_no_token_in_the_magic(shell, signed_in, sb):
    magics = shell.magics_manager.registry["GitBookMagics"]
    token = signed_in.token.access_token
    shell.run_line_magic("gitbook", "GET /user")
    assert magics._memo.holds(token)
    shell.run_line_magic("gitbook", "logout")
    assert not magics._memo.holds(token)
