"""A transport that answers from a function: retry, redirect and refresh rules tested without a
socket (httpx's ``MockTransport`` is the model).

::

    def handler(request: SentRequest) -> RawResponse | Failure:
        return respond(200, {"id": "u1"})

    client = Client(settings, transport=MockTransport(handler))

Public because tests and notebooks that demonstrate the client both use it; it sends nothing.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from gitbook_nb.api._transport import Failure, RawResponse
from gitbook_nb.errors import RequestTimeoutError, TransportError
from gitbook_nb.protocol.tokens import Secret

__all__ = ["Failure", "MockTransport", "RawResponse", "SentRequest", "failure", "respond"]


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


def failure(kind: str = "connect") -> Failure:
    """A network failure: ``connect`` (nothing reached the server) or ``read_timeout``."""
    if kind == "read_timeout":
        return Failure(RequestTimeoutError("mock: read timeout"), kind)
    return Failure(TransportError("mock: connection failed"), kind)


class MockTransport:
    """Calls ``handler`` for every request and records them in ``.sent`` (thread-safe)."""

    def __init__(self, handler: Callable[[SentRequest], RawResponse | Failure]) -> None:
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
        request = SentRequest(method, url, dict(headers), bearer, params, json, data)
        with self._lock:
            self.sent.append(request)
        return self.handler(request)

    def close(self) -> None:
        pass
