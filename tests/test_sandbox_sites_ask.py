"""Docs sites, Ask (plain and streamed) and the scopes of sites, insights, Ask and org search."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from support import pkce_pair

from gitbook_nb.sandbox import Sandbox

HTML_TITLE = "<img src=x onerror=alert(1)>"


def call(sb, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.personal_token}"}
    return requests.request(method, f"{sb.url}/v1{path}", headers=headers, timeout=30, **kw)


def items(sb, path: str, token: str | None = None, **params) -> list[dict]:
    resp = call(sb, "GET", path, token, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def org_id(sb, title: str) -> str:
    return next(o["id"] for o in items(sb, "/orgs") if o["title"] == title)


def oauth_token(sb, scopes: str) -> str:
    """A real OAuth access token: registration, consent, PKCE exchange (GITBOOK.md section 2)."""
    redirect = "http://127.0.0.1:8765/callback"
    client = requests.post(
        f"{sb.url}/register",
        json={
            "client_name": "tests",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        },
        timeout=10,
    ).json()["client_id"]
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": redirect,
        "state": secrets.token_urlsafe(32),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": scopes,
    }
    code = parse_qs(urlsplit(sb.approve(f"{sb.url}/authorize?{urlencode(query)}")).query)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code[0],
        "redirect_uri": redirect,
        "client_id": client,
        "code_verifier": verifier,
    }
    resp = requests.post(
        f"{sb.url}/token", data=form, headers={"Accept": "application/json"}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


# ------------------------------------------------------------------------------------ sites
def test_sites_of_each_organisation(sb):
    sites = items(sb, f"/orgs/{sb.ids['org']}/sites")
    assert [s["title"] for s in sites] == ["Engine handbook", HTML_TITLE, "دليل المحرك"]
    assert [s["id"] for s in sites[:2]] == [sb.ids["site"], sb.ids["html_site"]]
    handbook, html, draft = sites
    assert handbook["urls"]["published"] == f"{sb.url}/pub/sites/handbook/"
    assert handbook["type"] == "premium" and handbook["siteSpaces"] == 2 and handbook["features"]
    assert html["visibility"] == "unlisted" and html["published"] is True
    assert draft["published"] is False and "published" not in draft["urls"]
    for o in items(sb, "/orgs")[1:]:
        assert len(items(sb, f"/orgs/{o['id']}/sites")) == 1  # one site in each other org


@pytest.mark.parametrize(
    "params,titles",
    [
        ({"published": "true"}, ["Engine handbook", HTML_TITLE]),
        ({"published": "false"}, ["دليل المحرك"]),
        ({"type": "premium"}, ["Engine handbook"]),
        ({"type": ["basic", "premium"]}, ["Engine handbook", HTML_TITLE, "دليل المحرك"]),
        ({"title": "HANDBOOK"}, ["Engine handbook"]),
        ({"title": "nothing like it"}, []),
    ],
)
def test_site_filters(sb, params, titles):
    assert [s["title"] for s in items(sb, f"/orgs/{sb.ids['org']}/sites", **params)] == titles


def test_site_filter_by_space_and_paging(sb):
    path = f"/orgs/{sb.ids['org']}/sites"
    assert [s["id"] for s in items(sb, path, space=sb.ids["html_space"])] == [sb.ids["html_site"]]
    first = call(sb, "GET", path, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["count"] == 3
    rest = call(sb, "GET", path, params={"limit": 2, "page": first["next"]["page"]}).json()
    assert len(rest["items"]) == 1 and "next" not in rest
    for bad in ({"published": "yes"}, {"type": "gold"}, {"limit": 0}):
        resp = call(sb, "GET", path, params=bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == 400


def test_site_by_id_takes_personal_tokens_only(sb):
    """The spec lists no oauth security for getSiteById: an OAuth token gets a 403."""
    path = f"/orgs/{sb.ids['org']}/sites/{sb.ids['site']}"
    assert call(sb, "GET", path).json()["title"] == "Engine handbook"
    assert call(sb, "GET", path, sb.mint_token(scopes=["site:read"])).status_code == 200
    resp = call(sb, "GET", path, oauth_token(sb, "site:read"))
    assert resp.status_code == 403 and "personal access tokens" in resp.json()["error"]["message"]
    assert call(sb, "GET", f"/orgs/{sb.ids['org']}/sites/site_nope").status_code == 404


def test_structure_with_sections_and_site_spaces(sb):
    org, base = sb.ids["org"], f"{sb.url}/pub/sites/handbook/"
    tree = call(sb, "GET", f"/orgs/{org}/sites/{sb.ids['site']}/structure").json()
    assert tree["type"] == "sections"
    handbook, rockets = tree["structure"]
    assert handbook["default"] is True and rockets["default"] is False
    assert (
        handbook["urls"]["published"] == base and rockets["urls"]["published"] == base + "rockets/"
    )
    assert handbook["siteSpaces"][0]["space"]["id"] == sb.ids["space"]
    cafe_org = org_id(sb, "Ünïcödé Labs 🚀")
    cafe = items(sb, f"/orgs/{cafe_org}/sites")[0]["id"]
    flat = call(sb, "GET", f"/orgs/{cafe_org}/sites/{cafe}/structure").json()
    assert flat["type"] == "siteSpaces"
    assert [s["urls"]["published"][len(sb.url) :] for s in flat["structure"]] == [
        "/pub/sites/cafe/",
        "/pub/sites/cafe/ja/",
    ]


def test_published_profile(sb):
    org = sb.ids["org"]
    prof = call(sb, "GET", f"/orgs/{org}/sites/{sb.ids['html_site']}/published").json()
    assert prof["object"] == "published-content-site" and prof["site"]["title"] == HTML_TITLE
    ids = [s["id"] for s in prof["structure"]["structure"]]
    assert list(prof["customizations"]["siteSpaces"]) == ids and prof["scripts"] == []
    draft = items(sb, f"/orgs/{org}/sites", published="false")[0]["id"]
    assert call(sb, "GET", f"/orgs/{org}/sites/{draft}/published").status_code == 404
    tree = call(sb, "GET", f"/orgs/{org}/sites/{draft}/structure").json()
    assert all(s["urls"] == {} for s in tree["structure"])  # no published URL yet


def test_sites_follow_the_seeded_spaces():
    """With only two spaces seeded, the sites keep the spaces that exist."""
    with Sandbox(spaces=2) as small:
        sites = items(small, f"/orgs/{small.ids['org']}/sites")
        assert [s["title"] for s in sites] == ["Engine handbook", HTML_TITLE]
        tree = call(small, "GET", f"/orgs/{small.ids['org']}/sites/{small.ids['site']}/structure")
        assert [s["title"] for s in tree.json()["structure"]] == ["Handbook"]


def test_sites_of_someone_elses_organisation_are_not_found(sb):
    cafe_org = org_id(sb, "Ünïcödé Labs 🚀")
    stranger = sb.mint_token(user="mallory")
    resp = call(sb, "GET", f"/orgs/{cafe_org}/sites", stranger)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == 404


# -------------------------------------------------------------------------------------- ask
def ask(sb, question: str, token: str | None = None, **params) -> requests.Response:
    return call(
        sb, "POST", f"/orgs/{sb.ids['org']}/ask", token, params=params, json={"query": question}
    )


def page_text(sb, space: str, page: str) -> str:
    body = call(sb, "GET", f"/spaces/{space}/content/page/{page}", params={"format": "markdown"})
    assert body.status_code == 200, body.text
    return f"{body.json()['title']}\n{body.json()['markdown']}".casefold()


def test_ask_answers_from_pages_with_the_words(sb):
    answer = ask(sb, "How do I install the engine?", format="markdown").json()["answer"]
    text = answer["answer"]["markdown"]
    assert text.startswith("From the documentation of Analytical Engines Ltd")
    assert 1 <= len(answer["sources"]) <= 3 and len(answer["followupQuestions"]) == 3
    for source in answer["sources"]:
        assert source["type"] == "page" and source["revision"]
        content = page_text(sb, source["space"], source["page"])
        assert "install" in content or "engine" in content
    top = answer["sources"][0]
    assert {"install", "engine"} <= set(top["reason"].removeprefix("Mentions ").split(", "))


def test_ask_default_format_is_a_document(sb):
    answer = ask(sb, "Bernoulli numbers").json()["answer"]
    doc = answer["answer"]["document"]
    assert doc["object"] == "document"
    texts = [leaf["text"] for b in doc["nodes"] for t in b["nodes"] for leaf in t["leaves"]]
    assert any("Bernoulli numbers" in t for t in texts)


def test_ask_can_answer_with_html_looking_text(sb):
    """An answer quoting a page titled like HTML: a client must show it as text (E6)."""
    text = ask(sb, "What does the img page say?", format="markdown").json()["answer"]
    assert HTML_TITLE in text["answer"]["markdown"]
    assert "<script>alert(2)</script>" in text["answer"]["markdown"]


def test_ask_without_a_matching_page_has_no_answer(sb):
    assert ask(sb, "zyzzyva quux").json() == {}


@pytest.mark.parametrize(
    "body,params",
    [
        (b"query=hello", {}),
        (json.dumps({}).encode(), {}),
        (json.dumps({"query": "  "}).encode(), {}),
        (json.dumps({"query": "x", "previousQueries": ["a"] * 11}).encode(), {}),
        (json.dumps({"query": "engine"}).encode(), {"format": "html"}),
        (json.dumps({"query": "engine"}).encode(), {"details": "maybe"}),
    ],
)
def test_ask_bad_requests(sb, body, params):
    resp = call(sb, "POST", f"/orgs/{sb.ids['org']}/ask", params=params, data=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 400


def sse(resp: requests.Response) -> Iterator[tuple[str, dict]]:
    """Server-sent events as they arrive: (event name, JSON data)."""
    buffer = b""
    for chunk in resp.iter_content(chunk_size=None):
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode().splitlines())
            yield fields.get("event", "message"), json.loads(fields["data"])


def test_streamed_ask_arrives_chunk_by_chunk(sb):
    """Each event reaches the client before the server builds the next one: the server
    waits at a gate that only the client opens, after it has read an event."""
    gate, passed, pause = threading.Semaphore(0), [], sb.ask_pace
    sb.ask_pace = lambda i: passed.append(gate.acquire(timeout=30))
    try:
        resp = call(
            sb,
            "GET",
            f"/orgs/{sb.ids['org']}/ask/stream",
            params={"query": "How do I install the engine?", "format": "markdown"},
            stream=True,
        )
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = []
        for event in sse(resp):
            events.append(event)
            gate.release()
    finally:
        sb.ask_pace = pause
    answers = [data for name, data in events if name == "message"]
    assert events[-1] == ("done", {}) and len(answers) >= 5
    assert passed == [True] * (len(answers) - 1)
    texts = [a["answer"]["answer"]["markdown"] for a in answers]
    assert all(a["type"] == "answer" for a in answers)
    assert all(len(x) < len(y) and y.startswith(x) for x, y in zip(texts, texts[1:], strict=False))
    whole = ask(sb, "How do I install the engine?", format="markdown").json()["answer"]
    assert texts[-1] == whole["answer"]["markdown"]
    assert answers[-1]["answer"]["followupQuestions"] == whole["followupQuestions"]
    assert all(a["answer"]["followupQuestions"] == [] for a in answers[:-1])
    assert all(a["answer"]["sources"] == whole["sources"] for a in answers)


def test_streamed_ask_edge_cases(sb):
    path = f"/orgs/{sb.ids['org']}/ask/stream"
    assert call(sb, "GET", path).status_code == 400  # query is required
    resp = call(sb, "GET", path, params={"query": "zyzzyva quux"}, stream=True)
    assert list(sse(resp)) == [("done", {})]
    doc = list(sse(call(sb, "GET", path, params={"query": "Note G"}, stream=True)))
    assert doc[-2][1]["answer"]["answer"]["document"]["object"] == "document"


def test_recommended_questions(sb):
    body = call(sb, "GET", f"/orgs/{sb.ids['org']}/ask/questions").json()
    assert body["questions"] and all(q.startswith("What does") for q in body["questions"])


# ----------------------------------------------------------------------------------- scopes
SCOPED = [
    ("GET", "/orgs/{org}/sites", None, "site:read"),
    ("GET", "/orgs/{org}/sites/{site}/published", None, "site:read"),
    ("GET", "/orgs/{org}/sites/{site}/structure", None, "site:read"),
    ("POST", "/orgs/{org}/sites/{site}/insights/events/aggregate", {"range": "last7Days"},
     "site:insights:read"),
    ("POST", "/orgs/{org}/ask", {"query": "engine"}, "organization:ask"),
    ("GET", "/orgs/{org}/ask/stream?query=engine", None, "organization:ask"),
    ("GET", "/orgs/{org}/ask/questions", None, "organization:ask"),
    ("GET", "/orgs/{org}/search?query=engine", None, "organization:search"),
]  # fmt: skip


@pytest.mark.parametrize("method,path,body,scope", SCOPED)
def test_each_endpoint_names_its_missing_scope(sb, method, path, body, scope):
    path = path.format(org=sb.ids["org"], site=sb.ids["site"])
    others = [s for s in sb.scopes_supported if s != scope]
    resp = call(sb, method, path, sb.mint_token(scopes=others), json=body)
    assert resp.status_code == 403 and resp.json()["error"]["message"] == f"Missing scope: {scope}"
    assert call(sb, method, path, sb.mint_token(scopes=[scope]), json=body).status_code == 200
    assert call(sb, method, path, oauth_token(sb, scope), json=body).status_code == 200


def test_discovery_lists_the_scopes(sb):
    meta = requests.get(f"{sb.url}/.well-known/oauth-authorization-server", timeout=10).json()
    wanted = {"site:read", "site:insights:read", "organization:ask", "organization:search"}
    assert wanted <= set(meta["scopes_supported"]) and len(meta["scopes_supported"]) == 29
