"""SECURITY.md G1 for the magic line: generated %gitbook lines never crash, bad ones send nothing.

Three layers: 10,000 lines into the pure parser; 2,000 lines through the real magic in an
InteractiveShell with a recording API in place of the session (injected, not patched); and a
few hundred hostile lines through the real session against the sandbox, whose request log
must stay empty for every line the parser refuses.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from gitbook_nb.display import Result
from gitbook_nb.errors import GitBookError
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.notebook._magic_parse import Command, parse
from gitbook_nb.protocol import config
from gitbook_nb.protocol.tokens import Secret, Token

LIVE = "gb_api_" + secrets.token_urlsafe(24)
NS: dict[str, Any] = {
    "v": "a b/c",
    "u": "ünï 🚀",
    "n": 3,
    "d": {"k": "x"},
    "tok": LIVE,
    "dots": "..",
}

WORDS = [
    "login",
    "whoami",
    "status",
    "logout",
    "config",
    "history",
    "audit",
    "orgs",
    "spaces",
    "pages",
    "search",
    "books",
    "GET",
    "POST",
    "PATCH",
    "DELETE",
    "HEAD",
    "get",
    "PUT",
    "frobnicate",
    "help",
    "-Mabc",
    "abc",
    "x.ipynb",
]
OPTS = [
    "--all",
    "--max-pages",
    "--max-pages=2",
    "--limit",
    "--limit=0",
    "-o",
    "-o=res",
    "--json",
    "--columns",
    "--columns=id",
    "--dry-run",
    "--debug",
    "--flow",
    "--flow=legacy",
    "--profile",
    "--token",
    "--token=abc",
    "--",
    "--wat",
    "-",
    "2",
    "res",
    "legacy",
]
PIECES = [
    "/",
    "//",
    "evil.example",
    "https:",
    "http://x",
    "\\",
    "\r",
    "\n",
    "\t",
    "..",
    ".",
    "%2e",
    "%2F",
    "%zz",
    "%",
    "#",
    "?",
    "&",
    "=",
    "{",
    "}",
    "{{",
    "}}",
    "{v}",
    "{u}",
    "{n}",
    "{d.k}",
    "{missing}",
    "{v.x}",
    "{d._k}",
    "{tok}",
    "{dots}",
    " ",
    "'",
    '"',
    "ü",
    "🚀",
    "\u200b",
    "\u00a0",
    "\x00",
    "token=",
    "Authorization:",
    "Bearer ",
    "gb_api_" + "a" * 20,
    LIVE,
    "ab12" * 10,
    "spaces",
    "orgs",
    "abc",
    "1",
    "q=",
    "key",
]

paths = st.lists(st.sampled_from(PIECES), max_size=7).map("".join)
pairs = st.tuples(st.sampled_from(["q", "query", "limit", "token", "a-b", "", "x"]), paths).map(
    lambda kv: f"{kv[0]}={kv[1]}"
)
quoted = paths.map(lambda s: f"'{s}'") | paths.map(lambda s: f'"{s}"')
word = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(OPTS), paths, pairs, quoted, st.text(max_size=8)
)
structured = st.lists(word, min_size=1, max_size=8).map(" ".join)
# Mostly-valid lines from the grammar, and the same lines with one hostile piece spliced in:
# the fuzz must reach the deep parts of the parser, not only its first refusal.
segment = st.sampled_from(
    [
        "orgs",
        "spaces",
        "abc",
        "-Mx",
        "{v}",
        "{u}",
        "{n}",
        "{d.k}",
        "ü",
        "x%20y",
        "content",
        "search",
    ]
)
good_path = st.lists(segment, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s))
good_pair = st.tuples(
    st.sampled_from(["q", "limit", "page", "query"]),
    st.sampled_from(["1", "'a b'", "{u}", '"x y"', "ü", "{{lit}}"]),
).map("=".join)
good_opts = st.lists(
    st.sampled_from(
        [
            "--all",
            "--json",
            "--dry-run",
            "--debug",
            "-o res",
            "--columns id",
            "--limit 5",
            "--max-pages 2",
        ]
    ),
    max_size=2,
).map(" ".join)
call_line = st.tuples(
    st.sampled_from(["", "GET ", "POST ", "DELETE ", "HEAD ", "PATCH "]),
    good_path,
    st.lists(good_pair, max_size=2).map(" ".join),
    good_opts,
).map(lambda t: f"{t[0]}{t[1]} {t[2]} {t[3]}")
shortcut_line = st.tuples(
    st.sampled_from(
        [
            "orgs",
            "spaces {v}",
            "spaces -Mx",
            "pages abc",
            "search abc 'q w'",
            "books",
            "whoami",
            "status",
            "history",
            "config",
            "logout",
            "config read_timeout=5",
            "audit x.ipynb",
            "login --token",
            "login --flow legacy",
        ]
    ),
    good_opts,
).map(" ".join)
grammar = st.one_of(call_line, shortcut_line)
mutated = st.tuples(grammar, st.sampled_from(PIECES + OPTS), st.integers(0, 60)).map(
    lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
)
lines = st.one_of(grammar, mutated, structured, st.text(max_size=60))
cells = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    st.sampled_from(
        [
            '{"a": {v}}',
            '{"a": "{u} {{x}}"}',
            "{",
            '{"t": "' + LIVE + '"}',
            "[]",
            "null",
            '{"a": {missing}}',
            '{"a": {d}}',
            '{"a": {tok}}',
            "  \n",
        ]
    ),
    st.text(max_size=30),
)
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


def parsed(line: str, cell: str | None, ns: dict[str, Any]) -> Command | None:
    """The Command, or None when the line is refused with a gitbook_nb error."""
    try:
        return parse(line, cell, namespace=ns, secrets=[LIVE])
    except GitBookError:
        return None


@settings(FUZZ, max_examples=10_000)
@given(line=lines, cell=cells)
def test_G1_parser_ends_in_a_command_or_a_gitbook_error(line, cell):
    cmd = parsed(line, cell, NS)  # any other exception fails the test
    if cmd is None:
        return
    assert isinstance(cmd, Command)
    if cmd.action == "call":  # what would be sent is safe (D4, E5)
        assert cmd.path.startswith("/") and not cmd.path.startswith("//")
        assert cmd.path.isascii() and "\\" not in cmd.path and "#" not in cmd.path
        assert not any(c.isspace() or ord(c) < 0x20 for c in cmd.path)
        assert ".." not in cmd.path.split("/")
        sent = cmd.path + json.dumps(cmd.params) + json.dumps(cmd.body, ensure_ascii=False)
        assert LIVE not in sent and "gb_api_" not in sent


# ------------------------------------------------------------------ through the real magic


class RecordingAPI:
    """Stands in for gitbook_nb.kernel.session: records every call, sends nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        token = Token(access_token=Secret(LIVE), issuer="api.gitbook.com", source="pat")
        self._session = type("S", (), {"token": token, "settings": config.resolve(environ={})})

    def _record(self, name: str, *a: Any, **kw: Any) -> None:
        self.calls.append((name, a, kw))

    def get_session(self) -> Any:
        return self._session

    def request(self, method: str, path: str, **kw: Any) -> Result:
        self._record("request", method, path, **kw)
        return Result({"ok": True}, method=method, path=path)

    def paginate(self, path: str, **kw: Any) -> Result:
        self._record("paginate", path, **kw)
        return Result([{"id": 1}], path=path)

    def prepare(self, method: str, path: str, **kw: Any) -> dict:
        self._record("prepare", method, path, **kw)
        return {
            "method": method,
            "url": "https://api.gitbook.com/v1" + path,
            "headers": {"Authorization": "Bearer ********"},
            "json": kw.get("json"),
        }

    def configure(self, **kw: Any) -> Any:
        self._record("configure", **kw)
        return config.resolve(configured=kw, environ={})  # validates like the session

    def profile(self, name: str) -> Any:
        return self.configure(profile=name)

    def login_with_token(self, token: Any) -> None:
        self._record("login_with_token")

    def whoami(self) -> dict:
        self._record("whoami")
        return {"name": "Ada"}

    def status(self) -> dict:
        self._record("status")
        return {"host": "api.gitbook.com"}

    def logout(self) -> dict:
        self._record("logout")
        return {"host": "api.gitbook.com", "was_signed_in": True, "note": None}

    def history(self) -> list:
        self._record("history")
        return []


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "gitbook_nb")
    return sh


