"""The HTTP client: one keep-alive ``requests.Session`` per Client, safe to share between threads.

What it guarantees (SECURITY.md D): the bearer token goes only in the ``Authorization`` header
and only to the host it was issued for (D3); paths are joined safely (D4, ``_paths``); every
call has connect/read timeouts, an overall deadline and a body cap (D6); GET/HEAD are retried
on 429/502/503/504 and connection errors with backoff and a capped ``Retry-After`` (D7); the
token comes from an auth flow (:mod:`gitbook_nb.api.auth`), which alone decides what a 401
means: one retry with a renewed token, never a loop (D5); both error shapes map onto the error
tree with clean messages, every live secret masked (E2, D8). ``stream`` goes through the very
same loop (auth flow, retries, redirects, errors) and hands back the body unread once the
status is known (:class:`~gitbook_nb.api.stream.Stream`).

Why a hand-written retry loop rather than ``urllib3.Retry``: Retry honours ``Retry-After`` up to
six hours by default (PITFALLS), knows nothing of our overall deadline, of the 401-refresh step or
of failing fast with ``RateLimitedError.retry_after``, and retries inside urllib3 where the
response is no longer ours to cap. The loop below is driven by injectable ``sleep``/``clock``/
``rng`` and an injectable transport (``api.mock.MockTransport``), so tests run without waiting.

Redirects are never followed by requests (``allow_redirects=False``): requests drops the
Authorization header across hosts but keeps custom headers and resends POST bodies on 307/308
(PITFALLS). We follow same-origin redirects of GET/HEAD ourselves (at most 5) and refuse the rest.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from gitbook_nb.api._checks import bearer_for, checked_headers, checked_method
from gitbook_nb.api._oauth_send import send_spec
from gitbook_nb.api._paths import check_same_origin, join_path, redirect_target
from gitbook_nb.api._transport import Failure, RequestsTransport, Transport, new_session
from gitbook_nb.api.answers import RateLimit, Response, error_for, parse_json, parse_rate_limit
from gitbook_nb.api.answers import retry_after_seconds as _retry_after
from gitbook_nb.api.auth import Auth, AuthRequest
from gitbook_nb.api.pagination import Pages
from gitbook_nb.api.stream import Stream, error_answer
from gitbook_nb.errors import APIError, ConfigError, RequestTimeoutError, UnsafeRequestError
from gitbook_nb.protocol.config import Settings, default_user_agent, is_sandbox
from gitbook_nb.protocol.tokens import Secret, Token
from gitbook_nb.protocol.urls import validate_base_url

if TYPE_CHECKING:
    from gitbook_nb.protocol.oauth import HTTPRequestSpec

__all__ = ["Client", "RateLimit", "Response", "Stream", "new_session"]

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD"})  # D7: the only methods ever retried or redirected
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0


_NO_AUTH = Auth()


class Client:
    """Authenticated calls to one API base URL. See the module docstring for the guarantees.

    ``auth`` runs one flow per call (:class:`~gitbook_nb.api.auth.GrantAuth` for a kernel's
    sign-in, :class:`~gitbook_nb.api.auth.BearerAuth` for one fixed token); a call may pass its
    own. ``transport`` sends one request (a :class:`~gitbook_nb.api.mock.MockTransport` in
    tests); by default a keep-alive ``requests.Session`` (``session``, if given).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        auth: Auth | None = None,
        transport: Transport | None = None,
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
        self.auth = auth if auth is not None else _NO_AUTH
        self._transport: Transport = (
            transport if transport is not None else RequestsTransport(session)
        )
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
        self._transport.close()

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
        auth: Auth | None = None,
    ) -> Response:
        """One API call. ``path_or_url`` is a path such as ``/user`` (D4); a full URL is
        accepted only with ``allow_url=True`` (pagination links) and only same-origin (D3).
        ``auth`` replaces the client's auth flow for this call only."""
        method = checked_method(method)
        url, rel = self._target(path_or_url, allow_url)
        return self._call(  # type: ignore[return-value]  # not streamed: a Response
            method,
            url,
            rel,
            params=params,
            json=json,
            data=data,
            headers=checked_headers(headers, self._user_agent),
            auth=auth if auth is not None else self.auth,
        )

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
    ) -> Stream:
        """One call whose body is read as it arrives (server-sent events): everything up to the
        status is ``request``'s (auth flow, D7 retries, same-origin redirects, errors). Returns
        once the status is good; ``with client.stream(...) as s: for line in s: ...``."""
        method = checked_method(method)
        url, rel = self._target(path, False)
        return self._call(method, url, rel, params=params, json=None, data=None,  # type: ignore[return-value]
                          headers=checked_headers(headers, self._user_agent),
                          auth=auth if auth is not None else self.auth, streamed=True)  # fmt: skip

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
        auth: Auth,
        streamed: bool = False,
    ) -> Response | Stream:
        s = self.settings
        label = f"{method} {rel}"
        started = self._clock()
        deadline = started + s.deadline
        flow = auth.auth_flow(AuthRequest(method, url))
        request = next(flow)  # the token to send (a refresh ahead of expiry happens here)
        idempotent = method in IDEMPOTENT
        read_timeout_retried = False
        retries = redirects = resent = 0
        # A stream's answer is a RawStream: every answer not handed back is closed before the
        # loop moves on (a redirect, a 401 resent, a retry), as nothing of its body is wanted.
        send: Callable[..., Any] = self._transport.open if streamed else self._transport.send
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RequestTimeoutError(
                    f"{label}: the overall deadline of {s.deadline:g} s passed"
                ) from None
            out = send(
                method,
                url,
                label=label,
                headers=headers,
                bearer=bearer_for(request.token, url, label),
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
            log.debug("%s -> %s (%s bytes)", label, out.status, "?" if streamed else len(out.body))
            rate_limit = parse_rate_limit(out.headers)
            if rate_limit is not None:
                with self._lock:
                    self._rate_limit = rate_limit
            status = out.status
            if status in REDIRECTS:
                redirects += 1
                if streamed:
                    out.close()
                url = self._redirect(
                    method, url, out.headers.get("Location"), status, label, redirects, request
                )
                params = None  # the Location carries its own query
                continue
            if status == 401 and resent == 0:
                # The flow decides (D5): a renewed token to resend once, or the end.
                try:
                    request = flow.send(status)
                except StopIteration:
                    pass
                else:
                    resent += 1
                    if streamed:
                        out.close()
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
                        if streamed:
                            out.close()
                        continue
            if status == 401 and resent:
                try:  # the resent request was refused too: the flow forgets that token
                    flow.send(status)
                except StopIteration:
                    pass
            elif status != 401:
                flow.close()
            if status >= 400:
                if streamed:
                    out = error_answer(out, deadline=deadline, clock=self._clock)
                raise self._error(out, method, rel, request, wait) from None
            if streamed:
                return Stream(out, method=method, path=rel, url=url, rate_limit=rate_limit,
                              max_body=s.max_body, deadline=deadline,
                              clock=self._clock)  # fmt: skip
            body, bad = (
                (None, None)
                if method == "HEAD"
                else parse_json(status, out.body, label=label, live=self._live(request.token))
            )
            if bad is not None:
                raise bad from None
            return Response(
                method, rel, url, status, out.headers, body, self._clock() - started, rate_limit
            )

    def _live(self, token: Token | None) -> tuple[Secret | None, ...]:
        """The secrets a server could echo back: masked in anything it says (E2)."""
        if token is None:
            return (self.settings.client_secret,)
        return (token.access_token, token.refresh_token, self.settings.client_secret)

    def _error(
        self, out: Any, method: str, rel: str, request: AuthRequest, wait: float | None
    ) -> APIError:
        err = error_for(
            out.status,
            out.reason,
            out.headers,
            out.body,
            method=method,
            path=rel,
            retry_after=wait,
            live=self._live(request.token),
        )
        if out.status == 401 and request.note:
            err.hint = request.note  # what happened to the token, in the flow's words
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
        self, method: str, url: str, location: str | None, status: int, label: str, count: int,
        request: AuthRequest,
    ) -> str:  # fmt: skip
        if method not in IDEMPOTENT:
            raise UnsafeRequestError(
                f"{label}: the API answered {status} (a redirect); a {method} is never resent",
                hint="check the API URL",
            )
        if count > MAX_REDIRECTS:
            raise UnsafeRequestError(f"{label}: more than {MAX_REDIRECTS} redirects")
        return redirect_target(url, location, status, label, self._live(request.token))

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
        self, spec: HTTPRequestSpec, *, max_body: int | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a token / registration / revocation / discovery request built by ``oauth``
        (C3: no redirects, never retried); see :func:`gitbook_nb.api._oauth_send.send_spec`."""
        return send_spec(
            self._transport,
            spec,
            settings=self.settings,
            user_agent=self._user_agent,
            clock=self._clock,
            max_body=max_body,
        )
