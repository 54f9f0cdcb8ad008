"""File names for exported pages: a page path from the server can never leave the folder.

A page path is text from the server (or from whoever wrote the page), so each segment is made
safe on every common file system before it becomes a name: ``..``, ``.`` and empty segments,
absolute paths, NUL and other control or invisible characters, characters Windows refuses
(``<>:"|?*\\``), its reserved device names (``CON``, ``nul.txt``, ``COM1``...), trailing dots and
spaces, leading dots (hidden files) and over-long names. Changed segments get a short hash of
the original, so two different hostile paths never land on the same file by accident.
The final check (:func:`inside`) resolves the path and refuses anything outside the folder,
symlinks included; the names alone are never trusted.

Hand-written: pathvalidate would cover the names, but not the containment check nor the
stable hash suffix we need for reruns, and this is about forty lines.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

__all__ = ["MAX_SEGMENT_BYTES", "MAX_PATH_BYTES", "UnsafeName", "file_for", "inside"]

MAX_SEGMENT_BYTES = 120  # well under the 255-byte limit of ext4, APFS and NTFS, with ".md"
MAX_PATH_BYTES = 1000  # relative path; the OS limit (4096 on Linux, 260 on old Windows) varies

_WINDOWS_BAD = re.compile(r'[<>:"|?*\\/]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
_RESERVED |= {f"{p}{i}" for p in ("COM", "LPT") for i in (*range(10), "¹", "²", "³")}


class UnsafeName(ValueError):
    """A page path that cannot be made into a file name (it is reported, not written)."""


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _segment(raw: str) -> str:
    out = []
    for ch in raw:
        cat = unicodedata.category(ch)
        # Cc: controls incl. NUL; Cf: invisible format marks (bidi overrides, zero-width);
        # Cs: lone surrogates, which no file system encoding accepts.
        out.append("_" if cat in ("Cc", "Cf", "Cs") or _WINDOWS_BAD.match(ch) else ch)
    name = "".join(out).rstrip(" .")  # Windows drops trailing dots and spaces
    if name.startswith("."):
        name = "_" + name.lstrip(".")
    stem = name.split(".", 1)[0].strip().upper()
    if stem in _RESERVED:
        name = "_" + name
    if not name.strip("_"):
        name = "_"
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_SEGMENT_BYTES:
        name = encoded[: MAX_SEGMENT_BYTES - 9].decode("utf-8", "ignore")
    if name != raw:
        name = f"{name}-{_short_hash(raw)}"
    return name


def file_for(page_path: str) -> str:
    """The relative file name (``a/b.md``, always ``/``-separated) for a page path.

    Raises :class:`UnsafeName` when nothing sensible is left (an empty path) or the result is
    too long for common file systems.
    """
    parts = [p for p in re.split(r"[/\\]", page_path)]
    kept = [_segment(p) for p in parts if p not in ("",)]
    if not kept:
        raise UnsafeName("the page has no path")
    rel = "/".join(kept) + ".md"
    if len(rel.encode("utf-8")) > MAX_PATH_BYTES:
        raise UnsafeName(f"the page path is longer than {MAX_PATH_BYTES} bytes")
    return rel


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` resolved, or :class:`UnsafeName` if it is not strictly inside ``root``.

    ``resolve()`` follows symlinks that already exist, so a folder replaced by a link to
    elsewhere is caught here too, before anything is written.
    """
    base = root.resolve()
    target = (base / rel).resolve()
    try:
        common = os.path.commonpath([base, target])
    except ValueError:  # different drives on Windows
        common = ""
    if common != str(base) or target == base:
        raise UnsafeName("the page path points outside the export folder")
    return target
