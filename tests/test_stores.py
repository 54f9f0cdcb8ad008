"""SECURITY.md F: where tokens are kept. Memory by default; the file store is 0600 in a 0700
directory, written atomically, and refuses files it cannot trust; the keyring store refuses
backends that do not protect secrets. Files live under pytest's tmp_path, never $HOME."""

from __future__ import annotations

import json
import os
import secrets
import stat
import threading
import warnings

import pytest

from gitbook_nb.errors import StorageError
from gitbook_nb.kernel._keyring import KeyringStore
from gitbook_nb.kernel.stores import FileStore, MemoryStore, persistence_allowed
from gitbook_nb.protocol.tokens import Secret, Token

KEY = ("api.gitbook.com", "cid")


def make_token(**kw) -> Token:
    fields = dict(
        access_token=Secret("gb_api_" + secrets.token_urlsafe(20)),
        refresh_token=Secret(secrets.token_urlsafe(20)),
        expires_at=2_000_000_000.0,
        scope=("user:read", "space:read"),
        issuer=KEY[0],
        client_id=KEY[1],
        obtained_at=1_700_000_000.0,
    )
    fields.update(kw)
    return Token(**fields)


def same(a: Token, b: Token) -> bool:
    return (
        a.access_token == b.access_token
        and a.refresh_token == b.refresh_token
        and (a.expires_at, a.scope, a.issuer, a.client_id, a.obtained_at, a.token_type)
        == (b.expires_at, b.scope, b.issuer, b.client_id, b.obtained_at, b.token_type)
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "private" / "tokens.json"


# --------------------------------------------------------------------------- F1


def test_F1_persistence_refused_on_binder_and_hubs():
    for env in (
        {"BINDER_REQUEST": "v2/gh/x"},
        {"BINDER_LAUNCH_HOST": "https://mybinder.org/"},
        {"REPO_DIR": "/home/jovyan", "BINDER_PERSISTENT_REQUEST": "x"},
    ):
        ok, reason = persistence_allowed(env)
        assert not ok and "Binder" in reason
    for env in ({"JUPYTERHUB_API_TOKEN": "x"}, {"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}):
        ok, reason = persistence_allowed(env)
        assert not ok and "JupyterHub" in reason
    assert persistence_allowed({"HOME": "/home/me", "REPO_DIR": "/x"}) == (True, "local kernel")


def test_F1_reason_never_contains_environment_values():
    value = secrets.token_hex(16)
    _, reason = persistence_allowed({"JUPYTERHUB_API_TOKEN": value})
    assert value not in reason


# --------------------------------------------------------------------------- memory


def test_F4_memory_store_roundtrip_and_describe():
    store = MemoryStore()
    tok = make_token()
    assert store.get(KEY) is None
    store.set(KEY, tok)
    assert store.get(KEY) is tok and store.get(("other", "cid")) is None
    assert store.describe() == "kernel memory"
    assert tok.access_token.reveal() not in repr(store)
    store.delete(KEY)
    assert store.get(KEY) is None
    store.set(KEY, tok)
    store.clear()
    assert store.get(KEY) is None


def test_memory_store_is_thread_safe():
    store = MemoryStore()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(500):
                key = (f"host{n}", str(i % 7))
                tok = make_token(issuer=key[0], client_id=key[1])
                store.set(key, tok)
                got = store.get(key)
                assert got is not None and got.issuer == key[0]
                if i % 5 == 0:
                    store.delete(key)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --------------------------------------------------------------------------- F2 file store


def test_F2_file_store_roundtrip_with_modes(path):
    old = os.umask(0)  # even with a permissive umask
    try:
        store = FileStore(path)
        tok = make_token()
        store.set(KEY, tok)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    got = FileStore(path).get(KEY)
    assert got is not None and same(got, tok) and got.source == "store"
    data = json.loads(path.read_text())
    assert data["tokens"][0]["access_token"] == tok.access_token.reveal()  # only in the file
    assert tok.access_token.reveal() not in repr(store) + store.describe()
    assert store.describe() == f"file {path} (0600)"


def test_F2_several_keys_delete_and_clear(path):
    store = FileStore(path)
    a, b = make_token(), make_token(issuer="127.0.0.1:9", client_id="x")
    store.set(KEY, a)
    store.set(("127.0.0.1:9", "x"), b)
    assert same(store.get(("127.0.0.1:9", "x")), b) and same(store.get(KEY), a)
    store.delete(KEY)
    assert store.get(KEY) is None and store.get(("127.0.0.1:9", "x")) is not None
    store.delete(("127.0.0.1:9", "x"))
    assert not path.exists()  # F4: nothing left behind
    store.set(KEY, a)
    store.clear()
    assert not path.exists() and store.get(KEY) is None


def test_F2_atomic_write_leaves_no_temp_files_and_replaces_the_inode(path):
    store = FileStore(path)
    store.set(KEY, make_token())
    first = os.stat(path).st_ino
    store.set(KEY, make_token())
    assert sorted(os.listdir(path.parent)) == ["tokens.json", "tokens.json.lock"]
    assert os.stat(path).st_ino != first  # a new file was renamed over the old one
    lock = path.parent / "tokens.json.lock"  # nothing secret in the lock file: nothing at all
    assert lock.read_bytes() == b"" and stat.S_IMODE(os.stat(lock).st_mode) == 0o600


def test_F2_failed_write_keeps_the_previous_file(path):
    FileStore(path).set(KEY, make_token())
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    store = FileStore(path, fsync=broken_fsync)
    new = make_token()
    with pytest.raises(StorageError) as info:
        store.set(KEY, new)
    assert "previous file is unchanged" in str(info.value)
    assert new.access_token.reveal() not in str(info.value)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["tokens.json", "tokens.json.lock"]  # no temp


def test_F2_symlink_refused(path, tmp_path):
    FileStore(path).set(KEY, make_token())
    real = tmp_path / "private" / "real.json"
    os.replace(path, real)
    os.symlink(real, path)
    before = real.read_bytes()
    store = FileStore(path)
    with pytest.raises(StorageError) as info:
        store.get(KEY)
    assert "symlink" in str(info.value)
    with pytest.raises(StorageError):
        store.set(KEY, make_token())
    assert real.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666])
def test_F2_group_or_world_readable_file_refused(path, mode):
    FileStore(path).set(KEY, make_token())
    os.chmod(path, mode)
    with pytest.raises(StorageError) as info:
        FileStore(path).get(KEY)
    assert f"{mode:o}" in str(info.value) and "\n" not in str(info.value)


def test_F2_another_users_file_refused(path):
    store = FileStore(path)
    store.set(KEY, make_token())
    if os.geteuid() == 0:  # root can hand the file to another user for real
        os.chown(path, 65534, 65534)
        checker = FileStore(path)
    else:  # otherwise tell the store it runs as someone else
        checker = FileStore(path, uid=os.geteuid() + 1)
    with pytest.raises(StorageError) as info:
        checker.get(KEY)
    assert "another user" in str(info.value)


def test_F2_open_directory_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)  # noqa: S103 - the open directory under test
    with pytest.raises(StorageError) as info:
        FileStore(shared / "tokens.json").set(KEY, make_token())
    assert "755" in str(info.value)
    assert not (shared / "tokens.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json at all SECRETCONTENT",
        b'{"version": 1, "tokens": [{"access_token": 5}]}',
        b'{"version": 99, "tokens": []}',
        b"[]",
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_F2_corrupt_file_is_a_cache_miss_with_one_line_warning(path, content):
    store = FileStore(path)
    store.set(KEY, make_token())
    path.write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get(KEY) is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "SECRETCONTENT" not in message and "unreadable" in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = make_token()
        store.set(KEY, tok)  # logging in again replaces the corrupt file
    assert same(store.get(KEY), tok)


def test_F2_missing_file_and_directory_is_a_plain_miss(tmp_path):
    store = FileStore(tmp_path / "nowhere" / "tokens.json")
    assert store.get(KEY) is None
    store.delete(KEY)
    store.clear()
    assert not (tmp_path / "nowhere").exists()  # reading creates nothing


# --------------------------------------------------------------------------- F3 keyring


from keyring.backend import KeyringBackend  # noqa: E402  (keyring is in the test extra)
from keyring.backends import chainer, fail, null  # noqa: E402
from keyring.errors import PasswordDeleteError  # noqa: E402


class MemoryKeyring(KeyringBackend):
    """A real (in-process) keyring backend, standing in for the OS keyring in tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.data.get((service, username))

    def set_password(self, service, username, password):
        self.data[(service, username)] = password

    def delete_password(self, service, username):
        if self.data.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


def plaintext_backend():
    cls = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})
    return cls()


def chain_of(*backends):
    cls = type(
        "ChainerBackend",
        (chainer.ChainerBackend,),
        {"backends": property(lambda self: list(backends))},
    )
    return cls()


@pytest.mark.parametrize(
    "make",
    [
        fail.Keyring,
        null.Keyring,
        plaintext_backend,
        lambda: chain_of(),
        lambda: chain_of(MemoryKeyring(), plaintext_backend()),
    ],
)
def test_F3_keyring_refuses_backends_that_do_not_protect(make):
    with pytest.raises(StorageError) as info:
        KeyringStore(backend=make())
    assert info.value.hint  # says what to do instead; no silent fallback


def test_F3_keyring_roundtrip_with_a_real_backend():
    backend = MemoryKeyring()
    store = KeyringStore(backend=backend)
    tok = make_token()
    assert store.get(KEY) is None
    store.set(KEY, tok)
    got = store.get(KEY)
    assert got is not None and same(got, tok) and got.source == "store"
    assert "MemoryKeyring" in store.describe() and store.describe().startswith("keyring (")
    other = ("127.0.0.1:9", "x")
    store.set(other, make_token(issuer=other[0], client_id=other[1]))
    assert sorted(store.keys()) == sorted([tuple(KEY), other])
    store.delete(KEY)
    assert store.get(KEY) is None and store.get(other) is not None
    assert store.keys() == [other]
    store.clear()  # F4: logout removes everything it stored
    assert backend.data == {}


def test_F3_keyring_in_a_chain_of_real_backends_is_accepted():
    store = KeyringStore(backend=chain_of(MemoryKeyring()))
    assert store.describe().startswith("keyring (")


def test_F3_corrupt_keyring_entry_is_a_miss():
    backend = MemoryKeyring()
    store = KeyringStore(backend=backend)
    backend.set_password("gitbook_nb", json.dumps(list(KEY)), "garbage SECRETCONTENT")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get(KEY) is None
    assert len(caught) == 1 and "SECRETCONTENT" not in str(caught[0].message)


# --------------------------------------------------------------------------- E2 in the stores


def _verbose_traceback(err: BaseException) -> str:
    """What ``%xmode Verbose`` prints (IPython's rendering), plus the repr of every local of
    every library frame (PITFALLS: Verbose prints the locals of each frame)."""
    from IPython.core.ultratb import VerboseTB

    texts = list(
        VerboseTB(include_vars=True).structured_traceback(type(err), err, err.__traceback__)
    )
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename != __file__:  # the test's own frame holds the fixtures
            texts += [f"{frame.f_code.co_name}.{k}={v!r}" for k, v in frame.f_locals.items()]
        tb = tb.tb_next
    return "\n".join(texts)


def test_E2_failed_file_write_traceback_holds_no_token(path):
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    tok = make_token()
    with pytest.raises(StorageError) as info:
        FileStore(path, fsync=broken_fsync).set(KEY, tok)
    text = _verbose_traceback(info.value)
    assert "set." in text  # the store's frames are there, with their locals
    assert tok.access_token.reveal() not in text
    assert tok.refresh_token.reveal() not in text


def test_E2_failed_keyring_write_traceback_holds_no_token():
    from keyring.errors import PasswordSetError

    class LockedKeyring(MemoryKeyring):
        def set_password(self, service, username, password):
            raise PasswordSetError("the keyring is locked")

    tok = make_token()
    with pytest.raises(StorageError) as info:
        KeyringStore(backend=LockedKeyring()).set(KEY, tok)
    text = _verbose_traceback(info.value)
    assert "set." in text
    assert tok.access_token.reveal() not in text
    assert tok.refresh_token.reveal() not in text


def test_stores_list_their_keys(tmp_path):
    from gitbook_nb.protocol.tokens import Secret, Token

    tok = Token(access_token=Secret("abc123"), issuer="api.example", client_id="gbc_x")
    for store in (MemoryStore(), FileStore(tmp_path / "t" / "tokens.json")):
        assert store.keys() == []
        store.set(tok.key, tok)
        assert store.keys() == [("api.example", "gbc_x")]
        store.delete(tok.key)
        assert store.keys() == []


def test_grant_information_survives_every_store(tmp_path):
    """A token read back in a new kernel still knows where it is renewed and revoked."""
    from gitbook_nb.protocol.tokens import GrantInfo

    info = GrantInfo(
        api_url="https://api.example/v1",
        issuer="https://auth.example",
        token_url="https://auth.example/token",
        revocation_url="https://auth.example/revoke",
        auth_method="client_secret_basic",
        redirect_uri="http://127.0.0.1:8765/callback",
    )
    tok = make_token(grant=info)
    for store in (FileStore(tmp_path / "t" / "tokens.json"), KeyringStore(backend=MemoryKeyring())):
        store.set(KEY, tok)
        got = store.get(KEY)
        assert got is not None and got.grant == info and same(got, tok)
        store.set(KEY, make_token())  # a token without one (personal, or an older file)
        assert store.get(KEY).grant is None


def test_F2_malformed_grant_information_is_a_corrupt_entry(path):
    store = FileStore(path)
    store.set(KEY, make_token())
    data = json.loads(path.read_text())
    data["tokens"][0]["grant"] = {"token_url": 5}
    path.write_text(json.dumps(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get(KEY) is None
    assert len(caught) == 1 and "unreadable" in str(caught[0].message)
