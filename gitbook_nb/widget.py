"""The login widget: a link, a paste box, a button and a status line (DESIGN.md section 4).

Thin on purpose: the session starts and finishes logins; this module only chooses how the
redirect comes back (a loopback listener, the Jupyter server's proxy, or a paste), shows what
happens in words, and keeps every secret out of widget traits (SECURITY.md E4): traits are
synced to the browser and saved into notebooks, so a code, state, token or client secret may
sit in one only while it is needed, and never after use.

Stock ipywidgets only (no custom JavaScript), so it renders in JupyterLab, Notebook 7, VS Code
and Voila. Widget callbacks swallow exceptions, so every handler catches and shows its error.
"""

from __future__ import annotations

import getpass
import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from . import environment
from .errors import GitBookError, LoginError, TokenExchangeError
from .listener import Listener
from .tokens import Secret

__all__ = ["LoginWidget", "login"]

LINK_TEXT = "Sign in with GitBook"
PASTE_SENTENCE = (
    "After approving, copy the whole address from the browser's address bar and paste it "
    "<b>only into this notebook</b>: whoever has it can finish your sign-in. If that page "
    "does not load, copy its address anyway."
)
MODE_TEXT = {
    "local": "listening on this machine: no paste needed",
    "proxy": "through the Jupyter server's proxy (Binder/JupyterHub): no paste needed",
}
# Token-endpoint error codes that mean "the client secret is wrong": ask for it again.
_BAD_SECRET = {"incorrect_client_credentials", "invalid_client", "unauthorized_client"}


class NoStdinError(Exception):
    """The front end cannot answer a getpass prompt (Voila, a comm callback, no kernel)."""


def default_secret_prompt(prompt: str) -> str:
    """getpass in a kernel that allows stdin; otherwise :class:`NoStdinError`.

    Outside IPython (tests, plain scripts) getpass would read the terminal or block, so the
    widget's Password box is used instead.
    """
    try:
        from IPython import get_ipython
        from IPython.core.error import StdinNotImplementedError
    except ImportError:  # pragma: no cover - IPython is a dependency
        raise NoStdinError from None
    shell = get_ipython()
    if shell is None:
        raise NoStdinError
    try:
        return getpass.getpass(prompt)
    except (StdinNotImplementedError, EOFError, OSError):
        raise NoStdinError from None


class _LoginBox(W.VBox):
    """The displayed box; a stable text form (no ports, no state) for saved notebooks."""

    def __repr__(self) -> str:
        return "<gitbook_nb login widget>"


def _hidden(widget: W.DOMWidget, hide: bool) -> None:
    widget.layout.display = "none" if hide else None


