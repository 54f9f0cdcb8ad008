"""Hints for a mistyped ``%gitbook`` line: "did you mean", usage lines. Pure.

Read at call time from the vocabulary (:mod:`gitbook_nb.notebook._magic_vocab`), so a
feature's subcommands are suggested the day they are declared.
"""

from __future__ import annotations

import re

from gitbook_nb.notebook._magic_vocab import ACTIONS, FEATURES, METHODS, SHORTCUTS
from gitbook_nb.notebook._words import did_you_mean

__all__ = ["KNOWN_PATHS", "PLAIN_WORD", "SHORTCUT_USAGE", "known_path", "suggest", "use_hint"]

KNOWN_PATHS = ("/user", "/orgs", "/spaces", "/collections", "/account", "/books", "/topics")
PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*(/[A-Za-z0-9_\-{}]+)*")


def use_hint() -> str:
    features = [w for w in FEATURES if " " not in w]  # read now: feature modules add entries
    names = ", ".join([*ACTIONS, *SHORTCUTS, *features])
    return f"subcommands: {names}, or GET|POST|PATCH|DELETE|HEAD /path"


SHORTCUT_USAGE = {
    "orgs": "orgs",
    "spaces": "spaces ORG_ID [key=value ...]",
    "pages": "pages SPACE_ID",
    "search": 'search SPACE_ID "query"',
    "books": "books [key=value ...]",
}


def known_path(word: str) -> str:
    path = "/" + word.lstrip("/")
    return did_you_mean(path, KNOWN_PATHS, cutoff=0.75) or path


def suggest(word: str) -> str:
    """The ": did you mean X?" for a mistyped subcommand, method or path, else ""."""
    if "/" + word.lower() in KNOWN_PATHS:  # "%gitbook user": the path, not "search"
        return f": did you mean %gitbook GET /{word.lower()}?"
    features = [w for w in FEATURES if " " not in w]  # read now: feature modules add entries
    close = did_you_mean(word, [*ACTIONS, *SHORTCUTS, *features, *METHODS])
    if close is not None:
        return f": did you mean {close}?"
    if PLAIN_WORD.fullmatch(word):
        path = did_you_mean("/" + word, KNOWN_PATHS, cutoff=0.75)
        if path is not None:
            return f": did you mean %gitbook GET {path}?"
    return ""
