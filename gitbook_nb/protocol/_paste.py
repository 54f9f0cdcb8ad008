"""Checking what the user pastes after the GitBook consent page (SECURITY.md A3, A4, B1-B8).

Hand-written rather than oauthlib's ``parse_request_uri_response``: that one keeps the last of
duplicated parameters (B3), compares the state with ``!=`` on ``str`` (B7), does not compare the
redirect URI's host and path (B2) and raises its own exception types (G1 wants only ours).

Every failure is a :class:`~gitbook_nb.errors.LoginError` with one line and the next step; no
message quotes the pasted text or the code (E2).
"""

from __future__ import annotations

import hmac
import re
import time
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl, urlsplit

from gitbook_nb.errors import (
    AccessDeniedError,
    FlowExpiredError,
    FlowUsedError,
    LoginError,
    PasteError,
    StateMismatchError,
)
from gitbook_nb.protocol._types import Clock
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import same_endpoint, server_name

if TYPE_CHECKING:
    from gitbook_nb.protocol._types import PendingFlow

__all__ = ["MAX_PASTE", "parse_paste"]

MAX_PASTE = 8 * 1024
_ASCII_WS = " \t\n\r\x0b\x0c"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_CODE = re.compile(r"[\x21-\x7e]{1,2048}")  # RFC 6749 A.11: VSCHAR
_ERROR_CODE = re.compile(r"[a-z][a-z_]{0,39}")
_BARE_CODE = re.compile(r"[A-Za-z0-9\-._~+/=]{8,512}")  # stricter: nothing URL-like
_CHAR_NAMES = {  # friendlier than unicodedata's names for the usual culprits
    0x200B: "a zero-width space",
    0x00A0: "a no-break space",
    0xFEFF: "a byte-order mark",
    0x2018: "a smart quote",
    0x2019: "a smart quote",
    0x201C: "a smart quote",
    0x201D: "a smart quote",
}
_INVISIBLE_HINT = (
    "copy the address again straight from the browser's address bar; chat apps and editors "
    "add invisible characters and smart quotes"
)


def _describe_char(ch: str) -> str:
    cp = ord(ch)
    name = _CHAR_NAMES.get(cp)
    if name is None:
        if cp == 0x20:
            name = "a space"
        elif cp < 0x20 or cp == 0x7F:
            name = "a control character"
        else:
            name = "the character " + unicodedata.name(ch, "without a name").lower()
    return f"{name} (U+{cp:04X})"


def _check_chars(text: str) -> None:
    """B1: after trimming ASCII whitespace, only printable ASCII without spaces may remain."""
    for i, ch in enumerate(text):
        if not "\x21" <= ch <= "\x7e":
            raise PasteError(
                f"the pasted text contains {_describe_char(ch)} at position {i + 1} of {len(text)}",
                hint=_INVISIBLE_HINT,
            )


def _params(query: str) -> list[tuple[str, str]]:
    try:
        # keep_blank_values: an empty ``state=`` must be seen as present-but-empty (B6)
        return parse_qsl(query, keep_blank_values=True, max_num_fields=200)
    except ValueError:
        raise PasteError("the pasted address has too many parameters") from None


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    """B3: each of code, state, error at most once (``dict(parse_qsl)`` would keep the last)."""
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise PasteError(
            f"the pasted address has '{name}' {len(values)} times; refusing it",
            hint="paste exactly the address GitBook redirected to, unedited",
        )
    return values[0] if values else None


def _error_code(value: str) -> str:
    """RFC 6749 error codes are words; anything else is not echoed (it could be pasted data)."""
    return value if _ERROR_CODE.fullmatch(value) else "unrecognised_error"


def _describe_error(params: list[tuple[str, str]], flow: PendingFlow) -> str:
    desc = _single(params, "error_description")
    if not desc:
        return ""
    # a crafted description could quote this login's state or a code: never echo those (E2)
    for value in [flow.state.reveal(), *(v for k, v in params if k == "code" and len(v) > 3)]:
        desc = desc.replace(value, "[hidden]")
    # escaped and truncated: the text comes from a URL anyone could have crafted
    safe = desc.encode("ascii", "backslashreplace").decode("ascii")
    safe = re.sub(r"[^\x20-\x7e]", "?", safe)
    return f": {safe[:120]}{'...' if len(safe) > 120 else ''}"


def _split_url(text: str) -> SplitResult:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise PasteError("the pasted address is not a valid URL (bad host or port)") from None
    return parts


def _refuse_fragment_token(fragment: str) -> None:
    """B5: a token in a fragment is an implicit-grant answer; never accept tokens by paste."""
    if "token" in fragment.lower():
        raise PasteError(
            "the pasted address carries a token in its #fragment (implicit grant); refused",
            hint="this client uses the authorization-code flow only; start a new login",
        )
    keys = {k for k, _ in _params(fragment)}
    if keys & {"code", "state", "error"}:
        raise PasteError(
            "the answer is in the address's #fragment, which this login does not ask for",
            hint="start a new login; the answer must arrive as ?code=...&state=...",
        )


