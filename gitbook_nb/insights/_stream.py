"""A streamed GET (server-sent events) for Ask, built from the api layer's public pieces.

Why here and not in the API client: ``Client.request`` reads a whole body before it returns,
and the kernel's public API has no streaming call (yet). This module keeps the client's rules
with its public helpers: the URL comes from ``Client.build_url`` (D4), the token goes only to
the host it was issued for (D3, ``protocol.urls.host_key``), no redirect is followed, loopback
calls bypass environment proxies (D2), every read has the session's timeouts, the overall
deadline and the byte cap (D6), and error answers map onto the error tree with
``api.answers.error_for`` (E2). What it does not do: refresh a token or clear a refused one;
for that the caller falls back to the kernel's non-streamed call (:func:`ask` does, on 401).

The revealed token exists only inside the call expression in :func:`_open`, which catches
every exception and returns it as a value, so no traceback holds a frame with the header (E2).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from gitbook_nb.api.answers import error_for, parse_rate_limit
from gitbook_nb.api.client import new_session
from gitbook_nb.errors import (
    GitBookError,
    InvalidResponseError,
    NotLoggedInError,
    RequestTimeoutError,
    TransportError,
    UnsafeRequestError,
)
from gitbook_nb.kernel import session as kernel_session
from gitbook_nb.protocol.config import default_user_agent
from gitbook_nb.protocol.urls import host_key, is_loopback_host

__all__ = ["Event", "StreamRefused", "events", "parse_sse"]

_NO_PROXY: dict[str, Any] = {"http": None, "https": None, "all": None}


class StreamRefused(GitBookError):
    """The streamed form cannot be used here (401, no such route): use the plain call."""


@dataclass(frozen=True)
class Event:
    name: str  # "message" unless the server named it (``event: done``)
    data: str
    rate_limit: Any = None


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) per server-sent event (WHATWG HTML, section 9.2.6).

    Hand-written: the format is a dozen lines of rules, and the libraries for it either own
    the HTTP request (so they would bypass the rules in the module docstring) or add a
    dependency for this one loop. Comments (``:``), ``id`` and ``retry`` are ignored.
    """
    name: str = ""
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        yield name or "message", "\n".join(data)


def _open(
    http: requests.Session, url: str, bearer: Any, timeout: tuple[float, float], user_agent: str
) -> Any:
    """Send the GET; return the live response or an error value (never raise: E2)."""
    try:
        return http.get(
            url,
            headers={
                "Accept": "text/event-stream",
                "User-Agent": user_agent,
                "Authorization": "Bearer " + bearer.reveal(),
            },
            timeout=timeout,
            stream=True,
            allow_redirects=False,
            proxies=dict(_NO_PROXY)
            if is_loopback_host(urlsplit(url).hostname, allow_localhost=True)
            else None,
            verify=True,
        )
    except requests.exceptions.Timeout:
        return RequestTimeoutError("GET (Ask stream): timed out before the answer started")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a clean error (E2)
        return TransportError(f"GET (Ask stream): could not connect ({type(exc).__name__})")


def events(path: str, params: dict[str, Any]) -> Iterator[Event]:
    """The events of ``GET path?params`` as they arrive, with the kernel's current token."""
    kernel = kernel_session.get_session()
    s = kernel.settings
    token = kernel.token
    if token is None:
        raise NotLoggedInError("not signed in: finish the login above, or set GITBOOK_TOKEN")
    if token.expired(time.time()):
        raise StreamRefused("the token has expired; the plain call refreshes it")
    url = kernel.client_for(s).build_url(path, params)  # D4 checks on the path
    if not token.issuer or host_key(url) != host_key(f"{urlsplit(url).scheme}://{token.issuer}"):
        raise UnsafeRequestError(
            f"GET {path}: the token was issued for another host; it is not sent there",
            hint="sign in for this API host (tokens are pinned to their host)",
        )
    label = f"GET {path}"
    deadline = time.monotonic() + s.deadline
    http = new_session(pool_size=1)
    resp: Any = None
    try:
        resp = _open(http, url, token.access_token, (s.connect_timeout, s.read_timeout),
                     s.user_agent or default_user_agent())  # fmt: skip
        if isinstance(resp, GitBookError):
            raise resp
        rate_limit = parse_rate_limit(resp.headers)
        status = resp.status_code
        if status in (401, 404, 405, 501) or 300 <= status < 400:
            raise StreamRefused(f"{label}: {status}")
        if status >= 400:
            body = resp.raw.read(64 * 1024, decode_content=True) or b""
            raise error_for(status, resp.reason or "", resp.headers, body, method="GET",
                            path=path, secret=token.access_token.reveal())  # fmt: skip
        kind = resp.headers.get("Content-Type", "")
        if "text/event-stream" not in kind:
            raise InvalidResponseError(f"{label}: expected server-sent events, got {kind[:60]!r}")
        size = 0
        problem: GitBookError | None = None
        lines = resp.iter_lines(chunk_size=None, decode_unicode=False)
        try:
            decoded = _checked(lines, s.max_body, deadline, label)
            for name, data in parse_sse(decoded):
                size += len(data)
                yield Event(name, data, rate_limit)
        except GitBookError as err:
            problem = err
        except requests.exceptions.RequestException as exc:
            problem = InvalidResponseError(
                f"{label}: the stream broke off ({type(exc).__name__})", status=status
            )
        if problem is not None:
            raise problem from None
    finally:
        if resp is not None and not isinstance(resp, GitBookError):
            resp.close()
        http.close()


def _checked(lines: Iterator[bytes], cap: int, deadline: float, label: str) -> Iterator[str]:
    """Lines as text, within the byte cap and the overall deadline (D6)."""
    size = 0
    for raw in lines:
        size += len(raw) + 1
        if size > cap:
            raise InvalidResponseError(f"{label}: the stream passed the {cap}-byte cap")
        if time.monotonic() > deadline:
            raise RequestTimeoutError(f"{label}: the overall deadline passed while streaming")
        yield raw.decode("utf-8", errors="replace").rstrip("\r")


def json_events(path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(parsed JSON of each ``message`` event, rate limit) until an ``event: done``."""
    for ev in events(path, params):
        if ev.name == "done":
            return
        if ev.name not in ("message", "answer"):
            continue
        try:
            yield json.loads(ev.data), ev.rate_limit
        except ValueError:
            raise InvalidResponseError(f"GET {path}: an event is not JSON") from None
