"""The sandbox's content over real HTTP: pages by path and id in both formats, trees without
bodies, revisions, list filters, GitBook's rate limiting, the 1,000-page space, latency.

Change requests (writes, merges) are in ``test_sandbox_change_requests.py``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests
from support import FakeClock

from gitbook_nb.sandbox import Sandbox


def get(sb: Sandbox, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.personal_token}"}
    return requests.get(f"{sb.url}/v1{path}", headers=headers, params=params, timeout=30)


def nodes(pages: list[dict]) -> list[dict]:
    out = []
    for p in pages:
        out.append(p)
        out += nodes(p.get("pages", []))
    return out


def space_markdown(sb: Sandbox, space: str) -> dict[str, str]:
    tree = get(sb, f"/spaces/{space}/content/pages").json()["pages"]
    return {
        n["path"]: get(sb, f"/spaces/{space}/content/page/{n['id']}", format="markdown").json()[
            "markdown"
        ]
        for n in nodes(tree)
        if n["type"] == "document"
    }


def test_trees_list_pages_without_bodies(sb):
    base = f"/spaces/{sb.ids['space']}"
    rev, listed = get(sb, f"{base}/content").json(), get(sb, f"{base}/content/pages").json()
    assert listed["pages"] == rev["pages"]
    every = nodes(rev["pages"])
    assert len(every) == 12 and not [n for n in every if "markdown" in n or "document" in n]
    docs = [n for n in every if n["type"] == "document"]
    assert all(n["documentId"] and n["updatedAt"] and n["createdAt"] for n in docs)
    assert all("pages" not in n for n in every if n["type"] == "link")


def test_page_by_path_and_by_id_in_both_formats(sb):
    base = f"/spaces/{sb.ids['space']}/content"
    by_path = get(sb, f"{base}/path/guides/bernoulli-numbers/note-g", format="markdown").json()
    by_id = get(sb, f"{base}/page/{by_path['id']}", format="markdown").json()
    assert by_path == by_id and by_path["title"] == "Note G" and by_path["kind"] == "sheet"
    assert by_path["path"] == "guides/bernoulli-numbers/note-g"
    assert by_path["markdown"].startswith("# Note G\n\n") and "```text" in by_path["markdown"]
    doc = get(sb, f"{base}/path/guides/bernoulli-numbers/note-g").json()  # default: document
    assert "markdown" not in doc and doc["document"]["object"] == "document"
    kinds = [b["type"] for b in doc["document"]["nodes"]]
    assert kinds[0] == "heading-1" and "code" in kinds and "paragraph" in kinds
    encoded = get(sb, f"{base}/path/{quote('guides/bernoulli-numbers/note-g', safe='')}")
    assert encoded.json()["id"] == by_path["id"]  # a%2Fb works as well as a/b
    hebrew = get(sb, f"{base}/path/{quote('guides/מדריך-בעברית')}", format="markdown").json()
    assert hebrew["title"] == "מדריך בעברית" and "מימין לשמאל" in hebrew["markdown"]
    group = get(sb, f"{base}/path/guides", format="markdown").json()
    assert group["type"] == "group" and "markdown" not in group and len(group["pages"]) == 4


def test_links_are_relative_by_default_or_stable(sb):
    base = f"/spaces/{sb.ids['space']}/content/path/getting-started"
    relative = get(sb, base, format="markdown").json()["markdown"]
    assert "[Installation](getting-started/installation.md)" in relative
    assert "[FAQ](faq.md)" in relative
    assert "(https://en.wikipedia.org/wiki/Analytical_engine)" in relative
    stable = get(sb, base, format="markdown", **{"format.markdown.refs": "stable"}).json()
    faq = get(sb, f"/spaces/{sb.ids['space']}/content/path/faq").json()["id"]
    assert f"[FAQ](/pages/{faq})" in stable["markdown"]
    note = get(
        sb,
        f"/spaces/{sb.ids['space']}/content/path/guides/bernoulli-numbers/note-g",
        format="markdown",
    ).json()["markdown"]
    assert "[Bernoulli numbers](../bernoulli-numbers.md)" in note


def test_seeded_bodies_are_realistic(sb):
    pages = space_markdown(sb, sb.ids["space"])
    text = "\n".join(pages.values())
    assert re.search(r"^## ", text, re.M) and re.search(r"^1\. ", text, re.M)
    assert re.search(r"^- ", text, re.M) and "| --- |" in text and "```python" in text
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert "עברית" in text and "العربية" in text and "🚀" in text
    assert re.search(r"\]\([^)]+\.md\)", text) and "](https://" in text
    words = sorted(len(md.split()) for md in pages.values())
    assert words[0] * 5 < words[-1]  # short and long pages


def test_update_times_vary_and_precede_their_revision(sb):
    space = get(sb, f"/spaces/{sb.ids['space']}").json()
    rev = get(sb, f"/spaces/{sb.ids['space']}/content").json()
    assert space["revision"] == rev["id"] and space["updatedAt"] == rev["createdAt"]
    updated = [n["updatedAt"] for n in nodes(rev["pages"])]
    assert len(set(updated)) == len(updated)
    assert max(updated) <= rev["createdAt"] and min(updated) < "2024"  # some are stale


@pytest.mark.parametrize(
    "path,params,status",
    [
        ("/content/page/nope", {}, 404),
        ("/content/path/no/such/page", {}, 404),
        ("/content/path/external-reference", {}, 404),  # link pages have no path
        ("/content/page/{page}", {"format": "pdf"}, 400),
        ("/content/page/{page}", {"format.markdown.refs": "absolute"}, 400),
        ("/content/page/{page}", {"metadata": "maybe"}, 400),
        ("/revisions/nope", {}, 404),
        ("/revisions/nope/page/{page}", {}, 404),
        ("/change-requests/999/content", {}, 404),
    ],
)
def test_content_errors_in_v1_shape(sb, path, params, status):
    resp = get(sb, f"/spaces/{sb.ids['space']}" + path.format(page=sb.ids["page"]), **params)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == status and resp.json()["error"]["message"]
    assert get(sb, "/spaces/nope/content/path/faq").status_code == 404


def test_revision_and_change_request_scoped_reads(sb):
    base = f"/spaces/{sb.ids['space']}"
    rid = get(sb, base).json()["revision"]
    assert (
        get(sb, f"{base}/revisions/{rid}").json()["pages"]
        == get(sb, f"{base}/content").json()["pages"]
    )
    assert get(sb, f"{base}/revisions/{rid}/pages").json()["pages"][0]["id"] == sb.ids["page"]
    page = get(sb, f"{base}/revisions/{rid}/path/faq", format="markdown").json()
    assert (
        page["markdown"].startswith("# FAQ")
        and get(sb, f"{base}/revisions/{rid}/page/{page['id']}", format="markdown").json() == page
    )
    cr = f"{base}/change-requests/{sb.ids['change_request']}/content"
    note = get(sb, f"{cr}/path/guides/bernoulli-numbers/note-g", format="markdown").json()
    assert "typo fixed" in note["markdown"]  # the seeded change request's edit
    live = get(sb, f"{base}/content/path/guides/bernoulli-numbers/note-g", format="markdown")
    assert "typo fixed" not in live.json()["markdown"]
    assert get(sb, f"{cr}/page/{note['id']}").json()["id"] == note["id"]
    assert {n["id"] for n in nodes(get(sb, f"{cr}/pages").json()["pages"])} >= {note["id"]}
    assert get(sb, cr).json()["object"] == "revision"


def test_members_filters(sb):
    path = f"/orgs/{sb.ids['org']}/members"
    everyone = get(sb, path).json()["items"]
    assert len(everyone) == 12 and everyone[0]["joinedAt"] > everyone[-1]["joinedAt"]  # desc
    admins = get(sb, path, role="admin").json()["items"]
    assert admins and all(m["role"] == "admin" for m in admins)
    assert [m["user"]["displayName"] for m in get(sb, path, search="HOPPER").json()["items"]] == [
        "Grace Hopper"
    ]
    assert get(sb, path, search="yonath@example").json()["count"] == 1  # email too
    names = [
        m["user"]["displayName"] for m in get(sb, path, sort="name", order="asc").json()["items"]
    ]
    assert names == sorted(names, key=str.casefold)
    assert get(sb, path, role="guest").json()["count"] == 0
    for bad in ({"role": "owner"}, {"sort": "age"}, {"order": "sideways"}):
        assert get(sb, path, **bad).status_code == 400


def test_collections_nested_filter(sb):
    path = f"/orgs/{sb.ids['org']}/collections"
    nested = get(sb, path).json()["items"]
    top = get(sb, path, nested="false").json()["items"]
    assert len(nested) == 3 and len(top) == 2 and all("parent" not in c for c in top)
    assert [c for c in nested if c.get("parent") == sb.ids["collection"]]
    assert get(sb, path, nested="sometimes").status_code == 400


def test_rate_limit_window_and_429_without_retry_after():
    clock = FakeClock()
    with Sandbox(rate_limit=3, rate_window=60, clock=clock) as sb:
        seen = []
        for path in ("/user", "/spaces/nope", "/orgs"):  # errors count and carry headers too
            resp = get(sb, path)
            assert resp.headers["X-RateLimit-Limit"] == "3"
            seen.append(resp.headers["X-RateLimit-Remaining"])
        assert seen == ["2", "1", "0"]
        reset = int(resp.headers["X-RateLimit-Reset"])
        assert reset == clock.now + 60
        clock.now += 15
        limited = get(sb, "/user")
        assert limited.status_code == 429 and "Retry-After" not in limited.headers
        assert limited.json() == {
            "error": {
                "code": 429,
                "message": "API rate limit exceeded. Please try again in 45 seconds",
            }
        }
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert int(limited.headers["X-RateLimit-Reset"]) == reset
        clock.now = reset  # waiting until X-RateLimit-Reset is enough
        fresh = get(sb, "/user")
        assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "2"
        assert int(fresh.headers["X-RateLimit-Reset"]) == reset + 60


def test_rate_limit_can_add_retry_after():
    clock = FakeClock(1_700_000_000.25)  # a fractional clock: Reset rounds up, never early
    with Sandbox(rate_limit=1, rate_window=60, rate_retry_after=True, clock=clock) as sb:
        first = get(sb, "/user")
        assert first.status_code == 200 and int(first.headers["X-RateLimit-Reset"]) == 1_700_000_061
        clock.now += 20
        limited = get(sb, "/user")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "41"
        assert "41 seconds" in limited.json()["error"]["message"]


def test_thousand_page_space_for_benchmarks():
    with Sandbox(pages=1000) as sb:
        space = sb.ids["bulk_space"]
        tree = get(sb, f"/spaces/{space}/content").json()["pages"]
        pages = nodes(tree)
        assert len(pages) == 1000 and {p["type"] for p in pages} == {"document"}
        assert (
            len({p["path"] for p in pages}) == 1000
            and max(p["path"].count("/") for p in pages) == 2
        )
        assert len({p["updatedAt"] for p in pages}) > 900
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {sb.personal_token}"
            words = []
            for p in pages:
                url = f"{sb.url}/v1/spaces/{space}/content/path/{p['path']}"
                body = http.get(url, params={"format": "markdown"}, timeout=30).json()
                assert body["id"] == p["id"] and body["markdown"].startswith(f"# {p['title']}")
                words.append(len(body["markdown"].split()))
        assert min(words) < 100 < 800 < max(words)
        assert sb.errors == []
    with Sandbox() as plain:
        assert "bulk_space" not in plain.ids
        assert get(plain, f"/orgs/{plain.ids['org']}/spaces").json()["count"] == 57


def test_latency_is_added_to_every_request():
    waits: list[float] = []
    with Sandbox(latency=0.02) as sb:
        sb.sleep = waits.append  # the seam: no wall clock in tests (bench/ measures time)
        for path in ("/v1/user", "/v1/orgs", "/account", "/.well-known/oauth-authorization-server"):
            requests.get(
                sb.url + path, headers={"Authorization": f"Bearer {sb.personal_token}"}, timeout=30
            )
        assert waits == [0.02] * 4
        sb.clear_faults()  # the option is not a fault: it stays
        sb.latency = 0
        sb.add_fault("latency", seconds=0.02)  # the fault form, on every path, also works
        get(sb, "/user")
        get(sb, "/orgs")
        assert waits == [0.02] * 6
