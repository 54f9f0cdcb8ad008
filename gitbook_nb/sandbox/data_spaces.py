"""Seeded data of the current API: orgs, collections, spaces, page trees, change requests.

Titles mix unicode, right-to-left scripts, emoji and HTML-looking text; the trees nest, and
their ``link`` nodes have no ``pages`` (GITBOOK.md section 3).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .data_base import HTML_TITLE, gid


@dataclass(frozen=True)
class PageNode:
    """One node of a space's page tree. ``children is None`` means the node has no ``pages``."""

    id: str
    title: str
    slug: str
    kind: str  # "document" | "group" | "link"
    body: str = ""  # short summary: the page's description, and what search matches
    href: str = ""
    children: tuple[PageNode, ...] | None = ()
    # Content (issue "Docs as data", see content.py): the page body as GitBook stores it, with
    # links to other pages as stable refs (/pages/<id>); metadata such as emoji or hidden.
    markdown: str = ""
    created_at: str = ""
    updated_at: str = ""
    meta: tuple[tuple[str, object], ...] = ()


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
    parent: str | None = None  # parent collection id (``nested=false`` lists top-level ones)

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
    template: str = "small"  # which page tree it carries ("bulk": Sandbox(pages=N))

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
FIRST_ORG = ORGS[0].id
COLLECTIONS = (
    Collection("engineering", FIRST_ORG, "Engineering", "Engine designs and notes"),
    Collection(
        "research",
        FIRST_ORG,
        "Research 🔬",
        "Generated research spaces",
        gid("collection", "engineering"),
    ),
    Collection("arabic-docs", FIRST_ORG, "وثائق", "مستندات باللغة العربية"),
)
COLLECTION_IDS = {c.key: c.id for c in COLLECTIONS}
_ENG, _AR = COLLECTION_IDS["engineering"], COLLECTION_IDS["arabic-docs"]
SPECIAL_SPACES = (
    Space("main", FIRST_ORG, "Engine handbook", "📘", "public", _ENG, 11, "main"),
    Space("html", FIRST_ORG, HTML_TITLE, "💥", "private", _ENG, 12, "html"),
    Space("arabic", FIRST_ORG, "دليل المحرك", "📗", "unlisted", _AR, 13),
    Space("hebrew", FIRST_ORG, "מדריך המנוע", "📙", "private", _AR, 14),
    Space("emoji", FIRST_ORG, "Rockets & stars 🚀✨", "🚀", "public", None, 15),
)
# Sandbox(pages=N) adds this space to the first org: N document pages, for benchmarks.
BULK_SPACE = Space("bulk", FIRST_ORG, "Engine encyclopaedia", "📚", "private", None, 16, "bulk")
DEFAULT_SPACES = 57  # first org; not a multiple of 50 (the v1 default page size)
OTHER_SPACES = {
    ORGS[1].id: (
        Space("u1", ORGS[1].id, "Zürich café notes ☕", "☕", hours=21),
        Space("u2", ORGS[1].id, "日本語のメモ", "🗾", hours=22),
        Space("u3", ORGS[1].id, "Emoji only 🎉🎉🎉", "🎉", hours=23),
    ),
    ORGS[2].id: (
        Space("a1", ORGS[2].id, "خوارزميات", "📐", hours=31),
        Space("a2", ORGS[2].id, "אלגוריתמים", "📏", hours=32),
    ),
    ORGS[3].id: (Space("h1", ORGS[3].id, "<script>alert(1)</script>", "🧨", hours=41),),
}

_MAIN_TREE = (
    (
        "document",
        "Getting started",
        "Install the engine and run a first program.",
        (
            ("document", "Installation", "Mount the mill and the store.", ()),
            ("document", "First steps 🚀", "Punch a card and turn the crank.", ()),
        ),
    ),
    (
        "group",
        "Guides",
        "",
        (
            (
                "document",
                "Bernoulli numbers",
                "Note G computes Bernoulli numbers.",
                (("document", "Note G", "The first published algorithm.", ()),),
            ),
            ("document", "מדריך בעברית", "טקסט לדוגמה בעברית.", ()),
            ("document", "دليل باللغة العربية", "نص تجريبي باللغة العربية.", ()),
            ("link", "Babbage's archive", "https://example.com/babbage", None),
        ),
    ),
    ("document", HTML_TITLE, "Body with <b>markup</b> & <script>alert(2)</script>.", ()),
    ("link", "External reference", "https://example.com/engine", None),
    ("document", "FAQ", "Frequently asked questions about the engine.", ()),
)
_SMALL_TREE = (
    (
        "document",
        "Welcome",
        "Welcome to {title}.",
        (("document", "Notes", "Notes about {title}.", ()),),
    ),
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
        children = (
            None if kids is None else tuple(make(k, node_path, j) for j, k in enumerate(kids))
        )
        return PageNode(
            id=gid("page", f"{space.key}{node_path}"),
            title=title,
            slug=_slugify(title, index),
            kind=kind,
            body="" if kind == "link" else text,
            href=text if kind == "link" else "",
            children=children,
        )

    return tuple(make(s, "", i) for i, s in enumerate(_TREES[space.template]))


def walk(
    nodes: Sequence[PageNode], ancestors: tuple[PageNode, ...] = ()
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
    return [
        ChangeRequest(space.id, n + 1, subj, status, who, space.hours + n)
        for n, (subj, status, who) in enumerate(specs)
    ]
