"""gitbook_nb: sign in to GitBook with OAuth2 from Jupyter and query its API as tables.

Importing the package is cheap and silent: public names are resolved lazily (PEP 562), so
``import gitbook_nb`` opens no socket, writes no file and imports neither ipywidgets nor pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "APIError": "errors",
    "AccessDeniedError": "errors",
    "AuthenticationError": "errors",
    "ConfigError": "errors",
    "FlowExpiredError": "errors",
    "FlowUsedError": "errors",
    "GitBookError": "errors",
    "InvalidResponseError": "errors",
    "LoginError": "errors",
    "NotFoundError": "errors",
    "NotLoggedInError": "errors",
    "PasteError": "errors",
    "PermissionDeniedError": "errors",
    "RateLimitedError": "errors",
    "RequestTimeoutError": "errors",
    "ServerError": "errors",
    "StateMismatchError": "errors",
    "StorageError": "errors",
    "TokenExchangeError": "errors",
    "TransportError": "errors",
    "UnsafeRequestError": "errors",
    # values
    "Result": "display",
    "Secret": "protocol.tokens",
    "Token": "protocol.tokens",
    # docs as data (issue 11)
    "ChangeRequestResult": "content",
    "ExportError": "content",
    "ExportResult": "content",
    "PageResult": "content",
    "PublishError": "content",
    "change_request": "content",
    "change_requests": "content",
    "export": "content",
    "page": "content",
    "publish": "content",
    # the kernel session (DESIGN.md section 2)
    "begin_login": "kernel.session",
    "configure": "kernel.session",
    "delete": "kernel.session",
    "finish_login": "kernel.session",
    "get": "kernel.session",
    "history": "kernel.session",
    "login_with_token": "kernel.session",
    "logout": "kernel.session",
    "paginate": "kernel.session",
    "patch": "kernel.session",
    "post": "kernel.session",
    "profile": "kernel.session",
    "status": "kernel.session",
    "whoami": "kernel.session",
    # site analytics and Ask (issue 12); gitbook_nb.insights is also the (callable) package
    "ask": "insights",
    "insights": "insights",
}

__all__ = sorted([*_EXPORTS, "load_ipython_extension", "login", "unload_ipython_extension"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gitbook_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def login(*, token: bool = False, **settings: Any) -> Any:
    """Show the login widget; ``login(token=True)`` asks for a personal access token instead."""
    if token:
        from gitbook_nb.kernel.session import login_with_token

        return login_with_token(**settings)
    from gitbook_nb.notebook.widget import login as _widget_login

    return _widget_login(**settings)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gitbook_nb``: register the ``%gitbook`` / ``%%gitbook`` magics."""
    from gitbook_nb.notebook.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from gitbook_nb.notebook.magics import unload_ipython_extension as _unload

    _unload(ipython)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gitbook_nb.content import (
        ChangeRequestResult,
        ExportError,
        ExportResult,
        PageResult,
        PublishError,
        change_request,
        change_requests,
        export,
        page,
        publish,
    )
    from gitbook_nb.display.result import Result
    from gitbook_nb.errors import *  # noqa: F403
    from gitbook_nb.kernel.session import (
        begin_login,
        configure,
        delete,
        finish_login,
        get,
        history,
        login_with_token,
        logout,
        paginate,
        patch,
        post,
        profile,
        status,
        whoami,
    )
    from gitbook_nb.protocol.tokens import Secret, Token
