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
    "MASK",
    "Secret",
    "Token",
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
        raise TypeError("a Secret cannot be pickled (SECURITY.md E1)")

    def __reduce_ex__(self, protocol):  # pickle, copy and deepcopy all come through here
        raise TypeError("a Secret cannot be pickled (SECURITY.md E1)")

    def __getstate__(self):
        raise TypeError("a Secret cannot be pickled (SECURITY.md E1)")

    def __copy__(self):  # an explicit refusal reads better than a pickling error
        raise TypeError("a Secret cannot be copied (SECURITY.md E1)")

    def __deepcopy__(self, memo):
        raise TypeError("a Secret cannot be copied (SECURITY.md E1)")


def reveal(value: Secret | str | None) -> str | None:
    """Unwrap a Secret (or pass a plain str through); for the one place a header is written."""
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else value


# Seconds before the real expiry at which a token already counts as expired, so a call never
# starts with a token that dies in flight (SECURITY.md C6).
EXPIRY_LEEWAY = 60.0


@dataclass(frozen=True)
class Token:
    """An access token and what we know about it.

    ``issuer`` is the host the token was issued for and the only host it is sent to (D3);
    ``source`` says where it came from: ``"oauth"``, ``"pat"`` (personal access token typed in),
    ``"env"`` (GITBOOK_TOKEN), or ``"store"`` (read back from an opt-in store).
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

    def expired(
        self, now: Callable[[], float] | float = time.time, leeway: float = EXPIRY_LEEWAY
    ) -> bool:
        if self.expires_at is None:
            return False
        t = now() if callable(now) else now
        return t >= self.expires_at - leeway

    def expires_in(self, now: Callable[[], float] | float = time.time) -> float | None:
        if self.expires_at is None:
            return None
        t = now() if callable(now) else now
        return self.expires_at - t

    def with_changes(self, **changes: Any) -> Token:
        return replace(self, **changes)

    @property
    def key(self) -> tuple[str, str]:
        """Tokens are stored per (issuer host, client id) (D3)."""
        return (self.issuer, self.client_id)
