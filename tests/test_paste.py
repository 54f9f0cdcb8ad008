"""What the user pastes after consent: SECURITY.md A3, A4 and B1-B8 on ``parse_paste``."""

from __future__ import annotations

import secrets

import pytest

from gitbook_nb.errors import (
    AccessDeniedError,
    FlowExpiredError,
    FlowUsedError,
    GitBookError,
    LoginError,
    PasteError,
    StateMismatchError,
)
from gitbook_nb.protocol import oauth
from gitbook_nb.protocol.oauth import Endpoints
from gitbook_nb.protocol.tokens import Secret

T0 = 5_000_000.0
EP = Endpoints(
    authorize="https://api.gitbook.com/oauth/authorize",
    token="https://api.gitbook.com/oauth/access_token",
)
REDIRECT = "https://app.example:443/oauth/callback"


def clock(t: float = T0):
    return lambda: t


def new_flow(**kw):
    args = dict(flow="legacy", endpoints=EP, client_id="cid", redirect_uri=REDIRECT, now=clock())
    args.update(kw)
    return oauth.start_login(**args)


def paste(flow, text, t: float = T0 + 1):
    return oauth.parse_paste(flow, text, now=clock(t))


@pytest.fixture
def flow():
    return new_flow()


@pytest.fixture
def code():
    return secrets.token_urlsafe(20)


def url(flow, code, base="https://app.example/oauth/callback", extra=""):
    return f"{base}?code={code}&state={flow.state.reveal()}{extra}"


def test_full_url_gives_the_code_and_uses_the_flow(flow, code):
    result = paste(flow, url(flow, code))
    assert isinstance(result, Secret) and result.reveal() == code
    assert flow.used


def test_B1_ascii_whitespace_around_is_trimmed(flow, code):
    assert paste(flow, f" \t\r\n{url(flow, code)}\n\x0b\x0c ").reveal() == code


@pytest.mark.parametrize(
    "char,name",
    [
        ("\u200b", "U+200B"),
        ("\u00a0", "U+00A0"),
        ("\u201c", "U+201C"),
        ("\u2019", "U+2019"),
        ("\ufeff", "U+FEFF"),
        ("\x00", "U+0000"),
        ("\x7f", "U+007F"),
        ("\u202e", "U+202E"),
        (" ", "U+0020"),
    ],
)
def test_B1_invisible_or_non_ascii_characters_are_refused_by_code_point(flow, code, char, name):
    text = url(flow, code)
    text = text[:30] + char + text[30:]
    with pytest.raises(PasteError) as info:
        paste(flow, text)
    message = str(info.value)
    assert name in message and "position 31" in message
    assert code not in message and "\n" not in message
    assert not flow.used  # refused before the state check: the user may paste again


def test_B1_zero_width_space_at_the_end_is_not_trimmed(flow, code):
    with pytest.raises(PasteError) as info:
        paste(flow, url(flow, code) + "\u200b")
    assert "U+200B" in str(info.value) and "zero-width space" in str(info.value)


def test_B1_smart_quotes_around_the_url(flow, code):
    with pytest.raises(PasteError) as info:
        paste(flow, "\u201c" + url(flow, code) + "\u201d")
    assert "U+201C" in str(info.value) and "position 1" in str(info.value)


@pytest.mark.parametrize(
    "base",
    [
        "https://app.example/oauth/callback",
        "https://APP.example:443/oauth/callback",
        "HTTPS://app.example/oauth/callback",
    ],
)
def test_B2_same_scheme_host_port_path_accepted(flow, code, base):
    assert paste(flow, url(flow, code, base=base)).reveal() == code


@pytest.mark.parametrize(
    "base",
    [
        "http://app.example/oauth/callback",
        "https://evil.example/oauth/callback",
        "https://app.example:8443/oauth/callback",
        "https://app.example/oauth/callback2",
        "https://app.example/OAUTH/callback",
        "https://app.example.evil.example/oauth/callback",
        "https://user@app.example/oauth/callback",
        "https://app.example/oauth/callback/",
        "https://app.example:99999/oauth/callback",
    ],
)
def test_B2_other_redirect_address_refused(flow, code, base):
    with pytest.raises(PasteError) as info:
        paste(flow, url(flow, code, base=base))
    assert code not in str(info.value)
    assert not flow.used


def test_B2_loopback_default_port_normalised():
    f = new_flow(redirect_uri="http://127.0.0.1/cb")
    assert paste(f, f"http://127.0.0.1:80/cb?code=abcdefgh&state={f.state.reveal()}")
    f = new_flow(redirect_uri="http://[::1]:8080/cb")
    assert paste(f, f"http://[0:0::1]:8080/cb?code=abcdefgh&state={f.state.reveal()}")


