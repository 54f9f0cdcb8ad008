"""Legacy GitBook OAuth (GITBOOK.md section 1): ``/oauth/authorize``, ``/oauth/access_token``.

A confidential client (id + secret). The token endpoint answers form-encoded unless the client
sends ``Accept: application/json``, and reports errors either GitHub-style (HTTP 200 with an
``error`` field, which the legacy docs were adapted from) or RFC 6749-style (400/401 JSON),
switchable at run time with ``sb.error_style`` so clients are tested against both.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .messages import Request, Response, form_response, json_response
from .oauth_common import authorize, duplicated, first, pkce_ok, secrets_equal
from .store import CODE_LIFETIME

if TYPE_CHECKING:
    from .app import Sandbox

# GitHub-style error -> (RFC 6749 error, HTTP status)
_RFC = {
    "bad_verification_code": ("invalid_grant", 400),
    "incorrect_client_credentials": ("invalid_client", 401),
    "redirect_uri_mismatch": ("invalid_grant", 400),
    "unsupported_grant_type": ("unsupported_grant_type", 400),
    "invalid_request": ("invalid_request", 400),
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def route(sb: Sandbox, req: Request) -> Response | None:
    if req.path == "/oauth/authorize":
        return authorize(sb, req, "legacy", action="authorize")
    if req.path == "/oauth/access_token":
        return access_token(sb, req)
    return None


def _answer(req: Request, status: int, fields: dict[str, str]) -> Response:
    resp = json_response(status, fields) if req.wants_json() else form_response(status, fields)
    resp.headers += list(_NO_STORE.items())
    return resp


def token_error(sb: Sandbox, req: Request, error: str, description: str) -> Response:
    if sb.error_style == "github":
        return _answer(req, 200, {"error": error, "error_description": description})
    rfc_error, status = _RFC[error]
    resp = json_response(status, {"error": rfc_error, "error_description": description}, _NO_STORE)
    if status == 401:
        resp.headers.append(("WWW-Authenticate", 'Basic realm="GitBook sandbox"'))
    return resp


def _fields(req: Request) -> dict[str, list[str]]:
    if req.is_json:
        try:
            data = req.json()
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): [str(v)] for k, v in data.items() if v is not None}
    return req.form


def access_token(sb: Sandbox, req: Request) -> Response:
    if req.method != "POST":
        return token_error(sb, req, "invalid_request", "Use POST for the token request.")
    fields = _fields(req)
    dup = duplicated(
        fields,
        ("client_id", "client_secret", "code", "redirect_uri", "grant_type", "code_verifier"),
    )
    if dup:
        return token_error(sb, req, "invalid_request", f"{dup} appears more than once.")

    def field(name: str) -> str | None:
        return first(fields, name)

    basic = req.basic()
    if basic and field("client_secret") is not None:  # RFC 6749 2.3: one method only
        return token_error(
            sb,
            req,
            "invalid_request",
            "Send the client secret either in the body or in Basic auth.",
        )
    client_id, secret = basic if basic else (field("client_id"), field("client_secret"))
    client = sb.store.client(client_id)
    if client is None or client.flow != "legacy" or not secrets_equal(client.secret, secret):
        return token_error(
            sb,
            req,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    grant_type = field("grant_type")
    if grant_type not in (None, "authorization_code"):
        return token_error(
            sb, req, "unsupported_grant_type", "Only grant_type=authorization_code is supported."
        )
    with sb.store.lock:
        code = sb.store.codes.get(field("code") or "")
        bad = "The code passed is incorrect or expired."
        if code is None or code.flow != "legacy" or code.client_id != client.client_id:
            return token_error(sb, req, "bad_verification_code", bad)
        if code.used:
            # RFC 6749 4.1.2: a reused code should revoke what it produced.
            sb.store.revoke_where(lambda t: t.code == code.code)
            return token_error(sb, req, "bad_verification_code", bad)
        if sb.store.clock() - code.created > CODE_LIFETIME:
            return token_error(sb, req, "bad_verification_code", bad)
        sent_uri = field("redirect_uri")
        if sent_uri is not None and sent_uri != code.redirect_uri:
            return token_error(
                sb,
                req,
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            )
        if code.challenge is not None and not pkce_ok(code.challenge, field("code_verifier")):
            return token_error(
                sb,
                req,
                "bad_verification_code",
                "The code_verifier does not match the code_challenge.",
            )
        code.used = True
    info = sb.store.issue(
        "legacy", code.user, token=secrets.token_hex(20), code=code.code, client_id=client.client_id
    )
    return _answer(
        req,
        200,
        {"access_token": info.token, "token_type": "bearer", "scope": ",".join(code.scopes)},
    )
