"""Issue 13 in one process: every store's ``transaction``/``signature`` interface, and the file
store's lock seen from threads, from a second store object and through the lock file itself.
Real processes are in test_stores_multiprocess.py. Files live under tmp_path (F2), never $HOME.
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading

import pytest
from test_stores import KEY, MemoryKeyring, _verbose_traceback, make_token, same

from gitbook_nb.errors import StorageError
from gitbook_nb.kernel._flock import LockBusy, ProcessLock
from gitbook_nb.kernel._keyring import KeyringStore
from gitbook_nb.kernel.stores import FileStore, MemoryStore
from gitbook_nb.protocol.tokens import Secret

OTHER = ("127.0.0.1:9", "x")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "private" / "tokens.json"


@pytest.fixture(params=["memory", "file", "keyring"])
def store(request, path):
    if request.param == "memory":
        return MemoryStore()
    if request.param == "file":
        return FileStore(path)
    return KeyringStore(backend=MemoryKeyring())


# --------------------------------------------------------------------------- every store


def test_transaction_reads_puts_and_deletes(store):
    tok = make_token()
    with store.transaction(KEY) as tx:
        assert tx.token is None and tx.key == KEY
        tx.put(tok)
        assert same(tx.token, tok)
        assert same(store.get(KEY), tok)  # written at once, not at the end of the block
    with store.transaction(KEY) as tx:
        assert same(tx.token, tok)
        tx.delete()
        assert tx.token is None
    assert store.get(KEY) is None
    assert tok.access_token.reveal() not in repr(tx)


def test_transaction_is_unusable_after_its_block(store):
    with store.transaction(KEY) as tx:
        pass
    for use in (lambda: tx.token, lambda: tx.put(make_token()), tx.delete):
        with pytest.raises(RuntimeError, match="transaction is over"):
            use()
    assert store.get(KEY) is None


def test_a_failing_block_keeps_what_it_wrote(store):
    """A rotated refresh token stays kept even when the call after the refresh fails."""
    tok = make_token()
    with pytest.raises(ZeroDivisionError):
        with store.transaction(KEY) as tx:
            tx.put(tok)
            1 / 0  # noqa: B018 - the failure under test
    assert same(store.get(KEY), tok)
    with store.transaction(KEY) as tx:  # and the lock was let go
        assert same(tx.token, tok)


def test_get_and_set_inside_a_transaction_do_not_deadlock(store):
    other = make_token(issuer=OTHER[0], client_id=OTHER[1])
    tok = make_token()
    with store.transaction(KEY) as tx:
        store.set(OTHER, other)  # the same thread takes the lock again
        assert same(store.get(OTHER), other)
        tx.put(tok)
    assert same(store.get(OTHER), other) and same(store.get(KEY), tok)  # merged, none lost


def _count(token) -> int:
    return int(token.access_token.reveal().split(":")[1]) if token else 0


def test_transactions_exclude_each_other_across_threads(store):
    """8 threads x 25 read-increment-write transactions: a lost update would show as < 200."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with store.transaction(KEY) as tx:
                    tx.put(make_token(access_token=Secret(f"n:{_count(tx.token) + 1}")))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(store.get(KEY)) == 200


def test_signature_changes_on_every_write_and_not_on_reads(store):
    seen = [store.signature()]
    store.get(KEY)
    store.keys()
    assert store.signature() == seen[0]
    store.set(KEY, make_token())
    seen.append(store.signature())
    store.set(KEY, make_token())
    seen.append(store.signature())
    store.set(OTHER, make_token(issuer=OTHER[0], client_id=OTHER[1]))
    seen.append(store.signature())
    store.delete(KEY)
    seen.append(store.signature())
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False))  # each write changed it
    assert len({hash(s) for s in seen}) >= 2  # hashable, to keep beside a cached token


# --------------------------------------------------------------------------- another writer


def test_file_signature_and_get_see_another_store_objects_write(path):
    mine, theirs = FileStore(path), FileStore(path)
    mine.set(KEY, make_token())
    before = mine.signature()
    rotated = make_token()
    theirs.set(KEY, rotated)  # another kernel refreshes
    assert mine.signature() != before
    assert same(mine.get(KEY), rotated)  # no cached copy in the store
    with mine.transaction(KEY) as tx:
        assert same(tx.token, rotated)


def test_keyring_transaction_and_get_see_another_store_objects_write():
    """What the keyring does and does not guarantee across kernels (README security notes)."""
    backend = MemoryKeyring()  # one keyring, two kernels
    mine, theirs = KeyringStore(backend=backend), KeyringStore(backend=backend)
    mine.set(KEY, make_token())
    before = mine.signature()
    reads = []
    backend.get_password = lambda *a, _get=backend.get_password: reads.append(a) or _get(*a)
    rotated = make_token()
    theirs.set(KEY, rotated)
    reads.clear()
    assert mine.signature() == before and reads == []  # per call: no keyring round trip
    with mine.transaction(KEY) as tx:
        assert same(tx.token, rotated)  # read afresh under the (thread) lock
    theirs.delete(KEY)  # logout in the other kernel
    assert mine.get(KEY) is None


# --------------------------------------------------------------------------- the file lock


