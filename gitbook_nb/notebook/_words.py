"""Plain words for people: no rule ids, and "did you mean" for a typo. Pure (stdlib only).

The library's errors name the SECURITY.md rule they enforce ("(security rule D4)", "(F1)"):
useful in tests and commit messages, noise to a person who never read that file. Everything a
person reads from the notebook layer (the magic's one-line errors, the login widget's status
line) goes through :func:`plain_words`, so an id added anywhere below never reaches them.

:func:`did_you_mean` uses :mod:`difflib` (stdlib), which ranks close spellings well enough
for a handful of subcommands, methods, options and paths.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["did_you_mean", "plain_words"]

# "(security rule D4)", "(SECURITY.md D4)", "(D4)", "(B1-B3, B5)", "(SECURITY.md G1, D4)"
_RULE_ID = re.compile(
    r"\s*\((?:security rule |SECURITY\.md,? ?)?[A-G][0-9]{1,2}"
    r"(?:\s*[,/\-]\s*(?:[A-G])?[0-9]{1,2})*\)"
)
_SPACE_BEFORE = re.compile(r"\s+([,;:.)])")


def plain_words(text: str) -> str:
    """``text`` without rule ids, with the spacing they leave behind tidied."""
    if "(" not in text:  # the common case costs one scan
        return text
    out = _RULE_ID.sub("", text)
    if out == text:
        return text
    return " ".join(_SPACE_BEFORE.sub(r"\1", out).split())


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The closest of ``choices`` to ``word`` (case-insensitive), or None if none is close."""
    pool = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=cutoff)
    return pool[found[0]] if found else None
