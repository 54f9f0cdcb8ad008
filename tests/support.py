"""Small helpers shared by the test modules (imported as ``support``; tests/ is on sys.path)."""

from __future__ import annotations

import base64
import hashlib
import secrets


class FakeClock:
    """A clock the test moves by hand (STYLE 1: inject time, never patch it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) computed independently of gitbook_nb (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
