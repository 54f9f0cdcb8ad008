"""%gitbook / %%gitbook in a real IPython InteractiveShell against the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from typing import Any
from urllib.parse import unquote

import pytest
from IPython.core.error import UsageError

from gitbook_nb.display import JSONView, Result
from gitbook_nb.kernel.session import KernelSession, get_session, reset_session
from gitbook_nb.protocol.tokens import MASK

# ------------------------------------------------------------------ fixtures


@pytest.fixture
def magics(shell):
    m = shell.magics_manager.registry["GitBookMagics"]
    names = set(shell.user_ns)
    yield m
    for name in set(shell.user_ns) - names:  # no test leaves a variable for the next one
        del shell.user_ns[name]
    m.api, m.secret_prompt, m.widget_factory = (
        __import__("gitbook_nb.kernel.session").kernel.session,
        None,
        None,
    )
    m.autopandas, m.max_rows = False, 50
    with m.hold_trait_notifications():
        m.profile, m.timeout = "", None
    shell.run_line_magic("xmode", "Context")


@pytest.fixture(scope="module")
def pat(sandbox) -> str:
    """This module's own personal token: the sandbox's rate limit is per token, and other
    modules hammer the seeded one (G2)."""
    return sandbox.mint_token()


@pytest.fixture
def kernel(sb, magics):
    """A fresh kernel session pointed at the test sandbox (current API), not signed in."""
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    yield k
    reset_session(KernelSession(environ={}))


@pytest.fixture
def signed_in(kernel, sb, pat):
    kernel.login_with_token(pat)
    sb.clear_log()
    return kernel


@pytest.fixture
def legacy(sb, magics, pat):
    """A session on the sandbox's legacy API (books, legacy envelope), signed in."""
    k = reset_session(KernelSession(environ={}))
    k.configure(
        profile="legacy",
        api_url=sb.url,
        authorize_url=sb.url + "/oauth/authorize",
        token_url=sb.url + "/oauth/access_token",
    )
    k.login_with_token(pat)
    sb.clear_log()
    yield k
    reset_session(KernelSession(environ={}))


def run(shell, line: str, cell: str | None = None) -> Any:
    if cell is None:
        return shell.run_line_magic("gitbook", line)
    return shell.run_cell_magic("gitbook", line, cell)


def shown(shell, value: Any) -> tuple[str, str]:
    """(text/html, text/plain) exactly as the notebook would store them."""
    data, _ = shell.display_formatter.format(value)
    return data.get("text/html", ""), data.get("text/plain", "")


def cell(shell, capsys, code: str) -> tuple[str, str]:
    shell.run_cell(code)
    out = capsys.readouterr()
    return out.out, out.err


# ------------------------------------------------------------------ loading


def test_load_ext_registers_line_and_cell_magic(shell):
    assert "gitbook" in shell.magics_manager.magics["line"]
    assert "gitbook" in shell.magics_manager.magics["cell"]
    doc = shell.find_line_magic("gitbook").__doc__
    for option in ("--dry-run", "--max-pages", "--columns", "-o", "--json", "--all"):
        assert option in doc


def test_unload_and_reload(shell):
    from gitbook_nb import load_ipython_extension, unload_ipython_extension

    unload_ipython_extension(shell)
    assert "gitbook" not in shell.magics_manager.magics["line"]
    load_ipython_extension(shell)
    assert "gitbook" in shell.magics_manager.magics["cell"]


# ------------------------------------------------------------------ before login


def test_call_before_login_is_one_line_and_sends_nothing(shell, kernel, sb, capsys):
    out, err = cell(shell, capsys, "%gitbook orgs")
    # no live login widget in this kernel: the message says how to sign in, not "above"
    assert err.strip() == (
        "UsageError: not signed in: run %gitbook login, or set GITBOOK_TOKEN to a personal "
        "access token"
    )
    assert "Traceback" not in out + err
    assert sb.requests == []


def test_gitbook_token_environment_variable_signs_in(shell, sb, magics, monkeypatch, pat):
    monkeypatch.setenv("GITBOOK_TOKEN", pat)
    k = reset_session(KernelSession())
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    try:
        assert run(shell, "whoami").data["name"] == sb.user
        # E5: the live token from the environment is refused on the line too
        with pytest.raises(UsageError) as info:
            run(shell, f"GET /user q=x{pat}")
        assert pat not in str(info.value)
    finally:
        reset_session(KernelSession(environ={}))


# ------------------------------------------------------------------ shortcuts


