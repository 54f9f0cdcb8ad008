"""The two pagination envelopes.

Legacy: ``?page=`` (0-based) and ``?limit=`` (default 50, capped at 100), body
``{"list", "page", "limit", "total"}``.

Current: ``?page=<opaque cursor>`` and ``?limit=`` (1..1000; default 50: GitBook does not
document its default, 50 keeps a partial last page with the seeded counts), body
``{"items", "next": {"page"}, "count"}`` with ``next`` absent on the last page. A cursor is
``base64url(offset "." HMAC(key, list-id "|" offset)[:12])``: opaque to clients, bound to the
list it came from, and a forged or foreign cursor is a 400, as it would be at GitBook.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .messages import Request, Response, json_response, legacy_error, v1_error

T = TypeVar("T")
LEGACY_DEFAULT, LEGACY_MAX = 50, 100
V1_DEFAULT, V1_MAX = 50, 1000


def _int_arg(req: Request, name: str, default: int) -> int | None:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def legacy_page(req: Request, seq: Sequence[T], render: Callable[[T], Any]) -> Response:
    page = _int_arg(req, "page", 0)
    limit = _int_arg(req, "limit", LEGACY_DEFAULT)
    if page is None or page < 0:
        return legacy_error(400, "Invalid page: expected an integer >= 0")
    if limit is None or limit < 1:
        return legacy_error(400, "Invalid limit: expected an integer >= 1")
    limit = min(limit, LEGACY_MAX)
    start = page * limit
    return json_response(
        200,
        {
            "list": [render(x) for x in seq[start : start + limit]],
            "page": page,
            "limit": limit,
            "total": len(seq),
        },
    )


class Cursors:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, scope: str, offset: bytes) -> bytes:
        return hmac.new(self._key, scope.encode() + b"|" + offset, hashlib.sha256).digest()[:12]

    def encode(self, scope: str, offset: int) -> str:
        raw = str(offset).encode()
        return base64.urlsafe_b64encode(raw + b"." + self._mac(scope, raw)).rstrip(b"=").decode()

    def decode(self, scope: str, cursor: str) -> int | None:
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            return None
        raw, sep, mac = blob.partition(b".")
        if not sep or not raw.isdigit() or not hmac.compare_digest(mac, self._mac(scope, raw)):
            return None
        return int(raw)


def v1_page(
    req: Request,
    cursors: Cursors,
    seq: Sequence[T],
    render: Callable[[T], Any],
    scope: str | None = None,
) -> Response:
    scope = scope or req.path
    limit = _int_arg(req, "limit", V1_DEFAULT)
    if limit is None or not 1 <= limit <= V1_MAX:
        return v1_error(400, f"Invalid limit: expected an integer between 1 and {V1_MAX}")
    cursor = req.arg("page")
    offset = 0 if cursor in (None, "") else cursors.decode(scope, cursor)
    if offset is None:
        return v1_error(400, "Invalid page cursor")
    total = len(seq)
    body: dict[str, Any] = {"items": [render(x) for x in seq[offset : offset + limit]]}
    if offset + limit < total:
        body["next"] = {"page": cursors.encode(scope, offset + limit)}
    body["count"] = total
    return json_response(200, body)
