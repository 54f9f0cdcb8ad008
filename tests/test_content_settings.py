"""The export's concurrency is a setting (export_concurrency, 4 by default), like page sizes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gitbook_nb.errors import ConfigError
from gitbook_nb.kernel import session
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(rate_limit=1_000_000) as box:
        yield box
    reset_session(KernelSession(environ={}))


class CountingAPI:
    """The kernel's session module, counting how many page requests are in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def get_session(self) -> Any:
        return session.get_session()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return session.request(*args, **kwargs)
        finally:
            with self.lock:
                self.now -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(session, name)


def sign_in(sb: Sandbox, **settings: Any) -> KernelSession:
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url, **settings)
    k.login_with_token(sb.mint_token())
    return k


def test_export_concurrency_defaults_to_4_and_is_validated() -> None:
    k = KernelSession(environ={})
    assert k.settings.export_concurrency == 4
    for bad in (0, 33, "many", 2.5):
        with pytest.raises(ConfigError, match="export_concurrency"):
            k.configure(export_concurrency=bad)
    assert k.configure(export_concurrency="2").export_concurrency == 2


def test_export_uses_the_setting_when_no_concurrency_is_given(sb: Sandbox) -> None:
    from gitbook_nb.content import export

    sign_in(sb, export_concurrency=1)
    one = CountingAPI()
    res = export(sb.ids["space"], api=one)
    assert one.peak == 1 and len(res.rows) > 3  # one page at a time, every page fetched
    api = CountingAPI()
    export(sb.ids["space"], concurrency=3, api=api)  # an explicit argument still wins
    assert api.peak <= 3