@pytest.fixture
def recording(shell):
    magics = shell.magics_manager.registry["GitBookMagics"]
    api = RecordingAPI()
    magics.api = api
    magics.widget_factory = lambda: api._record("widget") or "widget"
    magics.secret_prompt = lambda prompt: "typed-token-value"
    yield api
    from gitbook_nb.kernel import session

    magics.api, magics.widget_factory, magics.secret_prompt = session, None, None


@settings(FUZZ, max_examples=2_000)
@given(line=lines, cell=cells)
def test_G1_magic_invalid_lines_call_nothing(shell, recording, capsys, line, cell):
    before = dict(shell.user_ns)
    shell.user_ns.update(NS)
    recording.calls.clear()
    valid = parsed(line, cell, shell.user_ns) is not None
    try:
        if cell is None:
            shell.run_line_magic("gitbook", line)
        else:
            shell.run_cell_magic("gitbook", line, cell)
    except UsageError as err:
        assert LIVE not in str(err)
    finally:
        for name in set(shell.user_ns) - set(before):
            del shell.user_ns[name]
        shell.user_ns.update(before)
        capsys.readouterr()
    if not valid:
        assert recording.calls == []


# ------------------------------------------------------------------ against the sandbox

hostile = st.one_of(
    st.tuples(st.sampled_from(["", "GET ", "POST ", "HEAD "]), paths).map("".join),
    st.tuples(st.sampled_from(["GET /user ", "orgs ", "spaces "]), pairs).map("".join),
)


@pytest.fixture(scope="module")
def live_kernel(sandbox):
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sandbox.url + "/v1", oauth_url=sandbox.url, max_retries=0)
    token = sandbox.mint_token()  # own rate-limit bucket
    k.login_with_token(token)
    yield k, token
    reset_session(KernelSession(environ={}))


@settings(FUZZ, max_examples=400)
@given(line=hostile)
def test_G1_refused_lines_never_reach_the_sandbox(shell, sandbox, live_kernel, capsys, line):
    _, token = live_kernel
    before = dict(shell.user_ns)
    shell.user_ns.update(NS, tok=token)
    valid = parsed(line, None, shell.user_ns) is not None
    sandbox.clear_log()
    try:
        shell.run_line_magic("gitbook", line)
    except UsageError as err:
        assert token not in str(err)
    finally:
        for name in set(shell.user_ns) - set(before):  # leave no token for later tests
            del shell.user_ns[name]
        shell.user_ns.update(before)
        capsys.readouterr()
    if not valid:
        assert sandbox.requests == []
