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

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar, overload

HTML_TITLE = "<img src=x onerror=alert(1)>"
_EPOCH = datetime(2023, 1, 2, 9, 30, tzinfo=timezone.utc)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

T = TypeVar("T")


def gid(kind: str, key: object, n: int = 20) -> str:
    """A GitBook-looking id (base62, 20 chars) that is a stable hash of a readable key."""
    num = int.from_bytes(hashlib.sha256(f"{kind}:{key}".encode()).digest(), "big")
    out = []
    for _ in range(n):
        num, rem = divmod(num, 62)
        out.append(_B62[rem])
    return "".join(out)


def stamp(hours: float) -> str:
    """A deterministic ISO-8601 timestamp ``hours`` after the seed epoch."""
    return (_EPOCH + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Lazy(Sequence[T], Generic[T]):
    """A read-only sequence of ``length`` items where item ``i`` is ``make(i)``, built on demand."""

    def __init__(self, length: int, make: Callable[[int], T]) -> None:
        self._len = max(0, length)
        self._make = make

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[T]:
        return (self._make(j) for j in range(self._len))


def concat(*parts: Sequence[T]) -> Lazy[T]:
    """Several sequences seen as one, without copying them."""
    sizes = [len(p) for p in parts]

    def make(i: int) -> T:
        for part, size in zip(parts, sizes, strict=True):
            if i < size:
                return part[i]
            i -= size
        raise IndexError(i)

    return Lazy(sum(sizes), make)


@dataclass(frozen=True)
class User:
    username: str
    name: str
    location: str = ""
    website: str = ""

    @property
    def id(self) -> str:
        return gid("user", self.username, 28)

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


USERS: tuple[User, ...] = (
    User("ada", "Ada Lovelace", "London", "https://example.com/ada"),
    User("grace", "Grace Hopper", "Arlington"),
    User("alan", "Alan Turing", "Manchester"),
    User("katherine", "Katherine Johnson", "Hampton"),
    User("edsger", "Edsger Dijkstra", "Austin"),
    User("barbara", "Barbara Liskov", "Cambridge"),
    User("maryam", "مريم ميرزاخاني", "Stanford"),
    User("yonath", "עדה יונת", "Rehovot"),
    User("emmy", "Emmy Noether", "Göttingen"),
    User("sofia", "Софья Ковалевская", "Stockholm"),
    User("hedy", "Hedy Lamarr 🎬", "Vienna"),
    User("mallory", HTML_TITLE, "<b>nowhere</b>"),
)
USERS_BY_NAME = {u.username: u for u in USERS}
DEFAULT_USER = USERS[0]


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
    Book("ada", "notes-on-the-engine", "Notes on the Analytical Engine",
         "Sketch of the engine invented by Charles Babbage, with notes.", topic="mathematics"),
    Book("ada", "html-title", HTML_TITLE, "A title that looks like HTML <script>alert(1)</script>"),
    Book("ada", "arabic-algorithms", "مقدمة في الخوارزميات", "كتاب تجريبي باللغة العربية",
         language=("ar", "Arabic"), topic="mathematics"),
    Book("ada", "hebrew-algorithms", "מבוא לאלגוריתמים", "ספר ניסיון בעברית",
         language=("he", "Hebrew")),
    Book("ada", "poetical-science", "Poetical Science 🧪✨", "Imagination and analysis 🌌",
         topic="poetry"),
    Book("ada", "private-notes", "Private notes", "Only Ada can read this.", public=False),
)
_OTHER_BOOKS: dict[str, tuple[Book, ...]] = {
    "grace": (Book("grace", "cobol-primer", "A COBOL primer", "Business-oriented language."),
              Book("grace", "debugging", "Finding the first bug 🐛", "A moth in relay 70.")),
    "alan": (Book("alan", "computable-numbers", "On Computable Numbers",
                  "With an application to the Entscheidungsproblem.", topic="mathematics"),),
    "maryam": (Book("maryam", "riemann-surfaces", "سطوح ريمان", "هندسة وديناميكا",
                    language=("ar", "Arabic"), topic="mathematics"),),
    "yonath": (Book("yonath", "ribosome", "מבנה הריבוזום", "ביולוגיה מבנית",
                    language=("he", "Hebrew"), topic="biology"),),
    "mallory": (Book("mallory", "xss", HTML_TITLE, "<script>alert('book')</script>"),),
}
DEFAULT_BOOKS = 73  # not a multiple of 50 (the legacy default page size): partial last page

TOPICS = ("biology", "computing", "mathematics", "poetry", "history", "علوم", "שירה", "🚀 rockets")


def _ada_generated(i: int) -> Book:
    return Book("ada", f"notebook-{i:05d}", f"Engine notebook {i}",
                f"Working notes, volume {i}.", hours=24.0 * (i % 900) + i % 24)


# ------------------------------------------------------------- current API data (section 2)
@dataclass(frozen=True)
class PageNode:
    """One node of a space's page tree. ``children is None`` means the node has no ``pages``."""

    id: str
    title: str
    slug: str
    kind: str  # "document" | "group" | "link"
    body: str = ""
    href: str = ""
    children: tuple[PageNode, ...] | None = ()


