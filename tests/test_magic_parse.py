"""The %gitbook line parser and {name} interpolation, as pure functions (no shell, no HTTP)."""

from __future__ import annotations

import json
import secrets
from types import SimpleNamespace
from urllib.parse import quote, unquote

import pytest

from gitbook_nb.errors import (
    APIError,
    AuthenticationError,
    GitBookError,
    NotFoundError,
    NotLoggedInError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    UnsafeRequestError,
)
from gitbook_nb.notebook._magic_interp import (
    LiveSecrets,
    MagicLineError,
    interpolate_body,
    validate_path,
)
from gitbook_nb.notebook._magic_output import DryRun, curl_line, explain
from gitbook_nb.notebook._magic_parse import Command, parse, split_words
from gitbook_nb.protocol.tokens import MASK, Secret

NS = {
    "space": "a b/c?d#e",
    "title": 'He said "hi" <img src=x>',
    "uni": "Ünïcödé 🚀 دليل",
    "n": 3,
    "org": "-Mxyz",
    "row": {"id": "x1", "meta": {"tags": ["a", "b"]}},
    "obj": SimpleNamespace(name="obj-name", _hidden="no"),
    "dots": "..",
}


def p(line: str, cell: str | None = None, **kw) -> Command:
    return parse(line, cell, namespace=NS, **kw)


# ------------------------------------------------------------------ subcommands and shortcuts


@pytest.mark.parametrize("word", ["whoami", "status", "logout", "history", "WhoAmI"])
def test_simple_subcommands(word):
    assert p(word).action == word.lower()


def test_login_options():
    cmd = p("login --flow legacy --profile sandbox --token")
    assert cmd.action == "login"
    assert (cmd.options.flow, cmd.options.profile, cmd.options.token) == ("legacy", "sandbox", True)
    with pytest.raises(MagicLineError, match="invalid choice"):
        p("login --flow sideways")


def test_config_show_and_set():
    assert p("config").settings == ()
    assert p("config read_timeout=5 scopes='a b'").settings == (
        ("read_timeout", "5"),
        ("scopes", "a b"),
    )


def test_audit_path_with_spaces_and_interpolation():
    assert p("audit 'my notebook.ipynb'").args == ("my notebook.ipynb",)
    assert p("audit {uni}").args == (NS["uni"],)
    assert p("audit").args == ()
    with pytest.raises(MagicLineError):
        p("audit a.ipynb b.ipynb")


def test_shortcuts_build_current_api_paths():
    assert p("orgs").path == "/orgs"
    cmd = p("spaces {org}")
    assert (cmd.path, cmd.api) == ("/orgs/-Mxyz/spaces", "current")
    assert p("spaces -MLiteral").path == "/orgs/-MLiteral/spaces"  # ids may start with '-'
    pages = p("pages abc")
    assert (pages.path, pages.render) == ("/spaces/abc/content", "pages")
    search = p('search abc "hello world"')
    assert (search.path, search.params) == ("/spaces/abc/search", (("query", "hello world"),))
    books = p("books")
    assert (books.path, books.api) == ("/books", "legacy")


def test_shortcut_argument_is_one_encoded_segment():
    # spaces, slashes, ? and # in a value cannot change the path (D4)
    assert p("pages {space}").path == "/spaces/a%20b%2Fc%3Fd%23e/content"
    assert p("spaces 'x/../y'").path == "/orgs/x%2F..%2Fy/spaces"


@pytest.mark.parametrize("line", ["spaces", "pages", "search abc", "search"])
def test_shortcut_missing_arguments(line):
    with pytest.raises(MagicLineError, match="usage"):
        p(line)


def test_raw_calls_and_default_get():
    assert (p("/user").method, p("/user").path) == ("GET", "/user")
    for method in ("GET", "POST", "PATCH", "DELETE", "HEAD", "get"):
        assert p(f"{method} /x").method == method.upper()
    with pytest.raises(MagicLineError, match="needs a path"):
        p("GET")


def test_unknown_subcommand_is_refused():
    with pytest.raises(MagicLineError, match="unknown subcommand 'frobnicate'"):
        p("frobnicate")
    with pytest.raises(MagicLineError, match="what should"):
        p("   ")


# ------------------------------------------------------------------ options


