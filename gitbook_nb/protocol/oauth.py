"""The OAuth2 protocol core, pure: requests are built as values and answers parsed from values.

Nothing here sends, reads a clock or draws randomness that cannot be injected (``now``,
``token_factory``), so the client is the only place that talks HTTP (STYLE.md 1).

Where oauthlib (``oauthlib.oauth2``) is used, and why not everywhere:

* used: ``WebApplicationClient.create_code_challenge`` (PKCE S256), ``prepare_request_body``
  (authorization-code token body) and ``prepare_refresh_body`` (refresh body).
* authorize URL, hand-written: oauthlib's ``prepare_request_uri`` appends to an existing query
  (a ``client_id`` already in the endpoint URL would then appear twice, against A6) and refuses
  ``http://127.0.0.1`` unless the environment variable ``OAUTHLIB_INSECURE_TRANSPORT`` is set,
  which D2 forbids us to rely on. The revocation body is hand-written for the same reason.
* pasted redirect, hand-written (``paste.py``): ``parse_request_uri_response`` uses dict
  semantics (the last duplicate wins, against B3), compares the state with ``!=`` and does not
  check the redirect URI's host and path (B2).
* token answer, hand-written: ``parse_request_body_response`` accepts an ``error`` only as an
  exception type of its own, has no size cap (C5), keeps duplicate form keys, does not check the
  RFC 6750 token syntax (C6) and reports a scope change through a global signal.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gitbook_nb.protocol._discovery import (
    build_registration_request,
    discovery_url,
    parse_discovery,
    parse_registration_response,
)
from gitbook_nb.errors import ConfigError, TokenExchangeError
from gitbook_nb.protocol._types import (
    DEFAULT_LIFETIME,
    Clock,
    Endpoints,
    HTTPRequestSpec,
    PendingFlow,
    clean_code,
    decode_body,
)
from gitbook_nb.protocol._paste import parse_paste
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import host_key, validate_base_url, validate_redirect_uri

__all__ = [
    "DEFAULT_LIFETIME",
    "Endpoints",
    "HTTPRequestSpec",
    "PendingFlow",
    "build_refresh_request",
    "build_registration_request",
    "build_revocation_request",
    "build_token_request",
    "clean_code",
    "decode_body",
    "discovery_url",
    "parse_discovery",
    "parse_paste",
    "parse_registration_response",
    "parse_token_response",
    "pkce_challenge",
    "start_login",
]

TOKEN_MAX_BODY = 64 * 1024  # C5
DISCOVERY_MAX_BODY = 256 * 1024
FLOWS = ("legacy", "current")

_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")  # RFC 3986 unreserved set (PKCE verifier, state)
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 section 2.1
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 section 3.3
_VSCHAR = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
# Parameters start_login owns: extra_params may not set or override them (A5, A6).
_RESERVED = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    }
)
# --------------------------------------------------------------------------- starting a login


def _oauthlib_client(client_id: str | None) -> Any:
    """oauthlib's ``WebApplicationClient``, imported on first use.

    Only a login or a refresh needs it, and importing ``oauthlib.oauth2`` costs ~10 ms, about a
    fifth of ``import requests``, that every kernel's first API call paid through the session
    (bench/README.md, figure 2).
    """
    from oauthlib.oauth2 import WebApplicationClient

    return WebApplicationClient(client_id)


def pkce_challenge(verifier: str) -> str:
    """A5: BASE64URL(SHA256(verifier)) without padding, via oauthlib; never ``plain``."""
    return str(_oauthlib_client(None).create_code_challenge(verifier, "S256"))


def _check_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not _VSCHAR.fullmatch(client_id) or len(client_id) > 256:
        raise ConfigError(
            "client id is missing or not printable ASCII",
            hint="set GITBOOK_CLIENT_ID or configure(client_id=...)",
        )
    return client_id


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for s in scopes:
        if not isinstance(s, str) or not _SCOPE_TOKEN.fullmatch(s):
            raise ConfigError("a scope must be a non-empty word without spaces or quotes")
        if s not in out:
            out.append(s)
    return tuple(out)


def _with_query(endpoint: str, params: list[tuple[str, str]]) -> str:
    """A6: keep the endpoint's own query, drop any key we set (no duplicates), no fragment."""
    parts = urlsplit(endpoint)
    ours = {k for k, _ in params}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept + params), ""))


