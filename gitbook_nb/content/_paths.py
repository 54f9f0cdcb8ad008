"""API paths of the content endpoints, built from ids and page paths typed by a user.

An id becomes exactly one percent-encoded path segment; a page path keeps its ``/`` between
segments (GitBook's own client sends ``content/path/a/b`` that way) and each segment is encoded.
Dot segments and empty ids are refused here, before any request exists (SECURITY.md D4): the
HTTP client would resolve ``..`` and quietly call another endpoint.
"""

from __future__ import annotations

from urllib.parse import quote

from gitbook_nb.errors import UnsafeRequestError

__all__ = ["cr_path", "id_segment", "page_by_id", "page_by_path", "space_path"]


def id_segment(value: object, what: str) -> str:
    text = str(value).strip()
    if text in ("", ".", ".."):
        raise UnsafeRequestError(
            f"{text!r} is not a usable {what}", hint=f"give the {what} as GitBook shows it"
        )
    return quote(text, safe="")


def space_path(space: object) -> str:
    return f"/spaces/{id_segment(space, 'space id')}"


def page_by_id(space: object, page_id: object) -> str:
    return f"{space_path(space)}/content/page/{id_segment(page_id, 'page id')}"


def page_by_path(space: object, page_path: str) -> str:
    parts = [p for p in str(page_path).strip().strip("/").split("/")]
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise UnsafeRequestError(
            f"{page_path[:80]!r} is not a page path (it has empty, '.' or '..' parts)",
            hint="give a path such as getting-started/install, or a page id",
        )
    return f"{space_path(space)}/content/path/" + "/".join(quote(p, safe="") for p in parts)


def cr_path(space: object, cr: object = None) -> str:
    base = f"{space_path(space)}/change-requests"
    return base if cr is None else f"{base}/{id_segment(cr, 'change request id')}"
