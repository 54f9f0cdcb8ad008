"""Issue 13 with real processes: several kernels, one token file.

Each worker is a fresh interpreter (``python -c``) with its own FileStore on one shared file,
driven over its stdin/stdout by JSON lines, so every step is synchronised by an explicit reply
and nothing waits a fixed time. Files live under tmp_path (F2), never $HOME.
"""

from __future__ import annotations

import os
import signal
import stat
from typing import Any

import pytest
from support import WORKER_LOOP, Worker
from test_stores import make_token, same

from gitbook_nb.errors import StorageError
from gitbook_nb.kernel.stores import FileStore

# One kernel's use of the store. Replies are one JSON line per command; warnings are returned,
# not printed, so the parent can assert on them.
WORKER = (
    r"""
import json, sys, warnings
from gitbook_nb.errors import StorageError
from gitbook_nb.kernel.stores import FileStore
from gitbook_nb.protocol.tokens import Secret, Token

path, timeout = sys.argv[1], float(sys.argv[2])
store = FileStore(path, lock_timeout=timeout)

def token(host, access):
    return Token(access_token=Secret(access), refresh_token=Secret("r-" + access),
                 issuer=host, client_id="cid", expires_at=2e9)

def count(tok):
    return int(tok.access_token.reveal().split(":")[1]) if tok else 0

def run(cmd):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = do(cmd)
    out["warnings"] = [str(w.message) for w in caught]
    return out

def do(cmd):
    op = cmd["op"]
    if op == "sign_in_many":  # one kernel signing in to many hosts
        for i in range(cmd["n"]):
            host = f"{cmd['prefix']}-{i}.example"
            store.set((host, "cid"), token(host, f"at-{host}"))
        return {}
    if op == "get":
        tok = store.get((cmd["host"], "cid"))
        return {"access": tok.access_token.reveal() if tok else None}
    if op == "logout":
        store.delete((cmd["host"], "cid"))
        return {}
    if op == "increment":  # a refresh: read under the lock, write the successor, let go
        for _ in range(cmd["n"]):
            with store.transaction((cmd["host"], "cid")) as tx:
                tx.put(token(cmd["host"], f"n:{count(tx.token) + 1}"))
        return {}
    if op == "try_set":  # one write with its own bounded wait
        other = FileStore(path, lock_timeout=cmd["timeout"])
        try:
            other.set((cmd["host"], "cid"), token(cmd["host"], cmd["access"]))
        except StorageError as err:
            return {"error": str(err)}
        return {}
    if op == "hold":  # take the lock and keep it until told (or killed)
        with store.transaction((cmd["host"], "cid")) as tx:
            tx.put(token(cmd["host"], cmd["access"]))
            reply({"held": True})
            sys.stdin.readline()
        return {"released": True}
    raise ValueError(op)
"""
    + WORKER_LOOP
)


class Kernel(Worker):
    """One worker process with its own FileStore on ``path``, ready once constructed."""

    def __init__(self, path, lock_timeout: float = 60.0) -> None:
        super().__init__(WORKER, str(path), str(lock_timeout))
        self.ready()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "private" / "tokens.json"


@pytest.fixture
def kernels(path):
    started: list[Kernel] = []

    def start(n: int, **kw: Any) -> list[Kernel]:
        new = [Kernel(path, **kw) for _ in range(n)]
        started.extend(new)
        return new

    yield start
    for k in started:
        if k.proc.poll() is None and k.proc.returncode is None:
            k.close()