def start_login(
    *,
    flow: str,
    endpoints: Endpoints,
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str] = (),
    extra_params: Mapping[str, str] | None = None,
    allow_bare_code: bool = False,
    now: Clock = time.time,
    token_factory: Callable[[int], str] = secrets.token_urlsafe,
) -> PendingFlow:
    """Make a new pending login: fresh state (A1) and PKCE S256 (A5) for both flows."""
    if flow not in FLOWS:
        raise ConfigError(f"unknown flow {flow!r}", hint="use 'legacy' or 'current'")
    validate_base_url(endpoints.authorize, what="authorize URL")  # refuses a fragment (A6)
    validate_base_url(endpoints.token, what="token URL")
    validate_redirect_uri(redirect_uri)
    _check_client_id(client_id)
    scope_list = _check_scopes(scopes)
    state = token_factory(32)  # A1: 32 random bytes = 256 bits, 43 URL-safe characters
    verifier = token_factory(64)  # 86 characters, inside PKCE's 43..128
    if not (_UNRESERVED.fullmatch(state) and len(state) >= 43):
        raise ValueError("token_factory must give at least 43 URL-safe characters for state")
    if not (_UNRESERVED.fullmatch(verifier) and 43 <= len(verifier) <= 128):
        raise ValueError("token_factory must give a 43..128 character PKCE verifier")
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge", pkce_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    if scope_list:
        params.append(("scope", " ".join(scope_list)))
    for key, value in (extra_params or {}).items():
        if key in _RESERVED:
            raise ConfigError(f"extra parameter {key!r} is set by gitbook_nb itself")
        params.append((str(key), str(value)))
    return PendingFlow(
        flow=flow,
        authorize_url=_with_query(endpoints.authorize, params),
        state=Secret(state),
        verifier=Secret(verifier),
        redirect_uri=redirect_uri,
        client_id=client_id,
        endpoints=endpoints,
        scopes=scope_list,
        created_at=now(),
        allow_bare_code=allow_bare_code,
    )


# --------------------------------------------------------------------------- token requests

_FORM_HEADERS = {
    "Accept": "application/json",  # C2: ask for JSON; the form-encoded default is still parsed
    "Content-Type": "application/x-www-form-urlencoded",
}


def _form(body: str) -> dict[str, str]:
    # oauthlib builds a urlencoded string; the client wants fields. We produced it, so no
    # duplicates can appear; keep_blank_values keeps an empty client_secret if one was given.
    return dict(parse_qsl(body, keep_blank_values=True))


def build_token_request(
    flow: PendingFlow, code: Secret | str, client_secret: Secret | str | None = None
) -> HTTPRequestSpec:
    """The authorization-code POST: secret and verifier only in the body (C1), JSON asked (C2)."""
    client = _oauthlib_client(flow.client_id)
    kwargs: dict[str, str] = {}
    if client_secret is not None:
        kwargs["client_secret"] = Secret(client_secret).reveal()
    body = client.prepare_request_body(
        code=Secret(code).reveal(),
        redirect_uri=flow.redirect_uri,
        include_client_id=True,
        code_verifier=flow.verifier.reveal(),  # A5: sent in the legacy flow too
        **kwargs,
    )
    return HTTPRequestSpec("POST", flow.endpoints.token, dict(_FORM_HEADERS), form=_form(body))


def build_refresh_request(
    endpoints: Endpoints, token: Token, client_id: str, client_secret: Secret | str | None = None
) -> HTTPRequestSpec:
    """The refresh POST (the refresh token may rotate: the answer is parsed like a new token)."""
    if token.refresh_token is None or not token.refresh_token:
        raise TokenExchangeError(
            "this token cannot be refreshed (no refresh token)", error="no_refresh_token"
        )
    kwargs: dict[str, str] = {"client_id": _check_client_id(client_id)}
    if client_secret is not None:
        kwargs["client_secret"] = Secret(client_secret).reveal()
    body = _oauthlib_client(client_id).prepare_refresh_body(
        refresh_token=token.refresh_token.reveal(), scope=None, **kwargs
    )
    return HTTPRequestSpec("POST", endpoints.token, dict(_FORM_HEADERS), form=_form(body))


