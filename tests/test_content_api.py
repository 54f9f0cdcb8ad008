"""Docs as data over real HTTP: page(), export() to a DataFrame and to files, publish(),
change_requests() and change_request(), against a sandbox of this module's own (it writes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gitbook_nb
from gitbook_nb.content import ExportError, PublishError
from gitbook_nb.content._front_matter import split
from gitbook_nb.errors import NotFoundError, PermissionDeniedError, UnsafeRequestError
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.sandbox import Sandbox

# ------------------------------------------------------------------ fixtures


@pytest.fixture
def own() -> Iterator[Sandbox]:
    """A sandbox per test: publishing and merging change the space other tests read."""
    with Sandbox(rate_limit=1_000_000) as sb:
        yield sb
        assert sb.errors == []


def sign_in(sb: Sandbox, token: str | None = None, **settings: Any) -> KernelSession:
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url, **settings)
    k.login_with_token(token or sb.mint_token())
    sb.clear_log()
    return k


@pytest.fixture
def signed_in(own: Sandbox) -> Iterator[Sandbox]:
    sign_in(own)
    yield own
    reset_session(KernelSession(environ={}))


def sent(sb: Sandbox, method: str = "POST") -> list[tuple[str, Any]]:
    return [
        (r.path, json.loads(r.body) if r.body else None) for r in sb.requests if r.method == method
    ]


# ------------------------------------------------------------------ page


def test_page_by_path_and_by_id(signed_in: Sandbox) -> None:
    sb = signed_in
    by_path = gitbook_nb.page(sb.ids["space"], "getting-started/installation")
    assert by_path.title == "Installation" and by_path.path == "getting-started/installation"
    assert by_path.markdown.startswith("# Installation")
    assert sb.requests[-1].params["format"] == ["markdown"]
    by_id = gitbook_nb.page(sb.ids["space"], by_path.id)
    assert by_id.markdown == by_path.markdown
    assert [r.status for r in sb.requests] == [200, 404, 200]  # path first, then the id
    assert by_path.to_dataframe().loc[0, "words"] == by_path.words > 10


def test_page_links_point_into_the_space_and_html_stays_text(signed_in: Sandbox) -> None:
    sb = signed_in
    res = gitbook_nb.page(sb.ids["space"], "getting-started/installation")
    html = res._repr_html_()
    assert "<h1>Installation</h1>" in html
    assert f'href="{sb.url}/app/o/{sb.ids["org"]}/s/{sb.ids["space"]}/faq"' in html
    evil = gitbook_nb.page(sb.ids["space"], "img-src-x-onerror-alert-1")
    assert "<img" not in evil._repr_html_()
    assert "&lt;img src=x onerror=alert(1)&gt;" in evil._repr_html_()


def test_unknown_page_says_how_to_list_paths(signed_in: Sandbox) -> None:
    sb = signed_in
    with pytest.raises(NotFoundError) as err:
        gitbook_nb.page(sb.ids["space"], "no/such/page")
    assert "no page 'no/such/page'" in str(err.value) and "%gitbook pages" in err.value.hint
    assert len(sb.requests) == 1  # a path with a slash is never a page id
    with pytest.raises(NotFoundError):
        gitbook_nb.page("no-such-space", "faq")


def test_D4_page_path_cannot_reach_another_endpoint(signed_in: Sandbox) -> None:
    with pytest.raises(UnsafeRequestError):
        gitbook_nb.page(signed_in.ids["space"], "../../user")
    assert signed_in.requests == []


# ------------------------------------------------------------------ export


def test_export_to_a_dataframe(signed_in: Sandbox) -> None:
    sb = signed_in
    res = gitbook_nb.export(sb.ids["space"])
    df = res.to_dataframe()
    assert list(df.columns) == ["path", "title", "depth", "words", "updatedAt", "markdown", "id"]
    assert len(df) == 9 and df["words"].min() > 0
    assert str(df["updatedAt"].dtype).startswith("datetime64")
    row = df.set_index("path").loc["guides/bernoulli-numbers/note-g"]
    assert row["depth"] == 2 and row["markdown"].startswith("# Note G")
    # one tree request, then one markdown request per document page, nothing else
    pages = [r for r in sb.requests if "/content/page/" in r.path]
    assert len(sb.requests) == 1 + len(pages) == 10
    assert all(r.params["format"] == ["markdown"] for r in pages)
    assert "markdown" not in res.columns  # the table stays readable; the DataFrame has it


def test_export_to_files_then_rerun_skips_unchanged_pages(own: Sandbox, tmp_path: Path) -> None:
    sb = own
    sign_in(sb)
    out = tmp_path / "docs"
    first = gitbook_nb.export(sb.ids["space"], to=str(out))
    assert len(first.written) == 9 and first.unchanged == []
    text = (out / "getting-started" / "installation.md").read_text()
    fields, body = split(text)
    assert {"title", "id", "revision", "updatedAt", "documentId", "path"} <= set(fields)
    assert fields["title"] == "Installation" and body.startswith("# Installation")

    sb.clear_log()
    again = gitbook_nb.export(sb.ids["space"], to=str(out))
    assert again.written == [] and len(again.unchanged) == 9
    assert len(sb.requests) == 1  # the tree only: every body came from the files
    assert again.to_dataframe()["markdown"].tolist() == first.to_dataframe()["markdown"].tolist()

    gitbook_nb.publish(
        sb.ids["space"],
        "# Installation\n\nNew words.\n",
        page="getting-started/installation",
        merge=True,
    )
    sb.clear_log()
    third = gitbook_nb.export(sb.ids["space"], to=str(out))
    assert third.written == ["getting-started/installation.md"] and len(third.unchanged) == 8
    assert [r.path.rsplit("/", 1)[-1] for r in sb.requests if "/page/" in r.path] == [fields["id"]]
    fields2, body2 = split((out / "getting-started" / "installation.md").read_text())
    assert "New words." in body2 and fields2["revision"] != fields["revision"]


def _merge_pages(sb: Sandbox, slugs: list[str], nested: list[str] = ()) -> None:
    """Pages with hostile slugs, merged into the space: as a careless or hostile server sends."""
    space = sb.ids["space"]
    cr = gitbook_nb.post(f"/spaces/{space}/change-requests", json={"subject": "hostile"}).data
    changes = [
        {
            "operation": "insert_page",
            "title": f"Page {i}",
            "slug": s,
            "document": {"markdown": f"# Page {i}\n"},
        }
        for i, s in enumerate(slugs)
    ]
    gitbook_nb.post(
        f"/spaces/{space}/change-requests/{cr['id']}/content", json={"changes": changes}
    )
    parent = None
    for i, s in enumerate(nested):  # a deep chain of long slugs: a path too long to write
        change = {
            "operation": "insert_page",
            "title": f"Deep {i}",
            "slug": s,
            "ref": f"d{i}",
            "document": {"markdown": "# Deep\n"},
        }
        if parent:
            change["into"] = parent
        done = gitbook_nb.post(
            f"/spaces/{space}/change-requests/{cr['id']}/content",
            json={"changes": [change]},
            compat="false",
        ).data
        parent = done["changes"][0]["page"]["id"]
    gitbook_nb.post(f"/spaces/{space}/change-requests/{cr['id']}/merge")


def test_export_makes_hostile_page_paths_safe_and_never_writes_outside(
    own: Sandbox, tmp_path: Path
) -> None:
    sb = own
    sign_in(sb)
    hostile = [
        "..",
        "../../escape",
        "/etc/passwd",
        "CON",
        "aux.md",
        "nul\x00byte",
        ".git",
        "a\\..\\..\\b",
        "tail. ",
        "\u202egnp",
    ]
    _merge_pages(sb, hostile, nested=["x" * 100] * 11)
    outer = tmp_path / "outer"
    out = outer / "docs"
    outer.mkdir()
    (outer / "sibling.txt").write_text("keep")
    res = gitbook_nb.export(sb.ids["space"], to=str(out))
    everything = {p.relative_to(outer).as_posix() for p in outer.rglob("*")}
    assert all(p == "sibling.txt" or p == "docs" or p.startswith("docs/") for p in everything)
    assert (outer / "sibling.txt").read_text() == "keep"
    files = [p for p in out.rglob("*.md")]
    assert not any(p.name.startswith(".") for p in out.rglob("*"))
    for path in files:
        assert path.resolve().is_relative_to(out.resolve())
    exported = {r["title"] for r in res.data}
    assert {f"Page {i}" for i in range(len(hostile))} <= exported  # made safe, not dropped
    long_ones = [p for p, why in res.failed if "longer than" in why]
    assert long_ones, res.failed  # the deepest pages: refused and reported, not written
    assert len(files) == len(res.written)


def test_export_refuses_a_folder_that_became_a_symlink_out(own: Sandbox, tmp_path: Path) -> None:
    sb = own
    sign_in(sb)
    out, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "guides").symlink_to(elsewhere, target_is_directory=True)
    res = gitbook_nb.export(sb.ids["space"], to=str(out))
    assert list(elsewhere.iterdir()) == []
    assert {p for p, _ in res.failed} == {
        "guides/bernoulli-numbers",
        "guides/bernoulli-numbers/note-g",
        "guides/מדריך-בעברית",
        "guides/دليل-باللغة-العربية",
    }
    assert len(res.written) == 5 and "4 not exported" in res.note


def test_export_page_gone_meanwhile_is_listed_and_the_rest_written(
    own: Sandbox, tmp_path: Path
) -> None:
    sb = own
    sign_in(sb)
    faq = gitbook_nb.page(sb.ids["space"], "faq").id
    sb.add_fault("status", path=f"/v1/spaces/{sb.ids['space']}/content/page/{faq}", code=404)
    res = gitbook_nb.export(sb.ids["space"], to=str(tmp_path))
    assert [p for p, _ in res.failed] == ["faq"] and len(res.written) == 8
    assert not (tmp_path / "faq.md").exists()


def test_export_stopped_part_way_keeps_every_written_file_whole(
    own: Sandbox, tmp_path: Path
) -> None:
    sb = own
    sign_in(sb)
    faq = gitbook_nb.page(sb.ids["space"], "faq").id
    fault = sb.add_fault(
        "status", path=f"/v1/spaces/{sb.ids['space']}/content/page/{faq}", code=401
    )
    with pytest.raises(ExportError) as err:
        gitbook_nb.export(sb.ids["space"], to=str(tmp_path), concurrency=1)
    partial = err.value.result
    assert "export stopped" in str(err.value) and "8 of 9 pages done, 1 not" in str(err.value)
    assert "run the same export again" in err.value.hint
    assert len(partial.written) == 8 and len(partial.data) == 8
    for name in partial.written:
        fields, body = split((tmp_path / name).read_text())
        assert fields["id"] and body.startswith("# ")
    assert not list(tmp_path.rglob(".gitbook-nb-*"))
    sb.remove_fault(fault)
    sign_in(sb)  # the 401 forgot the token (D5)
    rerun = gitbook_nb.export(sb.ids["space"], to=str(tmp_path))
    assert rerun.written == ["faq.md"] and len(rerun.unchanged) == 8


def test_export_interrupted_reports_what_was_written(own: Sandbox, tmp_path: Path) -> None:
    """Ctrl-C arrives in the kernel's main thread, where export() waits for its workers."""
    sb = own
    sign_in(sb)

    def interrupt_after_three(done: int, items: int, total: int | None) -> None:
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(ExportError) as err:
        gitbook_nb.export(
            sb.ids["space"], to=str(tmp_path), concurrency=1, progress=interrupt_after_three
        )
    assert "export stopped (interrupted)" in str(err.value)
    written = err.value.result.written
    assert 3 <= len(written) < 9
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")) == sorted(
        written
    )
    assert not list(tmp_path.rglob(".gitbook-nb-*"))