def test_orgs_shortcut(shell, signed_in, sb, pat):
    res = run(shell, "orgs")
    assert isinstance(res, Result) and res.status == 200
    assert sb.ids["org"] in [r["id"] for r in res.rows]
    (req,) = sb.requests
    assert (req.method, req.path) == ("GET", "/v1/orgs")
    assert req.headers.get("Authorization") == f"Bearer {pat}"


def test_spaces_shortcut_with_interpolated_org(shell, signed_in, sb):
    shell.user_ns["org_id"] = sb.ids["org"]
    res = run(shell, "spaces {org_id}")
    assert sb.ids["space"] in [r["id"] for r in res.rows]
    assert sb.requests[-1].path == f"/v1/orgs/{sb.ids['org']}/spaces"


def test_pages_shortcut_shows_flattened_tree(shell, signed_in, sb):
    res = run(shell, f"pages {sb.ids['space']}")
    assert {"depth", "path", "title"} <= set(res.columns)
    depths = {r["depth"] for r in res.rows}
    assert 0 in depths and max(depths) >= 1
    nested = next(r for r in res.rows if r["depth"] == 1)
    assert " / " in nested["path"]


def test_search_shortcut_sends_the_query(shell, signed_in, sb):
    res = run(shell, f'search {sb.ids["space"]} "first steps"')
    assert isinstance(res, Result)
    req = sb.requests[-1]
    assert req.path == f"/v1/spaces/{sb.ids['space']}/search"
    assert req.params["query"] == ["first steps"]


def test_books_shortcut_on_the_legacy_api(shell, legacy, sb):
    res = run(shell, "books")
    assert res.rows and "title" in res.columns
    assert sb.requests[-1].path == "/books"


def test_books_shortcut_refused_on_the_current_api_without_a_request(shell, signed_in, sb):
    with pytest.raises(UsageError, match="legacy API"):
        run(shell, "books")
    assert sb.requests == []


# ------------------------------------------------------------------ raw calls


def test_raw_get_default_method_and_params(shell, signed_in, sb):
    me = run(shell, "/user")
    assert me.data["displayName"] == sb.user
    run(shell, f"GET /orgs/{sb.ids['org']}/spaces limit=2")
    req = sb.requests[-1]
    assert req.method == "GET" and req.params["limit"] == ["2"]


@pytest.mark.parametrize(
    "value",
    [
        "two words",
        "a/b",
        "ünïcödé 🚀",
        'say "hi" it\'s',
        "?&#=%",
        "<img src=x>",
    ],
)
def test_interpolated_values_reach_the_server_exactly(shell, signed_in, sb, value):
    shell.user_ns["q"] = value
    run(shell, f"GET /spaces/{sb.ids['space']}/search query={{q}}")
    assert sb.requests[-1].params["query"] == [value]
    sb.clear_log()
    if "/" in value:  # the client refuses an encoded slash outright (D4): nothing is sent
        with pytest.raises(UsageError, match="slash"):
            run(shell, "GET /spaces/{q}")
        assert sb.requests == []
        return
    with pytest.raises(UsageError, match="404"):
        run(shell, "GET /spaces/{q}")
    raw = sb.requests[-1].path
    assert raw.count("/") == 3 and unquote(raw) == f"/v1/spaces/{value}"


def test_quoted_values_and_query_in_path(shell, signed_in, sb):
    run(shell, f"GET '/spaces/{sb.ids['space']}/search?query=a%20b' extra='x \"y\"'")
    req = sb.requests[-1]
    assert req.params["query"] == ["a b"] and req.params["extra"] == ['x "y"']


def test_post_cell_body_is_json_with_interpolation(shell, legacy, sb):
    shell.user_ns.update(book_title='My "notes" <b>ü</b>', n_pages=3)
    res = run(
        shell,
        "POST /books",
        '{"title": {book_title}, "description": "About {book_title}",'
        ' "author": "ada", "n": {n_pages}}',
    )
    req = sb.requests[-1]
    assert (req.method, req.path) == ("POST", "/books")
    body = json.loads(req.body)
    assert body["title"] == 'My "notes" <b>ü</b>' and body["n"] == 3
    assert body["description"] == 'About My "notes" <b>ü</b>'
    assert res.status in (200, 201)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_patch_and_delete_reach_the_server(shell, signed_in, sb, method):
    with pytest.raises(UsageError, match="405"):
        run(shell, f"{method} /spaces/{sb.ids['space']}", '{"title": "x"}')
    req = sb.requests[-1]
    assert req.method == method and json.loads(req.body) == {"title": "x"}
    assert len([r for r in sb.requests if r.method == method]) == 1  # never retried (D7)


