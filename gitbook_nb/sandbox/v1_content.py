"""``/v1`` content routes: a space's pages by id and by path, in its current revision, in any
revision, and in a change request (spec tags ``space-content``, ``change-request-content``).

Trees (``/content``, ``/content/pages``, ``/revisions/{id}``...) list pages without bodies;
the page endpoints add the body as ``markdown`` or ``document`` (``format``, default
``document``), with links to other pages written relative to the page
(``format.markdown.refs=relative``, the default) or as ``/pages/<id>`` (``stable``).
A ``pagePath`` may be sent with its slashes as they are or encoded (``a%2Fb``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import content_json as cj
from . import page_tree as pt
from .api_v1 import Handler, on
from .api_v1 import _space as visible_space
from .content import Revision
from .data import Space, User
from .messages import Request, Response, json_response, v1_error

if TYPE_CHECKING:
    from .app import Sandbox

_SPACE = r"/spaces/([^/]+)"
_SCOPES = {  # path prefix (after the space) -> how to find the revision
    "content": r"/content",
    "revision": r"/revisions/([^/]+)",
    "cr": r"/change-requests/([^/]+)/content",
}
_BOOL = ("true", "false")


def _revision(
    sb: Sandbox, viewer: User, m: re.Match[str], where: str
) -> tuple[Space, Revision] | Response:
    space = visible_space(sb, viewer, unquote(m[1]))
    if space is None:
        return v1_error(404, "Space not found")
    if where == "content":
        return space, sb.data.content.current(space)
    if where == "revision":
        rev = sb.data.content.get(space, unquote(m[2]))
        return (space, rev) if rev is not None else v1_error(404, "Revision not found")
    cr = sb.data.crs.get(space, unquote(m[2]))
    if cr is None:
        return v1_error(404, "Change request not found")
    return space, sb.data.crs.revision_of(space, cr)


def _options(req: Request) -> tuple[str, str] | Response:
    """(format, refs) from the query, checked against the spec's enums."""
    fmt = req.arg("format") or "document"
    if fmt not in ("document", "markdown"):
        return v1_error(400, "format must be document or markdown")
    refs = req.arg("format.markdown.refs") or "relative"
    if refs not in ("relative", "stable"):
        return v1_error(400, "format.markdown.refs must be relative or stable")
    for flag in ("metadata", "cachedMetadata", "computed"):
        if req.arg(flag) not in (None, *_BOOL):
            return v1_error(400, f"{flag} must be true or false")
    return fmt, refs


def _register(where: str) -> None:
    """The four routes of one place: the revision, its page list, a page by id, by path."""
    base = _SPACE + _SCOPES[where]
    key_group = 2 if where == "content" else 3  # the page id or path follows the ids

    def whole(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
        found = _revision(sb, viewer, m, where)
        if isinstance(found, Response):
            return found
        return json_response(200, cj.revision(sb.url, *found, sb.data))

    def pages(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
        found = _revision(sb, viewer, m, where)
        if isinstance(found, Response):
            return found
        return json_response(200, {"pages": cj.tree(sb.url, *found)})

    def one(by_path: bool) -> Handler:
        def handler(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
            found = _revision(sb, viewer, m, where)
            if isinstance(found, Response):
                return found
            options = _options(req)
            if isinstance(options, Response):
                return options
            space, rev = found
            key = unquote(m[key_group])
            entry = rev.find_path(key) if by_path else rev.find(key)
            if entry is None:
                return v1_error(404, f"No page at {key!r}" if by_path else "Page not found")
            fmt, refs = options
            return json_response(200, cj.page(sb.url, space, rev, entry, body=fmt, refs=refs))

        return handler

    on("GET", base, "space:read")(whole)
    on("GET", base + "/pages", "space:read")(pages)
    on("GET", base + "/page/([^/]+)", "space:read")(one(by_path=False))
    on("GET", base + "/path/(.+)", "space:read")(one(by_path=True))


for _where in ("content", "revision", "cr"):
    _register(_where)


@on("GET", _SPACE + r"/revisions/([^/]+)/changes", "space:read")
def _revision_changes(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _revision(sb, viewer, m, "revision")
    if isinstance(found, Response):
        return found
    space, rev = found
    limit = req.arg("limit") or "10"
    if not limit.isdigit():
        return v1_error(400, "limit must be a number")
    parent = sb.data.content.get(space, rev.parents[0]) if rev.parents else None
    items = pt.diff(parent.pages if parent else (), rev.pages)
    body = cj.changes(items, int(limit))
    if rev.type == "merge" and rev.merged_from:
        cr = sb.data.crs.get(space, rev.merged_from)
        if cr is not None:
            body["mergedFrom"] = cj.change_request(sb.url, space, cr, sb.data)
    return json_response(200, body)
