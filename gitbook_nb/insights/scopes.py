"""Which OAuth scope each analytics call needs (GitBook's OpenAPI spec, ``security.oauth``),
and the one-line message when the token lacks it.

Personal access tokens carry every scope; OAuth tokens carry the scopes asked for at sign-in
(the ``scopes`` setting), so a 403 here nearly always means "sign in again asking for it".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gitbook_nb.errors import PermissionDeniedError

__all__ = ["SCOPES", "needs"]

SCOPES = {
    "sites": "site:read",  # GET /orgs/{id}/sites
    "site": "site:read",  # GET /orgs/{id}/sites/{siteId}/published, .../structure
    "insights": "site:insights:read",  # POST .../insights/events/aggregate
    "ask": "organization:ask",  # POST /orgs/{id}/ask, GET .../ask/stream
    "search": "organization:search",  # GET /orgs/{id}/search
}


@contextmanager
def needs(feature: str) -> Iterator[None]:
    """Turn a 403 into "missing scope X, which FEATURE needs; ... %gitbook login --scopes X"."""
    try:
        yield
    except PermissionDeniedError as err:
        scope = err.scope or SCOPES[feature]  # the server's word first, when it names one
        # The next step sits in the message itself: the magic shows the message and the
        # scope, and a Python user reads str(err).
        raise PermissionDeniedError(
            f"missing scope {scope}, which {feature} needs; sign in again asking for it: "
            f"%gitbook login --scopes {scope}",
            scope=scope,
            hint="",
            status=err.status,
            code=err.code,
            method=err.method,
            path=err.path,
        ) from None
