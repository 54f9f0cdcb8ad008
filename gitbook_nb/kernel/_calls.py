"""API calls of the kernel session: request, paginate, prepare (dry run), history.

Split from ``session.py`` (one concept per module): the session owns settings and tokens, this
mixin turns them into authenticated calls that return :class:`~gitbook_nb.display.result.Result`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitbook_nb.display.result import Result
from gitbook_nb.errors import AuthenticationError, GitBookError, NotLoggedInError
from gitbook_nb.protocol import envelopes
from gitbook_nb.protocol.tokens import MASK, Token

if TYPE_CHECKING:
    from gitbook_nb.protocol import config

HISTORY_LIMIT = 1000


def envelope_items(data: Any) -> list | None:
    """The list inside either pagination envelope (one decoder: protocol.envelopes)."""
    return envelopes.items_of(data)


def envelope_total(data: Any) -> int | None:
    return envelopes.total_of(data)


def has_next_page(data: Any) -> bool:
    env = envelopes.decode(data)
    return env is not None and env.has_more


class CallsMixin:
    """Authenticated calls. Expects the session's ``settings``, ``_fresh_token``,
    ``_on_unauthorized``, ``token_for`` and ``_lock``."""

    _lock: threading.RLock
    _clock: Callable[[], float]

    if TYPE_CHECKING:

        @property
        def settings(self) -> config.Settings: ...

    def _init_calls(self) -> None:
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY_LIMIT)
        self._clients: dict[Any, Any] = {}

    # ---------------------------------------------------------------- clients
    def client_for(self, s: config.Settings) -> Any:
        """One keep-alive client per resolved settings (a new profile gets its own)."""
        with self._lock:
            client = self._clients.get(s)
            if client is None:
                from gitbook_nb.api.client import Client

                client = Client(
                    s,
                    token_getter=lambda: self._fresh_token(s),  # type: ignore[attr-defined]
                    on_unauthorized=lambda tok: self._on_unauthorized(s, tok),  # type: ignore[attr-defined]
                )
                self._clients[s] = client
            return client

    def close(self) -> None:
        """Close HTTP sessions and stop a sandbox this session started."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()
        sb = getattr(self, "_sandbox", None)
        if sb is not None:
            sb.stop()
            self._sandbox = None

    def _failed(self, s: config.Settings, err: GitBookError, used: Token, since: float) -> Any:
        """The history status of a failed call. A 401 that survived the one refresh the client
        tries means the token this call used (or got by refreshing) is dead: forget it (D5)."""
        if isinstance(err, AuthenticationError):
            cur = self.token_for(s)  # type: ignore[attr-defined]
            if (
                cur is not None
                and cur.source != "env"
                and (cur is used or cur.obtained_at >= since)
            ):
                self._drop_token(s, cur)  # type: ignore[attr-defined]
        return getattr(err, "status", None) or "error"

    def _require_token(self, s: config.Settings) -> Token:
        tok = self.token_for(s)  # type: ignore[attr-defined]
        if tok is None:
            raise NotLoggedInError("not signed in: finish the login above, or set GITBOOK_TOKEN")
        return tok

    def _whoami_with(self, s: config.Settings, tok: Token) -> dict[str, Any]:
        """Ask the API who ``tok`` belongs to, with that token only (a throwaway client)."""
        from gitbook_nb.api.client import Client

        client = Client(s, token_getter=lambda: tok)
        try:
            path = "/user" if s.flow == "current" else "/account"
            data = client.request("GET", path).data
        finally:
            client.close()
        return normalise_user(data)

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
        s = settings or self.settings
        used = self._require_token(s)
        since = self._clock()
        started = time.monotonic()
        status: int | str = "error"
        try:
            resp = self.client_for(s).request(method, path, params=params, json=json)
            status = resp.status
        except GitBookError as err:
            status = self._failed(s, err, used, since)
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
        s = settings or self.settings
        used = self._require_token(s)
        since = self._clock()
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
            status = self._failed(s, err, used, since)
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
        s = settings or self.settings
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
        self._history.append(
            {
                "time": time.strftime("%H:%M:%S"),
                "method": method.upper(),
                "path": path.split("?", 1)[0],
                "status": status,
                "pages": pages,
                "elapsed_ms": round(elapsed * 1000, 1),
            }
        )

    def history(self) -> list[dict[str, Any]]:
        return list(self._history)

    def _rate_limit_text(self) -> str | None:
        with self._lock:
            clients = list(self._clients.values())
        for c in clients:
            rl = getattr(c, "rate_limit", None)
            if rl is not None:
                return f"{rl.remaining}/{rl.limit} left"
        return None


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
