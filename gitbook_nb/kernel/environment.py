"""Where the kernel runs, and how the user's browser reaches a port on the kernel's machine.

The login widget needs two facts it cannot ask the browser for: whether the browser runs on
the kernel's machine (then ``http://127.0.0.1:PORT`` works and a loopback listener can catch
the OAuth redirect), and, when it does not (Binder, JupyterHub), the path under which the
Jupyter server proxies local ports (``jupyter-server-proxy``: ``{prefix}proxy/{port}/...``).

Stdlib only and pure: every function takes the environment mapping (and the module table) as
arguments, so tests describe an environment as a dict instead of patching ``os.environ``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = [
    "KINDS",
    "Decision",
    "Environment",
    "LoginMode",
    "browser_url",
    "browser_url_for_port",
    "detect",
    "fixed_loopback",
    "login_mode",
    "listener_possible",
    "local_url",
    "normalise_prefix",
    "proxy_path",
]

KINDS = ("local", "binder", "jupyterhub", "colab", "vscode")

# Hosts that name "this machine" in a URL the kernel builds for itself.
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Environment:
    """Where the kernel runs.

    ``reason`` says in words which variable decided, so ``status()`` can explain a choice the
    user might not expect. ``service_prefix`` is the Jupyter server's path prefix when known
    (JupyterHub and Binder set ``JUPYTERHUB_SERVICE_PREFIX``), normalised to ``/.../``.
    ``persistence_allowed`` is False where the machine is shared or thrown away (F1).
    ``remote`` is True when the user's browser is not on the kernel's machine.
    """

    kind: str
    reason: str
    service_prefix: str | None = None
    persistence_allowed: bool = True
    remote: bool = False


class Decision(NamedTuple):
    """Whether a loopback listener can receive the redirect, and why (SECURITY.md A9)."""

    possible: bool
    reason: str
    mode: str  # "local" | "proxy" | "paste"


def normalise_prefix(prefix: str | None) -> str:
    """``user/ada`` / ``/user/ada`` / ``//user/ada//`` -> ``/user/ada/``; empty -> ``/``."""
    parts = [p for p in (prefix or "").split("/") if p]
    return "/" + "".join(f"{p}/" for p in parts)


