"""The sandbox's mutable state: OAuth clients, pending consents, codes, tokens, rate limits.

One lock guards everything: the server is threaded and a test may revoke a token while a
request is in flight. Time always comes from the injected ``clock`` so tests can expire codes
and tokens by advancing it instead of sleeping.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CODE_LIFETIME = 600.0  # authorization codes and consents live 10 minutes (GITBOOK.md)
RATE_WINDOW = 3600.0  # GitBook's observed limit is per hour


@dataclass
class Client:
    client_id: str
    name: str
    redirect_uris: list[str]
    secret: str | None = None  # None: a public client (dynamic registration)
    flow: str = "legacy"  # which authorize endpoint accepts it: "legacy" | "current"
    metadata: dict = field(default_factory=dict)


@dataclass
class Consent:
    """An authorize request that passed validation and waits for Approve or Deny."""

    id: str
    flow: str
    client_id: str
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    challenge: str | None
    created: float


@dataclass
class AuthCode:
    code: str
    flow: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    user: str
    created: float
    used: bool = False


@dataclass
class TokenInfo:
    token: str
    kind: str  # "pat" | "legacy" | "oauth" | "refresh"
    user: str  # username
    scopes: frozenset[str] | None  # None: every scope (personal tokens, legacy tokens)
    expires_at: float | None
    client_id: str | None = None
    code: str | None = None  # the authorization code it came from (RFC 6749 4.1.2 revocation)
    family: str | None = None  # one authorization grant and all its rotated refresh tokens
    revoked: bool = False
    rotated: bool = False  # a refresh token that was already used once


@dataclass
class RateBucket:
    start: float
    used: int = 0


class Store:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.consents: dict[str, Consent] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, TokenInfo] = {}
        self.buckets: dict[str, RateBucket] = {}

    # -- clients and consents
    def add_client(self, client: Client) -> Client:
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def client(self, client_id: str | None) -> Client | None:
        with self.lock:
            return self.clients.get(client_id or "")

    def new_consent(self, **fields: object) -> Consent:
        consent = Consent(id=secrets.token_urlsafe(24), created=self.clock(), **fields)  # type: ignore[arg-type]
        with self.lock:
            self.consents[consent.id] = consent
        return consent

    def pop_consent(self, consent_id: str) -> Consent | None:
        """A consent is single use and expires like a code."""
        with self.lock:
            consent = self.consents.pop(consent_id, None)
        if consent is None or self.clock() - consent.created > CODE_LIFETIME:
            return None
        return consent

    def new_code(self, consent: Consent, user: str) -> AuthCode:
        code = AuthCode(
            secrets.token_urlsafe(24),
            consent.flow,
            consent.client_id,
            consent.redirect_uri,
            consent.scopes,
            consent.challenge,
            user,
            self.clock(),
        )
        with self.lock:
            self.codes[code.code] = code
        return code

    # -- tokens
    def issue(
        self,
        kind: str,
        user: str,
        *,
        scopes: Iterable[str] | None = None,
        ttl: float | None = None,
        prefix: str = "",
        client_id: str | None = None,
        code: str | None = None,
        family: str | None = None,
        token: str | None = None,
    ) -> TokenInfo:
        info = TokenInfo(
            token=token or prefix + secrets.token_urlsafe(30),
            kind=kind,
            user=user,
            scopes=None if scopes is None else frozenset(scopes),
            expires_at=None if ttl is None else self.clock() + ttl,
            client_id=client_id,
            code=code,
            family=family,
        )
        with self.lock:
            self.tokens[info.token] = info
        return info

    def lookup(self, token: str) -> TokenInfo | None:
        with self.lock:
            return self.tokens.get(token)

    def status(self, info: TokenInfo | None) -> str:
        """ "ok", "invalid", "revoked" or "expired" for a token an API request presented."""
        if info is None or info.kind == "refresh":
            return "invalid"
        if info.revoked:
            return "revoked"
        if info.expires_at is not None and self.clock() >= info.expires_at:
            return "expired"
        return "ok"

    def revoke(self, token: str) -> bool:
        with self.lock:
            info = self.tokens.get(token)
            if info is None:
                return False
            if info.kind == "refresh" and info.family:
                self.revoke_where(lambda t: t.family == info.family)
            info.revoked = True
            return True

    def revoke_where(self, pred: Callable[[TokenInfo], bool]) -> int:
        with self.lock:
            hits = [t for t in self.tokens.values() if pred(t)]
            for t in hits:
                t.revoked = True
            return len(hits)

    # -- rate limits (per token, a fixed window like GitBook's X-RateLimit-Reset)
    def hit(self, token: str, limit: int, window: float = RATE_WINDOW) -> tuple[bool, int, int]:
        """Count one request; return (allowed, remaining, reset epoch seconds).

        The reset is rounded up, so a client that waits until ``X-RateLimit-Reset`` always
        finds a fresh window.
        """
        now = self.clock()
        with self.lock:
            bucket = self.buckets.get(token)
            if bucket is None or now >= bucket.start + window:
                bucket = self.buckets[token] = RateBucket(now)
            allowed = bucket.used < limit
            if allowed:
                bucket.used += 1
            return allowed, max(0, limit - bucket.used), math.ceil(bucket.start + window)
