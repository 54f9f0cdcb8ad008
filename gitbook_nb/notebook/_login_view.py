"""What a login asks its view to show: the ``_view_*`` hooks, drawing nothing by default.

Split from :mod:`gitbook_nb.notebook._login_flow` (one concept per module): the flow calls
these and never touches a widget, so it runs and is tested without ipywidgets or a front end;
:class:`gitbook_nb.notebook.widget.LoginWidget` implements them with stock ipywidgets.
"""

from __future__ import annotations

__all__ = ["LoginView"]


class LoginView:
    """The view hooks of a login, as no-ops (a flow with no view, as in tests and scripts)."""

    def _view_link(self, href: str | None, note: str = "") -> None:
        """The sign-in link; None once the login is over (it holds the state parameter, E4)."""

    def _view_title(self, text: str) -> None: ...
    def _view_mode(self, text: str) -> None: ...
    def _view_status(self, text: str) -> None: ...
    def _view_password(self, needed: bool) -> None:
        """Show or hide the client-secret box."""

    def _view_take_password(self) -> str:
        """The typed client secret, read once: the box is emptied at once (E4)."""
        return ""

    def _view_clear_inputs(self) -> None:
        """Empty every input box: no pasted address or secret stays in a trait (E4)."""

    def _view_inputs_enabled(self, enabled: bool) -> None: ...
    def _view_state(self, state: str) -> None: ...
    def _view_countdown(self, text: str) -> None: ...
