"""Settings, named profiles, the environment, and their one precedence order.

Declared once (STYLE.md 9): every setting, its default, its environment variable and its type
live in this module, and :func:`resolve` is the only place the layers are merged::

    explicit argument > configure() / %config > environment > profile > built-in default

No requests, IPython or widget import here (the layering test checks it). Secrets are wrapped
in :class:`~gitbook_nb.protocol.tokens.Secret` the moment they enter (E1, E5), and there is deliberately
no setting that turns TLS verification off (D2).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from gitbook_nb.errors import ConfigError
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import validate_base_url, validate_redirect_uri

__all__ = [
    "DEFAULT_PROFILE",
    "ENV_VARS",
    "PROFILES",
    "SANDBOX_MARKER",
    "Settings",
    "default_user_agent",
    "is_sandbox",
    "normalize",
    "resolve",
    "token_from_env",
    "with_sandbox",
]

#: A profile whose URLs are this marker talks to the embedded sandbox; the session starts one
#: (lazily) and fills the real URLs in with :func:`with_sandbox`.
SANDBOX_MARKER = "sandbox:"
DEFAULT_PROFILE = "current"
PROJECT_URL = "https://pypi.org/project/gitbook_nb/"

KIB = 1024
MIB = 1024 * KIB

FLOWS = ("legacy", "current")
TOKEN_STORES = ("memory", "file", "keyring")
URL_FIELDS = ("api_url", "oauth_url", "authorize_url", "token_url")


@dataclass(frozen=True)
class Settings:
    """Everything the client and the session need to know, resolved and validated.

    Frozen: a change is a new value (``dataclasses.replace``), so a Client built from one
    Settings never sees a half-applied ``configure()`` from another thread. The repr is safe to
    show: ``client_secret`` is a :class:`Secret`.
    """

    profile: str = DEFAULT_PROFILE
    flow: str = "current"
    api_url: str = "https://api.gitbook.com/v1"
    oauth_url: str | None = "https://oauth.gitbook.com"  # issuer (current flow, discovery)
    authorize_url: str | None = None  # legacy endpoints; the current flow discovers them
    token_url: str | None = None
    client_id: str | None = None  # current flow: None -> dynamic registration
    client_secret: Secret | None = None
    redirect_uri: str | None = None
    scopes: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 120.0  # overall seconds per call, retries and slow bodies included (D6)
    max_body: int = 10 * MIB
    token_max_body: int = 64 * KIB  # C5
    max_retries: int = 3  # D7
    retry_after_cap: float = 60.0  # D7: a longer Retry-After fails fast
    page_limit: int | None = None  # None: the server's default page size
    max_pages: int = 50
    token_store: str = "memory"  # F1: memory unless the user opts in
    token_file: str | None = None
    user_agent: str = ""  # "" -> default_user_agent() (GitBook requires a User-Agent)

    @property
    def is_sandbox(self) -> bool:
        return is_sandbox(self)


CURRENT_SCOPES = ("user:read", "organization:read", "space:read")

PROFILES: dict[str, dict[str, Any]] = {
    "current": {
        "flow": "current",
        "api_url": "https://api.gitbook.com/v1",
        "oauth_url": "https://oauth.gitbook.com",
        "authorize_url": None,
        "token_url": None,
        "scopes": CURRENT_SCOPES,
    },
    "legacy": {
        "flow": "legacy",
        "api_url": "https://api.gitbook.com",
        "oauth_url": None,
        "authorize_url": "https://api.gitbook.com/oauth/authorize",
        "token_url": "https://api.gitbook.com/oauth/access_token",
        "scopes": (),
    },
    # The sandbox profiles also clear the client settings: a GITBOOK_CLIENT_ID or redirect URI
    # meant for a real GitBook app must not leak into the embedded sandbox's login.
    "sandbox": {
        "flow": "current",
        "api_url": SANDBOX_MARKER,
        "oauth_url": SANDBOX_MARKER,
        "authorize_url": None,
        "token_url": None,
        "scopes": CURRENT_SCOPES,
        "client_id": None,
        "client_secret": None,
        "redirect_uri": None,
    },
    "sandbox-legacy": {
        "flow": "legacy",
        "api_url": SANDBOX_MARKER,
        "oauth_url": None,
        "authorize_url": SANDBOX_MARKER,
        "token_url": SANDBOX_MARKER,
        "scopes": (),
        "client_id": None,
        "client_secret": None,
        "redirect_uri": None,
    },
}

#: setting -> environment variable. GITBOOK_TOKEN is not a setting: see token_from_env().
ENV_VARS: dict[str, str] = {
    "profile": "GITBOOK_PROFILE",
    "client_id": "GITBOOK_CLIENT_ID",
    "client_secret": "GITBOOK_CLIENT_SECRET",
    "redirect_uri": "GITBOOK_REDIRECT_URI",
    "api_url": "GITBOOK_API_URL",
    "oauth_url": "GITBOOK_OAUTH_URL",
    "scopes": "GITBOOK_SCOPES",
    "token_store": "GITBOOK_TOKEN_STORE",
}
TOKEN_ENV = "GITBOOK_TOKEN"

_FIELD_NAMES = tuple(f.name for f in fields(Settings))
_FLOATS = {"connect_timeout", "read_timeout", "deadline", "retry_after_cap"}
_INTS = {"max_body", "token_max_body", "max_retries", "page_limit", "max_pages"}
# Names people reach for that we refuse with a specific reason instead of "unknown setting".
_TLS_NAMES = {"verify", "verify_ssl", "ssl_verify", "insecure", "tls_verify", "no_verify"}
_TOKEN_NAMES = {"token", "access_token", "refresh_token", "personal_token", "api_token"}


@functools.lru_cache(maxsize=1)
def default_user_agent() -> str:
    """``gitbook_nb/<v> (+url; python-requests/<v>; Python/<v>)``; GitBook requires one.

    The requests version is read from package metadata so this module never imports requests.
    """
    import platform  # here, not at the top: ~1 ms of every import for one string (bench fig. 2)
    from importlib.metadata import PackageNotFoundError, version

    from gitbook_nb import __version__

    try:
        req = version("requests")
    except PackageNotFoundError:  # pragma: no cover - requests is a hard dependency
        req = "unknown"
    return (
        f"gitbook_nb/{__version__} (+{PROJECT_URL}; python-requests/{req}; "
        f"Python/{platform.python_version()})"
    )


def token_from_env(environ: Mapping[str, str] | None = None) -> Secret | None:
    """``GITBOOK_TOKEN`` wrapped at once (E5), or None when unset or blank."""
    env = os.environ if environ is None else environ
    value = env.get(TOKEN_ENV, "").strip()
    return Secret(value) if value else None


def is_sandbox(settings: Settings) -> bool:
    """True while the settings still carry the sandbox marker (no sandbox URL filled in)."""
    return any(getattr(settings, name) == SANDBOX_MARKER for name in URL_FIELDS)


def _parse_scopes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = re.split(r"[\s,]+", value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = [str(v) for v in value]
    else:
        raise ConfigError("scopes must be a string (space or comma separated) or a list")
    out = tuple(dict.fromkeys(s.strip() for s in items if s and s.strip()))
    for scope in out:
        if not re.fullmatch(r"[A-Za-z0-9:._\-]+", scope):
            raise ConfigError(f"scope {scope[:40]!r} has characters a scope cannot contain")
    return out


def _number(name: str, value: Any) -> float | int | None:
    kind = float if name in _FLOATS else int
    if value is None and name == "page_limit":
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    try:
        number = kind(value.strip()) if isinstance(value, str) else kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a {kind.__name__}, got {str(value)[:40]!r}") from None
    if kind is int and isinstance(value, float) and value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if name == "max_retries":
        if not 0 <= number <= 10:
            raise ConfigError("max_retries must be between 0 and 10")
    elif name == "retry_after_cap":
        if not 0 <= number <= 3600:
            raise ConfigError("retry_after_cap must be between 0 and 3600 seconds")
    elif name == "page_limit":
        if not 1 <= number <= 1000:
            raise ConfigError("page_limit must be between 1 and 1000 (GitBook's maximum)")
    elif not number > 0 or number != number or number == float("inf"):
        raise ConfigError(f"{name} must be a positive finite number")
    return number


def _optional_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    value = value.strip()
    return value or None


def _coerce(name: str, value: Any) -> Any:
    """Type-check and coerce one setting (strings from the environment or %config included)."""
    if name in _FLOATS or name in _INTS:
        return _number(name, value)
    if name == "scopes":
        return _parse_scopes(value)
    if name == "client_secret":
        # E5: a plain str is accepted (from getpass or os.environ by the caller) but wrapped
        # here, at once; it must never be a literal in a shared notebook.
        if value is None or isinstance(value, Secret):
            return value if value else None
        if isinstance(value, str):
            return Secret(value.strip()) if value.strip() else None
        raise ConfigError("client_secret must be a string or a Secret")
    if name == "flow":
        value = _optional_str(name, value)
        if value not in FLOWS:
            raise ConfigError(f"flow must be one of {', '.join(FLOWS)}")
        return value
    if name == "token_store":
        value = _optional_str(name, value)
        if value not in TOKEN_STORES:
            raise ConfigError(f"token_store must be one of {', '.join(TOKEN_STORES)}")
        return value
    if name == "profile":
        value = _optional_str(name, value)
        if value not in PROFILES:
            raise ConfigError(
                f"unknown profile {str(value)[:40]!r}; profiles: {', '.join(PROFILES)}"
            )
        return value
    if name in URL_FIELDS:
        value = _optional_str(name, value)
        if value is None or value == SANDBOX_MARKER:
            if value is None and name == "api_url":
                raise ConfigError("api_url cannot be empty")
            return value
        return validate_base_url(value.rstrip("/") or value, what=name.replace("_", " "))
    if name == "redirect_uri":
        value = _optional_str(name, value)
        return None if value is None else validate_redirect_uri(value)
    if name == "user_agent":
        value = _optional_str(name, value) or ""
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or not value.isascii():
            raise ConfigError("user_agent must be printable ASCII")
        return value
    return _optional_str(name, value)  # client_id, token_file


def normalize(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check and coerce a set of changes (what ``configure()`` / ``%config`` receive).

    Unknown names are refused with the list of valid ones; a token is refused with a pointer
    to getpass / GITBOOK_TOKEN (E5); nothing can turn TLS verification off (D2).
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        key = str(name).strip().lower().replace("-", "_")
        if key in _TOKEN_NAMES:
            raise ConfigError(
                "a token is not a setting and must never be typed into a notebook",
                hint="use %gitbook login --token (a getpass prompt) or set GITBOOK_TOKEN "
                "in the environment",
            )
        if key in _TLS_NAMES:
            raise ConfigError(
                "TLS verification cannot be turned off (security rule D2)",
                hint="for a private CA, point REQUESTS_CA_BUNDLE at its certificate file",
            )
        if key not in _FIELD_NAMES:
            raise ConfigError(
                f"unknown setting {str(name)[:40]!r}",
                hint=f"valid settings: {', '.join(sorted(_FIELD_NAMES))}",
            )
        out[key] = _coerce(key, value)
    return out


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    raw = {name: environ[var] for name, var in ENV_VARS.items() if environ.get(var, "").strip()}
    try:
        return normalize(raw)
    except ConfigError as err:
        # Name the variable, not only the setting; never echo a secret's value.
        raise ConfigError(f"environment: {err.message}", hint=err.hint) from None


def resolve(
    *,
    overrides: Mapping[str, Any] | None = None,
    configured: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the layers into one validated :class:`Settings`.

    ``overrides`` are explicit arguments of this call, ``configured`` what ``configure()`` or
    ``%config`` stored, ``environ`` the process environment (``os.environ`` by default).
    The profile is chosen with the same precedence, and its values enter at the layer that
    chose it: ``configure(profile="sandbox")`` replaces a ``GITBOOK_API_URL`` from the
    environment (a lower layer), while ``configure(profile="legacy", api_url=...)`` keeps its
    own ``api_url`` (the same layer, which wins over the profile).
    """
    env = os.environ if environ is None else environ
    layers = [_from_environ(env), normalize(configured or {}), normalize(overrides or {})]
    profile, chosen_at = DEFAULT_PROFILE, -1
    for i, layer in enumerate(layers):
        if "profile" in layer:
            profile, chosen_at = layer["profile"], i
    merged: dict[str, Any] = {"profile": profile}
    if chosen_at < 0:
        merged.update(PROFILES[profile])
    for i, layer in enumerate(layers):
        if i == chosen_at:
            merged.update(PROFILES[profile])
        merged.update({k: v for k, v in layer.items() if k != "profile"})
    if not merged.get("user_agent"):
        merged["user_agent"] = default_user_agent()
    settings = Settings(**merged)
    if settings.connect_timeout > settings.deadline or settings.read_timeout > settings.deadline:
        raise ConfigError("connect_timeout and read_timeout must not exceed the deadline")
    return settings


def with_sandbox(
    settings: Settings,
    url: str,
    client_id: str | None = None,
    client_secret: Secret | str | None = None,
    redirect_uri: str | None = None,
) -> Settings:
    """Fill the sandbox marker with a started sandbox's URLs (called by the session only).

    Current flow: API at ``url/v1``, issuer ``url`` (discovery finds the endpoints). Legacy flow:
    API and OAuth endpoints at the root. Explicit client values replace the settings' ones,
    since the sandbox only knows its own (random) client.
    """
    base = validate_base_url(url.rstrip("/"), what="sandbox URL")
    if settings.flow == "legacy":
        urls = {
            "api_url": base,
            "oauth_url": base,
            "authorize_url": f"{base}/oauth/authorize",
            "token_url": f"{base}/oauth/access_token",
        }
    else:
        urls = {"api_url": f"{base}/v1", "oauth_url": base}
    changes: dict[str, Any] = {
        k: v for k, v in urls.items() if getattr(settings, k) in (SANDBOX_MARKER, None)
    }
    extra = {"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri}
    changes.update(normalize({k: v for k, v in extra.items() if v is not None}))
    return replace(settings, **changes)
