"""The pure OAuth core: starting a login, token requests and answers, discovery, registration,
and the shared URL checks. Values in, values out: no server, no patching."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest

from gitbook_nb.errors import ConfigError, GitBookError, LoginError, TokenExchangeError
from gitbook_nb.protocol import oauth
from gitbook_nb.protocol.oauth import Endpoints, HTTPRequestSpec, PendingFlow
from gitbook_nb.protocol.tokens import MASK, Secret, Token
from gitbook_nb.protocol.urls import (
    host_key,
    is_loopback_host,
    validate_base_url,
    validate_redirect_uri,
)

T0 = 1_000_000.0
EP = Endpoints(
    authorize="https://api.gitbook.com/oauth/authorize",
    token="https://api.gitbook.com/oauth/access_token",
)
REDIRECT = "http://127.0.0.1:8765/callback"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def start(**kw) -> PendingFlow:
    args = dict(
        flow="legacy", endpoints=EP, client_id="my-client", redirect_uri=REDIRECT, now=lambda: T0
    )
    args.update(kw)
    return oauth.start_login(**args)


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def answer(status=200, headers=JSON, body=b"", **kw):
    kw.setdefault("issuer", "https://api.gitbook.com/oauth/access_token")
    kw.setdefault("client_id", "my-client")
    kw.setdefault("now", lambda: T0)
    return oauth.parse_token_response(status, headers, body, **kw)


def token_json(**fields) -> bytes:
    data = {"access_token": "gb_api_" + secrets.token_hex(16), "token_type": "bearer"}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


# --------------------------------------------------------------------------- A: starting


def test_A1_state_has_256_bits_and_10000_states_are_unique():
    flows = [start() for _ in range(10_000)]
    states = {f.state.reveal() for f in flows}
    assert len(states) == 10_000
    assert all(len(s) >= 43 for s in states)  # 32 bytes of token_urlsafe
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", s) for s in states)


def test_A1_state_comes_from_the_injected_token_factory_with_32_bytes():
    asked = []

    def factory(n: int) -> str:
        asked.append(n)
        return secrets.token_urlsafe(n)

    start(token_factory=factory)
    assert asked[0] == 32


def test_A2_pending_flow_holds_everything_and_hides_secrets():
    flow = start(scopes=("space:read",))
    assert flow.flow == "legacy" and flow.client_id == "my-client"
    assert flow.redirect_uri == REDIRECT and flow.endpoints == EP
    assert flow.created_at == T0 and flow.lifetime == 600.0
    assert not flow.used and not flow.cancelled
    assert isinstance(flow.state, Secret) and isinstance(flow.verifier, Secret)
    text = repr(flow)
    for secret in (flow.state.reveal(), flow.verifier.reveal()):
        assert secret not in text
    assert "authorize_url" not in text  # it carries the state


def test_A2_cancel_marks_the_old_flow():
    old = start()
    old.cancel()
    assert old.cancelled and not old.active(T0)


def test_A2_a_pending_flow_refuses_pickling():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(start())


def test_A3_flow_expires_after_ten_minutes():
    flow = start()
    assert not flow.expired(T0 + 599)
    assert flow.expired(T0 + 600)
    assert flow.expired(T0 - 1)  # a clock that went backwards does not extend it


def test_A5_pkce_s256_always_in_both_flows():
    for kind in ("legacy", "current"):
        flow = start(flow=kind)
        params = dict(query(flow.authorize_url))
        verifier = flow.verifier.reveal()
        assert 43 <= len(verifier) <= 128
        assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        assert params["code_challenge"] == expected.decode().rstrip("=")
        assert params["code_challenge_method"] == "S256"
        assert params["state"] == flow.state.reveal()  # state stays mandatory
        assert "plain" not in flow.authorize_url


def test_A5_pkce_challenge_matches_rfc7636_appendix_b():
    assert (
        oauth.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_A5_a_bad_token_factory_is_refused():
    with pytest.raises(ValueError):
        start(token_factory=lambda n: "short")


def test_A6_authorize_url_keeps_query_each_parameter_once():
    ep = Endpoints(
        authorize="https://auth.example/oauth/authorize?client_id=evil&tenant=x&state=1",
        token="https://auth.example/oauth/token",
    )
    flow = start(
        endpoints=ep, scopes=("user:read", "space:read"), extra_params={"prompt": "consent"}
    )
    pairs = query(flow.authorize_url)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    params = dict(pairs)
    assert params["client_id"] == "my-client"  # ours replaces the endpoint's
    assert params["tenant"] == "x" and params["prompt"] == "consent"
    assert params["scope"] == "user:read space:read"
    assert params["response_type"] == "code" and params["redirect_uri"] == REDIRECT
    parts = urlsplit(flow.authorize_url)
    assert parts.fragment == "" and "#" not in flow.authorize_url
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "auth.example", "/oauth/authorize")


def test_A6_authorize_endpoint_with_fragment_is_refused():
    ep = Endpoints(authorize="https://auth.example/authorize#x", token="https://auth.example/t")
    with pytest.raises(ConfigError):
        start(endpoints=ep)


def test_A6_extra_params_cannot_override_security_parameters():
    for key in ("state", "code_challenge_method", "redirect_uri", "client_id"):
        with pytest.raises(ConfigError):
            start(extra_params={key: "plain"})


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/callback",
        "http://127.0.0.1:9/cb",
        "http://127.5.6.7/cb",
        "http://[::1]:8080/callback",
    ],
)
def test_A7_redirect_uri_accepted(uri):
    assert validate_redirect_uri(uri) == uri
    assert start(redirect_uri=uri).redirect_uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:8080/callback",
        "http://example.com/cb",
        "http://10.0.0.1/cb",
        "http://127.0.0.1.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "ftp://x/cb",
        "javascript:alert(1)",
        "https://app.example/cb#frag",
        "",
        "http://[::2]/cb",
        "https://app.example/c b",
        "https://app\u200b.example/cb",
    ],
)
def test_A7_redirect_uri_refused(uri):
    with pytest.raises(ConfigError):
        validate_redirect_uri(uri)
    with pytest.raises(ConfigError):
        start(redirect_uri=uri)


def test_start_login_refuses_unknown_flow_bad_client_id_and_scopes():
    with pytest.raises(ConfigError):
        start(flow="implicit")
    with pytest.raises(ConfigError):
        start(client_id="")
    with pytest.raises(ConfigError):
        start(client_id="a b")
    with pytest.raises(ConfigError):
        start(scopes=("two words",))


# --------------------------------------------------------------------------- D1 URLs


@pytest.mark.parametrize(
    "url",
    [
        "https://api.gitbook.com/v1",
        "http://127.0.0.1:5000",
        "http://localhost:8080/x",
        "http://[::1]:80/",
        "https://api.gitbook.com/oauth/authorize?a=b",
    ],
)
def test_D1_base_url_accepted(url):
    assert validate_base_url(url, what="API URL") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:80@evil.example/",
        "http://api.gitbook.com/v1",
        "https://u:p@host/",
        "https://host/#frag",
        "ftp://host/",
        "//host/x",
        "https:///x",
        "http://localhost.evil.example/",
        "https://host:99999/",
        "https://host:abc/",
        "http://127.0.0.1\\@evil.example/",
        "",
        "https://host/\r\nX: y",
        "http://0x7f.1/",
        "https://h\u0430st.example/",
        "https://%65vil.example/",
        "https://[evil.example]/",
        "https://ho_st.example/",
        "https://-x.example/",
    ],
)
def test_D1_base_url_refused(url):
    with pytest.raises(ConfigError) as info:
        validate_base_url(url, what="API URL")
    assert "\n" not in str(info.value)


def test_D1_loopback_is_parsed_not_prefix_matched():
    assert is_loopback_host("127.0.0.1") and is_loopback_host("[::1]")
    assert is_loopback_host("127.255.0.1") and not is_loopback_host("128.0.0.1")
    assert not is_loopback_host("localhost")
    assert is_loopback_host("localhost", allow_localhost=True)
    assert not is_loopback_host("127.0.0.1.nip.io", allow_localhost=True)


def test_host_key_normalises_default_ports():
    assert host_key("https://API.gitbook.com:443/v1") == "api.gitbook.com"
    assert host_key("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert host_key("http://[::1]:9/") == "[::1]:9"


# --------------------------------------------------------------------------- C: token request


def test_C1_C2_token_request_secret_only_in_body_and_json_asked():
    flow = start()
    secret = secrets.token_urlsafe(24)
    code = secrets.token_urlsafe(16)
    spec = oauth.build_token_request(flow, Secret(code), Secret(secret))
    assert spec.method == "POST" and spec.url == EP.token
    assert secret not in spec.url and code not in spec.url
    assert spec.headers["Accept"] == "application/json"
    assert spec.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert spec.form == {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "my-client",
        "client_secret": secret,
        "code_verifier": flow.verifier.reveal(),
    }
    for hidden in (secret, code, flow.verifier.reveal()):
        assert hidden not in repr(spec) and hidden not in str(spec)
    assert MASK in repr(spec)


def test_C1_public_client_sends_no_secret():
    spec = oauth.build_token_request(start(flow="current"), Secret("abc"), None)
    assert "client_secret" not in spec.form


def test_E1_request_spec_refuses_pickling():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(oauth.build_token_request(start(), Secret("abc"), None))


def test_refresh_request_masks_refresh_token():
    refresh = secrets.token_urlsafe(20)
    tok = Token(access_token=Secret("a"), refresh_token=Secret(refresh), client_id="c")
    spec = oauth.build_refresh_request(EP, tok, "c")
    assert spec.form == {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "c"}
    assert refresh not in repr(spec) and refresh not in spec.url
    with pytest.raises(TokenExchangeError):
        oauth.build_refresh_request(EP, Token(access_token=Secret("a")), "c")


def test_revocation_request_rfc7009():
    ep = Endpoints(authorize=EP.authorize, token=EP.token, revocation="https://a.example/revoke")
    tok = Token(access_token=Secret("acc"), refresh_token=Secret("ref"))
    spec = oauth.build_revocation_request(ep, tok, "cid")
    assert spec is not None and spec.url == "https://a.example/revoke"
    assert spec.form == {"token": "ref", "token_type_hint": "refresh_token", "client_id": "cid"}
    assert "ref" not in repr(spec).replace("refresh_token", "")
    spec = oauth.build_revocation_request(ep, Token(access_token=Secret("acc")), "cid")
    assert spec.form["token_type_hint"] == "access_token" and spec.form["token"] == "acc"
    assert oauth.build_revocation_request(EP, tok, "cid") is None


# --------------------------------------------------------------------------- C: token answer


def test_C6_json_answer_gives_token_with_absolute_expiry_and_issuer():
    access, refresh = "gb_api_" + secrets.token_hex(8), secrets.token_urlsafe(20)
    tok, notes = answer(
        body=token_json(
            access_token=access,
            refresh_token=refresh,
            expires_in=3600,
            scope="user:read space:read",
            token_type="Bearer",
        ),
        requested_scopes=("user:read", "space:read"),
    )
    assert tok.access_token.reveal() == access and tok.refresh_token.reveal() == refresh
    assert tok.expires_at == T0 + 3600 and tok.obtained_at == T0
    assert tok.scope == ("user:read", "space:read") and notes == []
    assert tok.issuer == "api.gitbook.com" and tok.client_id == "my-client"
    assert tok.key == ("api.gitbook.com", "my-client") and tok.token_type == "bearer"
    assert not tok.expired(T0 + 3500) and tok.expired(T0 + 3550)  # leeway applies
    assert access not in repr(tok) and refresh not in repr(tok)


def test_C2_form_encoded_default_is_parsed():
    tok, _ = answer(
        headers=FORM,
        body=b"access_token=e72e16c7e42f292c6912e7710c838347ae178b4a&token_type=bearer",
    )
    assert tok.access_token.reveal() == "e72e16c7e42f292c6912e7710c838347ae178b4a"
    assert tok.expires_at is None and tok.refresh_token is None


def test_C2_content_type_missing_sniffs_json_or_form():
    tok, _ = answer(headers={}, body=b'  {"access_token": "abc", "token_type": "bearer"}')
    assert tok.access_token.reveal() == "abc"
    tok, _ = answer(
        headers={"content-type": "text/plain"},
        body=b"access_token=xyz&token_type=bearer&expires_in=60",
    )
    assert tok.access_token.reveal() == "xyz" and tok.expires_at == T0 + 60


def test_C6_scope_change_gives_a_warning():
    _, notes = answer(
        body=token_json(scope="user:read"), requested_scopes=("user:read", "space:write")
    )
    assert len(notes) == 1 and "space:write" in notes[0]
    _, notes = answer(body=token_json(), requested_scopes=("user:read",))
    assert notes == []  # omitted scope means "as requested" (RFC 6749 5.1)


@pytest.mark.parametrize(
    "fields",
    [
        {"access_token": ""},
        {"access_token": 123},
        {"access_token": "has space"},
        {"access_token": "bad\u00e9"},
        {"access_token": "a=b"},
        {"access_token": None},
        {"token_type": "mac"},
        {"token_type": None},
        {"token_type": ["bearer"]},
        {"expires_in": -5},
        {"expires_in": "soon"},
        {"expires_in": True},
        {"expires_in": 1e300},
        {"refresh_token": ""},
        {"refresh_token": 5},
        {"scope": 7},
    ],
)
def test_C6_invalid_token_fields_refused(fields):
    with pytest.raises(TokenExchangeError) as info:
        answer(
            body=token_json(**fields)
            if fields.get("access_token", "x") is not None
            else json.dumps({"token_type": "bearer"}).encode()
        )
    assert info.value.status == 200


@pytest.mark.parametrize(
    "code",
    [
        "bad_verification_code",
        "incorrect_client_credentials",
        "redirect_uri_mismatch",
        "invalid_grant",
        "invalid_client",
    ],
)
def test_C4_error_field_with_status_200_is_a_failure_with_specific_advice(code):
    body = f"error={code}&error_description=The+code+xyz+is+bad&error_uri=https://x".encode()
    with pytest.raises(TokenExchangeError) as info:
        answer(headers=FORM, body=body)
    err = info.value
    assert err.error == code and err.status == 200
    assert err.hint == oauth.TOKEN_ERROR_HINTS[code] and err.hint != oauth.GENERIC_TOKEN_HINT
    assert "xyz" not in str(err)  # E2: no server-supplied text in the message


def test_C4_error_field_json_and_unknown_code_is_generic():
    with pytest.raises(TokenExchangeError) as info:
        answer(status=400, body=b'{"error": "slow_down"}')
    assert info.value.error == "slow_down" and info.value.hint == oauth.GENERIC_TOKEN_HINT
    with pytest.raises(TokenExchangeError) as info:
        answer(status=200, body=b'{"error": {"code": 401, "message": "no"}, "access_token": "x"}')
    assert info.value.error == "401"
    with pytest.raises(TokenExchangeError) as info:
        answer(body=b'{"error": "<script>alert(1)</script>", "token_type": "bearer"}')
    assert "<" not in str(info.value) and info.value.error == "unrecognised_error"


def test_C4_legacy_sentence_in_error_is_not_echoed():
    body = (
        b'{"error": "Authentication has failed (Invalid user, password or access token)", '
        b'"code": 401}'
    )
    with pytest.raises(TokenExchangeError) as info:
        answer(status=401, body=body)
    assert info.value.status == 401 and "401" in str(info.value)
    assert "Invalid user" not in str(info.value)


def test_C5_body_over_64_kib_refused():
    body = token_json(pad="x" * (64 * 1024))
    with pytest.raises(TokenExchangeError) as info:
        answer(body=body)
    assert "64 KiB" in str(info.value)


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b'"access_token"', b"null", b"{bad json", b"[" * 100_00]
)
def test_C5_json_that_is_not_an_object_refused(body):
    with pytest.raises(TokenExchangeError):
        answer(body=body)


def test_C5_duplicate_keys_refused():
    with pytest.raises(TokenExchangeError) as info:
        answer(headers=FORM, body=b"access_token=a&token_type=bearer&access_token=b")
    assert "duplicate" in str(info.value)
    with pytest.raises(TokenExchangeError):
        answer(body=b'{"access_token": "a", "token_type": "bearer", "access_token": "b"}')


def test_C5_non_utf8_refused():
    with pytest.raises(TokenExchangeError):
        answer(body=b'{"access_token": "\xff", "token_type": "bearer"}')


def test_non_2xx_without_error_gives_status():
    with pytest.raises(TokenExchangeError) as info:
        answer(status=502, headers={"Content-Type": "text/html"}, body=b"<html>Bad gateway</html>")
    assert info.value.status == 502 and "502" in str(info.value)


def test_C3_a_redirect_answer_is_an_error():
    with pytest.raises(TokenExchangeError) as info:
        answer(status=307, body=token_json())
    assert "redirect" in str(info.value)


def test_token_answer_messages_never_contain_the_token():
    access = "tok_" + secrets.token_hex(12)
    for body in (
        token_json(access_token=access, token_type="mac"),
        token_json(access_token=access, expires_in="x"),
    ):
        with pytest.raises(TokenExchangeError) as info:
            answer(body=body)
        assert access not in str(info.value) and access not in repr(info.value.args)


# --------------------------------------------------------------------------- current GitBook


def test_discovery_url_rfc8414():
    assert (
        oauth.discovery_url("https://oauth.gitbook.com")
        == "https://oauth.gitbook.com/.well-known/oauth-authorization-server"
    )
    assert (
        oauth.discovery_url("http://127.0.0.1:5/tenant/")
        == "http://127.0.0.1:5/.well-known/oauth-authorization-server/tenant"
    )
    with pytest.raises(ConfigError):
        oauth.discovery_url("http://oauth.gitbook.com")


def discovery_doc(**fields) -> bytes:
    doc = {
        "issuer": "https://oauth.gitbook.com",
        "authorization_endpoint": "https://oauth.gitbook.com/authorize",
        "token_endpoint": "https://oauth.gitbook.com/token",
        "registration_endpoint": "https://oauth.gitbook.com/register",
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def test_discovery_parsed():
    ep = oauth.parse_discovery(200, JSON, discovery_doc(), issuer="https://oauth.gitbook.com")
    assert ep == Endpoints(
        "https://oauth.gitbook.com/authorize",
        "https://oauth.gitbook.com/token",
        "https://oauth.gitbook.com/register",
        None,
        "https://oauth.gitbook.com",
        discovered=True,
    )
    # the document lists no client authentication methods: recorded as "not published"
    assert ep.token_auth_methods is None and ep.revocation_auth_methods is None


def test_discovery_404_falls_back_to_documented_paths():
    ep = oauth.parse_discovery(404, {}, b"", issuer="http://127.0.0.1:9")
    assert (ep.authorize, ep.token, ep.registration) == (
        "http://127.0.0.1:9/authorize",
        "http://127.0.0.1:9/token",
        "http://127.0.0.1:9/register",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"issuer": "https://evil.example"},
        {"issuer": None},
        {"token_endpoint": "http://oauth.gitbook.com/token"},
        {"authorization_endpoint": "https://u@evil.example/authorize"},
        {"authorization_endpoint": None},
        {"revocation_endpoint": 5},
        {"code_challenge_methods_supported": ["plain"]},
    ],
)
def test_discovery_refuses_unsafe_documents(fields):
    with pytest.raises(LoginError):
        oauth.parse_discovery(
            200, JSON, discovery_doc(**fields), issuer="https://oauth.gitbook.com"
        )


def test_discovery_server_error_and_non_object():
    with pytest.raises(LoginError):
        oauth.parse_discovery(500, JSON, b"{}", issuer="https://oauth.gitbook.com")
    with pytest.raises(LoginError):
        oauth.parse_discovery(200, JSON, b"[]", issuer="https://oauth.gitbook.com")


def test_registration_request_is_rfc7591_public_native_client():
    ep = Endpoints(EP.authorize, EP.token, registration="https://oauth.gitbook.com/register")
    spec = oauth.build_registration_request(ep, redirect_uris=[REDIRECT])
    assert isinstance(spec, HTTPRequestSpec) and spec.method == "POST" and spec.form is None
    assert spec.json == {
        "client_name": "gitbook_nb",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    with pytest.raises(ConfigError):
        oauth.build_registration_request(ep, redirect_uris=["http://example.com/cb"])
    with pytest.raises(ConfigError):
        oauth.build_registration_request(EP, redirect_uris=[REDIRECT])


def test_registration_response():
    assert oauth.parse_registration_response(201, JSON, b'{"client_id": "abc-123"}') == "abc-123"
    for status, body in [
        (400, b'{"error": "invalid_redirect_uri"}'),
        (500, b""),
        (201, b'{"client_id": ""}'),
        (201, b"[]"),
        (201, b'{"client_id": 5}'),
    ]:
        with pytest.raises(TokenExchangeError):
            oauth.parse_registration_response(status, JSON, body)


def test_all_failures_are_gitbook_errors_with_one_line():
    cases = [
        lambda: answer(body=b"\x00\x01"),
        lambda: answer(status=500, body=b""),
        lambda: start(redirect_uri="http://x/"),
    ]
    for case in cases:
        with pytest.raises(GitBookError) as info:
            case()
        assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- client authentication
# RFC 6749 2.3.1, RFC 7591 token_endpoint_auth_method, RFC 8414 defaults, RFC 7009 2.1.

AUTH_SERVER = "https://auth.example.org"


def endpoints(token_methods=None, revocation_methods=None, *, discovered=True) -> Endpoints:
    return Endpoints(
        authorize=AUTH_SERVER + "/authorize",
        token=AUTH_SERVER + "/token",
        revocation=AUTH_SERVER + "/revoke",
        issuer=AUTH_SERVER,
        token_auth_methods=token_methods,
        revocation_auth_methods=revocation_methods,
        discovered=discovered,
    )


@pytest.mark.parametrize(
    "listed,discovered,has_secret,expected",
    [
        (("client_secret_basic", "client_secret_post"), True, False, "none"),
        (("client_secret_basic",), True, False, "none"),  # a public client never sends a secret
        (("client_secret_post", "client_secret_basic"), True, True, "client_secret_basic"),
        (("none", "client_secret_post"), True, True, "client_secret_post"),
        (("none",), True, True, "none"),  # public clients only: the secret stays home
        (None, True, True, "client_secret_basic"),  # document omits the list: RFC 8414 default
        (None, False, True, "client_secret_post"),  # no document at all (legacy GitBook)
        (None, False, False, "none"),
    ],
)
def test_choose_auth_method_without_a_setting(listed, discovered, has_secret, expected):
    ep = endpoints(listed, discovered=discovered)
    assert oauth.choose_auth_method(ep, None, has_secret) == expected


def test_choose_auth_method_setting_wins_when_the_server_lists_it_or_lists_nothing():
    listed = endpoints(("client_secret_basic", "client_secret_post"))
    assert oauth.choose_auth_method(listed, "client_secret_post", True) == "client_secret_post"
    public = endpoints(("none", "client_secret_basic"))
    assert oauth.choose_auth_method(public, "none", True) == "none"  # the secret stays home
    silent = endpoints(None, discovered=True)  # omitted list: a setting is the user's escape
    assert oauth.choose_auth_method(silent, "client_secret_post", True) == "client_secret_post"
    legacy = endpoints(None, discovered=False)
    assert oauth.choose_auth_method(legacy, "client_secret_basic", True) == "client_secret_basic"


def test_choose_auth_method_refuses_a_setting_the_server_does_not_list():
    ep = endpoints(("client_secret_basic",))
    with pytest.raises(ConfigError) as info:
        oauth.choose_auth_method(ep, "client_secret_post", True)
    err = info.value
    assert "auth.example.org" in err.message and "client_secret_post" in err.message
    assert "client_secret_basic" in err.hint and "GITBOOK_TOKEN_AUTH_METHOD" in err.hint
    assert "\n" not in str(err)


def test_choose_auth_method_refuses_unknown_methods_and_a_missing_secret():
    with pytest.raises(ConfigError, match="unknown client authentication method"):
        oauth.choose_auth_method(endpoints(), "private_key_jwt", True)
    with pytest.raises(ConfigError, match="needs a client secret") as info:
        oauth.choose_auth_method(endpoints(), "client_secret_basic", False)
    assert "GITBOOK_CLIENT_SECRET" in info.value.hint
    with pytest.raises(ConfigError, match="auth.example.org accepts none") as info:
        oauth.choose_auth_method(endpoints(("private_key_jwt",)), None, True)
    assert "private_key_jwt" in info.value.hint


def test_choose_auth_method_names_gitbook_as_gitbook():
    ep = Endpoints(
        authorize="https://oauth.gitbook.com/authorize",
        token="https://oauth.gitbook.com/token",
        token_auth_methods=("none",),
        discovered=True,
    )
    with pytest.raises(ConfigError) as info:
        oauth.choose_auth_method(ep, "client_secret_basic", True)
    assert info.value.message.startswith("GitBook does not accept")


def _basic_parts(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode("ascii").partition(":")
    return user, password


def test_C1_basic_auth_form_encodes_id_and_secret_before_base64():
    """RFC 6749 2.3.1: a ':' '%' '+' space or non-ASCII character in the secret survives."""
    from urllib.parse import unquote, unquote_plus

    flow = start(flow="current", endpoints=endpoints(("client_secret_basic",)))
    secret = "s3:cr%t+with space/é~" + secrets.token_urlsafe(8)
    code = secrets.token_urlsafe(16)
    spec = oauth.build_token_request(
        flow, Secret(code), Secret(secret), auth_method="client_secret_basic"
    )
    user, password = _basic_parts(spec.headers["Authorization"])
    assert ":" not in password and " " not in password and "+" not in password
    # both decoders a server may use read the same values (Authlib uses unquote)
    assert unquote(user) == unquote_plus(user) == "my-client"
    assert unquote(password) == unquote_plus(password) == secret
    assert "client_id" not in spec.form and "client_secret" not in spec.form  # one method only
    assert spec.form["code"] == code and spec.form["grant_type"] == "authorization_code"
    assert secret not in repr(spec) and spec.headers["Authorization"] not in repr(spec)
    assert secret not in spec.url


def test_C1_post_and_none_put_the_client_in_the_body_only():
    flow = start(flow="current", endpoints=endpoints())
    secret = secrets.token_urlsafe(16)
    post = oauth.build_token_request(flow, "c", Secret(secret), auth_method="client_secret_post")
    assert "Authorization" not in post.headers
    assert (post.form["client_id"], post.form["client_secret"]) == ("my-client", secret)
    none = oauth.build_token_request(flow, "c", Secret(secret), auth_method="none")
    assert "Authorization" not in none.headers and "client_secret" not in none.form
    assert none.form["client_id"] == "my-client"
    with pytest.raises(ConfigError, match="needs a client secret"):
        oauth.build_token_request(flow, "c", None, auth_method="client_secret_basic")


def test_build_token_request_chooses_from_the_endpoints_when_no_method_is_given():
    flow = start(flow="current", endpoints=endpoints(("client_secret_basic",)))
    spec = oauth.build_token_request(flow, "c", Secret("s"))
    assert "Authorization" in spec.headers and "client_secret" not in spec.form


def test_refresh_request_authenticates_like_the_token_request():
    refresh = secrets.token_urlsafe(20)
    tok = Token(access_token=Secret("a"), refresh_token=Secret(refresh), client_id="cid")
    ep = endpoints(("client_secret_basic",))
    spec = oauth.build_refresh_request(
        ep, tok, "cid", Secret("pw"), auth_method="client_secret_basic"
    )
    assert _basic_parts(spec.headers["Authorization"]) == ("cid", "pw")
    assert spec.form == {"grant_type": "refresh_token", "refresh_token": refresh}
    spec = oauth.build_refresh_request(ep, tok, "cid", None, auth_method="none")
    assert spec.form["client_id"] == "cid" and "Authorization" not in spec.headers


def test_revocation_request_authenticates_like_the_token_request_rfc7009():
    tok = Token(access_token=Secret("acc"), refresh_token=Secret("ref"), client_id="cid")
    ep = endpoints(("client_secret_basic", "client_secret_post"))
    spec = oauth.build_revocation_request(
        ep, tok, "cid", client_secret=Secret("pw"), auth_method="client_secret_basic"
    )
    assert spec is not None and _basic_parts(spec.headers["Authorization"]) == ("cid", "pw")
    assert spec.form == {"token": "ref", "token_type_hint": "refresh_token"}
    # the server lists other methods for revocation: the best one it lists
    ep = endpoints(("client_secret_basic",), ("client_secret_post",))
    spec = oauth.build_revocation_request(
        ep, tok, "cid", client_secret=Secret("pw"), auth_method="client_secret_basic"
    )
    assert spec is not None and "Authorization" not in spec.headers
    assert spec.form["client_secret"] == "pw"
    # a public client revokes with its id only
    spec = oauth.build_revocation_request(ep, tok, "cid", auth_method="none")
    assert spec is not None and spec.form["client_id"] == "cid"
    assert "client_secret" not in spec.form


def test_revocation_auth_method_rules():
    both = endpoints(None, ("client_secret_basic", "none"))
    assert oauth.revocation_auth_method(both, "client_secret_basic") == "client_secret_basic"
    assert oauth.revocation_auth_method(both, "client_secret_post") == "client_secret_basic"
    assert oauth.revocation_auth_method(endpoints(), "client_secret_post") == "client_secret_post"
    assert oauth.revocation_auth_method(endpoints(None, ("none",)), "client_secret_post") == "none"


@pytest.mark.parametrize("code", ["invalid_client", "incorrect_client_credentials"])
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_C4_refused_client_hint_names_the_method_and_the_setting(code, method):
    """A wrong method must not be reported as a wrong id and secret only (issue 10)."""
    with pytest.raises(TokenExchangeError) as info:
        answer(
            status=401,
            body=json.dumps({"error": code}).encode(),
            auth_method=method,
            endpoint=AUTH_SERVER + "/token",
        )
    err = info.value
    other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
    assert err.error == code and err.status == 401
    assert method in err.hint and other in err.hint and "GITBOOK_TOKEN_AUTH_METHOD" in err.hint
    assert err.message.startswith("the sign-in server auth.example.org refused")
    assert "\n" not in str(err)


def test_C4_a_bare_401_from_the_token_endpoint_is_a_client_authentication_failure():
    with pytest.raises(TokenExchangeError) as info:
        answer(status=401, headers={}, body=b"", auth_method="client_secret_basic")
    assert info.value.error == "http_401" and "client_secret_basic" in info.value.hint
    with pytest.raises(TokenExchangeError) as info:
        answer(status=401, body=b'{"error": "invalid_client"}', auth_method="none")
    assert "GITBOOK_CLIENT_SECRET" in info.value.hint and "no client secret" in info.value.hint


def test_messages_name_the_server_unless_it_is_gitbook():
    with pytest.raises(TokenExchangeError) as info:
        answer(status=400, body=b'{"error": "invalid_grant"}')  # issuer api.gitbook.com
    assert info.value.message.startswith("GitBook refused the login")
    with pytest.raises(TokenExchangeError) as info:
        answer(status=400, body=b'{"error": "invalid_grant"}', issuer="127.0.0.1:8123")
    assert info.value.message.startswith("the sign-in server 127.0.0.1:8123 refused")
    _, notes = answer(
        body=token_json(scope="a"), requested_scopes=("a", "b"), endpoint=AUTH_SERVER + "/t"
    )
    assert notes and notes[0].startswith("the sign-in server auth.example.org changed")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://oauth.gitbook.com", "GitBook"),
        ("https://api.gitbook.com/v1", "GitBook"),
        ("https://docs.gitbook.io:8443/x", "GitBook"),
        ("api.gitbook.com", "GitBook"),
        ("https://auth.example.org/token", "the sign-in server auth.example.org"),
        ("http://127.0.0.1:8000/token", "the sign-in server 127.0.0.1:8000"),
        ("https://gitbook.com.evil.example/", "the sign-in server gitbook.com.evil.example"),
        ("https://evilgitbook.com/", "the sign-in server evilgitbook.com"),
        ("", "the sign-in server"),
    ],
)
def test_server_name_says_gitbook_only_for_gitbook_hosts(value, expected):
    assert oauth.server_name(value) == expected


def test_discovery_records_the_client_authentication_methods():
    doc = discovery_doc(
        token_endpoint_auth_methods_supported=["client_secret_basic", "none"],
        revocation_endpoint_auth_methods_supported=["client_secret_basic"],
    )
    ep = oauth.parse_discovery(200, JSON, doc, issuer="https://oauth.gitbook.com")
    assert ep.discovered
    assert ep.token_auth_methods == ("client_secret_basic", "none")
    assert ep.revocation_auth_methods == ("client_secret_basic",)
    fallback = oauth.parse_discovery(404, {}, b"", issuer="https://oauth.gitbook.com")
    assert not fallback.discovered and fallback.token_auth_methods is None
    for bad in ("none", [1], {"a": 1}):
        with pytest.raises(LoginError, match="token_endpoint_auth_methods_supported"):
            oauth.parse_discovery(
                200,
                JSON,
                discovery_doc(token_endpoint_auth_methods_supported=bad),
                issuer="https://oauth.gitbook.com",
            )


def test_discovery_messages_name_the_server():
    with pytest.raises(LoginError) as info:
        oauth.parse_discovery(500, JSON, b"{}", issuer="https://auth.example.org")
    assert "the sign-in server auth.example.org" in info.value.message
    ep = Endpoints(EP.authorize, EP.token, issuer="https://auth.example.org")
    with pytest.raises(ConfigError) as info:
        oauth.build_registration_request(ep, redirect_uris=[REDIRECT])
    assert info.value.message.startswith("the sign-in server auth.example.org offers no")
    assert "GITBOOK_CLIENT_ID" in info.value.hint


def test_registration_refuses_a_client_that_must_authenticate():
    """RFC 7591 3.2.1 lets a server replace the method asked for: then our public client could
    not sign in, so say so before the user approves anything."""
    ok = b'{"client_id": "c1", "token_endpoint_auth_method": "none"}'
    assert oauth.parse_registration_response(201, JSON, ok) == "c1"
    fields = {"client_id": "c1", "client_secret": "x"}
    body = json.dumps({**fields, "token_endpoint_auth_method": "client_secret_basic"}).encode()
    with pytest.raises(TokenExchangeError) as info:
        oauth.parse_registration_response(201, JSON, body, server=AUTH_SERVER + "/register")
    err = info.value
    assert err.message.startswith("the sign-in server auth.example.org registered a client")
    assert "GITBOOK_CLIENT_SECRET" in err.hint and "\n" not in str(err)


def _frame_texts(err: BaseException) -> str:
    """What ``%xmode Verbose`` shows: IPython's rendering plus every local of every frame that
    is not this test module's (E2)."""
    import traceback

    from IPython.core.ultratb import VerboseTB

    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next  # the test's own frames hold the planted value on purpose
    assert tb is not None, "the error was raised in the test itself"
    texts = ["".join(traceback.format_exception(type(err), err, tb))]
    texts += VerboseTB(include_vars=True).structured_traceback(type(err), err, tb)
    while tb is not None:
        texts += [repr(v) for v in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    return "\n".join(texts)


@pytest.mark.parametrize(
    "fields", [{"token_type": "mac"}, {"expires_in": "soon"}, {"refresh_token": "a b"}]
)
def test_E2_a_refused_token_answer_is_in_no_frame_of_the_traceback(fields):
    access = "tok_" + secrets.token_hex(16)
    with pytest.raises(TokenExchangeError) as info:
        answer(body=token_json(access_token=access, **fields))
    assert access not in _frame_texts(info.value)


def test_E2_a_refused_registration_answer_is_in_no_frame_of_the_traceback():
    rat = "rat_" + secrets.token_hex(16)
    body = json.dumps({"client_id": 5, "registration_access_token": rat}).encode()
    with pytest.raises(TokenExchangeError) as info:
        oauth.parse_registration_response(201, JSON, body)
    assert rat not in _frame_texts(info.value)
