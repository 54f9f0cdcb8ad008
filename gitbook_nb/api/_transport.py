"""The one place a request leaves the process.

Split from :mod:`gitbook_nb.api.client` (one concept per module): the client decides *what* to
send and when to retry (paths are joined safely by ``_paths``, D4); this module sends exactly
one request and turns every requests/urllib3 exception into a gitbook_nb error (E2). ``send``
reads the body under a byte cap and the overall deadline (D6, ``_raw.read_capped``); ``open``
hands it back unread (a ``RawStream`` that ``Client.stream`` reads as it arrives).
:class:`Transport` is the seam a test replaces (:class:`gitbook_nb.api.mock.MockTransport`),
as with httpx's transports.

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
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from gitbook_nb.api._raw import BodyReader, Failure, RawResponse, RawStream, read_capped
from gitbook_nb.errors import (
    GitBookError,
    RequestTimeoutError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.protocol.tokens import Secret, reveal
from gitbook_nb.protocol.urls import is_loopback_host

__all__ = [
    "Failure",
    "RawResponse",
    "RawStream",
    "RequestsTransport",
    "Transport",
    "new_session",
    "open_once",
    "send_once",
]

# D1 allows http:// only for a loopback host because that traffic never leaves the machine; an
# HTTP_PROXY / ALL_PROXY variable would otherwise carry it (bearer token, token POST form) to a
# proxy in clear text (D2). A None value makes requests ignore that environment proxy.
_NO_PROXY: dict[str, Any] = {"http": None, "https": None, "all": None}
# RFC 6750 b64token: anything else cannot be written into an Authorization header safely.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class Transport(Protocol):
    """Sends exactly one request and reads its answer: the one seam a test replaces
    (:class:`gitbook_nb.api.mock.MockTransport`). Returns failures instead of raising them
    (see the module docstring)."""

    def send(
        self,
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
    ) -> RawResponse | Failure: ...

    def open(self, method: str, url: str, **kw: Any) -> RawStream | Failure:
        """As ``send`` (the same keywords), but the body is left unread: a :class:`RawStream`."""
        ...

    def close(self) -> None: ...


def new_session(pool_size: int = 16) -> requests.Session:
    """A session with no cookie memory (the API needs none) and a pool big enough for G2."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = True  # D2
    return session


class RequestsTransport:
    """The real transport: one keep-alive ``requests.Session`` (thread-safe for our use)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session if session is not None else new_session()
        self._owns = session is None

    def send(self, method: str, url: str, **kw: Any) -> RawResponse | Failure:
        return send_once(self.session, method, url, **kw)

    def open(self, method: str, url: str, **kw: Any) -> RawStream | Failure:
        return open_once(self.session, method, url, **kw)

    def close(self) -> None:
        if self._owns:
            self.session.close()

    def __repr__(self) -> str:
        return "<RequestsTransport>"


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
    max_body: int,
    deadline: float,
    clock: Callable[[], float],
    **request: Any,
) -> RawResponse | Failure:
    """Send one request (no redirects followed, D3/C3) and read its body under the caps (D6).

    ``label`` is "METHOD /path" for messages (E2); ``request`` holds ``headers``, ``bearer``,
    ``params``, ``json``, ``data`` and ``timeout`` (see :func:`_start`). Never raises for
    network trouble; see the module docstring for why.
    """
    resp = _start(session, method, url, label=label, **request)
    if isinstance(resp, Failure):
        return resp
    try:
        return read_capped(resp, label=label, max_body=max_body, deadline=deadline, clock=clock)
    finally:
        resp.close()


def open_once(
    session: requests.Session, method: str, url: str, *, label: str, **request: Any
) -> RawStream | Failure:
    """Send one request as :func:`send_once` does and return its body unread (``RawStream``).

    Only the urllib3 response is kept (not requests' ``Response``, whose ``.request`` still
    holds the Authorization header), so a live stream references no revealed token (E1).
    ``max_body``, ``deadline`` and ``clock`` are the reader's business (``api.stream``).
    """
    for name in ("max_body", "deadline", "clock"):
        request.pop(name, None)
    resp = _start(session, method, url, label=label, **request)
    if isinstance(resp, Failure):
        return resp
    body = BodyReader(resp.raw, label, resp.status_code)
    status, reason, headers = resp.status_code, resp.reason or "", CaseInsensitiveDict(resp.headers)
    resp.request = None  # type: ignore[assignment]  # drop the sent headers (see above)
    return RawStream(status, reason, headers, body.read, body.close)


def _keep_headers(request: Any) -> Any:
    """requests' auth hook that leaves the request as it is (see ``_start``)."""
    return request


def _start(
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
) -> requests.Response | Failure:
    """The one frame where the bearer token is revealed: status and headers read, body not."""
    if bearer is not None and not _B64TOKEN.fullmatch(bearer.reveal()):
        return Failure(
            UnsafeRequestError(
                f"{label}: the token has characters a bearer token cannot contain; not sent",
                hint="sign in again or copy the token again",
            ),
            "final",
        )
    failure: Failure
    try:
        # The revealed header exists only inside this call expression (no local holds it).
        return session.request(
            method,
            url,
            params=params,
            json=json,
            data=_revealed(data),
            headers=_headers_with_auth(headers, bearer),
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            # D3: an explicit auth (it changes nothing) keeps requests from replacing our
            # Authorization header with a ~/.netrc (or $NETRC) password for this host
            auth=_keep_headers,
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
    return failure
