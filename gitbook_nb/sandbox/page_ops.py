"""The body of ``POST .../change-requests/{id}/content``: checked per spec, then applied.

``check_batch`` follows the spec's request schema (``ChangeRequestContentChange``: 1 to 50
changes, each an ``insert_page``, ``update_page``, ``delete_page``, ``revert_page`` or
``insert_files``; ``RevisionPageUpdate`` metadata; a ``Document`` that is exactly one of
``{markdown}``, ``{document}`` or ``{}``) and answers the first problem as one line.
``apply_batch`` runs the changes in order on a copy of the tree: any failure rejects the whole
batch, as GitBook does. ``insert_files`` is refused: the sandbox stores no files.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import content_md as md
from . import page_tree as pt
from .data_base import gid
from .data_spaces import PageNode, _slugify

MAX_CHANGES = 50
OPERATIONS = ("insert_page", "update_page", "delete_page", "revert_page", "insert_files")
_META: dict[str, tuple[type, int | None]] = {  # RevisionPageUpdate: name -> (type, max length)
    "title": (str, None),
    "slug": (str, 100),
    "emoji": (str, 50),
    "icon": (str, 50),
    "description": (str, None),
    "hidden": (bool, None),
    "noIndex": (bool, None),
    "noRobotsIndex": (bool, None),
    "condition": (str, None),
}
_MISSING = object()


class BatchError(ValueError):
    """A change the spec or the tree refuses; ``str()`` is the one-line 400 message."""


@dataclass
class Change:
    operation: str
    index: int
    page: str | None = None
    markdown: str | None = None  # None: no document given (update_page keeps the body)
    meta: dict[str, Any] = field(default_factory=dict)
    into: Any = _MISSING  # str | None | _MISSING
    at: int | None = None
    ref: str | None = None
    revision: str | None = None
    new_id: str | None = None  # insert_page: the page id, fixed at first use (merges replay)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_json_document(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("object") == "document"
        and isinstance(value.get("data"), Mapping)
        and isinstance(value.get("nodes"), list)
    )


def _document(where: str, doc: Any) -> str:
    """The spec's ``Document``: exactly one of its three branches must match (``oneOf``):
    ``{markdown: string}``, ``{document: JSONDocument}`` or ``{}`` (no keys at all)."""
    if not isinstance(doc, Mapping):
        raise BatchError(f"{where}: must be an object")
    as_markdown = isinstance(doc.get("markdown"), str)
    as_json = _is_json_document(doc.get("document"))
    if as_markdown and as_json:
        raise BatchError(f"{where}: give either markdown or document, not both")
    if as_markdown:
        return md.normalize(doc["markdown"])
    if as_json:
        return md.from_document(doc["document"])
    if not doc:
        return ""
    if "markdown" in doc:
        raise BatchError(f"{where}.markdown: must be a string")
    if "document" in doc:
        raise BatchError(f"{where}.document: expected a JSON document {{object, data, nodes}}")
    raise BatchError(f"{where}: expected {{markdown}}, {{document}} or {{}}")


def _check_one(i: int, raw: Any) -> Change:
    where = f"changes[{i}]"
    if not isinstance(raw, Mapping):
        raise BatchError(f"{where}: must be an object")
    op = raw.get("operation")
    if op not in OPERATIONS:
        raise BatchError(f"{where}.operation: must be one of {', '.join(OPERATIONS)}")
    if op == "insert_files":
        raise BatchError(f"{where}: insert_files is not supported by the sandbox (no file store)")
    change = Change(op, i)
    if op != "insert_page":
        if not isinstance(raw.get("page"), str) or not raw["page"]:
            raise BatchError(f"{where}.page: the id of a page is required")
        change.page = raw["page"]
    if op in ("insert_page", "update_page"):
        for name, (kind, limit) in _META.items():
            if name not in raw:
                continue
            value = raw[name]
            if not isinstance(value, kind) or (kind is str and isinstance(value, bool)):
                raise BatchError(f"{where}.{name}: must be a {kind.__name__}")
            if limit is not None and isinstance(value, str) and len(value) > limit:
                raise BatchError(f"{where}.{name}: at most {limit} characters")
            if name == "title" and not value:
                raise BatchError(f"{where}.title: must not be empty")
            change.meta[name] = value
        if "document" in raw:
            change.markdown = _document(f"{where}.document", raw["document"])
        elif op == "insert_page":
            raise BatchError(f"{where}.document: required for insert_page")
        if "into" in raw:
            into = raw["into"]
            if not (isinstance(into, str) or (into is None and op == "update_page")):
                extra = " or null" if op == "update_page" else ""
                raise BatchError(f"{where}.into: must be a page id{extra}")
            change.into = into
        if "at" in raw:
            if not _is_int(raw["at"]) or raw["at"] < 0:
                raise BatchError(f"{where}.at: must be an integer >= 0")
            change.at = int(raw["at"])
        if op == "insert_page" and "ref" in raw:
            if not isinstance(raw["ref"], str) or not raw["ref"]:
                raise BatchError(f"{where}.ref: must be a non-empty string")
            change.ref = raw["ref"]
    if op == "revert_page":
        if "revision" in raw:
            if not isinstance(raw["revision"], str):
                raise BatchError(f"{where}.revision: must be a revision id")
            change.revision = raw["revision"]
        if "block" in raw:
            raise BatchError(f"{where}.block: the sandbox reverts whole pages only")
    return change


def check_batch(body: Any) -> list[Change]:
    """The changes of a request body, or ``BatchError`` naming the first problem."""
    if not isinstance(body, Mapping):
        raise BatchError("the body must be a JSON object with a changes array")
    changes = body.get("changes", _MISSING)
    if changes is _MISSING:
        raise BatchError("changes: required")
    if not isinstance(changes, list) or not 1 <= len(changes) <= MAX_CHANGES:
        raise BatchError(f"changes: must be an array of 1 to {MAX_CHANGES} changes")
    out = [_check_one(i, raw) for i, raw in enumerate(changes)]
    refs = [c.ref for c in out if c.ref]
    if len(refs) != len(set(refs)):
        raise BatchError("changes: each ref must be unique within the batch")
    return out


@dataclass
class Outcome:
    kind: str  # "created_page" | "updated_page" | "deleted_page"
    page: str
    ref: str | None = None


def _content(change: Change, old: PageNode | None) -> tuple[dict[str, Any], str | None]:
    """(page fields, markdown) from front matter > leading heading > the change's fields."""
    fields: dict[str, Any] = dict(change.meta)
    if change.markdown is None:
        return fields, None
    front, rest = md.split_front_matter(change.markdown)
    heading, rest = md.split_title(rest)
    if heading:
        fields["title"] = heading
    fields.update(front)
    return fields, md.normalize(rest)


