"""G2: one Client shared by 8 threads, 500 calls each, while the token rotates mid-run.

The kernel has one client per profile, and notebooks do use threads (widgets' callbacks, a
ThreadPoolExecutor over spaces). Each call must carry a whole, valid token of its own: the
sandbox's request log shows exactly what went over the wire.
"""

from __future__ import annotations

import threading
import time

from gitbook_nb.api.auth import BearerAuth, GrantAuth
from gitbook_nb.api.client import Client
from gitbook_nb.protocol.config import resolve
from gitbook_nb.protocol.tokens import Secret, Token

THREADS = 8
CALLS = 500


def _token(sb, value: str) -> Token:
    return Token(access_token=Secret(value), issuer=sb.url.split("://", 1)[1], source="pat")


def test_G2_eight_threads_share_one_client_while_the_token_rotates(sb):
    first, second = sb.mint_token(), sb.mint_token()
    current = [_token(sb, first)]
    lock = threading.Lock()

    class Rotating:
        """What the kernel's keeper does here: hand out the newer token if there is one."""

        def current(self) -> Token:
            with lock:
                return current[0]

        def newer(self, stale: Token) -> Token | None:
            with lock:
                return None if current[0].same_as(stale) else current[0]

        def renew(self, stale: Token) -> Token:
            raise AssertionError("personal tokens are not renewed")

        def forget(self, dead: Token) -> bool:
            raise AssertionError("no token dies in this test")

    client = Client(
        resolve(overrides={"api_url": sb.url + "/v1"}, environ={}), auth=GrantAuth(Rotating())
    )
    errors: list[BaseException] = []
    users: set[str] = set()
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        start.wait()
        try:
            for i in range(CALLS):
                if n == 0 and i == CALLS // 2:  # rotate mid-run, then revoke the old token
                    with lock:
                        current[0] = _token(sb, second)
                    sb.revoke_token(first)
                resp = client.request("GET", "/user")
                users.add(resp.data["id"])
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    client.close()

    assert errors == []
    assert users == {sb.ids["user"]}
    log = [r for r in sb.requests if r.path == "/v1/user"]
    ok = [r for r in log if r.status == 200]
    assert len(ok) == THREADS * CALLS
    valid = {f"Bearer {first}", f"Bearer {second}"}
    assert {r.headers.get("Authorization") for r in log} <= valid  # never a mixed-up value
    assert all(
        r.headers.get("Authorization") == f"Bearer {first}" for r in log if r.status == 401
    )  # only the revoked token was refused
    assert any(r.headers.get("Authorization") == f"Bearer {second}" for r in ok)
    assert all(r.headers.get("User-Agent", "").startswith("gitbook_nb/") for r in log)
    assert client.rate_limit is not None
    print(
        f"G2: {THREADS * CALLS} calls in {elapsed:.2f} s "
        f"({THREADS * CALLS / elapsed:.0f} calls/s, {len(log) - len(ok)} 401s retried)"
    )


def test_G2_threads_walking_pages_do_not_share_state(sb):
    client = Client(
        resolve(overrides={"api_url": sb.url, "profile": "legacy"}, environ={}),
        auth=BearerAuth(_token(sb, sb.personal_token)),
    )
    expected = [
        b["id"] for b in client.request("GET", "/books", params={"limit": 100}).data["list"]
    ]
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def walk(n: int) -> None:
        try:
            pages = client.pages("/books", params={"limit": 3 + n})
            results[n] = [b["id"] for page in pages for b in page.data["list"]]
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=walk, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(results[n] == expected for n in range(THREADS))