def _first_set(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if environ.get(name):
            return name
    return None


def detect(
    environ: Mapping[str, str] | None = None, *, modules: Mapping[str, Any] | None = None
) -> Environment:
    """Decide where the kernel runs from its environment variables (and loaded modules).

    Order matters: Colab and Binder also look like other things (Binder runs JupyterHub), so
    the most specific answer is checked first.
    """
    env = os.environ if environ is None else environ
    mods = sys.modules if modules is None else modules
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    norm = normalise_prefix(prefix) if prefix else None

    if "google.colab" in mods:
        return Environment(
            "colab",
            "the google.colab module is loaded (Google Colab)",
            None,
            persistence_allowed=False,
            remote=True,
        )
    if env.get("COLAB_RELEASE_TAG"):
        return Environment(
            "colab",
            "COLAB_RELEASE_TAG is set (Google Colab)",
            None,
            persistence_allowed=False,
            remote=True,
        )

    binder_var = _first_set(env, ("BINDER_LAUNCH_HOST", "BINDER_REQUEST", "BINDER_REPO_URL"))
    if binder_var:
        # Binder is a public, throw-away JupyterHub: never keep tokens on disk there (F1).
        return Environment(
            "binder",
            f"{binder_var} is set (a Binder session)",
            norm,
            persistence_allowed=False,
            remote=True,
        )

    hub_var = _first_set(env, ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN"))
    if hub_var:
        # A hub's machine is shared by many users: persistence is opt-in and refused by
        # default (F1); the browser reaches the kernel only through the hub's proxy.
        return Environment(
            "jupyterhub",
            f"{hub_var} is set (a JupyterHub server)",
            norm,
            persistence_allowed=False,
            remote=True,
        )

    vs_var = _first_set(env, ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"))
    if (
        vs_var is None
        and env.get("JPY_PARENT_PID")
        and (
            "vscode" in env.get("TERM_PROGRAM", "").lower()
            or any(k.startswith("VSCODE_") for k in env)
        )
    ):
        vs_var = "JPY_PARENT_PID with a VS Code variable"
    if vs_var:
        # VS Code attached to a container, Codespace or SSH host runs the kernel elsewhere:
        # the browser that opens the sign-in link is on the user's machine.
        remote_var = _first_set(env, ("CODESPACES", "REMOTE_CONTAINERS", "SSH_CONNECTION"))
        if remote_var:
            return Environment(
                "vscode",
                f"{vs_var} is set (VS Code), and {remote_var} says "
                "the kernel runs on another machine",
                None,
                persistence_allowed=True,
                remote=True,
            )
        return Environment("vscode", f"{vs_var} is set (VS Code on this machine)", None)

    return Environment(
        "local",
        "no Binder, JupyterHub, Colab or VS Code variable is set (a local Jupyter server)",
        None,
    )


def proxy_path(port: int, path: str = "/", *, prefix: str | None) -> str:
    """``{prefix}proxy/{port}/{path}``, relative to the Jupyter server's origin.

    Exactly one slash between parts, whatever the prefix and path look like.
    """
    if not 0 < int(port) < 65536:
        raise ValueError(f"not a TCP port: {port!r}")
    rest = path.lstrip("/")
    return f"{normalise_prefix(prefix)}proxy/{int(port)}/{rest}"


def browser_url_for_port(port: int, path: str = "/", env: Environment | None = None) -> str:
    """The address the user's browser should open to reach ``port`` on the kernel's machine.

    Local kernels: ``http://127.0.0.1:PORT/path``. Hub and Binder: the relative path through
    jupyter-server-proxy (a relative link resolves against the page's own origin, which the
    kernel does not know).
    """
    env = env or detect()
    if env.kind in ("binder", "jupyterhub") and env.service_prefix:
        return proxy_path(port, path, prefix=env.service_prefix)
    return f"http://127.0.0.1:{int(port)}/{path.lstrip('/')}"


def browser_url(local_url: str, env: Environment | None = None) -> str:
    """Map ``http://127.0.0.1:PORT/...`` (or localhost, [::1]) to its browser-facing form.

    Any other URL (``https://app.gitbook.com/...``) is returned unchanged.
    """
    env = env or detect()
    try:
        parts = urlsplit(local_url)
        port = parts.port
    except ValueError:
        return local_url
    if parts.scheme != "http" or (parts.hostname or "") not in _LOOPBACK_HOSTS or not port:
        return local_url
    if env.kind not in ("binder", "jupyterhub") or not env.service_prefix:
        return local_url
    out = proxy_path(port, parts.path or "/", prefix=env.service_prefix)
    if parts.query:
        out += "?" + parts.query
    return out


def local_url(url: str, env: Environment | None = None) -> str:
    """The inverse of :func:`browser_url`: ``{prefix}proxy/PORT/rest`` -> loopback URL.

    For the few places where the kernel itself must open an address it gave the browser (the
    sandbox's programmatic consent in tutorials). Other URLs are returned unchanged.
    """
    env = env or detect()
    if not env.service_prefix:
        return url
    head = f"{normalise_prefix(env.service_prefix)}proxy/"
    if not url.startswith(head):
        return url
    port, sep, rest = url[len(head) :].partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return url
    return f"http://127.0.0.1:{int(port)}/{rest}" if sep else f"http://127.0.0.1:{int(port)}/"


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def listener_possible(
    env: Environment | None = None,
    *,
    module_available: Callable[[str], bool] = _module_available,
) -> Decision:
    """A9: use a loopback listener only where the user's browser can reach it.

    The proxy check looks at the kernel's environment: on a hub the Jupyter server usually
    shares it, and when it does not, the link leads to a 404 and paste remains available.
    """
    env = env or detect()
    if env.kind == "local":
        return Decision(True, "the browser runs on this machine", "local")
    if env.kind == "vscode" and not env.remote:
        return Decision(True, "VS Code runs on this machine", "local")
    if env.kind == "vscode":
        return Decision(
            False,
            "VS Code runs this kernel on another machine, which the browser cannot reach directly",
            "paste",
        )
    if env.kind == "colab":
        return Decision(
            False, "Colab's browser cannot reach ports on the kernel's machine", "paste"
        )
    where = "Binder" if env.kind == "binder" else "JupyterHub"
    if not env.service_prefix:
        return Decision(
            False,
            f"{where} without JUPYTERHUB_SERVICE_PREFIX: the Jupyter server's address is unknown",
            "paste",
        )
    if not module_available("jupyter_server_proxy"):
        return Decision(
            False,
            f"{where}: jupyter-server-proxy is not installed, so the "
            "browser cannot reach this kernel's ports",
            "paste",
        )
    return Decision(True, f"{where} with jupyter-server-proxy installed", "proxy")


class LoginMode(NamedTuple):
    """How a login's redirect comes back: ``mode`` with ``reason`` in words; ``bind`` is the
    (host, port, path) a listener must use when the redirect URI is fixed, else None."""

    mode: str  # "local" | "proxy" | "paste"
    reason: str
    bind: tuple[str, int, str] | None = None


def fixed_loopback(uri: str | None) -> tuple[str, int, str] | None:
    """``http://127.0.0.1:PORT/path`` (or ``[::1]``) -> (host, port, path); else None."""
    if not uri:
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in ("127.0.0.1", "::1") or not port:
        return None
    return host, port, parts.path or "/"


def login_mode(
    env: Environment,
    *,
    chooses_redirect: bool,
    redirect_uri: str | None = None,
    module_available: Callable[[str], bool] = _module_available,
) -> LoginMode:
    """Pick listener, proxy or paste for one login (A9), and say why.

    ``chooses_redirect``: the client may pick its redirect URI (current flow: dynamic
    registration; the sandbox registers any). Otherwise (a registered legacy app) only a fixed
    loopback redirect URI can be caught, and only on the kernel's own machine.
    """
    decision = listener_possible(env, module_available=module_available)
    if not decision.possible:
        return LoginMode("paste", decision.reason)
    if chooses_redirect:
        return LoginMode(decision.mode, decision.reason)
    bind = fixed_loopback(redirect_uri)
    if bind is not None and decision.mode == "local":
        return LoginMode(
            "local", f"the app's redirect address {redirect_uri} is on this machine", bind
        )
    return LoginMode(
        "paste",
        "the legacy app's redirect address is fixed by its registration "
        "and does not lead back to this kernel",
    )
