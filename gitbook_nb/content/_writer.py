"""Writing exported pages into a folder: safe names, atomic files, reruns that skip.

Every file is written whole or not at all (temporary file in the same folder, ``fsync``,
``os.replace``: SECURITY.md F2's recipe), so an export stopped at any moment leaves each page
either as it was or complete, never half-written. A rerun reads the front matter of the file
already there and skips the page when its ``documentId`` (GitBook's id of the page body, which
changes exactly when the body changes) or, failing that, its ``updatedAt`` is the same.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitbook_nb.content import _front_matter as fm
from gitbook_nb.content._safe_names import UnsafeName, file_for, inside

__all__ = ["ExportFolder", "Planned"]

_MAX_READ = 64 * 1024 * 1024  # an existing file bigger than this is not ours: export it again


@dataclass(frozen=True)
class Planned:
    """Where one page goes: its relative file name and absolute path, checked."""

    rel: str
    path: Path


class ExportFolder:
    """One export target folder. Names are claimed in tree order, so reruns agree."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: Callable[[int], object] | None = os.fsync,  # injected: tests make it fail
    ) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        self._fsync = fsync
        self._claimed: dict[str, str] = {}  # casefolded relative name -> page id

    def plan(self, page_id: str, page_path: str) -> Planned:
        """The file for a page; raises :class:`UnsafeName` when it cannot have one.

        Two pages whose names differ only by case (or by characters made safe) would share a
        file on macOS and Windows: the second one gets its page id added to the name.
        """
        rel = file_for(page_path)
        key = rel.casefold()
        if key in self._claimed and self._claimed[key] != page_id:
            rel = file_for(f"{page_path}-{page_id}")
            key = rel.casefold()
            if key in self._claimed:
                raise UnsafeName("another page already uses this file name")
        self._claimed[key] = page_id
        return Planned(rel, inside(self.root, rel))

    def unchanged(self, planned: Planned, marker: dict[str, str]) -> str | None:
        """The markdown kept in the file if it holds this very version of the page, else None.

        ``marker`` has the page's ``id`` and its ``documentId`` and/or ``updatedAt``.
        """
        try:
            if planned.path.is_symlink() or not planned.path.is_file():
                return None
            if planned.path.stat().st_size > _MAX_READ:
                return None
            text = planned.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        fields, body = fm.split(text)
        if not fields or fields.get("id") != marker.get("id"):
            return None
        for key in ("documentId", "updatedAt"):
            if marker.get(key):
                return body if fields.get(key) == marker[key] else None
        return None  # nothing to compare with: fetch it again

    def write(self, planned: Planned, fields: dict[str, object], markdown: str) -> None:
        """Write the page atomically; raises OSError (nothing half-written is left behind)."""
        target = inside(self.root, planned.rel)  # again: a folder may have become a symlink
        target.parent.mkdir(parents=True, exist_ok=True)
        inside(self.root, planned.rel)  # and after creating the folders
        data = fm.render(fields, markdown).encode("utf-8")
        # os.open rather than mkstemp: mode 0o666 lets the umask decide, as for any file the
        # user writes (mkstemp would leave every exported page readable by its owner only).
        tmp = target.parent / f".gitbook-nb-{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if self._fsync is not None:
                    self._fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
