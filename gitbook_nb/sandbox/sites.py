"""Docs sites under /v1: ``GET /orgs/{orgId}/sites`` (+ ``/{siteId}``, ``/published``,
``/structure``), with the query filters and scopes of @gitbook/api's spec.

The routes are listed in ``ROUTES`` and registered by ``api_v1`` (which adds the bearer check,
rate limit and scope check before a handler runs). ``getSiteById`` has no ``oauth`` entry in
the spec's ``security``, so it takes personal access tokens only (scope ``None``); the others
need ``site:read``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import site_objects
from .data import User
from .data_sites import SITES_BY_ID, SiteSeed, site_spaces, sites_of
from .messages import Request, Response, json_response, v1_error
from .paging import v1_page

if TYPE_CHECKING:
    from .app import Sandbox

Handler = Callable[["Sandbox", Request, "re.Match[str]", User], Response]
Route = tuple[str, str, "str | None", Handler]
SITE_TYPES = ("basic", "premium", "ultimate", "sponsored", "legacy-basic", "legacy-premium")


def route_into(
    routes: list[Route],
) -> Callable[[str, str, str | None], Callable[[Handler], Handler]]:
    """A decorator factory that lists ``(method, pattern, scope, handler)`` in ``routes``."""

    def route(method: str, pattern: str, scope: str | None) -> Callable[[Handler], Handler]:
        def add(fn: Handler) -> Handler:
            routes.append((method, pattern, scope, fn))
            return fn

        return add

    return route


ROUTES: list[Route] = []
route = route_into(ROUTES)


def is_member(sb: Sandbox, viewer: User, org_id: str) -> bool:
    return any(u.username == viewer.username for u, _ in sb.data.members_of(org_id))


def find_site(sb: Sandbox, viewer: User, org_id: str, site_id: str) -> SiteSeed | Response:
    """The site, or the 404 a non-member or a wrong id gets (GitBook hides what you can't see)."""
    if not is_member(sb, viewer, org_id):
        return v1_error(404, "Organization not found")
    site = SITES_BY_ID.get(site_id)
    if site is None or site.org != org_id or not site_spaces(site, sb.data.space):
        return v1_error(404, "Site not found")
    return site


@route("GET", r"/orgs/([^/]+)/sites", "site:read")
def _list(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not is_member(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    sites = list(sites_of(m[1], sb.data.space))
    space = req.arg("space")
    if space:
        sites = [s for s in sites if any(sp.id == space for _, sp in site_spaces(s, sb.data.space))]
    title = req.arg("title")
    if title:
        sites = [s for s in sites if title.casefold() in s.title.casefold()]
    published = req.arg("published")
    if published is not None:
        if published not in ("true", "false"):
            return v1_error(400, "published must be true or false")
        sites = [s for s in sites if s.published == (published == "true")]
    types = req.params.get("type", [])
    bad = [t for t in types if t not in SITE_TYPES]
    if bad:
        return v1_error(400, f"type must be one of {', '.join(SITE_TYPES)} (got {bad[0]!r})")
    if types:
        sites = [s for s in sites if s.kind in types]
    scope = f"{req.path}?{space}|{title}|{published}|{','.join(sorted(types))}"
    return v1_page(
        req, sb.cursors, sites, lambda s: site_objects.site(sb.url, s, sb.data), scope=scope
    )


@route("GET", r"/orgs/([^/]+)/sites/([^/]+)", None)
def _get(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    site = find_site(sb, viewer, m[1], m[2])
    if isinstance(site, Response):
        return site
    return json_response(200, site_objects.site(sb.url, site, sb.data))


@route("GET", r"/orgs/([^/]+)/sites/([^/]+)/published", "site:read")
def _published(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    site = find_site(sb, viewer, m[1], m[2])
    if isinstance(site, Response):
        return site
    if not site.published:
        return v1_error(404, "The site is not published")
    return json_response(200, site_objects.published(sb.url, site, sb.data))


@route("GET", r"/orgs/([^/]+)/sites/([^/]+)/structure", "site:read")
def _structure(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    site = find_site(sb, viewer, m[1], m[2])
    if isinstance(site, Response):
        return site
    return json_response(200, site_objects.structure(sb.url, site, sb.data))