# ------------------------------------------------------------------ publish


def test_publish_opens_a_change_request_and_never_merges_by_default(signed_in: Sandbox) -> None:
    sb = signed_in
    space = sb.ids["space"]
    res = gitbook_nb.publish(space, "# Notebook summary\n\n12 pages <b>checked</b>.\n")
    assert not res.merged and res.status_text == "open" and res.url.startswith(sb.url)
    assert [c["type"] for c in res.changes] == ["page_created"]
    assert res.changes[0]["page"]["title"] == "Notebook summary"
    posts = sent(sb)
    assert [p for p, _ in posts] == [
        f"/v1/spaces/{space}/change-requests",
        f"/v1/spaces/{space}/change-requests/{res.id}/content",
    ]
    assert posts[0][1] == {"subject": "Add Notebook summary"}
    assert posts[1][1]["changes"][0]["operation"] == "insert_page"
    assert not any(r.path.endswith("/merge") for r in sb.requests)
    live = gitbook_nb.export(space)
    assert "Notebook summary" not in {r["title"] for r in live.data}
    assert res.id in {r["id"] for r in gitbook_nb.change_requests(space).data["items"]}


def test_publish_updates_a_page_and_merges_when_asked(signed_in: Sandbox) -> None:
    sb = signed_in
    space = sb.ids["space"]
    res = gitbook_nb.publish(
        space, "# FAQ\n\nShorter.\n", page="faq", merge=True, title="FAQ", subject="Trim the FAQ"
    )
    assert res.merged and [c["type"] for c in res.changes] == ["page_edited"]
    body = sent(sb)[1][1]["changes"][0]
    assert body["operation"] == "update_page" and body["title"] == "FAQ"
    assert body["page"] == gitbook_nb.page(space, "faq").id
    assert gitbook_nb.page(space, "faq").markdown.strip().endswith("Shorter.")


