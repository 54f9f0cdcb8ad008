"""How the client proves who it is at the token and revocation endpoints.

Three methods (RFC 7591 section 2 names them): ``none`` (a public client sends only its id),
``client_secret_post`` (id and secret in the form body) and ``client_secret_basic`` (HTTP Basic,
RFC 6749 section 2.3.1). RFC 7009 section 2.1: a revocation request authenticates the same way
as the token request. Pure, like the rest of the OAuth core; re-exported from ``oauth``.

Hand-written, and why: oauthlib builds grant bodies but neither chooses a method from server
metadata nor writes the Basic header, and requests' ``HTTPBasicAuth`` sends id and secret
without the form-encoding that RFC 6749 section 2.3.1 asks for (a ``:`` or ``%`` in a secret
then reaches the server as something else).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from gitbook_nb.errors import ConfigError
from gitbook_nb.protocol._types import Endpoints, clean_code
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import server_name

__all__ = [
    "AUTH_METHODS",
    "basic_authorization",
    "choose_auth_method",
    "client_auth_fields",
    "client_auth_hint",
    "revocation_auth_method",
]

AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
# With a secret and a choice, Basic first: RFC 6749 section 2.3.1 makes it the one every server
# MUST support and calls the body method NOT RECOMMENDED.
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")
RFC8414_DEFAULT = ("client_secret_basic",)  # an omitted list in a discovery document
# No metadata at all (legacy GitBook, a server without discovery): the body, as GitBook's
# legacy docs describe the token POST (client_id and client_secret fields).
NO_METADATA_DEFAULT = "client_secret_post"
SETTING = "token_auth_method / GITBOOK_TOKEN_AUTH_METHOD"


def _published(methods: tuple[str, ...] | None) -> str:
    return ", ".join(clean_code(m) for m in methods or ()) or "none listed"


def choose_auth_method(endpoints: Endpoints, configured: str | None, has_secret: bool) -> str:
    """The method for this server: the setting when given, else the best one it supports.

    A setting the server's published list leaves out is refused here, before a code is spent.
    Without a setting: ``none`` when there is no secret; with one, Basic or the body, whichever
    the server lists first in that order (RFC 8414 default when its document omits the list:
    Basic), or ``none`` when it takes public clients only (the secret then stays home).
    """
    listed = endpoints.token_auth_methods
    where = server_name(endpoints.token)
    if configured is not None:
        if configured not in AUTH_METHODS:
            raise ConfigError(
                f"unknown client authentication method {clean_code(configured)!r}",
                hint=f"set {SETTING} to one of {', '.join(AUTH_METHODS)}, or leave it unset",
            )
        if listed is not None and configured not in listed:
            raise ConfigError(
                f"{where} does not accept client authentication by {configured}",
                hint=f"it lists {_published(listed)}; change {SETTING} or leave it unset",
            )
        if configured != "none" and not has_secret:
            raise ConfigError(
                f"client authentication by {configured} needs a client secret",
                hint="set GITBOOK_CLIENT_SECRET, or token_auth_method='none' for a public client",
            )
        return configured
    if not has_secret:
        return "none"
    if listed is None:
        if not endpoints.discovered:
            return NO_METADATA_DEFAULT
        listed = RFC8414_DEFAULT
    for method in _SECRET_METHODS:
        if method in listed:
            return method
    if "none" in listed:
        return "none"
    raise ConfigError(
        f"{where} accepts none of the client authentication methods gitbook_nb knows",
        hint=f"it lists {_published(listed)}; gitbook_nb knows {', '.join(AUTH_METHODS)}",
    )


def revocation_auth_method(endpoints: Endpoints, token_method: str) -> str:
    """RFC 7009 section 2.1: revoke with the token request's method, unless the server's
    published revocation list leaves it out; then the best other one it lists."""
    listed = endpoints.revocation_auth_methods
    if token_method == "none" or listed is None or token_method in listed:
        return token_method
    for method in _SECRET_METHODS:
        if method in listed:
            return method
    return "none"


def basic_authorization(client_id: str, client_secret: Secret | str) -> str:
    """``Basic base64(id:secret)`` with both parts form-encoded first (RFC 6749 section 2.3.1).

    Encoded with ``quote(safe="")``, so a space becomes ``%20``, never ``+``: servers decode the
    parts with ``unquote`` (Authlib) or with a form decoder, and ``%20`` reads the same in both
    while ``+`` would stay a plus sign for the first.
    """
    raw = f"{quote(client_id, safe='')}:{quote(Secret(client_secret).reveal(), safe='')}"
    return "Basic " + base64.b64encode(raw.encode("utf-8")).decode("ascii")


def client_auth_fields(
    method: str, client_id: str, client_secret: Secret | str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """``(headers, form fields)`` that authenticate the client by ``method``.

    Basic sends no ``client_id`` in the body: RFC 6749 section 2.3.1 allows one method per
    request, and the header already names the client.
    """
    if method == "none":
        return {}, {"client_id": client_id}
    if method not in _SECRET_METHODS:
        raise ConfigError(f"unknown client authentication method {clean_code(method)!r}")
    if client_secret is None or not Secret(client_secret):
        raise ConfigError(
            f"client authentication by {method} needs a client secret",
            hint="set GITBOOK_CLIENT_SECRET or enter it when asked",
        )
    if method == "client_secret_basic":
        return {"Authorization": basic_authorization(client_id, client_secret)}, {}
    return {}, {"client_id": client_id, "client_secret": Secret(client_secret).reveal()}


def client_auth_hint(method: str) -> str:
    """The next step after the server refused the client (``invalid_client``, a 401 ...).

    It names the method used and the setting, so a wrong method is not reported as a wrong id
    or secret (a server that wants Basic answers ``invalid_client`` to a body secret).
    """
    if method == "none":
        return (
            "no client secret was sent; if this app has one, set GITBOOK_CLIENT_SECRET, else "
            "check GITBOOK_CLIENT_ID or start a new login"
        )
    other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
    return (
        f"the client id and secret were sent by {method}; check GITBOOK_CLIENT_ID and "
        f"GITBOOK_CLIENT_SECRET, or set {SETTING} to {other} if the server wants that"
    )