@pytest.mark.parametrize("extra", ["&code=other", "&state=x", "&error=access_denied"])
def test_B3_duplicate_parameters_refused(flow, code, extra):
    text = url(flow, code, extra=extra)
    if extra.startswith("&error"):
        text += "&error=x"
    with pytest.raises(PasteError) as info:
        paste(flow, text)
    assert "times" in str(info.value)
    assert code not in str(info.value)


def test_B3_duplicate_state_with_the_right_one_last_still_refused(flow, code):
    # dict(parse_qsl) would keep the last (right) state and accept: we must not
    text = (
        f"https://app.example/oauth/callback?state=attacker&code={code}&state={flow.state.reveal()}"
    )
    with pytest.raises(PasteError):
        paste(flow, text)


def test_B4_access_denied_ends_the_flow(flow):
    text = (
        "https://app.example/oauth/callback?error=access_denied&error_description="
        "The+user+said+%3Cb%3Eno%3C%2Fb%3E%0Aagain&state=" + flow.state.reveal()
    )
    with pytest.raises(AccessDeniedError) as info:
        paste(flow, text)
    assert flow.used
    message = str(info.value)
    assert "declined at GitBook" in message and "The user said" in message
    assert "\n" not in message and "again" in message  # newline neutralised, text kept
    with pytest.raises(FlowUsedError):
        paste(flow, url(flow, "abcdefgh"))


def test_B4_other_error_gives_login_error_with_code(flow):
    with pytest.raises(LoginError) as info:
        paste(flow, "https://app.example/oauth/callback?error=server_error&state=x")
    assert not isinstance(info.value, AccessDeniedError)
    assert info.value.error == "server_error" and "server_error" in str(info.value)
    assert flow.used


def test_B4_error_code_is_sanitised_and_description_truncated(flow):
    long = "A" * 1000
    with pytest.raises(LoginError) as info:
        paste(flow, f"?error=%3Cscript%3E&error_description={long}")
    message = str(info.value)
    assert "<script>" not in message and len(message) < 400


@pytest.mark.parametrize(
    "fragment",
    [
        "#access_token=abc&token_type=bearer",
        "#id_token=x",
        "#TOKEN",
        "#state=1&code=2",
    ],
)
def test_B5_token_or_answer_in_fragment_refused(flow, code, fragment):
    with pytest.raises(PasteError):
        paste(flow, f"https://app.example/oauth/callback{fragment}")
    with pytest.raises(PasteError):
        paste(flow, url(flow, code) + fragment)


def test_B5_access_token_in_query_refused(flow):
    with pytest.raises(PasteError):
        paste(
            flow, f"https://app.example/oauth/callback?access_token=x&state={flow.state.reveal()}"
        )


def test_harmless_fragment_is_ignored(flow, code):
    assert paste(flow, url(flow, code) + "#_=_").reveal() == code


@pytest.mark.parametrize("state_part", ["", "&state=", "&state"])
def test_B6_missing_or_empty_state_fails(flow, state_part):
    with pytest.raises(StateMismatchError):
        paste(flow, f"https://app.example/oauth/callback?code=abcdefgh{state_part}")
    assert flow.used  # reached the state check (A4)


def test_B6_no_pending_flow_fails_closed(code):
    with pytest.raises(FlowUsedError) as info:
        oauth.parse_paste(None, f"https://app.example/oauth/callback?code={code}&state=x")
    assert "no login in progress" in str(info.value)


def test_B6_wrong_state_fails(flow, code):
    with pytest.raises(StateMismatchError):
        paste(
            flow,
            f"https://app.example/oauth/callback?code={code}&state={secrets.token_urlsafe(32)}",
        )


@pytest.mark.parametrize("state", ["%C3%A9t%C3%A9", "%FF%FE", "%E2%80%8B", "\u00e9"])
def test_B7_non_ascii_state_does_not_raise_type_error(flow, state):
    # compare_digest on str raises TypeError for non-ASCII: we compare UTF-8 bytes
    with pytest.raises((StateMismatchError, PasteError)):
        paste(flow, f"https://app.example/oauth/callback?code=abcdefgh&state={state}")


def test_B7_state_compared_with_compare_digest_on_bytes(flow):
    import inspect

    from gitbook_nb.protocol import _paste as paste_module

    source = inspect.getsource(paste_module._check_state)
    assert "compare_digest" in source and ".encode(" in source