def test_publish_of_an_exported_file_drops_our_front_matter(signed_in: Sandbox, tmp_path) -> None:
    sb = signed_in
    gitbook_nb.export(sb.ids["space"], to=str(tmp_path))
    text = (tmp_path / "faq.md").read_text()
    sb.clear_log()
    gitbook_nb.publish(sb.ids["space"], text.replace("FAQ", "Questions"), page="faq")
    change = sent(sb)[1][1]["changes"][0]
    assert not change["document"]["markdown"].startswith("---")
    assert change["title"] == "Questions"


def test_publish_dry_run_sends_nothing(signed_in: Sandbox) -> None:
    sb = signed_in
    plan = gitbook_nb.publish(sb.ids["space"], "# New\n", merge=True, dry_run=True)
    assert sb.requests == []
    text = repr(plan)
    assert "POST " in text and "insert_page" in text and "/merge" in text
    assert "CHANGE_REQUEST_ID" in text and "nothing was written" in text


def test_publish_failure_after_the_change_request_names_it(signed_in: Sandbox) -> None:
    sb = signed_in
    space = sb.ids["space"]
    before = {r["id"] for r in gitbook_nb.change_requests(space).data["items"]}
    real_request = gitbook_nb.kernel.session.request

    class FailContent:  # a seam on the API, not a patch: the sandbox answers the rest
        def __getattr__(self, name: str) -> Any:
            return getattr(gitbook_nb.kernel.session, name)

        def request(self, method: str, path: str, **kw: Any) -> Any:
            if path.endswith("/content") and method == "POST":  # once its id is known
                sb.add_fault("status", path="/v1" + path, code=500, times=1)
            return real_request(method, path, **kw)

    with pytest.raises(PublishError) as err:
        gitbook_nb.publish(space, "# Half done\n", api=FailContent())
    cr = err.value.change_request
    message = str(err.value)
    assert f"#{cr['number']}" in message and cr["id"] in message and "500" in message
    assert "archived" in err.value.hint and cr["urls"]["app"] in err.value.hint
    after = {r["id"] for r in gitbook_nb.change_requests(space).data["items"]}
    assert after - before == {cr["id"]}  # it exists, open, as the message says