def test_head_request(shell, signed_in, sb):
    res = run(shell, "HEAD /user")
    assert (res.status, res.method, res.data) == (200, "HEAD", None)
    assert len(sb.requests) == 1  # (the sandbox logs a HEAD as the GET it answers)
    assert run(shell, "history").rows[-1]["method"] == "HEAD"


# ------------------------------------------------------------------ pagination


def test_all_follows_the_current_envelope_with_a_progress_bar(shell, signed_in, sb, capsys):
    path = f"/v1/orgs/{sb.ids['org']}/spaces"
    sb.add_fault("latency", path=path, seconds=0.6)  # a walk long enough to show the bar
    res = run(shell, f"spaces {sb.ids['org']} --all --limit 20")
    total = len(res.rows)
    assert res.pages == len(sb.requests) >= 3 and total > 20
    assert len({r["id"] for r in res.rows}) == total
    assert all(r.params["limit"] == ["20"] for r in sb.requests)
    err = capsys.readouterr().err
    assert "items" in err and "page" in err  # the transient tqdm bar (text front end)


def test_all_shows_no_bar_for_a_quick_walk(shell, signed_in, sb, capsys):
    res = run(shell, f"spaces {sb.ids['org']} --all --limit 5")
    assert res.pages >= 2
    assert "items" not in capsys.readouterr().err  # under a second: no flicker


def test_all_follows_the_legacy_envelope(shell, legacy, sb):
    res = run(shell, "books --all --limit 2")
    assert res.pages >= 2 and len(res.rows) > 2
    assert [r.params.get("page") for r in sb.requests][:2] == [None, ["1"]]


def test_max_pages_stops_with_a_note(shell, signed_in, sb):
    res = run(shell, f"GET /orgs/{sb.ids['org']}/spaces --max-pages 2 --limit 3")
    assert res.pages == 2 and len(sb.requests) == 2 and len(res.rows) == 6
    html, text = shown(shell, res)
    assert "stopped after 2 pages" in text and "stopped after 2 pages" in html


# ------------------------------------------------------------------ binding and display


def test_output_option_binds_and_displays(shell, signed_in):
    res = run(shell, "orgs -o my_orgs")
    assert shell.user_ns["my_orgs"] is res


def test_assignment_form_binds_a_result(shell, signed_in, capsys):
    cell(shell, capsys, "r = %gitbook orgs")
    assert isinstance(shell.user_ns["r"], Result)


def test_autopandas_binds_dataframes(shell, signed_in, magics):
    pd = pytest.importorskip("pandas")
    shell.run_line_magic("config", "GitBookMagics.autopandas = True")
    df = run(shell, "orgs -o orgs_df")
    assert isinstance(df, pd.DataFrame) and shell.user_ns["orgs_df"] is df
    assert "id" in df.columns


def test_max_rows_trait_caps_tables(shell, signed_in, sb, magics):
    shell.run_line_magic("config", "GitBookMagics.max_rows = 2")
    res = run(shell, f"spaces {sb.ids['org']}")
    html, text = shown(shell, res)
    assert "showing 2 of" in text and "showing 2 of" in html


def test_timeout_trait_feeds_session_settings(shell, kernel, magics):
    shell.run_line_magic("config", "GitBookMagics.timeout = 7.5")
    assert get_session().settings.read_timeout == 7.5
    shell.run_line_magic("config", "GitBookMagics.timeout = 500.0")
    assert get_session().settings.read_timeout == 500.0 <= get_session().settings.deadline


def test_profile_trait_switches_the_session_profile(shell, kernel, magics, caplog):
    shell.run_line_magic("config", "GitBookMagics.profile = 'legacy'")
    assert get_session().settings.profile == "legacy"
    shell.run_line_magic("config", "GitBookMagics.profile = 'nope'")  # %config logs errors
    assert "unknown profile 'nope'" in caplog.text
    assert get_session().settings.profile == "legacy"  # a bad value changes nothing


def test_json_option(shell, signed_in):
    view = run(shell, "GET /user --json")
    assert isinstance(view, JSONView)
    assert json.loads(view.text)["id"]
    html, _ = shown(shell, view)
    assert html.startswith("<pre")


def test_columns_option(shell, signed_in, sb):
    res = run(shell, f"spaces {sb.ids['org']} --columns id,title")
    assert res.columns == ["id", "title"]
    with pytest.raises(UsageError, match="unknown column nope.*available: "):
        run(shell, f"spaces {sb.ids['org']} --columns id,nope")


# ------------------------------------------------------------------ dry run