def test_four_kernels_fifty_sign_ins_each_keep_all_two_hundred(path, kernels):
    group = kernels(4)  # all started and ready before any begins: they really overlap
    for i, k in enumerate(group):
        k.send(op="sign_in_many", prefix=f"k{i}", n=50)
    for k in group:
        assert k.recv() == {"warnings": []}
    store = FileStore(path)
    assert len(store.keys()) == 200
    for i in range(4):
        for j in range(50):
            host = f"k{i}-{j}.example"
            tok = store.get((host, "cid"))
            assert tok is not None and tok.access_token.reveal() == f"at-{host}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # F2 still holds
    lock = path.with_name("tokens.json.lock")
    assert lock.read_bytes() == b"" and stat.S_IMODE(os.stat(lock).st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["tokens.json", "tokens.json.lock"]  # no temp


def test_transactions_of_four_kernels_never_lose_an_update(path, kernels):
    """A refresh is read-under-lock then write: 4 x 50 increments end at exactly 200."""
    group = kernels(4)
    for k in group:
        k.send(op="increment", host="api.example", n=50)
    for k in group:
        assert k.recv() == {"warnings": []}
    tok = FileStore(path).get(("api.example", "cid"))
    assert tok is not None and tok.access_token.reveal() == "n:200"


def test_logout_in_one_kernel_is_seen_by_the_others(path, kernels):
    a, b, c = kernels(3)
    a.call(op="sign_in_many", prefix="api", n=1)
    b.call(op="sign_in_many", prefix="other", n=1)  # someone else's sign-in stays
    for k in (b, c):
        assert k.call(op="get", host="api-0.example")["access"] == "at-api-0.example"
    a.call(op="logout", host="api-0.example")
    for k in (a, b, c):
        assert k.call(op="get", host="api-0.example")["access"] is None
        assert k.call(op="get", host="other-0.example")["access"] == "at-other-0.example"
    b.call(op="logout", host="other-0.example")
    assert not path.exists()  # F4: the last logout leaves no token file


def test_a_kernel_killed_holding_the_lock_blocks_nobody(path, kernels):
    holder, *waiters = kernels(4)
    FileStore(path).set(("before.example", "cid"), make_token(issuer="before.example"))
    holder.send(op="hold", host="held.example", access="at-held")
    assert holder.recv() == {"held": True}
    # While it is held (alive): a bounded wait ends in a clear error and changes nothing.
    before = path.read_bytes()
    for k in waiters:
        out = k.call(op="try_set", host="late.example", access="at-late", timeout=0.1)
        assert "locked by another kernel" in out["error"] and "nothing was changed" in out["error"]
        assert "at-late" not in out["error"]
    assert path.read_bytes() == before
    # Now they wait (a long bound), and the holder dies without letting go.
    for i, k in enumerate(waiters):
        k.send(op="try_set", host=f"w{i}.example", access=f"at-w{i}", timeout=120)
    os.kill(holder.proc.pid, signal.SIGKILL)
    assert holder.proc.wait() == -signal.SIGKILL
    FileStore(path, lock_timeout=0).get(("x", "y"))  # reads never needed it
    for k in waiters:
        assert k.recv() == {"warnings": []}  # each got the lock and wrote
    store = FileStore(path)
    got = {host for host, _ in store.keys()}
    # the holder's put was complete before it said "held": kept, and merged with the rest
    assert got == {"before.example", "held.example", "w0.example", "w1.example", "w2.example"}
    assert sorted(os.listdir(path.parent)) == ["tokens.json", "tokens.json.lock"]


def test_the_lock_is_free_the_moment_its_holder_is_reaped(path, kernels):
    (holder,) = kernels(1)
    holder.send(op="hold", host="held.example", access="at-held")
    assert holder.recv() == {"held": True}
    impatient = FileStore(path, lock_timeout=0)  # not a moment of waiting
    with pytest.raises(StorageError, match="locked"):
        impatient.set(("mine.example", "cid"), make_token(issuer="mine.example"))
    os.kill(holder.proc.pid, signal.SIGKILL)
    holder.proc.wait()  # the kernel closed its files, and so dropped the flock, before this
    tok = make_token(issuer="mine.example")
    impatient.set(("mine.example", "cid"), tok)
    assert same(FileStore(path).get(("mine.example", "cid")), tok)


def test_a_lock_released_normally_lets_the_next_kernel_in(path, kernels):
    holder, waiter = kernels(2)
    holder.send(op="hold", host="api.example", access="n:1")
    assert holder.recv() == {"held": True}
    waiter.send(op="increment", host="api.example", n=1)
    holder.send(op="release")
    assert holder.recv() == {"released": True, "warnings": []}
    assert waiter.recv() == {"warnings": []}
    tok = FileStore(path).get(("api.example", "cid"))
    assert tok is not None and tok.access_token.reveal() == "n:2"  # it read the holder's write


def test_F2_corrupt_file_is_a_cache_miss_with_a_warning_in_every_kernel(path, kernels):
    a, b = kernels(2)
    a.call(op="sign_in_many", prefix="api", n=1)
    path.write_bytes(b"{ not json SECRETCONTENT")
    out = b.call(op="get", host="api-0.example")
    assert out["access"] is None and len(out["warnings"]) == 1
    assert "unreadable" in out["warnings"][0] and "SECRETCONTENT" not in out["warnings"][0]
    out = a.call(op="sign_in_many", prefix="new", n=1)  # signing in again replaces it
    assert len(out["warnings"]) == 1
    assert b.call(op="get", host="new-0.example") == {
        "access": "at-new-0.example",
        "warnings": [],
    }
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
