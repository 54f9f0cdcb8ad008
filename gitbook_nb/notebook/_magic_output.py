"""What the ``%gitbook`` magic shows besides tables: one-line errors, the dry run, progress.

No IPython import: the magic wraps :func:`explain`'s text in IPython's ``UsageError``. tqdm is
imported only when a progress bar is actually needed.
"""

from __future__ import annotations

import html
import json
import math
import shlex
from collections.abc import Mapping
from typing import Any

from gitbook_nb.errors import (
    APIError,
    AuthenticationError,
    GitBookError,
    NotLoggedInError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from gitbook_nb.notebook._magic_interp import LiveSecrets
from gitbook_nb.protocol.tokens import MASK

__all__ = ["DryRun", "Progress", "curl_line", "explain"]


def _next_step(err: GitBookError) -> str:
    """The advice part of the one-line message (issue 5: status, message, next step)."""
    if isinstance(err, AuthenticationError):
        return "sign in again (%gitbook login)"
    if isinstance(err, PermissionDeniedError):
        return f"missing scope {err.scope}" if err.scope else err.hint
    if isinstance(err, RateLimitedError):
        if err.retry_after is not None:
            return f"rate limited, retry in {max(1, math.ceil(err.retry_after))} s"
        return "rate limited, retry in a moment"
    if isinstance(err, ServerError):
        return err.hint or "GitBook had a problem; try again in a moment"
    return err.hint


def explain(err: GitBookError, *, debug: bool = False, live: LiveSecrets | None = None) -> str:
    """One line (``--debug``: a few lines) for ``err``; never a secret (E2)."""
    if isinstance(err, NotLoggedInError):
        text = "not signed in: finish the login above, or set GITBOOK_TOKEN"
        if err.message and err.message not in text:
            text = f"{err.message} ({text})"
    else:
        step = _next_step(err)
        text = err.message
        if isinstance(err, APIError) and err.status is not None and str(err.status) not in text:
            text = f"{err.status}: {text}"
        if step and step not in text:
            text = f"{text} — {step}" if text else step
    if debug:
        fields = [f"type: {type(err).__module__}.{type(err).__name__}"]
        for name in ("method", "path", "status", "code", "scope", "retry_after", "error"):
            value = getattr(err, name, None)
            if value is not None:
                fields.append(f"{name}: {value}")
        if err.hint:
            fields.append(f"hint: {err.hint}")
        text = text + "\n  " + "\n  ".join(fields)
    return live.scrub(text) if live else text


def curl_line(prepared: Mapping[str, Any]) -> str:
    """The prepared request as a curl command; the token is left to the shell's environment."""
    method = str(prepared["method"]).upper()
    parts = ["curl", "-sS"]
    parts += ["--head"] if method == "HEAD" else ["-X", method]
    parts.append(shlex.quote(str(prepared["url"])))
    for name, value in sorted(prepared.get("headers", {}).items()):
        if name.lower() == "authorization":
            # Double quotes so the shell expands the variable; the value is never written here.
            parts += ["-H", '"Authorization: Bearer $GITBOOK_TOKEN"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = prepared.get("json")
    if body is not None:
        parts += ["--data-raw", shlex.quote(json.dumps(body, ensure_ascii=False))]
    return " ".join(parts)


class DryRun:
    """The request a call would send (Authorization masked) and its curl line; nothing sent."""

    def __init__(self, prepared: Mapping[str, Any]) -> None:
        headers = dict(prepared.get("headers", {}))
        if "Authorization" in headers:  # belt and braces: the session already masks it
            headers["Authorization"] = f"Bearer {MASK}"
        self.prepared = {**prepared, "headers": headers}
        lines = [f"{str(prepared['method']).upper()} {prepared['url']}"]
        lines += [f"{k}: {v}" for k, v in sorted(headers.items())]
        if prepared.get("json") is not None:
            lines += ["", json.dumps(prepared["json"], ensure_ascii=False, indent=2)]
        lines += [
            "",
            "# the same request with curl (the token comes from $GITBOOK_TOKEN):",
            curl_line(self.prepared),
        ]
        self.text = "\n".join(lines)

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return f'<pre class="gitbook-nb-dry-run">{html.escape(self.text)}</pre>'


class Progress:
    """A transient tqdm bar driven by ``paginate``'s ``progress(pages, items, total)``.

    ``tqdm.auto`` picks the widget bar in a Jupyter kernel and the text bar elsewhere;
    ``leave=False`` removes it when the walk ends, and ``delay`` shows nothing at all for a walk
    that ends within a second, so quick calls do not flicker and saved notebooks keep only
    the table (not a frozen "0%" bar for viewers without widget state).
    """

    DELAY = 1.0  # seconds before a bar appears

    def __init__(self, label: str = "gitbook") -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, pages: int, items: int, total: int | None) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total, unit=" items", leave=False, desc=self.label, delay=self.DELAY
            )
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.set_postfix_str(f"page {pages}", refresh=False)
        self.bar.update(items - self.bar.n)  # update(), not refresh(): it honours the delay

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