def test_options_anywhere_on_the_line():
    cmd = p("GET /orgs --all --max-pages 3 a=1 -o out --columns id,title")
    assert cmd.options.all and cmd.options.max_pages == 3
    assert cmd.options.output == "out" and cmd.options.columns == ("id", "title")
    assert cmd.params == (("a", "1"),)


def test_max_pages_implies_all_and_limit_is_a_page_size():
    assert p("/orgs --max-pages 2").options.all
    assert dict(p("/orgs --limit 7").params) == {"limit": "7"}
    assert p("/orgs --all --limit 7").params == ()  # paginate passes it per page


@pytest.mark.parametrize(
    "line, message",
    [
        ("/x --limit 0", "at least 1"),
        ("/x --max-pages two", "whole number"),
        ("/x -o 1abc", "variable name"),
        ("/x -o class", "variable name"),
        ("/x -o __builtins__", "variable name"),
        ("/x -o get_ipython", "variable name"),
        ("/x -o _", "variable name"),
        ("/x --json --columns a", "cannot be combined"),
        ("/x --columns ,", "at least one"),
        ("/x --wat", "unknown option --wat"),
        ("/x --al", "unknown option --al"),  # no abbreviations
        ("whoami --all", "does not apply to whoami"),
        ("login --json", "does not apply to login"),
        ("logout -o x", "does not apply to logout"),
        ("POST /x --all", "GET only"),
        ("pages abc --all", "does not apply"),
        ("/x --limit", "needs a value"),
    ],
)
def test_bad_options_are_refused(line, message):
    with pytest.raises(MagicLineError, match=message):
        p(line)


def test_double_dash_ends_options():
    assert p("spaces -- --weird-id").path == "/orgs/--weird-id/spaces"


# ------------------------------------------------------------------ interpolation


def test_interpolation_in_path_is_url_encoded():
    assert p("/spaces/{space}").path == "/spaces/a%20b%2Fc%3Fd%23e"
    assert p("/x/{uni}").path == "/x/" + quote(NS["uni"], safe="")
    assert unquote(p("/x/{uni}").path) == "/x/" + NS["uni"]
    assert p("/x/{title}").path == "/x/He%20said%20%22hi%22%20%3Cimg%20src%3Dx%3E"
    assert p("/x/{n}/{row.id}/{obj.name}").path == "/x/3/x1/obj-name"


def test_interpolation_in_query_values_round_trips():
    cmd = p("/x?q={space}&t={title} k={uni} quoted='a \"b\" c' lit=100%")
    assert dict(cmd.params) == {
        "q": NS["space"],
        "t": NS["title"],
        "k": NS["uni"],
        "quoted": 'a "b" c',
        "lit": "100%",
    }
    assert dict(p("/x?y=%20z").params) == {"y": " z"}


def test_repeated_query_keys_become_a_list():
    assert p("/x a=1 a=2 b=3").query == {"a": ["1", "2"], "b": "3"}


def test_literal_braces():
    assert dict(p("/x q={{literal}}").params) == {"q": "{literal}"}
    assert p("/x/{{a}}").path == "/x/%7Ba%7D"


@pytest.mark.parametrize(
    "line, message",
    [
        ("/x/{nope}", "unknown name 'nope'"),
        ("/x q={nope.attr}", "unknown name 'nope'"),
        ("/x/{space", "single '{'"),
        ("/x/a}", "single '}'"),
        ("/x/{}", "is not a name"),
        ("/x/{1abc}", "is not a name"),
        ("/x/{space.upper()}", "is not a name"),  # never eval
        ("/x/{row[0]}", "is not a name"),
        ("/x/{obj._hidden}", "private"),
        ("/x/{obj.__class__}", "private"),
        ("/x/{obj.missing}", "has no 'missing'"),
    ],
)
def test_bad_interpolation_is_one_line(line, message):
    with pytest.raises(MagicLineError, match=message) as info:
        p(line)
    assert "\n" not in str(info.value)


def test_body_json_encoding_and_string_context():
    body = (
        '{"title": {title}, "n": {n}, "row": {row}, "s": "Re: {title} {{lit}}", '
        '"u": "{uni}", "nested": {"id": {row.id}}, "tags": {row.meta.tags}}'
    )
    cmd = p("POST /x", body)
    assert cmd.body == {
        "title": NS["title"],
        "n": 3,
        "row": NS["row"],
        "s": f"Re: {NS['title']} {{lit}}",
        "u": NS["uni"],
        "nested": {"id": "x1"},
        "tags": ["a", "b"],
    }


