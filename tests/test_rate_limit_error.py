"""A 429 carries the answer's X-RateLimit-* headers, so a caller waits until the server's reset
(GitBook documents no Retry-After), not for a guess made with the client's own clock."""

from __future__ import annotations

import pytest

from gitbook_nb.errors import RateLimitedError
from gitbook_nb.kernel.session import KernelSession
from gitbook_nb.sandbox import Sandbox


def test_a_429_without_retry_after_carries_limit_remaining_and_reset() -> None:
    with Sandbox(rate_limit=2, rate_window=60) as sb:
        k = KernelSession(environ={})
        k.configure(api_url=sb.url + "/v1", oauth_url=sb.url, max_retries=0)
        k.login_with_token(sb.mint_token())  # the sign-in's own check spends one request
        with pytest.raises(RateLimitedError) as info:
            for _ in range(3):
                k.request("GET", "/user")
    err = info.value
    assert err.status == 429  # retry_after is the client clock's estimate of the reset
    assert err.rate_limit is not None
    assert err.rate_limit.limit == 2 and err.rate_limit.remaining == 0
    assert err.rate_limit.reset is not None and err.rate_limit.reset > 0
