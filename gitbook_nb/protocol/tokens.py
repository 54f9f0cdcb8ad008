"""Secrets as a type and the Token value (the stores that keep tokens live in kernel.stores).

Pure: no HTTP, no IPython, no widgets. A secret is wrapped once where it enters (environment,
getpass, token answer) and unwrapped with :meth:`Secret.reveal` only where a header or form
field is written (SECURITY.md E1).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "EXPIRY_LEEWAY",
    "MASK",
    "GrantInfo",
    "Secret",
    "Token",
    "expiry_leeway",
    "reveal",
]

MASK = "********"


class Secret:
    """A string that never shows itself: repr, str and format give a fixed mask.

    It refuses pickling and copying to disk by accident; ``reveal()`` is the only way out.
    """

    __slots__ = ("_value",)
    _value: str  # declared for type checkers; set once in __init__ (the slot)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("gitbook_nb.Secret", self._value))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled: it would write the secret out")

    def __reduce_ex__(self, protocol):  # pickle, copy and deepcopy all come through here
        raise TypeError("a Secret cannot be pickled: it would write the secret out")

    def __getstate__(self):
        raise TypeError("a Secret cannot be pickled: it would write the secret out")

    def __copy__(self):  # an explicit refusal reads better than a pickling error
        raise TypeError("a Secret cannot be copied: keep the one reference")

    def __deepcopy__(self, memo):
        raise TypeError("a Secret cannot be copied: keep the one reference")


def reveal(value: Secret | str | None) -> str | None:
    """Unwrap a Secret (or pass a plain str through); for the one place a header is written."""
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else value


# Seconds before the real expiry at which a token already counts as expired, so a call never
# starts with a token that dies in flight (SECURITY.md C6). It scales with the token's lifetime
# (at most this, or a tenth of the lifetime): a fixed minute would make a 30-second token look
# expired the moment it arrives, and every call would refresh.
EXPIRY_LEEWAY = 60.0
LEEWAY_SHARE = 0.1


def expiry_leeway(lifetime: float | None) -> float:
    """The leeway for a token that lives ``lifetime`` seconds: ``min(60 s, 10% of it)``.

    An unknown or nonsensical lifetime (a token read back from an old store) gets the full
    minute, the cautious choice.
    """
    if lifetime is None or not lifetime > 0:
        return EXPIRY_LEEWAY
    return min(EXPIRY_LEEWAY, lifetime * LEEWAY_SHARE)


@dataclass(frozen=True)
class GrantInfo:
    """Where a token came from and where it is renewed and revoked (kept with the token).

    The kernel's grant is built from it, so refresh and revocation go to the server that issued
    the token even after the settings change (issue 10), and a token read back from an opt-in
    store still knows its issuer. All fields are optional: tokens written before this existed
    have none, and the kernel then falls back to the settings that found them.
    """

    api_url: str | None = None  # the API base the token serves
    issuer: str | None = None  # the OAuth issuer URL (current flow), for discovery
    token_url: str | None = None  # where the refresh token goes
    revocation_url: str | None = None
    auth_method: str | None = None  # none | client_secret_post | client_secret_basic
    redirect_uri: str | None = None  # what the client was registered with (reuse)

    def to_dict(self) -> dict[str, str]:
        """The non-empty fields, for a store's JSON."""
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any) -> GrantInfo | None:
        """Read back :meth:`to_dict`; None when absent (an older store), ValueError when not
        the shape we wrote (the store treats that as a corrupt entry)."""
        if data is None:
            return None
        names = set(vars(cls()))
        if not isinstance(data, dict) or not set(data) <= names:
            raise ValueError("not grant information")
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError("not grant information")
        return cls(**data)


@dataclass(frozen=True)
class Token:
    """An access token and what we know about it.

    ``issuer`` is the host the token was issued for and the only host it is sent to (D3);
    ``source`` says where it came from: ``"oauth"``, ``"pat"`` (personal access token typed in),
    ``"env"`` (GITBOOK_TOKEN), or ``"store"`` (read back from an opt-in store). ``grant`` says
    how to renew and revoke it (None for personal tokens and for older stores).
    """

    access_token: Secret
    token_type: str = "bearer"
    refresh_token: Secret | None = None
    expires_at: float | None = None
    scope: tuple[str, ...] = ()
    issuer: str = ""
    client_id: str = ""
    source: str = "oauth"
    obtained_at: float = field(default_factory=time.time)
    grant: GrantInfo | None = None

    @property
    def lifetime(self) -> float | None:
        """Seconds between issue and expiry, when both are known."""
        if self.expires_at is None or not self.obtained_at:
            return None
        return self.expires_at - self.obtained_at

    @property
    def refresh_at(self) -> float | None:
        """The moment the token counts as expired: expiry minus the scaled leeway."""
        if self.expires_at is None:
            return None
        return self.expires_at - expiry_leeway(self.lifetime)

    def expired(
        self, now: Callable[[], float] | float = time.time, leeway: float | None = None
    ) -> bool:
        """True from ``leeway`` seconds before the expiry (default: :func:`expiry_leeway`)."""
        if self.expires_at is None:
            return False
        t = now() if callable(now) else now
        if leeway is None:
            leeway = expiry_leeway(self.lifetime)
        return t >= self.expires_at - leeway

    def expires_in(self, now: Callable[[], float] | float = time.time) -> float | None:
        if self.expires_at is None:
            return None
        t = now() if callable(now) else now
        return self.expires_at - t

    def with_changes(self, **changes: Any) -> Token:
        return replace(self, **changes)

    def same_as(self, other: Token | None) -> bool:
        """The same access token (by value: an opt-in store hands out a copy on every read)."""
        return other is not None and (other is self or other.access_token == self.access_token)

    @property
    def key(self) -> tuple[str, str]:
        """Tokens are stored per (issuer host, client id) (D3)."""
        return (self.issuer, self.client_id)
