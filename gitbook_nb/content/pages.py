"""Read one page: ``page(space, "getting-started/install")`` or ``page(space, page_id)``.

GitBook serves a page by its path (``GET /spaces/{id}/content/path/{pagePath}``) or by its id
(``.../content/page/{pageId}``); ``format=markdown`` puts the body in a ``markdown`` field
(spec: ``getPageByPath``/``getPageById``, scope ``space:read``). Links between pages come back
relative to the page (``format.markdown.refs=relative``, the default), as Git Sync writes them.
"""

from __future__ import annotations

from typing import Any

from gitbook_nb.content._paths import page_by_id, page_by_path
from gitbook_nb.content.results import PageResult
from gitbook_nb.errors import NotFoundError

__all__ = ["page"]

MARKDOWN = {"format": "markdown"}


def _session_api() -> Any:
    from gitbook_nb.kernel import session  # the kernel's public functions (request, ...)

    return session


def page(space: str, path: str, *, raw: bool = False, api: Any = None) -> PageResult:
    """The page at ``path`` (or with that page id) in ``space``, as markdown.

    A path is tried first, since that is what people type; a one-segment value that is no
    page path is then tried as a page id. ``raw=True`` displays the markdown source.
    ``api`` is the kernel session module (tests and the magic pass their own).
    """
    api = api or _session_api()
    text = str(path).strip()
    try:
        res = api.request("GET", page_by_path(space, text), params=MARKDOWN)
    except NotFoundError as err:
        if "/" in text.strip("/"):
            raise _not_found(space, text, err) from None
        try:
            res = api.request("GET", page_by_id(space, text), params=MARKDOWN)
        except NotFoundError as err2:
            raise _not_found(space, text, err2) from None
    return PageResult(
        res.data,
        space=str(space),
        raw=raw,
        status=res.status,
        elapsed=res.elapsed,
        method="GET",
        path=res.path,
        rate_limit=res.rate_limit,
    )


def _not_found(space: str, text: str, err: NotFoundError) -> NotFoundError:
    """One message for both lookups: which page, in which space, and how to list the paths."""
    return NotFoundError(
        f"no page {text[:80]!r} in space {str(space)[:40]}, neither by path nor by id "
        f"({err.message})",
        status=404,
        code=err.code,
        method="GET",
        path=err.path,
        hint=f"list the pages and their paths with %gitbook pages {str(space)[:40]}",
    )
