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
from gitbook_nb.protocol.urls import server_name, validate_base_url, validate_redirect_uri

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
    who = server_name(issuer)
    if status == 404:
        return fallback_endpoints(issuer)
    if not 200 <= status < 300:
        raise LoginError(f"OAuth discovery at {who} failed: HTTP {status}", hint=_DISCOVERY_HINT)
    data = _json_object(status, headers, body, f"discovery document from {who}")
    got = data.get("issuer")
    if not isinstance(got, str) or got.rstrip("/") != issuer.rstrip("/"):
        raise LoginError(
            f"the discovery document from {who} names another issuer; refused (RFC 8414)",
            hint=_DISCOVERY_HINT,
        )
    pkce = data.get("code_challenge_methods_supported")
    if isinstance(pkce, list) and "S256" not in pkce:
        raise LoginError(f"{who} does not support PKCE S256", hint=_DISCOVERY_HINT)

    def endpoint(key: str, required: bool) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise LoginError(
                f"the discovery document from {who} has no valid {key}", hint=_DISCOVERY_HINT
            )
        try:
            return validate_base_url(value, what=key)
        except GitBookError as exc:
            raise LoginError(
                f"the discovery document from {who} has an unsafe {key}: {exc.message}",
                hint=_DISCOVERY_HINT,
            ) from None

    def methods(key: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None  # omitted: RFC 8414 means client_secret_basic (see choose_auth_method)
        if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
            raise LoginError(
                f"{who}'s discovery document has an invalid {key}", hint=_DISCOVERY_HINT
            )
        return tuple(dict.fromkeys(clean_code(m) for m in value))

    authorize = endpoint("authorization_endpoint", True)
    token = endpoint("token_endpoint", True)
    assert authorize is not None and token is not None
    return Endpoints(
        authorize=authorize,
        token=token,
        registration=endpoint("registration_endpoint", False),
        revocation=endpoint("revocation_endpoint", False),
        issuer=issuer,
        token_auth_methods=methods("token_endpoint_auth_methods_supported"),
        revocation_auth_methods=methods("revocation_endpoint_auth_methods_supported"),
        discovered=True,
    )


def build_registration_request(
    endpoints: Endpoints, *, redirect_uris: Iterable[str], client_name: str = "gitbook_nb"
) -> HTTPRequestSpec:
    """RFC 7591 registration of a public native client (no secret: RFC 8252 section 8.5)."""
    if not endpoints.registration:
        raise ConfigError(
            f"{server_name(endpoints.issuer or endpoints.token)} offers no dynamic client "
            "registration",
            hint="set GITBOOK_CLIENT_ID (and GITBOOK_CLIENT_SECRET) to a client registered there",
        )
    uris = [validate_redirect_uri(u) for u in redirect_uris]
    if not uris:
        raise ConfigError("registration needs at least one redirect URI")
    body = {
        "client_name": client_name,
        "redirect_uris": uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",  # public: the kernel keeps no secret for it
        "application_type": "native",
    }
    return HTTPRequestSpec("POST", endpoints.registration, dict(_JSON_HEADERS), json=body)


def parse_registration_response(
    status: int, headers: Mapping[str, str], body: bytes, *, server: str | None = None
) -> str:
    """The registration answer -> the new client id. A returned secret is ignored (public).

    ``server`` (the registration or issuer URL) names the server in messages. A server that
    registered the client with another ``token_endpoint_auth_method`` than the ``none`` asked
    for (RFC 7591 3.2.1 lets it) is refused now, rather than at the token request after the
    user approved. The failure is raised from a frame that no longer holds the answer, which
    may carry a ``registration_access_token`` (E2).
    """
    result = _read_registration(status, headers, body, server_name(server or ""))
    del body
    if isinstance(result, GitBookError):
        raise result
    return result


def _read_registration(
    status: int, headers: Mapping[str, str], body: bytes, who: str
) -> str | GitBookError:
    try:
        data = decode_body(headers, body, limit=MAX_BODY)
    except ValueError as exc:
        return TokenExchangeError(
            f"unusable registration answer from {who} (HTTP {status}): {exc}",
            error="invalid_response",
            status=status,
        )
    if data is not None and "error" in data:
        code = clean_code(
            data["error"] if not isinstance(data["error"], dict) else data["error"].get("code")
        )
        return TokenExchangeError(
            f"{who} refused to register this client: {code} (HTTP {status})",
            error=code,
            status=status,
            hint=_DISCOVERY_HINT,
        )
    if not 200 <= status < 300 or data is None:
        return TokenExchangeError(
            f"client registration at {who} failed: HTTP {status}",
            error=f"http_{status}",
            status=status,
            hint=_DISCOVERY_HINT,
        )
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        return TokenExchangeError(
            f"the registration answer from {who} has no valid client_id",
            error="invalid_response",
            status=status,
        )
    method = data.get("token_endpoint_auth_method", "none")
    if method != "none":
        return TokenExchangeError(
            f"{who} registered a client that must authenticate ({clean_code(method)}), "
            "not the public client asked for",
            error="invalid_client_metadata",
            status=status,
            hint="register an app there and set GITBOOK_CLIENT_ID and GITBOOK_CLIENT_SECRET",
        )
    return client_id
