"""What a transport hands back, and how a body is read under the caps (D6).

Split from :mod:`gitbook_nb.api._transport` (which *sends*): an answer is a
:class:`RawResponse` (the body read whole, under a byte cap and the overall deadline), a
:class:`RawStream` (the body handed back unread, read chunk by chunk by ``api.stream``), or a
:class:`Failure` value. Every exception raised while a body arrives becomes a clean error made
from its type only (E2), returned rather than raised for the reason ``_transport`` explains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from gitbook_nb.errors import GitBookError, InvalidResponseError, RequestTimeoutError

__all__ = ["CHUNK", "BodyReader", "Failure", "RawResponse", "RawStream", "read_capped"]

CHUNK = 64 * 1024


@dataclass(frozen=True)
class RawResponse:
    """What came back, as plain values (no live requests object, so no request headers).

    Only the status is in the repr: a page (or a header, or a reason phrase) that echoes the
    request would otherwise show the token in the caller's locals under ``%xmode Verbose`` (E2).
    """

    status: int
    reason: str = field(repr=False)
    headers: CaseInsensitiveDict = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class Failure:
    """An error to raise, and what kind of failure it was (for the retry decision, D7).

    ``kind``: ``"connect"`` (nothing reached the server: safe to retry a GET), ``"read_timeout"``
    (the server may have acted), ``"interrupt"`` (KeyboardInterrupt), or ``"final"``.
    """

    error: GitBookError | None
    kind: str


@dataclass(frozen=True, eq=False)
class RawStream:
    """An answer whose body is still arriving: status and headers now, the body later.

    ``read()`` returns the next chunk as soon as some bytes arrived (``b""`` at the end), or a
    :class:`Failure` value (never raises, as ``send_once``); ``close()`` lets go of the
    connection. Byte cap and deadline are the reader's (``api.stream.Stream``), so the rules are
    the same for every transport. The repr shows only the status (E2).
    """

    status: int
    reason: str = field(repr=False)
    headers: CaseInsensitiveDict = field(repr=False)
    read: Callable[[], bytes | Failure] = field(repr=False)
    close: Callable[[], None] = field(repr=False)


def broken(exc: Exception, label: str, status: int, received: int | None) -> Failure:
    """The failure for an exception raised while a body arrived (its type only, E2)."""
    if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return Failure(
            RequestTimeoutError(f"{label}: read timeout while the answer arrived"),
            "read_timeout",
        )
    # IncompleteRead, ProtocolError, DecodeError, reset mid-body
    got = f"{status}, {received} bytes received" if received is not None else f"{status}"
    return Failure(
        InvalidResponseError(
            f"{label}: the answer was cut off or corrupt ({got})",
            status=status,
            hint="try again; the connection broke while reading",
        ),
        "final",
    )


class BodyReader:
    """A streamed body read chunk by chunk from urllib3 (``RawStream.read`` / ``close``).

    Holds only the urllib3 response: requests' ``Response`` keeps the sent request, and with it
    the Authorization header, which a live stream must not reference (E1).
    """

    __slots__ = ("_done", "_label", "_raw", "_status")

    def __init__(self, raw: Any, label: str, status: int) -> None:
        self._raw, self._label, self._status, self._done = raw, label, status, False

    def read(self) -> bytes | Failure:
        if self._done:
            return b""
        try:
            # read1: whatever arrived (one HTTP chunk of an event stream), never waiting to
            # fill CHUNK; each wait is bounded by the read timeout set when it was sent.
            chunk = self._raw.read1(CHUNK, decode_content=True)
        except KeyboardInterrupt:
            return Failure(None, "interrupt")
        except Exception as exc:  # noqa: BLE001
            return broken(exc, self._label, self._status, None)
        if not chunk:
            self._done = True
        return chunk

    def close(self) -> None:
        if not self._done:
            self._raw.close()  # unread body: the connection cannot be reused
        self._raw.release_conn()

    def __repr__(self) -> str:
        return f"<stream body {self._status}>"


def read_capped(
    resp: requests.Response,
    *,
    label: str,
    max_body: int,
    deadline: float,
    clock: Callable[[], float],
) -> RawResponse | Failure:
    """The whole body, or a failure once it passes ``max_body`` or the deadline (D6)."""
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
        failure = broken(exc, label, status, size)
    if failure is not None:
        return failure
    return RawResponse(status, base.reason, headers, b"".join(chunks))
