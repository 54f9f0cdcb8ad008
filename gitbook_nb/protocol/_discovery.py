"""Current GitBook's OAuth server: RFC 8414 discovery and RFC 7591 dynamic registration.

Hand-written: oauthlib has neither. Pure like the rest of the OAuth core; re-exported from
``gitbook_nb.protocol.oauth``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gitbook_nb.errors import ConfigError, GitBookError, LoginError, TokenExchangeError
from gitbook_nb.protocol._types import Endpoints, HTTPRequestSpec, clean_code, decode_body
from gitbook_nb.protocol.urls import validate_base_url, validate_redirect_uri

__all__ = [
    "build_registration_request",
    "discovery_url",
    "parse_discovery",
    "parse_registration_response",
]

WELL_KNOWN = "/.well-known/oauth-authorization-server"
MAX_BODY = 256 * 1024
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,256}")
_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
_DISCOVERY_HINT = "check GITBOOK_OAUTH_URL, or use the legacy flow with a registered app"


def _issuer_parts(issuer: str) -> tuple[str, str, str]:
    validate_base_url(issuer, what="OAuth issuer")
    parts = urlsplit(issuer)
    if parts.query:
        raise ConfigError("the OAuth issuer URL must not have a query (RFC 8414)")
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def discovery_url(issuer: str) -> str:
    """RFC 8414 section 3: the well-known path goes between the host and the issuer's path."""
    scheme, netloc, path = _issuer_parts(issuer)
    return urlunsplit((scheme, netloc, WELL_KNOWN + path, "", ""))


def fallback_endpoints(issuer: str) -> Endpoints:
    """GitBook's documented paths when the server has no discovery document."""
    scheme, netloc, path = _issuer_parts(issuer)
    base = urlunsplit((scheme, netloc, path, "", ""))
    return Endpoints(
        authorize=base + "/authorize",
        token=base + "/token",
        registration=base + "/register",
        revocation=None,
        issuer=issuer,
    )


def _json_object(status: int, headers: Mapping[str, str], body: bytes, what: str) -> dict[str, Any]:
    try:
        data = decode_body({"content-type": "application/json"}, body, limit=MAX_BODY)
    except ValueError as exc:
        raise LoginError(f"unusable {what} (HTTP {status}): {exc}", hint=_DISCOVERY_HINT) from None
    if data is None:  # pragma: no cover - forced JSON never gives None
        raise LoginError(f"unusable {what} (HTTP {status})", hint=_DISCOVERY_HINT)
    return data


def parse_discovery(
    status: int, headers: Mapping[str, str], body: bytes, *, issuer: str
) -> Endpoints:
    """The server's metadata -> Endpoints; 404 means "no discovery": use the fallback paths.

    The document's ``issuer`` must equal the one asked for (RFC 8414 section 3.3, against
    mix-up attacks); a trailing ``/`` is not a difference. Every endpoint passes D1, and a
    server that lists PKCE methods must list S256 (A5).
    """
    if status == 404:
        return fallback_endpoints(issuer)
    if not 200 <= status < 300:
        raise LoginError(f"OAuth discovery failed: HTTP {status}", hint=_DISCOVERY_HINT)
    data = _json_object(status, headers, body, "discovery document")
    got = data.get("issuer")
    if not isinstance(got, str) or got.rstrip("/") != issuer.rstrip("/"):
        raise LoginError(
            "the discovery document names another issuer; refused (RFC 8414)", hint=_DISCOVERY_HINT
        )
    methods = data.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise LoginError("the OAuth server does not support PKCE S256", hint=_DISCOVERY_HINT)

    def endpoint(key: str, required: bool) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise LoginError(f"the discovery document has no valid {key}", hint=_DISCOVERY_HINT)
        try:
            return validate_base_url(value, what=key)
        except GitBookError as exc:
            raise LoginError(
                f"the discovery document's {key} is unsafe: {exc.message}", hint=_DISCOVERY_HINT
            ) from None

    authorize = endpoint("authorization_endpoint", True)
    token = endpoint("token_endpoint", True)
    assert authorize is not None and token is not None
    return Endpoints(
        authorize=authorize,
        token=token,
        registration=endpoint("registration_endpoint", False),
        revocation=endpoint("revocation_endpoint", False),
        issuer=issuer,
    )


def build_registration_request(
    endpoints: Endpoints, *, redirect_uris: Iterable[str], client_name: str = "gitbook_nb"
) -> HTTPRequestSpec:
    """RFC 7591 registration of a public native client (no secret: RFC 8252 section 8.5)."""
    if not endpoints.registration:
        raise ConfigError(
            "this OAuth server offers no dynamic client registration",
            hint="set GITBOOK_CLIENT_ID to a registered client id",
        )
    uris = [validate_redirect_uri(u) for u in redirect_uris]
    if not uris:
        raise ConfigError("registration needs at least one redirect URI")
    body = {
        "client_name": client_name,
        "redirect_uris": uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    return HTTPRequestSpec("POST", endpoints.registration, dict(_JSON_HEADERS), json=body)


def parse_registration_response(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The registration answer -> the new client id. A returned secret is ignored (public)."""
    try:
        data = decode_body(headers, body, limit=MAX_BODY)
    except ValueError as exc:
        raise TokenExchangeError(
            f"unusable registration answer (HTTP {status}): {exc}",
            error="invalid_response",
            status=status,
        ) from None
    if data is not None and "error" in data:
        code = clean_code(
            data["error"] if not isinstance(data["error"], dict) else data["error"].get("code")
        )
        raise TokenExchangeError(
            f"client registration refused: {code} (HTTP {status})",
            error=code,
            status=status,
            hint=_DISCOVERY_HINT,
        )
    if not 200 <= status < 300 or data is None:
        raise TokenExchangeError(
            f"client registration failed: HTTP {status}",
            error=f"http_{status}",
            status=status,
            hint=_DISCOVERY_HINT,
        )
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise TokenExchangeError(
            "the registration answer has no valid client_id",
            error="invalid_response",
            status=status,
        )
    return client_id