def test_lock_wait_is_bounded_and_a_refused_write_changes_nothing(path):
    holder = FileStore(path)
    holder.set(KEY, make_token())
    before = path.read_bytes()
    other = make_token(issuer=OTHER[0], client_id=OTHER[1])
    impatient = FileStore(path, lock_timeout=0.05)  # another kernel: its own open file
    with holder.transaction(KEY):
        assert impatient.get(KEY) is not None  # reads take no lock
        for write in (lambda: impatient.set(OTHER, other), lambda: impatient.delete(KEY)):
            with pytest.raises(StorageError) as info:
                write()
            message = str(info.value)
            assert "locked by another kernel" in message and "nothing was changed" in message
            assert "\n" not in message and other.access_token.reveal() not in message
            assert info.value.hint
    assert path.read_bytes() == before
    FileStore(path, lock_timeout=0).set(OTHER, other)  # free at once after the block
    assert same(FileStore(path).get(OTHER), other)


def test_threads_of_one_store_wait_for_each_other_boundedly(path):
    store = FileStore(path, lock_timeout=0.05)
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction(KEY) as tx:
            tx.put(make_token())
            inside.set()
            leave.wait()

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert inside.wait(30)
        with pytest.raises(StorageError, match="locked"):
            store.set(OTHER, make_token(issuer=OTHER[0], client_id=OTHER[1]))
    finally:
        leave.set()
        t.join()
    assert store.keys() == [KEY]


def test_the_wait_polls_until_its_deadline_and_no_longer(path):
    """The bounded wait, on a clock the test controls: no real time passes."""
    path.parent.mkdir(mode=0o700)
    lock_path = path.with_name("tokens.json.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another open file holds it
    now = [100.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    lock = ProcessLock(lock_path, uid=os.geteuid(), timeout=2.0, clock=lambda: now[0], sleep=sleep)
    try:
        with pytest.raises(LockBusy):
            lock.acquire()
        assert sum(naps) == pytest.approx(2.0) and max(naps) <= 0.02 and len(naps) > 10
        assert not lock.held_here()
    finally:
        os.close(fd)  # drops the other hold
    with lock.hold():
        assert lock.held_here()
    assert not lock.held_here()


def test_lock_file_symlink_refused(path, tmp_path):
    path.parent.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not yours")
    os.symlink(target, path.with_name("tokens.json.lock"))
    with pytest.raises(StorageError) as info:
        FileStore(path).set(KEY, make_token())
    assert "symlink" in str(info.value) and "tokens.json.lock" in str(info.value)
    assert target.read_bytes() == b"not yours" and not path.exists()


def test_stale_lock_file_is_harmless_and_kept_private(path):
    """A lock file left by a killed kernel (here with old text, too open) is simply reused."""
    path.parent.mkdir(mode=0o700)
    lock_path = path.with_name("tokens.json.lock")
    lock_path.write_bytes(b"pid 4242")
    os.chmod(lock_path, 0o644)
    tok = make_token()
    FileStore(path, lock_timeout=0).set(KEY, tok)  # no wait at all: nobody holds it
    assert same(FileStore(path).get(KEY), tok)
    assert stat.S_IMODE(os.stat(lock_path).st_mode) == 0o600
    assert lock_path.read_bytes() == b"pid 4242"  # the lock never writes into its file


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_another_users_lock_file_refused(path):
    path.parent.mkdir(mode=0o700)
    lock_path = path.with_name("tokens.json.lock")
    lock_path.touch(mode=0o600)
    os.chown(lock_path, 65534, 65534)
    with pytest.raises(StorageError, match="another user"):
        FileStore(path).set(KEY, make_token())
    assert not path.exists()


def test_temp_files_of_a_killed_writer_are_swept_and_others_are_not(path):
    """A writer killed between its temp file and its rename leaves a copy of the tokens: the
    next write (under the lock, so no live writer is in that window) and logout remove it."""
    store = FileStore(path)
    store.set(KEY, make_token())
    stale = path.parent / ".tokens.json-killed.tmp"
    neighbour = path.parent / ".other.json-busy.tmp"  # another store's file in the same dir
    for f in (stale, neighbour):
        f.write_bytes(b"SECRETCOPY")
        os.chmod(f, 0o600)
    store.set(OTHER, make_token(issuer=OTHER[0], client_id=OTHER[1]))
    assert not stale.exists() and neighbour.exists()
    stale.write_bytes(b"SECRETCOPY")
    store.clear()  # F4: logout leaves no copy behind
    assert not stale.exists() and not path.exists() and neighbour.exists()


def test_transaction_creates_a_private_directory(path):
    old = os.umask(0)
    try:
        with FileStore(path).transaction(KEY) as tx:
            assert tx.token is None
            tx.put(make_token())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_E2_failed_write_in_a_transaction_holds_no_token(path):
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    tok = make_token()
    with pytest.raises(StorageError) as info:
        with FileStore(path, fsync=broken_fsync).transaction(KEY) as tx:
            tx.put(tok)
    text = _verbose_traceback(info.value)
    assert "put." in text  # the transaction's frames are there, with their locals
    assert tok.access_token.reveal() not in text
    assert tok.refresh_token.reveal() not in text
    assert not path.exists()
