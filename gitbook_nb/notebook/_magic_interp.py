"""``{name}`` interpolation and the checks a ``%gitbook`` line must pass. Pure: no IPython.

Interpolation rules (DESIGN.md section 3), decided here:

- ``{name}`` and ``{name.attr.attr}`` read the user namespace; a dotted part reads a key of a
  mapping (so ``{row.id}`` works on the rows of a Result) or else an attribute. Nothing is
  ever ``eval``-ed, and attributes starting with ``_`` are refused (no ``{x.__class__...}``).
- In a path, a value is percent-encoded as one segment (``quote(str(v), safe="")``): it cannot
  add ``/``, ``?`` or ``#`` (SECURITY.md D4). In ``key=value`` words the value is inserted as
  text (the HTTP client encodes the query); in a ``/path?k=v`` query it round-trips exactly.
- In a cell body, ``{name}`` outside a JSON string is replaced by the JSON encoding of the
  value (so ``{"title": {title}}`` works for strings, numbers, lists, dicts); inside a JSON
  string (``"Re: {title}"``) it is replaced by the escaped text of the value, which cannot
  end the string. JSON's own braces need no escaping in a body.
- ``{{`` and ``}}`` are literal braces (in a body: inside strings only).
- An unknown name is a one-line error naming it.

A token or secret never travels in a magic line (E5): words that look like one, parameters
named like one and values equal to the live token are refused, with a pointer to getpass.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from gitbook_nb.errors import GitBookError, UnsafeRequestError
from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = [
    "SECRET_HINT",
    "LiveSecrets",
    "MagicLineError",
    "check_value",
    "interpolate",
    "interpolate_body",
    "lookup",
    "looks_like_token",
    "refuse_secret_words",
    "validate_path",
]

SECRET_HINT = (
    "a token or secret is never accepted on a %gitbook line: use "
    "%gitbook login --token (asks with getpass) or set GITBOOK_TOKEN in the environment"
)

# Token shapes: GitBook personal tokens (gb_api_...), legacy 40-hex tokens, JWTs.
_TOKEN_SHAPE = re.compile(
    r"gb_api_[A-Za-z0-9_\-]{8,}"
    r"|(?<![0-9A-Fa-f])[0-9A-Fa-f]{40}(?![0-9A-Fa-f])"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\."
    r"|(?i:\bbearer\s+\S)"
)
# Parameter / option names that carry credentials (after lower-casing, '-' -> '_').
_SECRET_NAME = re.compile(
    r"(?:.*_)?(?:token|secret|password|passwd|authorization|apikey|api_key|bearer|"
    r"code_verifier|verifier)"
)
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_BODY_FIELD = re.compile(r"\{([^\W\d]\w*(?:\.[^\W\d]\w*)*)\}")


class MagicLineError(GitBookError):
    """The ``%gitbook`` line is malformed (unknown subcommand, bad option, unknown name)."""

    default_hint = "see %gitbook? for the syntax"


def _error(message: str, hint: str | None = None) -> GitBookError:
    return MagicLineError(message, hint=hint)


class LiveSecrets:
    """The kernel's live token and client secret, for comparisons only.

    Held as :class:`Secret` and revealed only inside :meth:`found_in` / :meth:`scrub`, so a
    traceback under ``%xmode Verbose`` that prints the parser's locals shows only the mask (E2).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[Secret | str | None] = ()) -> None:
        kept = [Secret(v) for v in values if v]
        self._values = tuple(s for s in kept if len(s) >= 8)  # too short to compare usefully

    def found_in(self, text: str) -> bool:
        return any(s.reveal() in text for s in self._values)

    def scrub(self, text: str) -> str:
        for s in self._values:
            text = text.replace(s.reveal(), MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        return f"<LiveSecrets {len(self._values)} masked>"


def _live(live: LiveSecrets | Sequence[str]) -> LiveSecrets:
    return live if isinstance(live, LiveSecrets) else LiveSecrets(live)


def looks_like_token(text: str, live: LiveSecrets | Sequence[str] = ()) -> bool:
    """True if ``text`` contains a token shape or a live secret (compared, never shown)."""
    return bool(_TOKEN_SHAPE.search(text)) or _live(live).found_in(text)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.fullmatch(name.strip().lstrip("-").lower().replace("-", "_")))


def refuse_secret_words(words: Sequence[str], live: LiveSecrets | Sequence[str]) -> None:
    """E5: refuse ``token=...``, ``--client-secret X``, ``Authorization: ...``, token shapes."""
    for i, word in enumerate(words):
        name, eq, _ = word.partition("=")
        lowered = word.lower()
        if (eq and _secret_name(name)) or (
            word.startswith("--") and _secret_name(name) and name != "--token"
        ):
            raise UnsafeRequestError(
                f"refused argument {i + 1} ({name[:30]}=...)", hint=SECRET_HINT
            )
        if lowered.startswith("authorization") or lowered == "bearer":
            raise UnsafeRequestError(
                f"refused argument {i + 1} (an Authorization header)", hint=SECRET_HINT
            )
        if looks_like_token(word, live):
            raise UnsafeRequestError(
                f"refused argument {i + 1}: it looks like a token", hint=SECRET_HINT
            )


def check_value(value: str, live: LiveSecrets | Sequence[str], *, what: str = "a value") -> None:
    """Refuse an interpolated value or parameter name that is (or names) a secret."""
    if looks_like_token(value, live) or (what == "a query parameter" and _secret_name(value)):
        raise UnsafeRequestError(
            f"refused {what}: it looks like a token or secret", hint=SECRET_HINT
        )


