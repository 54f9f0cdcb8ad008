"""What both OAuth flows share: redirect-URI matching, PKCE, the authorize and consent steps.

Hand-written rather than built on oauthlib's server classes: the sandbox has to *misbehave in
controlled ways* (GitHub-style 200 errors, switchable error styles, faults), which is easier to
express directly than through oauthlib's validator hooks, and the rules are few.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .messages import Request, Response, add_query, html_response, redirect_response
from .pages import consent_page, error_page
from .store import Client

if TYPE_CHECKING:
    from .app import Sandbox

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_LOOPBACK = ("127.0.0.1", "::1")
ONCE = (
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


def _same_loopback(registered: str, candidate: str) -> bool:
    """RFC 8252 7.3: for loopback IP literals the port is ignored, nothing else is."""
    reg, cand = urlsplit(registered), urlsplit(candidate)
    if reg.scheme != "http" or cand.scheme != "http":
        return False
    if reg.hostname not in _LOOPBACK or reg.hostname != cand.hostname:
        return False
    if cand.username or cand.password or reg.username or cand.fragment:
        return False
    try:
        cand.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (reg.path or "/") == (cand.path or "/") and reg.query == cand.query


def redirect_matches(registered: Iterable[str], candidate: str) -> bool:
    """Exact string match, except the RFC 8252 loopback-port rule."""
    return any(candidate == r or _same_loopback(r, candidate) for r in registered)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_ok(challenge: str, verifier: str | None) -> bool:
    if not verifier or not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(s256(verifier).encode(), challenge.encode())


def secrets_equal(a: str | None, b: str | None) -> bool:
    """Constant-time compare on bytes (compare_digest raises on non-ASCII str: PITFALLS)."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def duplicated(params: dict[str, list[str]], names: Iterable[str]) -> str | None:
    return next((n for n in names if len(params.get(n, ())) > 1), None)


def first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def bad_page(title: str, message: str) -> Response:
    return html_response(400, error_page(title, message))


def authorize(sb: Sandbox, req: Request, flow: str, action: str) -> Response:
    """Validate an authorize request and render the consent page (GET), or take the decision.

    Until the client and its redirect URI are verified, errors are a 400 page and never a
    redirect (RFC 6749 4.1.2.1): redirecting to an unverified URI would make the sandbox an
    open redirector. After that, errors go back to the client as ``?error=...&state=...``.
    """
    if req.method == "POST":
        return decide(sb, req, flow)
    if req.method != "GET":
        return bad_page("Method not allowed", "Use GET to start an authorization.")
    params = req.params
    dup = duplicated(params, ("client_id", "redirect_uri"))
    if dup:
        return bad_page("Invalid request", f"The parameter {dup} appears more than once.")
    client = sb.store.client(req.arg("client_id"))
    if client is None or client.flow != flow:
        return bad_page("Unknown application", "The client_id is not registered here.")
    redirect_uri = req.arg("redirect_uri") or ""
    if not redirect_uri:
        return bad_page("Missing redirect_uri", "The request has no redirect_uri.")
    if not redirect_matches(client.redirect_uris, redirect_uri):
        return bad_page(
            "Redirect URI mismatch", "The redirect_uri is not registered for this application."
        )
    state = req.arg("state")

    def fail(error: str, description: str) -> Response:
        return redirect_response(
            add_query(
                redirect_uri, {"error": error, "error_description": description, "state": state}
            )
        )

    dup = duplicated(params, ONCE)
    if dup:
        return fail("invalid_request", f"The parameter {dup} appears more than once.")
    response_type = req.arg("response_type")
    if response_type != "code":
        if response_type is None:
            return fail("invalid_request", "response_type is required (code).")
        return fail("unsupported_response_type", "Only response_type=code is supported.")
    challenge, method = req.arg("code_challenge"), req.arg("code_challenge_method")
    if flow == "current" and not challenge:
        return fail("invalid_request", "PKCE is required: send code_challenge with S256.")
    if challenge is not None:
        if method != "S256":  # a missing method means "plain" (RFC 7636 4.3): refused
            return fail("invalid_request", "code_challenge_method must be S256.")
        if not _CHALLENGE.fullmatch(challenge):
            return fail("invalid_request", "code_challenge is not a base64url SHA-256 value.")
    raw_scope = req.arg("scope") or ""
    scopes = tuple(s for s in re.split(r"[\s,]+", raw_scope) if s)
    if flow == "current":
        unknown = [s for s in scopes if s not in sb.scopes_supported]
        if unknown:
            return fail("invalid_scope", f"Unknown scope: {unknown[0]}")
        scopes = scopes or ("user:read",)
    consent = sb.store.new_consent(
        flow=flow,
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        state=state,
        scopes=scopes,
        challenge=challenge,
    )
    return html_response(
        200,
        consent_page(
            app_name=client.name,
            scopes=scopes,
            redirect_uri=redirect_uri,
            consent_id=consent.id,
            action=action,
            user=sb.user,
        ),
    )


def decide(sb: Sandbox, req: Request, flow: str) -> Response:
    form = req.form
    consent_id = (form.get("consent_id") or [""])[0]
    consent = sb.store.pop_consent(consent_id) if consent_id else None
    if consent is None or consent.flow != flow:
        return bad_page(
            "Request expired",
            "This authorization request expired or was already answered. "
            "Start the sign-in again from your notebook.",
        )
    if (form.get("decision") or [""])[0] == "approve":
        code = sb.store.new_code(consent, sb.username)
        fields = {"code": code.code, "state": consent.state}
    else:
        fields = {
            "error": "access_denied",
            "error_description": "The user denied the request.",
            "state": consent.state,
        }
    return redirect_response(add_query(consent.redirect_uri, fields))


def demo_client(client_id: str, secret: str) -> Client:
    return Client(client_id, "gitbook_nb demo app", [], secret=secret, flow="legacy")