@dataclass(frozen=True)
class Org:
    key: str
    title: str
    hours: float

    @property
    def id(self) -> str:
        return gid("org", self.key)


@dataclass(frozen=True)
class Collection:
    key: str
    org: str
    title: str
    description: str

    @property
    def id(self) -> str:
        return gid("collection", self.key)


@dataclass(frozen=True)
class Space:
    key: str
    org: str  # org id
    title: str
    emoji: str
    visibility: str = "private"
    collection: str | None = None  # collection id
    hours: float = 0.0
    template: str = "small"  # which page tree it carries

    @property
    def id(self) -> str:
        return gid("space", self.key)


@dataclass(frozen=True)
class ChangeRequest:
    space: str
    number: int
    subject: str
    status: str
    author: str
    hours: float

    @property
    def id(self) -> str:
        return gid("cr", f"{self.space}/{self.number}")


ORGS = (
    Org("engines", "Analytical Engines Ltd", 10),
    Org("unicode", "Ünïcödé Labs 🚀", 20),
    Org("arabic", "مختبر الخوارزميات", 30),
    Org("html", HTML_TITLE, 40),
)
_ORG0 = ORGS[0].id
COLLECTIONS = (
    Collection("engineering", _ORG0, "Engineering", "Engine designs and notes"),
    Collection("research", _ORG0, "Research 🔬", "Generated research spaces"),
    Collection("arabic-docs", _ORG0, "وثائق", "مستندات باللغة العربية"),
)
_COLL = {c.key: c.id for c in COLLECTIONS}
_SPECIAL_SPACES = (
    Space("main", _ORG0, "Engine handbook", "📘", "public", _COLL["engineering"], 11, "main"),
    Space("html", _ORG0, HTML_TITLE, "💥", "private", _COLL["engineering"], 12, "html"),
    Space("arabic", _ORG0, "دليل المحرك", "📗", "unlisted", _COLL["arabic-docs"], 13),
    Space("hebrew", _ORG0, "מדריך המנוע", "📙", "private", _COLL["arabic-docs"], 14),
    Space("emoji", _ORG0, "Rockets & stars 🚀✨", "🚀", "public", None, 15),
)
DEFAULT_SPACES = 57  # first org; not a multiple of 50 (the v1 default page size)
_OTHER_SPACES = {
    ORGS[1].id: (Space("u1", ORGS[1].id, "Zürich café notes ☕", "☕", hours=21),
                 Space("u2", ORGS[1].id, "日本語のメモ", "🗾", hours=22),
                 Space("u3", ORGS[1].id, "Emoji only 🎉🎉🎉", "🎉", hours=23)),
    ORGS[2].id: (Space("a1", ORGS[2].id, "خوارزميات", "📐", hours=31),
                 Space("a2", ORGS[2].id, "אלגוריתמים", "📏", hours=32)),
    ORGS[3].id: (Space("h1", ORGS[3].id, "<script>alert(1)</script>", "🧨", hours=41),),
}

_MAIN_TREE = (
    ("document", "Getting started", "Install the engine and run a first program.", (
        ("document", "Installation", "Mount the mill and the store.", ()),
        ("document", "First steps 🚀", "Punch a card and turn the crank.", ()),
    )),
    ("group", "Guides", "", (
        ("document", "Bernoulli numbers", "Note G computes Bernoulli numbers.", (
            ("document", "Note G", "The first published algorithm.", ()),
        )),
        ("document", "מדריך בעברית", "טקסט לדוגמה בעברית.", ()),
        ("document", "دليل باللغة العربية", "نص تجريبي باللغة العربية.", ()),
        ("link", "Babbage's archive", "https://example.com/babbage", None),
    )),
    ("document", HTML_TITLE, "Body with <b>markup</b> & <script>alert(2)</script>.", ()),
    ("link", "External reference", "https://example.com/engine", None),
    ("document", "FAQ", "Frequently asked questions about the engine.", ()),
)
_SMALL_TREE = (
    ("document", "Welcome", "Welcome to {title}.", (
        ("document", "Notes", "Notes about {title}.", ()),
    )),
    ("link", "Homepage", "https://example.com/{key}", None),
)
_HTML_TREE = (
    ("document", HTML_TITLE, "<img src=x onerror=alert(3)>", ()),
    ("link", "<a href=javascript:alert(4)>link</a>", "https://example.com/x", None),
)
_TREES = {"main": _MAIN_TREE, "small": _SMALL_TREE, "html": _HTML_TREE}


def _slugify(title: str, index: int) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    return (slug or f"page-{index}")[:60]


def build_tree(space: Space) -> tuple[PageNode, ...]:
    def make(spec: tuple, path: str, index: int) -> PageNode:
        kind, title, text, kids = spec
        text = text.format(title=space.title, key=space.key)
        node_path = f"{path}/{index}"
        children = None if kids is None else tuple(
            make(k, node_path, j) for j, k in enumerate(kids))
        return PageNode(
            id=gid("page", f"{space.key}{node_path}"), title=title,
            slug=_slugify(title, index), kind=kind,
            body="" if kind == "link" else text, href=text if kind == "link" else "",
            children=children)

    return tuple(make(s, "", i) for i, s in enumerate(_TREES[space.template]))


