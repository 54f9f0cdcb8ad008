"""Legacy GitBook API (GITBOOK.md section 1), served at the sandbox root.

Shapes follow the 2014-2020 API: ``{"error": "...", "code": N}`` errors with GitBook's exact
401 message, ``{list, page, limit, total}`` pages, a required ``User-Agent``, and a private
book answering 404 (not 403) to someone who may not see it, as GitBook did.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .data import TOPICS, Book, User, stamp
from .messages import LEGACY_401, Request, Response, json_response, legacy_error
from .paging import legacy_page

if TYPE_CHECKING:
    from .app import Sandbox

_BOOK = re.compile(r"/book/([^/]+)/([^/]+)")
_AUTHOR = re.compile(r"/authors?/([^/]+)")
_AUTHOR_BOOKS = re.compile(r"/authors/([^/]+)/books")


class _Unauthorized(Exception):
    pass


def _viewer(sb: Sandbox, req: Request) -> User | None:
    """The authenticated user, None when no token was sent; a bad token raises."""
    tok = req.bearer()
    if tok is None:
        if req.headers.get("Authorization"):
            raise _Unauthorized
        return None
    info = sb.store.lookup(tok)
    if req.revoked_fault or sb.store.status(info) != "ok" or info is None:
        raise _Unauthorized
    return sb.data.user(info.user)


def user_json(sb: Sandbox, u: User, *, with_email: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "User",
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "location": u.location,
        "website": u.website,
        "urls": {"profile": f"{sb.url}/@{u.username}", "avatar": f"{sb.url}/avatars/{u.id}"},
        "dates": {"created": stamp(len(u.username) * 100)},
    }
    if with_email:
        out["email"] = u.email
    return out


def book_json(sb: Sandbox, b: Book, viewer: User | None) -> dict[str, Any]:
    owner = sb.data.user(b.owner)
    own = viewer is not None and viewer.username == b.owner
    read = f"{sb.url}/read/book/{b.id}"
    return {
        "id": b.id,
        "name": b.name,
        "title": b.title,
        "description": b.description,
        "public": b.public,
        "status": "published",
        "topics": [b.topic],
        "author": {"username": b.owner, "name": owner.name if owner else b.owner},
        "language": {"code": b.language[0], "name": b.language[1]},
        "dates": {"created": stamp(b.hours), "build": stamp(b.hours + 5)},
        "permissions": {"read": True, "write": own, "manage": own},
        "urls": {
            "access": f"{sb.url}/book/{b.id}",
            "homepage": f"{sb.url}/@{b.id}",
            "read": read,
            "edit": f"{sb.url}/edit/{b.id}",
            "download": {"pdf": f"{read}.pdf", "epub": f"{read}.epub"},
        },
        "latestBuild": {
            "version": f"1.0.{int(b.hours) % 97}",
            "started": stamp(b.hours + 5),
            "finished": stamp(b.hours + 5.1),
        },
    }


def route(sb: Sandbox, req: Request) -> Response:
    if not req.headers.get("User-Agent"):
        return legacy_error(400, "Request forbidden: a User-Agent header is required")
    try:
        viewer = _viewer(sb, req)
    except _Unauthorized:
        return legacy_error(401, LEGACY_401)
    path = req.path.rstrip("/") or "/"
    if req.method == "POST":
        if path == "/books":
            return _create_book(sb, req, viewer)
        return legacy_error(404, "Not found")
    if req.method != "GET":
        return legacy_error(405, "Method not allowed")
    return _get(sb, req, path, viewer)


def _get(sb: Sandbox, req: Request, path: str, viewer: User | None) -> Response:
    data = sb.data
    if path == "/":
        return json_response(
            200,
            {
                "type": "GitBook",
                "version": "2.6.7-sandbox",
                "urls": {"main": sb.url + "/", "api": sb.url + "/"},
            },
        )
    if path == "/account":
        if viewer is None:
            return legacy_error(401, LEGACY_401)
        return json_response(200, user_json(sb, viewer, with_email=True))
    if path == "/books":
        if viewer is None:
            return legacy_error(401, LEGACY_401)
        return legacy_page(req, data.books_of(viewer.username), lambda b: book_json(sb, b, viewer))
    if path == "/books/all":
        return legacy_page(req, data.all_public_books(), lambda b: book_json(sb, b, viewer))
    if path == "/topics":
        q = (req.arg("q") or "").casefold()
        topics = [
            {"id": t, "name": t, "books": 1 + len(t) % 7} for t in TOPICS if q in t.casefold()
        ]
        return legacy_page(req, topics, lambda t: t)
    if m := _BOOK.fullmatch(path):
        owner, name = unquote(m[1]), unquote(m[2])
        book = data.book(owner, name)
        if book is None or (not book.public and (viewer is None or viewer.username != owner)):
            return legacy_error(404, "Not found")  # GitBook hid private books behind 404
        return json_response(200, book_json(sb, book, viewer))
    if m := _AUTHOR_BOOKS.fullmatch(path):
        author = data.user(unquote(m[1]))
        if author is None:
            return legacy_error(404, "Not found")
        own = viewer is not None and viewer.username == author.username
        seq = data.books_of(author.username) if own else data.public_books_of(author.username)
        return legacy_page(req, seq, lambda b: book_json(sb, b, viewer))
    if m := _AUTHOR.fullmatch(path):
        author = data.user(unquote(m[1]))
        if author is None:
            return legacy_error(404, "Not found")
        return json_response(200, user_json(sb, author))
    return legacy_error(404, "Not found")


def _create_book(sb: Sandbox, req: Request, viewer: User | None) -> Response:
    if viewer is None:
        return legacy_error(401, LEGACY_401)
    if req.is_json:
        try:
            body = req.json()
        except ValueError:
            return legacy_error(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return legacy_error(400, "Invalid JSON body")
    else:
        body = {k: v[0] for k, v in req.form.items()}
    author = str(body.get("author") or viewer.username)
    title = body.get("title")
    if author != viewer.username:
        return legacy_error(403, "You can only create books for yourself")
    if not isinstance(title, str) or not title.strip():
        return legacy_error(400, "A title is required")
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "book"
    book = Book(
        author, name, title, str(body.get("description") or ""), hours=9000.0 + len(sb.data.created)
    )
    if not sb.data.add_book(book):
        return legacy_error(409, f"A book named {name} already exists")
    return json_response(201, book_json(sb, book, viewer))
