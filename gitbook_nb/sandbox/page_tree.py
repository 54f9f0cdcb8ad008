"""Page trees as immutable values: an index over one, edits that return a new one, a diff.

A revision's pages are a tuple of ``PageNode`` and never change; an edit builds a new tuple
that shares every untouched subtree with the old one, so a change request over a 1,000-page
space costs only the path to the page it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from .content_md import document_id
from .data_spaces import PageNode

Tree = tuple[PageNode, ...]


@dataclass(frozen=True)
class Entry:
    node: PageNode
    path: str  # slugs from the root, "a/b/c" (link pages have none: "")
    parent: str | None  # parent page id
    position: int


def walk(
    tree: Tree, parent: PageNode | None = None, prefix: str = ""
) -> Iterator[tuple[PageNode, str, str | None, int]]:
    """Every node with its path, parent id and position among its siblings, depth first."""
    for i, node in enumerate(tree):
        path = "" if node.kind == "link" else f"{prefix}{node.slug}"
        yield node, path, parent.id if parent else None, i
        yield from walk(node.children or (), node, f"{path}/")


def index(tree: Tree) -> dict[str, Entry]:
    return {n.id: Entry(n, p, parent, i) for n, p, parent, i in walk(tree)}


def paths(entries: dict[str, Entry]) -> dict[str, str]:
    """Page path -> page id, for documents and groups."""
    return {e.path: pid for pid, e in entries.items() if e.path}


def body_id(node: PageNode) -> str | None:
    """What GitBook calls ``documentId``: changes exactly when the page body changes."""
    return document_id(node.id, node.markdown) if node.kind == "document" else None


def _map(tree: Tree, page_id: str, fn: Callable[[PageNode], PageNode | None]) -> Tree:
    """Replace the node ``page_id`` by ``fn(node)`` (None removes it); the rest is shared."""
    out: list[PageNode] = []
    changed = False
    for node in tree:
        if node.id == page_id:
            new, changed = fn(node), True
            if new is not None:
                out.append(new)
        elif node.children:
            kids = _map(node.children, page_id, fn)
            changed = changed or kids is not node.children
            out.append(node if kids is node.children else replace(node, children=kids))
        else:
            out.append(node)
    return tuple(out) if changed else tree


def swap(tree: Tree, page_id: str, node: PageNode) -> Tree:
    """The tree with page ``page_id`` replaced by ``node``."""
    return _map(tree, page_id, lambda n: node)


def remove(tree: Tree, page_id: str) -> Tree:
    return _map(tree, page_id, lambda n: None)


def unique_slug(siblings: Tree, slug: str, skip: str | None = None) -> str:
    """``slug``, or ``slug-2``, ``slug-3``... when a sibling already has it."""
    taken = {n.slug for n in siblings if n.id != skip and n.kind != "link"}
    if slug not in taken:
        return slug
    n = 2
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"


def children(tree: Tree, parent: str | None) -> Tree:
    if parent is None:
        return tree
    entry = index(tree).get(parent)
    return (entry.node.children or ()) if entry else ()


def insert(tree: Tree, node: PageNode, parent: str | None, at: int | None) -> Tree:
    """Insert ``node`` under ``parent`` (None: the root) at ``at`` (None: the end)."""

    def put(siblings: Tree) -> Tree:
        pos = len(siblings) if at is None else min(at, len(siblings))
        return (*siblings[:pos], node, *siblings[pos:])

    if parent is None:
        return put(tree)
    return _map(tree, parent, lambda p: replace(p, children=put(p.children or ())))


def descendants(node: PageNode) -> set[str]:
    out: set[str] = set()
    for kid in node.children or ():
        out |= {kid.id, *descendants(kid)}
    return out


@dataclass(frozen=True)
class Change:
    """One semantic change between two trees (spec ``RevisionSemanticChange``)."""

    type: str  # page_created | page_edited | page_deleted | page_moved
    entry: Entry  # the page after (before, for page_deleted)
    attributes: dict[str, tuple[str, str]]  # page_edited: name -> (before, after)
    parents: tuple[Entry | None, Entry | None] = (None, None)  # page_moved: (before, after)


def diff(before: Tree, after: Tree) -> list[Change]:
    """The pages created, edited, moved and deleted from ``before`` to ``after``."""
    old, new = index(before), index(after)
    out: list[Change] = []
    for pid, entry in new.items():
        was = old.get(pid)
        if was is None:
            out.append(Change("page_created", entry, {}))
            continue
        attrs: dict[str, tuple[str, str]] = {}
        for name in ("title", "slug"):
            a, b = getattr(was.node, name), getattr(entry.node, name)
            if a != b and not (name == "slug" and entry.node.kind == "link"):
                attrs[name] = (a, b)
        if entry.node.kind == "document" and was.node.body != entry.node.body:
            attrs["description"] = (was.node.body, entry.node.body)
        before_doc, after_doc = body_id(was.node), body_id(entry.node)
        if before_doc != after_doc and before_doc and after_doc:
            attrs["document"] = (before_doc, after_doc)
        if attrs:
            out.append(Change("page_edited", entry, attrs))
        if was.parent != entry.parent:
            parents = (
                old.get(was.parent) if was.parent else None,
                new.get(entry.parent) if entry.parent else None,
            )
            out.append(Change("page_moved", entry, {}, parents))
    out += [Change("page_deleted", e, {}) for pid, e in old.items() if pid not in new]
    return out
