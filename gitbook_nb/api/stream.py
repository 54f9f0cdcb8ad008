"""A streamed answer: its body read as it arrives, under the same caps as any call (D6).

:meth:`gitbook_nb.api.client.Client.stream` hands back a :class:`Stream` once the status is
known and good: by then the auth flow has run to its end (a 401 was answered by one retry with a
renewed token *before* any of the body was read, D5), redirects were decided (D3) and an error
answer became an error of the tree (E2). What is left is reading, which this module owns: the
overall deadline is checked before each chunk, each wait for a chunk is bounded by the read
timeout the request was sent with, the bytes are counted against the byte cap, and a broken
connection becomes a clean error raised ``from None``. The stream is closed on every way out.

Lines are split here by hand, on CRLF, LF or CR as server-sent events define them (WHATWG HTML
9.2.6), because requests' ``iter_lines`` reads its own response (not our transport seam) and
splits a CRLF that straddles two chunks into two lines, which for SSE ends an event early.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

from gitbook_nb.api._raw import Failure, RawResponse, RawStream
from gitbook_nb.api.answers import RateLimit
from gitbook_nb.errors import GitBookError, InvalidResponseError, RequestTimeoutError

__all__ = ["ERROR_BODY_CAP", "Stream", "error_answer"]

#: How much of an error answer's body is read for its message (the message keeps 200 chars).
ERROR_BODY_CAP = 64 * 1024
_EOL = re.compile(r"\r\n|\r|\n")


class Stream:
    """A streamed answer: ``.status``, ``.headers``, ``.rate_limit`` now; the body through
    :meth:`iter_lines` (text lines, also ``for line in stream``) or :meth:`iter_bytes` (chunks
    as they arrived), once. Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        raw: RawStream,
        *,
        method: str,
        path: str,
        url: str,
        rate_limit: RateLimit | None,
        max_body: int,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self.method, self.path, self.url = method, path, url
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.rate_limit = rate_limit
        self._raw = raw
        self._cap, self._deadline, self._clock = max_body, deadline, clock
        self._label = f"{method} {path}"
        self._read = self._closed = False
        self.received = 0  # bytes of body so far

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<gitbook_nb.Stream {self._label} {self.status} {state}>"

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Let go of the connection (unread body: it is not reused). Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._raw.close()

    # ------------------------------------------------------------------ reading
    def iter_bytes(self) -> Iterator[bytes]:
        """The body's chunks, each as soon as it arrived; closes the stream when done."""
        if self._read or self._closed:
            raise GitBookError(
                f"{self._label}: this stream was read or closed already",
                hint="open a new stream to read the answer again",
            )
        self._read = True
        try:
            while True:
                chunk = self._next()
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def _next(self) -> bytes:
        """One chunk (``b""`` at the end) or a clean error, raised outside any ``except``.
        The deadline is checked before waiting and again before handing a chunk over."""
        self._check_deadline()
        out = self._raw.read()
        if isinstance(out, Failure):
            self.close()
            if out.error is None:
                raise KeyboardInterrupt from None
            raise out.error from None
        if not out:
            return out
        self._check_deadline()
        self.received += len(out)
        if self.received > self._cap:
            self.close()
            raise InvalidResponseError(
                f"{self._label}: the answer passed the {self._cap}-byte cap while streaming",
                status=self.status,
                hint="a larger answer needs a larger max_body (configure(max_body=...))",
            ) from None
        return out

    def _check_deadline(self) -> None:
        if self._clock() > self._deadline:
            self.close()
            raise RequestTimeoutError(
                f"{self._label}: the overall deadline passed while the answer was still arriving",
                hint="ask again; a longer answer needs a larger deadline (configure(deadline=...))",
            ) from None

    def iter_lines(self) -> Iterator[str]:
        """Text lines (UTF-8, bad bytes replaced) without their ends, each as soon as its end
        arrived; a CR that ends a chunk waits for the next one (it may be half a CRLF)."""
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        held: list[str] = []  # text since the last line end (pieces: no quadratic joins)
        for chunk in self.iter_bytes():
            text = decode(chunk)
            waiting_cr = bool(held) and held[-1].endswith("\r")
            held.append(text)
            if "\n" not in text and "\r" not in text and not waiting_cr:
                continue
            whole = "".join(held)
            cr = whole.endswith("\r")
            lines = _EOL.split(whole[:-1] if cr else whole)
            rest = lines.pop()
            yield from lines
            held = [rest + "\r"] if cr else [rest]
        tail = "".join(held) + decode(b"", final=True)
        if tail:
            lines = _EOL.split(tail)
            if lines[-1] == "":
                lines.pop()
            yield from lines

    __iter__ = iter_lines


def error_answer(raw: RawStream, *, deadline: float, clock: Callable[[], float]) -> RawResponse:
    """An error answer's status, headers and first ``ERROR_BODY_CAP`` bytes (enough for its
    message, E2 masking applies to it as to any body); the stream is closed."""
    parts: list[bytes] = []
    size = 0
    interrupted = False
    try:
        while size < ERROR_BODY_CAP and clock() <= deadline:
            chunk: Any = raw.read()
            if isinstance(chunk, Failure):
                interrupted = chunk.error is None
                break
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
    finally:
        raw.close()
    if interrupted:
        raise KeyboardInterrupt from None
    return RawResponse(raw.status, raw.reason, raw.headers, b"".join(parts)[:ERROR_BODY_CAP])
