"""Ask's server-sent events: the SSE format, and the stream route's JSON events.

The call itself is the kernel's streamed call (``kernel.session.stream``), so every rule of a
call applies as for any other: the URL, host pinning, proxies, timeouts, deadline and byte cap,
the auth flow (refresh ahead of expiry, one retry after a 401, a dead token forgotten) and the
mapping of errors. What is Ask's own lives here: the events, and telling a server without the
stream route (404, 405) from a real failure, so :func:`gitbook_nb.insights.ask.ask` falls back
to ``POST /ask`` only there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import Any

from gitbook_nb.errors import APIError, GitBookError, InvalidResponseError
from gitbook_nb.kernel import session as kernel_session

__all__ = ["NO_ROUTE", "StreamRefused", "json_events", "parse_sse"]

#: Answers that mean "this server has no stream route": the plain call is the way there.
NO_ROUTE = frozenset({404, 405})
_ACCEPT = {"Accept": "text/event-stream"}


class StreamRefused(GitBookError):
    """The server has no stream route (404, 405): use the plain call."""


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) per server-sent event (WHATWG HTML, section 9.2.6).

    Hand-written: the format is a dozen lines of rules, and the libraries for it either own
    the HTTP request (so they would bypass the client's rules) or add a dependency for this one
    loop. Comments (``:``), ``id`` and ``retry`` are ignored; a leading BOM is dropped.
    """
    name: str = ""
    data: list[str] = []
    first = True
    for line in lines:
        if first:
            line, first = line.removeprefix("\ufeff"), False
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


def json_events(path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(parsed JSON of each ``message`` event, rate limit) until ``event: done``, each as soon
    as it arrived. Raises :class:`StreamRefused` when the server has no stream route."""
    label = f"GET {path}"
    with ExitStack() as stack:
        try:
            stream = stack.enter_context(
                kernel_session.stream("GET", path, params=params, headers=_ACCEPT)
            )
        except APIError as err:
            if err.status not in NO_ROUTE:
                raise
            raise StreamRefused(f"{label}: {err.status}") from None
        kind = stream.headers.get("Content-Type", "")
        if "text/event-stream" not in kind:
            raise InvalidResponseError(
                f"{label}: expected server-sent events, got {kind[:60]!r}", status=stream.status
            )
        for name, data in parse_sse(stream):
            if name == "done":
                return
            if name not in ("message", "answer"):
                continue
            try:
                event = json.loads(data)
            except ValueError:
                raise InvalidResponseError(f"{label}: an event is not JSON") from None
            yield event, stream.rate_limit
