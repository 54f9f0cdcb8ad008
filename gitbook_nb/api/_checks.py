"""What a call may carry, checked before anything is sent: the method, the caller's headers,
and where the bearer token may go (D3).

Split from :mod:`gitbook_nb.api.client` so that ``request`` and ``stream`` share one copy of
each rule (paths are ``_paths``' business, D4). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from gitbook_nb.api._paths import escape_snippet, token_host_matches
from gitbook_nb.errors import UnsafeRequestError
from gitbook_nb.protocol.tokens import Secret, Token

__all__ = ["METHODS", "bearer_for", "checked_headers", "checked_method"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
# Headers only the client writes: a caller cannot smuggle credentials or re-target the request.
_RESERVED_HEADERS = {"authorization", "proxy-authorization", "cookie", "host", "content-length"}
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def checked_method(method: str) -> str:
    """The method in upper case, if it is one the client sends."""
    method = str(method).upper()
    if method not in METHODS:
        raise UnsafeRequestError(
            f"unsupported HTTP method {escape_snippet(method, 20)}",
            hint=f"use one of {', '.join(sorted(METHODS))}",
        )
    return method


def checked_headers(extra: Mapping[str, str] | None, user_agent: str) -> dict[str, str]:
    """The headers to send: ours, then the caller's (none that only we may write, no control
    or non-ASCII characters: requests' own error would quote the value)."""
    headers = {"User-Agent": user_agent, "Accept": "application/json"}
    for name, value in (extra or {}).items():
        if name.lower() in _RESERVED_HEADERS:
            raise UnsafeRequestError(
                f"the header {escape_snippet(name, 40)} is set by gitbook_nb only"
            )
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise UnsafeRequestError(
                f"the header {escape_snippet(name, 40)} has a value "
                "with control or non-ASCII characters"
            )
        headers[name] = value
    return headers


def bearer_for(token: Token | None, url: str, label: str) -> Secret | None:
    """The token to send to ``url``: only to the host it was issued for (D3)."""
    if token is None:
        return None
    if not token_host_matches(token.issuer, url):
        raise UnsafeRequestError(
            f"{label}: the token was issued for {escape_snippet(token.issuer or '?', 80)}, "
            f"not {urlsplit(url).netloc}; it is not sent there",
            hint="sign in for this API host (tokens are pinned to their host)",
        )
    return token.access_token
