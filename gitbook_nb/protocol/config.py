"""Settings, named profiles, the environment, and their one precedence order.

Declared once (STYLE.md 9): every setting, its default, its environment variable and its type
live in this module, and :func:`resolve` is the only place the layers are merged::

    explicit argument > configure() / %config > environment > profile > built-in default

No requests, IPython or widget import here (the layering test checks it). Secrets are wrapped
in :class:`~gitbook_nb.protocol.tokens.Secret` the moment they enter (E1, E5), and there is
deliberately no setting that turns TLS verification off (D2).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gitbook_nb.errors import ConfigError
from gitbook_nb.protocol._setting_values import (
    SANDBOX_MARKER,
    URL_FIELDS,
    coerce,
)
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import validate_base_url

__all__ = [
    "DEFAULT_PROFILE",
    "ENV_VARS",
    "PROFILES",
    "SANDBOX_MARKER",
    "Settings",
    "default_user_agent",
    "is_sandbox",
    "legacy_oauth_urls",
    "normalize",
    "resolve",
    "seal_secrets",
    "token_from_env",
    "with_sandbox",
]

DEFAULT_PROFILE = "current"
PROJECT_URL = "https://pypi.org/project/gitbook_nb/"

KIB = 1024
MIB = 1024 * KIB


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
    # Legacy endpoints; None follows the API URL ({api_url}/oauth/authorize, .../access_token).
    # The current flow discovers its endpoints from oauth_url.
    authorize_url: str | None = None
    token_url: str | None = None
    client_id: str | None = None  # current flow: None -> dynamic registration
    client_secret: Secret | None = None
    token_auth_method: str | None = None  # none|client_secret_post|client_secret_basic; None: auto
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
    export_concurrency: int = 4  # pages an export fetches at once (%gitbook export)
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
    # authorize_url and token_url None: they follow the API URL (legacy_oauth_urls), so a
    # GITBOOK_API_URL pointed at another server takes the code and secret there too.
    "legacy": {
        "flow": "legacy",
        "api_url": "https://api.gitbook.com",
        "oauth_url": None,
        "authorize_url": None,
        "token_url": None,
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
    "authorize_url": "GITBOOK_AUTHORIZE_URL",
    "token_url": "GITBOOK_TOKEN_URL",
    "token_auth_method": "GITBOOK_TOKEN_AUTH_METHOD",
    "scopes": "GITBOOK_SCOPES",
    "token_store": "GITBOOK_TOKEN_STORE",
}
TOKEN_ENV = "GITBOOK_TOKEN"

_FIELD_NAMES = tuple(f.name for f in fields(Settings))
# Names people reach for that we refuse with a specific reason instead of "unknown setting".
_TLS_NAMES = {"verify", "verify_ssl", "ssl_verify", "insecure", "tls_verify", "no_verify"}
_TOKEN_NAMES = {"token", "access_token", "refresh_token", "personal_token", "api_token"}
_SECRET_SETTINGS = frozenset({"client_secret"} | _TOKEN_NAMES)


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


def _key(name: object) -> str:
    return str(name).strip().lower().replace("-", "_")


def seal_secrets(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``changes`` whose secret values are :class:`Secret` (E1, E5).

    ``client_secret``, and a token offered as a setting by mistake (refused later), are wrapped;
    nothing else is checked, and this never raises. That is why it comes first: a caller that
    rebinds its own name to the copy (``settings = config.seal_secrets(settings)``) before
    anything that can fail leaves no plain secret in a frame of a later traceback
    (``%xmode Verbose`` prints each frame's variables).
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if _key(name) in _SECRET_SETTINGS and isinstance(value, str):
            value = Secret(value.strip())
        out[name] = value
    return out


def normalize(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check and coerce a set of changes (what ``configure()`` / ``%config`` receive).

    Unknown names are refused with the list of valid ones; a token is refused with a pointer
    to getpass / GITBOOK_TOKEN (E5); nothing can turn TLS verification off (D2). The result
    holds ``client_secret`` only as a :class:`Secret`, so it is what a caller should keep; and
    ``normalize(normalize(x)) == normalize(x)``.
    """
    changes = seal_secrets(changes)  # first: no frame below holds a plain secret (E2)
    out: dict[str, Any] = {}
    for name, value in changes.items():
        key = _key(name)
        if key in _TOKEN_NAMES:
            raise ConfigError(
                "a token is not a setting and must never be typed into a notebook",
                hint="use %gitbook login --token (a getpass prompt) or set GITBOOK_TOKEN "
                "in the environment",
            )
        if key in _TLS_NAMES:
            raise ConfigError(
                "TLS verification cannot be turned off",
                hint="for a private CA, point REQUESTS_CA_BUNDLE at its certificate file",
            )
        if key not in _FIELD_NAMES:
            raise ConfigError(
                f"unknown setting {str(name)[:40]!r}",
                hint=f"valid settings: {', '.join(sorted(_FIELD_NAMES))}",
            )
        out[key] = coerce(key, value, profiles=PROFILES)
    return out


