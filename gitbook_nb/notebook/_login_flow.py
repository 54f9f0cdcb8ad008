"""One interactive login, without the widgets: mode, listener, expiry timer, secret, finish.

Split from ``widget.py`` so the view stays thin: this class knows nothing about ipywidgets or
IPython (the layering test holds it to that). It asks its view to show things through a few
``_view_*`` methods that :class:`gitbook_nb.notebook.widget.LoginWidget` implements.

A login is in one of a few states, each with one obvious next step for the person
(:data:`STATES`): *ready* (open the link), *waiting* (approve in the other tab; a countdown and
Cancel), *signed-in*, *failed* (what happened; Start again), plus *env* (GITBOOK_TOKEN is used,
nothing to do), *signed-out* and *stopped* (the kernel that drew it is gone). ``wait()`` blocks
until the state settles, for ``%gitbook login --wait`` ("Run All" and Voila run in order).

Secrets (SECURITY.md E4): the client secret from getpass and a redirect that arrived before
the secret was typed live only here, in kernel memory, as :class:`Secret`; never in a trait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from gitbook_nb.errors import AccessDeniedError, GitBookError, LoginError, TokenExchangeError
from gitbook_nb.kernel import environment
from gitbook_nb.notebook._listener import Listener
from gitbook_nb.notebook._login_support import (
    _LOGINS,
    SETTLED,
    STATES,
    TimerFactory,
    daemon_timer,
    deliver_to_listener,
    wait_settled,
    waiting_login,
)
from gitbook_nb.notebook._words import plain_words
from gitbook_nb.protocol.tokens import Secret

__all__ = ["STATES", "LoginFlow", "NoStdinError", "TimerFactory", "daemon_timer", "waiting_login"]

MODE_TEXT = {
    "local": "Local mode: this notebook catches GitBook's answer, no paste needed",
    "proxy": "Proxy mode: the answer comes back through the Jupyter server, no paste needed",
}
# Token-endpoint error codes that mean "the client secret is wrong": ask for it again.
_BAD_SECRET = {"incorrect_client_credentials", "invalid_client", "unauthorized_client"}


class NoStdinError(Exception):
    """The front end cannot answer a getpass prompt (Voila, a comm callback, no kernel)."""


class LoginFlow:
    """The logic of one login widget. ``mode``: ``"local"`` (loopback listener), ``"proxy"``
    (listener behind the Jupyter server's proxy), ``"paste"``, or ``"env"`` (GITBOOK_TOKEN)."""

    def __init__(
        self,
        session: Any,
        env: environment.Environment,
        *,
        mode: str | None = None,
        secret_prompt: Callable[[str], str] | None = None,
        timer_factory: TimerFactory = daemon_timer,
    ) -> None:
        self.session = session
        self.env = env
        self._forced_mode = mode
        self._secret_prompt = secret_prompt
        self._timer_factory = timer_factory
        self._lock = threading.RLock()
        self._flow: Any = None
        self._listener: Listener | None = None
        self._timer: Any = None  # the 10-minute expiry
        self._tick: Any = None  # the once-a-second countdown while waiting
        self._secret: Secret | None = None  # client secret from getpass: kernel memory only
        self._held: Secret | None = None  # a redirect that arrived before the secret was typed
        self._done = False
        self._status_text = ""
        self._settled = threading.Event()
        self.state = "ready"
        self.failure: str | None = None  # why a failed login failed: denied, expired, ...
        self.mode = "paste"
        self.reason = ""
        _LOGINS.add(self)

    # ------------------------------------------------------------------ view hooks
    def _view_link(self, href: str | None, note: str = "") -> None: ...
    def _view_title(self, text: str) -> None: ...
    def _view_mode(self, text: str) -> None: ...
    def _view_status(self, text: str) -> None: ...
    def _view_password(self, needed: bool) -> None: ...
    def _view_take_password(self) -> str:  # read once, empty at once
        return ""

    def _view_clear_inputs(self) -> None: ...
    def _view_inputs_enabled(self, enabled: bool) -> None: ...
    def _view_state(self, state: str) -> None: ...
    def _view_countdown(self, text: str) -> None: ...

    # ------------------------------------------------------------------ public API
    @property
    def authorize_url(self) -> str | None:
        """The authorize address of this login while it can still be used."""
        flow = self._flow
        return None if flow is None or flow.used or self._done else flow.authorize_url

    @property
    def status(self) -> str:
        return self._status_text

    def restart(self, *, prompt: bool = False) -> None:
        """Begin a fresh login (a newer login cancels older ones, A2).

        ``prompt``: may ask for a missing client secret with getpass. Only while a cell runs
        (from ``login()``): in a button callback ipykernel's stdin is not wired, and the
        original getpass could block on the kernel's own terminal.
        """
        with self._lock:
            self._teardown()
            self._flow, self._held, self._done = None, None, False
            self._settled.clear()
            self.failure = None
            self._view_inputs_enabled(True)
            try:
                self._start(prompt)
            except Exception:
                self._teardown()
                raise

    def cancel(self, *, status: str | None = None, failure: str = "cancelled") -> str:
        """Give up this login (the Cancel button): its link stops working; returns the status.
        ``status`` and ``failure`` say why when it was not a click (a wait that timed out)."""
        with self._lock:
            if self.state not in ("ready", "waiting"):
                return self.status
            listener = self._teardown()
            if self._flow is not None:
                self._flow.cancel()
            self._held = None
            self._settle("failed", status or "Sign-in cancelled; nothing changed.", failure=failure)
        if listener is not None:
            listener.close()
        return self.status

    def sign_out(self) -> str:
        """The Sign out button: forget the token (and revoke it where the server offers)."""
        with self._lock:
            try:
                info = self.session.logout()
                host = info.get("host") or self.session.target()["host"]
                text = f"Signed out of {host}."
            except GitBookError as err:
                text = f"Sign-out failed: {err}"
            self._settle("signed-out", text)
        return self.status

    def mark_stopped(self) -> None:
        """The kernel is going away: the widget must not go on claiming a sign-in (or waiting)
        that dies with it. Called at interpreter exit for every login of this kernel."""
        with self._lock:
            if self.state == "stopped":
                return
            self._teardown()
            self._settle(
                "stopped",
                "This kernel has stopped, so its sign-in has ended; "
                "run %gitbook login in the new kernel.",
            )

    def seconds_left(self) -> float | None:
        """Seconds before this login's link expires (None without a pending login)."""
        flow = self._flow
        if flow is None or self._done:
            return None
        return max(flow.lifetime - (self._now() - flow.created_at), 0.0)

    def wait(
        self,
        timeout: float | None = None,
        *,
        poll: Callable[[], None] | None = None,
        interval: float = 0.1,
    ) -> str:
        """Block until this login settles (signed in, failed, cancelled) or ``timeout`` seconds
        pass (then it is cancelled); returns the state. Paste mode cannot be waited for.

        ``poll()`` is called between short waits to let the front end's clicks in (see
        :func:`gitbook_nb.notebook.widget.ui_events`); the listener runs in its own thread, so
        a completed sign-in needs no polling.
        """
        return wait_settled(self, timeout, poll=poll, interval=interval)

    @property
    def settled(self) -> threading.Event:
        """Set once the login reached a final state (signed in, failed, env...)."""
        return self._settled

    def close(self) -> None:
        """Stop the listener and timer and cancel this login."""
        with self._lock:
            listener = self._teardown()
            if self._flow is not None and not self._done:
                self._flow.cancel()
            self._secret = self._held = None
            _LOGINS.discard(self)
        if listener is not None:  # joined outside the lock: its thread may be waiting on it
            listener.close()

    def complete_with_sandbox(self, approve: bool = True) -> str:
        """Stand in for the user's click on the sandbox's consent page (tutorials, tests).

        Calls ``session.sandbox.approve`` with the authorize address, then delivers the
        redirect the way this mode would: to the listener (local and proxy modes; in proxy mode
        the kernel talks to the listener directly, as it needs no proxy to reach it), or by
        pasting it. Returns the status line.
        """
        sb = self.session.sandbox
        if sb is None:
            raise LoginError(
                "complete_with_sandbox() works only with a sandbox profile",
                hint="sign in by clicking the link instead",
            )
        with self._lock:
            if self.mode == "proxy" and self._flow is None and self._listener is not None:
                self._listener.started = True
                self._begin(self._listener.local_redirect_uri)
            url = self.authorize_url
        if url is None:
            return self.status
        # the kernel opens the sandbox directly: undo the browser (proxy) mapping
        redirected = sb.approve(environment.local_url(url, self.env), approve=approve)
        if self.mode in ("local", "proxy") and self._listener is not None:
            deliver_to_listener(redirected)
        else:
            self._finish(redirected)
        return self.status

    # ------------------------------------------------------------------ choosing a mode
    def _start(self, prompt: bool) -> None:
        note = self.session.token_from_env_note()
        self._view_title(f"Sign in to {self.session.target()['description']}")
        if note is not None:  # "Run All" safety: GITBOOK_TOKEN wins, no login needed
            self.mode, self.reason = "env", "GITBOOK_TOKEN is set"
            host = self.session.target()["host"]
            try:
                who = self.session.whoami().get("name") or "?"
            except GitBookError as err:
                self._view_mode("Fix or unset GITBOOK_TOKEN, restart the kernel, then sign in.")
                self._settle("failed", f"GITBOOK_TOKEN is set, but checking it failed: {err}")
                return
            self._view_mode("Unset GITBOOK_TOKEN and restart the kernel to use a login instead.")
            self._settle("env", f"Signed in as {who} on {host}, {note.replace(' for ' + host, '')}")
            return
        s = self.session.settings
        self._prepare_secret(s, prompt)
        if self._forced_mode is not None:
            self.mode, self.reason, fixed = self._forced_mode, "the caller asked for it", None
        else:
            chooses = s.flow == "current" or self.session.sandbox is not None
            self.mode, self.reason, fixed = environment.login_mode(
                self.env, chooses_redirect=chooses, redirect_uri=s.redirect_uri
            )
        try:
            if self.mode == "local":
                reuse = None if fixed else _registered_bind(self.session)
                host, port, path = fixed or reuse or ("127.0.0.1", 0, "/callback")
                try:
                    self._listener = Listener(
                        self._from_listener,
                        host=host,
                        port=port,
                        path=path,
                        on_timeout=self._expire,
                    )
                except OSError:
                    if reuse is None:
                        raise
                    # The port this issuer's client was registered with is taken: any free
                    # port, and the session registers a client for it.
                    self._listener = Listener(
                        self._from_listener, host=host, port=0, path=path, on_timeout=self._expire
                    )
                self._begin(self._listener.redirect_uri)
            elif self.mode == "proxy":
                self._listener = Listener(
                    self._from_listener, on_start=self._on_start, on_timeout=self._expire
                )
                n = self._listener.start_nonce
                self._view_link(
                    environment.proxy_path(
                        self._listener.port, f"start?n={n}", prefix=self.env.service_prefix
                    )
                )
                self._settle("ready", "Click Sign in with GitBook; GitBook opens in a new tab.")
            else:
                self._begin(None)
        except OSError as err:  # the port could not be bound: paste still works
            self._teardown()
            self.mode, self.reason = "paste", f"no loopback port could be opened ({err.strerror})"
            self._safe(lambda: self._begin(None))
        if self.mode in MODE_TEXT:
            self._view_mode(f"{MODE_TEXT[self.mode]} ({self.reason}).")
        else:
            self._view_mode(f"Paste mode, because {self.reason}.")

    def _begin(self, redirect_uri: str | None) -> None:
        self._flow = self.session.begin_login(
            redirect_uri=redirect_uri, browser_url=lambda u: environment.browser_url(u, self.env)
        )
        self._view_link(self._flow.authorize_url)
        self._timer = self._timer_factory(self.seconds_left() or 0.0, self._expire)
        self._timer.start()
        self._retire_older()
        if self.mode == "paste":
            self._settle("ready", "Open the link, approve, then paste the address you land on.")
            return
        step = (
            "approve the request in the GitBook tab"
            if self.mode == "proxy"
            else "click Sign in with GitBook and approve in the new tab"
        )
        self._settle("waiting", f"Waiting for GitBook: {step}; this updates by itself.")
        self._countdown()

    def _countdown(self) -> None:
        """Show the time left, once a second while waiting (a timer, so no thread idles)."""
        with self._lock:
            left = self.seconds_left()
            if self.state != "waiting" or left is None:
                return
            minutes, seconds = divmod(int(left), 60)
            self._view_countdown(f"{minutes}:{seconds:02d} left")
            self._tick = self._timer_factory(1.0, self._countdown)
            self._tick.start()

    def _retire_older(self) -> None:
        """A newer login replaces the older ones of this session (A2): say so in their widgets,
        rather than let them wait for an answer that can no longer come."""
        for other in list(_LOGINS):
            if other is not self and other.session is self.session:
                other._replaced()

    def _replaced(self) -> None:
        with self._lock:
            if self.state not in ("ready", "waiting"):
                return
            self._teardown()
            self._settle(
                "failed",
                "This sign-in was replaced by a newer one; use the newest login widget.",
                failure="replaced",
            )

    def _on_start(self, redirect_uri: str) -> str:
        """Proxy mode: the browser reached /start; now the public redirect URI is known."""
        with self._lock:
            try:
                self._begin(redirect_uri)
            except Exception as err:
                self._fail(err, final=True)
                raise
            return str(self._flow.authorize_url)

    # ------------------------------------------------------------------ secrets
    def _prepare_secret(self, s: Any, prompt: bool) -> None:
        needed = self.session.needs_client_secret()
        if needed and self._secret is None and prompt and self._secret_prompt is not None:
            try:
                value = self._secret_prompt(f"Client secret of the GitBook app {s.client_id}: ")
                self._secret = Secret(value.strip(" \t\r\n")) if value else None
            except NoStdinError:
                self._secret = None
        self._view_password(needed and self._secret is None)

    def _take_secret(self) -> Secret | None:
        """The secret for this attempt: the typed one (box emptied at once), else getpass's."""
        typed = self._view_take_password().strip(" \t\r\n")
        return Secret(typed) if typed else self._secret

    # ------------------------------------------------------------------ finishing
    def _from_listener(self, url: str) -> tuple[bool, str]:
        return self._finish(url, hold=True)

    def _finish_held_or(self, text: str) -> tuple[bool, str]:
        """A click: the pasted text, or (box empty) a redirect held while the secret was asked."""
        held, self._held = self._held, None
        if not text.strip() and held is not None and not self._done:
            return self._finish(held.reveal(), hold=True)
        return self._finish(text)

    def _finish(self, text: str, *, hold: bool = False) -> tuple[bool, str]:
        """Finish the login with a redirect (pasted or caught); never raises.

        ``hold``: if the client secret is still missing, keep ``text`` (kernel memory only)
        until the user types the secret, instead of asking for the address again.
        """
        with self._lock:
            try:
                return self._finish_locked(text, hold)
            except Exception as err:  # never let one escape into the widget log
                return False, self._fail(err)
            finally:
                self._view_clear_inputs()  # E4: no pasted address or secret stays in a trait

    def _finish_locked(self, text: str, hold: bool) -> tuple[bool, str]:
        if self._done:
            return False, self._set_status(
                "Already signed in with this widget; run gitbook_nb.login() to sign in again."
            )
        if self._flow is None:
            return False, self._set_status("Click 'Sign in with GitBook' first.")
        if not text.strip():
            return False, self._set_status(
                "Paste the address the browser shows after you "
                "approved, then click 'Finish sign-in'."
            )
        secret = None
        if self.session.needs_client_secret():
            secret = self._take_secret()
            if not secret:
                if hold:  # keep the redirect in memory until the secret is typed
                    self._held = Secret(text)
                return False, self._set_status(
                    "Enter the app's client secret in the box above, then click 'Finish sign-in'."
                )
        try:
            self.session.finish_login(text, flow=self._flow, client_secret=secret)
        except TokenExchangeError as err:
            if err.error in _BAD_SECRET:
                self._secret = None
                self._view_password(True)
            raise
        self._done, self._secret = True, None
        self._teardown()
        host = self.session.target()["host"]
        try:
            message = f"Signed in as {self.session.whoami().get('name') or '?'} on {host}"
        except GitBookError as err:
            message = f"Signed in on {host}, but reading the user failed: {err}"
        self._view_inputs_enabled(False)
        self._view_password(False)
        return True, self._settle("signed-in", message)

    def _fail(self, err: BaseException, *, final: bool = False) -> str:
        if isinstance(err, AccessDeniedError):
            # The consent page is gone once Deny was clicked: the next step is here, not there.
            what = err.message.rstrip(".")
            message = f"Sign-in failed: {what}. Click Start again to sign in again."
        elif isinstance(err, GitBookError):
            message = f"Sign-in failed: {plain_words(str(err))}"
        else:  # unexpected: the type only, its text might hold a secret
            message = f"Sign-in failed with an unexpected {type(err).__name__}; click Start again."
        flow = self._flow
        if final or (flow is not None and not flow.active(self._now)):
            self._held = None
            self._teardown()
            failure = "denied" if isinstance(err, AccessDeniedError) else "error"
            return self._settle("failed", message, failure=failure)
        return self._set_status(message)  # the flow can still finish: same state, new line

    def _expire(self) -> None:
        with self._lock:
            if self._done or self.state not in ("ready", "waiting"):
                return
            if self._flow is None and self.mode != "proxy":
                return
            self._held = None
            self._teardown()
            self._settle(
                "failed",
                "The sign-in link expired after 10 minutes; click Start again for a new one.",
                failure="expired",
            )

    # ------------------------------------------------------------------ helpers
    def _settle(self, state: str, status: str, *, failure: str | None = None) -> str:
        """Enter ``state`` with ``status`` as its line. A final state drops the link, which
        holds the state parameter (E4), and wakes up ``wait()``."""
        self.state = state
        self.failure = failure
        if state in SETTLED:
            if self._tick is not None:
                self._tick.cancel()
                self._tick = None
            self._view_link(None)
        text = self._set_status(status)
        self._view_state(state)
        if state in SETTLED:
            self._settled.set()
        return text

    def _teardown(self) -> Listener | None:
        """Stop the timers and the listener without waiting (callers may hold the lock that
        the listener's thread is waiting for); returns the listener for a later join."""
        for name in ("_timer", "_tick"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close(wait=False)
        return listener

    def _now(self) -> float:
        clock: Callable[[], float] = (
            getattr(self.session, "clock", None)
            or getattr(self.session, "_clock", None)
            or time.time
        )
        return float(clock())

    def _set_status(self, text: str) -> str:
        self._status_text = " ".join(text.split())
        self._view_status(self._status_text)
        return self._status_text

    def _safe(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as err:
            self._fail(err, final=self.state not in ("ready", "waiting") or self._flow is None)


def _registered_bind(session: Any) -> tuple[str, int, str] | None:
    """(host, port, path) of the loopback redirect this issuer's client was registered with,
    so a new login reuses that registration instead of registering a client per login."""
    uri = session.login_redirect() if hasattr(session, "login_redirect") else None
    if not uri:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    if not parts.hostname or not parts.port:
        return None
    return parts.hostname, parts.port, parts.path or "/callback"
