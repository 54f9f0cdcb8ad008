"""The ``%gitbook`` line, parsed into a :class:`Command` value. Pure: no IPython, no HTTP.

Everything that can be refused is refused here, before any request exists (SECURITY.md G1,
D4, E5): an unknown subcommand or option, a path that is not a single-``/`` path, a token on
the line, an unknown ``{name}``. The magic (``magics.py``) only routes a parsed Command.

Syntax (DESIGN.md section 3)::

    login [--flow legacy|current] [--profile NAME] [--token]
    whoami | status | logout | history | config [key=value ...] | audit [notebook.ipynb]
    [GET|POST|PATCH|DELETE|HEAD] /path [key=value ...] [options]
    orgs | spaces ORG | pages SPACE | search SPACE "query" | books

Words are split like a shell (``shlex``) but a backslash is kept as an ordinary character, so
``/a\\b`` stays visible to the D4 check and Windows paths work for ``audit``. Options may stand
anywhere on the line; a word starting with a single ``-`` that is not one of our options is a
value (GitBook ids often start with ``-``). ``--`` ends the options.

Interpolation is in :mod:`gitbook_nb.notebook._magic_interp`.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shlex
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from gitbook_nb.errors import UnsafeRequestError
from gitbook_nb.notebook._magic_hints import (
    PLAIN_WORD,
    SHORTCUT_USAGE,
    known_path,
    suggest,
    use_hint,
)
from gitbook_nb.notebook._magic_interp import (
    SECRET_HINT,
    LiveSecrets,
    MagicLineError,
    check_value,
    interpolate,
    interpolate_body,
    refuse_secret_words,
    validate_path,
)
from gitbook_nb.notebook._magic_vocab import (
    ACTIONS,
    ALLOWED_OPTIONS,
    BODY_METHODS,
    FEATURES,
    METHODS,
    OPTION_SPECS,
    SHORTCUTS,
    FeatureSpec,
)
from gitbook_nb.notebook._words import did_you_mean

__all__ = [
    "ACTIONS",
    "FEATURES",
    "FeatureSpec",
    "METHODS",
    "OPTION_SPECS",
    "SHORTCUTS",
    "Command",
    "MagicLineError",
    "Options",
    "parse",
    "split_words",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]  # never sys.exit in a kernel
        raise MagicLineError(message)

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        raise MagicLineError(message or "bad options")


def _build_parser() -> _Parser:
    parser = _Parser(prog="%gitbook", add_help=False, allow_abbrev=False)
    for flags, kwargs in OPTION_SPECS:
        parser.add_argument(*flags, **kwargs)
    parser.add_argument("args", nargs="*")
    return parser


_PARSER = _build_parser()
_CORE_DESTS = {
    "args",
    "all",
    "max_pages",
    "limit",
    "output",
    "json",
    "columns",
    "dry_run",
    "debug",
    "flow",
    "profile",
    "token",
}  # the fixed fields of Options
_RESERVED_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit"})
_TAKES_VALUE = {f for flags, kw in OPTION_SPECS if "action" not in kw for f in flags}
_OPTIONAL_VALUE = {f for flags, kw in OPTION_SPECS if kw.get("nargs") == "?" for f in flags}
_FLAGS = {f for flags, _ in OPTION_SPECS for f in flags}


@dataclass(frozen=True)
class Options:
    all: bool = False
    max_pages: int | None = None
    limit: int | None = None
    output: str | None = None
    json: bool = False
    columns: tuple[str, ...] = ()
    dry_run: bool = False
    debug: bool = False
    flow: str | None = None
    profile: str | None = None
    token: bool = False
    # Options that FEATURES subcommands add to OPTION_SPECS: (dest, value) pairs of the ones
    # given on the line, so a feature adds an option without a new field here.
    extra: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        """A feature option's value (``opts.get("to")``), or ``default`` when not given."""
        return dict(self.extra).get(name, default)


@dataclass(frozen=True)
class Command:
    """What to do; for ``action == "call"`` everything needed to send (or show) the request.

    ``path`` is validated and percent-encoded, ``params`` are raw strings (the HTTP client
    encodes them), ``body`` is parsed JSON (``None``: no body). ``api`` is ``"legacy"`` or
    ``"current"`` for shortcuts that exist in only one API generation. ``render`` is
    ``"pages"`` for the flattened page tree of ``pages SPACE``.
    """

    action: str
    options: Options = field(default_factory=Options)
    method: str = "GET"
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    api: str | None = None
    render: str = "table"
    args: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    feature: bool = False  # a FEATURES subcommand: args interpolated, body the raw cell text

    @property
    def query(self) -> dict[str, str | list[str]] | None:
        """``params`` as the dict requests wants (a repeated key becomes a list)."""
        out: dict[str, Any] = {}
        for k, v in self.params:
            if k in out:
                out[k] = [*out[k], v] if isinstance(out[k], list) else [out[k], v]
            else:
                out[k] = v
        return out or None