def _environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Our variables only, secrets sealed; never raises (the caller then drops ``environ``)."""
    return seal_secrets(
        {name: environ[var] for name, var in ENV_VARS.items() if environ.get(var, "").strip()}
    )


def _from_environ(values: dict[str, Any]) -> dict[str, Any]:
    try:
        return normalize(values)
    except ConfigError as err:
        # Name the variable, not only the setting; never echo a secret's value.
        raise ConfigError(f"environment: {err.message}", hint=err.hint) from None


_LEGACY_PATHS = (("authorize_url", "/oauth/authorize"), ("token_url", "/oauth/access_token"))


def legacy_oauth_urls(api_url: str) -> dict[str, str]:
    """The legacy OAuth endpoints that go with a legacy API URL (GitBook's legacy docs):
    ``{api_url}/oauth/authorize`` and ``{api_url}/oauth/access_token``, query dropped.

    Why they follow the API: with ``GITBOOK_API_URL`` pointed at another server, a fixed
    api.gitbook.com authorize link would send the user (and the token request the code and
    secret) to a server the user did not choose. Empty for the sandbox marker.
    """
    if api_url == SANDBOX_MARKER:
        return {}
    parts = urlsplit(api_url)
    base = parts.path.rstrip("/")
    return {
        name: urlunsplit((parts.scheme, parts.netloc, base + path, "", ""))
        for name, path in _LEGACY_PATHS
    }


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
    own ``api_url`` (the same layer, which wins over the profile). Under the legacy flow an
    ``authorize_url`` or ``token_url`` left unset at every layer follows the API URL
    (:func:`legacy_oauth_urls`); one set at any layer is kept.
    """
    # E2: keep only sealed copies in this frame; os.environ holds GITBOOK_TOKEN and a frame that
    # raises must not reference it (%xmode Verbose prints it whole).
    env_values = _environment_values(os.environ if environ is None else environ)
    del environ
    configured = seal_secrets(configured or {})
    overrides = seal_secrets(overrides or {})
    layers = [_from_environ(env_values), normalize(configured), normalize(overrides)]
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
    if merged.get("flow") == "legacy":
        for name, url in legacy_oauth_urls(merged["api_url"]).items():
            if merged.get(name) is None:
                merged[name] = url
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
        urls = {"api_url": base, "oauth_url": base, **legacy_oauth_urls(base)}
    else:
        urls = {"api_url": f"{base}/v1", "oauth_url": base}
    changes: dict[str, Any] = {
        k: v for k, v in urls.items() if getattr(settings, k) in (SANDBOX_MARKER, None)
    }
    extra = {"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri}
    changes.update(normalize({k: v for k, v in extra.items() if v is not None}))
    return replace(settings, **changes)