class LoginWidget:
    """One login, shown as a widget; also a small Python API for tests and tutorials.

    ``mode`` is ``"local"`` (loopback listener), ``"proxy"`` (listener behind the Jupyter
    server's proxy), ``"paste"``, or ``"env"`` (GITBOOK_TOKEN is used; no login shown).
    """

    def __init__(
        self,
        *,
        session: Any = None,
        environment_: environment.Environment | None = None,
        mode: str | None = None,
        secret_prompt: Callable[[str], str] | None = default_secret_prompt,
    ) -> None:
        if session is None:
            from .session import get_session

            session = get_session()
        self.session = session
        self.env = environment_ or environment.detect()
        self._forced_mode = mode
        self._secret_prompt = secret_prompt
        self._lock = threading.RLock()
        self._flow: Any = None
        self._listener: Listener | None = None
        self._timer: threading.Timer | None = None
        self._secret: Secret | None = None  # client secret from getpass: kernel memory only
        self._held: Secret | None = None  # a redirect that arrived before the secret was typed
        self._done = False
        self._displayed = False
        self._status_text = ""
        self.mode = "paste"
        self.reason = ""

        self._title = W.HTML()
        self._mode_line = W.HTML()
        self._link = W.HTML()
        self._hint = W.HTML(PASTE_SENTENCE)
        self._password = W.Password(description="Client secret",
                                    placeholder="the OAuth app's client secret")
        self._text = W.Text(placeholder="paste the redirected address (http...)",
                            description="Address", layout=W.Layout(width="95%"))
        self._button = W.Button(description="Finish sign-in", button_style="primary")
        self._restart = W.Button(description="Start again")
        self._status = W.HTML()
        self._button.on_click(lambda _b: self._on_click())
        self._restart.on_click(lambda _b: self._safe(self.restart))  # no getpass in a callback
        self._buttons = W.HBox([self._button, self._restart])
        self.box = _LoginBox([self._title, self._mode_line, self._link, self._hint,
                           self._password, self._text, self._buttons, self._status])
        self._safe(lambda: self.restart(prompt=True))

    # ------------------------------------------------------------------ public API
    @property
    def authorize_url(self) -> str | None:
        """The authorize address of this widget's login while it can still be used."""
        flow = self._flow
        return None if flow is None or flow.used or self._done else flow.authorize_url

    @property
    def status(self) -> str:
        return self._status_text

    def submit(self, text: str) -> str:
        """Same as pasting ``text`` into the box and clicking the button; returns the status."""
        self._text.value = text
        self._button.click()
        return self.status

    def restart(self, *, prompt: bool = False) -> None:
        """Begin a fresh login in this widget (a newer login cancels older ones, A2).

        ``prompt``: may ask for a missing client secret with getpass. Only while a cell runs
        (from ``login()``): in a button callback ipykernel's stdin is not wired, and the
        original getpass could block on the kernel's own terminal.
        """
        with self._lock:
            self._teardown()
            self._flow, self._held, self._done = None, None, False
            for w in (self._text, self._button, self._password):
                w.disabled = False
            try:
                self._start(prompt)
            except Exception:
                self._teardown()
                raise

    def close(self) -> None:
        """Stop the listener and timers, cancel this widget's login, remove the views."""
        with self._lock:
            listener = self._teardown()
            if self._flow is not None and not self._done:
                self._flow.cancel()
            self._secret = self._held = None
        if listener is not None:  # joined outside the lock: its thread may be waiting on it
            listener.close()
        self.box.close()
        self._buttons.close()
        for w in self._all_widgets():
            w.close()

    def show(self) -> None:
        from IPython.display import display

        display(self.box)

    def complete_with_sandbox(self, approve: bool = True) -> str:
        """Stand in for the user's click on the sandbox's consent page (tutorials, tests).

        Calls ``session.sandbox.approve`` with the authorize address, then delivers the
        redirect the way this widget's mode would: to the listener (local and proxy modes;
        in proxy mode the kernel talks to the listener directly, as it needs no proxy to
        reach it), or by pasting it. Returns the status line.
        """
        sb = self.session.sandbox
        if sb is None:
            raise LoginError("complete_with_sandbox() works only with a sandbox profile",
                             hint="sign in by clicking the link instead")
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
            import requests

            with requests.Session() as http:
                http.trust_env = False  # loopback: no proxy from the environment
                http.get(redirected, timeout=30, allow_redirects=False)
        else:
            self.submit(redirected)
        return self.status

    def _ipython_display_(self) -> None:
        # login() already displayed the widget; showing it again as the cell's value would
        # draw it twice. ``w.show()`` draws it again on purpose.
        if not self._displayed:
            self.show()
            self._displayed = True

    def __repr__(self) -> str:
        return f"<LoginWidget mode={self.mode!r} status={self._status_text!r}>"

    # ------------------------------------------------------------------ choosing a mode
    def _start(self, prompt: bool) -> None:
        note = self.session.token_from_env_note()
        if note is not None:  # "Run All" safety: GITBOOK_TOKEN wins, no login needed
            self.mode, self.reason = "env", "GITBOOK_TOKEN is set"
            try:
                who = self.session.whoami().get("name")
                note += f", signed in as {who}"
            except GitBookError as err:
                note += f"; but checking it failed: {err}"
            self._render_title()
            self._set_mode_line(f"{note}. No sign-in needed; unset GITBOOK_TOKEN to use "
                                "this login instead.")
            for w in (self._link, self._hint, self._password, self._text, self._button,
                      self._restart):
                _hidden(w, True)
            self._set_status(note)
            return
        s = self.session.settings
        self._render_title()
        self._prepare_secret(s, prompt)
        if self._forced_mode is not None:
            self.mode, self.reason, fixed = self._forced_mode, "the caller asked for it", None
        else:
            chooses = s.flow == "current" or self.session.sandbox is not None
            self.mode, self.reason, fixed = environment.login_mode(
                self.env, chooses_redirect=chooses, redirect_uri=s.redirect_uri)
        try:
            if self.mode == "local":
                host, port, path = fixed or ("127.0.0.1", 0, "/callback")
                self._listener = Listener(self._from_listener, host=host, port=port,
                                          path=path, on_timeout=self._expire)
                self._begin(self._listener.redirect_uri)
            elif self.mode == "proxy":
                self._listener = Listener(self._from_listener, on_start=self._on_start,
                                          on_timeout=self._expire)
                n = self._listener.start_nonce
                start = environment.proxy_path(self._listener.port, f"start?n={n}",
                                               prefix=self.env.service_prefix)
                self._show_link(start)
                self._set_status("Click the link to sign in.")
            else:
                self._begin(None)
        except OSError as err:  # the port could not be bound: paste still works
            self._teardown()
            self.mode, self.reason = "paste", f"no loopback port could be opened ({err.strerror})"
            self._safe(lambda: self._begin(None))
        self._set_mode_line(self._mode_sentence())

    def _mode_sentence(self) -> str:
        if self.mode in MODE_TEXT:
            return f"Mode: {MODE_TEXT[self.mode]} ({self.reason})."
        return f"Mode: paste mode because {self.reason}."

    def _begin(self, redirect_uri: str | None) -> None:
        self._flow = self.session.begin_login(
            redirect_uri=redirect_uri,
            browser_url=lambda u: environment.browser_url(u, self.env))
        self._show_link(self._flow.authorize_url)
        remaining = self._flow.lifetime - (self._now() - self._flow.created_at)
        self._timer = threading.Timer(max(remaining, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._set_status("Waiting for you to sign in."
                         if self.mode != "paste" else "Waiting for the pasted address.")

    def _on_start(self, redirect_uri: str) -> str:
        """Proxy mode: the browser reached /start; now the public redirect URI is known."""
        with self._lock:
            try:
                self._begin(redirect_uri)
            except Exception as err:
                self._fail(err)
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
        _hidden(self._password, not (needed and self._secret is None))

    def _take_secret(self) -> Secret | None:
        """The secret for this attempt; the Password box is read once and emptied at once."""
        typed = self._password.value
        self._password.value = ""
        if typed.strip():
            return Secret(typed.strip(" \t\r\n"))
        return self._secret

    # ------------------------------------------------------------------ finishing
    def _on_click(self) -> None:
        text = self._text.value
        self._text.value = ""  # E4: the pasted address never stays in a trait
        held, self._held = self._held, None
        if not text.strip() and held is not None and not self._done:
            self._finish(held.reveal(), hold=True)
        else:
            self._finish(text)

    def _from_listener(self, url: str) -> tuple[bool, str]:
        return self._finish(url, hold=True, from_listener=True)

    def _finish(self, text: str, *, hold: bool = False, from_listener: bool = False,
                ) -> tuple[bool, str]:
        """Finish the login with a redirect (pasted or caught); never raises.

        ``hold``: if the client secret is still missing, keep ``text`` (kernel memory only)
        until the user types the secret, instead of asking for the address again.
        """
        with self._lock:
            try:
                return self._finish_locked(text, hold, from_listener)
            except Exception as err:  # never let one escape into the widget log
                return False, self._fail(err)
            finally:
                self._text.value = ""
                self._password.value = ""

    def _finish_locked(self, text: str, hold: bool, from_listener: bool) -> tuple[bool, str]:
        if self._done:
            return False, self._set_status("Already signed in with this widget; run "
                                           "gitbook_nb.login() to sign in again.")
        if self._flow is None:
            return False, self._set_status("Click 'Sign in with GitBook' first.")
        if not text.strip():
            return False, self._set_status("Paste the address the browser shows after you "
                                           "approved, then click 'Finish sign-in'.")
        secret = None
        if self.session.needs_client_secret():
            secret = self._take_secret()
            if not secret:
                if hold:  # keep the redirect in memory until the secret is typed
                    self._held = Secret(text)
                return False, self._set_status(
                    "Enter the app's client secret in the box above, then click "
                    "'Finish sign-in'.")
        try:
            self.session.finish_login(text, flow=self._flow, client_secret=secret)
        except TokenExchangeError as err:
            if err.error in _BAD_SECRET:
                self._secret = None
                _hidden(self._password, False)
            raise
        self._done, self._secret = True, None
        self._teardown()
        host = self.session.target()["host"]
        try:
            who = self.session.whoami().get("name") or "?"
            message = f"Signed in as {who} ({host})"
        except GitBookError as err:
            message = f"Signed in ({host}), but reading the user failed: {err}"
        self._link.value = "<i>Sign-in link used.</i>"
        for w in (self._text, self._button, self._password):
            w.disabled = True
        _hidden(self._password, True)
        return True, self._set_status(message)

    def _fail(self, err: BaseException) -> str:
        if isinstance(err, GitBookError):
            message = f"Sign-in failed: {err}"
        else:  # unexpected: the type only, its text might hold a secret
            message = (f"Sign-in failed with an unexpected {type(err).__name__}; click "
                       "'Start again'")
        flow = self._flow
        if flow is not None and not flow.active(self._now):
            # E4: the link holds the state; once the flow is over it goes.
            self._link.value = "<i>Sign-in link used; click 'Start again' for a new one.</i>"
            self._held = None
            self._teardown()
        return self._set_status(message)

    def _expire(self) -> None:
        with self._lock:
            if self._done or (self._flow is None and self.mode != "proxy"):
                return
            self._link.value = "<i>Sign-in link expired; click 'Start again' for a new one.</i>"
            self._held = None
            self._set_status("The sign-in link expired (10 minutes); click 'Start again'.")
            self._teardown()

    # ------------------------------------------------------------------ helpers
    def _teardown(self) -> Listener | None:
        """Stop the timer and the listener without waiting (callers may hold the lock that
        the listener's thread is waiting for); returns the listener for a later join."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close(wait=False)
        return listener

    def _now(self) -> float:
        clock = getattr(self.session, "_clock", time.time)
        return float(clock())

    def _show_link(self, href: str) -> None:
        self._link.value = (f'<a href="{html.escape(href, quote=True)}" target="_blank" '
                            f'rel="noopener noreferrer"><b>{LINK_TEXT}</b></a> '
                            "(opens a new tab)")

    def _render_title(self) -> None:
        t = self.session.target()
        self._title.value = f"<b>Sign in to {html.escape(t['description'])}</b>"

    def _set_mode_line(self, text: str) -> None:
        self._mode_line.value = f"<small>{html.escape(text)}</small>"

    def _set_status(self, text: str) -> str:
        self._status_text = " ".join(text.split())
        self._status.value = html.escape(self._status_text)
        return self._status_text

    def _safe(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as err:
            self._fail(err)

    def _all_widgets(self) -> list[W.Widget]:
        return [self._title, self._mode_line, self._link, self._hint, self._password,
                self._text, self._button, self._restart, self._status]


def login(
    *,
    session: Any = None,
    environment_: environment.Environment | None = None,
    mode: str | None = None,
    display: bool = True,
    **settings: Any,
) -> LoginWidget:
    """Show the login widget. Settings given here become the session's (``configure``)."""
    if session is None:
        from .session import get_session

        session = get_session()
    if settings:
        session.configure(**settings)
    widget = LoginWidget(session=session, environment_=environment_, mode=mode)
    if display:
        widget.show()
        widget._displayed = True
    return widget