def _apply_fields(node: PageNode, fields: dict[str, Any], siblings: pt.Tree) -> PageNode:
    meta = dict(node.meta)
    for name in ("emoji", "icon", "hidden", "noIndex", "noRobotsIndex", "condition"):
        if name in fields:
            meta[name] = fields[name]
    if meta.get("condition") == "":
        del meta["condition"]  # the spec: an empty string removes the condition
    changes: dict[str, Any] = {"meta": tuple(sorted(meta.items()))}
    if "title" in fields:
        changes["title"] = str(fields["title"])
    if "description" in fields:
        changes["body"] = str(fields["description"])
    if "slug" in fields:
        changes["slug"] = pt.unique_slug(siblings, fields["slug"], skip=node.id)
    return replace(node, **changes)


def apply_batch(
    tree: pt.Tree,
    changes: list[Change],
    *,
    now: str,
    space_key: str,
    base_of: Callable[[str | None], pt.Tree | None],
) -> tuple[pt.Tree, list[Outcome]]:
    """Run ``changes`` on ``tree``; ``base_of(revision)`` gives a tree to revert to."""
    for c in changes:
        if c.operation == "insert_page" and c.new_id is None:
            c.new_id = gid("page", f"{space_key}:{secrets.token_hex(8)}")
    refs = {c.ref: c.new_id for c in changes if c.ref and c.new_id}
    outcomes: list[Outcome] = []
    for c in changes:
        where = f"changes[{c.index}]"
        entries = pt.index(tree)
        ids, paths = set(entries), pt.paths(entries)
        if c.page is not None and c.operation != "revert_page" and c.page not in entries:
            raise BatchError(f"{where}.page: no page {c.page} in this change request")
        if c.operation == "delete_page":
            tree = pt.remove(tree, c.page or "")
            outcomes.append(Outcome("deleted_page", c.page or ""))
            continue
        if c.operation == "revert_page":
            tree = _revert(tree, c, base_of(c.revision), where)
            outcomes.append(Outcome("updated_page", c.page or ""))
            continue
        into = None if c.into is _MISSING else c.into
        if into is not None and (into not in entries or entries[into].node.kind == "link"):
            raise BatchError(f"{where}.into: no page {into} to hold it")
        old = entries[c.page].node if c.page else None
        fields, markdown = _content(c, old)
        if c.operation == "insert_page":
            pid = c.new_id or ""
            title = str(fields.get("title") or "Untitled")
            siblings = pt.children(tree, into)
            slug = pt.unique_slug(siblings, _slugify(title, c.index))
            node = PageNode(pid, title, slug, "document", created_at=now, updated_at=now)
            node = _apply_fields(node, fields, siblings)
            path = (f"{entries[into].path}/" if into else "") + node.slug
            node = replace(node, markdown=md.to_stable(markdown or "", path, ids, paths, refs))
            tree = pt.insert(tree, node, into, c.at)
            outcomes.append(Outcome("created_page", pid, c.ref))
            continue
        assert old is not None and c.page is not None
        parent = entries[c.page].parent
        node = _apply_fields(old, fields, pt.children(tree, parent))
        if markdown is not None and old.kind == "document":
            path = entries[c.page].path
            node = replace(node, markdown=md.to_stable(markdown, path, ids, paths, refs))
        if node != old:
            tree = pt.swap(tree, c.page, replace(node, updated_at=now))
        if c.into is not _MISSING or c.at is not None:
            tree = _move(tree, c, where)
        outcomes.append(Outcome("updated_page", c.page))
    return tree, outcomes


