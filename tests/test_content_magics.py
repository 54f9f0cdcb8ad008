"""%gitbook page | export | publish | crs | cr in a real IPython shell, over real HTTP.

Every subcommand and option, and every error as the one line a user sees (no traceback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from gitbook_nb.content import ChangeRequestResult, ExportResult, PageResult, PublishPlan
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.sandbox import Sandbox


@pytest.fixture
def sb(shell) -> Iterator[Sandbox]:
    """A sandbox per test (publish writes), a kernel signed in to it, a clean namespace."""
    magics = shell.magics_manager.registry["GitBookMagics"]
    names = set(shell.user_ns)
    with Sandbox(rate_limit=1_000_000) as box:
        k = reset_session(KernelSession(environ={}))
        k.configure(api_url=box.url + "/v1", oauth_url=box.url)
        k.login_with_token(box.mint_token())
        box.clear_log()
        yield box
        reset_session(KernelSession(environ={}))
        assert box.errors == []
    for name in set(shell.user_ns) - names:
        del shell.user_ns[name]
    magics.autopandas = False


def run(shell, line: str, cell: str | None = None) -> Any:
    if cell is None:
        return shell.run_line_magic("gitbook", line)
    return shell.run_cell_magic("gitbook", line, cell)


def one_line_error(shell, line: str, cell: str | None = None) -> str:
    with pytest.raises(UsageError) as err:
        run(shell, line, cell)
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def html_of(shell, value: Any) -> str:
    data, _ = shell.display_formatter.format(value)
    return data.get("text/html", "")


# ------------------------------------------------------------------ page


def test_page_renders_markdown_and_raw_shows_the_source(shell, sb) -> None:
    space = sb.ids["space"]
    res = run(shell, f"page {space} getting-started/installation -o inst")
    assert isinstance(res, PageResult) and shell.user_ns["inst"] is res
    html = html_of(shell, res)
    assert "<h1>Installation</h1>" in html and "<pre><code" in html
    raw = html_of(shell, run(shell, f"page {space} getting-started/installation --raw"))
    assert "# Installation" in raw and "<h1>" not in raw
    shell.user_ns["where"] = "faq"
    assert run(shell, f"page {space} {{where}}").title == "FAQ"


def test_page_errors_are_one_line(shell, sb) -> None:
    space = sb.ids["space"]
    assert "no page 'nope/x'" in one_line_error(shell, f"page {space} nope/x")
    assert "usage: %gitbook page SPACE" in one_line_error(shell, f"page {space}")
    assert "does not apply to page" in one_line_error(shell, f"page {space} faq --merge")
    sb.clear_log()
    text = one_line_error(shell, f"page {space} ../../user")  # D4: refused, nothing sent
    assert "is not a page path" in text and "D4" not in text and "SECURITY" not in text
    assert sb.requests == []


# ------------------------------------------------------------------ export


def test_export_table_dataframe_files_and_concurrency(shell, sb, tmp_path: Path) -> None:
    space = sb.ids["space"]
    shell.user_ns["folder"] = tmp_path  # {name} works in option values too
    res = run(shell, f"export {space} --to {{folder}} --concurrency 2 -o docs")
    assert isinstance(res, ExportResult) and shell.user_ns["docs"] is res
    assert len(res.written) == 9 and (tmp_path / "faq.md").exists()
    assert "9 written, 0 unchanged" in html_of(shell, res)
    again = run(shell, f"export {space} --to {tmp_path}")
    assert len(again.unchanged) == 9
    magics = shell.magics_manager.registry["GitBookMagics"]
    magics.autopandas = True
    df = run(shell, f"export {space} -o frame")
    assert list(df.columns)[:6] == ["path", "title", "depth", "words", "updatedAt", "markdown"]
    assert shell.user_ns["frame"] is df
    magics.autopandas = False
    narrow = run(shell, f"export {space} --columns path,words -o kept")
    assert narrow.columns == ["path", "words"] and isinstance(shell.user_ns["kept"], ExportResult)


def test_export_errors_are_one_line_and_keep_what_was_done(shell, sb, tmp_path: Path) -> None:
    space = sb.ids["space"]
    assert "at least 1" in one_line_error(shell, f"export {space} --concurrency 0")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert "cannot use" in one_line_error(shell, f"export {space} --to {blocked}/sub")
    sb.add_fault("status", path=f"/v1/spaces/{space}/content", code=503)
    assert "503" in one_line_error(shell, f"export {space}")
    sb.clear_faults()
    faq = run(shell, f"page {space} faq").id
    sb.add_fault("status", path=f"/v1/spaces/{space}/content/page/{faq}", code=403)
    text = one_line_error(shell, f"export {space} --to {tmp_path / 'd'} --concurrency 1 -o part")
    assert "export stopped" in text and "8 of 9" in text and "the pages done are in part" in text
    assert len(shell.user_ns["part"].data) == 8


# ------------------------------------------------------------------ publish


def test_publish_cell_body_variable_title_subject_and_merge(shell, sb) -> None:
    space = sb.ids["space"]
    res = run(shell, f"publish {space} --title Summary --subject 'From the notebook'", "# Hi\n")
    assert isinstance(res, ChangeRequestResult) and not res.merged
    assert res.change_request["subject"] == "From the notebook"
    html = html_of(shell, res)
    assert "open in GitBook" in html and "page_created" in html
    shell.user_ns["text"] = "# FAQ\n\nNew answers.\n"
    merged = run(shell, f"publish {space} --page faq --merge -o cr", "{text}")
    assert merged.merged and shell.user_ns["cr"] is merged
    assert run(shell, f"page {space} faq").markdown.rstrip().endswith("New answers.")


def test_publish_a_notebook_converted_to_markdown(shell, sb, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbconvert")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Analysis\n\nWords per page."),
        nbformat.v4.new_code_cell("1 + 1"),
    ]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    res = run(shell, f"publish {sb.ids['space']} --notebook {path}")
    markdown = json.loads(
        [r for r in sb.requests if r.path.endswith("/content") and r.method == "POST"][0].body
    )["changes"][0]["document"]["markdown"]
    assert "# Analysis" in markdown and "1 + 1" in markdown
    assert res.changes[0]["page"]["title"] == "Analysis"


def test_publish_dry_run_shows_the_requests_and_sends_nothing(shell, sb) -> None:
    plan = run(shell, f"publish {sb.ids['space']} --merge --dry-run", "# Draft\n")
    assert isinstance(plan, PublishPlan) and sb.requests == []
    html = html_of(shell, plan)
    assert "insert_page" in html and "/merge" in html and "Authorization" not in html


def test_publish_errors_are_one_line(shell, sb, tmp_path: Path) -> None:
    space = sb.ids["space"]
    assert "publish needs markdown" in one_line_error(shell, f"publish {space}")
    assert "not both" in one_line_error(shell, f"publish {space} --notebook x.ipynb", "# x")
    assert ".ipynb" in one_line_error(shell, f"publish {space} --notebook {tmp_path}/none.txt")
    assert "no variable named nothing" in one_line_error(shell, f"publish {space}", "{nothing}")
    shell.user_ns["number"] = 3
    assert "not markdown text" in one_line_error(shell, f"publish {space}", "{number}")
    assert "nothing was created" in one_line_error(shell, f"publish {space} --page no/such", "# x")
    reset_session(KernelSession(environ={})).configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
    k.login_with_token(sb.mint_token(scopes=["user:read", "space:read"]))
    text = one_line_error(shell, f"publish {space}", "# x")
    assert "space:write" in text and "%gitbook login --scopes space:write" in text


# ------------------------------------------------------------------ review


def test_crs_lists_with_filters_and_cr_shows_changes(shell, sb) -> None:
    space = sb.ids["space"]
    opened = run(shell, f"crs {space}")
    assert opened.total and sb.requests[-1].params["status"] == ["open"]
    merged = run(shell, f"crs {space} status=merged --columns number,subject")
    assert merged.columns == ["number", "subject"]
    run(shell, f"crs {space} merged orderBy=createdAt --all")
    assert sb.requests[-1].params["orderBy"] == ["createdAt"]
    one = run(shell, f"cr {space} {sb.ids['change_request']} -o review")
    assert isinstance(one, ChangeRequestResult) and shell.user_ns["review"] is one
    assert "Fix typo in Note G" in repr(one)
    assert "status must be one of" in one_line_error(shell, f"crs {space} status=closed")
    assert "unknown filter 'colour'" in one_line_error(shell, f"crs {space} colour=red")
    assert "404" in one_line_error(shell, f"cr {space} nope")
    assert "usage: %gitbook cr SPACE CR_ID" in one_line_error(shell, f"cr {space}")