def walk(nodes: Sequence[PageNode], ancestors: tuple[PageNode, ...] = ()
         ) -> Iterator[tuple[PageNode, tuple[PageNode, ...]]]:
    """Every node of a tree with its ancestors, depth first."""
    for node in nodes:
        yield node, ancestors
        yield from walk(node.children or (), (*ancestors, node))


_MAIN_CRS = (
    ("Fix typo in Note G", "open", "grace"),
    ("Add a chapter on loops 🔁", "open", "alan"),
    ("ترجمة الفصل الأول", "open", "maryam"),
    (HTML_TITLE, "open", "mallory"),
    ("Update installation guide", "merged", "ada"),
    ("Draft: punch-card appendix", "draft", "ada"),
    ("Clarify the store", "open", "katherine"),
    ("Archive old notes", "archived", "edsger"),
)


def change_requests(space: Space) -> list[ChangeRequest]:
    specs = _MAIN_CRS if space.key == "main" else _MAIN_CRS[:1] if space.key == "html" else ()
    return [ChangeRequest(space.id, n + 1, subj, status, who, space.hours + n)
            for n, (subj, status, who) in enumerate(specs)]


class Dataset:
    """The sandbox's world, scaled by ``books`` (default user's books) and ``spaces``."""

    def __init__(self, books: int | None = None, spaces: int | None = None) -> None:
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
        spec_spaces = _SPECIAL_SPACES[:nspaces]
        self._ngen_spaces = nspaces - len(spec_spaces)
        self.org_spaces: dict[str, Sequence[Space]] = {
            _ORG0: concat(spec_spaces, Lazy(self._ngen_spaces, self._gen_space)),
            **_OTHER_SPACES}
        self._spaces = {s.id: s for seq in _OTHER_SPACES.values() for s in seq}
        self._spaces.update({s.id: s for s in spec_spaces})
        self._gen_ids: dict[str, int] | None = None  # built on first lookup of a generated id
        self.orgs = ORGS
        self.collections = COLLECTIONS
        self._trees: dict[str, tuple[PageNode, ...]] = {}
        self.created: list[Book] = []  # books added with POST /books
        self._lock = threading.Lock()

    # -- users and books
    def user(self, username: str) -> User | None:
        return USERS_BY_NAME.get(username)

    def _created_by(self, username: str) -> list[Book]:
        with self._lock:
            return [b for b in self.created if b.owner == username]

    def books_of(self, username: str) -> Sequence[Book]:
        base = self.ada_books if username == DEFAULT_USER.username else _OTHER_BOOKS.get(
            username, ())
        return concat(base, self._created_by(username))

    def public_books_of(self, username: str) -> Sequence[Book]:
        if username == DEFAULT_USER.username:  # only the seeded specials can be private
            specials = [b for b in self.ada_books[: len(self.ada_books) - self._ngen_books]
                        if b.public]
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
        return concat(self.public_books_of("ada"),
                      *[self.public_books_of(u) for u in _OTHER_BOOKS])

    def book(self, owner: str, name: str) -> Book | None:
        found = self._books.get(f"{owner}/{name}")
        if found is None and owner == "ada" and name.startswith("notebook-"):
            num = name.removeprefix("notebook-")
            if num.isdigit() and len(num) == 5 and int(num) < self._ngen_books:
                return _ada_generated(int(num))
        return found

    # -- orgs, spaces, collections
    def _gen_space(self, i: int) -> Space:
        coll = _COLL["research"] if i % 4 == 0 else None
        return Space(f"gen-{i}", _ORG0, f"Space {i:05d}", "📄",
                     "public" if i % 3 == 0 else "private", coll, 100 + i)

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
        specials = [s for s in _SPECIAL_SPACES if s.collection == coll_id
                    and s.id in self._spaces]
        if coll_id == _COLL["research"]:  # every fourth generated space, computed lazily
            return concat(specials, Lazy((self._ngen_spaces + 3) // 4,
                                         lambda j: self._gen_space(4 * j)))
        return specials

    def members_of(self, org_id: str) -> list[tuple[User, str]]:
        roles = ("admin", "create", "edit", "review", "comment", "read")
        if org_id == _ORG0:
            return [(u, roles[i % len(roles)]) for i, u in enumerate(USERS)]
        return [(DEFAULT_USER, "admin"), *((u, "read") for u in USERS[1:4])]

    def tree(self, space: Space) -> tuple[PageNode, ...]:
        tree = self._trees.get(space.id)
        if tree is None:
            tree = build_tree(space)
            if len(self._trees) < 2048:  # cache the hot ones; generated spaces are cheap
                self._trees[space.id] = tree
        return tree

    def change_requests(self, space: Space) -> list[ChangeRequest]:
        return change_requests(space)