def split_words(line: str) -> list[str]:
    """Shell-like words, quotes honoured, backslashes kept literally, ``#`` not a comment."""
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    lex.escape = ""  # D4: a backslash must reach the path check, not vanish as an escape
    try:
        return list(lex)
    except ValueError as err:  # "No closing quotation"
        raise MagicLineError(
            f"cannot split the line: {err}", hint="close the quote, or quote a value with ' or \""
        ) from None


def _split_options(words: list[str]) -> tuple[list[str], list[str]]:
    """Separate our options from values, so an id like ``-MZx3`` is a value, not an option."""
    opts: list[str] = []
    values: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        name = w.split("=", 1)[0]
        if w == "--":
            values.extend(words[i + 1 :])
            break
        if name in _FLAGS:
            opts.append(w)
            if w in _OPTIONAL_VALUE:  # "--wait" or "--wait 120": a value only if it is a number
                if i + 1 < len(words) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", words[i + 1]):
                    opts.append(words[i + 1])
                    i += 1
            elif w in _TAKES_VALUE:  # "--limit 5": the next word is the option's value
                if i + 1 >= len(words):
                    raise MagicLineError(f"option {w} needs a value")
                opts.append(words[i + 1])
                i += 1
        elif w.startswith("--"):
            close = did_you_mean(name, (f for f in _FLAGS if f.startswith("--")))
            raise MagicLineError(
                f"unknown option {name[:40]}" + (f": did you mean {close}?" if close else ""),
                hint="options: " + ", ".join(sorted(f for f in _FLAGS if f.startswith("--"))),
            )
        else:
            values.append(w)
        i += 1
    return opts, values


_NO_OPTIONS: list[Options] = []  # the parsed defaults, kept after the first option-less line


def _options(opt_words: list[str]) -> Options:
    if not opt_words and _NO_OPTIONS:  # most lines: argparse would rebuild the same (frozen)
        return _NO_OPTIONS[0]  # defaults, ~7 µs per call (bench/README.md, figure 1)
    ns = _PARSER.parse_args([*opt_words, "--"])
    if ns.args:  # cannot happen: values were split off; defensive, and never sent anywhere
        raise MagicLineError("unexpected values among the options")
    columns: tuple[str, ...] = ()
    if ns.columns is not None:
        columns = tuple(c.strip() for c in ns.columns.split(",") if c.strip())
        if not columns:
            raise MagicLineError("--columns needs at least one column name")
    if ns.output is not None and (
        not ns.output.isidentifier()
        or keyword.iskeyword(ns.output)
        or ns.output.startswith("_")
        or ns.output in _RESERVED_NAMES
    ):
        # IPython's own names (In, Out, _, get_ipython...) are not overwritten by accident
        raise MagicLineError(f"-o needs a Python variable name, got {ns.output[:40]!r}")
    opts = Options(
        all=ns.all or ns.max_pages is not None,
        max_pages=ns.max_pages,
        limit=ns.limit,
        output=ns.output,
        json=ns.json,
        columns=columns,
        dry_run=ns.dry_run,
        debug=ns.debug,
        flow=ns.flow,
        profile=ns.profile,
        token=ns.token,
        extra=tuple(
            (k, v)
            for k, v in sorted(vars(ns).items())
            if k not in _CORE_DESTS and v is not None and v is not False
        ),
    )
    if not opt_words:
        _NO_OPTIONS[:] = [opts]
    return opts


def _check_allowed(action: str, opt_words: list[str], opts: Options) -> None:
    used = {
        f.lstrip("-").split("=", 1)[0].replace("-", "_")
        for f in opt_words
        if f.split("=", 1)[0] in _FLAGS
    }
    used = {"output" if u == "o" else u for u in used}
    extra = sorted(used - ALLOWED_OPTIONS[action])
    if extra:
        raise MagicLineError(f"option --{extra[0].replace('_', '-')} does not apply to {action}")
    if opts.json and opts.columns:
        raise MagicLineError("--json and --columns cannot be combined")


