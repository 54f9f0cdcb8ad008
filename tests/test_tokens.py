"""E1: secrets as a type. Secret and Token never show a secret and refuse to be copied out."""

from __future__ import annotations

import copy
import io
import logging
import pickle
import secrets

import pytest

from gitbook_nb.protocol.tokens import EXPIRY_LEEWAY, MASK, Secret, Token, reveal


@pytest.fixture
def raw() -> str:
    return "gb_api_" + secrets.token_urlsafe(24)


def test_E1_secret_repr_str_format_and_fstring_are_masked(raw):
    s = Secret(raw)
    shown = [
        repr(s),
        str(s),
        format(s),
        format(s, ">40"),
        f"{s}",
        f"{s!r}",
        f"{s!s}",
        "%s" % s,  # noqa: UP031 - the old spelling too
        "%r" % s,  # noqa: UP031
        "{}".format(s),  # noqa: UP031, UP032 - the old spellings too
        str([s]),
        str({"k": s}),
        str((s,)),
    ]
    for text in shown:
        assert raw not in text
        assert MASK in text


def test_E1_secret_reveals_only_on_request(raw):
    s = Secret(raw)
    assert s.reveal() == raw and reveal(s) == raw and reveal("plain") == "plain"
    assert reveal(None) is None
    assert Secret(s).reveal() == raw  # wrapping twice is harmless
    assert bool(s) and not Secret("") and len(s) == len(raw)


def test_E1_secret_refuses_pickle_copy_and_deepcopy(raw):
    s = Secret(raw)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(s, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(s)
    with pytest.raises(TypeError):
        copy.deepcopy(s)
    with pytest.raises(TypeError):
        copy.deepcopy({"token": s})


def test_E1_vars_is_impossible_and_secret_is_immutable(raw):
    s = Secret(raw)
    with pytest.raises(TypeError):
        vars(s)
    assert not hasattr(s, "__dict__")
    with pytest.raises(AttributeError):
        s._value = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]
    assert s.reveal() == raw


def test_E1_secret_wraps_only_strings():
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Secret(None)  # type: ignore[arg-type]


def test_E1_secret_equality_is_constant_time_and_not_with_str(raw):
    assert Secret(raw) == Secret(raw) and Secret(raw) != Secret(raw + "x")
    assert Secret(raw) != raw  # no accidental comparison with plain text
    assert Secret("\u00e9t\u00e9") == Secret("\u00e9t\u00e9")  # non-ASCII must not raise
    assert len({Secret(raw), Secret(raw)}) == 1


def test_E1_token_repr_shows_only_masks(raw):
    refresh = secrets.token_urlsafe(20)
    tok = Token(
        access_token=Secret(raw),
        refresh_token=Secret(refresh),
        issuer="api.gitbook.com",
        client_id="cid",
        scope=("user:read",),
    )
    for text in (repr(tok), str(tok), f"{tok}", repr([tok]), repr(tok.with_changes(source="x"))):
        assert raw not in text and refresh not in text
        assert MASK in text
    with pytest.raises(TypeError):
        pickle.dumps(tok)
    with pytest.raises(TypeError):
        copy.deepcopy(tok)


def test_E1_vars_of_a_token_holds_only_wrapped_secrets(raw):
    tok = Token(access_token=Secret(raw))
    assert raw not in repr(vars(tok)) and isinstance(vars(tok)["access_token"], Secret)


def test_E3_logging_a_secret_shows_the_mask(raw):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("gitbook_nb.test_tokens")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("token %s %r", Secret(raw), Token(access_token=Secret(raw)))
    finally:
        logger.removeHandler(handler)
    assert raw not in stream.getvalue() and MASK in stream.getvalue()


def test_token_expiry_with_leeway():
    tok = Token(access_token=Secret("a"), expires_at=1000.0)
    assert not tok.expired(1000.0 - EXPIRY_LEEWAY - 1)
    assert tok.expired(1000.0 - EXPIRY_LEEWAY)
    assert tok.expired(lambda: 2000.0)
    assert tok.expires_in(400.0) == 600.0
    never = Token(access_token=Secret("a"))
    assert not never.expired(1e12) and never.expires_in(0) is None


def test_D3_token_key_is_issuer_host_and_client_id():
    tok = Token(access_token=Secret("a"), issuer="api.gitbook.com", client_id="cid")
    assert tok.key == ("api.gitbook.com", "cid")