def test_body_quotes_in_values_cannot_break_out_of_a_string():
    evil = {"v": '", "admin": true, "x": "'}
    body = interpolate_body('{"name": "{v}"}', evil)
    assert body == {"name": evil["v"]}


@pytest.mark.parametrize(
    "cell, message",
    [
        ('{"a": {missing}}', "unknown name 'missing'"),
        ('{"a": {obj}}', "cannot be sent as JSON"),
        ('{"a": 1', "not JSON"),
        ("not json at all", "not JSON"),
    ],
)
def test_bad_bodies(cell, message):
    with pytest.raises(MagicLineError, match=message):
        p("POST /x", cell)


def test_body_rules():
    assert p("POST /x", "   \n").body is None
    assert p("DELETE /x").body is None
    with pytest.raises(MagicLineError, match="has no body"):
        p("GET /x", '{"a": 1}')
    with pytest.raises(MagicLineError, match="no cell body"):
        p("orgs", '{"a": 1}')


# ------------------------------------------------------------------ SECURITY D4


@pytest.mark.parametrize(
    "line",
    [
        "//evil.example/x",
        "GET //evil.example/x",
        "https://evil.example/x",
        "GET http://127.0.0.1/x",
        "GET evil.example/x",
        "/a\\b",
        "GET \\\\evil\\x",
        "/a\rb",
        "/a\nb",
        "GET /a\r\nHost: evil",
        "'/a b'",
        "/a\u200bb",
        "/a\u00a0b",
        "/a#frag",
        "/x/../admin",
        "/x/%2e%2e/admin",
        "/x/./y",
        "/x/{dots}/y",
        "pages {dots}",
        "/x/https://evil.example",
        "/x/%zz",
    ],
)
def test_D4_bad_paths_are_refused_before_any_request(line):
    with pytest.raises(GitBookError) as info:
        p(line)
    assert isinstance(info.value, (UnsafeRequestError, MagicLineError))


def test_D4_interpolated_values_cannot_inject_separators():
    for value in ("/evil", "?q=1", "#x", "a/../../b", "//evil.example", "http://evil"):
        cmd = parse("/spaces/{v}", namespace={"v": value})
        assert cmd.path.count("/") == 2 and "?" not in cmd.path and "#" not in cmd.path


def test_D4_validate_path_returns_encoded_ascii():
    assert validate_path("/ünï") == "/%C3%BCn%C3%AF"
    with pytest.raises(UnsafeRequestError):
        validate_path("//x")


def test_D4_backslash_survives_word_splitting():
    assert split_words(r"GET /a\b 'x y' C:\nb") == ["GET", r"/a\b", "x y", r"C:\nb"]


# ------------------------------------------------------------------ SECURITY E5 (secrets)

LIVE = "sandbox_" + secrets.token_urlsafe(24)


@pytest.mark.parametrize(
    "line",
    [
        "GET /user token=abc123",
        "GET /user access_token=abc123",
        "GET /user Access-Token=abc123",
        "GET /user refresh_token=abc",
        "GET /user client_secret=abc",
        "GET /user Authorization='Bearer abc'",
        "GET /user 'Authorization: Bearer abc'",
        "GET /user bearer abc",
        "login --token=abc123",
        "login --token abc123",
        "login --client-secret xyz",
        "GET /user q=gb_api_" + "A" * 20,
        "GET /x/gb_api_" + "B" * 20,
        "GET /user q=" + "ab12" * 10,  # a 40-hex legacy token
        "GET /user?access_token=abc",
        "GET /user q=" + LIVE,
        "GET /user q=prefix" + LIVE + "suffix",
        "GET /user/{tok}",
        "GET /user q={tok}",
    ],
)
def test_E5_tokens_are_refused_on_the_magic_line(line):
    with pytest.raises(GitBookError) as info:
        parse(line, namespace={"tok": LIVE}, secrets=[LIVE])
    message = str(info.value)
    assert LIVE not in message and "abc123" not in message and "A" * 20 not in message
    assert "getpass" in message or "GITBOOK_TOKEN" in message or "secret" in message


