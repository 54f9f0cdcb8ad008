"""One interactive login, without the widgets: the state it is in and the steps between.

No ipywidgets or IPython here (the layering test holds it to that): the view is drawn through
the hooks of :class:`~gitbook_nb.notebook._login_view.LoginView`, which
:class:`gitbook_nb.notebook.widget.LoginWidget` implements. One concept a module: how the
redirect comes back (``_login_mode``), the client secret (``_login_secret``, E4), the finish
step's rules and words (``_login_finish``), states, timers and waiting (``_login_support``).

Each state has one obvious next step for the person (:data:`STATES`): *ready* (open the link),
*waiting* (approve in the other tab; a countdown and Cancel), *signed-in*, *failed* (what
happened; Start again), *env* (GITBOOK_TOKEN is used), *signed-out* and *stopped* (the kernel
that drew it is gone). ``wait()`` blocks until the state settles (``%gitbook login --wait``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gitbook_nb.errors import GitBookError, LoginError, TokenExchangeError
from gitbook_nb.kernel import environment
from gitbook_nb.notebook import _login_finish as finish
from gitbook_nb.notebook import _login_mode as modes
from gitbook_nb.notebook._listener import Listener
from gitbook_nb.notebook._login_secret import ClientSecret, NoStdinError
from gitbook_nb.notebook._login_support import (
    _LOGINS,
    SETTLED,
    STATES,
    LoginTimers,
    TimerFactory,
    daemon_timer,
    deliver_to_listener,
    retire_older,
    session_now,
    wait_settled,
    waiting_login,
)
from gitbook_nb.notebook._login_view import LoginView
from gitbook_nb.protocol.tokens import Secret

__all__ = ["STATES", "LoginFlow", "NoStdinError", "TimerFactory", "daemon_timer", "waiting_login"]


class LoginFlow(LoginView):
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
        self._timers = LoginTimers(timer_factory)  # the 10-minute expiry, the countdown
        self._lock = threading.RLock()
        self._flow: Any = None
        self._listener: Listener | None = None
        self._secrets = ClientSecret(secret_prompt)  # and a held redirect: kernel memory only
        self._done = False
        self._status_text = ""
        self._settled = threading.Event()
        self.state = "ready"
        self.failure: str | None = None  # why a failed login failed: denied, expired, ...
        self.mode = "paste"
        self.reason = ""
        _LOGINS.add(self)

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
            self._flow, self._secrets.held, self._done = None, None, False
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
            if self._flow is not None:
                self._flow.cancel()
            listener = self._end(status or "Sign-in cancelled; nothing changed.", failure)
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
            self._secrets.clear()
            _LOGINS.discard(self)
        if listener is not None:  # joined outside the lock: its thread may be waiting on it
            listener.close()

    def complete_with_sandbox(self, approve: bool = True) -> str:
        """Stand in for the user's click on the sandbox's consent page (tutorials, tests);
        returns the status line. The redirect goes where this mode sends it: to the listener
        (in proxy mode too: the kernel needs no proxy to reach it), or pasted."""
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
            state, status, line = modes.env_token_outcome(self.session, note)
            self._view_mode(line)
            self._settle(state, status)
            return
        s = self.session.settings
        needed = self.session.needs_client_secret()
        if needed and prompt:
            self._secrets.ask(s.client_id)
        self._view_password(needed and self._secrets.value is None)
        self.mode, self.reason, fixed = modes.choose_mode(
            self.session, s, self.env, self._forced_mode
        )
        try:
            if self.mode == "local":
                self._listener = modes.local_listener(
                    self.session, fixed, self._from_listener, self._expire
                )
                self._begin(self._listener.redirect_uri)
            elif self.mode == "proxy":
                self._listener, link = modes.proxy_listener(
                    self.env, self._from_listener, self._on_start, self._expire
                )
                self._view_link(link)
                self._settle("ready", "Click Sign in with GitBook; GitBook opens in a new tab.")
            else:
                self._begin(None)
        except OSError as err:  # the port could not be bound: paste still works
            self._teardown()
            self.mode, self.reason = "paste", f"no loopback port could be opened ({err.strerror})"
            self._safe(lambda: self._begin(None))
        self._view_mode(modes.mode_line(self.mode, self.reason))

    def _begin(self, redirect_uri: str | None) -> None:
        self._flow = self.session.begin_login(
            redirect_uri=redirect_uri, browser_url=lambda u: environment.browser_url(u, self.env)
        )
        self._view_link(self._flow.authorize_url)
        self._timers.expire_in(self.seconds_left() or 0.0, self._expire)
        retire_older(self)
        state, line = modes.begun_line(self.mode)
        self._settle(state, line)
        if state == "waiting":
            self._countdown()

    def _countdown(self) -> None:
        """Show the time left, once a second while waiting (a timer, so no thread idles)."""
        with self._lock:
            left = self.seconds_left()
            if self.state != "waiting" or left is None:
                return
            minutes, seconds = divmod(int(left), 60)
            self._view_countdown(f"{minutes}:{seconds:02d} left")
            self._timers.tick_in(1.0, self._countdown)

    def _replaced(self) -> None:
        """A newer login of this session replaced this one (A2, see ``retire_older``)."""
        with self._lock:
            if self.state in ("ready", "waiting"):
                text = "This sign-in was replaced by a newer one; use the newest login widget."
                self._end(text, "replaced", keep_held=True)

    def _on_start(self, redirect_uri: str) -> str:
        """Proxy mode: the browser reached /start; now the public redirect URI is known."""
        with self._lock:
            try:
                self._begin(redirect_uri)
            except Exception as err:
                self._fail(err, final=True)
                raise
            return str(self._flow.authorize_url)

    # ------------------------------------------------------------------ finishing
    def _from_listener(self, url: str) -> tuple[bool, str]:
        return self._finish(url, hold=True)

    def _finish_held_or(self, text: str) -> tuple[bool, str]:
        """A click: the pasted text, or (box empty) a redirect held while the secret was asked."""
        held = self._secrets.take_held()
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
        problem = finish.finish_problem(self._done, self._flow, text)
        if problem is not None:
            return False, self._set_status(problem)
        secret = None
        if self.session.needs_client_secret():
            secret = self._secrets.take(self._view_take_password())  # the box emptied at once
            if not secret:
                if hold:  # keep the redirect in memory until the secret is typed
                    self._secrets.held = Secret(text)
                return False, self._set_status(finish.ASK_SECRET)
        try:
            self.session.finish_login(text, flow=self._flow, client_secret=secret)
        except TokenExchangeError as err:
            if self._secrets.refused(err):
                self._view_password(True)
            raise
        self._done, self._secrets.value = True, None
        self._teardown()
        message = finish.signed_in_line(self.session)
        self._view_inputs_enabled(False)
        self._view_password(False)
        return True, self._settle("signed-in", message)

    def _fail(self, err: BaseException, *, final: bool = False) -> str:
        message, failure = finish.failure_line(err)
        flow = self._flow
        if final or (flow is not None and not flow.active(self._now)):
            self._end(message, failure)
            return self.status
        return self._set_status(message)  # the flow can still finish: same state, new line

    def _expire(self) -> None:
        with self._lock:
            if self._done or self.state not in ("ready", "waiting"):
                return
            if self._flow is None and self.mode != "proxy":
                return
            self._end(
                "The sign-in link expired after 10 minutes; click Start again for a new one.",
                "expired",
            )

    # ------------------------------------------------------------------ helpers
    def _settle(self, state: str, status: str, *, failure: str | None = None) -> str:
        """Enter ``state`` with ``status`` as its line. A final state drops the link, which
        holds the state parameter (E4), and wakes up ``wait()``."""
        self.state = state
        self.failure = failure
        if state in SETTLED:
            self._timers.stop_tick()
            self._view_link(None)
        text = self._set_status(status)
        self._view_state(state)
        if state in SETTLED:
            self._settled.set()
        return text

    def _end(self, status: str, failure: str, *, keep_held: bool = False) -> Listener | None:
        """Settle as failed: a held redirect dropped, timers and listener stopped (the
        listener is returned to be joined outside the lock)."""
        if not keep_held:
            self._secrets.held = None
        listener = self._teardown()
        self._settle("failed", status, failure=failure)
        return listener

    def _teardown(self) -> Listener | None:
        """Stop the timers and the listener without waiting (callers may hold the lock that
        the listener's thread is waiting for); returns the listener for a later join."""
        self._timers.stop()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close(wait=False)
        return listener

    def _now(self) -> float:
        return session_now(self.session)

    def _set_status(self, text: str) -> str:
        self._status_text = " ".join(text.split())
        self._view_status(self._status_text)
        return self._status_text

    def _safe(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as err:
            self._fail(err, final=self.state not in ("ready", "waiting") or self._flow is None)
