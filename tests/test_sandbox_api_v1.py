"""The sandbox's current API under /v1: shapes, cursors, errors, rate limits, scopes."""

from __future__ import annotations

import base64

import pytest
import requests
from support import FakeClock

from gitbook_nb.sandbox import Sandbox


def get(sb: Sandbox, path: str, token: str | None = None, **params) -> requests.Response:
    token = sb.personal_token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{sb.url}/v1{path}", headers=headers, params=params, timeout=30)


def walk(sb: Sandbox, path: str, **params) -> tuple[list[dict], list[dict]]:
    """Follow ``next.page`` cursors until ``next`` is absent."""
    items, bodies, cursor = [], [], None
    while True:
        resp = get(sb, path, **params, **({"page": cursor} if cursor else {}))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        bodies.append(body)
        items += body["items"]
        if "next" not in body:
            return items, bodies
        cursor = body["next"]["page"]


def titles(nodes: list[dict]) -> list[str]:
    out = []
    for n in nodes:
        out.append(n["title"])
        out += titles(n.get("pages", []))
    return out


def test_api_info_needs_no_token(sb):
    resp = requests.get(sb.url + "/v1/", timeout=10)
    assert resp.status_code == 200 and {"version", "build"} <= set(resp.json())


def test_user(sb):
    me = get(sb, "/user").json()
    assert me["object"] == "user" and me["id"] == sb.ids["user"]
    assert me["displayName"] == sb.user and me["urls"]["location"].startswith(sb.url)
    grace = get(sb, "/user", token=sb.mint_token(user="grace")).json()
    assert grace["displayName"] == "Grace Hopper"


@pytest.mark.parametrize("token,word", [("", "Authentication"), ("gb_api_bogus", "Invalid")])
def test_401_in_v1_shape(sb, token, word):
    resp = get(sb, "/user", token=token)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["code"] == 401 and word in err["message"]
    assert "X-RateLimit-Limit" not in resp.headers


def test_minted_token_expiry_and_revocation():
    clock = FakeClock()
    with Sandbox(clock=clock) as sb:
        tok = sb.mint_token(expires_in=60)
        assert tok.startswith("gb_api_") and get(sb, "/user", token=tok).status_code == 200
        clock.now += 61
        assert "expired" in get(sb, "/user", token=tok).json()["error"]["message"]
        other = sb.mint_token()
        assert sb.revoke_token(other)
        resp = get(sb, "/user", token=other)
        assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]
    with pytest.raises(ValueError):
        sb.mint_token(scopes=["no:such-scope"])


def test_orgs_and_unicode_titles(sb):
    orgs, _ = walk(sb, "/orgs")
    assert orgs[0]["id"] == sb.ids["org"] and all(o["object"] == "organization" for o in orgs)
    names = {o["title"] for o in orgs}
    assert "<img src=x onerror=alert(1)>" in names and "مختبر الخوارزميات" in names
    assert any("🚀" in n for n in names)


def test_spaces_cursor_walk(sb):
    items, bodies = walk(sb, f"/orgs/{sb.ids['org']}/spaces", limit=10)
    count = bodies[0]["count"]
    assert len(items) == count == 57 and len({s["id"] for s in items}) == count
    assert len(bodies) == 6 and len(bodies[-1]["items"]) == 7
    assert all(b["count"] == count for b in bodies) and "next" not in bodies[-1]
    default, dbodies = walk(sb, f"/orgs/{sb.ids['org']}/spaces")
    assert [s["id"] for s in default] == [s["id"] for s in items] and len(dbodies) == 2
    space_titles = {s["title"] for s in items}
    assert {"<img src=x onerror=alert(1)>", "دليل المحرك", "מדריך המנוע"} <= space_titles