def test_B8_bare_code_refused_by_default(flow, code):
    with pytest.raises(PasteError) as info:
        paste(flow, code)
    assert "whole address" in str(info.value) and code not in str(info.value)
    assert not flow.used


def test_B8_bare_code_allowed_only_where_the_flow_allows_it_with_pkce(code):
    f = new_flow(allow_bare_code=True)
    assert f.verifier  # PKCE always on
    assert paste(f, code).reveal() == code
    assert f.used
    f = new_flow(allow_bare_code=True)
    with pytest.raises(PasteError):
        paste(f, "short")
    with pytest.raises(PasteError):
        paste(f, "abc<def>ghijk")


def test_query_string_alone_is_accepted_with_the_same_checks(flow, code):
    assert paste(flow, f"?code={code}&state={flow.state.reveal()}").reveal() == code
    f = new_flow()
    assert paste(f, f"code={code}&state={f.state.reveal()}").reveal() == code
    f = new_flow()
    with pytest.raises(StateMismatchError):
        paste(f, f"code={code}&state=nope")
    f = new_flow()
    with pytest.raises(PasteError):
        paste(f, f"code={code}&code={code}&state={f.state.reveal()}")


def test_pasting_the_sign_in_link_itself_says_so(flow):
    with pytest.raises(PasteError) as info:
        paste(flow, flow.authorize_url)
    assert "sign-in link itself" in str(info.value) and not flow.used
    assert flow.state.reveal() not in str(info.value)


def test_address_without_scheme_refused(flow, code):
    with pytest.raises(PasteError) as info:
        paste(flow, f"app.example/oauth/callback?code={code}&state={flow.state.reveal()}")
    assert "scheme" in str(info.value)


def test_A3_late_paste_refused(flow, code):
    with pytest.raises(FlowExpiredError):
        paste(flow, url(flow, code), t=T0 + 601)
    assert paste(flow, url(flow, code), t=T0 + 599).reveal() == code


def test_A4_second_paste_fails_locally(flow, code):
    paste(flow, url(flow, code))
    with pytest.raises(FlowUsedError):
        paste(flow, url(flow, code))


def test_A4_a_failed_state_check_also_uses_the_flow(flow, code):
    with pytest.raises(StateMismatchError):
        paste(flow, f"https://app.example/oauth/callback?code={code}&state=guess")
    with pytest.raises(FlowUsedError):
        paste(flow, url(flow, code))


def test_A2_cancelled_flow_refuses_paste(flow, code):
    flow.cancel()
    with pytest.raises(FlowUsedError) as info:
        paste(flow, url(flow, code))
    assert "newer" in str(info.value)


def test_long_input_refused(flow):
    with pytest.raises(PasteError) as info:
        paste(flow, "https://app.example/oauth/callback?code=" + "a" * 9000)
    assert "8 KiB" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "https://",
        "http://[::1/cb?code=a&state=b",
        "?",
        "=",
        "code=",
        "https://app.example/oauth/callback",
    ],
)
def test_malformed_input_gives_gitbook_errors(flow, text):
    with pytest.raises(GitBookError) as info:
        paste(flow, text)
    assert "\n" not in str(info.value) and str(info.value)


def test_E2_no_message_echoes_the_code_or_the_pasted_text():
    code = "SECRETCODE" + secrets.token_hex(8)
    attempts = [
        lambda f: f"https://evil.example/cb?code={code}&state={f.state.reveal()}",
        lambda f: f"https://app.example/oauth/callback?code={code}&state=bad",
        lambda f: f"https://app.example/oauth/callback?code={code}&code={code}",
        lambda f: f"https://app.example/oauth/callback?code={code}\u200b&state=1",
        lambda f: code,
        lambda f: f"https://app.example/oauth/callback?code={code}#access_token={code}",
        lambda f: f"?code={code}",
    ]
    for make in attempts:
        f = new_flow()
        text = make(f)
        with pytest.raises(GitBookError) as info:
            paste(f, text)
        assert code not in str(info.value) and code not in info.value.hint
        assert text not in str(info.value)


@pytest.mark.parametrize(
    "prefix", ["evil.example/x=1", "evil.example/cb", "app.example/oauth/callback", "x=1/"]
)
def test_B2_address_without_scheme_is_refused_not_read_as_a_query(flow, code, prefix):
    text = f"{prefix}?code={code}&state={flow.state.reveal()}"
    with pytest.raises(PasteError) as info:
        paste(flow, text)
    assert "scheme" in str(info.value) and code not in str(info.value)
    assert not flow.used
