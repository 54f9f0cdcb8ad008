"""Settings: profiles, the one precedence order, environment names, validation (D1, D2, A7, E5)."""

from __future__ import annotations

import dataclasses
import pickle
import secrets

import pytest

from gitbook_nb.errors import ConfigError
from gitbook_nb.protocol import config
from gitbook_nb.protocol.config import PROFILES, SANDBOX_MARKER, Settings, resolve, with_sandbox
from gitbook_nb.protocol.tokens import Secret


def test_default_profile_is_current_gitbook():
    s = resolve(environ={})
    assert s.profile == "current"
    assert s.flow == "current"
    assert s.api_url == "https://api.gitbook.com/v1"
    assert s.oauth_url == "https://oauth.gitbook.com"
    assert s.scopes == ("user:read", "organization:read", "space:read")
    assert s.user_agent.startswith("gitbook_nb/")
    assert "python-requests/" in s.user_agent


def test_legacy_profile_endpoints():
    s = resolve(overrides={"profile": "legacy"}, environ={})
    assert (s.flow, s.api_url) == ("legacy", "https://api.gitbook.com")
    assert s.authorize_url == "https://api.gitbook.com/oauth/authorize"
    assert s.token_url == "https://api.gitbook.com/oauth/access_token"
    assert s.scopes == ()


@pytest.mark.parametrize("name,flow", [("sandbox", "current"), ("sandbox-legacy", "legacy")])
def test_sandbox_profiles_carry_the_marker(name, flow):
    s = resolve(overrides={"profile": name}, environ={})
    assert s.flow == flow
    assert s.api_url == SANDBOX_MARKER
    assert config.is_sandbox(s) and s.is_sandbox


def test_with_sandbox_fills_urls_current():
    s = resolve(overrides={"profile": "sandbox"}, environ={})
    filled = with_sandbox(
        s,
        "http://127.0.0.1:8123",
        client_id=None,
        client_secret=None,
        redirect_uri="http://127.0.0.1:8123/callback",
    )
    assert filled.api_url == "http://127.0.0.1:8123/v1"
    assert filled.oauth_url == "http://127.0.0.1:8123"
    assert filled.redirect_uri == "http://127.0.0.1:8123/callback"
    assert not config.is_sandbox(filled)


def test_with_sandbox_fills_urls_legacy_and_wraps_secret():
    s = resolve(overrides={"profile": "sandbox-legacy"}, environ={})
    secret = secrets.token_urlsafe(16)
    filled = with_sandbox(
        s,
        "http://127.0.0.1:8123/",
        client_id="cid",
        client_secret=secret,
        redirect_uri="http://127.0.0.1:8123/callback",
    )
    assert filled.api_url == "http://127.0.0.1:8123"
    assert filled.authorize_url == "http://127.0.0.1:8123/oauth/authorize"
    assert filled.token_url == "http://127.0.0.1:8123/oauth/access_token"
    assert filled.client_id == "cid"
    assert isinstance(filled.client_secret, Secret)
    assert filled.client_secret.reveal() == secret
    assert secret not in repr(filled)


def test_precedence_argument_over_configure_over_env_over_profile():
    env = {"GITBOOK_API_URL": "https://env.example/v1", "GITBOOK_CLIENT_ID": "env-id"}
    s = resolve(environ=env)
    assert s.api_url == "https://env.example/v1" and s.client_id == "env-id"
    s = resolve(configured={"api_url": "https://conf.example/v1"}, environ=env)
    assert s.api_url == "https://conf.example/v1" and s.client_id == "env-id"
    s = resolve(
        overrides={"api_url": "https://arg.example/v1"},
        configured={"api_url": "https://conf.example/v1"},
        environ=env,
    )
    assert s.api_url == "https://arg.example/v1"


def test_profile_precedence_and_env_profile():
    assert resolve(environ={"GITBOOK_PROFILE": "legacy"}).profile == "legacy"
    s = resolve(configured={"profile": "current"}, environ={"GITBOOK_PROFILE": "legacy"})
    assert s.profile == "current" and s.api_url.endswith("/v1")
    # an environment URL still beats the profile's default URL
    s = resolve(environ={"GITBOOK_PROFILE": "legacy", "GITBOOK_API_URL": "https://x.example"})
    assert s.flow == "legacy" and s.api_url == "https://x.example"


