"""One setting's value: its type, its range, and the checks it must pass (D1, A7, E5).

Split from ``config`` (which owns the defaults, the environment names and the precedence) so
each module stays one concept. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from gitbook_nb.errors import ConfigError
from gitbook_nb.protocol._client_auth import AUTH_METHODS
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import validate_base_url, validate_redirect_uri

__all__ = ["FLOATS", "FLOWS", "INTS", "SANDBOX_MARKER", "TOKEN_STORES", "URL_FIELDS", "coerce"]

#: A profile whose URLs are this marker talks to the embedded sandbox; the session starts one
#: (lazily) and fills the real URLs in with ``config.with_sandbox``.
SANDBOX_MARKER = "sandbox:"
FLOWS = ("legacy", "current")
TOKEN_STORES = ("memory", "file", "keyring")
URL_FIELDS = ("api_url", "oauth_url", "authorize_url", "token_url")
FLOATS = frozenset({"connect_timeout", "read_timeout", "deadline", "retry_after_cap"})
INTS = frozenset(
    {"max_body", "token_max_body", "max_retries", "page_limit", "max_pages", "export_concurrency"}
)


def _parse_scopes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = re.split(r"[\s,]+", value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = [str(v) for v in value]
    else:
        raise ConfigError("scopes must be a string (space or comma separated) or a list")
    out = tuple(dict.fromkeys(s.strip() for s in items if s and s.strip()))
    for scope in out:
        if not re.fullmatch(r"[A-Za-z0-9:._\-]+", scope):
            raise ConfigError(f"scope {scope[:40]!r} has characters a scope cannot contain")
    return out


def _number(name: str, value: Any) -> float | int | None:
    kind = float if name in FLOATS else int
    if value is None and name == "page_limit":
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    try:
        number = kind(value.strip()) if isinstance(value, str) else kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a {kind.__name__}, got {str(value)[:40]!r}") from None
    if kind is int and isinstance(value, float) and value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if name == "max_retries":
        if not 0 <= number <= 10:
            raise ConfigError("max_retries must be between 0 and 10")
    elif name == "retry_after_cap":
        if not 0 <= number <= 3600:
            raise ConfigError("retry_after_cap must be between 0 and 3600 seconds")
    elif name == "export_concurrency":
        if not 1 <= number <= 32:
            raise ConfigError("export_concurrency must be between 1 and 32")
    elif name == "page_limit":
        if not 1 <= number <= 1000:
            raise ConfigError("page_limit must be between 1 and 1000 (GitBook's maximum)")
    elif not number > 0 or number != number or number == float("inf"):
        raise ConfigError(f"{name} must be a positive finite number")
    return number


def _optional_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    value = value.strip()
    return value or None


def coerce(name: str, value: Any, *, profiles: Collection[str]) -> Any:
    """Type-check and coerce one setting (strings from the environment or %config included).

    ``profiles`` are the valid profile names (config owns the table).
    """
    if name in FLOATS or name in INTS:
        return _number(name, value)
    if name == "scopes":
        return _parse_scopes(value)
    if name == "client_secret":
        # E5: a plain str is accepted (from getpass or os.environ by the caller) but wrapped
        # here, at once; it must never be a literal in a shared notebook.
        if value is None or isinstance(value, Secret):
            return value if value else None
        if isinstance(value, str):
            return Secret(value.strip()) if value.strip() else None
        raise ConfigError("client_secret must be a string or a Secret")
    if name == "flow":
        value = _optional_str(name, value)
        if value not in FLOWS:
            raise ConfigError(f"flow must be one of {', '.join(FLOWS)}")
        return value
    if name == "token_auth_method":
        value = _optional_str(name, value)
        if value is None or value.lower() == "auto":
            return None
        if value not in AUTH_METHODS:
            raise ConfigError(
                f"token_auth_method must be one of {', '.join(AUTH_METHODS)}, or unset for auto"
            )
        return value
    if name == "token_store":
        value = _optional_str(name, value)
        if value not in TOKEN_STORES:
            raise ConfigError(f"token_store must be one of {', '.join(TOKEN_STORES)}")
        return value
    if name == "profile":
        value = _optional_str(name, value)
        if value not in profiles:
            raise ConfigError(
                f"unknown profile {str(value)[:40]!r}; profiles: {', '.join(profiles)}"
            )
        return value
    if name in URL_FIELDS:
        value = _optional_str(name, value)
        if value is None or value == SANDBOX_MARKER:
            if value is None and name == "api_url":
                raise ConfigError("api_url cannot be empty")
            return value
        return validate_base_url(value.rstrip("/") or value, what=name.replace("_", " "))
    if name == "redirect_uri":
        value = _optional_str(name, value)
        return None if value is None else validate_redirect_uri(value)
    if name == "user_agent":
        value = _optional_str(name, value) or ""
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or not value.isascii():
            raise ConfigError("user_agent must be printable ASCII")
        return value
    return _optional_str(name, value)  # client_id, token_file
