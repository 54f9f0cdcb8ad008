"""Building blocks of the seeded data: stable ids and times, lazy sequences, the users.

Ids are hashes of readable keys, so every sandbox serves identical data; lazy sequences build
item ``i`` on demand, so a sandbox scaled to 10,000 books starts instantly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar, overload

HTML_TITLE = "<img src=x onerror=alert(1)>"
_EPOCH = datetime(2023, 1, 2, 9, 30, tzinfo=timezone.utc)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

T = TypeVar("T")


def gid(kind: str, key: object, n: int = 20) -> str:
    """A GitBook-looking id (base62, 20 chars) that is a stable hash of a readable key."""
    num = int.from_bytes(hashlib.sha256(f"{kind}:{key}".encode()).digest(), "big")
    out = []
    for _ in range(n):
        num, rem = divmod(num, 62)
        out.append(_B62[rem])
    return "".join(out)


def stamp(hours: float) -> str:
    """A deterministic ISO-8601 timestamp ``hours`` after the seed epoch."""
    return (_EPOCH + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Lazy(Sequence[T], Generic[T]):
    """A read-only sequence of ``length`` items where item ``i`` is ``make(i)``, built on demand."""

    def __init__(self, length: int, make: Callable[[int], T]) -> None:
        self._len = max(0, length)
        self._make = make

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[T]:
        return (self._make(j) for j in range(self._len))


def concat(*parts: Sequence[T]) -> Lazy[T]:
    """Several sequences seen as one, without copying them."""
    sizes = [len(p) for p in parts]

    def make(i: int) -> T:
        for part, size in zip(parts, sizes, strict=True):
            if i < size:
                return part[i]
            i -= size
        raise IndexError(i)

    return Lazy(sum(sizes), make)


@dataclass(frozen=True)
class User:
    username: str
    name: str
    location: str = ""
    website: str = ""

    @property
    def id(self) -> str:
        return gid("user", self.username, 28)

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


USERS: tuple[User, ...] = (
    User("ada", "Ada Lovelace", "London", "https://example.com/ada"),
    User("grace", "Grace Hopper", "Arlington"),
    User("alan", "Alan Turing", "Manchester"),
    User("katherine", "Katherine Johnson", "Hampton"),
    User("edsger", "Edsger Dijkstra", "Austin"),
    User("barbara", "Barbara Liskov", "Cambridge"),
    User("maryam", "مريم ميرزاخاني", "Stanford"),
    User("yonath", "עדה יונת", "Rehovot"),
    User("emmy", "Emmy Noether", "Göttingen"),
    User("sofia", "Софья Ковалевская", "Stockholm"),
    User("hedy", "Hedy Lamarr 🎬", "Vienna"),
    User("mallory", HTML_TITLE, "<b>nowhere</b>"),
)
USERS_BY_NAME = {u.username: u for u in USERS}
DEFAULT_USER = USERS[0]
