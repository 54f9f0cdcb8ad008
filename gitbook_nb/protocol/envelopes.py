"""Both GitBook pagination envelopes, decoded in one place (pagination, ``--all`` and tables).

legacy   ``{"list": [...], "page": 0, "limit": 50, "total": N}``: more pages while
         ``(page + 1) * limit < total``; the next one is ``?page=N+1`` (0-based).
current  ``{"items": [...], "next": {"page": "<cursor>"}, "count": N}``: the opaque cursor goes
         back as ``?page=``; no ``next`` on the last page. ``next`` may also carry a ``url``.

A mapping is an envelope only if its list field is a list and every other key belongs to that
envelope, so an object that merely has an ``items`` field (``{id, title, items}``) reads as an
object everywhere: in a plain GET, in ``--all`` and in a table. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Envelope", "decode", "items_of", "total_of"]

_LEGACY_KEYS = frozenset({"list", "page", "limit", "total"})
_CURRENT_KEYS = frozenset({"items", "next", "count", "previous", "total", "page", "limit"})


def _count(value: Any) -> int | None:
    """A non-negative int (never a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


@dataclass(frozen=True)
class Envelope:
    """One decoded page. ``next_page`` is the legacy page number or the current cursor
    (``None`` on the last page); ``next_url`` a link the server gave instead of a cursor."""

    kind: str  # "legacy" | "current"
    items: list[Any]
    total: int | None
    next_page: int | str | None
    next_url: str | None = None

    @property
    def has_more(self) -> bool:
        return self.next_page is not None or self.next_url is not None


def _legacy(data: Mapping[str, Any], items: list[Any]) -> Envelope:
    page, limit, total = (_count(data.get(k)) for k in ("page", "limit", "total"))
    nxt = None
    if page is not None and limit and total is not None and items and (page + 1) * limit < total:
        nxt = page + 1
    return Envelope("legacy", items, total, nxt)


def _current(data: Mapping[str, Any], items: list[Any]) -> Envelope:
    total = _count(data.get("count"))
    if total is None:
        total = _count(data.get("total"))
    raw = data.get("next")
    cursor: Any = raw.get("page") if isinstance(raw, Mapping) else raw
    link = raw.get("url") if isinstance(raw, Mapping) and isinstance(raw.get("url"), str) else None
    if link is None and isinstance(cursor, str) and (
        "://" in cursor[:10] or cursor.startswith("//")
    ):
        link, cursor = cursor, None  # a full link where a cursor belongs: the caller checks it
    if isinstance(cursor, bool) or not isinstance(cursor, (str, int)) or str(cursor) == "":
        cursor = None
    return Envelope("current", items, total, cursor, link)


def decode(data: Any) -> Envelope | None:
    """The envelope ``data`` is, or None when it is anything else."""
    if not isinstance(data, Mapping):
        return None
    items = data.get("items")
    if isinstance(items, list) and all(k in _CURRENT_KEYS for k in data):
        return _current(data, items)
    items = data.get("list")
    if isinstance(items, list) and all(k in _LEGACY_KEYS for k in data):
        return _legacy(data, items)
    return None


def items_of(data: Any) -> list[Any] | None:
    """The list inside an envelope, or None."""
    env = decode(data)
    return env.items if env is not None else None


def total_of(data: Any) -> int | None:
    """The envelope's total (``count`` for current, ``total`` for legacy), or None."""
    env = decode(data)
    return env.total if env is not None else None
