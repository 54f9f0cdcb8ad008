"""Parsed ``%gitbook`` lines remembered between calls, keyed by everything a parse depends on.

Why: a notebook runs the same few lines again and again (a re-run cell, ``%gitbook GET /user``
in a loop). Parsing one (shell-like splitting, the path and secret checks) cost about 20 µs,
as much as the rest of the magic's own work (bench/README.md, figure 1c). A line without ``{``
or ``}`` and without a cell body reads nothing from the notebook, so its :class:`Command`
depends only on its text and on the live secrets it was checked against (SECURITY.md E5).

So the memo keeps Commands for one set of live secrets and forgets them all when that set
changes: a sign-in, a renewed token, ``configure(client_secret=...)``, a new ``GITBOOK_TOKEN``.
Only accepted lines are kept; a refused line is parsed, and refused, every time. Commands are
frozen, so sharing one between calls is safe. Pure: no IPython (the magic owns one memo).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitbook_nb.notebook._magic_interp import LiveSecrets
from gitbook_nb.notebook._magic_parse import Command, parse
from gitbook_nb.protocol.tokens import Secret

__all__ = ["LineMemo"]


class LineMemo:
    """The live secrets of the latest call and the lines parsed against them."""

    MAX_LINES = 128  # distinct lines kept; past that the memo starts again (no LRU needed)

    def __init__(self) -> None:
        self._secrets: tuple[Secret, ...] | None = None
        self._live = LiveSecrets()
        self._lines: dict[str, Command] = {}

    def __repr__(self) -> str:  # E1: counts only, never a secret
        return f"<LineMemo lines={len(self._lines)}>"

    def __len__(self) -> int:
        """How many parsed lines are remembered."""
        return len(self._lines)

    def holds(self, secret: Secret) -> bool:
        """Whether ``secret`` is among the live secrets kept (after a logout it must not be)."""
        return any(s is secret or s == secret for s in self._secrets or ())

    def live(self, values: Iterable[Secret | str | None]) -> LiveSecrets:
        """:class:`LiveSecrets` for ``values``: the same object while the values stay the same
        (compared as Secrets, in constant time); new values forget every remembered line."""
        key = tuple(v if isinstance(v, Secret) else Secret(v) for v in values if v)
        if key != self._secrets:
            self._secrets, self._live, self._lines = key, LiveSecrets(key), {}
        return self._live

    def parse(
        self, line: str, cell: str | None, namespace: Mapping[str, Any], live: LiveSecrets
    ) -> Command:
        """``parse(line, cell, namespace=..., secrets=live)``, remembered where that is safe."""
        if cell is not None or "{" in line or "}" in line or live is not self._live:
            return parse(line, cell, namespace=namespace, secrets=live)
        cmd = self._lines.get(line)
        if cmd is None:
            cmd = parse(line, None, namespace=namespace, secrets=live)
            if len(self._lines) >= self.MAX_LINES:
                self._lines.clear()
            self._lines[line] = cmd
        return cmd

    def forget(self) -> None:
        """Drop the secrets and lines (after a sign-in or sign-out: nothing old lingers)."""
        self._secrets, self._live, self._lines = None, LiveSecrets(), {}
