"""The token endpoint's answer, read as a value (C2-C6); re-exported from ``oauth``.

Hand-written rather than oauthlib's ``parse_request_body_response``: that one accepts an
``error`` only as an exception type of its own, has no size cap (C5), keeps duplicate form keys,
does not check the RFC 6750 token syntax (C6) and reports a scope change through a global signal.

Every failure is built by a helper that returns it, and raised from a frame that no longer
holds the answer: ``%xmode Verbose`` prints the locals of every frame of a traceback, and a
refused answer may still carry a working access token (E2).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from gitbook_nb.errors import TokenExchangeError
from gitbook_nb.protocol._client_auth import client_auth_hint
from gitbook_nb.protocol._types import Clock, clean_code, decode_body
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key, server_name

__all__ = ["GENERIC_TOKEN_HINT", "TOKEN_ERROR_HINTS", "TOKEN_MAX_BODY", "parse_token_response"]

TOKEN_MAX_BODY = 64 * 1024  # C5
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 section 2.1
_VSCHAR = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space

# C4: what to do next, per error code (GitHub-style and RFC 6749).
TOKEN_ERROR_HINTS = {
    "bad_verification_code": "the code was already used or expired; start a new login",
    "incorrect_client_credentials": "the client id or secret is wrong; check GITBOOK_CLIENT_ID "
    "and GITBOOK_CLIENT_SECRET",
    "redirect_uri_mismatch": "the redirect URI differs from the one registered for this app; "
    "check GITBOOK_REDIRECT_URI",
    "invalid_grant": "the code (or refresh token) is invalid, expired or already used; start a "
    "new login",
    "invalid_client": "the server does not accept this client id or secret; check "
    "GITBOOK_CLIENT_ID and GITBOOK_CLIENT_SECRET",
}
GENERIC_TOKEN_HINT = "start a new login; if it fails again, check the client settings"
# Codes that mean "the client did not authenticate": with a known method, the hint names it
# and the setting instead of blaming the id and secret alone.
_CLIENT_AUTH_CODES = frozenset({"incorrect_client_credentials", "invalid_client"})


def _error_field(
    data: Mapping[str, Any], status: int, who: str, auth_method: str | None
) -> TokenExchangeError | None:
    """C4: an ``error`` field is a failure whatever the HTTP status (GitHub answers 200)."""
    if "error" not in data:
        return None
    raw = data["error"]
    if isinstance(raw, dict):  # the current API's {"error": {"code": ..., "message": ...}}
        raw = raw.get("code", "unknown")
    code = clean_code(raw)
    if auth_method is not None and code in _CLIENT_AUTH_CODES:
        hint = client_auth_hint(auth_method)
    else:
        hint = TOKEN_ERROR_HINTS.get(code, GENERIC_TOKEN_HINT)
    # E2: the message carries the code and status only; the description may echo request data.
    return TokenExchangeError(
        f"{who} refused the login: {code} (HTTP {status})", error=code, status=status, hint=hint
    )


def _expires_in(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(value)  # form answers carry it as text
    if not (0 < number <= 10 * 365 * 86400):
        raise ValueError
    return number


def _scope_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(dict.fromkeys(value.replace(",", " ").split()))
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(dict.fromkeys(value))
    raise ValueError


def parse_token_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    issuer: str,
    client_id: str,
    requested_scopes: Iterable[str] = (),
    now: Clock = time.time,
    auth_method: str | None = None,
    endpoint: str | None = None,
) -> tuple[Token, list[str]]:
    """The token endpoint's answer -> (Token, warnings) or TokenExchangeError (C4-C6).

    ``issuer`` is the token endpoint's URL or its ``host[:port]``: the Token keeps the
    ``host[:port]`` (D3 key). ``endpoint`` (the token URL) names the server in messages, else
    ``issuer`` does. ``auth_method`` is how the client authenticated: a refused client then
    gets a hint that names the method and the setting.
    """
    result = _read(
        status,
        headers,
        body,
        issuer=issuer,
        client_id=client_id,
        requested_scopes=requested_scopes,
        now=now,
        who=server_name(endpoint or issuer),
        auth_method=auth_method,
    )
    del body  # E2: the frame that raises must not hold the answer (it may carry a token)
    if isinstance(result, TokenExchangeError):
        raise result
    return result


def _read(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    issuer: str,
    client_id: str,
    requested_scopes: Iterable[str],
    now: Clock,
    who: str,
    auth_method: str | None,
) -> tuple[Token, list[str]] | TokenExchangeError:
    """The parse itself: returns the failure instead of raising it (see the module doc)."""

    def fail(message: str, error: str = "invalid_response") -> TokenExchangeError:
        return TokenExchangeError(message, error=error, status=status, hint=GENERIC_TOKEN_HINT)

    if 300 <= status < 400:
        return fail(f"{who} answered the token request with a redirect (HTTP {status}); not used")
    try:
        data = decode_body(headers, body, limit=TOKEN_MAX_BODY)
    except ValueError as exc:
        return fail(f"unusable token answer from {who} (HTTP {status}): {exc}")
    if data is not None and (refused := _error_field(data, status, who, auth_method)):
        return refused
    if status == 401 and auth_method is not None:  # RFC 6749 5.2: the client did not authenticate
        return TokenExchangeError(
            f"{who} refused the client (HTTP 401)",
            error="http_401",
            status=status,
            hint=client_auth_hint(auth_method),
        )
    if not 200 <= status < 300:
        return fail(f"{who} answered the token request with HTTP {status}", error=f"http_{status}")
    if data is None:
        return fail(f"the token answer from {who} is neither JSON nor form-encoded")

    access = data.get("access_token")
    if not isinstance(access, str) or not _B64TOKEN.fullmatch(access):
        return fail(f"the token answer from {who} has no valid access_token")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        return fail(f"unsupported token_type {clean_code(token_type)!r} from {who} (only bearer)")
    refresh = data.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or not _VSCHAR.fullmatch(refresh)):
        return fail(f"the token answer from {who} has an invalid refresh_token")
    t = now()
    expires_at = None
    if data.get("expires_in") not in (None, ""):
        try:
            expires_at = t + _expires_in(data["expires_in"])
        except (TypeError, ValueError, OverflowError):
            return fail(f"the token answer from {who} has an invalid expires_in")

    warnings: list[str] = []
    requested = tuple(dict.fromkeys(requested_scopes))
    granted = requested
    if data.get("scope") is not None:
        try:
            granted = _scope_tuple(data["scope"])
        except ValueError:
            return fail(f"the token answer from {who} has an invalid scope")
        if requested and set(granted) != set(requested):
            missing = sorted(set(requested) - set(granted))
            extra = sorted(set(granted) - set(requested))
            parts = [f"not granted: {' '.join(missing)}"] if missing else []
            parts += [f"also granted: {' '.join(extra)}"] if extra else []
            warnings.append(f"{who} changed the requested scopes (" + "; ".join(parts) + ")")
    token = Token(
        access_token=Secret(access),
        token_type="bearer",
        refresh_token=Secret(refresh) if refresh else None,
        expires_at=expires_at,
        scope=granted,
        issuer=host_key(issuer) if "://" in issuer else issuer.lower(),
        client_id=client_id,
        source="oauth",
        obtained_at=t,
    )
    return token, warnings