def test_cursors_are_opaque_and_unforgeable(sb):
    path = f"/orgs/{sb.ids['org']}/spaces"
    cursor = get(sb, path, limit=5).json()["next"]["page"]
    assert "5" != cursor and get(sb, path, page=cursor, limit=5).status_code == 200
    forged = base64.urlsafe_b64encode(b"10.aaaaaaaaaaaa").decode().rstrip("=")
    for bad in (forged, "garbage!", cursor[:-2]):
        resp = get(sb, path, page=bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == 400
    other = f"/orgs/{sb.ids['org']}/members"
    assert get(sb, other, page=cursor).status_code == 400  # bound to the list it came from


@pytest.mark.parametrize("limit", ["0", "1001", "ten"])
def test_bad_limit_is_400(sb, limit):
    assert get(sb, "/orgs", limit=limit).status_code == 400


def test_limit_up_to_1000(sb):
    with Sandbox(spaces=1200) as big:
        body = get(big, f"/orgs/{big.ids['org']}/spaces", limit=1000).json()
        assert len(body["items"]) == 1000 and body["count"] == 1200 and "next" in body


def test_content_tree_with_nodes_lacking_pages(sb):
    rev = get(sb, f"/spaces/{sb.ids['space']}/content").json()
    assert rev["object"] == "revision" and rev["pages"][0]["id"] == sb.ids["page"]
    types = {p["type"] for p in rev["pages"]}
    assert types == {"document", "group", "link"}
    links = [p for p in rev["pages"] if p["type"] == "link"]
    assert links and all("pages" not in p for p in links)
    nested = [p for p in rev["pages"] if p.get("pages")]
    assert nested and any(c.get("pages") for p in nested for c in p["pages"])
    all_titles = titles(rev["pages"])
    assert "<img src=x onerror=alert(1)>" in all_titles and "מדריך בעברית" in all_titles


def test_page_as_markdown_or_document(sb):
    base = f"/spaces/{sb.ids['space']}/content/page/{sb.ids['page']}"
    md = get(sb, base, format="markdown").json()
    assert md["markdown"].startswith("# Getting started") and "document" not in md
    doc = get(sb, base).json()
    assert doc["document"]["object"] == "document" and "markdown" not in doc
    assert get(sb, base, format="pdf").status_code == 400
    missing = get(sb, f"/spaces/{sb.ids['space']}/content/page/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404


def test_space_search(sb):
    path = f"/spaces/{sb.ids['space']}/search"
    hits = get(sb, path, query="engine").json()
    assert hits["count"] >= 2 and all(
        "engine" in (h["title"] + h["description"]).lower() for h in hits["items"]
    )
    assert [h["rank"] for h in hits["items"]] == list(range(1, len(hits["items"]) + 1))
    assert get(sb, path).status_code == 400
    assert get(sb, path, query="x" * 513).status_code == 400
    assert get(sb, path, query="x" * 512).status_code == 200
    arabic = get(sb, path, query="العربية").json()
    assert arabic["count"] == 1


def test_org_search(sb):
    body = get(sb, f"/orgs/{sb.ids['org']}/search", query="notes").json()
    assert body["count"] >= 1 and all(r["type"] == "space" for r in body["items"])
    assert get(sb, f"/orgs/{sb.ids['org']}/search").status_code == 400


def test_change_requests(sb):
    path = f"/spaces/{sb.ids['space']}/change-requests"
    items, bodies = walk(sb, path, limit=2)
    assert len(items) == bodies[0]["count"] == 5 and {c["status"] for c in items} == {"open"}
    merged = get(sb, path, status="merged").json()["items"]
    assert len(merged) == 1 and "mergedBy" in merged[0]
    assert get(sb, path, status="bogus").status_code == 400


def test_collections_members_and_collection_spaces(sb):
    colls, _ = walk(sb, f"/orgs/{sb.ids['org']}/collections")
    assert colls[0]["id"] == sb.ids["collection"] and colls[0]["object"] == "collection"
    spaces, _ = walk(sb, f"/collections/{sb.ids['collection']}/spaces")
    assert {s["id"] for s in spaces} == {sb.ids["space"], sb.ids["html_space"]}
    members, bodies = walk(sb, f"/orgs/{sb.ids['org']}/members", limit=5)
    assert len(members) == bodies[0]["count"] == 12
    assert all(m["object"] == "member" and m["user"]["object"] == "user" for m in members)


def test_space_and_html_space(sb):
    space = get(sb, f"/spaces/{sb.ids['html_space']}").json()
    assert space["object"] == "space" and space["title"] == "<img src=x onerror=alert(1)>"
    assert get(sb, "/spaces/nope").json() == {"error": {"code": 404, "message": "Space not found"}}


def test_other_users_do_not_see_foreign_orgs(sb):
    tok = sb.mint_token(user="emmy")  # member of the first org only
    orgs = get(sb, "/orgs", token=tok).json()
    assert [o["id"] for o in orgs["items"]] == [sb.ids["org"]]
    foreign = next(o["id"] for o in get(sb, "/orgs").json()["items"] if o["id"] != sb.ids["org"])
    assert get(sb, f"/orgs/{foreign}/spaces", token=tok).status_code == 404


def test_rate_limit_headers_and_429():
    clock = FakeClock()
    with Sandbox(rate_limit=3, clock=clock) as sb:
        seen = []
        for _ in range(3):
            resp = get(sb, "/user")
            assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "3"
            seen.append(int(resp.headers["X-RateLimit-Remaining"]))
        assert seen == [2, 1, 0]
        reset = int(resp.headers["X-RateLimit-Reset"])
        assert reset == int(clock.now) + 3600
        limited = get(sb, "/orgs")
        assert limited.status_code == 429 and limited.json()["error"]["code"] == 429
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        other = get(sb, "/user", token=sb.mint_token())  # the budget is per token
        assert other.status_code == 200
        clock.now = reset
        assert get(sb, "/user").status_code == 200


def test_rate_limit_headers_on_every_authenticated_answer(sb):
    for path in ("/user", "/orgs", f"/spaces/{sb.ids['space']}", "/spaces/nope"):
        resp = get(sb, path)
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            resp.headers
        ), path


def test_scopes_of_minted_tokens(sb):
    tok = sb.mint_token(scopes=["space:read"])
    assert get(sb, f"/spaces/{sb.ids['space']}", token=tok).status_code == 200
    resp = get(sb, "/user", token=tok)
    assert resp.status_code == 403 and resp.json()["error"]["message"] == (
        "Missing scope: user:read"
    )


def test_unknown_route_and_method(sb):
    assert get(sb, "/nope").json()["error"]["code"] == 404
    resp = requests.post(
        f"{sb.url}/v1/user",
        json={},
        headers={"Authorization": f"Bearer {sb.personal_token}"},
        timeout=10,
    )
    assert resp.status_code == 405 and resp.json()["error"]["code"] == 405
