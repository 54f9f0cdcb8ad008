"""The plain values the OAuth core passes around, and the shared answer decoding.

Split from ``oauth.py`` so that ``paste.py`` and ``discovery.py`` can use them without an
import cycle; ``gitbook_nb.protocol.oauth`` re-exports every public name.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = ["Endpoints", "HTTPRequestSpec", "PendingFlow", "clean_code", "decode_body"]

DEFAULT_LIFETIME = 600.0  # A3: ten minutes, as GitBook's own authorization session

# Form fields the repr of a request never shows (E1).
_SECRET_FIELDS = frozenset(
    {"client_secret", "code", "code_verifier", "refresh_token", "token", "access_token"}
)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

Clock = Callable[[], float]


@dataclass
class Endpoints:
    """Where the authorization server lives (legacy: fixed paths; current: RFC 8414), and how
    it wants clients to authenticate.

    ``token_auth_methods`` and ``revocation_auth_methods`` are what the server published
    (RFC 8414 ``token_endpoint_auth_methods_supported`` and
    ``revocation_endpoint_auth_methods_supported``), or None when it published nothing.
    ``discovered`` is True for endpoints read from a discovery document, where an omitted list
    means ``client_secret_basic`` (RFC 8414 section 2); without any document (legacy GitBook,
    the 404 fallback) nothing is known and :func:`choose_auth_method` falls back to the body.
    """

    authorize: str
    token: str
    registration: str | None = None
    revocation: str | None = None
    issuer: str | None = None
    token_auth_methods: tuple[str, ...] | None = None
    revocation_auth_methods: tuple[str, ...] | None = None
    discovered: bool = False


@dataclass(eq=False)
class PendingFlow:
    """One login between "open this link" and "paste the answer" (A2), kept in kernel memory.

    ``authorize_url`` carries the state, so it is left out of the repr like the secrets.
    """

    flow: str
    authorize_url: str = field(repr=False)
    state: Secret
    verifier: Secret
    redirect_uri: str
    client_id: str
    endpoints: Endpoints
    scopes: tuple[str, ...]
    created_at: float
    lifetime: float = DEFAULT_LIFETIME
    used: bool = False
    cancelled: bool = False
    allow_bare_code: bool = False

    def cancel(self) -> None:
        """A newer login replaces this one (A2): any later paste for it fails locally."""
        self.cancelled = True

    def expired(self, now: Clock | float = time.time) -> bool:
        t = now() if callable(now) else now
        return not (self.created_at <= t < self.created_at + self.lifetime)

    def active(self, now: Clock | float = time.time) -> bool:
        return not (self.used or self.cancelled or self.expired(now))

    def __reduce__(self) -> Any:  # holds the verifier: never pickled (E1)
        raise TypeError("a PendingFlow cannot be pickled: it holds the login's secrets")


@dataclass(frozen=True)
class HTTPRequestSpec:
    """A request as a plain value; ``client.send_spec`` sends it (C1: secrets only in the body).

    Form values are plain ``str`` because they are written into the body as they are; the repr
    masks the secret ones and the object refuses pickling.
    """

    method: str
    url: str
    headers: dict[str, str]
    form: dict[str, str] | None = None
    json: dict[str, Any] | None = None

    def __repr__(self) -> str:
        headers = {
            k: (MASK if k.lower() in _SECRET_HEADERS else v) for k, v in self.headers.items()
        }
        form = None
        if self.form is not None:
            form = {k: (MASK if k in _SECRET_FIELDS else v) for k, v in self.form.items()}
        return (
            f"HTTPRequestSpec(method={self.method!r}, url={self.url!r}, headers={headers!r}, "
            f"form={form!r}, json={self.json!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an HTTPRequestSpec cannot be pickled: it may hold a secret")


# ---------------------------------------------------------------- answers


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


_CODE_WORD = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def clean_code(value: object) -> str:
    """An error code from a server, safe to print: a short word, or ``unrecognised_error``.

    Servers sometimes put a sentence in ``error`` (GitBook's legacy API does); that text is
    not echoed (E2), the status and the hint carry the meaning instead.
    """
    text = str(value)
    return text if _CODE_WORD.fullmatch(text) else "unrecognised_error"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {clean_code(key)}")
        out[key] = value
    return out


def decode_body(headers: Mapping[str, str], body: bytes, *, limit: int) -> dict[str, Any] | None:
    """JSON object or form fields by Content-Type, sniffing ``{`` otherwise (C2, C5).

    Returns None when the body is neither; raises ValueError (no body text in it) when the body
    is over ``limit``, not an object, not UTF-8 or has a duplicate key.
    """
    if len(body) > limit:
        raise ValueError(f"answer larger than {limit // 1024} KiB")
    ctype = _header(headers, "content-type").split(";")[0].strip().lower()
    stripped = body.lstrip()
    is_json = ctype == "application/json" or ctype.endswith("+json")
    is_form = ctype == "application/x-www-form-urlencoded"
    if not (is_json or is_form):  # sniff: servers mislabel both ways
        is_json = stripped.startswith(b"{") or stripped.startswith(b"[")
        is_form = not is_json and b"=" in stripped and b"<" not in stripped
    if not (is_json or is_form):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("answer is not UTF-8") from None
    if is_json:
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except RecursionError:
            raise ValueError("answer is nested too deeply") from None
        except json.JSONDecodeError:
            if ctype and not ctype.endswith("json"):
                return None
            raise ValueError("answer is not valid JSON") from None
        if not isinstance(data, dict):
            raise ValueError("answer is JSON but not an object")
        return data
    return _no_duplicates(parse_qsl(text.strip(), keep_blank_values=True))
