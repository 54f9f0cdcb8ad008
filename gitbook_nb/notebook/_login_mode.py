"""How a login's redirect comes back: the mode and the loopback listener it needs.

Split from :mod:`gitbook_nb.notebook._login_flow` (one concept per module). The modes are
``local`` (a loopback listener catches the redirect), ``proxy`` (the same listener, reached
through the Jupyter server's proxy), ``paste`` (the person pastes the address) and ``env``
(GITBOOK_TOKEN is set: nothing to sign in). :func:`gitbook_nb.kernel.environment.login_mode`
decides between the first three (A9); this module wires its answer to a :class:`Listener`.
No ipywidgets here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from gitbook_nb.errors import GitBookError
from gitbook_nb.kernel import environment
from gitbook_nb.notebook._listener import Listener, OnRedirect, OnStart

__all__ = [
    "MODE_TEXT",
    "begun_line",
    "choose_mode",
    "env_token_outcome",
    "local_listener",
    "mode_line",
    "proxy_listener",
    "registered_bind",
]

MODE_TEXT = {
    "local": "Local mode: this notebook catches GitBook's answer, no paste needed",
    "proxy": "Proxy mode: the answer comes back through the Jupyter server, no paste needed",
}
Bind = tuple[str, int, str]  # (host, port, path) a listener binds to


def env_token_outcome(session: Any, note: str) -> tuple[str, str, str]:
    """GITBOOK_TOKEN is set ("Run All" safety: it wins, no login needed).

    Returns (state, status line, mode line): ``env`` once the token is checked, else
    ``failed`` with what to do about it.
    """
    host = session.target()["host"]
    try:
        who = session.whoami().get("name") or "?"
    except GitBookError as err:
        return (
            "failed",
            f"GITBOOK_TOKEN is set, but checking it failed: {err}",
            "Fix or unset GITBOOK_TOKEN, restart the kernel, then sign in.",
        )
    return (
        "env",
        f"Signed in as {who} on {host}, {note.replace(' for ' + host, '')}",
        "Unset GITBOOK_TOKEN and restart the kernel to use a login instead.",
    )


def choose_mode(
    session: Any, s: Any, env: environment.Environment, forced: str | None
) -> tuple[str, str, Bind | None]:
    """(mode, reason, fixed bind) under settings ``s``: the caller's mode if it forced one,
    else the environment's choice; ``fixed`` is set when a registered redirect URI pins the
    listener's address."""
    if forced is not None:
        return forced, "the caller asked for it", None
    chooses = s.flow == "current" or session.sandbox is not None
    mode, reason, fixed = environment.login_mode(
        env, chooses_redirect=chooses, redirect_uri=s.redirect_uri
    )
    return mode, reason, fixed


def local_listener(
    session: Any,
    fixed: Bind | None,
    on_redirect: OnRedirect,
    on_timeout: Callable[[], None],
) -> Listener:
    """The loopback listener of local mode: at ``fixed`` when the redirect URI is pinned,
    else at the address this issuer's client was registered with (reused, not registered
    again), else any free port. OSError when the address cannot be bound."""
    reuse = None if fixed else registered_bind(session)
    host, port, path = fixed or reuse or ("127.0.0.1", 0, "/callback")
    try:
        return Listener(on_redirect, host=host, port=port, path=path, on_timeout=on_timeout)
    except OSError:
        if reuse is None:
            raise
        # The port this issuer's client was registered with is taken: any free port, and
        # the session registers a client for it.
        return Listener(on_redirect, host=host, port=0, path=path, on_timeout=on_timeout)


def proxy_listener(
    env: environment.Environment,
    on_redirect: OnRedirect,
    on_start: OnStart,
    on_timeout: Callable[[], None],
) -> tuple[Listener, str]:
    """The listener of proxy mode and the link the person clicks first: its ``/start`` page
    behind the Jupyter server's proxy, where the listener learns the public redirect URI."""
    listener = Listener(on_redirect, on_start=on_start, on_timeout=on_timeout)
    link = environment.proxy_path(
        listener.port, f"start?n={listener.start_nonce}", prefix=env.service_prefix
    )
    return listener, link


def mode_line(mode: str, reason: str) -> str:
    """The muted line under the link: how the answer comes back, and why."""
    if mode in MODE_TEXT:
        return f"{MODE_TEXT[mode]} ({reason})."
    return f"Paste mode, because {reason}."


def begun_line(mode: str) -> tuple[str, str]:
    """(state, status line) once the link exists: paste mode is ready for the pasted
    address; a listener's modes wait for the redirect, which arrives by itself."""
    if mode == "paste":
        return "ready", "Open the link, approve, then paste the address you land on."
    step = (
        "approve the request in the GitBook tab"
        if mode == "proxy"
        else "click Sign in with GitBook and approve in the new tab"
    )
    return "waiting", f"Waiting for GitBook: {step}; this updates by itself."


def registered_bind(session: Any) -> Bind | None:
    """(host, port, path) of the loopback redirect this issuer's client was registered with,
    so a new login reuses that registration instead of registering a client per login."""
    uri = session.login_redirect() if hasattr(session, "login_redirect") else None
    if not uri:
        return None
    parts = urlsplit(uri)
    if not parts.hostname or not parts.port:
        return None
    return parts.hostname, parts.port, parts.path or "/callback"
