"""The one place a request leaves the process: path safety, sending, capped reading.

Split from :mod:`gitbook_nb.api.client` (one concept per module): the client decides *what* to send
and when to retry; this module builds the URL safely (D4), sends exactly one request, reads the
body under a byte cap and an overall deadline (D6), and turns every requests/urllib3 exception
into a gitbook_nb error (E2).

Why :func:`send_once` *returns* errors instead of raising them: under ``%xmode Verbose`` IPython
prints the local variables of every frame in a traceback (PITFALLS). ``send_once`` is the only
frame where the bearer token is revealed into a header, so it must never be part of a traceback:
it hands back a :class:`Failure` value and the caller raises a fresh error ``from None``, outside
any ``except`` block, so neither ``__cause__`` nor ``__context__`` drags requests' frames (which
hold the headers) along.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from gitbook_nb.errors import (
    GitBookError,
    InvalidResponseError,
    RequestTimeoutError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.protocol.tokens import Secret, reveal
from gitbook_nb.protocol.urls import DEFAULT_PORTS, host_key, is_loopback_host

__all__ = [
    "Failure",
    "RawResponse",
    "check_same_origin",
    "escape_snippet",
    "join_path",
    "origin",
    "send_once",
    "token_host_matches",
]

CHUNK = 64 * 1024
SNIPPET = 200

# D4: whitespace of any kind (incl. NEL, NBSP, zero-width and bidi marks), controls, backslash.
_BAD_PATH_CHARS = re.compile(
    r"[\x00-\x20\x7f-\xa0\\\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]"
)
# D1 allows http:// only for a loopback host because that traffic never leaves the machine; an
# HTTP_PROXY / ALL_PROXY variable would otherwise carry it (bearer token, token POST form) to a
# proxy in clear text (D2). A None value makes requests ignore that environment proxy.
_NO_PROXY: dict[str, Any] = {"http": None, "https": None, "all": None}
# RFC 6750 b64token: anything else cannot be written into an Authorization header safely.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class RawResponse:
    """What came back, as plain values (no live requests object, so no request headers).

    The body stays out of the repr: a page that echoes the request headers would otherwise
    show the token in the caller's locals under ``%xmode Verbose`` (E2).
    """

    status: int
    reason: str
    headers: CaseInsensitiveDict
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class Failure:
    """An error to raise, and what kind of failure it was (for the retry decision, D7).

    ``kind``: ``"connect"`` (nothing reached the server: safe to retry a GET), ``"read_timeout"``
    (the server may have acted), ``"interrupt"`` (KeyboardInterrupt), or ``"final"``.
    """

    error: GitBookError | None
    kind: str


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


def join_path(api_url: str, path: object) -> tuple[str, str]:
    """D4: ``(full URL, normalised relative path)`` for a user-given path, or UnsafeRequestError.

    The path must start with exactly one ``/``. It is appended to the *parsed* base path by
    string concatenation, never with ``urljoin`` (``urljoin(base, "//evil.example/x")`` moves
    the request to another host). Dot segments are resolved here, also percent-encoded ones,
    and may not climb above the API base.
    """
    if not isinstance(path, str) or not path:
        raise UnsafeRequestError("the API path must be a non-empty string starting with /")
    shown = escape_snippet(path, 60)
    if len(path) > 8192:
        raise UnsafeRequestError("the API path is longer than 8192 characters")
    if _BAD_PATH_CHARS.search(path):
        raise UnsafeRequestError(
            f"the API path {shown} contains whitespace, a backslash or a control character",
            hint="URL-encode values, e.g. with {var} in the magic",
        )
    if not path.startswith("/"):
        raise UnsafeRequestError(
            f"the API path {shown} must start with /",
            hint="give a path such as /user; full URLs and other hosts are refused",
        )
    if path.startswith("//"):
        raise UnsafeRequestError(
            f"the API path {shown} starts with //, which names another host",
            hint="give a path such as /user",
        )
    if "#" in path:
        raise UnsafeRequestError(f"the API path {shown} contains a fragment (#)")
    raw_path, sep, query = path.partition("?")
    kept: list[str] = []
    for segment in raw_path.split("/")[1:]:
        decoded = unquote(segment)
        if "/" in decoded or "\\" in decoded or _BAD_PATH_CHARS.search(decoded.replace(" ", "")):
            raise UnsafeRequestError(
                f"the API path {shown} hides a slash, backslash or control character in "
                "percent-encoding"
            )
        if decoded == ".":
            continue
        if decoded == "..":
            if not kept:
                raise UnsafeRequestError(f"the API path {shown} climbs above the API base (..)")
            kept.pop()
            continue
        kept.append(segment)
    rel = "/" + "/".join(kept)
    base = urlsplit(api_url)
    url = f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{rel}"
    return (url + sep + query, rel)


def _loopback(url: str) -> bool:
    try:
        return is_loopback_host(urlsplit(url).hostname, allow_localhost=True)
    except ValueError:
        return False


def _headers_with_auth(headers: Mapping[str, str], bearer: Secret | None) -> dict[str, str]:
    out = {k: reveal(v) or "" for k, v in headers.items()}
    if bearer is not None:
        out["Authorization"] = "Bearer " + bearer.reveal()
    return out


def _revealed(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in values.items()}


def _describe(exc: BaseException) -> tuple[str, str, type[GitBookError]]:
    """(what happened, failure kind, error class), from the exception *type* only: requests'
    messages may contain a header value (PITFALLS) or a URL with query values (E2)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate not trusted or handshake failed)", "final", TransportError
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout", "connect", RequestTimeoutError
    if isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        return "read timeout", "read_timeout", RequestTimeoutError
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy error", "final", TransportError
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed (refused, reset or DNS)", "connect", TransportError
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return "a header value is not valid (nothing was sent)", "final", UnsafeRequestError
    return f"could not send the request ({type(exc).__name__})", "final", TransportError


