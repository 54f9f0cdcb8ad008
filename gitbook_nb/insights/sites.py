"""An organisation's docs sites, one site's structure, and search across the organisation.

Endpoints and scopes (GitBook's OpenAPI spec): ``GET /orgs/{id}/sites`` (``site:read``; filters
``title``, ``published``, ``space``, ``type``), ``GET /orgs/{id}/sites/{siteId}/published``
(the site with its structure; ``site:read``; 404 when the site is not published) and
``.../structure`` (the same structure for any site), ``GET /orgs/{id}/search?query=``
(``organization:search``; at most 512 characters; spaces with their matching pages).
"""

from __future__ import annotations

from typing import Any

from gitbook_nb.display import Result
from gitbook_nb.errors import NotFoundError, UnsafeRequestError
from gitbook_nb.insights.ask import segment
from gitbook_nb.insights.scopes import needs
from gitbook_nb.kernel import session as kernel_session

__all__ = ["SiteResult", "search", "site", "sites"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


SITE_COLUMNS = ["id", "title", "published", "visibility", "type", "url"]
MAX_QUERY = 512


def _site_row(item: dict[str, Any]) -> dict[str, Any]:
    urls = _dict(item.get("urls"))
    return {
        "id": item.get("id"),
        "title": item.get("title"),
        "published": item.get("published"),
        "visibility": item.get("visibility"),
        "type": item.get("type"),
        "url": urls.get("published") or "",  # only published sites have one
    }


def sites(org: str, **filters: Any) -> Result:
    """Every site of ``org`` (all pages), with its published URL; ``.data`` is the raw list."""
    path = f"/orgs/{segment(org, 'organization')}/sites"
    params = {k: ("true" if v is True else "false" if v is False else v)
              for k, v in filters.items() if v is not None}  # fmt: skip
    with needs("sites"):
        res = kernel_session.paginate(path, params=params or None)
    items = res.data.get("items", []) if isinstance(res.data, dict) else res.data or []
    rows = [_site_row(i) for i in items if isinstance(i, dict)]
    note = None if rows else "This organisation has no sites (or none you can see)."
    out = Result(rows, method="GET", path=path, status=res.status, pages=res.pages,
                 elapsed=res.elapsed, rate_limit=res.rate_limit, note=note)  # fmt: skip
    out.raw = res.data  # type: ignore[attr-defined]  # the sites as the API sent them
    return out


class SiteResult(Result):
    """One site's structure as rows (section, variant, space, path, url); ``.site`` holds the
    site object and ``.raw`` the API's answer."""

    def __init__(self, rows: list[dict[str, Any]], *, site: dict[str, Any], raw: Any, **kw: Any):
        self.site = site
        self.raw = raw
        super().__init__(rows, **kw)


def _space_row(item: dict[str, Any], section: str = "") -> dict[str, Any]:
    space = _dict(item.get("space"))
    urls = _dict(item.get("urls"))
    return {
        "section": section,
        "variant": item.get("title"),
        "space": space.get("id"),
        "space title": space.get("title"),
        "path": item.get("path"),
        "default": item.get("default", False),
        "url": urls.get("published") or "",
    }


def structure_rows(structure: Any) -> list[dict[str, Any]]:
    """A ``SiteStructure`` (sections, section groups, external links, or site spaces) flat."""
    if not isinstance(structure, dict):
        return []
    rows: list[dict[str, Any]] = []
    stack = list(reversed(structure.get("structure") or []))
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("object")
        if kind == "site-section-group":
            stack.extend(reversed(node.get("sections") or []))
        elif kind == "site-section":
            for sp in node.get("siteSpaces") or []:
                if isinstance(sp, dict):
                    rows.append(_space_row(sp, str(node.get("title") or "")))
        elif kind == "site-space":
            rows.append(_space_row(node))
        elif kind == "site-external-link" or node.get("url"):
            rows.append({"section": node.get("title"), "variant": "(link)", "space": None,
                         "space title": None, "path": None, "default": False,
                         "url": node.get("url") or ""})  # fmt: skip
    return rows


def site(org: str, site_id: str) -> SiteResult:
    """One site: its published structure, or (not published) its draft structure."""
    base = f"/orgs/{segment(org, 'organization')}/sites/{segment(site_id, 'site')}"
    with needs("site"):
        try:
            res = kernel_session.request("GET", base + "/published")
            data = res.data if isinstance(res.data, dict) else {}
            info, structure = data.get("site") or {}, data.get("structure")
        except NotFoundError:  # not published: the structure still exists
            res = kernel_session.request("GET", base + "/structure")
            info, structure = {"id": site_id, "published": False}, res.data
    rows = structure_rows(structure)
    urls = _dict(info.get("urls"))
    bits = [str(info.get("title") or info.get("id") or site_id)]
    if info.get("visibility"):
        bits.append(str(info["visibility"]))
    bits.append(
        urls.get("published") or ("published" if info.get("published") else "not published")
    )
    return SiteResult(rows, site=info, raw=res.data, method="GET", path=res.path,
                      status=res.status, elapsed=res.elapsed, rate_limit=res.rate_limit,
                      note=" · ".join(bits))  # fmt: skip


def search(org: str, query: str, *, limit: int | None = None) -> Result:
    """Pages matching ``query`` across ``org``'s spaces, best first (one row per page)."""
    text = " ".join(str(query).split())
    if not text:
        raise UnsafeRequestError('search needs words to look for: search --org ORG "words"')
    if len(text) > MAX_QUERY:
        raise UnsafeRequestError(f"GitBook searches at most {MAX_QUERY} characters")
    path = f"/orgs/{segment(org, 'organization')}/search"
    params: dict[str, Any] = {"query": text}
    if limit:
        params["limit"] = limit
    with needs("search"):
        res = kernel_session.request("GET", path, params=params)
    rows = []
    for sp in (res.data or {}).get("items", []) if isinstance(res.data, dict) else []:
        for pg in sp.get("pages") or []:
            urls = _dict(pg.get("urls"))
            rows.append({"space": sp.get("title"), "title": pg.get("title"), "path": pg.get("path"),
                         "score": pg.get("score"), "url": urls.get("app") or ""})  # fmt: skip
    rows.sort(key=lambda r: -(r["score"] or 0))
    note = None if rows else f"Nothing in this organisation matches {text[:60]!r}."
    out = Result(rows, method="GET", path=path, status=res.status, elapsed=res.elapsed,
                 rate_limit=res.rate_limit, note=note)  # fmt: skip
    out.raw = res.data  # type: ignore[attr-defined]
    return out