def lookup(name: str, namespace: Mapping[str, Any]) -> Any:
    """The value of ``name`` or ``name.part.part`` (mapping key, else public attribute)."""
    if not _NAME.fullmatch(name):
        raise _error(
            f"{{{name[:40]}}} is not a name",
            hint="use {name} or {name.attr}; write {{ and }} for literal braces",
        )
    root, *parts = name.split(".")
    if root not in namespace:
        raise _error(
            f"unknown name {root!r} in {{{name[:60]}}}",
            hint=f"define {root} first, or write {{{{ and }}}} for literal braces",
        )
    value = namespace[root]
    for part in parts:
        if part.startswith("_"):
            raise _error(f"{{{name[:60]}}}: private attributes cannot be used")
        if isinstance(value, Mapping) and part in value:
            value = value[part]
            continue
        try:
            value = getattr(value, part)
        except Exception:  # a property may raise anything; the user gets one line
            raise _error(f"{{{name[:60]}}}: {type(value).__name__} has no {part!r}") from None
    if isinstance(value, Secret):
        raise UnsafeRequestError(f"{{{name[:60]}}} is a secret", hint=SECRET_HINT)
    return value


def _text(value: Any, name: str) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        raise _error(f"{{{name[:60]}}} cannot be turned into text") from None


def interpolate(
    template: str,
    namespace: Mapping[str, Any],
    encode: Callable[[Any], str],
    *,
    secrets: LiveSecrets | Sequence[str] = (),
) -> str:
    """Replace ``{name}`` fields with ``encode(value)``; ``{{``/``}}`` are literal braces."""

    def field(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        if name is None:
            raise _error(
                f"a single {token!r} in {template[:60]!r}",
                hint="write {{ or }} for a literal brace",
            )
        value = lookup(name, namespace)
        check_value(_text(value, name), secrets)
        try:
            return encode(value)
        except GitBookError:
            raise
        except Exception:
            raise _error(f"{{{name[:60]}}} cannot be turned into text") from None

    if "{" not in template and "}" not in template:
        return template
    return _FIELD.sub(field, template)


def _json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise _error(
            f"{{{name[:60]}}} cannot be sent as JSON ({type(value).__name__})",
            hint="use str, int, float, bool, None, list or dict values",
        ) from None


def interpolate_body(
    text: str, namespace: Mapping[str, Any], *, secrets: LiveSecrets | Sequence[str] = ()
) -> Any:
    """Interpolate a cell body (JSON-aware, see the module docstring) and parse it."""
    if looks_like_token(text, secrets):
        raise UnsafeRequestError("refused cell body: it contains a token", hint=SECRET_HINT)
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        c = text[i]
        if in_string and c == "\\":
            out.append(text[i : i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
            out.append(c)
            i += 1
            continue
        if in_string and text.startswith(("{{", "}}"), i):
            out.append(c)
            i += 2
            continue
        m = _BODY_FIELD.match(text, i) if c == "{" else None
        if m is None:
            out.append(c)
            i += 1
            continue
        name = m.group(1)
        value = lookup(name, namespace)
        encoded = _json(value, name)
        check_value(encoded, secrets)
        if in_string:  # the text of the value, escaped so it cannot end the string
            plain = value if isinstance(value, str) else encoded
            out.append(json.dumps(plain, ensure_ascii=False)[1:-1])
        else:
            out.append(encoded)
        i = m.end()
    try:
        return json.loads("".join(out))
    except RecursionError:
        raise _error("the cell body is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError; the message has no body text, only a place
        where = (
            f" at line {err.lineno} column {err.colno}"
            if isinstance(err, json.JSONDecodeError)
            else ""
        )
        msg = err.msg if isinstance(err, json.JSONDecodeError) else "invalid JSON"
        raise _error(
            f"the cell body is not JSON: {msg}{where}",
            hint='e.g. {"title": {title}} with title defined in the notebook',
        ) from None


_SAFE_PATH = "/%!$&'()*+,;=:@-._~"


def validate_path(path: str, *, before_interpolation: bool = False) -> str:
    """SECURITY.md D4: a path starting with a single ``/``, nothing that could change the host.

    Refuses ``//host``, schemes, backslashes, CR/LF and other controls, whitespace, ``#``,
    dot segments and malformed ``%`` escapes. Returns the path with any literal non-ASCII
    characters percent-encoded (only after interpolation).
    """
    if not path.startswith("/"):
        if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", path) or "//" in path:
            raise UnsafeRequestError(
                "a full URL is refused: give a path starting with / (the host comes from "
                "the profile)"
            )
        raise UnsafeRequestError("a path must start with a single /")
    if path.startswith("//"):
        raise UnsafeRequestError("a path starting with // would name another host")
    if "\\" in path:
        raise UnsafeRequestError("a backslash in a path is refused")
    for ch in path:
        if ch.isspace() or unicodedata.category(ch)[0] == "C":
            raise UnsafeRequestError(
                f"the path contains whitespace or a control character (U+{ord(ch):04X}); "
                "refused",
                hint="put a value with spaces in a {variable}",
            )
    if "#" in path:
        raise UnsafeRequestError("a # (fragment) in a path is refused")
    if "://" in path:
        raise UnsafeRequestError("a URL inside a path is refused")
    if before_interpolation:
        return path
    if "?" in path:
        raise UnsafeRequestError("a ? inside a path segment is refused")
    if any(seg in (".", "..") for seg in (unquote_segment(s) for s in path.split("/"))):
        raise UnsafeRequestError("a . or .. path segment is refused")
    if re.search(r"%(?![0-9A-Fa-f]{2})", path):
        raise UnsafeRequestError("a % in a path must start an escape like %20")
    from urllib.parse import quote

    return quote(path, safe=_SAFE_PATH)


def unquote_segment(segment: str) -> str:
    from urllib.parse import unquote

    return unquote(segment)
