"""The login widget: one state at a time, each with one obvious next action (DESIGN.md 4).

Thin on purpose: the session starts and finishes logins, and
:mod:`~gitbook_nb.notebook._login_flow` chooses how the redirect comes back (loopback listener,
the Jupyter server's proxy, or a paste) and which state the login is in; this module only
draws. Traits are synced to the browser and saved into notebooks, so a code, state, token or
client secret may sit in one only while it is needed (SECURITY.md E4): the boxes are emptied
after every submit, and the link (it carries the state) is emptied once the login is over.

A widget outlives its kernel on the page (a restart leaves the view as it was): at exit the
kernel switches every login widget to "This kernel has stopped", and the signed-in line says
it holds for this kernel session, for a kernel killed without running its exit code.

Stock ipywidgets only (no custom JavaScript), so it renders in JupyterLab, Notebook 7, VS Code
and Voila. Widget callbacks swallow exceptions, so every handler catches and shows its error.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import html
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from gitbook_nb.errors import LoginError
from gitbook_nb.kernel import environment
from gitbook_nb.notebook._login_flow import LoginFlow, NoStdinError
from gitbook_nb.notebook._login_support import _LOGINS, TimerFactory, daemon_timer

__all__ = ["LoginWidget", "NoStdinError", "default_secret_prompt", "login", "ui_events", "wait_for"]

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


# The sign-in link is an <a> (A8: a new tab, rel="noopener noreferrer", never a frame) drawn as
# the primary button: ipywidgets' own button classes where the front end styles them (Lab,
# Notebook 7, Voila), and the same look inline for front ends that do not.
_BUTTON_STYLE = (
    "display:inline-block;width:auto;height:auto;padding:4px 16px;margin:2px 0;border-radius:2px;"
    "background:#1976d2;color:#fff;font-weight:600;text-decoration:none;line-height:20px"
)
_MUTED = "opacity:0.7;font-size:smaller"
STOP_HINT = "to stop waiting, interrupt the kernel (the ■ button)"
_FAILED = {"failed", "signed-out", "stopped"}


def _kernel_exit() -> None:
    """At interpreter exit (a kernel shut down or restarted) every login widget of this kernel
    says so, instead of going on showing "Signed in as ..." for a sign-in that has ended.
    A killed kernel runs no exit code: the signed-in line also says "this kernel session"."""
    for flow in list(_LOGINS):
        try:
            flow.mark_stopped()
        except Exception:  # noqa: S110 - best effort while the interpreter shuts down
            pass


_EXIT_HOOK: list[bool] = []


class LoginWidget(LoginFlow):
    """One login, shown as a widget; also a small Python API for tests and tutorials:
    ``state``, ``status``, ``authorize_url``, ``submit(text)``, ``cancel()``, ``wait()``,
    ``sign_out()``, ``close()``, ``complete_with_sandbox()``.

    The parts are public so a test drives them as a person would (set ``.value``, call
    ``.click()``): ``link``, ``mode_line``, ``status_line``, ``countdown``, ``cancel_button``,
    ``paste_toggle``, ``address``, ``secret``, ``finish_button``, ``start_again``,
    ``sign_out_button``; ``box`` is what is displayed. Visible text markers per state (for
    browser tests): ready "Sign in with GitBook"; waiting "Waiting for GitBook"; signed-in
    "Signed in as"; failed "Sign-in failed" / "Sign-in cancelled" / "expired", with the
    "Start again" button; env "using GITBOOK_TOKEN"; stopped "This kernel has stopped".
    """

    def __init__(
        self,
        *,
        session: Any = None,
        environment_: environment.Environment | None = None,
        mode: str | None = None,
        secret_prompt: Callable[[str], str] | None = default_secret_prompt,
        timer_factory: TimerFactory = daemon_timer,
    ) -> None:
        if session is None:
            from gitbook_nb.kernel.session import get_session

            session = get_session()
        super().__init__(
            session,
            environment_ or environment.detect(),
            mode=mode,
            secret_prompt=secret_prompt,
            timer_factory=timer_factory,
        )
        if not _EXIT_HOOK:
            atexit.register(_kernel_exit)
            _EXIT_HOOK.append(True)
        self._displayed = False
        self._paste_open = False
        self._secret_needed = False
        self.title = W.HTML()
        self.link = W.HTML()
        self.mode_line = W.HTML()
        self.status_line = W.HTML()
        self.countdown = W.HTML()
        self.stop_hint = W.HTML()  # during a blocking wait, where Cancel cannot act in time
        self.hint = W.HTML(PASTE_SENTENCE)
        self.secret = W.Password(
            description="Client secret", placeholder="the OAuth app's client secret"
        )
        self.address = W.Text(
            placeholder="paste the redirected address (http...)",
            description="Address",
            layout=W.Layout(width="95%"),
        )
        self.finish_button = W.Button(description="Finish sign-in")
        self.cancel_button = W.Button(description="Cancel")
        self.paste_toggle = W.Button(
            description="Paste the address instead", layout=W.Layout(width="max-content")
        )
        self.start_again = W.Button(description="Start again", button_style="primary")
        self.sign_out_button = W.Button(description="Sign out")
        self.finish_button.on_click(lambda _b: self._on_click())
        self.cancel_button.on_click(lambda _b: self._safe(self.cancel))
        self.paste_toggle.on_click(lambda _b: self._toggle_paste())
        self.start_again.on_click(lambda _b: self._safe(self.restart))  # no getpass in a callback
        self.sign_out_button.on_click(lambda _b: self._safe(self.sign_out))
        self._rows = {
            "timer": W.HBox([self.countdown, self.cancel_button, self.stop_hint]),
            "signed": W.HBox([self.status_line, self.sign_out_button]),
        }
        self.box = _LoginBox([])
        self._safe(lambda: self.restart(prompt=True))

    def submit(self, text: str) -> str:
        """Same as pasting ``text`` into the box and clicking Finish; returns the status."""
        self.address.value = text
        self.finish_button.click()
        return self.status

    def close(self) -> None:
        """Stop the listener and timers, cancel this widget's login, remove the views."""
        super().close()
        for w in (self.box, *self._parts(), *self._rows.values()):
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
        return f"<LoginWidget mode={self.mode!r} state={self.state!r} status={self.status!r}>"

    def _parts(self) -> tuple[W.Widget, ...]:
        return (
            self.title,
            self.link,
            self.mode_line,
            self.status_line,
            self.countdown,
            self.stop_hint,
            self.hint,
            self.secret,
            self.address,
            self.finish_button,
            self.cancel_button,
            self.paste_toggle,
            self.start_again,
            self.sign_out_button,
        )

    def _on_click(self) -> None:
        text = self.address.value
        self.address.value = ""  # E4: the pasted address never stays in a trait
        self._finish_held_or(text)

    def _toggle_paste(self) -> None:
        self._paste_open = not self._paste_open
        self._view_state(self.state)

    # ------------------------------------------------------------------ view hooks
    def _view_state(self, state: str) -> None:
        """Show only what this state needs: one obvious next action each."""
        paste = [self.hint, self.address]
        secret = [self.secret] if self._secret_needed else []
        finish = [self.finish_button] if (paste or secret) else []
        kids: list[W.Widget]
        if state == "signed-in":
            kids = [self._rows["signed"]]
        elif state == "env":
            kids = [self.status_line, self.mode_line]
        elif state in _FAILED:
            again = [] if state == "stopped" else [self.start_again]
            self.start_again.description = (
                "Sign in again" if state == "signed-out" else "Start again"
            )
            kids = [self.status_line, *secret, *again]
        elif self.mode == "paste":
            kids = [self.title, self.link, self.mode_line, *paste, *secret, *finish]
            kids.append(self.status_line)
        else:
            kids = [self.title]
            if state == "ready" or self.mode == "local":
                kids.append(self.link)
            kids.append(self.status_line)
            if state == "waiting":
                kids.append(self._rows["timer"])
            kids.append(self.mode_line)
            if self._paste_open:
                kids += [*paste, *secret, self.finish_button]
            else:
                kids += [*secret, *([self.finish_button] if secret else []), self.paste_toggle]
        self.paste_toggle.description = (
            "Hide the paste box" if self._paste_open else "Paste the address instead"
        )
        self.box.children = tuple(kids)

    def _view_link(self, href: str | None, note: str = "") -> None:
        if href is None:  # E4: the authorize link holds the state parameter
            self.link.value = f"<i>{html.escape(note)}</i>" if note else ""
        else:
            self.link.value = (
                f'<a href="{html.escape(href, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer" class="jupyter-button widget-button mod-primary" '
                f'style="{_BUTTON_STYLE}">{LINK_TEXT}</a>'
            )

    def _view_title(self, text: str) -> None:
        self.title.value = f"<b>{html.escape(text)}</b>"

    def _view_mode(self, text: str) -> None:
        self.mode_line.value = f'<span style="{_MUTED}">{html.escape(text)}</span>'

    def _view_status(self, text: str) -> None:
        body = html.escape(text)
        if self.state == "signed-in":  # the text first: saved state reads "Signed in as ..."
            body = (
                f'{body} <span style="{_MUTED}">(this kernel session; a restart signs out)</span>'
            )
        elif self.state in _FAILED or text.startswith("Sign-in failed"):
            body = f'<span style="color:#b42318">{body}</span>'
        self.status_line.value = body

    def _view_countdown(self, text: str) -> None:
        self.countdown.value = f'<span style="{_MUTED}">{html.escape(text)}</span>'

    def _view_password(self, needed: bool) -> None:
        self._secret_needed = needed
        self._view_state(self.state)

    def _view_take_password(self) -> str:
        typed = self.secret.value
        self.secret.value = ""
        return str(typed)

    def _view_clear_inputs(self) -> None:
        self.address.value = ""
        self.secret.value = ""

    def _view_inputs_enabled(self, enabled: bool) -> None:
        for w in (self.address, self.finish_button, self.secret):
            w.disabled = not enabled


