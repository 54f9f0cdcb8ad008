"""The HTTP client: one keep-alive ``requests.Session`` per Client, safe to share between threads.

What it guarantees (SECURITY.md D): the bearer token goes only in the ``Authorization`` header
and only to the host it was issued for (D3); paths are joined safely (D4, in
:mod:`~gitbook_nb.api._transport`); every call has connect/read timeouts, an overall deadline and a
body cap (D6); GET/HEAD are retried on 429/502/503/504 and connection errors with backoff and a
capped ``Retry-After`` (D7); a 401 asks the session once for a fresh token and never loops
(D5); both error shapes map onto the error tree with clean messages (E2, D8).

Why a hand-written retry loop rather than ``urllib3.Retry``: Retry honours ``Retry-After`` up to
six hours by default (PITFALLS), knows nothing of our overall deadline, of the 401-refresh step or
of failing fast with ``RateLimitedError.retry_after``, and retries inside urllib3 where the
response is no longer ours to cap. The loop below is ~60 lines and fully driven by injectable
``sleep``/``clock``/``rng`` so tests run without waiting.

Redirects are never followed by requests (``allow_redirects=False``): requests drops the
Authorization header across hosts but keeps custom headers and resends POST bodies on 307/308
(PITFALLS). We follow same-origin redirects of GET/HEAD ourselves (at most 5) and refuse the rest.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from gitbook_nb.api.answers import RateLimit, Response, error_for, parse_json, parse_rate_limit
from gitbook_nb.api.answers import retry_after_seconds as _retry_after
from gitbook_nb.protocol.config import Settings, default_user_agent, is_sandbox
from gitbook_nb.errors import (
    APIError,
    ConfigError,
    InvalidResponseError,
    RequestTimeoutError,
    UnsafeRequestError,
)
from gitbook_nb.api.pagination import Pages
from gitbook_nb.protocol.tokens import Token
from gitbook_nb.api._transport import (
    Failure,
    check_same_origin,
    escape_snippet,
    join_path,
    send_once,
    token_host_matches,
)
from gitbook_nb.protocol.urls import validate_base_url

if TYPE_CHECKING:
    from gitbook_nb.protocol.oauth import HTTPRequestSpec

__all__ = ["Client", "RateLimit", "Response"]

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD"})  # D7: the only methods ever retried or redirected
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
# Headers only the client writes: a caller cannot smuggle credentials or re-target the request.
_RESERVED_HEADERS = {"authorization", "proxy-authorization", "cookie", "host", "content-length"}
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _no_token() -> Token | None:
    return None


def new_session(pool_size: int = 16) -> requests.Session:
    """A session with no cookie memory (the API needs none) and a pool big enough for G2."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = True  # D2
    return session