def test_environment_names():
    secret = secrets.token_urlsafe(20)
    env = {
        "GITBOOK_CLIENT_ID": "abc",
        "GITBOOK_CLIENT_SECRET": secret,
        "GITBOOK_REDIRECT_URI": "http://127.0.0.1:9999/callback",
        "GITBOOK_OAUTH_URL": "https://oauth.example",
        "GITBOOK_SCOPES": "space:read, user:read space:read",
        "GITBOOK_TOKEN_STORE": "file",
    }
    s = resolve(environ=env)
    assert s.client_id == "abc"
    assert isinstance(s.client_secret, Secret) and s.client_secret.reveal() == secret
    assert s.redirect_uri == "http://127.0.0.1:9999/callback"
    assert s.oauth_url == "https://oauth.example"
    assert s.scopes == ("space:read", "user:read")
    assert s.token_store == "file"
    assert secret not in repr(s) and secret not in str(s)


def test_E5_token_from_env_is_wrapped_and_not_a_setting():
    tok = secrets.token_urlsafe(24)
    wrapped = config.token_from_env({"GITBOOK_TOKEN": tok})
    assert isinstance(wrapped, Secret) and wrapped.reveal() == tok
    assert config.token_from_env({"GITBOOK_TOKEN": "  "}) is None
    assert config.token_from_env({}) is None
    assert tok not in repr(resolve(environ={"GITBOOK_TOKEN": tok}))


@pytest.mark.parametrize("name", ["token", "access_token", "Access-Token"])
def test_E5_configure_refuses_a_token(name):
    with pytest.raises(ConfigError) as info:
        resolve(configured={name: secrets.token_urlsafe(12)}, environ={})
    assert "getpass" in str(info.value) or "GITBOOK_TOKEN" in str(info.value)


def test_E5_plain_client_secret_is_wrapped_at_once():
    secret = secrets.token_urlsafe(16)
    s = resolve(configured={"client_secret": secret}, environ={})
    assert isinstance(s.client_secret, Secret)
    assert secret not in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)


@pytest.mark.parametrize("name", ["verify", "insecure", "ssl_verify", "verify_ssl"])
def test_D2_no_setting_turns_tls_verification_off(name):
    with pytest.raises(ConfigError, match="TLS verification cannot be turned off"):
        resolve(overrides={name: False}, environ={})
    assert "verify" not in {f.name for f in dataclasses.fields(Settings)}


def test_D2_no_environment_variable_is_a_tls_switch():
    env = {
        "GITBOOK_VERIFY": "0",
        "GITBOOK_INSECURE": "1",
        "PYTHONHTTPSVERIFY": "0",
        "CURL_CA_BUNDLE": "",
        "REQUESTS_CA_BUNDLE": "",
    }
    s = resolve(environ=env)
    assert not any("verify" in f.name or "insecure" in f.name for f in dataclasses.fields(s))


def test_unknown_setting_lists_valid_ones():
    with pytest.raises(ConfigError) as info:
        resolve(configured={"api_ulr": "https://x.example"}, environ={})
    assert "api_ulr" in str(info.value)
    assert "api_url" in info.value.hint and "read_timeout" in info.value.hint


def test_numbers_are_coerced_and_checked():
    s = resolve(
        configured={"read_timeout": "12.5", "max_retries": "2", "max_pages": 7.0}, environ={}
    )
    assert (s.read_timeout, s.max_retries, s.max_pages) == (12.5, 2, 7)
    assert isinstance(s.max_retries, int)
    for bad in (
        {"read_timeout": "fast"},
        {"read_timeout": -1},
        {"max_retries": 99},
        {"max_pages": 0},
        {"page_limit": 5000},
        {"max_body": 1.5},
        {"connect_timeout": True},
        {"deadline": float("nan")},
        {"read_timeout": 500},
    ):  # over the 120 s deadline
        with pytest.raises(ConfigError):
            resolve(configured=bad, environ={})


