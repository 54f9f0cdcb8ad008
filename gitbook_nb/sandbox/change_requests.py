"""Change requests as state: created, filled with content batches, merged into a new revision.

A change request starts from the space's current revision (``base``, the spec's
``revisionInitial``); each content batch makes a new revision of its own (``revision``).
Merging replays its batches on the space's current revision, so a space that moved on since
keeps those changes too; if a page the change request touched was also changed in the space
since ``base``, the merge answers ``conflicts`` and changes nothing (spec ``mergeChangeRequest``).
The seeded change requests of ``data_spaces`` are loaded per space on first use; the first
one of the handbook ("Fix typo in Note G") carries a real edit, so its changes list one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from . import page_ops
from . import page_tree as pt
from .content import ContentStore, Revision
from .data_base import gid, stamp
from .data_spaces import Space, change_requests

STATUSES = ("draft", "open", "archived", "merged")
EDITABLE = ("draft", "open")
_SEED_EDIT = ("Note G", "The first published algorithm, with its typo fixed.")


@dataclass
class ChangeRequest:
    id: str
    space: str
    number: int
    subject: str
    status: str
    author: str  # username
    created_at: str
    updated_at: str
    base: str  # revision id it started from
    revision: str  # its current revision id
    contributors: list[str] = field(default_factory=list)  # usernames
    batches: list[list[page_ops.Change]] = field(default_factory=list)
    merged_by: str | None = None
    merged_at: str | None = None
    revision_merged: str | None = None


class MergeConflict(Exception):
    pass


class ChangeRequests:
    def __init__(self, content: ContentStore, clock: Callable[[], float]) -> None:
        self.content = content
        self.clock = clock
        self._lock = threading.RLock()
        self._by_space: dict[str, list[ChangeRequest]] = {}

    def of(self, space: Space) -> list[ChangeRequest]:
        with self._lock:
            crs = self._by_space.get(space.id)
            if crs is None:
                crs = self._by_space[space.id] = self._seed(space)
            return list(crs)

    def _seed(self, space: Space) -> list[ChangeRequest]:
        seeds = change_requests(space)
        if not seeds:  # most spaces: no need to build their tree
            return []
        base = self.content.seeded(space)
        out = []
        for seed in seeds:
            cr = ChangeRequest(
                seed.id,
                space.id,
                seed.number,
                seed.subject,
                seed.status,
                seed.author,
                stamp(seed.hours),
                stamp(seed.hours + 2),
                base.id,
                base.id,
                [seed.author],
            )
            if seed.number == 1:
                self._seed_edit(space, cr, base)
            if seed.status == "merged":
                cr.merged_by, cr.merged_at = seed.author, stamp(seed.hours + 3)
            out.append(cr)
        return out

    def _seed_edit(self, space: Space, cr: ChangeRequest, base: Revision) -> None:
        title, text = _SEED_EDIT
        page = next((e.node for e in base.entries.values() if e.node.title == title), None)
        if page is None:
            return
        change = page_ops.Change("update_page", 0, page=page.id, markdown=text + "\n")
        change.meta = {"description": text}
        self._apply(space, cr, [change], cr.author, now=cr.updated_at)

    def get(self, space: Space, key: str) -> ChangeRequest | None:
        """By id or by number in the space (the spec accepts both)."""
        return next((c for c in self.of(space) if key in (c.id, str(c.number))), None)

    def create(self, space: Space, author: str, subject: str) -> ChangeRequest:
        now = self.content.now()
        base = self.content.head(space)[0]
        with self._lock:
            crs = self._by_space.setdefault(space.id, self._seed(space))
            number = max((c.number for c in crs), default=0) + 1
            cr = ChangeRequest(
                gid("cr", f"{space.id}/{number}"),
                space.id,
                number,
                subject,
                "open",
                author,
                now,
                now,
                base,
                base,
                [author],
            )
            crs.append(cr)
        return cr

    def revision_of(self, space: Space, cr: ChangeRequest) -> Revision:
        rev = self.content.get(space, cr.revision)
        assert rev is not None  # a change request only points at stored revisions
        return rev

    def _apply(
        self,
        space: Space,
        cr: ChangeRequest,
        changes: list[page_ops.Change],
        user: str,
        now: str | None = None,
    ) -> list[page_ops.Outcome]:
        now = now or self.content.now()
        current = self.revision_of(space, cr)

        def base_of(revision: str | None) -> pt.Tree | None:
            rev = self.content.get(space, revision or cr.base)
            return None if rev is None else rev.pages

        pages, outcomes = page_ops.apply_batch(
            current.pages, changes, now=now, space_key=space.key, base_of=base_of
        )
        rev = self.content.make(space, pages, (current.id,), by=user)
        cr.revision, cr.updated_at = rev.id, now
        cr.batches.append(changes)
        if user not in cr.contributors:
            cr.contributors.append(user)
        return outcomes

    def add_content(
        self, space: Space, cr: ChangeRequest, changes: list[page_ops.Change], user: str
    ) -> list[page_ops.Outcome]:
        """Apply one batch (all or nothing; ``page_ops.BatchError`` says why not)."""
        with self._lock:
            return self._apply(space, cr, changes, user)

    def changes(self, space: Space, cr: ChangeRequest) -> list[pt.Change]:
        base = self.content.get(space, cr.base)
        assert base is not None
        return pt.diff(base.pages, self.revision_of(space, cr).pages)

    def merge(self, space: Space, cr: ChangeRequest, user: str) -> Revision:
        """Merge into a new space revision; ``MergeConflict`` when the space changed too."""
        with self._lock:
            head = self.content.current(space)
            if head.id == cr.base:
                pages = self.revision_of(space, cr).pages
            else:
                pages = self._replay(space, cr, head)
            rev = self.content.make(
                space,
                pages,
                (head.id, cr.revision),
                type="merge",
                merged_from=cr.id,
                by=user,
            )
            if not self.content.advance(space, rev, head.id):
                raise MergeConflict("the space changed during the merge")
            cr.status, cr.merged_by, cr.merged_at = "merged", user, rev.created_at
            cr.revision_merged, cr.updated_at = rev.id, rev.created_at
            return rev

    def _replay(self, space: Space, cr: ChangeRequest, head: Revision) -> pt.Tree:
        base = self.content.get(space, cr.base)
        assert base is not None
        ours = {c.entry.node.id for c in pt.diff(base.pages, self.revision_of(space, cr).pages)}
        theirs = {c.entry.node.id for c in pt.diff(base.pages, head.pages)}
        if ours & theirs:
            raise MergeConflict("pages changed in both the space and the change request")
        pages = head.pages
        now = self.content.now()
        for batch in cr.batches:
            try:
                pages, _ = page_ops.apply_batch(
                    pages, batch, now=now, space_key=space.key, base_of=lambda r: base.pages
                )
            except page_ops.BatchError as exc:
                raise MergeConflict(str(exc)) from None
        return pages

    def outdated(self, space: Space, cr: ChangeRequest) -> bool:
        return cr.status in EDITABLE and self.content.head(space)[0] != cr.base
