"""Requests and responses as plain values, and the three error shapes the sandbox speaks.

The handlers (OAuth, legacy API, v1 API) are functions from ``Request`` to ``Response``;
only ``server.py`` touches sockets. That keeps routing testable and lets faults rewrite a
response before it is sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

LEGACY_401 = "Authentication has failed (Invalid user, password or access token)"


class Headers(dict):
    """A dict of headers that also answers case-insensitively (``h["authorization"]``)."""

    def _find(self, key: str) -> str | None:
        if dict.__contains__(self, key):
            return key
        low = key.lower()
        return next((k for k in self if k.lower() == low), None)

    def __getitem__(self, key: str) -> str:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return dict.__getitem__(self, found)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self._find(key)
        return default if found is None else dict.__getitem__(self, found)


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Headers
    body: bytes = b""
    revoked_fault: bool = False  # set by the "revoked" fault: every token answers 401

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    @property
    def form(self) -> dict[str, list[str]]:
        try:
            return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def is_json(self) -> bool:
        return "json" in self.headers.get("Content-Type", "").lower()

    def wants_json(self) -> bool:
        return "application/json" in self.headers.get("Accept", "").lower()

    def bearer(self) -> str | None:
        """The Bearer token (or a ``token`` scheme, GitHub's legacy spelling), if any."""
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
        return None

    def basic(self) -> tuple[str, str] | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = (
                base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    drip: tuple[float, int] | None = None  # (seconds, chunks): send the body slowly
    # A streamed body (server-sent events): each item leaves as one HTTP chunk, flushed at once.
    stream: Iterator[bytes] | None = None

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=list((headers or {}).items()))


def html_response(status: int, html: str, scripts: tuple[str, ...] = ()) -> Response:
    """An HTML page whose only scripts are the exact inline ``scripts`` (CSP hashes)."""
    resp = Response(status, html.encode("utf-8"), "text/html; charset=utf-8")
    hashes = " ".join(
        "'sha256-{}'".format(base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode())
        for s in scripts
    )
    script_src = f"; script-src {hashes}" if hashes else ""
    # Never framed (SECURITY A8), nothing cached, no referrer carrying the code away.
    resp.headers += [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; "
            f"frame-ancestors 'none'; form-action 'self' http: https:{script_src}",
        ),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return resp


def form_response(status: int, fields: Mapping[str, str]) -> Response:
    return Response(status, urlencode(fields).encode(), "application/x-www-form-urlencoded")


def redirect_response(location: str, status: int = 302) -> Response:
    return Response(
        status, b"", "text/plain", [("Location", location), ("Cache-Control", "no-store")]
    )


def add_query(uri: str, fields: Mapping[str, str | None]) -> str:
    """Append parameters to a redirect URI, keeping its own query (RFC 6749 3.1.2)."""
    query = urlencode({k: v for k, v in fields.items() if v is not None}, quote_via=quote)
    base, sep, frag = uri.partition("#")  # a registered URI has no fragment; be safe anyway
    return f"{base}{'&' if '?' in base else '?'}{query}"


def legacy_error(status: int, message: str) -> Response:
    return json_response(status, {"error": message, "code": status})


def v1_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(status, {"error": {"code": status, "message": message}}, headers)


def error_for_path(path: str, status: int, message: str) -> Response:
    """An error in the shape of whichever API owns ``path`` (used by faults)."""
    if path == "/v1" or path.startswith("/v1/"):
        return v1_error(status, message)
    if path in ("/token", "/register", "/revoke", "/oauth/access_token"):
        return json_response(
            status,
            {
                "error": "server_error" if status >= 500 else "temporarily_unavailable",
                "error_description": message,
            },
        )
    return legacy_error(status, message)
