"""Where the kernel runs, and the browser-facing address of a port (issue 4 item 3).

Pure functions: each test describes an environment as a plain dict (no patching).
"""

from __future__ import annotations

import types

import pytest

from gitbook_nb.kernel import environment as E

NO_MODULES: dict = {}


def detect(env: dict, modules: dict | None = None) -> E.Environment:
    return E.detect(env, modules=NO_MODULES if modules is None else modules)


def test_local_when_nothing_is_set():
    env = detect({"PATH": "/usr/bin", "HOME": "/home/ada"})
    assert env.kind == "local"
    assert "no Binder, JupyterHub, Colab or VS Code variable" in env.reason
    assert env.service_prefix is None and env.persistence_allowed and not env.remote


def test_binder_from_binder_variables():
    env = detect(
        {
            "BINDER_LAUNCH_HOST": "https://mybinder.org/",
            "JUPYTERHUB_SERVICE_PREFIX": "/user/gitbook-nb-abc123/",
            "JUPYTERHUB_API_TOKEN": "x",
        }
    )
    assert env.kind == "binder"
    assert "BINDER_LAUNCH_HOST" in env.reason
    assert env.service_prefix == "/user/gitbook-nb-abc123/"
    assert env.persistence_allowed is False and env.remote  # F1


@pytest.mark.parametrize("var", ["BINDER_REQUEST", "BINDER_REPO_URL"])
def test_binder_from_other_binder_variables(var):
    env = detect({var: "v2/gh/x/y/HEAD", "JUPYTERHUB_SERVICE_PREFIX": "/user/x/"})
    assert env.kind == "binder" and var in env.reason


def test_jupyterhub_from_service_prefix():
    env = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_API_TOKEN": "t"})
    assert env.kind == "jupyterhub"
    assert "JUPYTERHUB_SERVICE_PREFIX" in env.reason
    assert env.service_prefix == "/user/ada/"
    assert env.persistence_allowed is False  # F1: shared hub


def test_jupyterhub_from_api_token_only():
    env = detect({"JUPYTERHUB_API_TOKEN": "t"})
    assert env.kind == "jupyterhub" and "JUPYTERHUB_API_TOKEN" in env.reason
    assert env.service_prefix is None


def test_colab_from_module():
    env = detect({}, {"google.colab": types.ModuleType("google.colab")})
    assert env.kind == "colab" and "google.colab" in env.reason
    assert env.remote


def test_colab_from_release_tag_wins_over_hub_variables():
    env = detect({"COLAB_RELEASE_TAG": "release-colab_20240626", "JUPYTERHUB_API_TOKEN": "x"})
    assert env.kind == "colab" and "COLAB_RELEASE_TAG" in env.reason


@pytest.mark.parametrize("var", ["VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"])
def test_vscode_local(var):
    env = detect({var: "1234"})
    assert env.kind == "vscode" and var in env.reason
    assert not env.remote
    assert E.listener_possible(env).possible


def test_vscode_from_jpy_parent_pid_and_term_program():
    env = detect({"JPY_PARENT_PID": "42", "TERM_PROGRAM": "vscode"})
    assert env.kind == "vscode" and "JPY_PARENT_PID" in env.reason


def test_jpy_parent_pid_alone_is_local():
    assert detect({"JPY_PARENT_PID": "42"}).kind == "local"


def test_vscode_remote_is_paste_mode():
    env = detect({"VSCODE_PID": "1", "SSH_CONNECTION": "10.0.0.1 1 10.0.0.2 22"})
    assert env.kind == "vscode" and env.remote
    decision = E.listener_possible(env)
    assert not decision.possible and decision.mode == "paste"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("/user/ada/", "/user/ada/"),
        ("user/ada", "/user/ada/"),
        ("//user//ada//", "/user/ada/"),
        ("/jupyter/user/x/", "/jupyter/user/x/"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_prefix_normalised_with_one_slash_between_parts(raw, norm):
    assert E.normalise_prefix(raw) == norm


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/user/ada/", "/user/ada/proxy/8123/callback"),
        ("/user/ada", "/user/ada/proxy/8123/callback"),
        ("/jupyter/user/x/", "/jupyter/user/x/proxy/8123/callback"),
        ("/", "/proxy/8123/callback"),
    ],
)
def test_proxy_address_for_a_base_url_with_a_prefix(prefix, expected):
    env = detect({"JUPYTERHUB_SERVICE_PREFIX": prefix})
    assert E.browser_url_for_port(8123, "/callback", env) == expected
    assert E.browser_url_for_port(8123, "callback", env) == expected


