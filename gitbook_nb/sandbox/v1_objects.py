"""JSON shapes of the current API's objects, following @gitbook/api's OpenAPI schemas.

Every required field of the spec's ``User``, ``Organization``, ``Space``, ``Collection``,
``OrganizationMember``, ``Revision``, ``RevisionPage*``, ``ChangeRequest`` and search result
schemas is present (``tests/test_openapi_spec.py`` validates them against the real spec).
Where the spec and GitBook's observed answers differ, the spec wins, with one deliberate
realism: tree nodes of type ``link`` carry no ``pages`` field (GITBOOK.md section 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .data import ChangeRequest, Collection, Dataset, Org, PageNode, Space, User, stamp

_LAYOUT = {
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


def user(base: str, u: User) -> dict[str, Any]:
    return {
        "object": "user",
        "id": u.id,
        "displayName": u.name,
        "email": u.email,
        "photoURL": f"{base}/avatars/{u.id}.png",
        "urls": {"location": f"{base}/v1/users/{u.id}"},
    }


def org(base: str, o: Org) -> dict[str, Any]:
    perms = (
        "view",
        "access",
        "admin",
        "ownTeam",
        "createContent",
        "createOpenAPISpec",
        "viewBilling",
        "listMembers",
        "listTeams",
        "listIntegrations",
        "listInstallations",
        "installIntegration",
    )
    return {
        "object": "organization",
        "id": o.id,
        "title": o.title,
        "createdAt": stamp(o.hours),
        "emailDomains": [],
        "hostname": o.key,
        "type": "business",
        "useCase": "internalDocs",
        "plan": "free",
        "inviteLinks": True,
        "mergeRules": {"type": "none"},
        "trial": {"status": "notapplicable", "count": 0},
        "defaultRole": "read",
        "permissions": {p: True for p in perms},
        "urls": {"location": f"{base}/v1/orgs/{o.id}", "app": f"{base}/app/o/{o.id}/"},
    }


def space(base: str, s: Space, data: Dataset) -> dict[str, Any]:
    crs = data.change_requests(s)
    urls: dict[str, str] = {
        "location": f"{base}/v1/spaces/{s.id}",
        "app": f"{base}/app/o/{s.org}/s/{s.id}/",
    }
    if s.visibility != "private":
        urls["published"] = f"{base}/pub/{s.key}/"
    if s.visibility == "public":
        urls["public"] = f"{base}/pub/{s.key}/"
    out: dict[str, Any] = {
        "object": "space",
        "id": s.id,
        "title": s.title,
        "emoji": s.emoji,
        "visibility": s.visibility,
        "organization": s.org,
        "revision": revision_id(s),
        "createdAt": stamp(s.hours),
        "updatedAt": stamp(s.hours + 48),
        "editMode": "locked",
        "comments": 0,
        "changeRequests": len(crs),
        "changeRequestsOpen": sum(c.status == "open" for c in crs),
        "changeRequestsDraft": sum(c.status == "draft" for c in crs),
        "mergeRules": {"type": "inherit"},
        "defaultLevel": "inherit",
        "urls": urls,
        "permissions": {
            p: True
            for p in (
                "view",
                "access",
                "admin",
                "viewInviteLinks",
                "edit",
                "triggerGitSync",
                "comment",
                "merge",
                "review",
                "installIntegration",
            )
        },
    }
    if s.collection:
        out["parent"] = s.collection
    return out


def collection(base: str, c: Collection) -> dict[str, Any]:
    return {
        "object": "collection",
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "organization": c.org,
        "defaultLevel": "inherit",
        "urls": {
            "location": f"{base}/v1/collections/{c.id}",
            "app": f"{base}/app/o/{c.org}/c/{c.id}/",
        },
        "permissions": {"view": True, "admin": True, "viewInviteLinks": True, "create": True},
    }


def member(base: str, u: User, role: str, index: int) -> dict[str, Any]:
    return {
        "object": "member",
        "id": u.id,
        "role": role,
        "user": user(base, u),
        "disabled": False,
        "joinedAt": stamp(index * 10),
        "lastSeenAt": stamp(900),
        "sso": False,
        "spaces": 3 + index % 4,
        "teams": index % 3,
        "sites": index % 2,
    }


def revision_id(s: Space) -> str:
    from .data import gid

    return gid("revision", s.key)


def document(text: str, title: str | None = None) -> dict[str, Any]:
    """A GitBook JSON document: an optional heading and one paragraph per line."""

    def text_node(t: str) -> dict[str, Any]:
        return {"object": "text", "leaves": [{"object": "leaf", "text": t, "marks": []}]}

    nodes: list[dict[str, Any]] = []
    if title:
        nodes.append(
            {"object": "block", "type": "heading-1", "data": {}, "nodes": [text_node(title)]}
        )
    nodes += [
        {"object": "block", "type": "paragraph", "data": {}, "nodes": [text_node(line)]}
        for line in text.splitlines() or [""]
    ]
    return {"object": "document", "data": {}, "nodes": nodes}


def markdown(node: PageNode) -> str:
    return f"# {node.title}\n\n{node.body}\n"


def page(
    base: str,
    s: Space,
    node: PageNode,
    path: str,
    *,
    fmt: str = "document",
    with_children: bool = True,
) -> dict[str, Any]:
    """One revision page. ``fmt`` picks the body: "document", "markdown" or "tree"."""
    common = {"id": node.id, "title": node.title}
    if node.kind == "link":
        return {
            **common,
            "kind": "link",
            "type": "link",
            "href": node.href,
            "target": {"kind": "url", "url": node.href},
        }  # no "pages": see docstring
    kids = (
        [
            page(base, s, k, f"{path}/{k.slug}", fmt=fmt, with_children=with_children)
            for k in node.children or ()
        ]
        if with_children
        else []
    )
    if node.kind == "group":
        return {
            **common,
            "kind": "group",
            "type": "group",
            "slug": node.slug,
            "path": path,
            "pages": kids,
        }
    out = {
        **common,
        "kind": "sheet",
        "type": "document",
        "slug": node.slug,
        "path": path,
        "description": node.body[:80],
        "documentId": node.id + "doc",
        "urls": {"app": f"{base}/app/o/{s.org}/s/{s.id}/{quote(path)}"},
        "layout": dict(_LAYOUT),
        "tags": [],
        "pages": kids,
    }
    if fmt == "markdown":
        out["markdown"] = markdown(node)
    else:
        out["document"] = document(node.body, None if fmt == "tree" else node.title)
    return out


def revision(base: str, s: Space, tree: Sequence[PageNode]) -> dict[str, Any]:
    return {
        "object": "revision",
        "id": revision_id(s),
        "type": "edits",
        "parents": [],
        "pages": [page(base, s, n, n.slug, fmt="tree") for n in tree],
        "files": [],
        "reusableContents": [],
        "tags": [],
        "createdAt": stamp(s.hours + 48),
        "urls": {"app": f"{base}/app/o/{s.org}/s/{s.id}/"},
    }


def change_request(base: str, cr: ChangeRequest, data: Dataset) -> dict[str, Any]:
    author = data.user(cr.author)
    assert author is not None  # seeded authors always exist
    out: dict[str, Any] = {
        "object": "change-request",
        "id": cr.id,
        "number": cr.number,
        "status": cr.status,
        "subject": cr.subject,
        "createdBy": user(base, author),
        "createdAt": stamp(cr.hours),
        "updatedAt": stamp(cr.hours + 2),
        "space": cr.space,
        "revision": cr.id + "-rev",
        "revisionInitial": cr.id + "-init",
        "comments": cr.number % 3,
        "outdated": cr.number % 2 == 0,
        "urls": {
            "location": f"{base}/v1/spaces/{cr.space}/change-requests/{cr.id}",
            "app": f"{base}/app/s/{cr.space}/~/changes/{cr.number}/",
        },
    }
    if cr.status == "merged":
        out["mergedBy"] = user(base, author)
        out["mergedAt"] = stamp(cr.hours + 3)
    return out


def search_page(
    base: str, s: Space, node: PageNode, path: str, ancestors: Sequence[PageNode], rank: int
) -> dict[str, Any]:
    return {
        "id": node.id,
        "title": node.title,
        "description": node.body[:80],
        "path": path,
        "score": round(1.0 / rank, 4),
        "rank": rank,
        "resultType": "page",
        "ancestors": [{"title": a.title} for a in ancestors],
        "sections": [],
        "urls": {"app": f"{base}/app/o/{s.org}/s/{s.id}/{quote(path)}"},
    }
