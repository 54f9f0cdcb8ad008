"""``%gitbook audit``: find tokens and secrets in a saved notebook (SECURITY.md E7). Pure.

Notebooks get shared, so anything that ever reached one (a cell source, a printed output, an
HTML table, a traceback, saved widget state, an attachment) may become public. This module
walks the whole notebook JSON, not only the parts we expect, and reports where it found:

- the live token and any configured client secret (passed in by the caller, compared and
  never shown),
- token-shaped strings: ``gb_api_...`` personal tokens, 40-hex legacy tokens next to the word
  ``token``, ``access_token=...`` / ``"access_token": "..."``, ``Bearer xxx``,
  ``client_secret=...``, ``refresh_token=...``.

A finding is (cell index, part, kind, preview); the preview keeps at most the first nine
characters and a quarter of the value (``gb_api_ab…``), never the whole value. No IPython here:
the magic passes the path (or the parsed notebook dict) and the secrets.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gitbook_nb.errors import GitBookError
from gitbook_nb.protocol.tokens import Secret

__all__ = ["AuditError", "Finding", "audit_notebook", "preview", "scan_text"]


class AuditError(GitBookError):
    """The notebook could not be read or is not a notebook."""

    default_hint = "give the path of a saved .ipynb file: %gitbook audit path/to/notebook.ipynb"


@dataclass(frozen=True)
class Finding:
    cell: int | None  # None: notebook-level metadata
    part: str  # e.g. "source", "outputs[0].data.text/html", "metadata.widgets..."
    kind: str  # "live token", "client secret", "gb_api token", "bearer token", ...
    preview: str  # masked: never the whole value

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


# (kind, pattern); group 1 is the secret value when the pattern has context around it.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("gb_api token", re.compile(r"(gb_api_[A-Za-z0-9_\-]{16,})")),
    (
        "legacy token",
        re.compile(
            r"(?i)token[\"']?\s*(?:[:=]|\s)\s*[\"']?(?<![0-9a-f])([0-9a-f]{40})(?![0-9a-f])"
        ),
    ),
    (
        "access_token",
        re.compile(r"(?i)(?:access|refresh)_token[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9\-._~+/]{8,}=*)"),
    ),
    (
        "client_secret",
        re.compile(r"(?i)client_secret[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9\-._~+/]{8,}=*)"),
    ),
    ("bearer token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)")),
]
MAX_NOTEBOOK_BYTES = 512 * 2**20  # /dev/zero or a disk image must not hang the kernel
_MASK_CHARS = frozenset("*•…")
# Binary parts worth decoding: attachments and base64 output data (images may carry text
# chunks, PDFs embed text).
_BASE64_MIME = re.compile(r"^(image/(?!svg)|application/(pdf|octet-stream))")


def preview(value: str) -> str:
    """At most the first nine characters and a quarter of ``value``, then an ellipsis."""
    keep = min(9, len(value) // 4)
    return value[:keep] + "…"


def _occurrences(text: str, secret: Secret | str) -> list[tuple[tuple[int, int], str]]:
    """Where ``secret`` occurs in ``text``, with its masked preview. The value is revealed only
    in this small frame, so a traceback elsewhere never prints it (E2)."""
    value = secret.reveal() if isinstance(secret, Secret) else secret
    out = []
    start = text.find(value) if value else -1
    while start != -1:
        out.append(((start, start + len(value)), preview(value)))
        start = text.find(value, start + len(value))
    return out


def scan_text(text: str, secrets: Iterable[tuple[str, Secret | str]] = ()) -> list[tuple[str, str]]:
    """``(kind, preview)`` for each secret in ``text``; ``secrets`` are ``(kind, value)``."""
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, secret in secrets:
        for span, shown in _occurrences(text, secret):
            taken.append(span)
            found.append((kind, shown))
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(1)
            span = m.span(1)
            if set(value) <= _MASK_CHARS or any(a < span[1] and span[0] < b for a, b in taken):
                continue  # already reported (as the live token, or by an earlier pattern)
            taken.append(span)
            found.append((kind, preview(value)))
    return found


def _join_lines(value: Any) -> Any:
    """nbformat stores multi-line strings as lists of lines; scan them joined."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value


def _decode_base64(text: str) -> str | None:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("latin-1")  # byte-for-byte: ASCII token shapes survive in binary data


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(part, text) for every string in a JSON tree, plus decoded base64 where it is binary."""
    value = _join_lines(value)
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:  # explicit stack: deep widget state must not hit the recursion limit
        node, where = stack.pop()
        node = _join_lines(node)
        if isinstance(node, str):
            yield where, node
            leaf = where.rsplit(".", 1)[-1]
            if ".attachments." in f".{where}" or _BASE64_MIME.match(leaf):
                decoded = _decode_base64(node)
                if decoded is not None:
                    yield where + " (decoded)", decoded
        elif isinstance(node, Mapping):
            for k, v in reversed(list(node.items())):
                child = f"{where}.{k}" if where else str(k)
                v = _join_lines(v)
                # "key=value" lets the context patterns see {"access_token": "..."} in parsed
                # JSON (application/json outputs, widget state); keys alone can leak too.
                yield child, f"{k}={v}" if isinstance(v, str) else str(k)
                stack.append((v, child))
        elif isinstance(node, list):
            for i in reversed(range(len(node))):
                stack.append((node[i], f"{where}[{i}]"))


def load_notebook(source: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    if os.path.exists(source) and not os.path.isfile(source):
        raise AuditError(f"{os.fspath(source)!s} is not a regular file")
    try:
        if os.path.getsize(source) > MAX_NOTEBOOK_BYTES:
            raise AuditError(
                f"{os.fspath(source)!s} is larger than "
                f"{MAX_NOTEBOOK_BYTES // 2**20} MiB; not a notebook to audit here"
            )
        with open(source, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise AuditError(f"no notebook at {os.fspath(source)!s}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise AuditError(
            f"cannot read {os.fspath(source)!s} as a notebook: {type(err).__name__}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", []), list):
        raise AuditError(f"{os.fspath(source)!s} is not a notebook (no cells list)")
    return data


def audit_notebook(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    live_token: Secret | str | None = None,
    client_secrets: Iterable[Secret | str | None] = (),
) -> list[Finding]:
    """Every place in the notebook where a secret or a token-shaped string appears (E7)."""
    nb = load_notebook(source)
    # Wrapped at once: the revealed values live only inside _occurrences (E2).
    known: list[tuple[str, Secret]] = [("live token", Secret(live_token))] if live_token else []
    known += [("client secret", Secret(s)) for s in client_secrets if s]
    findings: list[Finding] = []
    seen: set[Finding] = set()

    def add(cell: int | None, part: str, text: str) -> None:
        for kind, shown in scan_text(text, known):
            f = Finding(cell, part, kind, shown)
            if f not in seen:
                seen.add(f)
                findings.append(f)

    for key, value in nb.items():
        if key == "cells":
            continue
        for part, text in _walk(value, key):
            add(None, part, text)
    for index, cell in enumerate(nb.get("cells") or []):
        if not isinstance(cell, Mapping):
            continue
        for part, text in _walk(cell, ""):
            add(index, part, text)
    return findings
