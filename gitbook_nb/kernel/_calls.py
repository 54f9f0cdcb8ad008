"""API calls of the kernel session: request, stream, paginate, prepare (dry run), whoami,
history.

:class:`Calls` is one part of the kernel session (composed, not mixed in). It owns one
keep-alive client per resolved settings, each authenticated by a
:class:`~gitbook_nb.api.auth.GrantAuth` over the token keeper: every rule about refreshing,
retrying after a 401 and forgetting a dead token lives in that flow, none here. A call only
checks that there is a sign-in at all (one clear line before anything is sent) and writes
history.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gitbook_nb.api.auth import Auth, Flights, GrantAuth
from gitbook_nb.display.result import Result
from gitbook_nb.errors import GitBookError, NotLoggedInError
from gitbook_nb.kernel._keeper import KeeperSource, TokenKeeper
from gitbook_nb.protocol import config, envelopes
from gitbook_nb.protocol.tokens import MASK

if TYPE_CHECKING:
    from gitbook_nb.api.stream import Stream

__all__ = ["HISTORY_LIMIT", "Calls", "envelope_items", "envelope_total", "normalise_user"]

HISTORY_LIMIT = 1000
NOT_SIGNED_IN = (
    "not signed in: run %gitbook login (gitbook_nb.login() in Python), or set GITBOOK_TOKEN"
)


def envelope_items(data: Any) -> list | None:
    """The list inside either pagination envelope (one decoder: protocol.envelopes)."""
    return envelopes.items_of(data)


def envelope_total(data: Any) -> int | None:
    return envelopes.total_of(data)


def has_next_page(data: Any) -> bool:
    env = envelopes.decode(data)
    return env is not None and env.has_more


def normalise_user(data: Any) -> dict[str, Any]:
    """One shape for both APIs' user objects (current ``displayName``, legacy ``name``)."""
    if not isinstance(data, dict):
        raise GitBookError("the API answered the user request with something that is not a user")
    name = data.get("displayName") or data.get("name") or data.get("username") or data.get("id")
    return {
        "name": name,
        "id": data.get("id"),
        "username": data.get("username"),
        "email": data.get("email"),
    }


