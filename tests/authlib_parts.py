"""The parts of ``authlib_server`` (tests only): in-memory models, WSGI request adapters, and
the Authlib grant and endpoint classes bound to the server's state.

Authlib's server classes are framework-free: they need client, code and token objects with its
mixins' methods, and request objects with ``payload``, ``args``, ``form`` and ``headers``. These
are those, for a stdlib WSGI server (what Authlib's Flask integration does with Flask's).
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from authlib_server import AuthlibServer

SCOPES = ("user:read", "organization:read", "space:read")
ALL_METHODS = ("client_secret_basic", "client_secret_post", "none")
USER = {"id": "u-authlib-1", "name": "Ada Authlib", "username": "ada", "email": "ada@example.org"}


# ------------------------------------------------------------------ models (kept in memory)


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str | None
    token_endpoint_auth_method: str
    redirect_uris: list[str]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    scope: str = " ".join(SCOPES)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact, port included (strict servers)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(
            self.client_secret.encode(), client_secret.encode()
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    created_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class TokenRecord(TokenMixin):
    access_token: str
    refresh_token: str | None
    client_id: str
    scope: str
    issued_at: float
    expires_in: int
    family: str  # one grant: every token refreshed from the same code
    clock: Callable[[], float] = field(repr=False)
    access_revoked: bool = False
    refresh_revoked: bool = False
    rotated: bool = False  # the refresh token was used once and replaced
    forced_expiry: bool = False  # AuthlibServer.expire_access_tokens()

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.forced_expiry or self.clock() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked


# ------------------------------------------------------------------ WSGI <-> Authlib


@dataclass
class WsgiRequest:
    method: str
    url: str
    path: str
    headers: CaseInsensitiveDict
    args: dict[str, list[str]]
    form: dict[str, list[str]]
    body: bytes


def read_request(environ: dict[str, Any], base: str) -> WsgiRequest:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = CaseInsensitiveDict(
        {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    )
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    query = environ.get("QUERY_STRING", "")
    is_form = headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    return WsgiRequest(
        method=environ["REQUEST_METHOD"],
        url=base + environ.get("PATH_INFO", "/") + (f"?{query}" if query else ""),
        path=environ.get("PATH_INFO", "/"),
        headers=headers,
        args=parse_qs(query, keep_blank_values=True),
        form=parse_qs(body.decode("utf-8"), keep_blank_values=True) if is_form else {},
        body=body,
    )


class Payload(OAuth2Payload):
    def __init__(self, multi: dict[str, list[str]]) -> None:
        self._datalist = defaultdict(list, multi)
        self._data = {k: v[0] for k, v in multi.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class WsgiOAuth2Request(OAuth2Request):
    """What Authlib's Flask integration does with a Flask request, for a WSGI one."""

    def __init__(self, req: WsgiRequest) -> None:
        super().__init__(req.method, req.url, headers=req.headers)
        merged: dict[str, list[str]] = defaultdict(list)
        for part in (req.args, req.form):
            for key, values in part.items():
                merged[key].extend(values)
        self.payload = Payload(dict(merged))
        self._req = req

    @property
    def args(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._req.args.items()}

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._req.form.items()}


class WsgiJsonPayload(JsonPayload):
    def __init__(self, body: bytes) -> None:
        try:
            self._data = json.loads(body or b"null")
        except ValueError:
            self._data = None

    @property
    def data(self) -> Any:
        return self._data


class WsgiJsonRequest(JsonRequest):
    def __init__(self, req: WsgiRequest) -> None:
        super().__init__(req.method, req.url, headers=req.headers)
        self.payload = WsgiJsonPayload(req.body)


# ------------------------------------------------------------------ the Authlib pieces


class Server(AuthorizationServer):
    """Authlib's framework-free authorization server, bound to the in-memory state."""

    def __init__(self, state: AuthlibServer) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.state = state

    def query_client(self, client_id: str) -> Client | None:
        return self.state.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.state.save_token(token, request)

    def authenticate_client(self, request: Any, methods: Any, endpoint: str = "token") -> Any:
        client = super().authenticate_client(request, methods, endpoint)
        self.state.client_auths.append((endpoint, request.auth_method, client.client_id))
        return client

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else WsgiOAuth2Request(request)

    def create_json_request(self, request: WsgiRequest) -> JsonRequest:
        return WsgiJsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(ALL_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        state: AuthlibServer = self.server.state
        state.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.client.get_allowed_scope(data.get("scope")),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            created_at=state.clock(),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        state: AuthlibServer = self.server.state
        item = state.codes.get(code)
        if item and item.client_id == client.client_id and state.clock() < item.created_at + 600:
            return item
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.state.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> dict[str, str]:
        return USER


class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # what gitbook_nb requires of servers (A5)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(ALL_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        return self.server.state.present_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: TokenRecord) -> dict[str, str]:
        return USER

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        refresh_token.refresh_revoked = refresh_token.rotated = True


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = list(ALL_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return self.server.state.find_token(token_string)

    def revoke_token(self, token: TokenRecord, request: OAuth2Request) -> None:
        self.server.state.revoke(token, request.form.get("token", ""))


class Registration(ClientRegistrationEndpoint):
    def authenticate_token(self, request: Any) -> bool:
        return True  # open registration, as GitBook's own OAuth server offers

    def resolve_public_key(self, request: Any) -> None:
        return None

    def get_server_metadata(self) -> dict[str, Any]:
        return self.server.state.metadata()

    def save_client(self, client_info: dict, client_metadata: dict, request: Any) -> Client:
        method = client_metadata.get("token_endpoint_auth_method", "client_secret_basic")
        client = Client(
            client_id=client_info["client_id"],
            client_secret=client_info.get("client_secret") if method != "none" else None,
            token_endpoint_auth_method=method,
            redirect_uris=list(client_metadata.get("redirect_uris", [])),
            grant_types=tuple(client_metadata.get("grant_types", ["authorization_code"])),
        )
        self.server.state.clients[client.client_id] = client
        self.server.state.registrations.append(dict(client_metadata))
        return client


class Bearer(BearerTokenValidator):
    def __init__(self, state: AuthlibServer) -> None:
        super().__init__(realm="authlib-test")
        self.state = state

    def authenticate_token(self, token_string: str) -> TokenRecord | None:
        record = self.state.find_token(token_string)
        return record if record is not None and record.access_token == token_string else None
