"""``/v1`` change-request routes: list (with the spec's filters), create, read, update, add
content in batches, list semantic changes, merge (spec tags ``change-requests`` and
``change-request-content``).

Scopes follow each operation's ``oauth`` security in the spec: reads need ``space:read``,
creating, updating and adding content ``space:write``, merging ``change-request:merge``.
Writing also needs an org role that may edit (admin, create, edit), as on GitBook.
Request bodies are checked as the spec's request schemas say; a bad one is a 400 in the v1
error shape naming the first problem.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import content_json as cj
from . import page_ops
from .api_v1 import _space as visible_space
from .api_v1 import on
from .change_requests import STATUSES, ChangeRequest, MergeConflict
from .data import Space, User
from .messages import Request, Response, json_response, v1_error
from .paging import v1_page

if TYPE_CHECKING:
    from .app import Sandbox

_LIST = r"/spaces/([^/]+)/change-requests"
_ONE = _LIST + r"/([^/]+)"
_WRITERS = ("admin", "create", "edit")
_ORDER = ("updatedAt", "createdAt")
_SUBJECT_MAX = 100  # ChangeRequestSubject


def _space_or_404(sb: Sandbox, viewer: User, space_id: str) -> Space | Response:
    space = visible_space(sb, viewer, unquote(space_id))
    return space if space is not None else v1_error(404, "Space not found")


def _cr_or_404(
    sb: Sandbox, viewer: User, m: re.Match[str]
) -> tuple[Space, ChangeRequest] | Response:
    space = _space_or_404(sb, viewer, m[1])
    if isinstance(space, Response):
        return space
    cr = sb.data.crs.get(space, unquote(m[2]))
    return (space, cr) if cr is not None else v1_error(404, "Change request not found")


def _may_write(sb: Sandbox, viewer: User, space: Space) -> Response | None:
    role = next((r for u, r in sb.data.members_of(space.org) if u.username == viewer.username), "")
    if role in _WRITERS:
        return None
    return v1_error(403, f"Your role ({role or 'none'}) cannot edit this space")


def _body(req: Request) -> dict[str, Any] | Response:
    if not req.body:
        return v1_error(400, "A JSON request body is required")
    try:
        body = req.json()
    except (UnicodeDecodeError, json.JSONDecodeError):
        return v1_error(400, "The request body is not valid JSON")
    if not isinstance(body, dict):
        return v1_error(400, "The request body must be a JSON object")
    return body


def _json(sb: Sandbox, space: Space, cr: ChangeRequest) -> dict[str, Any]:
    return cj.change_request(sb.url, space, cr, sb.data)


@on("GET", _LIST, "space:read")
def _list(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    space = _space_or_404(sb, viewer, m[1])
    if isinstance(space, Response):
        return space
    status = req.arg("status") or "open"  # the spec's default
    if status not in STATUSES:
        return v1_error(400, f"status must be one of {', '.join(STATUSES)}")
    order = req.arg("orderBy") or "updatedAt"
    if order not in _ORDER:
        return v1_error(400, f"orderBy must be one of {', '.join(_ORDER)}")
    creator, contributor = req.arg("creator"), req.arg("contributor")
    reviewer, topic = req.arg("requestedReviewer"), req.arg("topic")

    def user_id(username: str) -> str:
        user = sb.data.user(username)
        return user.id if user else ""

    crs = [
        c
        for c in sb.data.change_requests(space)
        if c.status == status
        and (creator is None or user_id(c.author) == creator)
        and (contributor is None or contributor in {user_id(u) for u in c.contributors})
        and reviewer is None  # the sandbox has no review requests
        and topic is None  # nor site topics
    ]
    key = (lambda c: c.updated_at) if order == "updatedAt" else (lambda c: c.created_at)
    crs.sort(key=lambda c: (key(c), c.number), reverse=True)
    bound = f"{req.path}?{status}|{order}|{creator}|{contributor}|{reviewer}|{topic}"
    return v1_page(req, sb.cursors, crs, lambda c: _json(sb, space, c), scope=bound)


@on("POST", _LIST, "space:write")
def _create(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    space = _space_or_404(sb, viewer, m[1])
    if isinstance(space, Response):
        return space
    refused = _may_write(sb, viewer, space)
    if refused is not None:
        return refused
    body = _body(req)
    if isinstance(body, Response):
        return body
    subject = body.get("subject", "")
    if not isinstance(subject, str) or len(subject) > _SUBJECT_MAX:
        return v1_error(400, f"subject must be a string of at most {_SUBJECT_MAX} characters")
    if "template" in body:
        return v1_error(400, "template is not supported by the sandbox")
    cr = sb.data.crs.create(space, viewer.username, subject)
    out = _json(sb, space, cr)
    return json_response(201, out, {"Location": out["urls"]["location"]})


@on("GET", _ONE, "space:read")
def _get_one(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _cr_or_404(sb, viewer, m)
    return found if isinstance(found, Response) else json_response(200, _json(sb, *found))


@on("PATCH", _ONE, "space:write")
def _update(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _cr_or_404(sb, viewer, m)
    if isinstance(found, Response):
        return found
    space, cr = found
    refused = _may_write(sb, viewer, space)
    if refused is not None:
        return refused
    body = _body(req)
    if isinstance(body, Response):
        return body
    subject, status = body.get("subject", cr.subject), body.get("status", cr.status)
    if not isinstance(subject, str) or len(subject) > _SUBJECT_MAX:
        return v1_error(400, f"subject must be a string of at most {_SUBJECT_MAX} characters")
    if "status" in body and status not in ("draft", "open", "archived"):
        return v1_error(400, "status must be one of draft, open, archived")
    if "description" in body or "links" in body:
        return v1_error(400, "description and links are not supported by the sandbox")
    if cr.status == "merged":
        return v1_error(409, "This change request is merged and can no longer change")
    cr.subject, cr.status, cr.updated_at = subject, status, sb.data.content.now()
    return json_response(200, _json(sb, space, cr))


@on("POST", _ONE + "/content", "space:write")
def _content(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _cr_or_404(sb, viewer, m)
    if isinstance(found, Response):
        return found
    space, cr = found
    compat = req.arg("compat") or "true"
    if compat not in ("true", "false"):
        return v1_error(400, "compat must be true or false")
    refused = _may_write(sb, viewer, space)
    if refused is not None:
        return refused
    body = _body(req)
    if isinstance(body, Response):
        return body
    if not cj.is_editable(cr):
        return v1_error(409, f"This change request is {cr.status}: it takes no more content")
    try:
        changes = page_ops.check_batch(body)
        outcomes = sb.data.crs.add_content(space, cr, changes, viewer.username)
    except page_ops.BatchError as exc:
        return v1_error(400, f"Invalid content change: {exc}")
    if compat == "true":
        return json_response(200, _json(sb, space, cr))
    return json_response(200, cj.content_update(sb.url, space, cr, outcomes, sb.data))


@on("GET", _ONE + "/changes", "space:read")
def _changes(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _cr_or_404(sb, viewer, m)
    if isinstance(found, Response):
        return found
    limit = req.arg("limit") or "10"
    if not limit.isdigit():
        return v1_error(400, "limit must be a number")
    space, cr = found
    return json_response(200, cj.changes(sb.data.crs.changes(space, cr), int(limit)))


@on("POST", _ONE + "/merge", "change-request:merge")
def _merge(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    found = _cr_or_404(sb, viewer, m)
    if isinstance(found, Response):
        return found
    space, cr = found
    refused = _may_write(sb, viewer, space)
    if refused is not None:
        return refused
    if not cj.is_editable(cr):
        return v1_error(409, f"This change request is {cr.status}: it cannot be merged")
    try:
        rev = sb.data.crs.merge(space, cr, viewer.username)
    except MergeConflict:
        return json_response(
            200, {"revision": sb.data.content.head(space)[0], "result": "conflicts"}
        )
    return json_response(200, {"revision": rev.id, "result": "merge"})
