"""The OAuth app's client secret during one login, and a redirect that arrived before it.

Split from :mod:`gitbook_nb.notebook._login_flow` (one concept per module). A registered
legacy app needs its client secret to finish a sign-in. It comes from a getpass prompt while
the login's cell runs, or from the widget's Password box; a redirect the listener catches
before the secret was typed is held until it is. Both live only here, in kernel memory, as
:class:`Secret`, never in a trait (SECURITY.md E4). No ipywidgets here.
"""

from __future__ import annotations

from collections.abc import Callable

from gitbook_nb.errors import TokenExchangeError
from gitbook_nb.protocol.tokens import Secret

__all__ = ["ClientSecret", "NoStdinError"]

# Token-endpoint error codes that mean "the client secret is wrong": ask for it again.
_BAD_SECRET = {"incorrect_client_credentials", "invalid_client", "unauthorized_client"}
_SPACE = " \t\r\n"


class NoStdinError(Exception):
    """The front end cannot answer a getpass prompt (Voila, a comm callback, no kernel)."""


class ClientSecret:
    """One login's client secret (``value``, from the prompt) and ``held`` redirect."""

    def __init__(self, prompt: Callable[[str], str] | None) -> None:
        self._prompt = prompt
        self.value: Secret | None = None  # from getpass: kept across Start again
        self.held: Secret | None = None  # a redirect that arrived before the secret was typed

    def ask(self, client_id: str) -> None:
        """Ask once with the prompt, if there is one and no secret yet; a front end without
        stdin (:class:`NoStdinError`) leaves the Password box to ask instead."""
        if self.value is not None or self._prompt is None:
            return
        try:
            value = self._prompt(f"Client secret of the GitBook app {client_id}: ")
            self.value = Secret(value.strip(_SPACE)) if value else None
        except NoStdinError:
            self.value = None

    def take(self, typed: str) -> Secret | None:
        """The secret for this attempt: the one typed into the box, else the prompt's."""
        typed = typed.strip(_SPACE)
        return Secret(typed) if typed else self.value

    def take_held(self) -> Secret | None:
        """The held redirect, once: it is dropped here whatever happens next."""
        held, self.held = self.held, None
        return held

    def refused(self, err: TokenExchangeError) -> bool:
        """True (and the secret forgotten) when the token endpoint refused the secret."""
        if err.error in _BAD_SECRET:
            self.value = None
            return True
        return False

    def clear(self) -> None:
        self.value = self.held = None
