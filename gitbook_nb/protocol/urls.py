"""URL checks shared by config (D1), oauth (A6, A7) and the client (D3).

Every check parses the URL with :func:`urllib.parse.urlsplit` and looks at the parsed parts;
nothing here is a string-prefix test (``http://localhost:80@evil.example/`` starts with
``http://localhost`` but its host is ``evil.example``). Stdlib only, no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from gitbook_nb.errors import ConfigError

__all__ = [
    "DEFAULT_PORTS",
    "host_key",
    "is_gitbook_host",
    "is_loopback_host",
    "same_endpoint",
    "server_name",
    "validate_base_url",
    "validate_redirect_uri",
]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Printable ASCII without space, backslash or quotes/brackets that browsers treat specially.
# Non-ASCII hosts (IDN) must be given in their xn-- form: a lookalike host cannot sneak in.
_URL_CHARS = re.compile(r"[!#$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+")
_HOST = re.compile(r"[a-z0-9]([a-z0-9\-.]*[a-z0-9])?\.?")  # DNS name or IPv4 (lower-cased)


def is_loopback_host(host: str | None, *, allow_localhost: bool = False) -> bool:
    """True for a loopback IP literal (127.0.0.0/8, ::1), and ``localhost`` when allowed.

    A7 wants an IP literal for a redirect URI (``localhost`` may resolve elsewhere, RFC 8252
    section 8.3); D1 also accepts the name ``localhost`` for an API base URL.
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    if allow_localhost and host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def _split(url: object, what: str) -> SplitResult:
    """Parse ``url`` and refuse what no base URL or redirect URI may contain."""
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{what} must be a non-empty URL string")
    if len(url) > 2048:
        raise ConfigError(f"{what} is longer than 2048 characters")
    if not _URL_CHARS.fullmatch(url):
        raise ConfigError(
            f"{what} contains a space, backslash, control or non-ASCII character",
            hint="write the URL in plain ASCII (an international host in its xn-- form)",
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise ConfigError(f"{what} is not a valid URL (bad host or port)") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{what} must start with https:// (got scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ConfigError(f"{what} has no host")
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            raise ConfigError(f"{what} has an invalid IPv6 host") from None
    elif not _HOST.fullmatch(parts.hostname):
        raise ConfigError(f"{what} has an invalid host name")
    if "@" in parts.netloc:
        raise ConfigError(f"{what} must not contain a user name or password (user@host)")
    if "#" in url:
        raise ConfigError(f"{what} must not contain a fragment (#...)")
    if port == 0:
        raise ConfigError(f"{what} has port 0")
    return parts


def validate_base_url(url: str, *, what: str = "URL") -> str:
    """D1: https only, no userinfo, no fragment; http only for a parsed loopback host.

    ``what`` names the setting in the message ("API URL", "token endpoint"...). Returns the URL
    unchanged so callers keep exactly what the user configured.
    """
    parts = _split(url, what)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname, allow_localhost=True):
        raise ConfigError(
            f"{what} uses http:// for a non-loopback host {parts.hostname}",
            hint="use https://, or http:// only with 127.0.0.1, ::1 or localhost",
        )
    return url


def validate_redirect_uri(url: str) -> str:
    """A7: ``https://...`` or ``http://`` with a loopback IP literal (127.0.0.0/8, ::1) only."""
    what = "redirect URI"
    parts = _split(url, what)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{what} uses http:// with host {parts.hostname}, which is not a loopback IP",
            hint="use https://, or http://127.0.0.1:PORT/... (not 'localhost', RFC 8252 8.3)",
        )
    return url


def _norm_host(host: str) -> str:
    host = host.lower()
    try:
        return ipaddress.ip_address(host.strip("[]")).compressed
    except ValueError:
        return host


@functools.lru_cache(maxsize=256)
def host_key(url: str) -> str:
    """``host[:port]`` of a URL, lower case, default port dropped: the D3 token-store key.

    Cached: it is a pure function of the string and runs several times per API call (token
    lookup, D3 pinning); parsing the URL and the IP literal cost ~10 µs each time, about 5% of
    a loopback call (bench/README.md, figure 1). Errors (a bad port) are not cached.
    """
    parts = urlsplit(url)
    host = _norm_host(parts.hostname or "")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def same_endpoint(a: SplitResult, b: SplitResult) -> bool:
    """Scheme, host, port (default ports normalised) and path equal (B2).

    An empty path equals ``/``; the query and fragment are not compared.
    """
    if a.scheme.lower() != b.scheme.lower():
        return False
    if _norm_host(a.hostname or "") != _norm_host(b.hostname or ""):
        return False
    default = DEFAULT_PORTS.get(a.scheme.lower())
    if (a.port or default) != (b.port or default):
        return False
    return (a.path or "/") == (b.path or "/")


# GitBook's own domains: a message about one of them says "GitBook"; any other host is named.
_GITBOOK_DOMAINS = ("gitbook.com", "gitbook.io")


def is_gitbook_host(url_or_host: str) -> bool:
    """True for ``gitbook.com``, ``gitbook.io`` and their subdomains (parsed, never a suffix
    test on the raw text: ``evilgitbook.com`` and ``gitbook.com.evil.example`` are not GitBook)."""
    text = str(url_or_host).strip()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:
        return False
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in _GITBOOK_DOMAINS)


def server_name(url_or_host: str, *, role: str = "sign-in server") -> str:
    """How a message names the server it talks about: ``GitBook`` for GitBook's own hosts,
    else ``the sign-in server auth.example.org`` (``host[:port]``).

    Why: a user who pointed gitbook_nb at their own OAuth server (or the sandbox) must see
    which server refused, not be told that "GitBook" did. ``role`` names what the server does
    ("sign-in server", "API server"). The host comes from a setting or discovery and has
    passed D1, so it is plain ASCII and safe to print.
    """
    text = str(url_or_host).strip()
    if is_gitbook_host(text):
        return "GitBook"
    try:
        host = host_key(text) if "://" in text else text.lower()
    except ValueError:  # a bad port: name no host rather than fail while reporting a failure
        host = ""
    return f"the {role} {host}" if host else f"the {role}"