def test_publish_without_space_write_says_how_to_sign_in(own: Sandbox) -> None:
    sb = own
    sign_in(sb, sb.mint_token(scopes=["user:read", "space:read"]))
    before = gitbook_nb.change_requests(sb.ids["space"]).total
    sb.clear_log()
    with pytest.raises(PermissionDeniedError) as err:
        gitbook_nb.publish(sb.ids["space"], "# x\n")
    assert err.value.scope == "space:write"
    assert "%gitbook login --scopes space:write" in str(err.value)
    assert [r.status for r in sb.requests] == [403]  # nothing was created
    assert gitbook_nb.change_requests(sb.ids["space"]).total == before


def test_publish_refuses_before_sending_when_the_sign_in_lacks_the_scope(own: Sandbox) -> None:
    """A sign-in whose scopes are known (OAuth) is checked before the first write."""
    sb = own
    k = reset_session(KernelSession(environ={}))
    k.configure(api_url=sb.url + "/v1", oauth_url=sb.url, scopes="user:read space:read")
    flow = k.begin_login(redirect_uri=sb.redirect_uri)
    k.finish_login(sb.approve(flow.authorize_url))
    assert "space:write" not in k.token.scope
    sb.clear_log()
    with pytest.raises(PermissionDeniedError) as err:
        gitbook_nb.publish(sb.ids["space"], "# x\n", merge=True)
    assert sb.requests == [] and "space:write" in str(err.value)


