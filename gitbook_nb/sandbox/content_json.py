"""JSON shapes of content: revision pages, revisions, change requests and their changes.

Each follows its @gitbook/api schema (``RevisionPage*``, ``Revision*``, ``ChangeRequest``,
``RevisionSemanticChange*``, ``ChangeRequestContentUpdate``) and carries no field the spec
does not define (``tests/test_openapi_spec.py`` checks both). Pages in a tree carry no body, as
on GitBook: a body comes only from the page endpoints, as ``markdown`` or ``document``. The
``documentId`` of a page is a hash of its body and ``updatedAt`` moves with every change, so
a client can tell from the tree alone which pages changed since it last read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import content_md as md
from . import page_tree as pt
from . import v1_objects as obj
from .change_requests import EDITABLE, ChangeRequest
from .content import Revision
from .data import Dataset, Space

if TYPE_CHECKING:
    from .page_ops import Outcome

LAYOUT = {
    "width": "default",
    "cover": False,
    "coverSize": "hero",
    "coverMask": "none",
    "title": True,
    "description": True,
    "tableOfContents": True,
    "outline": True,
    "pagination": True,
    "metadata": True,
    "tags": True,
    "actions": True,
    "anchors": True,
}
_META_BY_KIND = {  # page metadata each page type may carry (spec RevisionPage*)
    "document": ("emoji", "icon", "condition", "hidden", "noIndex", "noRobotsIndex"),
    "group": ("emoji", "icon", "condition", "hidden", "noIndex", "noRobotsIndex"),
    "link": ("emoji", "icon", "condition", "hidden"),
}


def page_url(base: str, s: Space, path: str) -> str:
    return f"{base}/app/o/{s.org}/s/{s.id}/{quote(path)}"


def page(
    base: str,
    s: Space,
    rev: Revision,
    entry: pt.Entry,
    *,
    body: str | None = None,  # None (tree), "document" or "markdown"
    refs: str = "relative",  # format.markdown.refs
) -> dict[str, Any]:
    node = entry.node
    out: dict[str, Any] = {"id": node.id, "title": node.title}
    if node.created_at:
        out["createdAt"], out["updatedAt"] = node.created_at, node.updated_at
    meta = dict(node.meta)
    out.update({k: meta[k] for k in _META_BY_KIND[node.kind] if k in meta})
    if node.kind == "link":  # no "pages" on link nodes (GITBOOK.md section 3)
        return {
            **out,
            "kind": "link",
            "type": "link",
            "href": node.href,
            "target": {"kind": "url", "url": node.href},
        }
    kids = [page(base, s, rev, rev.entries[k.id]) for k in node.children or ()]
    if node.kind == "group":
        return {
            **out,
            "kind": "group",
            "type": "group",
            "slug": node.slug,
            "path": entry.path,
            "pages": kids,
        }
    out.update(
        {
            "kind": "sheet",
            "type": "document",
            "slug": node.slug,
            "path": entry.path,
            "description": node.body,
            "documentId": pt.body_id(node),
            "urls": {"app": page_url(base, s, entry.path)},
            "layout": dict(LAYOUT),
            "tags": [],
            "pages": kids,
        }
    )
    if body is not None:
        text = f"# {node.title}\n\n{node.markdown}" if node.markdown else f"# {node.title}\n"
        if refs == "relative":
            text = md.to_relative(text, entry.path, rev.path_of)
        if body == "markdown":
            out["markdown"] = text
        else:
            out["document"] = md.to_document(text)
    return out


def tree(base: str, s: Space, rev: Revision) -> list[dict[str, Any]]:
    return [page(base, s, rev, rev.entries[n.id]) for n in rev.pages]


def revision(base: str, s: Space, rev: Revision, data: Dataset) -> dict[str, Any]:
    urls = {"app": f"{base}/app/o/{s.org}/s/{s.id}/~/revisions/{rev.id}/"}
    if s.visibility != "private":
        urls["published"] = f"{base}/pub/{s.key}/"
    if s.visibility == "public":
        urls["public"] = f"{base}/pub/{s.key}/"
    out: dict[str, Any] = {
        "object": "revision",
        "id": rev.id,
        "type": rev.type,
        "parents": list(rev.parents),
        "pages": tree(base, s, rev),
        "files": [],
        "reusableContents": [],
        "tags": [],
        "createdAt": rev.created_at,
        "urls": urls,
    }
    if rev.type == "merge" and rev.merged_from:
        cr = data.crs.get(s, rev.merged_from)
        if cr is not None:
            out["mergedFrom"] = change_request(base, s, cr, data)
    return out


def change_request(base: str, s: Space, cr: ChangeRequest, data: Dataset) -> dict[str, Any]:
    author = data.user(cr.author)
    assert author is not None  # only seeded users create change requests
    out: dict[str, Any] = {
        "object": "change-request",
        "id": cr.id,
        "number": cr.number,
        "status": cr.status,
        "subject": cr.subject,
        "createdBy": obj.user(base, author),
        "createdAt": cr.created_at,
        "updatedAt": cr.updated_at,
        "space": cr.space,
        "revision": cr.revision,
        "revisionInitial": cr.base,
        "comments": cr.number % 3 if cr.number <= 8 else 0,
        "outdated": data.crs.outdated(s, cr),
        "urls": {
            "location": f"{base}/v1/spaces/{cr.space}/change-requests/{cr.id}",
            "app": f"{base}/app/s/{cr.space}/~/changes/{cr.number}/",
        },
    }
    if cr.merged_by:
        merger = data.user(cr.merged_by)
        assert merger is not None
        out["mergedBy"], out["mergedAt"] = obj.user(base, merger), cr.merged_at
    if cr.revision_merged:
        out["revisionMerged"] = cr.revision_merged
    return out


def _changed_page(entry: pt.Entry) -> dict[str, Any]:
    out = {"id": entry.node.id, "type": entry.node.kind, "title": entry.node.title}
    if entry.path:
        out["path"] = entry.path
    return out


def semantic_change(change: pt.Change) -> dict[str, Any]:
    out: dict[str, Any] = {"type": change.type, "page": _changed_page(change.entry)}
    if change.type == "page_edited":
        out["attributes"] = {
            k: {"before": a, "after": b} for k, (a, b) in change.attributes.items()
        }
    elif change.type == "page_moved":
        before, after = change.parents
        out["parent"] = {
            **({"before": _changed_page(before)} if before else {}),
            **({"after": _changed_page(after)} if after else {}),
        }
    return out


def changes(items: list[pt.Change], limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"changes": [semantic_change(c) for c in items[:limit]]}
    if len(items) > limit:
        out["more"] = len(items) - limit
    return out


def content_update(
    base: str, s: Space, cr: ChangeRequest, outcomes: list[Outcome], data: Dataset
) -> dict[str, Any]:
    """``ChangeRequestContentUpdate`` (``compat=false``): one entry per page, first touch order."""
    seen: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        if o.page in seen and o.kind != "deleted_page":
            continue
        if o.kind == "deleted_page":
            seen[o.page] = {"object": "deleted_page", "page": o.page}
            continue
        ref = {
            "object": "page",
            "id": o.page,
            "urls": {
                "location": f"{base}/v1/spaces/{s.id}/change-requests/{cr.id}/content/page/{o.page}"
            },
        }
        seen[o.page] = {"object": o.kind, "page": ref, **({"ref": o.ref} if o.ref else {})}
    return {"changeRequest": change_request(base, s, cr, data), "changes": list(seen.values())}


def is_editable(cr: ChangeRequest) -> bool:
    return cr.status in EDITABLE