def test_dry_run_shows_masked_request_and_curl_and_sends_nothing(shell, signed_in, sb, pat):
    view = run(shell, f"GET /orgs/{sb.ids['org']}/spaces limit=3 --dry-run")
    html, text = shown(shell, view)
    assert f"GET {sb.url}/v1/orgs/{sb.ids['org']}/spaces?limit=3" in text
    assert f"Authorization: Bearer {MASK}" in text
    assert '-H "Authorization: Bearer $GITBOOK_TOKEN"' in text
    for out in (text, html, view.text):
        assert pat not in out
    assert sb.requests == []


def test_dry_run_of_a_post_shows_the_body(shell, signed_in, sb):
    shell.user_ns["t"] = "x y"
    view = run(shell, "POST /x --dry-run", '{"title": {t}}')
    assert '"title": "x y"' in view.text and "--data-raw" in view.text
    assert sb.requests == []


# ------------------------------------------------------------------ errors


def test_401_says_what_happened_to_the_token_and_to_sign_in_again_D5(shell, kernel, sb):
    tok = sb.mint_token()
    kernel.login_with_token(tok)
    sb.revoke_token(tok)
    with pytest.raises(UsageError) as info:
        run(shell, "orgs")
    message = str(info.value)
    assert "401" in message and "log in again (%gitbook login)" in message
    assert "has been forgotten" in message  # the auth flow's own words reach the user
    assert tok not in message and "\n" not in message


def test_403_names_the_missing_scope(shell, kernel, sb):
    kernel.login_with_token(sb.mint_token(scopes=["user:read"]))
    with pytest.raises(UsageError) as info:
        run(shell, "orgs")
    assert "403" in str(info.value) and "missing scope organization:read" in str(info.value)


def test_404(shell, signed_in):
    with pytest.raises(UsageError, match="GET /nope: 404 Not Found"):
        run(shell, "/nope")


def test_429_says_when_to_retry(shell, signed_in, sb):
    sb.add_fault("rate_limit", path="/v1/orgs", retry_after=1000)
    with pytest.raises(UsageError, match="429.*rate limited, retry in 1000 s"):
        run(shell, "orgs")


@pytest.mark.parametrize("code", [500, 503])
def test_5xx(shell, signed_in, sb, code):
    sb.add_fault("status", path="/v1/orgs", code=code)
    with pytest.raises(UsageError, match=f"{code}.*try again"):
        run(shell, "orgs")


def test_debug_shows_the_full_error_without_secrets(shell, signed_in, sb, pat):
    sb.add_fault("status", path="/v1/orgs", code=500)
    with pytest.raises(UsageError) as info:
        run(shell, "orgs --debug")
    text = str(info.value)
    for part in (
        "type: gitbook_nb.errors.ServerError",
        "method: GET",
        "path: /orgs",
        "status: 500",
        "hint:",
    ):
        assert part in text
    assert pat not in text


def test_bad_lines_send_nothing(shell, signed_in, sb):
    for line in (
        "frobnicate",
        "GET /x --wat",
        "//evil.example/x",
        "GET https://evil/x",
        "GET /a\\b",
        "GET /x/{undefined_name}",
        "whoami --all",
        "'unclosed",
    ):
        with pytest.raises(UsageError):
            run(shell, line)
    assert sb.requests == []


# ------------------------------------------------------------------ other subcommands


def test_whoami_status_config_history(shell, signed_in, sb, pat):
    assert run(shell, "whoami").data["name"] == sb.user
    status = run(shell, "status").data
    assert status["signed_in"] and status["token_source"] == "pat"
    config = run(shell, "config").data
    assert config["api_url"] == sb.url + "/v1"
    run(shell, "orgs")
    history = run(shell, "history")
    assert [(r["method"], r["path"], r["status"], r["pages"]) for r in history.rows][-1] == (
        "GET",
        "/orgs",
        200,
        1,
    )
    for out in shown(shell, history) + shown(shell, status and run(shell, "status")):
        assert pat not in out


def test_config_sets_values_and_masks_secrets(shell, kernel, sb):
    res = run(shell, "config read_timeout=9 page_limit=none")
    assert kernel.settings.read_timeout == 9.0 and res.data["read_timeout"] == 9.0
    secret = secrets.token_urlsafe(16)
    kernel.configure(client_secret=secret)
    html, text = shown(shell, run(shell, "config"))
    assert secret not in html + text and MASK in text
    with pytest.raises(UsageError, match="never accepted"):
        run(shell, "config client_secret=abcdefgh")
    with pytest.raises(UsageError, match="unknown setting"):
        run(shell, "config colour=blue")


def test_logout(shell, signed_in, capsys):
    run(shell, "logout")
    assert "Signed out of" in capsys.readouterr().out
    with pytest.raises(UsageError, match="not signed in"):
        run(shell, "orgs")


