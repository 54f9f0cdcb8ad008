"""Change requests in the sandbox over real HTTP: create, list with filters, content batches
(validated as the spec says, all or nothing), semantic changes, merge into a new revision,
conflicts, scopes and roles. Each test that writes starts a sandbox of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gitbook_nb.sandbox import Sandbox


@pytest.fixture
def own() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb
        assert sb.errors == []


def call(
    sb: Sandbox, method: str, path: str, token: str | None = None, **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.personal_token}"}
    return requests.request(method, f"{sb.url}/v1{path}", headers=headers, timeout=30, **kw)


def space(sb: Sandbox) -> str:
    return f"/spaces/{sb.ids['space']}"


def new_cr(sb: Sandbox, subject: str = "Notebook summary", token: str | None = None) -> dict:
    resp = call(sb, "POST", f"{space(sb)}/change-requests", token, json={"subject": subject})
    assert resp.status_code == 201, resp.text
    return resp.json()


def send(sb: Sandbox, cr: dict, changes: list, **params: str) -> requests.Response:
    path = f"{space(sb)}/change-requests/{cr['id']}/content"
    return call(sb, "POST", path, json={"changes": changes}, params=params)


def markdown(sb: Sandbox, where: str, page_path: str) -> dict:
    resp = call(sb, "GET", f"{where}/path/{page_path}", params={"format": "markdown"})
    assert resp.status_code == 200, resp.text
    return resp.json()


SUMMARY = (
    "---\ndescription: What the notebook found\n---\n# Summary 📊\n\n- 12 pages\n- <b>bold?</b>\n"
)


def test_create_and_read_a_change_request(own):
    cr = new_cr(own)
    assert cr["status"] == "open" and cr["subject"] == "Notebook summary" and cr["number"] == 9
    assert (
        cr["revision"] == cr["revisionInitial"] == call(own, "GET", space(own)).json()["revision"]
    )
    created = call(own, "POST", f"{space(own)}/change-requests", json={"subject": "Two"})
    assert created.headers["Location"] == created.json()["urls"]["location"]
    assert call(own, "GET", f"{space(own)}/change-requests/{cr['id']}").json() == cr
    assert call(own, "GET", f"{space(own)}/change-requests/9").json()["id"] == cr["id"]  # number
    assert call(own, "GET", f"{space(own)}/change-requests/nope").status_code == 404
    empty = call(own, "POST", f"{space(own)}/change-requests", json={})
    assert empty.status_code == 201 and empty.json()["subject"] == ""


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({}, "required"),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "JSON"),
        ({"json": ["a list"]}, "object"),
        ({"json": {"subject": 7}}, "subject"),
        ({"json": {"subject": "x" * 101}}, "100"),
        ({"json": {"template": "x"}}, "template"),
    ],
)
def test_bad_create_bodies_are_400(own, kwargs, word):
    headers = {"Authorization": f"Bearer {own.personal_token}", **kwargs.pop("headers", {})}
    resp = requests.post(
        f"{own.url}/v1{space(own)}/change-requests", headers=headers, timeout=30, **kwargs
    )
    assert resp.status_code == 400 and word in resp.json()["error"]["message"]
    assert resp.json()["error"]["code"] == 400


def test_list_filters(own):
    path = f"{space(own)}/change-requests"
    grace = call(own, "GET", "/user", own.mint_token(user="grace")).json()["id"]
    mine = new_cr(own, "Mine")
    listed = call(own, "GET", path).json()["items"]
    assert listed[0]["id"] == mine["id"] and {c["status"] for c in listed} == {"open"}
    updated = [c["updatedAt"] for c in listed]
    assert updated == sorted(updated, reverse=True)  # orderBy updatedAt (default), newest first
    by_created = call(own, "GET", path, params={"orderBy": "createdAt"}).json()["items"]
    created = [c["createdAt"] for c in by_created]
    assert created == sorted(created, reverse=True)
    only = call(own, "GET", path, params={"creator": grace}).json()["items"]
    assert [c["subject"] for c in only] == ["Fix typo in Note G"]
    assert call(own, "GET", path, params={"contributor": grace}).json()["count"] == 1
    assert call(own, "GET", path, params={"requestedReviewer": grace}).json()["count"] == 0
    assert call(own, "GET", path, params={"status": "draft"}).json()["count"] == 1
    paged = call(own, "GET", path, params={"limit": 2, "status": "open"}).json()
    nxt = call(own, "GET", path, params={"page": paged["next"]["page"], "limit": 2}).json()
    assert nxt["items"][0]["id"] not in {c["id"] for c in paged["items"]}
    other = call(own, "GET", path, params={"page": paged["next"]["page"], "status": "draft"})
    assert other.status_code == 400  # a cursor is bound to its filters
    for bad in ({"status": "closed"}, {"orderBy": "title"}):
        assert call(own, "GET", path, params=bad).status_code == 400


def test_batch_keeps_markdown_and_sets_metadata(own):
    cr = new_cr(own)
    changes = [
        {
            "operation": "insert_page",
            "document": {"markdown": SUMMARY},
            "ref": "summary",
            "into": own.ids["page"],
            "at": 0,
        },
        {
            "operation": "update_page",
            "page": own.ids["page"],
            "title": "Start here",
            "document": {"markdown": "Read [the summary](./summary.md) first.\r\n\r\n"},
        },
    ]
    resp = send(own, cr, changes, compat="false")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["changeRequest"]["revision"] != cr["revision"]
    created, updated = body["changes"]
    assert created["object"] == "created_page" and created["ref"] == "summary"
    assert updated == {
        "object": "updated_page",
        "page": {
            "object": "page",
            "id": own.ids["page"],
            "urls": {"location": updated["page"]["urls"]["location"]},
        },
    }
    page = requests.get(
        created["page"]["urls"]["location"],
        params={"format": "markdown"},
        headers={"Authorization": f"Bearer {own.personal_token}"},
        timeout=30,
    ).json()
    assert page["title"] == "Summary 📊" and page["description"] == "What the notebook found"
    assert page["markdown"] == "# Summary 📊\n\n- 12 pages\n- <b>bold?</b>\n"  # kept as sent
    where = f"{space(own)}/change-requests/{cr['id']}/content"
    start = markdown(own, where, "getting-started")
    assert start["title"] == "Start here" and start["pages"][0]["id"] == created["page"]["id"]
    assert (
        start["markdown"]
        == "# Start here\n\nRead [the summary](getting-started/summary.md) first.\n"
    )
    live = markdown(own, f"{space(own)}/content", "getting-started")
    assert live["title"] == "Getting started"  # nothing live changes before a merge
    compat = send(own, cr, [{"operation": "update_page", "page": own.ids["page"], "emoji": "🚀"}])
    assert compat.json()["object"] == "change-request"  # compat=true (default): the CR


BAD = [
    ({}, "changes: required"),
    ({"changes": []}, "1 to 50"),
    ({"changes": [{"operation": "delete_page", "page": "x"}] * 51}, "1 to 50"),
    ({"changes": {"operation": "insert_page"}}, "array"),
    ({"changes": ["insert_page"]}, "changes[0]: must be an object"),
    ({"changes": [{"operation": "rename_page"}]}, "operation"),
    ({"changes": [{"operation": "insert_page"}]}, "document: required"),
    (
        {
            "changes": [
                {
                    "operation": "insert_page",
                    "document": {
                        "markdown": "a",
                        "document": {"object": "document", "data": {}, "nodes": []},
                    },
                }
            ]
        },
        "not both",
    ),
    ({"changes": [{"operation": "insert_page", "document": {"markdwon": "a"}}]}, "expected"),
    ({"changes": [{"operation": "insert_page", "document": {"markdown": 5}}]}, "string"),
    (
        {"changes": [{"operation": "insert_page", "document": {"document": {"nodes": []}}}]},
        "JSON document",
    ),
    ({"changes": [{"operation": "insert_page", "document": {}, "title": ""}]}, "title"),
    ({"changes": [{"operation": "insert_page", "document": {}, "slug": "s" * 101}]}, "slug"),
    ({"changes": [{"operation": "insert_page", "document": {}, "hidden": "yes"}]}, "hidden"),
    ({"changes": [{"operation": "insert_page", "document": {}, "at": -1}]}, "at"),
    ({"changes": [{"operation": "insert_page", "document": {}, "at": True}]}, "at"),
    ({"changes": [{"operation": "insert_page", "document": {}, "into": None}]}, "into"),
    (
        {
            "changes": [
                {"operation": "insert_page", "document": {}, "ref": "a"},
                {"operation": "insert_page", "document": {}, "ref": "a"},
            ]
        },
        "unique",
    ),
    ({"changes": [{"operation": "update_page", "document": {}}]}, "page"),
    ({"changes": [{"operation": "update_page", "page": "nope"}]}, "no page nope"),
    ({"changes": [{"operation": "insert_page", "document": {}, "into": "nope"}]}, "into"),
    ({"changes": [{"operation": "insert_files", "files": [{"name": "a.png"}]}]}, "insert_files"),
    ({"changes": [{"operation": "revert_page", "page": "x", "block": ["k"]}]}, "whole pages"),
]


@pytest.mark.parametrize("body,word", BAD, ids=[w for _, w in BAD])
def test_bad_batches_are_400_and_change_nothing(own, body, word):
    cr = new_cr(own)
    path = f"{space(own)}/change-requests/{cr['id']}/content"
    resp = call(own, "POST", path, json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == 400 and word in error["message"], error["message"]
    assert (
        call(own, "GET", f"{space(own)}/change-requests/{cr['id']}").json()["revision"]
        == cr["revision"]
    )


def test_a_batch_is_all_or_nothing(own):
    cr = new_cr(own)
    good = {"operation": "insert_page", "document": {"markdown": "# Kept?\n"}}
    resp = send(own, cr, [good, {"operation": "delete_page", "page": "nope"}])
    assert resp.status_code == 400 and "changes[1]" in resp.json()["error"]["message"]
    where = f"{space(own)}/change-requests/{cr['id']}/content"
    assert call(own, "GET", f"{where}/path/kept").status_code == 404


def test_move_delete_revert_and_semantic_changes(own):
    cr = new_cr(own)
    faq = markdown(own, f"{space(own)}/content", "faq")["id"]
    install = markdown(own, f"{space(own)}/content", "getting-started/installation")["id"]
    assert (
        send(
            own,
            cr,
            [
                {"operation": "update_page", "page": faq, "into": own.ids["page"]},
                {"operation": "delete_page", "page": install},
            ],
        ).status_code
        == 200
    )
    changes_path = f"{space(own)}/change-requests/{cr['id']}/changes"
    changes = call(own, "GET", changes_path).json()["changes"]
    moved = next(c for c in changes if c["type"] == "page_moved")
    assert moved["page"]["path"] == "getting-started/faq"
    assert moved["parent"] == {
        "after": {
            "id": own.ids["page"],
            "type": "document",
            "title": "Getting started",
            "path": "getting-started",
        }
    }
    assert [c["page"]["id"] for c in changes if c["type"] == "page_deleted"] == [install]
    limited = call(own, "GET", changes_path, params={"limit": 1}).json()
    assert len(limited["changes"]) == 1 and limited["more"] == 1
    bad_move = send(own, cr, [{"operation": "update_page", "page": own.ids["page"], "into": faq}])
    assert bad_move.status_code == 400 and "itself" in bad_move.json()["error"]["message"]
    reverted = send(
        own,
        cr,
        [
            {"operation": "revert_page", "page": install},
            {"operation": "update_page", "page": faq, "into": None, "at": 4},
        ],
    )
    assert reverted.status_code == 200, reverted.text
    assert call(own, "GET", changes_path).json() == {"changes": []}


def test_merge_makes_a_new_revision_the_content_endpoints_serve(own):
    before = call(own, "GET", f"{space(own)}/content").json()
    cr = new_cr(own)
    send(
        own,
        cr,
        [
            {"operation": "insert_page", "document": {"markdown": SUMMARY}},
            {
                "operation": "update_page",
                "page": own.ids["page"],
                "document": {"markdown": "A new introduction.\n"},
            },
        ],
    )
    merged = call(own, "POST", f"{space(own)}/change-requests/{cr['id']}/merge")
    assert merged.status_code == 200 and merged.json()["result"] == "merge"
    after = call(own, "GET", f"{space(own)}/content").json()
    assert after["id"] == merged.json()["revision"] != before["id"]
    assert after["type"] == "merge" and after["mergedFrom"]["id"] == cr["id"]
    assert after["parents"][0] == before["id"]
    assert call(own, "GET", space(own)).json()["revision"] == after["id"]
    assert markdown(own, f"{space(own)}/content", "summary")["markdown"].startswith("# Summary 📊")
    assert (
        "A new introduction."
        in markdown(own, f"{space(own)}/content", "getting-started")["markdown"]
    )
    old = {n["id"]: n for n in before["pages"]}
    for node in after["pages"]:  # a rerun can skip every page whose marker did not move
        if node["id"] not in old:
            continue
        same = node["id"] != own.ids["page"]
        marker = lambda n: (n.get("documentId"), n.get("updatedAt"))  # noqa: E731
        assert (marker(node) == marker(old[node["id"]])) is same, node["title"]
    state = call(own, "GET", f"{space(own)}/change-requests/{cr['id']}").json()
    assert state["status"] == "merged" and state["revisionMerged"] == after["id"]
    assert state["mergedBy"]["id"] == own.ids["user"]
    changes = call(own, "GET", f"{space(own)}/revisions/{after['id']}/changes").json()
    assert changes["mergedFrom"]["id"] == cr["id"] and len(changes["changes"]) == 2
    again = call(own, "POST", f"{space(own)}/change-requests/{cr['id']}/merge")
    assert (
        again.status_code == 409
        and send(own, cr, [{"operation": "delete_page", "page": "x"}]).status_code == 409
    )
    old_rev = call(
        own,
        "GET",
        f"{space(own)}/revisions/{before['id']}/path/getting-started",
        params={"format": "markdown"},
    ).json()
    assert "A new introduction." not in old_rev["markdown"]  # old revisions stay readable


def test_merges_replay_on_a_moved_space_or_report_conflicts(own):
    a, b, c = new_cr(own, "a"), new_cr(own, "b"), new_cr(own, "c")
    faq = markdown(own, f"{space(own)}/content", "faq")["id"]
    send(own, a, [{"operation": "update_page", "page": faq, "document": {"markdown": "A\n"}}])
    send(
        own,
        b,
        [{"operation": "update_page", "page": own.ids["page"], "document": {"markdown": "B\n"}}],
    )
    send(own, c, [{"operation": "update_page", "page": faq, "document": {"markdown": "C\n"}}])
    assert (
        call(own, "POST", f"{space(own)}/change-requests/{a['id']}/merge").json()["result"]
        == "merge"
    )
    assert call(own, "GET", f"{space(own)}/change-requests/{b['id']}").json()["outdated"] is True
    assert (
        call(own, "POST", f"{space(own)}/change-requests/{b['id']}/merge").json()["result"]
        == "merge"
    )
    head = call(own, "GET", space(own)).json()["revision"]
    conflict = call(own, "POST", f"{space(own)}/change-requests/{c['id']}/merge").json()
    assert conflict == {"revision": head, "result": "conflicts"}
    assert call(own, "GET", f"{space(own)}/change-requests/{c['id']}").json()["status"] == "open"
    assert markdown(own, f"{space(own)}/content", "faq")["markdown"] == "# FAQ\n\nA\n"
    assert markdown(own, f"{space(own)}/content", "getting-started")["markdown"].endswith("B\n")


def test_scopes_and_roles_guard_writes(own):
    reader = own.mint_token(scopes=["space:read"])
    refused = call(own, "POST", f"{space(own)}/change-requests", reader, json={"subject": "x"})
    assert refused.status_code == 403
    assert refused.json() == {"error": {"code": 403, "message": "Missing scope: space:write"}}
    writer = own.mint_token(scopes=["space:read", "space:write"])
    cr = new_cr(own, token=writer)
    assert (
        call(own, "GET", f"{space(own)}/change-requests/{cr['id']}/changes", reader).status_code
        == 200
    )
    merge = f"{space(own)}/change-requests/{cr['id']}/merge"
    assert call(own, "POST", merge, writer).json()["error"]["message"] == (
        "Missing scope: change-request:merge"
    )
    barbara = own.mint_token(user="barbara")  # an org member with the "read" role
    denied = call(own, "POST", f"{space(own)}/change-requests", barbara, json={})
    assert denied.status_code == 403 and "read" in denied.json()["error"]["message"]
    assert call(own, "POST", merge, own.mint_token(user="alan")).json()["result"] == "merge"  # edit


def test_patch_archives_or_renames(own):
    cr = new_cr(own)
    path = f"{space(own)}/change-requests/{cr['id']}"
    renamed = call(own, "PATCH", path, json={"subject": "Better subject", "status": "archived"})
    assert renamed.status_code == 200 and renamed.json()["status"] == "archived"
    archived = call(own, "GET", f"{space(own)}/change-requests", params={"status": "archived"})
    assert cr["id"] in {c["id"] for c in archived.json()["items"]}
    assert call(own, "PATCH", path, json={"status": "merged"}).status_code == 400
    assert call(own, "POST", path + "/merge").status_code == 409
    merged = call(own, "GET", f"{space(own)}/change-requests/5").json()  # seeded, merged
    assert (
        call(own, "PATCH", f"{space(own)}/change-requests/5", json={"status": "open"}).status_code
        == 409
    )
    assert merged["status"] == "merged"
