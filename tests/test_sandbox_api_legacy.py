"""The sandbox's legacy API (GITBOOK.md section 1): shapes, pagination, errors, User-Agent."""

from __future__ import annotations

import http.client
import json

import pytest
import requests

from gitbook_nb.sandbox import Sandbox

LEGACY_401 = {
    "error": "Authentication has failed (Invalid user, password or access token)",
    "code": 401,
}


def get(sb: Sandbox, path: str, token: str | None = "pat", **kw) -> requests.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {sb.personal_token if token == 'pat' else token}"
    return requests.get(sb.url + path, headers=headers, timeout=30, **kw)


def walk(
    sb: Sandbox, path: str, limit: int | None = None, token: str | None = "pat"
) -> tuple[list[dict], list[dict]]:
    """Follow ``{list,page,limit,total}`` while ``(page + 1) * limit < total``."""
    items, bodies, page = [], [], 0
    while True:
        params = {"page": page, **({"limit": limit} if limit else {})}
        body = get(sb, path, token, params=params).json()
        bodies.append(body)
        items += body["list"]
        if (body["page"] + 1) * body["limit"] >= body["total"]:
            return items, bodies
        page += 1


@pytest.fixture(scope="module")
def fresh():
    """A sandbox of its own: other suites may POST books to the shared one."""
    with Sandbox() as sb:
        yield sb


def test_instance_info_and_account(sb):
    info = get(sb, "/", token=None).json()
    assert info["type"] and info["version"] and info["urls"]["api"].startswith(sb.url)
    me = get(sb, "/account").json()
    assert me["type"] == "User" and me["username"] == "ada" and me["name"] == sb.user
    assert {"id", "location", "website", "email"} <= set(me)
    assert {"profile", "avatar"} <= set(me["urls"])