def test_history_without_calls(shell, kernel):
    html, text = shown(shell, run(shell, "history"))
    assert "no calls yet" in text


def test_login_token_uses_the_prompt(shell, kernel, sb, magics, capsys, pat):
    prompts = []
    magics.secret_prompt = lambda prompt: prompts.append(prompt) or pat
    assert run(shell, "login --token") is None
    assert f"Signed in as {sb.user}" in capsys.readouterr().out
    assert "personal access token" in prompts[0]
    assert run(shell, "orgs").status == 200


def test_login_token_refused_keeps_the_previous_sign_in(shell, kernel, sb, magics, pat):
    magics.secret_prompt = lambda prompt: pat
    run(shell, "login --token")
    magics.secret_prompt = lambda prompt: "gb_api_notarealtokenatall000000"
    with pytest.raises(UsageError) as info:
        run(shell, "login --token")
    assert "refused that token" in str(info.value) and "previous sign-in is kept" in str(info.value)
    assert "notarealtoken" not in str(info.value)
    assert run(shell, "orgs").status == 200  # still signed in with the first token


def test_login_token_without_an_answer(shell, kernel, magics):
    def no_stdin(prompt):
        raise EOFError

    magics.secret_prompt = no_stdin
    with pytest.raises(UsageError, match="no token was entered"):
        run(shell, "login --token")


def test_login_flow_legacy_switches_profile_family(shell, magics):
    k = reset_session(KernelSession(environ={}))
    try:
        k.configure(profile="sandbox")  # starts the session's own embedded sandbox
        token = k.sandbox.personal_token
        magics.secret_prompt = lambda prompt: token
        run(shell, "login --flow legacy --token")
        assert k.settings.profile == "sandbox-legacy" and k.settings.flow == "legacy"
        assert run(shell, "books").rows
    finally:
        reset_session(KernelSession(environ={}))


def test_login_shows_the_widget_and_completes_with_the_sandbox(shell, magics, capsys):
    from gitbook_nb.notebook.widget import LoginWidget

    reset_session(KernelSession(environ={}))
    widget = None
    try:
        widget = run(shell, "login --profile sandbox")
        assert isinstance(widget, LoginWidget)
        status = widget.complete_with_sandbox()
        assert "Signed in as" in status
        assert run(shell, "whoami").data["name"] == get_session().sandbox.user
    finally:
        if widget is not None:
            widget.close()
        reset_session(KernelSession(environ={}))


# ------------------------------------------------------------------ audit (E7)


def _notebook_with(text: str) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "source": "print(t)",
                "metadata": {},
                "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
            }
        ],
    }


def test_E7_audit_magic_finds_the_live_token(shell, signed_in, sb, tmp_path, pat):
    path = tmp_path / "leaky notebook.ipynb"
    path.write_text(json.dumps(_notebook_with(f"token is {pat}\n")))
    shell.user_ns["nb_path"] = str(path)
    res = run(shell, "audit {nb_path}")
    assert [(r["cell"], r["part"], r["kind"]) for r in res.rows] == [
        (0, "outputs[0].text", "live token")
    ]
    for out in shown(shell, res):
        assert pat not in out
        assert "1 finding" in out


def test_E7_audit_defaults_to_the_current_notebook(shell, kernel, tmp_path):
    path = tmp_path / "clean.ipynb"
    path.write_text(json.dumps(_notebook_with("nothing here\n")))
    shell.user_ns["__vsc_ipynb_file__"] = str(path)
    try:
        _, text = shown(shell, run(shell, "audit"))
        assert "no tokens or secrets found" in text
    finally:
        del shell.user_ns["__vsc_ipynb_file__"]
    with pytest.raises(UsageError, match="which notebook"):
        run(shell, "audit")


# ------------------------------------------------------------------ SECURITY


def test_D4_paths_are_refused_before_any_request(shell, signed_in, sb):
    shell.user_ns["evil"] = "../../admin"
    for line in (
        "//evil.example/x",
        "GET //evil.example/x",
        "GET https://evil.example/x",
        "GET /a\\b",
        "GET /x\r\nHost: evil",
        "GET /x/../y",
        "GET '/x y'",
    ):
        with pytest.raises(UsageError) as info:
            run(shell, line)
        assert "D4" not in str(info.value) and "security rule" not in str(info.value)
    shell.user_ns["dots"] = ".."
    for line in ("GET /spaces/{evil}", "GET /spaces/{dots}/x", "pages {evil}"):
        with pytest.raises(UsageError):  # encoded, then refused: never a path change
            run(shell, line)
    assert sb.requests == []


