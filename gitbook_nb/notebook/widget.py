"""The login widget: a link, a paste box, a button and a status line (DESIGN.md section 4).

Thin on purpose: the session starts and finishes logins, :mod:`gitbook_nb.notebook._login_flow` chooses
how the redirect comes back (loopback listener, the Jupyter server's proxy, or a paste); this
module only draws. Traits are synced to the browser and saved into notebooks, so a code,
state, token or client secret may sit in one only while it is needed (SECURITY.md E4): the
boxes are emptied after every submit, and the link (it carries the state) is replaced once
the login is over.

Stock ipywidgets only (no custom JavaScript), so it renders in JupyterLab, Notebook 7, VS Code
and Voila. Widget callbacks swallow exceptions, so every handler catches and shows its error.
"""

from __future__ import annotations

import getpass
import html
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from gitbook_nb.kernel import environment
from gitbook_nb.notebook._login_flow import LoginFlow, NoStdinError

__all__ = ["LoginWidget", "NoStdinError", "default_secret_prompt", "login"]

LINK_TEXT = "Sign in with GitBook"
PASTE_SENTENCE = (
    "After approving, copy the whole address from the browser's address bar and paste it "
    "<b>only into this notebook</b>: whoever has it can finish your sign-in. If that page "
    "does not load, copy its address anyway."
)


def default_secret_prompt(prompt: str) -> str:
    """getpass in a kernel that allows stdin; otherwise :class:`NoStdinError`.

    Outside IPython (tests, plain scripts) getpass would read the terminal or block, so the
    widget's Password box is used instead; ipykernel raises StdinNotImplementedError where the
    front end has no stdin (Voila, nbclient).
    """
    from IPython import get_ipython
    from IPython.core.error import StdinNotImplementedError

    shell = get_ipython()
    # Only a kernel (whose getpass goes to the front end) or a terminal IPython can answer; a bare
    # InteractiveShell (embedding, tests) would make getpass open /dev/tty and block.
    if shell is None or type(shell).__name__ not in (
        "ZMQInteractiveShell",
        "TerminalInteractiveShell",
    ):
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


class LoginWidget(LoginFlow):
    """One login, shown as a widget; also a small Python API for tests and tutorials:
    ``authorize_url``, ``submit(text)``, ``status``, ``mode``, ``close()``,
    ``complete_with_sandbox()``."""

    def __init__(
        self,
        *,
        session: Any = None,
        environment_: environment.Environment | None = None,
        mode: str | None = None,
        secret_prompt: Callable[[str], str] | None = default_secret_prompt,
    ) -> None:
        if session is None:
            from gitbook_nb.kernel.session import get_session

            session = get_session()
        super().__init__(
            session, environment_ or environment.detect(), mode=mode, secret_prompt=secret_prompt
        )
        self._displayed = False
        self._title = W.HTML()
        self._mode_line = W.HTML()
        self._link = W.HTML()
        self._hint = W.HTML(PASTE_SENTENCE)
        self._password = W.Password(
            description="Client secret", placeholder="the OAuth app's client secret"
        )
        self._text = W.Text(
            placeholder="paste the redirected address (http...)",
            description="Address",
            layout=W.Layout(width="95%"),
        )
        self._button = W.Button(description="Finish sign-in", button_style="primary")
        self._restart = W.Button(description="Start again")
        self._status = W.HTML()
        self._button.on_click(lambda _b: self._on_click())
        self._restart.on_click(lambda _b: self._safe(self.restart))  # no getpass in a callback
        self._buttons = W.HBox([self._button, self._restart])
        self.box = _LoginBox(
            [
                self._title,
                self._mode_line,
                self._link,
                self._hint,
                self._password,
                self._text,
                self._buttons,
                self._status,
            ]
        )
        self._safe(lambda: self.restart(prompt=True))

    def submit(self, text: str) -> str:
        """Same as pasting ``text`` into the box and clicking the button; returns the status."""
        self._text.value = text
        self._button.click()
        return self.status

    def close(self) -> None:
        """Stop the listener and timer, cancel this widget's login, remove the views."""
        super().close()
        for w in (self.box, *self.box.children, *self._buttons.children):
            w.close()

    def show(self) -> None:
        from IPython.display import display

        display(self.box)

    def _ipython_display_(self) -> None:
        # login() already displayed the widget; showing it again as the cell's value would
        # draw it twice. ``w.show()`` draws it again on purpose.
        if not self._displayed:
            self.show()
            self._displayed = True

    def __repr__(self) -> str:
        return f"<LoginWidget mode={self.mode!r} status={self._status_text!r}>"

    def _on_click(self) -> None:
        text = self._text.value
        self._text.value = ""  # E4: the pasted address never stays in a trait
        self._finish_held_or(text)

    # ------------------------------------------------------------------ view hooks
    def _view_link(self, href: str | None, note: str = "") -> None:
        if href is None:
            self._link.value = f"<i>{html.escape(note)}</i>"
        else:
            self._link.value = (
                f'<a href="{html.escape(href, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer"><b>{LINK_TEXT}</b></a> '
                "(opens a new tab)"
            )

    def _view_title(self, text: str) -> None:
        self._title.value = f"<b>{html.escape(text)}</b>"

    def _view_mode(self, text: str) -> None:
        self._mode_line.value = f"<small>{html.escape(text)}</small>"

    def _view_status(self, text: str) -> None:
        self._status.value = html.escape(text)

    def _view_password(self, needed: bool) -> None:
        _hidden(self._password, not needed)

    def _view_take_password(self) -> str:
        typed = self._password.value
        self._password.value = ""
        return str(typed)

    def _view_clear_inputs(self) -> None:
        self._text.value = ""
        self._password.value = ""

    def _view_inputs_enabled(self, enabled: bool) -> None:
        for w in (self._text, self._button, self._password):
            w.disabled = not enabled

    def _view_env_only(self) -> None:
        for w in (self._link, self._hint, self._password, self._text, self._buttons):
            _hidden(w, True)


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
        from gitbook_nb.kernel.session import get_session

        session = get_session()
    if settings:
        session.configure(**settings)
    widget = LoginWidget(session=session, environment_=environment_, mode=mode)
    if display:
        widget.show()
        widget._displayed = True
    return widget
