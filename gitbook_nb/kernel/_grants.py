"""A grant: one sign-in and everything needed to use, renew and revoke it.

Before this value existed, a refresh or a revocation looked up the endpoints of the *current*
settings, so after ``configure(oauth_url=other)`` a refresh token went to a server that never
issued it (issue 10). A grant records its own issuer, token and revocation endpoints, client id
and secret, client authentication method and API base when it is made, and keeps them: every
refresh and revocation of this sign-in goes there, whatever the settings say later.

The persistable part travels on the token itself (:class:`~gitbook_nb.protocol.tokens.GrantInfo`),
so a grant read back from an opt-in store knows its issuer too; the client secret never does
(it is not written to a store: a new kernel takes it from its own settings, for the same client).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gitbook_nb.protocol.tokens import GrantInfo, Secret, Token

if TYPE_CHECKING:
    from gitbook_nb.protocol import config, oauth

__all__ = ["PAT_CLIENT_ID", "Grant"]

PAT_CLIENT_ID = "personal-access-token"


@dataclass(frozen=True)
class Grant:
    """One sign-in. ``token`` is the current token; the other fields never change."""

    token: Token
    api_url: str
    issuer: str | None = None  # OAuth issuer URL (current flow; discovery finds endpoints)
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    client_id: str = ""
    client_secret: Secret | None = None
    auth_method: str | None = None  # none | client_secret_post | client_secret_basic
    redirect_uri: str | None = None

    # ---------------------------------------------------------------- what it is
    @property
    def source(self) -> str:
        """``oauth``, ``pat``, ``env`` or ``store`` (read back from an opt-in store)."""
        return self.token.source

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.token.scope

    @property
    def expires_at(self) -> float | None:
        return self.token.expires_at

    @property
    def key(self) -> tuple[str, str]:
        """Where the stores keep it: (API host, client id) (D3)."""
        return self.token.key

    @property
    def renewable(self) -> bool:
        return bool(self.token.refresh_token) and bool(self.token_endpoint or self.issuer)

    @property
    def revocable(self) -> bool:
        return self.token.client_id != PAT_CLIENT_ID and bool(
            self.revocation_endpoint or self.issuer
        )

    def info(self) -> GrantInfo:
        """The part that is stored with the token (no secret)."""
        return GrantInfo(
            api_url=self.api_url,
            issuer=self.issuer,
            token_url=self.token_endpoint,
            revocation_url=self.revocation_endpoint,
            auth_method=self.auth_method,
            redirect_uri=self.redirect_uri,
        )

    def with_token(self, token: Token) -> Grant:
        """The same grant with a renewed token, which carries the grant's information."""
        return replace(self, token=token.with_changes(grant=self.info()))

    # ---------------------------------------------------------------- made from
    @classmethod
    def from_login(
        cls,
        token: Token,
        *,
        settings: config.Settings,
        endpoints: oauth.Endpoints,
        client_secret: Secret | None,
        auth_method: str | None,
        redirect_uri: str | None,
    ) -> Grant:
        grant = cls(
            token=token,
            api_url=settings.api_url,
            issuer=(endpoints.issuer or settings.oauth_url) if settings.flow == "current" else None,
            token_endpoint=endpoints.token,
            revocation_endpoint=endpoints.revocation,
            client_id=token.client_id,
            client_secret=client_secret,
            auth_method=auth_method,
            redirect_uri=redirect_uri,
        )
        return grant.with_token(token)

    @classmethod
    def personal(cls, token: Token, api_url: str) -> Grant:
        """A personal access token or GITBOOK_TOKEN: nothing to renew or revoke."""
        return cls(token=token, api_url=api_url, client_id=token.client_id)

    @classmethod
    def from_stored(cls, token: Token, settings: config.Settings) -> Grant:
        """A token read back from a store. Tokens written before grants existed carry no
        :class:`GrantInfo`: they are taken as issued by the settings that found them, once,
        here; after that the grant keeps those endpoints like any other."""
        info = token.grant
        if token.client_id == PAT_CLIENT_ID:
            return cls.personal(token, info.api_url if info and info.api_url else settings.api_url)
        if info is None:
            legacy = settings.flow == "legacy"
            info = GrantInfo(
                api_url=settings.api_url,
                issuer=None if legacy else settings.oauth_url,
                token_url=settings.token_url if legacy else None,
            )
        same_client = bool(settings.client_id) and settings.client_id == token.client_id
        grant = cls(
            token=token,
            api_url=info.api_url or settings.api_url,
            issuer=info.issuer,
            token_endpoint=info.token_url,
            revocation_endpoint=info.revocation_url,
            client_id=token.client_id,
            client_secret=settings.client_secret if same_client else None,
            auth_method=info.auth_method,
            redirect_uri=info.redirect_uri,
        )
        return grant.with_token(token)

    def __repr__(self) -> str:  # E1: the token's repr is masked; the secret is never shown
        return (
            f"Grant(source={self.source!r}, api_url={self.api_url!r}, issuer={self.issuer!r}, "
            f"client_id={self.client_id!r}, auth_method={self.auth_method!r})"
        )
