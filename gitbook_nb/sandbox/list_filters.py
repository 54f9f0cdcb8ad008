"""The spec's query filters on lists the sandbox serves (besides change requests).

``GET /orgs/{id}/members``: ``role`` (a ``MemberRole`` or ``guest``), ``search`` (display name
or email, case-insensitive), ``sort`` (``joinedAt``, ``lastSeenAt``, ``name``; default
``joinedAt``) and ``order`` (``asc``/``desc``; default ``desc``). ``GET /orgs/{id}/collections``:
``nested`` (default ``true``; ``false`` lists top-level collections only). A value outside the
spec's enum is a 400. Each returns the filtered list and a key that binds page cursors to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from .data import Collection, User
from .messages import Request, Response, v1_error

T = TypeVar("T")
ROLES = ("admin", "create", "edit", "review", "comment", "read", "guest")
_SORTS = ("joinedAt", "lastSeenAt", "name")

Member = tuple[int, tuple[User, str]]  # (seed index: joinedAt order, (user, role))


def _choice(req: Request, name: str, allowed: Sequence[str], default: str) -> str | Response:
    value = req.arg(name) or default
    if value not in allowed:
        return v1_error(400, f"{name} must be one of {', '.join(allowed)}")
    return value


def members(req: Request, items: list[Member]) -> tuple[list[Member], str] | Response:
    role = req.arg("role")
    if role is not None and role not in ROLES:
        return v1_error(400, f"role must be one of {', '.join(ROLES)}")
    sort = _choice(req, "sort", _SORTS, "joinedAt")
    order = _choice(req, "order", ("asc", "desc"), "desc")
    if isinstance(sort, Response):
        return sort
    if isinstance(order, Response):
        return order
    needle = (req.arg("search") or "").casefold()
    out = [
        (i, (u, r))
        for i, (u, r) in items
        if (role is None or r == role)
        and (needle in u.name.casefold() or needle in u.email.casefold())
    ]
    if sort == "name":
        out.sort(key=lambda m: m[1][0].name.casefold())
    elif sort == "joinedAt":
        out.sort(key=lambda m: m[0])
    # lastSeenAt: every seeded member was last seen at the same time; keep the seed order
    if order == "desc":
        out.reverse()
    return out, f"{role}|{needle}|{sort}|{order}"


def collections(
    req: Request, items: Sequence[Collection]
) -> tuple[list[Collection], str] | Response:
    nested = req.arg("nested") or "true"
    if nested not in ("true", "false"):
        return v1_error(400, "nested must be true or false")
    out = [c for c in items if nested == "true" or c.parent is None]
    return out, nested
