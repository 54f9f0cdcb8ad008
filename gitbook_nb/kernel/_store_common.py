"""What every token store shares: the key, the transaction a store hands out, the interface,
and the JSON form of a token (the file and the keyring keep the same one).

Private to the kernel layer; :mod:`gitbook_nb.kernel.stores` re-exports the public names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from gitbook_nb.protocol.tokens import GrantInfo, Secret, Token

__all__ = [
    "FORMAT_VERSION",
    "Key",
    "StoreTransaction",
    "TokenStore",
    "serialise_tokens",
    "token_from_dict",
    "token_to_dict",
]

Key = tuple[str, str]
FORMAT_VERSION = 1


class StoreTransaction:
    """What ``store.transaction(key)`` yields; usable only inside the ``with`` block.

    ``token`` is the token the store keeps for ``key`` now (read under the lock), or None.
    ``put`` and ``delete`` write at once, still under the lock, and merge with everything else
    the store keeps at that moment; an exception later in the block undoes nothing already
    written (a rotated refresh token must stay kept even if the call after it fails).
    """

    __slots__ = ("_delete", "_open", "_put", "_token", "key")

    def __init__(
        self,
        key: Key,
        token: Token | None,
        put: Callable[[Token], None],
        delete: Callable[[], None],
    ) -> None:
        self.key = key
        self._token = token
        self._put = put
        self._delete = delete
        self._open = True

    @property
    def token(self) -> Token | None:
        self._check()
        return self._token

    def put(self, token: Token) -> None:
        self._check()
        self._put(token)
        self._token = token

    def delete(self) -> None:
        self._check()
        self._delete()
        self._token = None

    def close(self) -> None:
        self._open = False

    def _check(self) -> None:
        if not self._open:  # the lock is gone: what it guarded may have changed since
            raise RuntimeError("this store transaction is over; open a new one")

    def __repr__(self) -> str:
        held = "a token" if self._token else "no token"
        return f"StoreTransaction({self.key!r}, {held}, {'open' if self._open else 'closed'})"


class TokenStore(Protocol):
    def get(self, key: Key) -> Token | None: ...
    def set(self, key: Key, token: Token) -> None: ...
    def delete(self, key: Key) -> None: ...
    def clear(self) -> None: ...
    def describe(self) -> str: ...
    def keys(self) -> list[Key]: ...
    def transaction(self, key: Key) -> AbstractContextManager[StoreTransaction]: ...
    def signature(self) -> Hashable: ...


def token_to_dict(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token.reveal(),
        "token_type": token.token_type,
        "refresh_token": token.refresh_token.reveal() if token.refresh_token else None,
        "expires_at": token.expires_at,
        "scope": list(token.scope),
        "issuer": token.issuer,
        "client_id": token.client_id,
        "source": token.source,
        "obtained_at": token.obtained_at,
        # where the token is renewed and revoked (kernel grants); absent in older files
        "grant": token.grant.to_dict() if token.grant is not None else None,
    }


def token_from_dict(data: Any) -> Token:
    """Raise ValueError on anything that is not a token we wrote (treated as corrupt)."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise ValueError("not a token")
    refresh = data.get("refresh_token")
    expires_at = data.get("expires_at")
    scope = data.get("scope", [])
    fields_ok = (
        (refresh is None or isinstance(refresh, str))
        and (expires_at is None or isinstance(expires_at, (int, float)))
        and isinstance(scope, list)
        and all(isinstance(s, str) for s in scope)
        and isinstance(data.get("issuer"), str)
        and isinstance(data.get("client_id"), str)
        and isinstance(data.get("obtained_at", 0), (int, float))
        and isinstance(data.get("token_type", "bearer"), str)
    )
    if not fields_ok or not data["access_token"]:
        raise ValueError("not a token")
    return Token(
        access_token=Secret(data["access_token"]),
        token_type=data.get("token_type", "bearer"),
        refresh_token=Secret(refresh) if refresh else None,
        expires_at=float(expires_at) if expires_at is not None else None,
        scope=tuple(scope),
        issuer=data["issuer"],
        client_id=data["client_id"],
        source="store",  # read back: status() says so
        obtained_at=float(data.get("obtained_at", 0)),
        grant=GrantInfo.from_dict(data.get("grant")),  # ValueError: a corrupt entry
    )


def serialise_tokens(tokens: Mapping[Key, Token]) -> bytes:
    stored = []
    for (issuer, client_id), token in tokens.items():
        entry = token_to_dict(token)
        entry["issuer"], entry["client_id"] = issuer, client_id
        stored.append(entry)
    return json.dumps({"version": FORMAT_VERSION, "tokens": stored}).encode()