def test_E5_tokens_are_refused_in_bodies():
    for cell in ('{"t": "gb_api_' + "C" * 20 + '"}', '{"t": "' + LIVE + '"}', '{"t": {tok}}'):
        with pytest.raises(UnsafeRequestError):
            parse("POST /x", cell, namespace={"tok": LIVE}, secrets=[LIVE])


def test_E5_secret_objects_are_refused_in_interpolation():
    with pytest.raises(UnsafeRequestError, match="secret"):
        parse("/x/{s}", namespace={"s": Secret("whatever-value")})


def test_E2_live_secrets_repr_is_masked():
    live = LiveSecrets([LIVE, Secret(LIVE + "x")])
    assert LIVE not in repr(live) and live.found_in("a" + LIVE)
    assert live.scrub(f"x {LIVE} y") == f"x {MASK} y"


def test_token_store_setting_is_not_a_secret_name():
    assert p("config token_store=memory").settings == (("token_store", "memory"),)


# ------------------------------------------------------------------ one-line errors


@pytest.mark.parametrize(
    "err, expected",
    [
        (
            AuthenticationError(
                "GET /user: 401 Unauthorized: bad", status=401, method="GET", path="/user"
            ),
            "sign in again with %gitbook login",
        ),
        (
            PermissionDeniedError(
                "GET /orgs: 403 Forbidden", scope="organization:read", status=403
            ),
            "missing scope organization:read",
        ),
        (NotFoundError("GET /x: 404 Not Found", status=404), "check the path"),
        (RateLimitedError("GET /x: 429", retry_after=12.2, status=429), "retry in 13 s"),
        (ServerError("GET /x: 503 Service Unavailable", status=503), "try again"),
        (NotLoggedInError("not signed in"), "run %gitbook login, or set GITBOOK_TOKEN to a"),
        (APIError("weird", status=418), "418: weird"),
    ],
)
def test_explain_gives_one_line_with_the_next_step(err, expected):
    text = explain(err)
    assert expected in text and "\n" not in text


def test_explain_not_signed_in_from_where_the_user_is():
    err = NotLoggedInError("not signed in: finish the login above, or set GITBOOK_TOKEN")
    assert explain(err) == (
        "not signed in: run %gitbook login, or set GITBOOK_TOKEN to a personal access token"
    )
    assert explain(err, sandbox=True) == "not signed in: run %gitbook login"
    assert "login widget above" in explain(err, waiting=True)
    assert "above" not in explain(err) and "above" not in explain(err, sandbox=True)


def test_explain_drops_rule_ids_D4_E5():
    from gitbook_nb.errors import UnsafeRequestError

    err = UnsafeRequestError("a path must start with a single / (security rule D4)")
    assert explain(err) == "a path must start with a single /"
    err = UnsafeRequestError("x refused (SECURITY.md D4)", hint="use getpass (security rule E5)")
    assert "SECURITY" not in explain(err) and "E5" not in explain(err, debug=True)


def test_explain_debug_lists_fields_and_scrubs_secrets():
    err = NotFoundError(
        f"GET /x: 404 echo {LIVE}", status=404, method="GET", path="/x", code="not_found"
    )
    text = explain(err, debug=True, live=LiveSecrets([LIVE]))
    for part in (
        "type: gitbook_nb.errors.NotFoundError",
        "method: GET",
        "path: /x",
        "status: 404",
        "code: not_found",
        "hint:",
    ):
        assert part in text
    assert LIVE not in text and MASK in text


# ------------------------------------------------------------------ dry run


def test_dry_run_masks_and_prints_curl_with_env_variable():
    prepared = {
        "method": "POST",
        "url": "https://api.example/v1/x?q=a%20b",
        "headers": {"Authorization": "Bearer " + LIVE, "Accept": "application/json"},
        "json": {"title": "it's"},
    }
    view = DryRun(prepared)
    assert LIVE not in view.text and LIVE not in view._repr_html_()
    assert f"Authorization: Bearer {MASK}" in view.text
    curl = curl_line(view.prepared)
    assert '-H "Authorization: Bearer $GITBOOK_TOKEN"' in curl
    assert "'https://api.example/v1/x?q=a%20b'" in curl
    assert "--data-raw" in curl and json.dumps({"title": "it's"}) in curl.replace("'\"'\"'", "'")
    assert curl_line({"method": "HEAD", "url": "https://h/x", "headers": {}}).startswith(
        "curl -sS --head"
    )