class Calls:
    """Authenticated calls that return :class:`~gitbook_nb.display.result.Result`."""

    def __init__(
        self,
        keeper: TokenKeeper,
        *,
        settings: Callable[[], config.Settings],
        clock: Callable[[], float],
        transport: Any = None,
    ) -> None:
        self._keeper = keeper
        self._transport = transport  # None: a keep-alive requests session per client
        self._settings = settings
        self._clock = clock
        self._flights = Flights()  # one refresh in flight per grant, across every client
        self._lock = threading.Lock()
        self._clients: dict[config.Settings, Any] = {}
        # The settings object of the latest call and its client: the same object comes back on
        # every call until a configure(), and hashing a Settings (every field) costs more than
        # the rest of the lookup (bench figure 1c).
        self._last: tuple[config.Settings, Any] | None = None
        # (wall time, method, path, status, pages, elapsed s): made into rows by history(), so
        # a call does not format a clock time nobody may read.
        self._history: deque[tuple[float, str, str, Any, int, float]] = deque(
            maxlen=HISTORY_LIMIT
        )

    def __repr__(self) -> str:
        return f"<Calls clients={len(self._clients)} history={len(self._history)}>"

    # ---------------------------------------------------------------- clients
    def client_for(self, s: config.Settings) -> Any:
        """One keep-alive client per resolved settings (a new profile gets its own)."""
        last = self._last
        if last is not None and last[0] is s:
            return last[1]
        client = self._clients.get(s)
        if client is None:
            with self._lock:
                client = self._clients.get(s)
                if client is None:
                    from gitbook_nb.api.client import Client

                    auth = GrantAuth(
                        KeeperSource(self._keeper, s), flights=self._flights, clock=self._clock
                    )
                    client = self._clients[s] = Client(s, auth=auth, transport=self._transport)
        self._last = (s, client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients, self._last = list(self._clients.values()), {}, None
        for c in clients:
            c.close()

    def _require(self, s: config.Settings) -> None:
        if self._keeper.grant(s) is None:
            raise NotLoggedInError(NOT_SIGNED_IN)

    # ---------------------------------------------------------------- calls
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        settings: config.Settings | None = None,
    ) -> Result:
        s = settings or self._settings()
        self._require(s)
        started = time.monotonic()
        status: int | str = "error"
        try:
            resp = self.client_for(s).request(method, path, params=params, json=json)
            status = resp.status
        except GitBookError as err:
            status = getattr(err, "status", None) or "error"
            raise
        finally:
            self._record(method, path, status, 1, time.monotonic() - started)
        return Result(
            resp.data,
            status=resp.status,
            pages=1,
            elapsed=resp.elapsed,
            method=method.upper(),
            path=path,
            rate_limit=resp.rate_limit,
        )

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        headers: Mapping[str, str] | None = None,
        settings: config.Settings | None = None,
    ) -> Iterator[Stream]:
        """A call whose body is read as it arrives (``with calls.stream(...) as s``), through
        the same client and auth flow as :meth:`request`. History gets one row when the stream
        ends: the status, or the error's status (or "error") if opening or reading failed."""
        s = settings or self._settings()
        self._require(s)
        started = time.monotonic()
        status: int | str = "error"
        try:
            with self.client_for(s).stream(method, path, params=params, headers=headers) as st:
                status = st.status
                yield st
        except GitBookError as err:
            status = getattr(err, "status", None) or "error"
            raise
        finally:
            self._record(method, path, status, 1, time.monotonic() - started)

    def whoami(self, s: config.Settings, auth: Auth | None = None) -> dict[str, Any]:
        """Who the token belongs to (``auth``: check another token than the kept one)."""
        if auth is None:
            self._require(s)
        path = "/user" if s.flow == "current" else "/account"
        started = time.monotonic()
        status: int | str = "error"
        try:
            resp = self.client_for(s).request("GET", path, auth=auth)
            status = resp.status
        except GitBookError as err:
            status = getattr(err, "status", None) or "error"
            raise
        finally:
            self._record("GET", path, status, 1, time.monotonic() - started)
        return normalise_user(resp.data)

    def paginate(
        self,
        path: str,
        *,
        params: dict | None = None,
        max_pages: int | None = None,
        limit: int | None = None,
        progress: Callable[[int, int, int | None], None] | None = None,
        settings: config.Settings | None = None,
    ) -> Result:
        """Walk every page of either envelope into one Result (stops at ``max_pages``)."""
        s = settings or self._settings()
        self._require(s)
        cap = max_pages if max_pages is not None else s.max_pages
        query = dict(params or {})
        if limit is not None:
            query["limit"] = limit
        items: list[Any] = []
        total: int | None = None
        pages = 0
        last: Any = None
        started = time.monotonic()
        status: int | str = "error"
        rate_limit = None
        try:
            for resp in self.client_for(s).pages(path=path, params=query or None, max_pages=cap):
                pages += 1
                status, last, rate_limit = resp.status, resp.data, resp.rate_limit
                page_items = envelope_items(resp.data)
                if page_items is None:  # not a paginated endpoint: one plain answer
                    items = resp.data
                    break
                items.extend(page_items)
                total = envelope_total(resp.data) if total is None else total
                if progress is not None:
                    progress(pages, len(items), total)
        except GitBookError as err:
            status = getattr(err, "status", None) or "error"
            raise
        finally:
            self._record("GET", path, status, pages, time.monotonic() - started)
        note = None
        if pages >= cap and has_next_page(last):
            note = f"stopped after {pages} pages (max pages {cap}); more pages exist"
        if total is None and isinstance(items, list):
            total = len(items) if note is None else None
        return Result(
            items,
            status=status if isinstance(status, int) else 0,
            pages=pages,
            elapsed=time.monotonic() - started,
            method="GET",
            path=path,
            total=total,
            note=note,
            rate_limit=rate_limit,
        )

    def prepare(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        settings: config.Settings | None = None,
    ) -> dict[str, Any]:
        """The request a call would send, with the Authorization header masked; sends nothing."""
        s = settings or self._settings()
        url = self.client_for(s).build_url(path, params)
        headers = {
            "User-Agent": s.user_agent,
            "Accept": "application/json",
            "Authorization": f"Bearer {MASK}",
        }
        if json is not None:
            headers["Content-Type"] = "application/json"
        return {"method": method.upper(), "url": url, "headers": headers, "json": json}

    # ---------------------------------------------------------------- history
    def _record(self, method: str, path: str, status: Any, pages: int, elapsed: float) -> None:
        self._history.append((time.time(), method, path, status, pages, elapsed))

    def history(self) -> list[dict[str, Any]]:
        return [
            {
                "time": time.strftime("%H:%M:%S", time.localtime(at)),
                "method": method.upper(),
                "path": path.split("?", 1)[0],
                "status": status,
                "pages": pages,
                "elapsed_ms": round(elapsed * 1000, 1),
            }
            for at, method, path, status, pages, elapsed in list(self._history)
        ]

    def rate_limit_text(self) -> str | None:
        with self._lock:
            clients = list(self._clients.values())
        for c in clients:
            rl = getattr(c, "rate_limit", None)
            if rl is not None:
                return f"{rl.remaining}/{rl.limit} left"
        return None