def test_user_agent_is_required(sb):
    # http.client sends no User-Agent of its own (requests and urllib3 always add one)
    conn = http.client.HTTPConnection(sb.host, sb.port, timeout=10)
    try:
        conn.request("GET", "/account", headers={"Authorization": f"Bearer {sb.personal_token}"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 400 and body["code"] == 400 and "User-Agent" in body["error"]
    assert get(sb, "/account").status_code == 200


def test_401_has_gitbooks_exact_body(sb):
    assert get(sb, "/account", token=None).json() == LEGACY_401
    resp = get(sb, "/books", token="not-a-token")
    assert resp.status_code == 401 and resp.json() == LEGACY_401
    resp = get(sb, "/books/all", token="not-a-token")  # a bad token fails even on public data
    assert resp.status_code == 401


def test_private_book_is_404_when_not_allowed(sb):
    assert get(sb, "/book/ada/private-notes", token=None).status_code == 404
    other = sb.mint_token(user="grace")
    assert get(sb, "/book/ada/private-notes", token=other).json() == {
        "error": "Not found",
        "code": 404,
    }
    book = get(sb, "/book/ada/private-notes").json()
    assert book["public"] is False and book["permissions"]["manage"] is True


def test_book_shape(sb):
    book = get(sb, "/book/" + sb.ids["book"], token=None).json()
    assert book["id"] == sb.ids["book"]
    assert {
        "name",
        "title",
        "description",
        "public",
        "author",
        "language",
        "dates",
        "permissions",
        "urls",
        "latestBuild",
    } <= set(book)
    assert set(book["author"]) >= {"username", "name"}
    assert set(book["language"]) == {"code", "name"}
    assert set(book["permissions"]) == {"read", "write", "manage"}
    assert "read" in book["urls"] and "version" in book["latestBuild"]


def test_books_pagination_walk_has_a_partial_last_page(fresh):
    sb = fresh
    items, bodies = walk(sb, "/books")
    total = bodies[0]["total"]
    assert len(items) == total == 73 and len({b["id"] for b in items}) == total
    assert [b["page"] for b in bodies] == [0, 1]
    assert bodies[0]["limit"] == 50 and len(bodies[-1]["list"]) == 23
    small, _ = walk(sb, "/books", limit=7)
    assert [b["id"] for b in small] == [b["id"] for b in items]


def test_limit_is_capped_and_bad_page_is_400(fresh):
    sb = fresh
    body = get(sb, "/books/all", params={"limit": 500}).json()
    assert body["limit"] == 100 and len(body["list"]) == min(100, body["total"])
    bad = get(sb, "/books", params={"page": -1})
    assert bad.status_code == 400 and bad.json()["code"] == 400
    beyond = get(sb, "/books", params={"page": 99}).json()
    assert beyond["list"] == [] and beyond["total"] == 73


def test_seeded_titles_include_unicode_rtl_emoji_and_html(sb):
    titles = {b["title"] for b in walk(sb, "/books")[0]}
    assert "<img src=x onerror=alert(1)>" in titles
    assert "مقدمة في الخوارزميات" in titles and "מבוא לאלגוריתמים" in titles
    assert any("🧪" in t for t in titles)


def test_all_books_are_public(sb):
    items, bodies = walk(sb, "/books/all", token=None)
    assert len(items) == bodies[0]["total"] and all(b["public"] for b in items)
    assert {b["author"]["username"] for b in items} >= {"ada", "grace", "maryam"}


def test_authors_both_spellings_and_their_books(sb):
    one, two = get(sb, "/author/grace", token=None), get(sb, "/authors/grace", token=None)
    assert one.json() == two.json() and one.json()["name"] == "Grace Hopper"
    assert "email" not in one.json()
    books = get(sb, "/authors/grace/books", token=None).json()
    assert books["total"] == 2 and {b["author"]["username"] for b in books["list"]} == {"grace"}
    assert get(sb, "/authors/nobody", token=None).status_code == 404
    own = get(sb, "/authors/ada/books").json()["total"]
    public = get(sb, "/authors/ada/books", token=None).json()["total"]
    assert own == public + 1  # the private book is visible to its author only


def test_topics_search(sb):
    body = get(sb, "/topics", token=None, params={"q": "math"}).json()
    assert [t["name"] for t in body["list"]] == ["mathematics"] and body["total"] == 1
    assert get(sb, "/topics", token=None).json()["total"] >= 5


def test_unknown_path_is_404_in_legacy_shape(sb):
    resp = get(sb, "/no/such/thing")
    assert resp.status_code == 404 and resp.json() == {"error": "Not found", "code": 404}


@pytest.mark.parametrize("as_json", [True, False])
def test_create_book(as_json):
    with Sandbox() as sb:
        fields = {"author": "ada", "title": "Notes <b>bold</b> 📓", "description": "new"}
        auth = {"Authorization": f"Bearer {sb.personal_token}"}
        send = {"json": fields} if as_json else {"data": fields}
        resp = requests.post(sb.url + "/books", headers=auth, timeout=10, **send)
        assert resp.status_code == 201, resp.text
        book = resp.json()
        assert book["title"] == fields["title"] and book["author"]["username"] == "ada"
        assert get(sb, "/book/" + book["id"]).json()["title"] == fields["title"]
        assert get(sb, "/books").json()["total"] == 74
        again = requests.post(sb.url + "/books", headers=auth, timeout=10, **send)
        assert again.status_code == 409
        assert (
            requests.post(
                sb.url + "/books", json={"title": ""}, headers=auth, timeout=10
            ).status_code
            == 400
        )
        assert requests.post(sb.url + "/books", json=fields, timeout=10).status_code == 401
        other = requests.post(
            sb.url + "/books", json={**fields, "author": "grace"}, headers=auth, timeout=10
        )
        assert other.status_code == 403


def test_scaled_to_ten_thousand_books():
    with Sandbox(books=10_000) as sb:
        body = get(sb, "/books", params={"limit": 100, "page": 99}).json()
        assert body["total"] == 10_000 and len(body["list"]) == 100
        last = body["list"][-1]["id"]
        assert get(sb, f"/book/{last}").status_code == 200
        items, bodies = walk(sb, "/books", limit=100)
        assert len(items) == 10_000 and len({b["id"] for b in items}) == 10_000