def build_revocation_request(
    endpoints: Endpoints, token: Token, client_id: str, *, token_type_hint: str | None = None
) -> HTTPRequestSpec | None:
    """RFC 7009 revocation, or None when the server offers none.

    By default the refresh token is revoked when there is one (RFC 7009 2.1: servers should
    then also drop its access tokens), else the access token.
    """
    if not endpoints.revocation:
        return None
    if token_type_hint is None:
        token_type_hint = "refresh_token" if token.refresh_token else "access_token"
    value = token.refresh_token if token_type_hint == "refresh_token" else token.access_token
    if value is None:
        raise ValueError("token_type_hint names a token this Token does not have")
    form = {"token": value.reveal(), "token_type_hint": token_type_hint, "client_id": client_id}
    return HTTPRequestSpec("POST", endpoints.revocation, dict(_FORM_HEADERS), form=form)


# --------------------------------------------------------------------------- answers

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


def _raise_error_field(data: Mapping[str, Any], status: int) -> None:
    """C4: an ``error`` field is a failure whatever the HTTP status (GitHub answers 200)."""
    if "error" not in data:
        return
    raw = data["error"]
    if isinstance(raw, dict):  # the current API's {"error": {"code": ..., "message": ...}}
        raw = raw.get("code", "unknown")
    code = clean_code(raw)
    # E2: the message carries the code and status only; the description may echo request data.
    raise TokenExchangeError(
        f"the token endpoint refused the login: {code} (HTTP {status})",
        error=code,
        status=status,
        hint=TOKEN_ERROR_HINTS.get(code, GENERIC_TOKEN_HINT),
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
) -> tuple[Token, list[str]]:
    """The token endpoint's answer -> (Token, warnings) or TokenExchangeError (C4-C6).

    ``issuer`` is the token endpoint's URL or its ``host[:port]``: the Token keeps the
    ``host[:port]`` (D3 key).
    """

    def fail(message: str, error: str = "invalid_response") -> TokenExchangeError:
        return TokenExchangeError(message, error=error, status=status, hint=GENERIC_TOKEN_HINT)

    if 300 <= status < 400:
        raise fail(f"the token endpoint answered with a redirect (HTTP {status}); not followed")
    try:
        data = decode_body(headers, body, limit=TOKEN_MAX_BODY)
    except ValueError as exc:
        raise fail(f"unusable token answer (HTTP {status}): {exc}") from None
    if data is not None:
        _raise_error_field(data, status)
    if not 200 <= status < 300:
        raise fail(f"the token endpoint answered HTTP {status}", error=f"http_{status}")
    if data is None:
        raise fail("the token answer is neither JSON nor form-encoded")

    access = data.get("access_token")
    if not isinstance(access, str) or not _B64TOKEN.fullmatch(access):
        raise fail("the token answer has no valid access_token")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise fail(f"unsupported token_type {clean_code(token_type)!r} (only bearer)")
    refresh = data.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or not _VSCHAR.fullmatch(refresh)):
        raise fail("the token answer has an invalid refresh_token")
    t = now()
    expires_at = None
    if data.get("expires_in") not in (None, ""):
        try:
            expires_at = t + _expires_in(data["expires_in"])
        except (TypeError, ValueError, OverflowError):
            raise fail("the token answer has an invalid expires_in") from None

    warnings: list[str] = []
    requested = tuple(dict.fromkeys(requested_scopes))
    granted = requested
    if data.get("scope") is not None:
        try:
            granted = _scope_tuple(data["scope"])
        except ValueError:
            raise fail("the token answer has an invalid scope") from None
        if requested and set(granted) != set(requested):
            missing = sorted(set(requested) - set(granted))
            extra = sorted(set(granted) - set(requested))
            parts = [f"not granted: {' '.join(missing)}"] if missing else []
            parts += [f"also granted: {' '.join(extra)}"] if extra else []
            warnings.append("GitBook changed the requested scopes (" + "; ".join(parts) + ")")
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