def parse_paste(flow: PendingFlow | None, text: str, *, now: Clock = time.time) -> Secret:
    """The authorization code from a pasted redirect address (or query, or bare code).

    Checks run in the order of CONTRIBUTING.md; the flow is marked used once a paste reaches
    the state check (A4) or carries an ``error`` (B4), so nothing can be tried twice.
    """
    if flow is None:
        raise FlowUsedError("no login in progress")  # B6: fail closed
    if flow.expired(now):
        raise FlowExpiredError("this login link is older than 10 minutes")  # A3
    if flow.cancelled:
        raise FlowUsedError("this login was replaced by a newer one")
    if flow.used:
        raise FlowUsedError("this login was already used")  # A4
    if not isinstance(text, str):
        raise PasteError("paste the address as text")
    if len(text) > MAX_PASTE:
        raise PasteError(f"the pasted text is longer than {MAX_PASTE // 1024} KiB")
    text = text.strip(_ASCII_WS)  # B1: ASCII whitespace only; str.strip() keeps U+200B anyway
    if not text:
        raise PasteError("nothing was pasted")
    _check_chars(text)

    url: SplitResult | None = None
    if _SCHEME.match(text):
        url = _split_url(text)
        params = _params(url.query)
        fragment = url.fragment
    elif "?" in text and not text.startswith("?"):  # an address without its scheme (B2)
        raise PasteError(
            "the pasted address has no scheme",
            hint="copy the whole address, starting with https:// or http://",
        )
    elif text.startswith("?") or "=" in text:
        query, _, fragment = text.lstrip("?").partition("#")
        params = _params(query)
    else:
        return _bare_code(flow, text)

    error = _single(params, "error")  # B3 for error, then B4
    if error is not None:
        flow.used = True  # B4: the flow ends; nothing is sent
        code = _error_code(error)
        who = server_name(flow.endpoints.authorize)
        if code == "access_denied":  # the person clicked Deny (or the server declined)
            err: LoginError = AccessDeniedError(
                f"the sign-in was declined at {who}{_describe_error(params, flow)}"
            )
        else:
            err = LoginError(
                f"{who} did not sign you in (its answer: {code}){_describe_error(params, flow)}"
            )
        err.error = code  # type: ignore[attr-defined]
        raise err
    _refuse_fragment_token(fragment)  # B5
    if any("token" in k.lower() for k, _ in params):
        raise PasteError(
            "the pasted address carries a token parameter; refused",
            hint="this client uses the authorization-code flow only",
        )
    if url is not None:  # B2
        if "@" in url.netloc:
            raise PasteError("the pasted address contains a user name (user@host); refused")
        if not same_endpoint(url, urlsplit(flow.redirect_uri)):
            if same_endpoint(url, urlsplit(flow.endpoints.authorize)):
                raise PasteError(
                    "this is the sign-in link itself, not the answer",
                    hint="open the link, approve, then paste the address you land on",
                )
            raise PasteError(
                "the pasted address is not this login's redirect address "
                f"({flow.redirect_uri}): scheme, host, port or path differ",
                hint="paste the address the browser shows after you approved this login",
            )
    found = _single(params, "code")  # B3
    state = _single(params, "state")
    if found is None:
        raise PasteError(
            "the pasted address has no 'code'",
            hint="approve the login on GitBook first, then copy the address",
        )
    _check_state(flow, state)
    if not _CODE.fullmatch(found):
        raise PasteError("the code in the pasted address is empty or malformed")
    return Secret(found)


def _check_state(flow: PendingFlow, state: str | None) -> None:
    flow.used = True  # A4: the first paste that reaches the state check consumes the flow
    if not state:
        raise StateMismatchError("the pasted address has no 'state'")  # B6
    # B7: bytes, because compare_digest raises TypeError on non-ASCII str
    if not hmac.compare_digest(
        state.encode("utf-8", "replace"), flow.state.reveal().encode("utf-8")
    ):
        raise StateMismatchError("the 'state' in the pasted address is not this login's")


def _bare_code(flow: PendingFlow, text: str) -> Secret:
    """B8: no state to check, so only where the flow allows it and PKCE binds the code."""
    if not flow.allow_bare_code:
        raise PasteError(
            "a bare code cannot be checked against this login",
            hint="paste the whole address from the browser's address bar: it carries the state",
        )
    if not flow.verifier:  # PKCE is always on, but fail closed if a flow was built without it
        raise PasteError("a bare code is accepted only with PKCE")
    if not _BARE_CODE.fullmatch(text):
        raise PasteError("the pasted code is malformed (8 to 512 letters, digits or -._~+/=)")
    flow.used = True
    return Secret(text)