def _pair(word: str, ns: Mapping[str, Any], secrets: LiveSecrets) -> tuple[str, str]:
    if "=" not in word:
        raise MagicLineError(
            f"expected key=value, got {word[:40]!r}",
            hint="quote a value with spaces: key='a value'",
        )
    key, template = word.split("=", 1)
    if not key or not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", key):
        raise MagicLineError(f"bad parameter name {key[:40]!r}")
    value = interpolate(template, ns, str, secrets=secrets)
    return key, value


def _path_and_query(
    template: str, ns: Mapping[str, Any], secrets: LiveSecrets
) -> tuple[str, list[tuple[str, str]]]:
    """Interpolate a ``/path?query`` template: values percent-encoded, then re-checked (D4)."""
    if "?" in template:
        path_t, query_t = template.split("?", 1)
    else:
        path_t, query_t = template, ""
    validate_path(path_t, before_interpolation=True)
    path = interpolate(path_t, ns, lambda v: quote(str(v), safe=""), secrets=secrets)
    path = validate_path(path)
    params: list[tuple[str, str]] = []
    for part in query_t.split("&") if query_t else []:
        if not part:
            continue
        key_t, _, value_t = part.partition("=")
        # URL syntax here: literal %xx is decoded, interpolated values round-trip unchanged.
        key = unquote(interpolate(key_t, ns, lambda v: quote(str(v), safe=""), secrets=secrets))
        value = unquote(interpolate(value_t, ns, lambda v: quote(str(v), safe=""), secrets=secrets))
        if not key:
            raise MagicLineError("empty query parameter name")
        check_value(key, secrets, what="a query parameter")
        params.append((key, value))
    return path, params


def _segment(word: str, ns: Mapping[str, Any], secrets: LiveSecrets) -> str:
    """A shortcut argument becomes exactly one encoded path segment (no ``/`` can get in)."""
    value = interpolate(word, ns, str, secrets=secrets)
    if value in ("", ".", ".."):
        raise UnsafeRequestError(f"{value!r} is not a usable id")
    return quote(value, safe="")


def _feature(
    word: str,
    rest: list[str],
    opt_words: list[str],
    opts: Options,
    body_text: str | None,
    cell: str | None,
    ns: Mapping[str, Any],
    live: LiveSecrets,
) -> Command:
    spec = FEATURES[word]
    used = {
        f.lstrip("-").split("=", 1)[0].replace("-", "_")
        for f in opt_words
        if f.split("=", 1)[0] in _FLAGS
    }
    used = {"output" if u == "o" else u for u in used}
    extra = sorted(used - spec.options - {"debug"})
    if extra:
        raise MagicLineError(
            f"option --{extra[0].replace('_', '-')} does not apply to {word}",
            hint=f"usage: %gitbook {spec.usage}",
        )
    if opts.json and opts.columns:
        raise MagicLineError("--json and --columns cannot be combined")
    if len(rest) < spec.min_args or (spec.max_args is not None and len(rest) > spec.max_args):
        raise MagicLineError(f"usage: %gitbook {spec.usage}")
    if spec.cell == "none" and body_text is not None:
        raise MagicLineError(f"{word} takes no cell body", hint=f"usage: %gitbook {spec.usage}")
    if spec.cell == "required" and body_text is None and cell is not None:
        raise MagicLineError(f"{word} needs a cell body", hint=f"usage: %%gitbook {spec.usage}")
    args = tuple(interpolate(w, ns, str, secrets=live) for w in rest)
    return Command(word, opts, args=args, body=body_text, feature=True)


