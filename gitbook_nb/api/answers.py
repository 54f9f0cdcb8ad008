"""What the API answered: the Response value, rate-limit headers, JSON (D8) and errors (E2).

Pure functions over plain values (status, headers, body bytes), split from the client so they
can be tested without a server. Both GitBook error shapes are understood::

    legacy   {"error": "Not found", "code": 404}
    current  {"error": {"code": 404, "message": "..."}}

Messages are built from method, path (no query string: it may carry values), status and the
API's own message, escaped and cut to 200 characters (E2). Every live secret (the token in use,
its refresh token, the client secret) is masked in *everything* the server supplied that can
reach an error: the body, the reason phrase, the ``WWW-Authenticate`` header the missing scope is
read from, and ``APIError.code``, should a server or proxy ever echo one.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from gitbook_nb.api._paths import escape_snippet
from gitbook_nb.errors import (
    APIError,
    AuthenticationError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = [
    "RateLimit",
    "Response",
    "error_for",
    "mask_text",
    "parse_json",
    "parse_rate_limit",
    "retry_after_seconds",
]


@dataclass(frozen=True)
class RateLimit:
    """``X-RateLimit-*`` of the last answer; ``reset`` is epoch seconds as GitBook sends it."""

    limit: int | None
    remaining: int | None
    reset: float | None


@dataclass(frozen=True)
class Response:
    """One API answer. ``path`` is the relative path without its query string."""

    method: str
    path: str
    url: str
    status: int
    headers: Mapping[str, str]
    data: Any
    elapsed: float
    rate_limit: RateLimit | None = None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    limit = _int(headers.get("X-RateLimit-Limit"))
    remaining = _int(headers.get("X-RateLimit-Remaining"))
    reset = _int(headers.get("X-RateLimit-Reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit, remaining, None if reset is None else float(reset))


def retry_after_seconds(headers: Mapping[str, str], *, wall: float) -> float | None:
    """``Retry-After`` (seconds or HTTP date, RFC 9110 10.2.3); else, on an exhausted quota,
    the time until ``X-RateLimit-Reset``. None when the server gave no hint."""
    value = (headers.get("Retry-After") or "").strip()
    if value:
        if re.fullmatch(r"\d{1,10}(\.\d+)?", value):
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - wall)
    rl = parse_rate_limit(headers)
    if rl is not None and rl.remaining == 0 and rl.reset is not None:
        return max(0.0, rl.reset - wall)
    return None


#: The live secrets of a call: Secrets (revealed only here, to compare) or None.
Live = Iterable["Secret | str | None"]


def _plain(live: Live) -> list[str]:
    out = []
    for value in live:
        text = value.reveal() if isinstance(value, Secret) else value
        if text and len(text) >= 4:  # a shorter "secret" would mask ordinary words
            out.append(text)
    return out


def _masked(body: bytes, live: Live) -> bytes:
    """``body`` with every live secret masked, *before* a snippet is cut: cutting first could
    keep a prefix of a token that straddles the cut (E2)."""
    for text in _plain(live):
        body = body.replace(text.encode(), MASK.encode())
    return body


def mask_text(text: str, live: Live) -> str:
    """``text`` (a reason phrase, a header, a code) with every live secret masked (E2)."""
    for secret in _plain(live):
        text = text.replace(secret, MASK)
    return text


def parse_json(
    status: int, body: bytes, *, label: str, live: Live = (), secret: str | None = None
) -> tuple[Any, InvalidResponseError | None]:
    """D8: ``(data, None)``, or ``(None, error)`` with the status and an escaped snippet.

    Returns the error instead of raising it so the caller raises outside any ``except`` block
    (a clean ``__context__``, never a raw JSONDecodeError). ``live`` secrets (and ``secret``,
    the older spelling) are masked in the snippet, should a proxy or debug page echo the request
    headers (E2).
    """
    if not body.strip():
        return None, None
    try:
        return jsonlib.loads(body), None
    except (ValueError, RecursionError):
        pass
    live = (*live, secret)
    return None, InvalidResponseError(
        f"{label}: the answer ({status}) is not JSON: {escape_snippet(_masked(body, live))!s}",
        status=status,
        hint="the server sent something else (an HTML error page, a proxy?); check the API URL",
    )


def _api_message(body: bytes) -> tuple[str, Any]:
    """(message, code) from either error shape, or an escaped snippet of a non-JSON body."""
    try:
        data = jsonlib.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        return escape_snippet(body), None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):  # current shape
            return str(err.get("message") or ""), err.get("code")
        if isinstance(err, str):  # legacy shape (or RFC 6749 / GitHub-style)
            text = err
            if isinstance(data.get("error_description"), str):
                text = f"{err}: {data['error_description']}"
            return text, data.get("code", err)
        if isinstance(data.get("message"), str):
            return data["message"], data.get("code")
    return "", None


_SCOPE_IN_TEXT = re.compile(
    r"(?:missing|required|requires|insufficient)[^:]{0,20}scopes?\s*[:=]?\s*[\"'`]?"
    r"([a-z][a-z0-9_-]*(?::[a-z0-9_-]+)+)",
    re.IGNORECASE,
)
_SCOPE_IN_HEADER = re.compile(r'scope="?([^",]+)"?', re.IGNORECASE)


def missing_scope(message: str, www_authenticate: str) -> str | None:
    """The scope a 403 asks for: ``Missing scope: space:read`` or RFC 6750's
    ``WWW-Authenticate: Bearer error="insufficient_scope", scope="space:read"``."""
    found = _SCOPE_IN_HEADER.search(www_authenticate or "")
    if found and "insufficient_scope" in www_authenticate:
        return found.group(1).strip().split()[0]
    found = _SCOPE_IN_TEXT.search(message or "")
    return found.group(1) if found else None


_HINTS = {
    400: "check the parameters of the request",
    409: "the resource changed or already exists; reload it and try again",
    412: "a precondition failed (the resource changed since you read it)",
    422: "the API could not process the body; check its fields",
}


def error_for(
    status: int,
    reason: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
    live: Live = (),
    secret: str | None = None,
) -> APIError:
    """Map an error answer onto the error tree (E2: no live secret anywhere in it).
    ``live``: the call's secrets (``secret``: one more, the older spelling)."""
    live = (*live, secret)
    text, code = _api_message(_masked(body, live))
    text = escape_snippet(mask_text(text, live))
    if isinstance(code, str):
        code = escape_snippet(mask_text(code, live), 64)
    elif not isinstance(code, (int, type(None))) or isinstance(code, bool):
        code = escape_snippet(mask_text(str(code), live), 64)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = escape_snippet(mask_text(reason, live), 40)
    message = f"{method} {path}: {status} {phrase}" + (f": {text}" if text else "")
    kw: dict[str, Any] = {
        "status": status,
        "code": code if code is not None else status,
        "method": method,
        "path": path,
    }
    if status == 401:
        return AuthenticationError(message, **kw)
    if status == 403:
        scope = missing_scope(text, mask_text(headers.get("WWW-Authenticate", ""), live))
        hint = (
            f"the token lacks the scope {scope}; sign in again asking for it"
            if scope
            else "the token may not do this; check its permissions or scopes"
        )
        return PermissionDeniedError(message, scope=scope, hint=hint, **kw)
    if status == 404:
        return NotFoundError(message, **kw)
    if status == 429:
        wait = f"retry in {retry_after:.0f} s" if retry_after is not None else "wait a moment"
        return RateLimitedError(
            message,
            retry_after=retry_after,
            rate_limit=parse_rate_limit(headers),
            hint=f"rate limited: {wait}",
            **kw,
        )
    if status >= 500:
        return ServerError(message, **kw)
    return APIError(message, hint=_HINTS.get(status, "the API refused the request"), **kw)
