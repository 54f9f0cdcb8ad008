"""What ``%gitbook`` understands: methods, subcommands, shortcuts, feature subcommands and
options, declared once. Pure data (plus two argparse value types).

The parser (:mod:`gitbook_nb.notebook._magic_parse`) reads these tables; ``magics.py`` turns
``OPTION_SPECS`` into ``%gitbook?``'s option list; a feature adds its subcommands to
``FEATURES`` and its handler in ``notebook/_cmd_<feature>.py``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIONS",
    "ALLOWED_OPTIONS",
    "BODY_METHODS",
    "FEATURES",
    "METHODS",
    "OPTION_SPECS",
    "SHORTCUTS",
    "FeatureSpec",
]

METHODS = ("GET", "POST", "PATCH", "DELETE", "HEAD")
BODY_METHODS = ("POST", "PATCH", "DELETE")
# action -> number of positional arguments it takes (None: any number)
ACTIONS: dict[str, int | None] = {
    "login": 0,
    "whoami": 0,
    "status": 0,
    "logout": 0,
    "history": 0,
    "config": None,
    "audit": None,
}
# shortcut -> (path template with {0}, {1} for its encoded arguments, API generation, args)
SHORTCUTS: dict[str, tuple[str, str, int]] = {
    "orgs": ("/orgs", "current", 0),
    "spaces": ("/orgs/{0}/spaces", "current", 1),
    "pages": ("/spaces/{0}/content", "current", 1),
    "search": ("/spaces/{0}/search", "current", 2),
    "books": ("/books", "legacy", 0),
}


@dataclass(frozen=True)
class FeatureSpec:
    """A feature subcommand (docs as data, insights, ...): how its line is shaped.

    The parser checks the counts, the allowed options and the cell body, and interpolates each
    positional argument as plain text (``{name}`` from the notebook); the feature's handler in
    ``notebook/_cmd_<feature>.py`` validates and encodes them (ids as one path segment each).
    """

    usage: str  # e.g. "page SPACE PATH_OR_PAGE_ID [--raw]": shown in errors and %gitbook?
    min_args: int
    max_args: int | None  # None: any number (e.g. the words of a question)
    options: frozenset[str]  # option dests allowed besides debug (see OPTION_SPECS)
    cell: str = "none"  # "none" | "optional" | "required": the %%gitbook cell body
    handler: str = ""  # "module:function" under gitbook_nb.notebook, imported on first use


# Feature subcommands, one line each; their handlers live in notebook/_cmd_<feature>.py.
FEATURES: dict[str, FeatureSpec] = {}
_SHOWN = frozenset({"output", "json", "columns"})
# Docs as data (issue 11): read, export, publish, review; handlers in notebook/_cmd_content.py.
FEATURES["page"] = FeatureSpec(
    "page SPACE PATH_OR_PAGE_ID [--raw] [-o VAR]",
    2,
    2,
    frozenset({"raw", "output"}),
    handler="_cmd_content:page",
)
FEATURES["export"] = FeatureSpec(
    "export SPACE [--to DIR] [--concurrency N] [-o VAR]",
    1,
    1,
    frozenset({"to", "concurrency", "output", "columns"}),
    handler="_cmd_content:export",
)
FEATURES["publish"] = FeatureSpec(
    "publish SPACE [--page PATH] [--title T] [--subject S] [--merge] [--notebook FILE.ipynb]"
    " [--dry-run]  (the cell body is the markdown)",
    1,
    1,
    frozenset({"page", "title", "subject", "merge", "notebook", "dry_run", "output"}),
    cell="optional",
    handler="_cmd_content:publish",
)
FEATURES["crs"] = FeatureSpec(
    "crs SPACE [status=open|draft|merged|archived] [orderBy=createdAt ...]",
    1,
    None,
    _SHOWN | {"all", "limit", "max_pages"},
    handler="_cmd_content:crs",
)
FEATURES["cr"] = FeatureSpec("cr SPACE CR_ID", 2, 2, _SHOWN, handler="_cmd_content:cr")
# Site analytics and Ask (issue 12); handlers in notebook/_cmd_insights.py.
FEATURES["sites"] = FeatureSpec("sites ORG", 1, 1, _SHOWN, handler="_cmd_insights:sites")
FEATURES["site"] = FeatureSpec("site ORG SITE", 2, 2, _SHOWN, handler="_cmd_insights:site")
FEATURES["insights"] = FeatureSpec(
    "insights ORG SITE [--events page_view,...] [--by day|week|month|page|path|country|...]"
    " [--since 30d | --from DATE --to DATE] [--top N] [--metric events|visitors|sessions]"
    " [--json] [-o VAR]",
    2,
    2,
    frozenset({"events", "by", "since", "from", "to", "top", "metric", "output", "json"}),
    handler="_cmd_insights:insights",
)
FEATURES["ask"] = FeatureSpec(
    'ask ORG "question" [-o VAR]',
    2,
    None,
    frozenset({"output", "json"}),
    handler="_cmd_insights:ask",
)
# `search --org ORG "query"` (the parser routes it here); `search SPACE "query"` is a shortcut.
FEATURES["search --org"] = FeatureSpec(
    'search --org ORG "query"',
    2,
    None,
    _SHOWN | {"org", "limit"},
    handler="_cmd_insights:search",
)


# Options are declared once, here, as (flags, argparse keywords). magics.py turns the same
# list into IPython ``magic_arguments`` decorators (so ``%gitbook?`` documents them) and this
# module builds a plain argparse parser from it (so parsing stays pure and testable).
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:20]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text[:20]!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


OPTION_SPECS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--all",), {"action": "store_true", "help": "follow every page (both envelopes)"}),
    (
        ("--max-pages",),
        {
            "type": _positive_int,
            "metavar": "N",
            "help": "stop after N pages (implies --all); the table says so",
        },
    ),
    (("--limit",), {"type": _positive_int, "metavar": "N", "help": "page size (limit=N)"}),
    (("-o", "--output"), {"metavar": "VAR", "help": "also bind the result to VAR"}),
    (("--json",), {"action": "store_true", "help": "show the answer as JSON"}),
    (("--columns",), {"metavar": "a,b", "help": "show only these (dotted) columns"}),
    (
        ("--dry-run",),
        {
            "action": "store_true",
            "help": "show the request (Authorization masked) and a curl line; send nothing",
        },
    ),
    (("--debug",), {"action": "store_true", "help": "show the full error (never secrets)"}),
    (("--flow",), {"choices": ("legacy", "current"), "help": "login: which OAuth flow"}),
    (("--profile",), {"metavar": "NAME", "help": "login: which profile"}),
    (
        ("--token",),
        {"action": "store_true", "help": "login: ask for a personal access token with getpass"},
    ),
    # docs as data (page, export, publish)
    (("--raw",), {"action": "store_true", "help": "page: show the markdown source"}),
    (
        ("--to",),
        {
            "metavar": "DIR|DATE",
            "help": "export: write one .md file per page under DIR; insights: the last day "
            "(YYYY-MM-DD, included)",
        },
    ),
    (
        ("--concurrency",),
        {"type": _positive_int, "metavar": "N", "help": "export: pages fetched at once (4)"},
    ),
    (("--page",), {"metavar": "PATH", "help": "publish: update this page (else add one)"}),
    (("--title",), {"metavar": "T", "help": "publish: the page title"}),
    (("--subject",), {"metavar": "S", "help": "publish: the change request subject"}),
    (("--merge",), {"action": "store_true", "help": "publish: also merge the change request"}),
    (("--notebook",), {"metavar": "FILE", "help": "publish: a notebook converted to markdown"}),
    # site analytics and Ask (sites, site, insights, ask, search --org)
    (("--events",), {"metavar": "TYPES", "help": "insights: event types (page_view,...; all)"}),
    (
        ("--by",),
        {
            "metavar": "DIM",
            "help": "insights: day, week, month, hour, page, path, country"
            ", device, referrer, search, event... (comma: several)",
        },
    ),  # fmt: skip
    (("--since",), {"metavar": "30d", "help": "insights: how far back (48h, 30d, 12w; 30d)"}),
    (("--from",), {"metavar": "DATE", "help": "insights: the first day (YYYY-MM-DD)"}),
    (("--top",), {"type": _positive_int, "metavar": "N", "help": "insights: the N biggest groups"}),
    (
        ("--metric",),
        {"choices": ("events", "visitors", "sessions"), "help": "insights: what to count"},
    ),
    (
        ("--org",),
        {"action": "store_true", "help": 'search --org ORG "q": the whole organisation'},
    ),
    (("--scopes",), {"metavar": "a,b", "help": "login: also ask for these OAuth scopes"}),
    (
        ("--wait",),
        {
            "nargs": "?",
            "const": float("inf"),
            "type": _seconds,
            "metavar": "SECONDS",
            "help": "login: hold this cell until the sign-in completes (at most SECONDS), so "
            "Run All and Voila fetch data after it",
        },
    ),
]

_CALL_OPTS = {"all", "max_pages", "limit", "output", "json", "columns", "dry_run", "debug"}
_SHOW_OPTS = {"output", "json", "columns", "debug"}
ALLOWED_OPTIONS: dict[str, set[str]] = {
    "call": _CALL_OPTS,
    "login": {"flow", "profile", "token", "debug", "scopes", "wait"},
    "whoami": _SHOW_OPTS,
    "status": _SHOW_OPTS,
    "history": _SHOW_OPTS,
    "config": _SHOW_OPTS,
    "logout": {"debug"},
    "audit": {"output", "columns", "debug"},
}
