"""Every space's content as revisions: seeded on first use, then new ones from merges.

A ``Revision`` is an immutable page tree with an id, its parents and when it was made. A space
points at its current revision; a change request works on revisions of its own and, when
merged, moves the space to a new revision (``change_requests.py``). Untouched spaces are
built on demand from the seeds (generated spaces are cheap), so ``Sandbox(spaces=10_000)``
still starts at once; only revisions made while the sandbox runs are kept for good.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from . import page_tree
from .content_seed import SPAN_HOURS, bulk_tree, dress
from .data_base import gid, stamp
from .data_spaces import PageNode, Space, build_tree

_SEED_CACHE = 2048  # seeded revisions kept in memory; generated spaces rebuild cheaply


def iso(epoch: float) -> str:
    """An epoch time in GitBook's timestamp format."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def seeded_revision_id(space: Space) -> str:
    return gid("revision", space.key)


def seeded_created_at(space: Space) -> str:
    return stamp(space.hours + SPAN_HOURS)


@dataclass(frozen=True)
class Revision:
    id: str
    space: str  # space id
    pages: tuple[PageNode, ...]
    parents: tuple[str, ...]
    created_at: str
    type: str = "edits"  # "edits" | "merge"
    merged_from: str | None = None  # change request id, for type "merge"
    by: str | None = field(default=None, compare=False)  # username of the author

    @cached_property
    def entries(self) -> dict[str, page_tree.Entry]:
        """Page id -> where it sits; built once per revision (revisions never change)."""
        return page_tree.index(self.pages)

    @cached_property
    def paths(self) -> dict[str, str]:
        """Page path -> page id."""
        return page_tree.paths(self.entries)

    @cached_property
    def path_of(self) -> dict[str, str]:
        """Page id -> page path (documents and groups)."""
        return {pid: e.path for pid, e in self.entries.items() if e.path}

    def find(self, page_id: str) -> page_tree.Entry | None:
        return self.entries.get(page_id)

    def find_path(self, path: str) -> page_tree.Entry | None:
        pid = self.paths.get(path.strip("/"))
        return None if pid is None else self.entries[pid]


class ContentStore:
    """Revisions of every space. Thread-safe: the server is threaded."""

    def __init__(self, clock: Callable[[], float], bulk_pages: int = 0) -> None:
        self.clock = clock
        self.bulk_pages = bulk_pages
        self._lock = threading.RLock()
        self._heads: dict[str, str] = {}  # space id -> current revision id (changed spaces)
        self._made: dict[str, Revision] = {}  # revisions made while running
        self._seeded: dict[str, Revision] = {}
        self._numbers = itertools.count(1)

    def now(self) -> str:
        return iso(self.clock())

    def seeded(self, space: Space) -> Revision:
        with self._lock:
            rev = self._seeded.get(space.id)
        if rev is not None:
            return rev
        if space.template == "bulk":
            pages = bulk_tree(space, self.bulk_pages)
        else:
            pages = dress(space, build_tree(space))
        rev = Revision(seeded_revision_id(space), space.id, pages, (), seeded_created_at(space))
        with self._lock:
            if len(self._seeded) < _SEED_CACHE or space.id in self._heads:
                rev = self._seeded.setdefault(space.id, rev)
        return rev

    def current(self, space: Space) -> Revision:
        with self._lock:
            head = self._heads.get(space.id)
            if head is not None:
                return self._made[head]
        return self.seeded(space)

    def head(self, space: Space) -> tuple[str, str]:
        """(revision id, createdAt) of the current revision, without building a seeded tree."""
        with self._lock:
            head = self._heads.get(space.id)
            if head is not None:
                rev = self._made[head]
                return rev.id, rev.created_at
        return seeded_revision_id(space), seeded_created_at(space)

    def get(self, space: Space, revision_id: str) -> Revision | None:
        with self._lock:
            rev = self._made.get(revision_id)
        if rev is not None:
            return rev if rev.space == space.id else None
        return self.seeded(space) if revision_id == seeded_revision_id(space) else None

    def make(
        self,
        space: Space,
        pages: tuple[PageNode, ...],
        parents: tuple[str, ...],
        *,
        type: str = "edits",  # noqa: A002 - the spec's field name
        merged_from: str | None = None,
        by: str | None = None,
    ) -> Revision:
        """Store a new revision (not yet the space's current one)."""
        with self._lock:
            rid = gid("revision", f"{space.key}#{next(self._numbers)}")
            rev = Revision(rid, space.id, pages, parents, self.now(), type, merged_from, by)
            self._made[rid] = rev
            return rev

    def advance(self, space: Space, revision: Revision, expected: str) -> bool:
        """Make ``revision`` current if the current one is still ``expected`` (no lost merge)."""
        with self._lock:
            if self.head(space)[0] != expected:
                return False
            if space.id not in self._heads:
                self._seeded.setdefault(space.id, self.seeded(space))  # keep the base findable
            self._heads[space.id] = revision.id
            return True