def login(
    *,
    session: Any = None,
    environment_: environment.Environment | None = None,
    mode: str | None = None,
    display: bool = True,
    wait: bool | float | None = None,
    timer_factory: TimerFactory = daemon_timer,
    **settings: Any,
) -> LoginWidget:
    """Show the login widget. Settings given here become the session's (``configure``).

    ``wait``: block until the sign-in completes (True: until the link expires; a number: at
    most that many seconds), so that "Run All" and Voila fetch data only after it. A sign-in
    that fails, is cancelled or times out raises :class:`~gitbook_nb.errors.LoginError`, which
    stops "Run All" there. Paste mode cannot wait (the pasted address comes with a click).
    """
    if session is None:
        from gitbook_nb.kernel.session import get_session

        session = get_session()
    if settings:
        session.configure(**settings)
    widget = LoginWidget(
        session=session, environment_=environment_, mode=mode, timer_factory=timer_factory
    )
    if display:
        widget.show()
        widget._displayed = True
    if wait is not None and wait is not False:
        wait_for(widget, None if wait is True else float(wait))
    return widget


def wait_for(widget: LoginFlow, timeout: float | None) -> str:
    """Block until ``widget`` settles, letting the front end's clicks in; raise unless signed in.

    Returns the final state (``signed-in`` or ``env``). Failure, Cancel and a timeout raise a
    one-line :class:`LoginError` with the widget's own status line.
    """
    with ui_events() as poll:
        view = widget if poll is None and isinstance(widget, LoginWidget) else None
        if view is not None:
            # Clicks reach the kernel only after this cell: Cancel could not act in time, so
            # the waiting row says how to stop instead (Interrupt cancels the sign-in).
            view.cancel_button.layout.display = "none"
            view.stop_hint.value = f'<span style="{_MUTED}">{html.escape(STOP_HINT)}</span>'
        try:
            state = widget.wait(timeout, poll=poll)
        finally:
            if view is not None:
                view.cancel_button.layout.display = None
                view.stop_hint.value = ""
    if state in ("signed-in", "env"):
        return state
    raise LoginError(widget.status, hint="")


@contextlib.contextmanager
def ui_events() -> Iterator[Callable[[], None] | None]:
    """A ``poll()`` that runs pending front-end events (button clicks) while a cell blocks.

    A kernel handles comm messages only between cells, so Cancel clicked during a waiting cell
    would wait for the cell to end. jupyter-ui-poll (a small, maintained package) runs them
    from inside the cell and holds back the next cells' execute requests until this one ends,
    so "Run All" keeps its order. Without it, on ipykernel 7.1 and later (which it cannot
    drive) or outside a kernel there is no poll: a sign-in still completes (the listener has its
    own thread), and the waiting row says to interrupt the kernel to stop. In an ``async`` cell
    (``await asyncio.to_thread(w.wait, 600)``, as the Voila example does) clicks work as usual.
    """
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None) if shell is not None else None
    # jupyter-ui-poll drives kernel.do_one_iteration(), which ipykernel 7.1 removed (its poll
    # then silently does nothing): use it only where that method exists.
    if kernel is None or not callable(getattr(kernel, "do_one_iteration", None)):
        yield None
        return
    try:
        from jupyter_ui_poll import ui_events as _ui_events
    except ImportError:
        yield None
        return
    with _ui_events() as poll:
        yield lambda: poll(10)
