"""Settings: profiles, the one precedence order, environment names, validation (D1, D2, A7, E5)."""

from __future__ import annotations

import dataclasses
import pickle
import secrets

import pytest

from gitbook_nb.protocol import config
from gitbook_nb.protocol.config import PROFILES, SANDBOX_MARKER, Settings, resolve, with_sandbox
from gitbook_nb.errors import ConfigError
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
    assert s.authorize_url == "https://api.gitbook.com/oauth/authorize"
