"""D3: a ~/.netrc (or $NETRC) entry for the API host never replaces the bearer token.

requests fills in Basic auth from netrc whenever a request has no auth of its own and the
session trusts the environment; our requests carry their Authorization header explicitly.
"""

from __future__ import annotations

import pytest

from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.sandbox import Sandbox


def test_D3_netrc_never_replaces_the_bearer_token(tmp_path, monkeypatch: pytest.MonkeyPatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with Sandbox() as sb:
        k = KernelSession(environ={})
        k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
        token = sb.mint_token()
        k.login_with_token(token)
        assert k.request("GET", "/user").data["displayName"] == sb.user
        sent = [r.headers.get("Authorization") for r in sb.requests if r.path == "/v1/user"]
    assert sent and all(h == f"Bearer {token}" for h in sent)