class Client:
    """Authenticated calls to one API base URL. See the module docstring for the guarantees.

    ``token_getter`` is asked for the token before every call (so a token rotated by another
    thread is picked up, G2); ``on_unauthorized(token)`` is called at most once per call on a 401
    and returns a fresh token or None (D5).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        token_getter: Callable[[], Token | None] = _no_token,
        on_unauthorized: Callable[[Token], Token | None] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if is_sandbox(settings):
            raise ConfigError(
                "the sandbox profile has no address yet",
                hint="let the session start the sandbox (config.with_sandbox)",
            )
        validate_base_url(settings.api_url, what="API URL")
        if urlsplit(settings.api_url).query:
            raise ConfigError("the API URL must not contain a query string (?...)")
        self.settings = settings
        self._api_url = settings.api_url.rstrip("/")
        self._token_getter = token_getter
        self._on_unauthorized = on_unauthorized
        self._session = session if session is not None else new_session()
        self._owns_session = session is None
        self._sleep, self._clock, self._wall, self._rng = sleep, clock, wall, rng
        self._user_agent = settings.user_agent or default_user_agent()
        self._lock = threading.Lock()  # guards _rate_limit, the only state shared across calls
        self._rate_limit: RateLimit | None = None

    def __repr__(self) -> str:
        return f"<gitbook_nb.Client {urlsplit(self._api_url).netloc} flow={self.settings.flow}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``X-RateLimit-*`` values of the latest answer that carried them."""
        with self._lock:
            return self._rate_limit

    # ------------------------------------------------------------------ URLs
    def build_url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The URL a call to ``path`` would use (D4 checks included); sends nothing (dry run)."""
        url, _ = join_path(self._api_url, path)
        return requests.Request("GET", url, params=dict(params or {})).prepare().url or url

    def _target(self, path_or_url: str, allow_url: bool) -> tuple[str, str]:
        """(URL, relative path for messages). Full URLs only when allowed and same-origin."""
        if allow_url and isinstance(path_or_url, str) and "://" in path_or_url[:10]:
            check_same_origin(path_or_url, self._api_url, what="the link")
            parts = urlsplit(path_or_url)
            base_path = urlsplit(self._api_url).path.rstrip("/")
            rel = parts.path[len(base_path) :] if parts.path.startswith(base_path) else parts.path
            _, rel = join_path(self._api_url, (rel or "/"))  # same D4 character checks
            return path_or_url, rel
        url, rel = join_path(self._api_url, path_or_url)
        return url, rel

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        for name, value in (extra or {}).items():
            if name.lower() in _RESERVED_HEADERS:
                raise UnsafeRequestError(
                    f"the header {escape_snippet(name, 40)} is set by gitbook_nb only"
                )
            if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
                raise UnsafeRequestError(
                    f"the header {escape_snippet(name, 40)} has a value "
                    "with control or non-ASCII characters"
                )
            headers[name] = value
        return headers

    def _bearer_for(self, token: Token | None, url: str, label: str) -> Any:
        if token is None:
            return None
        if not token_host_matches(token.issuer, url):
            raise UnsafeRequestError(
                f"{label}: the token was issued for {escape_snippet(token.issuer or '?', 80)}, "
                f"not {urlsplit(url).netloc}; it is not sent there",
                hint="sign in for this API host (tokens are pinned to their host)",
            )
        return token.access_token

    # --------------------------------------------------------------- calls
    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_url: bool = False,
    ) -> Response:
        """One API call. ``path_or_url`` is a path such as ``/user`` (D4); a full URL is
        accepted only with ``allow_url=True`` (pagination links) and only same-origin (D3)."""
        method = str(method).upper()
        if method not in METHODS:
            raise UnsafeRequestError(
                f"unsupported HTTP method {escape_snippet(method, 20)}",
                hint=f"use one of {', '.join(sorted(METHODS))}",
            )
        url, rel = self._target(path_or_url, allow_url)
        return self._call(
            method, url, rel, params=params, json=json, data=data, headers=self._headers(headers)
        )

    def _call(
        self,
        method: str,
        url: str,
        rel: str,
        *,
        params: Any,
        json: Any,
        data: Any,
        headers: dict[str, str],
    ) -> Response:
        s = self.settings
        label = f"{method} {rel}"
        started = self._clock()
        deadline = started + s.deadline
        token = self._token_getter()
        idempotent = method in IDEMPOTENT
        refreshed = read_timeout_retried = False
        retries = redirects = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RequestTimeoutError(
                    f"{label}: the overall deadline of {s.deadline:g} s passed"
                ) from None
            out = send_once(
                self._session,
                method,
                url,
                label=label,
                headers=headers,
                bearer=self._bearer_for(token, url, label),
                params=params,
                json=json,
                data=data,
                timeout=(min(s.connect_timeout, remaining), min(s.read_timeout, remaining)),
                max_body=s.max_body,
                deadline=deadline,
                clock=self._clock,
            )
            if isinstance(out, Failure):
                if out.kind == "interrupt" or out.error is None:
                    raise KeyboardInterrupt from None
                retry = out.kind == "connect" or (
                    out.kind == "read_timeout" and not read_timeout_retried
                )
                if idempotent and retry and retries < s.max_retries:
                    # A read timeout is retried once only: a slow server stays slow, and the
                    # deadline would otherwise be spent max_retries times over.
                    read_timeout_retried |= out.kind == "read_timeout"
                    if self._pause(self._backoff(retries), deadline, label, "network error"):
                        retries += 1
                        continue
                raise out.error from None
            log.debug("%s -> %s (%d bytes)", label, out.status, len(out.body))
            rate_limit = parse_rate_limit(out.headers)
            if rate_limit is not None:
                with self._lock:
                    self._rate_limit = rate_limit
            status = out.status
            if status in REDIRECTS:
                redirects += 1
                url = self._redirect(
                    method, url, out.headers.get("Location"), status, label, redirects
                )
                params = None  # the Location carries its own query
                continue
            if status == 401 and token is not None and not refreshed and self._on_unauthorized:
                refreshed = True  # D5: ask once, never loop
                new = self._on_unauthorized(token)
                if new is not None and new.access_token != token.access_token:
                    token = new
                    continue
            wait: float | None = None
            if status in RETRY_STATUSES:
                wait = _retry_after(out.headers, wall=self._wall())
                if (
                    idempotent
                    and retries < s.max_retries
                    and (wait is None or wait <= s.retry_after_cap)
                ):
                    pause = self._backoff(retries) if wait is None else wait
                    if self._pause(pause, deadline, label, f"status {status}"):
                        retries += 1
                        continue
            if status >= 400:
                raise self._error(out, method, rel, token, wait) from None
            body, bad = (
                (None, None)
                if method == "HEAD"
                else parse_json(
                    status,
                    out.body,
                    label=label,
                    secret=token.access_token.reveal() if token is not None else None,
                )
            )
            if bad is not None:
                raise bad from None
            return Response(
                method, rel, url, status, out.headers, body, self._clock() - started, rate_limit
            )

    def _error(
        self, out: Any, method: str, rel: str, token: Token | None, wait: float | None
    ) -> APIError:
        err = error_for(
            out.status,
            out.reason,
            out.headers,
            out.body,
            method=method,
            path=rel,
            retry_after=wait,
            secret=token.access_token.reveal() if token is not None else None,
        )
        if out.status == 401:
            err.hint = (
                "no token was sent: log in first (%gitbook login)"
                if token is None
                else "the token was refused and has been cleared; log in again (%gitbook login)"
            )
        return err

    def _backoff(self, retries: int) -> float:
        """Exponential backoff with jitter: half fixed, half random (spreads a thundering herd)."""
        base = min(BACKOFF_MAX, BACKOFF_BASE * 2**retries)
        return base / 2 + self._rng() * base / 2

    def _pause(self, seconds: float, deadline: float, label: str, why: str) -> bool:
        """Sleep before a retry unless that would pass the deadline (then give up)."""
        if self._clock() + seconds > deadline:
            return False
        log.debug("%s: %s, retrying in %.2f s", label, why, seconds)
        self._sleep(seconds)
        return True

    def _redirect(
        self, method: str, url: str, location: str | None, status: int, label: str, count: int
    ) -> str:
        if method not in IDEMPOTENT:
            raise UnsafeRequestError(
                f"{label}: the API answered {status} (a redirect); a {method} is never resent",
                hint="check the API URL",
            )
        if not location:
            raise InvalidResponseError(
                f"{label}: a {status} redirect without a Location", status=status
            )
        if count > MAX_REDIRECTS:
            raise UnsafeRequestError(f"{label}: more than {MAX_REDIRECTS} redirects")
        # Location is the server's text joined onto the URL we asked for, then origin-checked:
        # anything on another scheme, host or port is not followed with the token (D3).
        target = urljoin(url, location.strip())
        check_same_origin(target, url, what=f"{label}: the redirect")
        if re.search(r"[\x00-\x20\x7f\\]", target):
            raise UnsafeRequestError(f"{label}: the redirect address has unsafe characters")
        return target

    # ----------------------------------------------------------- pagination
    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        max_pages: int | None = None,
    ) -> Pages:
        """Lazy iterator over every page of either envelope (legacy ``list/page/limit/total``,
        current ``items/next.page``); ``.truncated`` tells whether ``max_pages`` cut it short."""
        cap = self.settings.max_pages if max_pages is None else max_pages
        query = dict(params or {})
        if self.settings.page_limit and "limit" not in query:
            query["limit"] = self.settings.page_limit
        join_path(self._api_url, path)  # D4 before anything is sent, even lazily
        return Pages(self, path, query, cap)

    # ------------------------------------------------------- OAuth requests
    def send_spec(
        self,
        spec: HTTPRequestSpec,
        *,
        max_body: int | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a token / registration / revocation / discovery request built by ``oauth`` (C3).

        No redirects (a 307 would resend the secret or code elsewhere), never retried, timeouts
        and the token body cap apply; any status is returned for ``oauth`` to judge.
        """
        method = spec.method.upper()
        validate_base_url(spec.url, what="OAuth endpoint")
        parts = urlsplit(spec.url)
        label = f"{method} {parts.netloc}{parts.path or '/'}"
        s = self.settings
        cap = s.token_max_body if max_body is None else max_body
        out = send_once(
            self._session,
            method,
            spec.url,
            label=label,
            headers={"User-Agent": self._user_agent, **spec.headers},
            bearer=None,
            json=spec.json,
            data=spec.form,
            timeout=(s.connect_timeout, s.read_timeout),
            max_body=cap,
            deadline=self._clock() + s.deadline,
            clock=self._clock,
        )
        if isinstance(out, Failure):
            if out.error is None:
                raise KeyboardInterrupt from None
            raise out.error from None
        log.debug("%s -> %s (%d bytes)", label, out.status, len(out.body))
        if 300 <= out.status < 400:
            raise UnsafeRequestError(
                f"{label}: the OAuth server answered with a redirect ({out.status}); "
                "refusing to resend credentials",
                hint="check the OAuth endpoint URLs",
            )
        return out.status, dict(out.headers), out.body
