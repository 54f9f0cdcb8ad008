"""Both GitBook pagination envelopes as one lazy iterator of API responses.

The envelopes are decoded by :mod:`gitbook_nb.protocol.envelopes` (legacy ``list/page/limit/
total``, current ``items/next/count``); this module only walks them.

A page is fetched only when the caller asks for it (a notebook can stop early). The walk stops
at ``max_pages`` (``.truncated`` then says more exist), on a repeated cursor (a server bug that
would loop forever), and with :class:`UnsafeRequestError` on a ``next`` link to another host
(D3), raised only after the pages before it were handed out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gitbook_nb.api._paths import check_same_origin
from gitbook_nb.errors import GitBookError, UnsafeRequestError
from gitbook_nb.protocol import envelopes

if TYPE_CHECKING:
    from gitbook_nb.api.answers import Response
    from gitbook_nb.api.client import Client

__all__ = ["Pages", "next_page"]


def next_page(
    data: Any,
    params: Mapping[str, Any],
    api_url: str,
) -> tuple[str, Any] | None:
    """What to fetch after a page with body ``data`` requested with ``params``.

    ``("params", new_params)`` for the same path, ``("url", link)`` for a same-origin link, or
    None when this was the last page. Raises UnsafeRequestError for a link to another host.
    The envelope itself is read by :mod:`gitbook_nb.protocol.envelopes` (one decoder).
    """
    env = envelopes.decode(data)
    if env is None:
        return None
    if env.kind == "legacy":
        if env.next_page is None:
            return None
        # Our own counter when we sent one: a server that keeps answering page 0 cannot loop us.
        sent = str(params.get("page", ""))
        page = int(sent) if sent.isdigit() else int(env.next_page) - 1
        limit, total = data["limit"], data["total"]
        if (page + 1) * limit < total:
            return "params", {**params, "page": page + 1}
        return None
    if env.next_url is not None:
        check_same_origin(env.next_url, api_url, what="the pagination link")
        return "url", env.next_url
    if env.next_page is not None:
        return "params", {**params, "page": env.next_page}
    return None


class Pages(Iterator["Response"]):
    """Iterator over the pages of one listing; see the module docstring.

    ``count`` pages were fetched; ``total`` is the envelope's total/count when it gave one;
    ``truncated`` is True when ``max_pages`` stopped a walk that had more pages.
    """

    def __init__(self, client: Client, path: str, params: dict[str, Any], max_pages: int):
        self._client = client
        self._max_pages = max_pages
        self._next: tuple[str, Any, dict[str, Any] | None] | None = ("path", path, params)
        self._pending_error: GitBookError | None = None
        self._seen: set[str] = set()
        self.path = path
        self.count = 0
        self.total: int | None = None
        self.truncated = False
        self.stopped_reason: str | None = None

    def __iter__(self) -> Pages:
        return self

    def __next__(self) -> Response:
        if self._pending_error is not None:
            err, self._pending_error = self._pending_error, None
            raise err.with_traceback(None) from None
        if self._next is None:
            raise StopIteration
        if self.count >= self._max_pages:
            self.truncated = True
            self.stopped_reason = f"stopped after {self.count} pages (max_pages)"
            self._next = None
            raise StopIteration
        kind, target, params = self._next
        self._next = None  # a failing request ends the walk
        resp = self._client.request("GET", target, params=params, allow_url=(kind == "url"))
        self.count += 1
        data = resp.data
        total = envelopes.total_of(data)
        if total is not None:
            self.total = total
        try:
            step = next_page(data, params or {}, self._client.settings.api_url)
        except UnsafeRequestError as err:
            self._pending_error = err  # raised on the following next(): this page still counts
            return resp
        if step is not None:
            marker = repr(step[1])
            if marker in self._seen:
                self.stopped_reason = "the server repeated a page cursor; stopped"
                return resp
            self._seen.add(marker)
            if step[0] == "url":
                self._next = ("url", step[1], None)
            else:
                self._next = ("path", self.path, step[1])
        return resp