def _move(tree: pt.Tree, c: Change, where: str) -> pt.Tree:
    entries = pt.index(tree)
    entry = entries[c.page or ""]
    target = entry.parent if c.into is _MISSING else c.into
    if target is not None and (target == entry.node.id or target in pt.descendants(entry.node)):
        raise BatchError(f"{where}.into: a page cannot move under itself or its own subpages")
    at = c.at
    if at is None and target == entry.parent:
        at = entry.position
    tree = pt.remove(tree, entry.node.id)
    siblings = pt.children(tree, target)
    node = replace(entry.node, slug=pt.unique_slug(siblings, entry.node.slug))
    return pt.insert(tree, node, target, at)


def _revert(tree: pt.Tree, c: Change, base: pt.Tree | None, where: str) -> pt.Tree:
    if base is None:
        raise BatchError(f"{where}.revision: no revision {c.revision} in this space")
    now, was = pt.index(tree).get(c.page or ""), pt.index(base).get(c.page or "")
    if now is None and was is None:
        raise BatchError(f"{where}.page: no page {c.page} here or in the revision")
    if was is None:
        return pt.remove(tree, c.page or "")
    if now is None:
        parent = was.parent if was.parent in pt.index(tree) else None
        return pt.insert(tree, was.node, parent, was.position)
    return pt.swap(tree, was.node.id, replace(was.node, children=now.node.children))