def test_E5_token_on_the_line_is_refused_without_echo(shell, signed_in, sb, pat):
    shell.user_ns["tok"] = pat
    for line in (
        f"GET /user q={pat}",
        "GET /user token=abcdef",
        "login --token " + pat,
        "GET /user/{tok}",
    ):
        with pytest.raises(UsageError) as info:
            run(shell, line)
        assert pat not in str(info.value)
        assert "%gitbook login --token" in str(info.value)
    assert sb.requests == []


def test_E6_html_looking_titles_render_as_text(shell, signed_in, sb):
    for res in (
        run(shell, f"GET /spaces/{sb.ids['html_space']}"),
        run(shell, f"pages {sb.ids['space']}"),
        run(shell, f"spaces {sb.ids['org']}"),
    ):
        html, text = shown(shell, res)
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<img" not in html
        assert "<img src=x onerror=alert(1)>" in text


def test_E1_whos_and_reprs_show_no_token(shell, signed_in, sb, magics, capsys, pat):
    run(shell, "orgs -o leaked_maybe")
    shell.user_ns["sess"] = get_session()
    shell.user_ns["tok_obj"] = get_session().token
    out, err = cell(shell, capsys, "%whos")
    assert "leaked_maybe" in out
    for text in (
        out,
        err,
        repr(get_session()),
        repr(magics),
        repr(vars(magics)),
        repr(get_session().token),
    ):
        assert pat not in text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_E2_verbose_tracebacks_hold_no_token(shell, signed_in, sb, magics, capsys, pat):
    shell.run_line_magic("xmode", "Verbose")
    capsys.readouterr()
    sb.add_fault("status", path="/v1/orgs", code=500)
    out_500 = "".join(cell(shell, capsys, "%gitbook orgs"))
    sb.add_fault("latency", path="/v1/user", seconds=1.0)
    shell.run_line_magic("config", "GitBookMagics.timeout = 0.2")
    out_timeout = "".join(cell(shell, capsys, "%gitbook /user"))
    # a refused connection, with a token that would be sent (GITBOOK_TOKEN fits any host)
    k = reset_session(KernelSession(environ={"GITBOOK_TOKEN": pat}))
    k.configure(api_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=0)
    out_refused = "".join(cell(shell, capsys, "%gitbook orgs"))
    for out in (out_500, out_timeout, out_refused):
        assert out.startswith("UsageError: ") and "Traceback" not in out
        assert pat not in out
    assert "500" in out_500
    assert "not signed in" not in out_refused


def test_E2_unexpected_errors_print_no_token_in_verbose_frames(
    shell, signed_in, sb, magics, capsys, pat
):
    class Broken:
        get_session = staticmethod(get_session)

        def request(self, *a, **kw):
            raise RuntimeError("a bug, not a GitBook error")

    magics.api = Broken()
    shell.run_line_magic("xmode", "Verbose")
    capsys.readouterr()
    out = "".join(cell(shell, capsys, "%gitbook GET /user"))
    assert "RuntimeError" in out and "live" in out  # the frame's locals were printed...
    assert pat not in out  # ...but the live secrets only as a mask


def test_100k_rows_render_bounded_with_footer(shell, magics):
    rows = [
        {"id": f"id-{i:06d}", "title": f"Title {i} " + "x" * 50, "n": i} for i in range(100_000)
    ]

    class Big:
        get_session = staticmethod(get_session)

        def request(self, method, path, **kw):
            return Result(rows, method=method, path=path)

    magics.api = Big()
    res = run(shell, "GET /big")
    html, text = shown(shell, res)
    assert len(html.encode()) < 100_000 and len(text.encode()) < 100_000
    assert "showing 50 of 100000 rows" in html and "showing 50 of 100000 rows" in text


# ------------------------------------------------------------------ issue 14: words
def usage_error(shell, line: str, cell: str | None = None) -> str:
    with pytest.raises(UsageError) as info:
        run(shell, line, cell)
    text = str(info.value)
    assert "\n" not in text  # one line
    return text


@pytest.fixture
def sandbox_kernel(magics):
    """A fresh session on the sandbox profile (its own sandbox), not signed in."""
    k = reset_session(KernelSession(environ={}))
    k.configure(profile="sandbox")
    yield k
    reset_session(KernelSession(environ={}))
    k.close()


