"""Where a request may go: paths joined safely (D4), same origin (D3), escaped snippets (E2).

Split from the transport (one concept per module): these are pure string rules over URLs that
the client, pagination and answers share; nothing here sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit

from gitbook_nb.errors import InvalidResponseError, UnsafeRequestError
from gitbook_nb.protocol.tokens import MASK, Secret
from gitbook_nb.protocol.urls import DEFAULT_PORTS, host_key

__all__ = [
    "check_same_origin",
    "redirect_target",
    "escape_snippet",
    "join_path",
    "origin",
    "token_host_matches",
]

SNIPPET = 200

# D4: whitespace of any kind (incl. NEL, NBSP, zero-width and bidi marks), controls, backslash.
_BAD_PATH_CHARS = re.compile(
    r"[\x00-\x20\x7f-\xa0\\\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]"
)


def escape_snippet(text: bytes | str, limit: int = SNIPPET) -> str:
    """At most ``limit`` characters, control and non-printable characters shown as escapes."""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", errors="replace")
    out: list[str] = []
    size = 0
    for ch in text:
        piece = (
            ch if ch.isprintable() and ch not in "\u200b\u200e\u200f\ufeff" else (ascii(ch)[1:-1])
        )
        if size + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: the unit of "same host" (D3)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def check_same_origin(url: str, base: str, *, what: str) -> None:
    """D3: refuse a URL whose scheme, host or port differs from ``base`` (names the host only)."""
    if origin(url) != origin(base):
        host = escape_snippet(urlsplit(url).netloc.rsplit("@", 1)[-1] or "?", 80)
        raise UnsafeRequestError(
            f"{what} points elsewhere ({host}); not followed with your token",
            hint=f"only {urlsplit(base).netloc} receives the token",
        )


def token_host_matches(issuer: str, url: str) -> bool:
    """D3: is ``url``'s host the one the token was issued for (``host[:port]``)?"""
    if not issuer:
        return False  # fail closed: a token that does not say where it belongs goes nowhere
    scheme = urlsplit(url).scheme.lower()
    try:
        return host_key(f"{scheme}://{issuer}") == host_key(url)
    except ValueError:
        return False


def _shown(path: str) -> str:
    """The path as a message shows it; built only when a message is (not on every call)."""
    return escape_snippet(path, 60)


def join_path(api_url: str, path: object) -> tuple[str, str]:
    """D4: ``(full URL, normalised relative path)`` for a user-given path, or UnsafeRequestError.

    The path must start with exactly one ``/``. It is appended to the *parsed* base path by
    string concatenation, never with ``urljoin`` (``urljoin(base, "//evil.example/x")`` moves
    the request to another host). Dot segments are resolved here, also percent-encoded ones,
    and may not climb above the API base.
    """
    if not isinstance(path, str) or not path:
        raise UnsafeRequestError("the API path must be a non-empty string starting with /")
    if len(path) > 8192:
        raise UnsafeRequestError("the API path is longer than 8192 characters")
    if _BAD_PATH_CHARS.search(path):
        raise UnsafeRequestError(
            f"the API path {_shown(path)} contains whitespace, a backslash or a control character",
            hint="URL-encode values, e.g. with {var} in the magic",
        )
    if not path.startswith("/"):
        raise UnsafeRequestError(
            f"the API path {_shown(path)} must start with /",
            hint="give a path such as /user; full URLs and other hosts are refused",
        )
    if path.startswith("//"):
        raise UnsafeRequestError(
            f"the API path {_shown(path)} starts with //, which names another host",
            hint="give a path such as /user",
        )
    if "#" in path:
        raise UnsafeRequestError(f"the API path {_shown(path)} contains a fragment (#)")
    raw_path, sep, query = path.partition("?")
    kept: list[str] = []
    for segment in raw_path.split("/")[1:]:
        decoded = unquote(segment)
        if "/" in decoded or "\\" in decoded or _BAD_PATH_CHARS.search(decoded.replace(" ", "")):
            raise UnsafeRequestError(
                f"the API path {_shown(path)} hides a slash, backslash or control character in "
                "percent-encoding"
            )
        if decoded == ".":
            continue
        if decoded == "..":
            if not kept:
                raise UnsafeRequestError(
                    f"the API path {_shown(path)} climbs above the API base (..)"
                )
            kept.pop()
            continue
        kept.append(segment)
    rel = "/" + "/".join(kept)
    base = urlsplit(api_url)
    url = f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{rel}"
    return (url + sep + query, rel)


def redirect_target(
    url: str, location: str | None, status: int, label: str, live: Iterable[Secret | None]
) -> str:
    """D3: where a same-origin redirect of ``url`` leads, or an error. ``Location`` is the
    server's text joined onto the URL we asked for, then origin-checked: anything on another
    scheme, host or port is not followed with the token."""
    if not location:
        raise InvalidResponseError(
            f"{label}: a {status} redirect without a Location", status=status
        )
    target = urljoin(url, location.strip())
    # Checked on a masked copy, so a refusal never echoes a live secret (E2); masking cannot
    # change the origin of a URL that really is ours.
    shown = target
    for secret in live:
        if secret and len(secret) >= 4:
            shown = shown.replace(secret.reveal(), MASK)
    check_same_origin(shown, url, what=f"{label}: the redirect")
    if re.search(r"[\x00-\x20\x7f\\]", target):
        raise UnsafeRequestError(f"{label}: the redirect address has unsafe characters")
    return target