def test_local_browser_url_for_port():
    env = detect({})
    assert E.browser_url_for_port(8123, "/callback", env) == "http://127.0.0.1:8123/callback"
    assert E.browser_url_for_port(8123, env=env) == "http://127.0.0.1:8123/"


def test_browser_url_maps_loopback_urls_only():
    env = detect({"BINDER_REQUEST": "x", "JUPYTERHUB_SERVICE_PREFIX": "/jupyter/user/x/"})
    url = "http://127.0.0.1:9000/oauth/authorize?client_id=a&state=b"
    expected = "/jupyter/user/x/proxy/9000/oauth/authorize?client_id=a&state=b"
    assert E.browser_url(url, env) == expected
    assert E.browser_url("http://localhost:9000/", env) == "/jupyter/user/x/proxy/9000/"
    assert E.browser_url("http://[::1]:9000/a", env) == "/jupyter/user/x/proxy/9000/a"
    for other in (
        "https://api.gitbook.com/oauth/authorize?x=1",
        "http://10.0.0.1:9000/a",
        "http://127.0.0.1/no-port",
        "http://localhost:80@evil.example/",
    ):
        assert E.browser_url(other, env) == other
    assert E.browser_url(url, detect({})) == url  # local: unchanged


def test_local_url_inverts_browser_url():
    env = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    url = "http://127.0.0.1:9000/oauth/authorize?state=s"
    assert E.local_url(E.browser_url(url, env), env) == url
    assert E.local_url("/user/ada/proxy/x/y", env) == "/user/ada/proxy/x/y"
    assert E.local_url("https://example.org/a", env) == "https://example.org/a"


def test_A9_listener_decisions():
    yes = lambda name: True  # noqa: E731
    no = lambda name: False  # noqa: E731
    assert E.listener_possible(detect({})).mode == "local"
    hub = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    d = E.listener_possible(hub, module_available=yes)
    assert d.possible and d.mode == "proxy" and "jupyter-server-proxy" in d.reason
    d = E.listener_possible(hub, module_available=no)
    assert not d.possible and d.mode == "paste" and "not installed" in d.reason
    d = E.listener_possible(detect({"JUPYTERHUB_API_TOKEN": "t"}), module_available=yes)
    assert not d.possible and "JUPYTERHUB_SERVICE_PREFIX" in d.reason
    d = E.listener_possible(detect({"COLAB_RELEASE_TAG": "r"}), module_available=yes)
    assert not d.possible and "Colab" in d.reason


def test_real_module_check_finds_jupyter_server_proxy():
    hub = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert E.listener_possible(hub).mode == "proxy"  # it is a test dependency


def test_bad_port_refused():
    with pytest.raises(ValueError):
        E.proxy_path(0, prefix="/")
    with pytest.raises(ValueError):
        E.proxy_path(70000, prefix="/")


def test_A9_login_mode_for_each_kind_of_login():
    local, hub = detect({}), detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    yes = lambda name: True  # noqa: E731
    assert E.login_mode(local, chooses_redirect=True).mode == "local"
    assert E.login_mode(hub, chooses_redirect=True, module_available=yes).mode == "proxy"
    # a registered legacy app: its fixed redirect URI decides
    m = E.login_mode(local, chooses_redirect=False, redirect_uri="http://127.0.0.1:8765/cb")
    assert m == ("local", m.reason, ("127.0.0.1", 8765, "/cb")) and "8765" in m.reason
    m = E.login_mode(local, chooses_redirect=False, redirect_uri="https://app.example/cb")
    assert m.mode == "paste" and "fixed by its registration" in m.reason and m.bind is None
    m = E.login_mode(
        hub, chooses_redirect=False, redirect_uri="http://127.0.0.1:8765/cb", module_available=yes
    )
    assert m.mode == "paste"  # the browser on a hub cannot reach the kernel's 127.0.0.1
    assert E.login_mode(detect({"COLAB_RELEASE_TAG": "r"}), chooses_redirect=True).mode == "paste"


def test_fixed_loopback():
    assert E.fixed_loopback("http://[::1]:9/x") == ("::1", 9, "/x")
    assert E.fixed_loopback("http://127.0.0.1:9") == ("127.0.0.1", 9, "/")
    for other in (
        None,
        "",
        "https://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://127.0.0.1/x",
        "http://127.0.0.1:bad/x",
    ):
        assert E.fixed_loopback(other) is None