def test_not_signed_in_points_at_a_widget_only_while_one_waits(shell, sandbox_kernel):
    from gitbook_nb.kernel import environment as E
    from gitbook_nb.notebook.widget import login

    kernel = sandbox_kernel
    assert usage_error(shell, "orgs") == "not signed in: run %gitbook login"  # sandbox: no token
    w = login(session=kernel, environment_=E.detect({}, modules={}), display=False)
    try:
        assert usage_error(shell, "orgs") == (
            "not signed in yet: finish the sign-in in the login widget above, or run %gitbook login"
        )
        w.cancel()  # a widget that no longer waits is not pointed at
        assert usage_error(shell, "orgs") == "not signed in: run %gitbook login"
    finally:
        w.close()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GTE /user", "unknown subcommand 'GTE': did you mean GET?"),
        ("whomai", "unknown subcommand 'whomai': did you mean whoami?"),
        ("GET user", "a path starts with /: did you mean %gitbook GET /user?"),
        ("user", "unknown subcommand 'user': did you mean %gitbook GET /user?"),
        ("orgs --colums id", "unknown option --colums: did you mean --columns?"),
        ("pages Engine handbook", "usage: %gitbook pages SPACE_ID"),
        ("spaces", "usage: %gitbook spaces ORG_ID [key=value ...]"),
        ("search only-a-space", 'usage: %gitbook search SPACE_ID "query"'),
    ],
)
def test_did_you_mean_and_usage(shell, signed_in, sb, line, expected):
    assert usage_error(shell, line).startswith(expected)
    assert sb.requests == []


def test_did_you_mean_knows_feature_subcommands(shell, signed_in):
    from gitbook_nb.notebook._magic_parse import FEATURES

    if not [w for w in FEATURES if " " not in w]:
        pytest.skip("no feature subcommands registered in this tree")
    name = next(w for w in FEATURES if " " not in w and len(w) > 3)
    assert f"did you mean {name}?" in usage_error(shell, name[:-1] + "x")


def test_no_rule_ids_in_messages(shell, signed_in, sb):
    for line in ("GET //evil.example/x", "GET /a\\b", "GET /x/../y", "pages .."):
        text = usage_error(shell, line)
        assert not re.search(r"\b[A-G][0-9]\b|SECURITY|security rule", text), text


def test_gitbook_help_is_clean_text(shell):
    doc = shell.find_line_magic("gitbook").__doc__
    assert "::" not in doc and "``" not in doc
    assert "--columns all" in doc and "--wait" in doc


def test_gitbook_help_names_every_feature_subcommand(shell):
    from gitbook_nb.notebook._magic_vocab import FEATURES

    doc = shell.find_line_magic("gitbook").__doc__
    missing = [name for name in FEATURES if f"%gitbook {name} " not in doc
               and f" {name} " not in doc and f"%%gitbook {name} " not in doc]  # fmt: skip
    assert missing == []


def test_whoami_shows_no_empty_fields_and_is_in_history(shell, signed_in, sb):
    res = run(shell, "whoami")
    fields = [r["field"] for r in res.rows]
    assert fields[:2] == ["name", "id"] and "username" not in fields  # v1 users have none
    assert all(r["value"] not in (None, "") for r in res.rows)
    assert [(r["method"], r["path"]) for r in run(shell, "history").rows][-1] == ("GET", "/user")


def test_dry_run_curl_line_works_as_pasted_against_the_sandbox(shell, sandbox_kernel):
    import shutil
    import subprocess

    kernel = sandbox_kernel
    sandbox = kernel.sandbox
    kernel.login_with_token(sandbox.personal_token)
    view = run(shell, "GET /user --dry-run")
    line = view.text.splitlines()[-1]
    assert line.startswith("curl ") and sandbox.personal_token not in view.text
    assert "the sandbox's token is read from a file only you can read" in view.text
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    out = subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, timeout=60, env=env, check=True
    )
    assert json.loads(out.stdout)["displayName"] == sandbox.user


def test_dry_run_for_real_gitbook_reads_gitbook_token(shell, signed_in, sb):
    view = run(shell, "GET /user --dry-run")
    assert '"Authorization: Bearer $GITBOOK_TOKEN"' in view.text
    assert "set GITBOOK_TOKEN to a personal access token first" in view.text


def test_error_in_a_kernel_is_shown_as_html_that_wraps_between_words(
    shell, signed_in, monkeypatch, capsys
):
    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # as in ipykernel
    shown_objects: list[Any] = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, **kw: shown_objects.append(data))
    with pytest.raises(UsageError) as info:
        run(shell, "GTE /user")
    assert str(info.value) == "%gitbook stopped; the message above says why"
    html_out = shown_objects[-1]["text/html"]
    assert "did you mean GET?" in html_out and "word-break:normal" in html_out
    assert shown_objects[-1]["text/plain"].startswith("unknown subcommand 'GTE'")


