"""Seeded, deterministic data for the sandbox: users, books, orgs, spaces, page trees.

Everything is derived from fixed seeds (ids are hashes of readable keys), so two runs and two
sandboxes serve identical data and tests can name what they expect. Large collections (the
default user's books, the first org's spaces) are *lazy sequences*: item ``i`` is built on
demand, so ``Sandbox(books=10_000)`` starts instantly and a page costs only its own items.

The data deliberately contains what broke clients in the wild (GITBOOK.md section 3): unicode
and right-to-left titles, emoji, a title that looks like HTML, page-tree nodes without a
``pages`` field, and default counts that are not multiples of the page size (a partial last
page).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .change_requests import ChangeRequest as StoredChangeRequest
from .change_requests import ChangeRequests
from .content import ContentStore
from .data_base import (
    DEFAULT_USER,
    HTML_TITLE,
    USERS,
    USERS_BY_NAME,
    Lazy,
    User,
    concat,
    gid,
    stamp,
)
from .data_spaces import (
    BULK_SPACE,
    COLLECTION_IDS,
    COLLECTIONS,
    DEFAULT_SPACES,
    FIRST_ORG,
    ORGS,
    OTHER_SPACES,
    SPECIAL_SPACES,
    ChangeRequest,
    Collection,
    Org,
    PageNode,
    Space,
    walk,
)

__all__ = [
    "DEFAULT_USER",
    "HTML_TITLE",
    "TOPICS",
    "USERS",
    "USERS_BY_NAME",
    "Book",
    "ChangeRequest",
    "Collection",
    "Dataset",
    "Org",
    "PageNode",
    "Space",
    "User",
    "gid",
    "stamp",
    "walk",
]


# ---------------------------------------------------------------- legacy books (section 1)
@dataclass(frozen=True)
class Book:
    owner: str
    name: str
    title: str
    description: str
    public: bool = True
    language: tuple[str, str] = ("en", "English")
    topic: str = "computing"
    hours: float = 0.0

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.name}"


_ADA_BOOKS = (
    Book(
        "ada",
        "notes-on-the-engine",
        "Notes on the Analytical Engine",
        "Sketch of the engine invented by Charles Babbage, with notes.",
        topic="mathematics",
    ),
    Book("ada", "html-title", HTML_TITLE, "A title that looks like HTML <script>alert(1)</script>"),
    Book(
        "ada",
        "arabic-algorithms",
        "مقدمة في الخوارزميات",
        "كتاب تجريبي باللغة العربية",
        language=("ar", "Arabic"),
        topic="mathematics",
    ),
    Book(
        "ada",
        "hebrew-algorithms",
        "מבוא לאלגוריתמים",
        "ספר ניסיון בעברית",
        language=("he", "Hebrew"),
    ),
    Book(
        "ada",
        "poetical-science",
        "Poetical Science 🧪✨",
        "Imagination and analysis 🌌",
        topic="poetry",
    ),
    Book("ada", "private-notes", "Private notes", "Only Ada can read this.", public=False),
)
_OTHER_BOOKS: dict[str, tuple[Book, ...]] = {
    "grace": (
        Book("grace", "cobol-primer", "A COBOL primer", "Business-oriented language."),
        Book("grace", "debugging", "Finding the first bug 🐛", "A moth in relay 70."),
    ),
    "alan": (
        Book(
            "alan",
            "computable-numbers",
            "On Computable Numbers",
            "With an application to the Entscheidungsproblem.",
            topic="mathematics",
        ),
    ),
    "maryam": (
        Book(
            "maryam",
            "riemann-surfaces",
            "سطوح ريمان",
            "هندسة وديناميكا",
            language=("ar", "Arabic"),
            topic="mathematics",
        ),
    ),
    "yonath": (
        Book(
            "yonath",
            "ribosome",
            "מבנה הריבוזום",
            "ביולוגיה מבנית",
            language=("he", "Hebrew"),
            topic="biology",
        ),
    ),
    "mallory": (Book("mallory", "xss", HTML_TITLE, "<script>alert('book')</script>"),),
}
DEFAULT_BOOKS = 73  # not a multiple of 50 (the legacy default page size): partial last page

TOPICS = ("biology", "computing", "mathematics", "poetry", "history", "علوم", "שירה", "🚀 rockets")


def _ada_generated(i: int) -> Book:
    return Book(
        "ada",
        f"notebook-{i:05d}",
        f"Engine notebook {i}",
        f"Working notes, volume {i}.",
        hours=24.0 * (i % 900) + i % 24,
    )


class Dataset:
    """The sandbox's world, scaled by ``books`` (default user's books) and ``spaces``."""

    def __init__(
        self,
        books: int | None = None,
        spaces: int | None = None,
        *,
        pages: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        nbooks = DEFAULT_BOOKS if books is None else max(0, books)
        # The first two seeded spaces (the handbook and the HTML-titled one) always exist:
        # sb.ids names them.
        nspaces = DEFAULT_SPACES if spaces is None else max(2, spaces)
        specials = _ADA_BOOKS[:nbooks]
        self._ngen_books = nbooks - len(specials)
        self.ada_books: Sequence[Book] = concat(specials, Lazy(self._ngen_books, _ada_generated))
        self._books = {b.id: b for b in _ADA_BOOKS[:nbooks]}
        for books_ in _OTHER_BOOKS.values():
            self._books.update({b.id: b for b in books_})
        spec_spaces = SPECIAL_SPACES[:nspaces]
        bulk = () if pages is None else (BULK_SPACE,)  # Sandbox(pages=N): N pages to export
        self._ngen_spaces = nspaces - len(spec_spaces)
        self.org_spaces: dict[str, Sequence[Space]] = {
            FIRST_ORG: concat(spec_spaces, bulk, Lazy(self._ngen_spaces, self._gen_space)),
            **OTHER_SPACES,
        }
        self._spaces = {s.id: s for seq in OTHER_SPACES.values() for s in seq}
        self._spaces.update({s.id: s for s in (*spec_spaces, *bulk)})
        self._gen_ids: dict[str, int] | None = None  # built on first lookup of a generated id
        self.orgs = ORGS
        self.collections = COLLECTIONS
        # Content and change requests are state: merges make new revisions (content.py).
        self.content = ContentStore(clock, bulk_pages=max(0, pages or 0))
        self.crs = ChangeRequests(self.content, clock)
        self.created: list[Book] = []  # books added with POST /books
        self._lock = threading.Lock()

    # -- users and books
    def user(self, username: str) -> User | None:
        return USERS_BY_NAME.get(username)

    def _created_by(self, username: str) -> list[Book]:
        with self._lock:
            return [b for b in self.created if b.owner == username]

    def books_of(self, username: str) -> Sequence[Book]:
        base = (
            self.ada_books if username == DEFAULT_USER.username else _OTHER_BOOKS.get(username, ())
        )
        return concat(base, self._created_by(username))

    def public_books_of(self, username: str) -> Sequence[Book]:
        if username == DEFAULT_USER.username:  # only the seeded specials can be private
            specials = [
                b for b in self.ada_books[: len(self.ada_books) - self._ngen_books] if b.public
            ]
            base: Sequence[Book] = concat(specials, Lazy(self._ngen_books, _ada_generated))
        else:
            base = [b for b in _OTHER_BOOKS.get(username, ()) if b.public]
        return concat(base, [b for b in self._created_by(username) if b.public])

    def add_book(self, book: Book) -> bool:
        """Store a book made with POST /books; False when owner/name is taken."""
        with self._lock:
            if self.book(book.owner, book.name) is not None:
                return False
            self.created.append(book)
            self._books[book.id] = book
            return True

    def all_public_books(self) -> Sequence[Book]:
        return concat(self.public_books_of("ada"), *[self.public_books_of(u) for u in _OTHER_BOOKS])

    def book(self, owner: str, name: str) -> Book | None:
        found = self._books.get(f"{owner}/{name}")
        if found is None and owner == "ada" and name.startswith("notebook-"):
            num = name.removeprefix("notebook-")
            if num.isdigit() and len(num) == 5 and int(num) < self._ngen_books:
                return _ada_generated(int(num))
        return found

    # -- orgs, spaces, collections
    def _gen_space(self, i: int) -> Space:
        coll = COLLECTION_IDS["research"] if i % 4 == 0 else None
        return Space(
            f"gen-{i}",
            FIRST_ORG,
            f"Space {i:05d}",
            "📄",
            "public" if i % 3 == 0 else "private",
            coll,
            100 + i,
        )

    def org(self, org_id: str) -> Org | None:
        return next((o for o in ORGS if o.id == org_id), None)

    def space(self, space_id: str) -> Space | None:
        found = self._spaces.get(space_id)
        if found is None:
            if self._gen_ids is None:
                self._gen_ids = {gid("space", f"gen-{i}"): i for i in range(self._ngen_spaces)}
            index = self._gen_ids.get(space_id)
            found = None if index is None else self._gen_space(index)
        return found

    def collection(self, coll_id: str) -> Collection | None:
        return next((c for c in COLLECTIONS if c.id == coll_id), None)

    def collections_of(self, org_id: str) -> list[Collection]:
        return [c for c in COLLECTIONS if c.org == org_id]

    def spaces_in_collection(self, coll_id: str) -> Sequence[Space]:
        specials = [s for s in SPECIAL_SPACES if s.collection == coll_id and s.id in self._spaces]
        if coll_id == COLLECTION_IDS["research"]:  # every fourth generated space, computed lazily
            return concat(
                specials, Lazy((self._ngen_spaces + 3) // 4, lambda j: self._gen_space(4 * j))
            )
        return specials

    def members_of(self, org_id: str) -> list[tuple[User, str]]:
        roles = ("admin", "create", "edit", "review", "comment", "read")
        if org_id == FIRST_ORG:
            return [(u, roles[i % len(roles)]) for i, u in enumerate(USERS)]
        return [(DEFAULT_USER, "admin"), *((u, "read") for u in USERS[1:4])]

    def tree(self, space: Space) -> tuple[PageNode, ...]:
        """The pages of the space's current revision (after any merge)."""
        return self.content.current(space).pages

    def change_requests(self, space: Space) -> list[StoredChangeRequest]:
        return self.crs.of(space)
