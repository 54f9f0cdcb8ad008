"""The OAuth2 protocol core, pure: requests are built as values and answers parsed from values.

Nothing here sends, reads a clock or draws randomness that cannot be injected (``now``,
``token_factory``), so the client is the only place that talks HTTP (STYLE.md 1).

Where oauthlib (``oauthlib.oauth2``) is used, and why not everywhere:

* used: ``WebApplicationClient.create_code_challenge`` (PKCE S256), ``prepare_request_body``
  (authorization-code token body) and ``prepare_refresh_body`` (refresh body). The client's
  credentials are added by ``_client_auth`` (none, body or Basic), which says why by hand.
* authorize URL, hand-written: oauthlib's ``prepare_request_uri`` appends to an existing query
  (a ``client_id`` already in the endpoint URL would then appear twice, against A6) and refuses
  ``http://127.0.0.1`` unless the environment variable ``OAUTHLIB_INSECURE_TRANSPORT`` is set,
  which D2 forbids us to rely on. The revocation body is hand-written for the same reason.
* pasted redirect, hand-written (``paste.py``): ``parse_request_uri_response`` uses dict
  semantics (the last duplicate wins, against B3), compares the state with ``!=`` and does not
  check the redirect URI's host and path (B2).
* token answer, hand-written (``_token_answer.py`` says why).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gitbook_nb.errors import ConfigError, TokenExchangeError
from gitbook_nb.protocol._client_auth import (
    AUTH_METHODS,
    basic_authorization,
    choose_auth_method,
    client_auth_fields,
    client_auth_hint,
    revocation_auth_method,
)
from gitbook_nb.protocol._discovery import (
    build_registration_request,
    discovery_url,
    parse_discovery,
    parse_registration_response,
)
from gitbook_nb.protocol._paste import parse_paste
from gitbook_nb.protocol._token_answer import (
    GENERIC_TOKEN_HINT,
    TOKEN_ERROR_HINTS,
    TOKEN_MAX_BODY,
    parse_token_response,
)
from gitbook_nb.protocol._types import (
    DEFAULT_LIFETIME,
    Clock,
    Endpoints,
    HTTPRequestSpec,
    PendingFlow,
    clean_code,
    decode_body,
)
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import (
    server_name,
    validate_base_url,
    validate_redirect_uri,
)

__all__ = [
    "AUTH_METHODS",
    "DEFAULT_LIFETIME",
    "GENERIC_TOKEN_HINT",
    "TOKEN_ERROR_HINTS",
    "TOKEN_MAX_BODY",
    "Endpoints",
    "HTTPRequestSpec",
    "PendingFlow",
    "basic_authorization",
    "build_refresh_request",
    "build_registration_request",
    "build_revocation_request",
    "build_token_request",
    "choose_auth_method",
    "clean_code",
    "client_auth_fields",
    "client_auth_hint",
    "decode_body",
    "discovery_url",
    "parse_discovery",
    "parse_paste",
    "parse_registration_response",
    "parse_token_response",
    "pkce_challenge",
    "revocation_auth_method",
    "server_name",
    "start_login",
]

DISCOVERY_MAX_BODY = 256 * 1024
FLOWS = ("legacy", "current")

_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")  # RFC 3986 unreserved set (PKCE verifier, state)
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
    # duplicates can appear; keep_blank_values keeps an empty field if one was given.
    return dict(parse_qsl(body, keep_blank_values=True))


def _authenticated(
    url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: Secret | str | None,
    auth_method: str,
) -> HTTPRequestSpec:
    """The POST with the client's credentials added by ``auth_method`` (C1: never in a URL)."""
    headers, fields = client_auth_fields(auth_method, client_id, client_secret)
    return HTTPRequestSpec("POST", url, {**_FORM_HEADERS, **headers}, form={**form, **fields})


def build_token_request(
    flow: PendingFlow,
    code: Secret | str,
    client_secret: Secret | str | None = None,
    *,
    auth_method: str | None = None,
) -> HTTPRequestSpec:
    """The authorization-code POST: secret and verifier only in the body or the Basic header
    (C1), JSON asked (C2).

    ``auth_method`` is one of :data:`AUTH_METHODS`; None chooses from the endpoints and whether
    a secret is given (:func:`choose_auth_method` without a setting).
    """
    if auth_method is None:
        auth_method = choose_auth_method(flow.endpoints, None, bool(client_secret))
    body = _oauthlib_client(flow.client_id).prepare_request_body(
        code=Secret(code).reveal(),
        redirect_uri=flow.redirect_uri,
        include_client_id=False,  # added by the client authentication below
        code_verifier=flow.verifier.reveal(),  # A5: sent in the legacy flow too
    )
    return _authenticated(
        flow.endpoints.token,
        _form(body),
        client_id=flow.client_id,
        client_secret=client_secret,
        auth_method=auth_method,
    )


def build_refresh_request(
    endpoints: Endpoints,
    token: Token,
    client_id: str,
    client_secret: Secret | str | None = None,
    *,
    auth_method: str | None = None,
) -> HTTPRequestSpec:
    """The refresh POST (the refresh token may rotate: the answer is parsed like a new token).

    The client authenticates as it did for the code (``auth_method``; None chooses as
    :func:`build_token_request` does).
    """
    if token.refresh_token is None or not token.refresh_token:
        raise TokenExchangeError(
            "this token cannot be refreshed (no refresh token)", error="no_refresh_token"
        )
    client_id = _check_client_id(client_id)
    if auth_method is None:
        auth_method = choose_auth_method(endpoints, None, bool(client_secret))
    body = _oauthlib_client(client_id).prepare_refresh_body(
        refresh_token=token.refresh_token.reveal(), scope=None
    )
    return _authenticated(
        endpoints.token,
        _form(body),
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
    )


def build_revocation_request(
    endpoints: Endpoints,
    token: Token,
    client_id: str,
    *,
    token_type_hint: str | None = None,
    client_secret: Secret | str | None = None,
    auth_method: str | None = None,
) -> HTTPRequestSpec | None:
    """RFC 7009 revocation, or None when the server offers none.

    By default the refresh token is revoked when there is one (RFC 7009 2.1: servers should
    then also drop its access tokens), else the access token. The client authenticates as at
    the token endpoint (RFC 7009 2.1): ``auth_method`` is the token request's method, adjusted
    by :func:`revocation_auth_method` when the server lists other methods for revocation.
    """
    if not endpoints.revocation:
        return None
    if token_type_hint is None:
        token_type_hint = "refresh_token" if token.refresh_token else "access_token"
    value = token.refresh_token if token_type_hint == "refresh_token" else token.access_token
    if value is None:
        raise ValueError("token_type_hint names a token this Token does not have")
    if auth_method is None:
        auth_method = choose_auth_method(endpoints, None, bool(client_secret))
    return _authenticated(
        endpoints.revocation,
        {"token": value.reveal(), "token_type_hint": token_type_hint},
        client_id=client_id,
        client_secret=client_secret,
        auth_method=revocation_auth_method(endpoints, auth_method),
    )
