"""The OAuth servers a kernel talks to: their endpoints, the clients registered there, and the
two requests a grant sends its own issuer (refresh, revoke).

* Discovery (RFC 8414) is done once per issuer for the kernel's life.
* A dynamic registration (RFC 7591) is kept per issuer and redirect URI and reused: a loopback
  login asks for the port it registered before (:meth:`Issuers.preferred_redirect`), so a server
  that matches loopback redirects exactly, port included, keeps working without a new client
  per login. Registrations are also learnt back from grants kept in an opt-in store.
* Every answer is read by a helper that *returns* its failure, raised from a frame that never
  held the answer: a refused token answer may carry a working token, and ``%xmode Verbose``
  prints every frame's variables (E2).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gitbook_nb.errors import ConfigError, GitBookError
from gitbook_nb.kernel._grants import PAT_CLIENT_ID, Grant
from gitbook_nb.protocol import oauth
from gitbook_nb.protocol.tokens import Token
from gitbook_nb.protocol.urls import is_loopback_host

if TYPE_CHECKING:
    from gitbook_nb.protocol import config

__all__ = ["Issuers", "clean", "needed"]


def needed(value: str | None, name: str) -> str:
    if not value:
        raise ConfigError(
            f"the setting {name} is needed for this flow",
            hint=f"configure({name}=...) or choose a profile that has it",
        )
    return value


def clean(err: GitBookError) -> GitBookError:
    """``err`` without the frames and chained exceptions that raised it (they may hold the
    answer or the request), ready to be raised again from a clean frame (E2)."""
    err.__context__ = err.__cause__ = None
    return err.with_traceback(None)


def _loopback(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        return parts.port is not None and is_loopback_host(parts.hostname)
    except ValueError:
        return False


class Issuers:
    """See the module docstring. ``http()`` gives a client to send OAuth requests with."""

    def __init__(self, http: Callable[[], Any], *, clock: Callable[[], float]) -> None:
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoints: dict[str, oauth.Endpoints] = {}
        self._registered: dict[str, dict[str, str]] = {}  # issuer -> redirect URI -> client id
        self._latest: dict[str, str] = {}  # issuer -> the latest loopback redirect registered

    def __repr__(self) -> str:
        return f"<Issuers {sorted(self._endpoints)}>"

    # ---------------------------------------------------------------- endpoints
    def for_login(self, s: config.Settings) -> oauth.Endpoints:
        if s.flow == "legacy":
            return oauth.Endpoints(
                authorize=needed(s.authorize_url, "authorize_url"),
                token=needed(s.token_url, "token_url"),
            )
        return self.discover(needed(s.oauth_url, "oauth_url"))

    def discover(self, issuer: str) -> oauth.Endpoints:
        """RFC 8414, once per issuer for the kernel's life."""
        found = self._endpoints.get(issuer)
        if found is None:
            spec = oauth.HTTPRequestSpec(
                "GET", oauth.discovery_url(issuer), {"Accept": "application/json"}
            )
            status, headers, body = self._http().send_spec(spec)
            found = oauth.parse_discovery(status, headers, body, issuer=issuer)
            self._endpoints[issuer] = found
        return found

    def of_grant(self, grant: Grant) -> oauth.Endpoints:
        """The grant's own endpoints: recorded at sign-in, or discovered from its own issuer
        (a grant read back from an older store). Never the current settings' (issue 10)."""
        if grant.token_endpoint:
            found = self._endpoints.get(grant.issuer or "")
            return oauth.Endpoints(
                authorize=grant.token_endpoint,
                token=grant.token_endpoint,
                revocation=grant.revocation_endpoint,
                issuer=grant.issuer,
                token_auth_methods=found.token_auth_methods if found else None,
                revocation_auth_methods=found.revocation_auth_methods if found else None,
                discovered=found.discovered if found else False,
            )
        if grant.issuer:
            return self.discover(grant.issuer)
        raise ConfigError("this sign-in does not say where it can be renewed; sign in again")

    # ---------------------------------------------------------------- registration
    def learn(self, grants: Iterable[Grant]) -> None:
        """Registrations kept with grants (an opt-in store): reusable after a restart."""
        with self._lock:
            for g in grants:
                if g.issuer and g.redirect_uri and g.client_id and g.client_id != PAT_CLIENT_ID:
                    known = self._registered.setdefault(g.issuer, {})
                    if g.redirect_uri not in known:
                        known[g.redirect_uri] = g.client_id
                        if _loopback(g.redirect_uri):
                            self._latest.setdefault(g.issuer, g.redirect_uri)

    def preferred_redirect(self, issuer: str | None) -> str | None:
        """The loopback redirect URI last registered with ``issuer``: a listener that binds
        its port reuses that registration."""
        return self._latest.get(issuer or "")

    def client_id(self, issuer: str, ep: oauth.Endpoints, redirect_uri: str) -> str:
        """The client registered with ``issuer`` for ``redirect_uri``, registering only when
        there is none (RFC 7591; public client, no secret)."""
        with self._lock:
            known = self._registered.get(issuer, {}).get(redirect_uri)
        if known is not None:
            return known
        spec = oauth.build_registration_request(ep, redirect_uris=[redirect_uri])
        status, headers, body = self._http().send_spec(spec)
        client_id = oauth.parse_registration_response(
            status, headers, body, server=ep.registration or issuer
        )
        with self._lock:
            self._registered.setdefault(issuer, {})[redirect_uri] = client_id
            if _loopback(redirect_uri):
                self._latest[issuer] = redirect_uri
        return client_id

    # ---------------------------------------------------------------- grant requests
    def token_answer(
        self,
        spec: oauth.HTTPRequestSpec,
        *,
        api_host: str,
        client_id: str,
        scopes: tuple[str, ...],
        auth_method: str | None,
    ) -> tuple[Token | GitBookError, list[str]]:
        """Send a token request and read the answer; a failure is returned, never raised
        here, so the frame that held the answer is gone when it is raised (E2)."""
        try:
            status, headers, body = self._http().send_spec(spec)
            return oauth.parse_token_response(
                status,
                headers,
                body,
                issuer=api_host,
                client_id=client_id,
                requested_scopes=scopes,
                now=self._clock,
                auth_method=auth_method,
                endpoint=spec.url,
            )
        except GitBookError as err:
            return clean(err), []

    def refresh(self, grant: Grant) -> Token:
        """A renewed token from the grant's own token endpoint (the keeper keeps it)."""
        ep = self.of_grant(grant)
        spec = oauth.build_refresh_request(
            ep,
            grant.token,
            grant.client_id,
            grant.client_secret,
            auth_method=grant.auth_method,
        )
        result, _ = self.token_answer(
            spec,
            api_host=grant.token.issuer,
            client_id=grant.client_id,
            scopes=grant.scopes,
            auth_method=grant.auth_method,
        )
        del spec  # holds the refresh token (masked in its repr; gone all the same)
        if isinstance(result, GitBookError):
            raise result
        if result.refresh_token is None:  # the server did not rotate it: keep the old one
            result = result.with_changes(refresh_token=grant.token.refresh_token)
        return result

    def revoke(self, grant: Grant) -> bool:
        """RFC 7009 at the grant's own revocation endpoint. True only when that server
        accepted; a server that is unreachable or offers none gives False."""
        if not grant.revocable:
            return False
        try:
            ep = self.of_grant(grant)
            spec = oauth.build_revocation_request(
                ep,
                grant.token,
                grant.client_id,
                client_secret=grant.client_secret,
                auth_method=grant.auth_method,
            )
            if spec is None:
                return False
            status, _, _ = self._http().send_spec(spec)
        except GitBookError:  # still forgotten locally; the caller says it was not revoked
            return False
        return 200 <= status < 300
