"""JSON shapes of the current API's objects, following @gitbook/api's OpenAPI schemas.

Every required field of the spec's ``User``, ``Organization``, ``Space``, ``Collection``,
``OrganizationMember`` and search result schemas is present (``tests/test_openapi_spec.py``
validates them against the real spec). Pages, revisions and change requests are in
``content_json.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .data import Collection, Dataset, Org, PageNode, Space, User, stamp


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
    revision, updated = data.content.head(s)
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
        "revision": revision,
        "createdAt": stamp(s.hours),
        "updatedAt": updated,
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
        **({"parent": c.parent} if c.parent else {}),
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