@pytest.mark.parametrize(
    "url",
    [
        "http://api.gitbook.com/v1",  # http to a non-loopback host
        "http://localhost:80@evil.example/",  # userinfo trick
        "https://user:pw@api.gitbook.com",  # userinfo
        "https://api.gitbook.com/v1#frag",  # fragment
        "ftp://api.gitbook.com",  # scheme
        "https://api.gitbook.com/v 1",  # whitespace
        "javascript:alert(1)",
    ],
)
def test_D1_bad_api_urls_refused(url):
    with pytest.raises(ConfigError):
        resolve(overrides={"api_url": url}, environ={})
    with pytest.raises(ConfigError):
        resolve(environ={"GITBOOK_API_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://api.gitbook.com/v1",
        "http://127.0.0.1:8080/v1",
        "http://localhost:9000",
        "http://[::1]:9000/v1",
    ],
)
def test_D1_good_api_urls_accepted(url):
    assert resolve(overrides={"api_url": url}, environ={}).api_url == url


def test_D1_every_url_setting_is_validated():
    for name in ("oauth_url", "authorize_url", "token_url"):
        with pytest.raises(ConfigError):
            resolve(overrides={name: "http://evil.example/x"}, environ={})


@pytest.mark.parametrize(
    "uri,ok",
    [
        ("http://127.0.0.1:8765/callback", True),
        ("http://[::1]:8765/callback", True),
        ("https://example.org/cb", True),
        ("http://localhost:8765/callback", False),  # A7: an IP literal, not a name
        ("http://example.org/cb", False),
    ],
)
def test_A7_redirect_uri(uri, ok):
    if ok:
        assert resolve(overrides={"redirect_uri": uri}, environ={}).redirect_uri == uri
    else:
        with pytest.raises(ConfigError):
            resolve(overrides={"redirect_uri": uri}, environ={})


def test_environment_error_names_the_variable_but_not_a_secret():
    with pytest.raises(ConfigError) as info:
        resolve(environ={"GITBOOK_API_URL": "http://evil.example"})
    assert "environment" in str(info.value)


def test_unknown_profile_and_flow():
    with pytest.raises(ConfigError, match="profiles: current, legacy"):
        resolve(overrides={"profile": "nope"}, environ={})
    with pytest.raises(ConfigError):
        resolve(overrides={"flow": "implicit"}, environ={})
    with pytest.raises(ConfigError):
        resolve(overrides={"token_store": "plaintext"}, environ={})


def test_scopes_validation():
    assert resolve(overrides={"scopes": ["a:b", "c"]}, environ={}).scopes == ("a:b", "c")
    with pytest.raises(ConfigError):
        resolve(overrides={"scopes": "space:read <script>"}, environ={})


