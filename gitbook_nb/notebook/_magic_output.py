"""What the ``%gitbook`` magic shows besides tables: one-line errors, the dry run, progress.

No IPython import: the magic wraps :func:`explain`'s text in IPython's ``UsageError``. tqdm is
imported only when a progress bar is actually needed.

Messages are for people: no rule ids (:func:`~gitbook_nb.notebook._words.plain_words`), and
"not signed in" says how to sign in from where the user is. :class:`ErrorNote` shows a message
as HTML that wraps between words: JupyterLab draws every error and stderr line in a ``<pre>``
with ``word-break: break-all`` (measured), which cuts long messages in the middle of words.
"""

from __future__ import annotations

import atexit
import html
import json
import math
import os
import shlex
import shutil
import tempfile
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
from gitbook_nb.notebook._words import plain_words
from gitbook_nb.protocol.tokens import MASK

__all__ = ["DryRun", "ErrorNote", "Progress", "curl_line", "explain", "not_signed_in"]


def not_signed_in(*, waiting: bool, sandbox: bool) -> str:
    """How to sign in from here: the widget above only if one is really waiting in this
    kernel (a widget left by an earlier kernel is dead), else the command; GITBOOK_TOKEN only
    where it works (the sandbox never takes it)."""
    if waiting:
        return (
            "not signed in yet: finish the sign-in in the login widget above, or run %gitbook login"
        )
    if sandbox:
        return "not signed in: run %gitbook login"
    return "not signed in: run %gitbook login, or set GITBOOK_TOKEN to a personal access token"


def _next_step(err: GitBookError) -> str:
    """The advice part of the one-line message (issue 5: status, message, next step)."""
    if isinstance(err, AuthenticationError):
        # the auth flow's own words say what happened to the token (forgotten, kept, ...)
        return err.hint or "sign in again (%gitbook login)"
    if isinstance(err, PermissionDeniedError):
        return f"missing scope {err.scope}" if err.scope else err.hint
    if isinstance(err, RateLimitedError):
        if err.retry_after is not None:
            return f"rate limited, retry in {max(1, math.ceil(err.retry_after))} s"
        return "rate limited, retry in a moment"
    if isinstance(err, ServerError):
        return err.hint or "GitBook had a problem; try again in a moment"
    return err.hint


def explain(
    err: GitBookError,
    *,
    debug: bool = False,
    live: LiveSecrets | None = None,
    waiting: bool = False,
    sandbox: bool = False,
) -> str:
    """One line (``--debug``: a few lines) for ``err``; never a secret (E2), never a rule id.

    ``waiting``: a login widget of this kernel is waiting for its sign-in (then, and only then,
    "not signed in" points at it). ``sandbox``: the session talks to the sandbox.
    """
    if isinstance(err, NotLoggedInError):
        text = not_signed_in(waiting=waiting, sandbox=sandbox)
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
    text = plain_words(text)
    return live.scrub(text) if live else text


class ErrorNote:
    """A one-line error as HTML that wraps between words (and as the same plain text)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return (
            '<div class="gitbook-nb-error" role="alert" style="white-space:pre-wrap;'
            "word-break:normal;overflow-wrap:anywhere;padding:2px 6px;"
            'background:var(--jp-rendermime-error-background,#fdd)">'
            f"{html.escape(self.text)}</div>"
        )


def curl_line(prepared: Mapping[str, Any], *, auth_file: str | None = None) -> str:
    """The prepared request as a curl command that works as pasted into a shell.

    The token is never written here: it comes from ``$GITBOOK_TOKEN`` (a personal access
    token), or, for the sandbox (which knows no token of the user's), from ``auth_file``, a
    header file only this user can read (``curl -H @FILE``, curl 7.55 or later).
    """
    method = str(prepared["method"]).upper()
    parts = ["curl", "-sS"]
    parts += ["--head"] if method == "HEAD" else ["-X", method]
    parts.append(shlex.quote(str(prepared["url"])))
    for name, value in sorted(prepared.get("headers", {}).items()):
        if name.lower() != "authorization":
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        elif auth_file is not None:
            parts += ["-H", "@" + shlex.quote(auth_file)]
        else:
            # Double quotes so the shell expands the variable; the value is never written here.
            parts += ["-H", '"Authorization: Bearer $GITBOOK_TOKEN"']
    body = prepared.get("json")
    if body is not None:
        parts += ["--data-raw", shlex.quote(json.dumps(body, ensure_ascii=False))]
    return " ".join(parts)


_SANDBOX_FILES: dict[str, str] = {}


def sandbox_auth_file(sandbox: Any) -> str:
    """A header file (0600, in a private temporary folder) with the sandbox's throwaway
    personal token, for the dry run's curl line; removed when the kernel exits.

    The sandbox lives in this kernel and its tokens die with it; the sandbox's own command
    line prints the same throwaway credentials. A real token is never written anywhere.
    """
    url = str(sandbox.url)
    path = _SANDBOX_FILES.get(url)
    if path is None or not os.path.exists(path):
        folder = tempfile.mkdtemp(prefix="gitbook_nb-sandbox-")  # 0700
        path = os.path.join(folder, "auth-header")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"Authorization: Bearer {sandbox.personal_token}\n")
        atexit.register(shutil.rmtree, folder, True)
        _SANDBOX_FILES[url] = path
    return path


class DryRun:
    """The request a call would send (Authorization masked) and its curl line; nothing sent.

    ``auth_file``: for the sandbox, the header file the curl line reads (see
    :func:`sandbox_auth_file`); otherwise the line reads ``$GITBOOK_TOKEN``.
    """

    def __init__(self, prepared: Mapping[str, Any], *, auth_file: str | None = None) -> None:
        headers = dict(prepared.get("headers", {}))
        if "Authorization" in headers:  # belt and braces: the session already masks it
            headers["Authorization"] = f"Bearer {MASK}"
        self.prepared = {**prepared, "headers": headers}
        lines = [f"{str(prepared['method']).upper()} {prepared['url']}"]
        lines += [f"{k}: {v}" for k, v in sorted(headers.items())]
        if prepared.get("json") is not None:
            lines += ["", json.dumps(prepared["json"], ensure_ascii=False, indent=2)]
        if auth_file is not None:
            how = "the sandbox's token is read from a file only you can read"
        else:
            how = "set GITBOOK_TOKEN to a personal access token first"
        how = f"# the same request with curl; {how}:"
        lines += ["", how, curl_line(self.prepared, auth_file=auth_file)]
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
