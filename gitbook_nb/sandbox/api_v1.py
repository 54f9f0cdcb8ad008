"""Current GitBook API under ``/v1`` (GITBOOK.md section 2).

Bearer tokens only; ``{"error": {"code", "message"}}`` errors; ``X-RateLimit-*`` headers on
every authenticated answer and a 429 when a token's budget for the window is spent
(``Sandbox(rate_limit=, rate_window=)``, default 5,000 an hour); OAuth tokens
carry scopes and each endpoint needs the scope the OpenAPI spec's ``oauth`` security names
(a 403 says which one is missing). Personal access tokens have every scope.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import ask, insights, list_filters, sites
from . import v1_objects as obj
from .data import PageNode, Space, User, walk
from .messages import Request, Response, json_response, v1_error
from .paging import v1_page

if TYPE_CHECKING:
    from .app import Sandbox

Handler = Callable[["Sandbox", Request, "re.Match[str]", User], Response]
# (path pattern, OAuth scope, handler, HTTP method). A scope of None marks an operation whose
# spec `security` lists no `oauth` entry: personal access tokens only.
_ROUTES: list[tuple[re.Pattern[str], str | None, Handler, str]] = []


def on(method: str, pattern: str, scope: str | None) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``method`` on a path pattern (relative to /v1)."""

    def register(fn: Handler) -> Handler:
        _ROUTES.append((re.compile(pattern), scope, fn, method))
        return fn

    return register


def _get(pattern: str, scope: str | None) -> Callable[[Handler], Handler]:
    return on("GET", pattern, scope)


