"""A transport that answers from a function: retry, redirect and refresh rules tested without a
socket (httpx's ``MockTransport`` is the model).

::

    def handler(request: SentRequest) -> RawResponse | Failure:
        return respond(200, {"id": "u1"})

    client = Client(settings, transport=MockTransport(handler))

A handler may also answer ``streamed(200, chunks)``: the body then arrives one chunk per read,
each pulled from ``chunks`` only when the client asks for it (a generator sees exactly how far
the client has read; a :class:`Failure` in it breaks the stream there). The same handler serves
``Client.request`` (the chunks joined) and ``Client.stream`` (a plain ``respond`` is one chunk).

Public because tests and notebooks that demonstrate the client both use it; it sends nothing.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from gitbook_nb.api._transport import Failure, RawResponse, RawStream
from gitbook_nb.errors import RequestTimeoutError, TransportError
from gitbook_nb.protocol.tokens import Secret

__all__ = [
    "Failure",
    "MockTransport",
    "RawResponse",
    "RawStream",
    "SentRequest",
    "failure",
    "respond",
    "streamed",
]

Answer = RawResponse | RawStream | Failure


@dataclass(frozen=True)
class SentRequest:
    """What the client would have put on the wire. ``bearer`` stays a Secret (E1)."""

    method: str
    url: str
    headers: Mapping[str, str]
    bearer: Secret | None = None
    params: Any = None
    json: Any = None
    data: Mapping[str, Any] | None = field(default=None, repr=False)


def respond(
    status: int,
    json: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    reason: str = "",
) -> RawResponse:
    """An answer: ``json`` is encoded unless ``body`` is given."""
    raw = body if body is not None else (b"" if json is None else jsonlib.dumps(json).encode())
    hdrs = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    return RawResponse(status, reason, hdrs, raw)


def streamed(
    status: int = 200,
    chunks: Iterable[bytes | Failure] = (),
    *,
    headers: Mapping[str, str] | None = None,
    reason: str = "",
) -> RawStream:
    """An answer whose body arrives in ``chunks``, one per read (empty ones skipped), pulled
    lazily; a ``Failure`` among them is what that read returns. Closing the stream closes
    ``chunks`` when it is a generator (its ``finally`` shows the client let go)."""
    it = iter(chunks)

    def read() -> bytes | Failure:
        for chunk in it:
            if isinstance(chunk, Failure) or chunk:
                return chunk
        return b""

    def close() -> None:
        stop = getattr(it, "close", None)
        if stop is not None:
            stop()

    hdrs = CaseInsensitiveDict({"Content-Type": "text/event-stream", **(headers or {})})
    return RawStream(status, reason, hdrs, read, close)


def _whole(out: RawStream) -> RawResponse | Failure:
    """A scripted stream read to its end, for ``Client.request``."""
    parts: list[bytes] = []
    try:
        while (chunk := out.read()) != b"":
            if isinstance(chunk, Failure):
                return chunk
            parts.append(chunk)
    finally:
        out.close()
    return RawResponse(out.status, out.reason, out.headers, b"".join(parts))


def _one_chunk(out: RawResponse) -> RawStream:
    return streamed(out.status, [out.body], headers=dict(out.headers), reason=out.reason)


def failure(kind: str = "connect") -> Failure:
    """A network failure: ``connect`` (nothing reached the server) or ``read_timeout``."""
    if kind == "read_timeout":
        return Failure(RequestTimeoutError("mock: read timeout"), kind)
    return Failure(TransportError("mock: connection failed"), kind)


class MockTransport:
    """Calls ``handler`` for every request and records them in ``.sent`` (thread-safe)."""

    def __init__(self, handler: Callable[[SentRequest], Answer]) -> None:
        self.handler = handler
        self.sent: list[SentRequest] = []
        self._lock = threading.Lock()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        bearer: Secret | None,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> RawResponse | Failure:
        out = self._answer(SentRequest(method, url, dict(headers), bearer, params, json, data))
        return _whole(out) if isinstance(out, RawStream) else out

    def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        bearer: Secret | None,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> RawStream | Failure:
        out = self._answer(SentRequest(method, url, dict(headers), bearer, params, json, data))
        return _one_chunk(out) if isinstance(out, RawResponse) else out

    def _answer(self, request: SentRequest) -> Answer:
        with self._lock:
            self.sent.append(request)
        return self.handler(request)

    def close(self) -> None:
        pass
