"""The gitbook_nb error tree.

Every failure a user can meet is a :class:`GitBookError`; catch a subclass by meaning::

    GitBookError                    base: a one-line message plus ``hint`` (the next step)
    ├── ConfigError                 a setting or URL is invalid (SECURITY.md D1, A7)
    ├── UnsafeRequestError          refused before sending: bad path (D4), cross-host redirect or
    │                               pagination link (D3), secret where it must not be (E5)
    ├── NotLoggedInError            no token: "run %gitbook login ..., or set GITBOOK_TOKEN"
    ├── LoginError                  a login did not complete; the previous token is kept
    │   ├── PasteError              the pasted text is malformed (B1-B3, B5, B8)
    │   ├── StateMismatchError      ``state`` missing or different (B6, B7)
    │   ├── FlowExpiredError        pending flow older than 10 minutes (A3)
    │   ├── FlowUsedError           pending flow already used, cancelled, or absent (A2, A4)
    │   ├── AccessDeniedError       consent denied / ``error=`` on the redirect (B4)
    │   └── TokenExchangeError      the token endpoint refused (C3-C6); ``error`` holds its code
    ├── TransportError              no usable HTTP answer: connection refused, TLS, DNS
    │   └── RequestTimeoutError     connect/read timeout or overall deadline (D6)
    ├── APIError                    the API answered an error: ``status``, ``code``, ``message``
    │   ├── AuthenticationError     401: token cleared for that host, log in again (D5)
    │   ├── PermissionDeniedError   403: ``scope`` names the missing scope when known
    │   ├── NotFoundError           404 (GitBook also answers 404 when unauthenticated)
    │   ├── RateLimitedError        429: ``retry_after`` seconds (D7)
    │   ├── ServerError             5xx
    │   └── InvalidResponseError    non-JSON, truncated or oversized body (C5, D8)
    └── StorageError                the opt-in token store refused or failed (F2, F3)

Messages are built from method, path, status and error codes only, never from a token, secret,
code or verifier (SECURITY.md E2). Library code raises these ``from None`` when translating
exceptions from requests/urllib3 so their frames (which hold headers) never reach a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AccessDeniedError",
    "AuthenticationError",
    "ConfigError",
    "FlowExpiredError",
    "FlowUsedError",
    "GitBookError",
    "InvalidResponseError",
    "LoginError",
    "NotFoundError",
    "NotLoggedInError",
    "PasteError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerError",
    "StateMismatchError",
    "StorageError",
    "TokenExchangeError",
    "TransportError",
    "UnsafeRequestError",
]


class GitBookError(Exception):
    """Base of every gitbook_nb error: ``str(err)`` is one line, ``err.hint`` the next step."""

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # One line, always: a message is shown as an IPython UsageError or a widget status line.
        self.message = " ".join(str(message).split())
        self.hint = " ".join((hint if hint is not None else self.default_hint).split())
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.hint and self.hint not in self.message:
            return f"{self.message} ({self.hint})" if self.message else self.hint
        return self.message

    def __reduce__(self):  # keep pickling/copying working for subclasses with extra fields
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[GitBookError], state: dict) -> GitBookError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class ConfigError(GitBookError):
    """A setting, profile or URL is invalid."""

    default_hint = "check gitbook_nb.configure(...) or the GITBOOK_* environment variables"


class UnsafeRequestError(GitBookError):
    """Refused before anything was sent, because sending would be unsafe."""


class NotLoggedInError(GitBookError):
    """A call was made before a login completed."""

    default_hint = "run %gitbook login (gitbook_nb.login() in Python), or set GITBOOK_TOKEN"


class LoginError(GitBookError):
    """A login did not complete. Whatever token was in place before is kept."""

    default_hint = "start a new login with %gitbook login"


class PasteError(LoginError):
    """The pasted redirect address or code is malformed."""

    default_hint = "copy the whole address from the browser's address bar and paste it again"


class StateMismatchError(LoginError):
    """The ``state`` in the redirect is missing or is not the one this login sent."""

    default_hint = (
        "this answer does not belong to the login started here; start a new login and "
        "paste only the address it leads to"
    )


class FlowExpiredError(LoginError):
    """The pending login is older than its lifetime (10 minutes)."""

    default_hint = "the login link expired; start a new login with %gitbook login"


class FlowUsedError(LoginError):
    """The pending login was already used, was replaced by a newer one, or never existed."""

    default_hint = "start a new login with %gitbook login"


class AccessDeniedError(LoginError):
    """The user (or the server) refused consent."""

    default_hint = "start a new sign-in with %gitbook login if that was a mistake"


class TokenExchangeError(LoginError):
    """The token endpoint refused the code, the client or the answer was unusable."""

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.error = error
        self.status = status
        super().__init__(message, hint=hint)


class TransportError(GitBookError):
    """No usable HTTP answer arrived (connection refused, DNS, TLS...)."""

    default_hint = "check the network and the API address (gitbook_nb.status())"


class RequestTimeoutError(TransportError):
    """A connect or read timeout, or the overall deadline, passed."""

    default_hint = "the server is slow or unreachable; try again or raise the timeout"


class APIError(GitBookError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        method: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        super().__init__(message, hint=hint)


class AuthenticationError(APIError):
    """401: the token is invalid, expired or revoked; it has been cleared for that host."""

    default_hint = "sign in again with %gitbook login"


class PermissionDeniedError(APIError):
    """403: the token lacks a permission or scope."""

    def __init__(self, message: str, *, scope: str | None = None, **kw) -> None:
        self.scope = scope
        super().__init__(message, **kw)


class NotFoundError(APIError):
    """404 (GitBook also answers 404 to unauthenticated calls on some endpoints)."""

    default_hint = "check the path and ids; GitBook also answers 404 when you may not see it"


class RateLimitedError(APIError):
    """429: rate limited; ``retry_after`` is the advised wait in seconds when known, and
    ``rate_limit`` the answer's ``X-RateLimit-*`` headers (limit, remaining, reset) when sent."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, rate_limit: Any = None, **kw
    ) -> None:
        self.retry_after = retry_after
        self.rate_limit = rate_limit
        super().__init__(message, **kw)


class ServerError(APIError):
    """5xx from the API."""

    default_hint = "GitBook had a problem; try again in a moment"


class InvalidResponseError(APIError):
    """The answer was not the JSON expected: not JSON, truncated, or over the size cap."""


class StorageError(GitBookError):
    """The opt-in persistent token store refused or failed."""
