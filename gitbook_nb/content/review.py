"""Review change requests: list a space's (``crs``) and show one with its changes (``cr``).

``GET /spaces/{id}/change-requests`` takes ``status`` (draft, open, archived, merged; GitBook's
default is open), ``creator``, ``contributor``, ``requestedReviewer``, ``topic`` and
``orderBy`` (updatedAt, createdAt), and pages with ``page``/``limit``.
``GET .../change-requests/{cr}`` is one change request, ``GET .../changes`` its semantic
changes (``page_created``, ``page_edited``...; ``limit``, default 10; ``more`` counts the rest).
All need ``space:read``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitbook_nb.content._paths import cr_path
from gitbook_nb.content.publisher import review_changes
from gitbook_nb.content.results import ChangeRequestResult
from gitbook_nb.display import Result
from gitbook_nb.errors import GitBookError

__all__ = ["FILTERS", "STATUSES", "change_request", "change_requests"]

STATUSES = ("draft", "open", "archived", "merged")
FILTERS = ("status", "creator", "contributor", "requestedReviewer", "topic", "orderBy")
SHOWN = ["number", "subject", "status", "createdBy.displayName", "updatedAt", "id"]


def _session_api() -> Any:
    from gitbook_nb.kernel import session

    return session


def change_requests(
    space: str,
    status: str = "open",
    *,
    filters: Mapping[str, str] | None = None,
    all_pages: bool = False,
    limit: int | None = None,
    max_pages: int | None = None,
    progress: Callable[[int, int, int | None], None] | None = None,
    api: Any = None,
) -> Result:
    """The change requests of ``space`` with ``status`` (and any other spec filter)."""
    api = api or _session_api()
    params = {"status": status, **dict(filters or {})}
    unknown = sorted(set(params) - set(FILTERS))
    if unknown:
        raise GitBookError(
            f"unknown filter {unknown[0][:40]}", hint=f"filters: {', '.join(FILTERS)}"
        )
    if params["status"] not in STATUSES:
        raise GitBookError(
            f"status must be one of {', '.join(STATUSES)}, not {str(params['status'])[:20]!r}"
        )
    path = cr_path(space)
    if all_pages or max_pages is not None:
        res = api.paginate(path, params=params, max_pages=max_pages, limit=limit, progress=progress)
    else:
        res = api.request(
            "GET", path, params={**params, **({"limit": str(limit)} if limit else {})}
        )
    items = res.data.get("items") if isinstance(res.data, dict) else res.data
    if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
        present = [c for c in SHOWN if _has(items[0], c)]
        return res.with_options(columns=present)
    return res


def _has(obj: Any, dotted: str) -> bool:
    for key in dotted.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return False
        obj = obj[key]
    return True


def change_request(space: str, cr: str, *, api: Any = None) -> ChangeRequestResult:
    """One change request with its semantic changes."""
    api = api or _session_api()
    data = api.request("GET", cr_path(space, cr)).data
    return review_changes(api, space, data if isinstance(data, dict) else {})