def test_publish_to_a_missing_page_creates_nothing(signed_in: Sandbox) -> None:
    sb = signed_in
    with pytest.raises(NotFoundError) as err:
        gitbook_nb.publish(sb.ids["space"], "# x\n", page="no/such")
    assert "nothing was created" in str(err.value)
    assert [r.method for r in sb.requests] == ["GET"]


def test_merge_failure_names_the_ready_change_request(signed_in: Sandbox) -> None:
    sb = signed_in
    space = sb.ids["space"]
    real_request = gitbook_nb.kernel.session.request

    class FailMerge:
        def __getattr__(self, name: str) -> Any:
            return getattr(gitbook_nb.kernel.session, name)

        def request(self, method: str, path: str, **kw: Any) -> Any:
            if path.endswith("/merge"):
                sb.add_fault("status", path="/v1" + path, code=409, times=1)
            return real_request(method, path, **kw)

    with pytest.raises(PublishError) as err:
        gitbook_nb.publish(space, "# Merge me\n", merge=True, api=FailMerge())
    assert "could not be merged" in str(err.value) and "merge it in GitBook" in err.value.hint


# ------------------------------------------------------------------ review


def test_change_requests_filter_by_status_and_show_one(signed_in: Sandbox) -> None:
    sb = signed_in
    space = sb.ids["space"]
    opened = gitbook_nb.change_requests(space)
    assert opened.total and set(opened.columns) >= {"number", "subject", "status"}
    assert {r["status"] for r in opened.data["items"]} == {"open"}
    assert sb.requests[-1].params["status"] == ["open"]
    merged = gitbook_nb.change_requests(space, "merged")
    assert {r["status"] for r in merged.data["items"]} == {"merged"}
    one = gitbook_nb.change_request(space, sb.ids["change_request"])
    assert one.id == sb.ids["change_request"] and one.changes
    assert repr(one).startswith("change request #")
    with pytest.raises(gitbook_nb.GitBookError):
        gitbook_nb.change_requests(space, "closed")
    with pytest.raises(NotFoundError):
        gitbook_nb.change_request(space, "nope")
