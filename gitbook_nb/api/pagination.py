"""Both GitBook pagination envelopes as one lazy iterator of :class:`~gitbook_nb.api.answers.Response`.

legacy   ``{"list": [...], "page": 0, "limit": 50, "total": N}``: more pages while
         ``(page + 1) * limit < total``; ask for ``?page=N+1`` (0-based).
current  ``{"items": [...], "next": {"page": "<cursor>"}, "count": N}``: pass the opaque cursor
         back as ``?page=``; no ``next`` on the last page.

A page is fetched only when the caller asks for it (a notebook can stop early). The walk stops
at ``max_pages`` (``.truncated`` then says more exist), on a repeated cursor (a server bug that
would loop forever), and with :class:`UnsafeRequestError` on a ``next`` link to another host
(D3), raised only after the pages before it were handed out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gitbook_nb.errors import GitBookError, UnsafeRequestError
from gitbook_nb.api._transport import check_same_origin

if TYPE_CHECKING:
    from gitbook_nb.api.answers import Response
    from gitbook_nb.api.client import Client

__all__ = ["Pages", "next_page"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def next_page(
    data: Any,
    params: Mapping[str, Any],
    api_url: str,
) -> tuple[str, Any] | None:
    """What to fetch after a page with body ``data`` requested with ``params``.

    ``("params", new_params)`` for the same path, ``("url", link)`` for a same-origin link, or
    None when this was the last page. Raises UnsafeRequestError for a link to another host.
    """
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("list"), list) and all(
        _is_int(data.get(k)) for k in ("page", "limit", "total")
    ):
        # Our own counter when we sent one: a server that keeps answering page 0 cannot loop us.
        page = int(params["page"]) if str(params.get("page", "")).isdigit() else data["page"]
        limit, total = data["limit"], data["total"]
        if limit > 0 and data["list"] and (page + 1) * limit < total:
            return "params", {**params, "page": page + 1}
        return None
    if isinstance(data.get("items"), list):
        nxt = data.get("next")
        link = None
        if isinstance(nxt, dict):
            cursor = nxt.get("page")
            link = nxt.get("url") if isinstance(nxt.get("url"), str) else None
        else:
            cursor = nxt
        if (
            link is None
            and isinstance(cursor, str)
            and ("://" in cursor[:10] or cursor.startswith("//"))
        ):
            link = cursor
        if link is not None:
            check_same_origin(link, api_url, what="the pagination link")
            return "url", link
        if isinstance(cursor, (str, int)) and not isinstance(cursor, bool) and str(cursor):
            return "params", {**params, "page": cursor}
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
        if isinstance(data, dict):
            for key in ("total", "count"):
                if _is_int(data.get(key)):
                    self.total = data[key]
                    break
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