def test_settings_are_frozen_and_hashable():
    s = resolve(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.api_url = "https://evil.example"  # type: ignore[misc]
    assert hash(s) == hash(resolve(environ={}))  # the session keys clients by Settings


def test_profiles_table_is_complete():
    assert set(PROFILES) == {"current", "legacy", "sandbox", "sandbox-legacy"}
    names = {f.name for f in dataclasses.fields(Settings)}
    for values in PROFILES.values():
        assert set(values) <= names


def test_user_agent_can_be_set_but_must_be_printable():
    assert resolve(overrides={"user_agent": "mybot/1.0"}, environ={}).user_agent == "mybot/1.0"
    with pytest.raises(ConfigError):
        resolve(overrides={"user_agent": "bad\r\nX-Injected: 1"}, environ={})


def test_config_imports_no_http_library():
    import subprocess
    import sys

    code = (
        "import sys, gitbook_nb.protocol.config; "
        "print(any(m in sys.modules for m in ('requests', 'urllib3', 'IPython')))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed command
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_profile_chosen_by_configure_replaces_environment_urls():
    """A profile picked above the environment brings its own URLs and clears client settings."""
    environ = {
        "GITBOOK_API_URL": "https://gitbook.example.com/v1",
        "GITBOOK_CLIENT_ID": "real-app",
        "GITBOOK_REDIRECT_URI": "https://app.example.com/callback",
    }
    s = config.resolve(configured={"profile": "sandbox"}, environ=environ)
    assert s.api_url == config.SANDBOX_MARKER and s.oauth_url == config.SANDBOX_MARKER
    assert s.client_id is None and s.redirect_uri is None
    # the environment still applies when the profile itself comes from the environment
    s = config.resolve(environ={**environ, "GITBOOK_PROFILE": "current"})
    assert s.api_url == "https://gitbook.example.com/v1" and s.client_id == "real-app"
    # an explicit value next to the profile wins over the profile
    s = config.resolve(
        configured={"profile": "legacy", "api_url": "https://legacy.example.com"}, environ=environ
    )
    assert s.api_url == "https://legacy.example.com"
    # the legacy OAuth endpoints follow the legacy API URL (issue: they went to api.gitbook.com)
    assert s.authorize_url == "https://legacy.example.com/oauth/authorize"


# ------------------------------------------------------------------ issue 10: sign-in settings


def test_token_auth_method_setting_and_environment():
    assert resolve(environ={}).token_auth_method is None  # auto
    env = {"GITBOOK_TOKEN_AUTH_METHOD": "client_secret_basic"}
    assert resolve(environ=env).token_auth_method == "client_secret_basic"
    s = resolve(configured={"token_auth_method": "client_secret_post"}, environ=env)
    assert s.token_auth_method == "client_secret_post"
    assert resolve(overrides={"token_auth_method": "auto"}, environ=env).token_auth_method is None
    s = resolve(overrides={"token_auth_method": " none "}, environ={})
    assert s.token_auth_method == "none"
    with pytest.raises(ConfigError, match="client_secret_basic"):
        resolve(overrides={"token_auth_method": "private_key_jwt"}, environ={})
    with pytest.raises(ConfigError, match="environment"):
        resolve(environ={"GITBOOK_TOKEN_AUTH_METHOD": "basic"})


def test_legacy_oauth_urls_follow_the_legacy_api_url():
    """Issue 10: with GITBOOK_API_URL pointed elsewhere, the code and secret go there too."""
    env = {"GITBOOK_PROFILE": "legacy", "GITBOOK_API_URL": "https://gb.example.org/api/"}
    s = resolve(environ=env)
    assert s.api_url == "https://gb.example.org/api"
    assert s.authorize_url == "https://gb.example.org/api/oauth/authorize"
    assert s.token_url == "https://gb.example.org/api/oauth/access_token"
    s = resolve(configured={"api_url": "http://127.0.0.1:8123"}, environ=env)
    assert s.token_url == "http://127.0.0.1:8123/oauth/access_token"
    assert config.legacy_oauth_urls("https://h.example/x?y=1") == {
        "authorize_url": "https://h.example/x/oauth/authorize",
        "token_url": "https://h.example/x/oauth/access_token",
    }
    # the current flow discovers its endpoints: nothing is made up for it
    s = resolve(environ={"GITBOOK_API_URL": "https://gb.example.org/v1"})
    assert s.authorize_url is None and s.token_url is None


def test_legacy_oauth_urls_set_explicitly_win_at_any_layer():
    env = {
        "GITBOOK_PROFILE": "legacy",
        "GITBOOK_API_URL": "https://gb.example.org",
        "GITBOOK_AUTHORIZE_URL": "https://login.example.org/authorize",
        "GITBOOK_TOKEN_URL": "https://login.example.org/token",
    }
    s = resolve(environ=env)
    assert s.authorize_url == "https://login.example.org/authorize"
    assert s.token_url == "https://login.example.org/token"
    # an API URL set above them does not move explicit endpoints
    s = resolve(configured={"api_url": "https://other.example.org"}, environ=env)
    assert s.authorize_url == "https://login.example.org/authorize"
    # one set, the other follows the API
    s = resolve(environ={k: v for k, v in env.items() if k != "GITBOOK_TOKEN_URL"})
    assert s.token_url == "https://gb.example.org/oauth/access_token"
    # arguments beat configure() beat the environment, as for every setting
    s = resolve(
        overrides={"token_url": "https://arg.example.org/token"},
        configured={"token_url": "https://conf.example.org/token"},
        environ=env,
    )
    assert s.token_url == "https://arg.example.org/token"
    # a profile chosen above the environment brings its own URLs (and so its derived ones)
    s = resolve(configured={"profile": "legacy"}, environ=env)
    assert s.authorize_url == "https://api.gitbook.com/oauth/authorize"


@pytest.mark.parametrize(
    "var,value",
    [
        ("GITBOOK_AUTHORIZE_URL", "http://login.example.org/authorize"),  # D1: https only
        ("GITBOOK_TOKEN_URL", "https://user:pw@login.example.org/token"),  # D1: no userinfo
        ("GITBOOK_TOKEN_URL", "http://localhost:80@evil.example/token"),  # D1: parsed, not prefix
        ("GITBOOK_AUTHORIZE_URL", "https://login.example.org/a#frag"),  # A6: no fragment
    ],
)
def test_D1_legacy_endpoint_variables_are_validated(var, value):
    with pytest.raises(ConfigError) as info:
        resolve(environ={"GITBOOK_PROFILE": "legacy", var: value})
    assert "environment" in info.value.message


def test_sandbox_legacy_markers_are_not_derived_from():
    s = resolve(overrides={"profile": "sandbox-legacy"}, environ={})
    assert s.authorize_url == SANDBOX_MARKER and s.token_url == SANDBOX_MARKER


def test_current_flow_takes_a_pre_registered_confidential_client():
    """A server without dynamic registration: the current profile keeps a configured id and
    secret (the sandbox profiles still clear them, see above)."""
    secret = secrets.token_urlsafe(16)
    env = {
        "GITBOOK_OAUTH_URL": "https://auth.example.org",
        "GITBOOK_CLIENT_ID": "app-1",
        "GITBOOK_CLIENT_SECRET": secret,
        "GITBOOK_TOKEN_AUTH_METHOD": "client_secret_basic",
    }
    s = resolve(environ=env)
    assert (s.flow, s.client_id, s.token_auth_method) == ("current", "app-1", "client_secret_basic")
    assert isinstance(s.client_secret, Secret) and s.client_secret.reveal() == secret


def test_E1_normalize_returns_secrets_only_as_secret_and_is_idempotent():
    secret = secrets.token_urlsafe(16)
    changes = {"client_secret": f"  {secret} ", "api_url": "https://x.example/v1/", "scopes": "a b"}
    once = config.normalize(changes)
    assert isinstance(once["client_secret"], Secret) and once["client_secret"].reveal() == secret
    assert secret not in repr(once) and secret not in str(once)
    assert config.normalize(once) == once
    assert config.normalize({"client_secret": "   "}) == {"client_secret": None}


def test_E1_seal_secrets_wraps_without_checking():
    secret = secrets.token_urlsafe(16)
    sealed = config.seal_secrets({"Client-Secret": secret, "token": secret, "bogus": 5})
    assert isinstance(sealed["Client-Secret"], Secret) and isinstance(sealed["token"], Secret)
    assert sealed["bogus"] == 5 and secret not in repr(sealed)


def _verbose_texts(err: BaseException) -> str:
    """What ``%xmode Verbose`` prints from the first library frame on (E2)."""
    import traceback

    from IPython.core.ultratb import VerboseTB

    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    assert tb is not None
    texts = ["".join(traceback.format_exception(type(err), err, tb))]
    texts += VerboseTB(include_vars=True).structured_traceback(type(err), err, tb)
    while tb is not None:
        texts += [repr(v) for v in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    return "\n".join(texts)


@pytest.mark.parametrize(
    "bad",
    [
        {"configured": {"api_url": "http://evil.example"}},
        {"configured": {"bogus": 1}},
        {"overrides": {"token": "planted"}},
        {"environ": {"GITBOOK_API_URL": "http://evil.example"}},
        {"configured": {"connect_timeout": 50, "deadline": 10}},
    ],
)
def test_E2_a_config_error_traceback_holds_no_secret(bad):
    """A ConfigError raised while a secret sits in configure(), the environment or an argument
    shows none of them under %xmode Verbose (os.environ is never in a frame that raises)."""
    secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    environ = {"GITBOOK_CLIENT_SECRET": secret, "GITBOOK_TOKEN": token, **bad.get("environ", {})}
    configured = {"client_secret": secret, **bad.get("configured", {})}
    overrides = {k: (token if v == "planted" else v) for k, v in bad.get("overrides", {}).items()}
    with pytest.raises(ConfigError) as info:
        resolve(overrides=overrides, configured=configured, environ=environ)
    text = _verbose_texts(info.value)
    assert secret not in text and token not in text
