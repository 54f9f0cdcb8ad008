"""The finish step of a login: when a redirect can finish it, and what the outcome says.

Split from :mod:`gitbook_nb.notebook._login_flow` (one concept per module): the flow keeps
the state and calls these for the rules and the words. Every line is for the person: what
happened and the next step, with no rule ids (:func:`plain_words`) and no secret (an
unexpected error shows its type only). No ipywidgets here.
"""

from __future__ import annotations

from typing import Any

from gitbook_nb.errors import AccessDeniedError, GitBookError
from gitbook_nb.notebook._words import plain_words

__all__ = ["ASK_SECRET", "failure_line", "finish_problem", "signed_in_line"]

ASK_SECRET = "Enter the app's client secret in the box above, then click 'Finish sign-in'."


def finish_problem(done: bool, flow: Any, text: str) -> str | None:
    """Why ``text`` cannot finish this login now (the status line to show), else None."""
    if done:
        return "Already signed in with this widget; run gitbook_nb.login() to sign in again."
    if flow is None:
        return "Click 'Sign in with GitBook' first."
    if not text.strip():
        return (
            "Paste the address the browser shows after you approved, then click 'Finish sign-in'."
        )
    return None


def signed_in_line(session: Any) -> str:
    """The signed-in line; a failed user lookup does not undo the sign-in, it is only said."""
    host = session.target()["host"]
    try:
        return f"Signed in as {session.whoami().get('name') or '?'} on {host}"
    except GitBookError as err:
        return f"Signed in on {host}, but reading the user failed: {err}"


def failure_line(err: BaseException) -> tuple[str, str]:
    """(status line, failure kind) for an error while signing in; the kind is ``denied`` or
    ``error`` and is kept only when the failure ends the login."""
    if isinstance(err, AccessDeniedError):
        # The consent page is gone once Deny was clicked: the next step is here, not there.
        what = err.message.rstrip(".")
        return f"Sign-in failed: {what}. Click Start again to sign in again.", "denied"
    if isinstance(err, GitBookError):
        return f"Sign-in failed: {plain_words(str(err))}", "error"
    # unexpected: the type only, its text might hold a secret
    return f"Sign-in failed with an unexpected {type(err).__name__}; click Start again.", "error"