def route(sb: Sandbox, req: Request) -> Response:
    path = req.path[3:].rstrip("/") or "/"
    if path == "/":
        return json_response(200, {"version": "sandbox-1.0", "build": "2024-06-01T00:00:00Z"})
    matches = [
        (m, scope, fn, method)
        for pattern, scope, fn, method in _ROUTES
        if (m := pattern.fullmatch(path))
    ]
    if not matches:
        return v1_error(404, f"No route for {req.method} {req.path}")
    found = next((x for x in matches if x[3] == req.method), None)
    tok = req.bearer()
    if tok is None:
        return v1_error(401, "Authentication required: send an Authorization: Bearer token")
    info = sb.store.lookup(tok)
    status = "revoked" if req.revoked_fault else sb.store.status(info)
    if status != "ok" or info is None:
        return v1_error(
            401,
            {
                "invalid": "Invalid access token",
                "revoked": "The access token has been revoked",
                "expired": "The access token has expired",
            }.get(status, status),
        )
    allowed, remaining, reset = sb.store.hit(tok, sb.rate_limit, sb.rate_window)
    limits = {
        "X-RateLimit-Limit": str(sb.rate_limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
    if not allowed:
        # GitBook's documented 429: the X-RateLimit-* headers and this message, and no
        # Retry-After unless the sandbox is asked for one (rate_retry_after=True).
        wait = max(1, math.ceil(reset - sb.clock()))
        if sb.rate_retry_after:
            limits["Retry-After"] = str(wait)
        message = f"API rate limit exceeded. Please try again in {wait} seconds"
        return v1_error(429, message, limits)
    if found is None:
        resp = v1_error(405, f"Method {req.method} is not allowed on {req.path}")
    elif found[1] is None and info.kind == "oauth":
        resp = v1_error(403, "This operation accepts personal access tokens only, not OAuth")
    elif found[1] is not None and info.scopes is not None and found[1] not in info.scopes:
        resp = v1_error(403, f"Missing scope: {found[1]}")
    else:
        viewer = sb.data.user(info.user)
        assert viewer is not None  # tokens are only minted for seeded users
        resp = found[2](sb, req, found[0], viewer)
    resp.headers += list(limits.items())
    return resp


def _org_ids(sb: Sandbox, viewer: User) -> list[str]:
    return [
        o.id
        for o in sb.data.orgs
        if any(u.username == viewer.username for u, _ in sb.data.members_of(o.id))
    ]


def _space(sb: Sandbox, viewer: User, space_id: str) -> Space | None:
    space = sb.data.space(space_id)
    return space if space is not None and space.org in _org_ids(sb, viewer) else None


@_get(r"/user", "user:read")
def _user(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    return json_response(200, obj.user(sb.url, viewer))


@_get(r"/orgs", "organization:read")
def _orgs(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    mine = set(_org_ids(sb, viewer))
    orgs = [o for o in sb.data.orgs if o.id in mine]
    return v1_page(req, sb.cursors, orgs, lambda o: obj.org(sb.url, o))


def _org_or_404(sb: Sandbox, viewer: User, org_id: str) -> bool:
    return org_id in _org_ids(sb, viewer)


@_get(r"/orgs/([^/]+)/spaces", "space:read")
def _org_spaces(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not _org_or_404(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    return v1_page(
        req, sb.cursors, sb.data.org_spaces.get(m[1], ()), lambda s: obj.space(sb.url, s, sb.data)
    )


@_get(r"/orgs/([^/]+)/collections", "space:read")
def _org_collections(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not _org_or_404(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    found = list_filters.collections(req, sb.data.collections_of(m[1]))
    if isinstance(found, Response):
        return found
    colls, key = found
    return v1_page(
        req, sb.cursors, colls, lambda c: obj.collection(sb.url, c), scope=f"{req.path}?{key}"
    )


@_get(r"/orgs/([^/]+)/members", "organization:members:read")
def _org_members(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not _org_or_404(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    found = list_filters.members(req, list(enumerate(sb.data.members_of(m[1]))))
    if isinstance(found, Response):
        return found
    members, key = found
    return v1_page(
        req,
        sb.cursors,
        members,
        lambda im: obj.member(sb.url, im[1][0], im[1][1], im[0]),
        scope=f"{req.path}?{key}",
    )


def _query(req: Request) -> str | Response:
    query = req.arg("query")
    if not query or not query.strip():
        return v1_error(400, "The query parameter is required")
    if len(query) > 512:
        return v1_error(400, "The query parameter must be at most 512 characters")
    return query


def _hits(
    space: Space, nodes: tuple[PageNode, ...], needle: str
) -> list[tuple[PageNode, str, tuple[PageNode, ...]]]:
    found = []
    for node, ancestors in walk(nodes):
        if needle in node.title.casefold() or needle in node.body.casefold():
            path = "/".join(a.slug for a in (*ancestors, node))
            found.append((node, path, ancestors))
    return found


@_get(r"/orgs/([^/]+)/search", "organization:search")
def _org_search(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not _org_or_404(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    query = _query(req)
    if isinstance(query, Response):
        return query
    needle, results = query.casefold(), []
    for space in sb.data.org_spaces.get(m[1], ()):
        hits = _hits(space, sb.data.tree(space), needle)
        if hits or needle in space.title.casefold():
            results.append((space, hits))

    def render(item: tuple[Space, list]) -> dict:
        space, hits = item
        return {
            "type": "space",
            "id": space.id,
            "title": space.title,
            "score": round(1.0 + len(hits), 4),
            "pages": [
                obj.search_page(sb.url, space, n, p, a, i + 1) for i, (n, p, a) in enumerate(hits)
            ],
        }

    return v1_page(req, sb.cursors, results, render, scope=f"{req.path}?{query}")


@_get(r"/spaces/([^/]+)", "space:read")
def _space_get(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    space = _space(sb, viewer, m[1])
    if space is None:
        return v1_error(404, "Space not found")
    return json_response(200, obj.space(sb.url, space, sb.data))


@_get(r"/spaces/([^/]+)/search", "space:read")
def _space_search(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    space = _space(sb, viewer, m[1])
    if space is None:
        return v1_error(404, "Space not found")
    query = _query(req)
    if isinstance(query, Response):
        return query
    hits = _hits(space, sb.data.tree(space), query.casefold())
    ranked = [(n, p, a, i + 1) for i, (n, p, a) in enumerate(hits)]
    return v1_page(
        req,
        sb.cursors,
        ranked,
        lambda h: obj.search_page(sb.url, space, *h),
        scope=f"{req.path}?{query}",
    )


@_get(r"/collections/([^/]+)/spaces", "space:read")
def _collection_spaces(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    coll = sb.data.collection(m[1])
    if coll is None or coll.org not in _org_ids(sb, viewer):
        return v1_error(404, "Collection not found")
    return v1_page(
        req,
        sb.cursors,
        sb.data.spaces_in_collection(coll.id),
        lambda s: obj.space(sb.url, s, sb.data),
    )


# Routes of feature modules (sites, site insights, Ask), checked here like the ones above.
for _method, _pattern, _scope, _handler in (*sites.ROUTES, *insights.ROUTES, *ask.ROUTES):
    on(_method, _pattern, _scope)(_handler)