# Paths people type most; "did you mean" picks from them (and from every subcommand).
def parse(
    line: str,
    cell: str | None = None,
    *,
    namespace: Mapping[str, Any] | None = None,
    secrets: LiveSecrets | Iterable[str] = (),
) -> Command:
    """Parse one ``%gitbook`` line (and a ``%%gitbook`` cell body) into a :class:`Command`.

    ``namespace`` is where ``{name}`` values come from (the user namespace). ``secrets`` are
    the live token and client secret, used only to refuse them on the line (E5); they never
    appear in a message. Raises :class:`MagicLineError` or :class:`UnsafeRequestError`.
    """
    ns = namespace if namespace is not None else {}
    live = secrets if isinstance(secrets, LiveSecrets) else LiveSecrets(secrets)
    for ch in line:  # D4: CR/LF would otherwise split silently into two words
        if ch != "\t" and unicodedata.category(ch) == "Cc":
            raise UnsafeRequestError(
                f"the line contains a control character (U+{ord(ch):04X}), e.g. CR/LF; refused"
            )
    words = split_words(line)
    refuse_secret_words(words, live)
    opt_words, values = _split_options(words)
    opts = _options(opt_words)
    body_text = cell if cell is not None and cell.strip() else None
    if not values:
        raise MagicLineError(
            "what should %gitbook do?",
            hint="e.g. %gitbook orgs, %gitbook GET /user, %gitbook login",
        )
    head, rest = values[0], values[1:]
    word = head.lower()

    if word == "search" and opts.get("org"):  # the organisation's search, not a space's
        word = "search --org"
    if word in FEATURES:
        return _feature(word, rest, opt_words, opts, body_text, cell, ns, live)

    if word in ACTIONS:
        _check_allowed(word, opt_words, opts)
        if body_text is not None:
            raise MagicLineError(f"{word} takes no cell body")
        want = ACTIONS[word]
        if want is not None and len(rest) > want:
            if word == "login":
                raise UnsafeRequestError("login takes no values; " + SECRET_HINT)
            raise MagicLineError(f"{word} takes no arguments, got {rest[0][:40]!r}")
        if word == "config":
            pairs = tuple(_pair(w, ns, live) for w in rest)
            return Command("config", opts, settings=pairs)
        if word == "audit":
            if len(rest) > 1:
                raise MagicLineError("audit takes one notebook path (quote a path with spaces)")
            args = tuple(interpolate(w, ns, str, secrets=live) for w in rest)
            return Command("audit", opts, args=args)
        return Command(word, opts)

    _check_allowed("call", opt_words, opts)
    if word in SHORTCUTS:
        template, api, nargs = SHORTCUTS[word]
        usage = f"usage: %gitbook {SHORTCUT_USAGE[word]}"
        extra = [w for w in rest[nargs:] if "=" not in w]
        if len(rest) < nargs:
            raise MagicLineError(usage)
        if word != "search" and extra:  # e.g. "pages Engine handbook": a title, not an id
            raise MagicLineError(
                usage,
                hint=(
                    f"got {extra[0][:40]!r} too; an id is one word, other words are key=value"
                    if nargs
                    else f"{word} takes no values"
                ),
            )
        params: list[tuple[str, str]] = []
        if word == "search":
            space = _segment(rest[0], ns, live)
            query = " ".join(interpolate(w, ns, str, secrets=live) for w in rest[1:])
            if not query.strip():
                raise MagicLineError('search needs a query: %gitbook search SPACE "words"')
            path, params = template.format(space), [("query", query)]
        else:
            segs = [_segment(w, ns, live) for w in rest[:nargs]]
            path = template.format(*segs)
            params = [_pair(w, ns, live) for w in rest[nargs:]]
        if body_text is not None:
            raise MagicLineError(f"{word} takes no cell body")
        if word == "pages" and opts.all:
            raise MagicLineError("pages returns one content tree; --all does not apply")
        if opts.limit is not None and not opts.all:
            params.append(("limit", str(opts.limit)))
        return Command(
            "call",
            opts,
            "GET",
            validate_path(path),
            tuple(params),
            None,
            api,
            "pages" if word == "pages" else "table",
        )

    # A raw call: [METHOD] /path [key=value ...]
    if head.upper() in METHODS:
        method, rest = head.upper(), rest
        if not rest:
            raise MagicLineError(f"{method} needs a path, e.g. %gitbook {method} /user")
        target, rest = rest[0], rest[1:]
    elif head.startswith("/") or "://" in head or head.startswith("\\"):
        method, target = "GET", head
    else:
        raise MagicLineError(f"unknown subcommand {head[:40]!r}{suggest(head)}", hint=use_hint())
    if PLAIN_WORD.fullmatch(target):  # "GET user": a path without its leading /
        raise MagicLineError(
            f"a path starts with /: did you mean %gitbook {method} {known_path(target)}?"
        )
    path, params = _path_and_query(target, ns, live)
    params.extend(_pair(w, ns, live) for w in rest)
    if opts.limit is not None and not opts.all:
        params.append(("limit", str(opts.limit)))
    body = None
    if body_text is not None:
        if method not in BODY_METHODS:
            raise MagicLineError(f"a {method} has no body; use %%gitbook POST|PATCH|DELETE")
        body = interpolate_body(body_text, ns, secrets=live)
    if opts.all and method != "GET":
        raise MagicLineError("--all follows pages of a GET only")
    return Command("call", opts, method, path, tuple(params), body)