def send_once(
    session: requests.Session,
    method: str,
    url: str,
    *,
    label: str,
    headers: Mapping[str, str],
    bearer: Secret | None,
    params: Any = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    timeout: tuple[float, float],
    max_body: int,
    deadline: float,
    clock: Callable[[], float],
) -> RawResponse | Failure:
    """Send one request (no redirects followed, D3/C3) and read its body under the caps (D6).

    ``label`` is "METHOD /path" for messages (E2). Never raises for network trouble; see the
    module docstring for why.
    """
    if bearer is not None and not _B64TOKEN.fullmatch(bearer.reveal()):
        return Failure(
            UnsafeRequestError(
                f"{label}: the token has characters a bearer token cannot contain; not sent",
                hint="sign in again or copy the token again",
            ),
            "final",
        )
    failure: Failure | None = None
    try:
        # The revealed header exists only inside this call expression (no local holds it).
        resp = session.request(
            method,
            url,
            params=params,
            json=json,
            data=_revealed(data),
            headers=_headers_with_auth(headers, bearer),
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            # a fresh dict each time: requests fills it in with setdefault
            proxies=dict(_NO_PROXY) if _loopback(url) else None,
            # D2: explicit, so neither a session attribute nor an empty CURL_CA_BUNDLE can turn
            # verification off; a REQUESTS_CA_BUNDLE path still applies (custom CA).
            verify=True,
        )
    except KeyboardInterrupt:
        failure = Failure(None, "interrupt")
    except Exception as exc:  # noqa: BLE001 - every exception becomes a clean error (E2)
        what, kind, cls = _describe(exc)
        failure = Failure(cls(f"{label}: {what}"), kind)
    if failure is not None:
        return failure
    try:
        return _read(resp, label=label, max_body=max_body, deadline=deadline, clock=clock)
    finally:
        resp.close()


def _read(
    resp: requests.Response,
    *,
    label: str,
    max_body: int,
    deadline: float,
    clock: Callable[[], float],
) -> RawResponse | Failure:
    status = resp.status_code
    headers = CaseInsensitiveDict(resp.headers)
    base = RawResponse(status, resp.reason or "", headers, b"")
    if 300 <= status < 400 or resp.request.method == "HEAD":
        return base  # redirects are decided on headers alone; their body is not read
    length = headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_body:
        return Failure(
            InvalidResponseError(
                f"{label}: the answer is {int(length)} bytes, over the {max_body}-byte cap",
                status=status,
                hint="ask for fewer items (limit=...) or raise max_body",
            ),
            "final",
        )
    chunks: list[bytes] = []
    size = 0
    failure: Failure | None = None
    try:
        while True:
            if clock() > deadline:
                failure = Failure(
                    RequestTimeoutError(
                        f"{label}: the overall deadline passed while the answer was still arriving"
                    ),
                    "final",
                )
                break
            # read1 returns as soon as *some* bytes arrived, so a server dripping one byte at a
            # time cannot hold us past the deadline; it also bounds decompression (max_length).
            chunk = resp.raw.read1(CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_body:
                failure = Failure(
                    InvalidResponseError(
                        f"{label}: the answer is over the {max_body}-byte cap",
                        status=status,
                        hint="ask for fewer items (limit=...) or raise max_body",
                    ),
                    "final",
                )
                break
            chunks.append(chunk)
    except KeyboardInterrupt:
        failure = Failure(None, "interrupt")
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            failure = Failure(
                RequestTimeoutError(f"{label}: read timeout while the answer arrived"),
                "read_timeout",
            )
        else:  # IncompleteRead, ProtocolError, DecodeError, reset mid-body
            failure = Failure(
                InvalidResponseError(
                    f"{label}: the answer was cut off or corrupt ({status}, {size} bytes received)",
                    status=status,
                    hint="try again; the connection broke while reading",
                ),
                "final",
            )
    if failure is not None:
        return failure
    return RawResponse(status, base.reason, headers, b"".join(chunks))