# ------------------------------------------------------------------ issue 14: tables
def headers(shell, res: Any) -> list[str]:
    html_out, _ = shown(shell, res)
    return re.findall(r"<th>([^<]*)</th>", html_out)


def test_default_columns_of_every_shortcut(shell, signed_in, sb):
    ids = sb.ids
    assert headers(shell, run(shell, "orgs")) == [
        "id",
        "title",
        "type",
        "plan",
        "hostname",
        "createdAt",
    ]
    assert headers(shell, run(shell, f"spaces {ids['org']}")) == [
        "id",
        "title",
        "emoji",
        "visibility",
        "changeRequestsOpen",
        "updatedAt",
    ]
    assert headers(shell, run(shell, f"pages {ids['space']}")) == [
        "id",
        "title",
        "path",
        "type",
        "slug",
    ]
    assert headers(shell, run(shell, f"search {ids['space']} engine")) == [
        "id",
        "title",
        "path",
        "description",
        "score",
    ]
    assert headers(shell, run(shell, f"GET /orgs/{ids['org']}/members")) == [
        "id",
        "user.displayName",
        "user.email",
        "role",
        "lastSeenAt",
    ]
    assert headers(shell, run(shell, f"GET /orgs/{ids['org']}/collections"))[:2] == ["id", "title"]
    assert headers(shell, run(shell, f"GET /spaces/{ids['space']}/change-requests"))[:3] == [
        "id",
        "number",
        "subject",
    ]


def test_default_columns_of_legacy_books(shell, legacy):
    assert headers(shell, run(shell, "books")) == [
        "id",
        "title",
        "public",
        "author.name",
        "language.name",
        "dates.created",
    ]


def test_columns_all_and_the_footer(shell, signed_in, sb):
    res = run(shell, "orgs --columns all")
    assert len(headers(shell, res)) > 20
    html_out, text = shown(shell, run(shell, "orgs"))
    assert re.search(r"showing [0-9]+ of [0-9]+ rows?, 6 of [0-9]+ columns \(--columns all\)", text)
    assert 'class="gitbook-nb-scroll" style="overflow-x:auto' in html_out


def test_long_values_are_cut_with_a_tooltip(shell, signed_in, sb):
    html_out, _ = shown(shell, run(shell, f"spaces {sb.ids['org']} --columns id,urls.app"))
    m = re.search(r'<td title="([^"]+)">([^<]+)</td>', html_out)
    assert m and m.group(2).endswith("…") and m.group(1).startswith(m.group(2)[:-1])


# ------------------------------------------------------------------ issue 14: login --wait
@pytest.fixture
def sandbox_widgets(shell, sandbox_kernel, magics):
    """%gitbook login builds real widgets on the sandbox session, as a local or paste kernel."""
    from gitbook_nb.kernel import environment as E
    from gitbook_nb.notebook.widget import login

    made: list[Any] = []

    def factory(mode: str | None = None):
        def make() -> Any:
            w = login(session=sandbox_kernel, environment_=E.detect({}, modules={}), mode=mode)
            made.append(w)
            return w

        return make

    yield factory
    for w in made:
        w.close()


def test_login_wait_in_paste_mode_says_why_it_cannot(shell, magics, sandbox_widgets):
    magics.widget_factory = sandbox_widgets("paste")
    text = usage_error(shell, "login --wait")
    assert text.startswith("--wait cannot wait in paste mode") and "paste the address" in text


def test_login_wait_times_out_with_one_line(shell, magics, sandbox_widgets):
    magics.widget_factory = sandbox_widgets()
    text = usage_error(shell, "login --wait 0.2")
    assert text.startswith("Stopped waiting after 0 s and cancelled the sign-in")


def test_login_wait_returns_once_signed_in(shell, magics, sandbox_widgets, sandbox_kernel):
    import threading
    import time

    import requests

    magics.widget_factory = sandbox_widgets()
    http = requests.Session()
    http.trust_env = False
    gone = threading.Event()

    def browser() -> None:  # the person approving in the other tab while the cell waits
        deadline = time.monotonic() + 30
        while sandbox_kernel.pending is None and time.monotonic() < deadline:
            gone.wait(0.01)
        http.get(sandbox_kernel.sandbox.approve(sandbox_kernel.pending.authorize_url), timeout=30)

    t = threading.Thread(target=browser, daemon=True)
    t.start()
    w = run(shell, "login --wait 60")
    t.join(30)
    assert w.state == "signed-in" and run(shell, "whoami").data["name"] == "Ada Lovelace"
