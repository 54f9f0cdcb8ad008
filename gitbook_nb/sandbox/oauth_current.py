"""Current GitBook OAuth (GITBOOK.md section 2), issuer = the sandbox's root URL.

RFC 8414 discovery, RFC 7591 registration of public clients, ``/authorize`` with PKCE S256
required, ``/token`` (authorization_code and rotating refresh tokens, expiring access tokens)
and RFC 7009 ``/revoke``. Errors are always RFC 6749 JSON.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .messages import Request, Response, json_response
from .oauth_common import authorize, duplicated, first, pkce_ok
from .store import CODE_LIFETIME, Client

if TYPE_CHECKING:
    from .app import Sandbox

SCOPES = (
    "user:read",
    "organization:read",
    "organization:write",
    "organization:members:read",
    "organization:members:write",
    "organization:ask",
    "organization:search",
    "space:read",
    "space:write",
    "space:permissions:read",
    "space:permissions:write",
    "change-request:merge",
    "site:read",
    "site:write",
    "site:publish",
    "site:permissions:read",
    "site:permissions:write",
    "site:auth:read",
    "site:auth:write",
    "site:insights:read",
    "site:ask",
    "site:search",
    "integration:read",
    "integration:installations:read",
    "integration:installations:write",
    "integration:publish",
    "integration:delete",
    "openapi:read",
    "openapi:write",
)  # the 29 scopes of @gitbook/api's OpenAPI "oauth" security scheme
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def route(sb: Sandbox, req: Request) -> Response | None:
    path = req.path
    if path == "/.well-known/oauth-authorization-server":
        return json_response(200, discovery(sb))
    if path == "/authorize":
        return authorize(sb, req, "current", action="authorize")
    if path == "/token":
        return (
            token(sb, req) if req.method == "POST" else _error(405, "invalid_request", "Use POST.")
        )
    if path == "/register":
        return (
            register(sb, req)
            if req.method == "POST"
            else _error(405, "invalid_request", "Use POST.")
        )
    if path == "/revoke":
        return (
            revoke(sb, req) if req.method == "POST" else _error(405, "invalid_request", "Use POST.")
        )
    return None


def discovery(sb: Sandbox) -> dict[str, Any]:
    base = sb.url
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
        "revocation_endpoint": f"{base}/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": list(SCOPES),
    }


def _error(status: int, error: str, description: str) -> Response:
    resp = json_response(status, {"error": error, "error_description": description}, _NO_STORE)
    if status == 401:
        resp.headers.append(("WWW-Authenticate", 'Bearer realm="GitBook sandbox"'))
    return resp


def _valid_redirect(uri: object) -> bool:
    if not isinstance(uri, str) or len(uri) > 2000:
        return False
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")
    )


def register(sb: Sandbox, req: Request) -> Response:
    try:
        meta = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_client_metadata", "The body must be a JSON object.")
    if not isinstance(meta, dict):
        return _error(400, "invalid_client_metadata", "The body must be a JSON object.")
    uris = meta.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(_valid_redirect(u) for u in uris):
        return _error(
            400, "invalid_redirect_uri", "redirect_uris must be https URLs or http loopback URLs."
        )
    method = meta.get("token_endpoint_auth_method", "none")
    if method != "none":
        return _error(
            400,
            "invalid_client_metadata",
            "Only public clients are supported (token_endpoint_auth_method none).",
        )
    grants = meta.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or not set(grants) <= {"authorization_code", "refresh_token"}:
        return _error(400, "invalid_client_metadata", "Unsupported grant_types.")
    if meta.get("response_types", ["code"]) != ["code"]:
        return _error(400, "invalid_client_metadata", "Only response_types [code].")
    name = meta.get("client_name", "Unnamed application")
    if not isinstance(name, str) or not name or len(name) > 200:
        return _error(400, "invalid_client_metadata", "client_name must be a short string.")
    client = sb.store.add_client(
        Client("gbc_" + secrets.token_urlsafe(18), name, list(uris), flow="current", metadata=meta)
    )
    return json_response(
        201,
        {
            "client_id": client.client_id,
            "client_id_issued_at": int(time.time()),
            "client_name": name,
            "redirect_uris": uris,
            "grant_types": grants,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": meta.get("application_type", "native"),
        },
        _NO_STORE,
    )


def _issue_pair(
    sb: Sandbox, user: str, scopes: tuple[str, ...], client_id: str, family: str, code: str | None
) -> Response:
    access = sb.store.issue(
        "oauth",
        user,
        scopes=scopes,
        ttl=sb.access_token_ttl,
        prefix="gb_oauth_",
        client_id=client_id,
        family=family,
        code=code,
    )
    refresh = sb.store.issue(
        "refresh",
        user,
        scopes=scopes,
        prefix="gb_refresh_",
        client_id=client_id,
        family=family,
        code=code,
    )
    return json_response(
        200,
        {
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": int(sb.access_token_ttl),
            "refresh_token": refresh.token,
            "scope": " ".join(scopes),
        },
        _NO_STORE,
    )


def token(sb: Sandbox, req: Request) -> Response:
    fields = req.form
    dup = duplicated(
        fields,
        (
            "grant_type",
            "code",
            "redirect_uri",
            "client_id",
            "code_verifier",
            "refresh_token",
            "scope",
        ),
    )
    if dup:
        return _error(400, "invalid_request", f"{dup} appears more than once.")

    def field(name: str) -> str | None:
        return first(fields, name)

    basic = req.basic()
    client = sb.store.client(basic[0] if basic else field("client_id"))
    if client is None or client.flow != "current":
        return _error(401, "invalid_client", "Unknown client_id.")
    grant = field("grant_type")
    if grant == "authorization_code":
        return _code_grant(sb, client, field)
    if grant == "refresh_token":
        return _refresh_grant(sb, client, field)
    return _error(
        400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
    )


def _code_grant(sb: Sandbox, client: Client, field: Any) -> Response:
    with sb.store.lock:
        code = sb.store.codes.get(field("code") or "")
        if code is None or code.flow != "current" or code.client_id != client.client_id:
            return _error(400, "invalid_grant", "The authorization code is invalid.")
        if code.used:  # replay: revoke everything this code produced (RFC 6749 4.1.2)
            sb.store.revoke_where(lambda t: t.code == code.code)
            return _error(400, "invalid_grant", "The authorization code was already used.")
        if sb.store.clock() - code.created > CODE_LIFETIME:
            return _error(400, "invalid_grant", "The authorization code expired.")
        if field("redirect_uri") != code.redirect_uri:
            return _error(
                400, "invalid_grant", "redirect_uri does not match the authorize request."
            )
        verifier = field("code_verifier")
        if not verifier:
            return _error(400, "invalid_request", "code_verifier is required (PKCE).")
        if code.challenge is None or not pkce_ok(code.challenge, verifier):
            return _error(400, "invalid_grant", "code_verifier does not match the challenge.")
        code.used = True
    return _issue_pair(
        sb, code.user, code.scopes, client.client_id, secrets.token_urlsafe(12), code.code
    )


def _refresh_grant(sb: Sandbox, client: Client, field: Any) -> Response:
    with sb.store.lock:
        old = sb.store.lookup(field("refresh_token") or "")
        if old is None or old.kind != "refresh" or old.client_id != client.client_id:
            return _error(400, "invalid_grant", "The refresh token is invalid.")
        if old.rotated:
            sb.refresh_tokens_replayed += 1  # what the kernel must never do (issue 10, 13)
            if sb.reuse_detection:
                # Reuse of a rotated refresh token: assume theft, revoke the whole grant
                # (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).
                sb.store.revoke_where(lambda t: t.family == old.family)
                return _error(
                    400,
                    "invalid_grant",
                    "The refresh token was already used; the grant is revoked.",
                )
            return _error(400, "invalid_grant", "The refresh token was already used.")
        if old.revoked:
            return _error(400, "invalid_grant", "The refresh token was revoked.")
        granted = tuple(sorted(old.scopes or ()))
        asked = field("scope")
        if asked is not None:
            wanted = tuple(s for s in asked.split() if s)
            if not set(wanted) <= set(granted):
                return _error(400, "invalid_scope", "Cannot widen scopes on refresh.")
            granted = wanted
        old.rotated = True
        sb.refresh_count += 1
    return _issue_pair(sb, old.user, granted, client.client_id, old.family or "", old.code)


def revoke(sb: Sandbox, req: Request) -> Response:
    tok = (req.form.get("token") or [""])[0]
    if not tok:
        return _error(400, "invalid_request", "token is required.")
    info = sb.store.lookup(tok)
    client_id = first(req.form, "client_id")
    # RFC 7009 2.2: unknown tokens, and tokens of other clients, still answer 200.
    if info is not None and info.client_id is not None and info.client_id == client_id:
        sb.store.revoke(tok)
    return Response(200, b"", "text/plain", list(_NO_STORE.items()))
