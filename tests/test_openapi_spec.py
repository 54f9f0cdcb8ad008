"""The sandbox's /v1 answers validate against GitBook's own OpenAPI 3.1 spec.

The spec ships in the npm package ``@gitbook/api`` (``spec/openapi.json``) and has no licence,
so it is never committed: it is fetched at run time with ``npm pack`` into a temporary folder
(npm's cache too, so $HOME is not touched). Without npm or the registry the test skips and
says why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.network

openapi_schema_validator = pytest.importorskip("openapi_schema_validator")
referencing = pytest.importorskip("referencing")
# validate_request_body is here for tests of the client's requests (they import it from here).
from spec_support import (  # noqa: E402
    SpecUnavailable,
    fetch_spec,
    schemas,
    typescript_unions,
    validate_request_body,
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        data = fetch_spec(tmp_path_factory.mktemp("gitbook-api"))
    except SpecUnavailable as exc:
        pytest.skip(str(exc))
    assert data["openapi"].startswith("3.1")
    return data


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class SpecValidator:
    """Validates answers against the spec and fails on any field it does not define."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas = schemas(spec)
        self.registry = self.schemas.registry

    def _check(self, ref: str, instance: Any, what: str) -> None:
        problems = self.schemas.errors(ref, instance)
        if problems:
            pytest.fail(f"{what}: {problems[0]}")
        extra = self.schemas.undefined_fields(ref, instance)
        if extra:
            pytest.fail(f"{what}: fields the spec does not define: {extra[:5]}")

    def response(self, path: str, status: str, instance: Any, method: str = "get") -> None:
        responses = self.spec["paths"][path][method]["responses"]
        assert status in responses, f"{method.upper()} {path} declares no {status}"
        answer = responses[status]
        if "content" in answer:
            ref = _pointer(
                "paths", path, method, "responses", status, "content", "application/json", "schema"
            )
        else:  # {"$ref": "#/components/responses/NotFoundError"}
            ref = answer["$ref"][1:] + "/content/application~1json/schema"
            ref = "#" + ref
        self._check(ref, instance, f"{method.upper()} {path} {status}")

    def error(self, name: str, instance: Any) -> None:
        self._check(
            _pointer("components", "responses", name, "content", "application/json", "schema"),
            instance,
            name,
        )


@pytest.fixture(scope="module")
def check(spec: dict[str, Any]) -> SpecValidator:
    return SpecValidator(spec)


@pytest.fixture(scope="module")
def tree_check(spec: dict[str, Any]) -> SpecValidator:
    """For content trees, whose pages carry no body, and semantic changes: two TypeScript
    unions read as TypeScript means them (see ``spec_support.typescript_unions``)."""
    return SpecValidator(typescript_unions(spec))


def v1(sb, path: str, token: str | None = None, **params: Any) -> requests.Response:
    token = token or sb.personal_token
    return requests.get(
        f"{sb.url}/v1{path}",
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )


def every_page(sb, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        body = v1(sb, path, **params, **({"page": cursor} if cursor else {})).json()
        yield body
        if "next" not in body:
            return
        cursor = body["next"]["page"]


def test_api_info_and_user(sb, check):
    check.response("/", "200", requests.get(sb.url + "/v1/", timeout=10).json())
    check.response("/user", "200", v1(sb, "/user").json())


def test_lists_validate(sb, check):
    org = sb.ids["org"]
    lists = {
        "/orgs": "/orgs",
        f"/orgs/{org}/spaces": "/orgs/{organizationId}/spaces",
        f"/orgs/{org}/collections": "/orgs/{organizationId}/collections",
        f"/orgs/{org}/members": "/orgs/{organizationId}/members",
        f"/collections/{sb.ids['collection']}/spaces": "/collections/{collectionId}/spaces",
    }
    for path, spec_path in lists.items():
        for body in every_page(sb, path, limit=20):
            check.response(spec_path, "200", body)
    for o in v1(sb, "/orgs").json()["items"]:  # every org's spaces (unicode, HTML titles)
        check.response(
            "/orgs/{organizationId}/spaces", "200", v1(sb, f"/orgs/{o['id']}/spaces").json()
        )


def test_spaces_content_and_pages_validate(sb, check, tree_check):
    for space_id in (sb.ids["space"], sb.ids["html_space"]):
        check.response("/spaces/{spaceId}", "200", v1(sb, f"/spaces/{space_id}").json())
        rev = v1(sb, f"/spaces/{space_id}/content").json()
        tree_check.response("/spaces/{spaceId}/content", "200", rev)  # pages without bodies
        stack = list(rev["pages"])
        while stack:
            node = stack.pop()
            stack += node.get("pages", [])
            if node["type"] == "link":
                continue
            for fmt in ("document", "markdown"):
                body = v1(sb, f"/spaces/{space_id}/content/page/{node['id']}", format=fmt).json()
                # subpages are listed without bodies, like a tree; the page has its own body
                tree_check.response("/spaces/{spaceId}/content/page/{pageId}", "200", body)
                if body["type"] == "document":
                    alone = {**body, "pages": []}
                    check.response("/spaces/{spaceId}/content/page/{pageId}", "200", alone)


def test_search_and_change_requests_validate(sb, check):
    space, org = sb.ids["space"], sb.ids["org"]
    check.response(
        "/spaces/{spaceId}/search",
        "200",
        v1(sb, f"/spaces/{space}/search", query="engine", limit=2).json(),
    )
    check.response(
        "/orgs/{organizationId}/search", "200", v1(sb, f"/orgs/{org}/search", query="notes").json()
    )
    for status in ("open", "merged", "draft", "archived"):
        for body in every_page(sb, f"/spaces/{space}/change-requests", status=status, limit=3):
            check.response("/spaces/{spaceId}/change-requests", "200", body)


def test_error_bodies_validate(sb, check):
    check.response("/user", "404", v1(sb, "/spaces/missing").json())
    check.error("NotFoundError", v1(sb, "/spaces/missing").json())
    check.error("BadRequestError", v1(sb, f"/spaces/{sb.ids['space']}/search").json())
    check.error("UnauthorizedError", v1(sb, "/user", token="gb_api_wrong").json())
    narrow = sb.mint_token(scopes=["user:read"])
    check.error("ForbiddenError", v1(sb, "/orgs", token=narrow).json())
    sb.add_fault("status", path="/v1/user", code=500, times=1)
    check.error("UnexpectedError", v1(sb, "/user").json())


def test_sandbox_scopes_match_the_spec(sb, spec):
    flows = spec["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]
    assert list(flows["scopes"]) == list(sb.scopes_supported)
    from gitbook_nb.sandbox import api_v1

    for pattern, scope, _, method in api_v1._ROUTES:
        spec_path = pattern.pattern.replace("([^/]+)", "{}").replace("(.+)", "{}")
        candidates = [p for p in spec["paths"] if _shape(p) == spec_path]
        assert candidates, f"no spec path for {pattern.pattern}"
        operation = spec["paths"][candidates[0]][method.lower()]
        security = operation.get("security", spec.get("security", []))
        oauth = [s["oauth"] for s in security if "oauth" in s]
        if scope is None:  # personal access tokens only: the spec names no oauth scope
            assert not oauth, f"{method} {candidates[0]} accepts OAuth with {oauth}"
        else:
            assert oauth and scope in oauth[0], f"{method} {candidates[0]} needs {oauth}"


def _shape(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


def test_spec_is_not_in_the_repository():
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    tracked = subprocess.run(
        [git, "ls-files"],
        cwd=root,
        capture_output=True,  # noqa: S603
        text=True,
        check=True,
    )
    assert "openapi.json" not in tracked.stdout


# ------------------------------------------------------------------ docs as data (issue 11)
def send(sb, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(
        method,
        f"{sb.url}/v1{path}",
        json=body,
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {sb.personal_token}"},
    )


def test_content_by_path_revision_and_change_request_validate(sb, check, tree_check):
    space = sb.ids["space"]
    rid = v1(sb, f"/spaces/{space}").json()["revision"]
    cr = sb.ids["change_request"]
    trees = {
        f"/spaces/{space}/content/pages": "/spaces/{spaceId}/content/pages",
        f"/spaces/{space}/revisions/{rid}": "/spaces/{spaceId}/revisions/{revisionId}",
        f"/spaces/{space}/revisions/{rid}/pages": "/spaces/{spaceId}/revisions/{revisionId}/pages",
        f"/spaces/{space}/change-requests/{cr}/content": (
            "/spaces/{spaceId}/change-requests/{changeRequestId}/content"
        ),
        f"/spaces/{space}/change-requests/{cr}/content/pages": (
            "/spaces/{spaceId}/change-requests/{changeRequestId}/content/pages"
        ),
    }
    for path, spec_path in trees.items():
        tree_check.response(spec_path, "200", v1(sb, path).json())
    pages = {
        f"/spaces/{space}/content/path/guides/bernoulli-numbers": (
            "/spaces/{spaceId}/content/path/{pagePath}"
        ),
        f"/spaces/{space}/revisions/{rid}/path/faq": (
            "/spaces/{spaceId}/revisions/{revisionId}/path/{pagePath}"
        ),
        f"/spaces/{space}/revisions/{rid}/page/{sb.ids['page']}": (
            "/spaces/{spaceId}/revisions/{revisionId}/page/{pageId}"
        ),
        f"/spaces/{space}/change-requests/{cr}/content/path/faq": (
            "/spaces/{spaceId}/change-requests/{changeRequestId}/content/path/{pagePath}"
        ),
        f"/spaces/{space}/change-requests/{cr}/content/page/{sb.ids['page']}": (
            "/spaces/{spaceId}/change-requests/{changeRequestId}/content/page/{pageId}"
        ),
    }
    for path, spec_path in pages.items():
        for fmt in ("markdown", "document"):
            body = v1(sb, path, format=fmt).json()
            tree_check.response(spec_path, "200", body)
            check.response(spec_path, "200", {**body, "pages": []})  # the page's own body
    group = v1(sb, f"/spaces/{space}/content/path/guides").json()
    tree_check.response("/spaces/{spaceId}/content/path/{pagePath}", "200", group)
    changes = v1(sb, f"/spaces/{space}/change-requests/{cr}/changes").json()
    assert changes["changes"][0]["type"] == "page_edited"
    tree_check.response(
        "/spaces/{spaceId}/change-requests/{changeRequestId}/changes", "200", changes
    )
    check.response(
        "/spaces/{spaceId}/change-requests/{changeRequestId}",
        "200",
        v1(sb, f"/spaces/{space}/change-requests/{cr}").json(),
    )


def test_change_request_writes_validate(check, tree_check, spec):
    from gitbook_nb.sandbox import Sandbox

    with Sandbox() as sb:
        base = f"/spaces/{sb.ids['space']}"
        create = {"subject": "From a notebook"}
        validate_request_body(spec, "post", "/spaces/{spaceId}/change-requests", create)
        created = send(sb, "POST", f"{base}/change-requests", create)
        check.response("/spaces/{spaceId}/change-requests", "201", created.json(), "post")
        cr = created.json()["id"]
        batch = {
            "changes": [
                {
                    "operation": "insert_page",
                    "title": "Summary",
                    "ref": "s",
                    "document": {"markdown": "# Summary\n\nText."},
                    "into": sb.ids["page"],
                    "at": 0,
                },
                {
                    "operation": "update_page",
                    "page": sb.ids["page"],
                    "document": {"markdown": "See [it](./s.md)."},
                },
            ]
        }
        content = "/spaces/{spaceId}/change-requests/{changeRequestId}/content"
        validate_request_body(spec, "post", content, batch)
        for compat in ("true", "false"):
            answer = send(sb, "POST", f"{base}/change-requests/{cr}/content", batch, compat=compat)
            check.response(content, "200", answer.json(), "post")
        patch = {"subject": "Renamed", "status": "open"}
        validate_request_body(
            spec, "patch", "/spaces/{spaceId}/change-requests/{changeRequestId}", patch
        )
        patched = send(sb, "PATCH", f"{base}/change-requests/{cr}", patch).json()
        check.response(
            "/spaces/{spaceId}/change-requests/{changeRequestId}", "200", patched, "patch"
        )
        for status in ("open", "merged"):
            listed = v1(sb, f"{base}/change-requests", status=status, orderBy="createdAt").json()
            check.response("/spaces/{spaceId}/change-requests", "200", listed)
        merged = send(sb, "POST", f"{base}/change-requests/{cr}/merge").json()
        check.response(
            "/spaces/{spaceId}/change-requests/{changeRequestId}/merge", "200", merged, "post"
        )
        rev = v1(sb, f"{base}/content").json()
        assert rev["type"] == "merge"
        tree_check.response("/spaces/{spaceId}/content", "200", rev)
        tree_check.response(
            "/spaces/{spaceId}/revisions/{revisionId}/changes",
            "200",
            v1(sb, f"{base}/revisions/{rev['id']}/changes").json(),
        )
        assert sb.errors == []


def test_filtered_lists_validate(sb, check):
    org = sb.ids["org"]
    for params in ({"role": "admin"}, {"search": "a", "sort": "name", "order": "asc"}):
        check.response(
            "/orgs/{organizationId}/members", "200", v1(sb, f"/orgs/{org}/members", **params).json()
        )
    for nested in ("true", "false"):
        check.response(
            "/orgs/{organizationId}/collections",
            "200",
            v1(sb, f"/orgs/{org}/collections", nested=nested).json(),
        )


_PAGE = "1NRQr7ONbmlcurlJI46A"  # sb.ids["page"]: seeded ids are stable
_BATCHES = [  # request bodies whose validity does not depend on the tree
    {"changes": [{"operation": "insert_page", "document": {"markdown": "# A"}}]},
    {"changes": [{"operation": "insert_page", "document": {}}]},
    {
        "changes": [
            {
                "operation": "insert_page",
                "document": {"document": {"object": "document", "data": {}, "nodes": []}},
            }
        ]
    },
    {"changes": [{"operation": "update_page", "page": _PAGE, "title": "T", "hidden": True}]},
    {"changes": [{"operation": "update_page", "page": _PAGE, "into": None, "at": 0}]},
    {"changes": [{"operation": "update_page", "page": _PAGE, "emoji": "🚀", "noIndex": False}]},
    {},
    {"changes": []},
    {"changes": [{"operation": "insert_page", "document": {}}] * 51},
    {"changes": [{"operation": "insert_page"}]},
    {"changes": [{"operation": "insert_page", "document": {"markdwon": "typo"}}]},
    {"changes": [{"operation": "insert_page", "document": {"markdown": "a", "document": {}}}]},
    {"changes": [{"operation": "insert_page", "document": {"markdown": 1}}]},
    {"changes": [{"operation": "insert_page", "document": {}, "title": ""}]},
    {"changes": [{"operation": "insert_page", "document": {}, "at": -1}]},
    {"changes": [{"operation": "insert_page", "document": {}, "at": 1.5}]},
    {"changes": [{"operation": "insert_page", "document": {}, "into": None}]},
    {"changes": [{"operation": "insert_page", "document": {}, "slug": "s" * 101}]},
    {"changes": [{"operation": "update_page"}]},
    {"changes": [{"operation": "update_page", "page": _PAGE, "hidden": "no"}]},
    {"changes": [{"operation": "move_page", "page": _PAGE}]},
    {"changes": "insert_page"},
]


def test_sandbox_and_spec_agree_on_change_batches(spec):
    """The sandbox accepts exactly the batches the spec's request schema accepts."""
    from gitbook_nb.sandbox import Sandbox

    path = "/spaces/{spaceId}/change-requests/{changeRequestId}/content"
    with Sandbox() as sb:
        for body in _BATCHES:
            try:
                validate_request_body(spec, "post", path, body, strict=False)
                valid = True
            except AssertionError:
                valid = False
            cr = send(sb, "POST", f"/spaces/{sb.ids['space']}/change-requests", {}).json()["id"]
            answer = send(
                sb, "POST", f"/spaces/{sb.ids['space']}/change-requests/{cr}/content", body
            )
            assert answer.status_code == (200 if valid else 400), (body, answer.text)


def test_strict_checks_catch_fields_the_spec_does_not_define(sb, spec, check):
    user = v1(sb, "/user").json()
    checker = schemas(spec)
    ref = "#/components/schemas/User"
    assert checker.undefined_fields(ref, user) == []
    assert checker.undefined_fields(ref, {**user, "bogus": 1}) == ["$.bogus"]
    nested = {**user, "urls": {**user["urls"], "extra": "x"}}
    assert checker.undefined_fields(ref, nested) == ["$.urls.extra"]
    page = v1(sb, f"/spaces/{sb.ids['space']}/content/page/{sb.ids['page']}", format="markdown")
    body = {**page.json(), "pages": [], "words": 3}
    with pytest.raises(pytest.fail.Exception, match="words"):
        check.response("/spaces/{spaceId}/content/page/{pageId}", "200", body)
    content = "/spaces/{spaceId}/change-requests/{changeRequestId}/content"
    typo = {"changes": [{"operation": "insert_page", "document": {"markdown": "a"}, "parent": "x"}]}
    with pytest.raises(AssertionError, match="parent"):
        validate_request_body(spec, "post", content, typo)  # valid schema, unknown key
    validate_request_body(spec, "post", content, typo, strict=False)


# ----------------------------------------------- sites, insights and Ask (issue 12)
def _post(sb, path: str, body: Any, **params: Any) -> requests.Response:
    return requests.post(
        f"{sb.url}/v1{path}",
        json=body,
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {sb.personal_token}"},
    )


def _check_request(check: SpecValidator, path: str, body: Any) -> None:
    """A request body we send, held to the operation's requestBody schema."""
    ref = _pointer("paths", path, "post", "requestBody", "content", "application/json", "schema")
    check._check(ref, body, f"POST {path} request body")


def test_sites_validate(sb, check):
    site_path = "/orgs/{organizationId}/sites/{siteId}"
    for o in v1(sb, "/orgs").json()["items"]:
        for body in every_page(sb, f"/orgs/{o['id']}/sites", limit=2):
            check.response("/orgs/{organizationId}/sites", "200", body)
            for site in body["items"]:
                base = f"/orgs/{o['id']}/sites/{site['id']}"
                check.response(site_path, "200", v1(sb, base).json())
                check.response(site_path + "/structure", "200", v1(sb, base + "/structure").json())
                if site["published"]:
                    profile = v1(sb, base + "/published").json()
                    check.response(site_path + "/published", "200", profile)
    check.response(site_path, "404", v1(sb, f"/orgs/{sb.ids['org']}/sites/site_nope").json())


def _insights_queries() -> list[dict[str, Any]]:
    from gitbook_nb.sandbox.insights_query import AGGREGATES, COLUMNS

    counts = [{"column": c} for c in AGGREGATES]
    queries: list[dict[str, Any]] = [
        {"range": "last30Days"},
        {"range": "last7Days", "select": counts,
         "groupBy": [{"column": "datetime", "interval": "day"}]},
        {
            "range": {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
            "select": [{"column": "eventsCount"}, {"column": "visitorsCount"}],
            "where": [
                {"column": "eventType", "values": ["page_view"], "operator": "in"},
                {"column": "page", "values": [None], "operator": "notIn"},
                {"column": "hourOfDay", "values": [8], "operator": "greaterThanOrEqual"},
            ],
            "groupBy": [{"column": "page"}, {"column": "visitorGeoCountry"}],
            "order": {"by": {"column": "eventsCount"}, "direction": "desc"},
            "limit": 10,
        },
    ]  # fmt: skip
    for name in COLUMNS:  # every dimension the spec defines, one query each
        if name not in AGGREGATES:
            column = {"column": name, **({"claim": "plan"} if name == "visitorClaim" else {})}
            queries.append({"range": "lastYear", "groupBy": [column], "select": counts, "limit": 3})
    return queries


def test_insights_queries_and_answers_validate(sb, check):
    path = "/orgs/{organizationId}/sites/{siteId}/insights/events/aggregate"
    concrete = f"/orgs/{sb.ids['org']}/sites/{sb.ids['site']}/insights/events/aggregate"
    for query in _insights_queries():
        _check_request(check, path, query)
        answer = _post(sb, concrete, query)
        assert answer.status_code == 200, answer.text
        check.response(path, "200", answer.json(), method="post")
    check.error("BadRequestError", _post(sb, concrete, {"select": []}).json())


def test_sandbox_insights_columns_are_the_specs(spec):
    from gitbook_nb.sandbox import insights_query

    schemas_ = spec["components"]["schemas"]
    branches = schemas_["SiteInsightsQueryEventsColumn"]["oneOf"]
    names = [b.get("properties", {}).get("column", {}).get("enum", [None])[0] for b in branches]
    assert branches[0] == {"$ref": "#/components/schemas/SiteInsightsQueryDateTimeColumn"}
    names[0] = "datetime"
    assert sorted(insights_query.COLUMNS) == sorted(names)
    assert list(insights_query.EVENT_TYPES) == schemas_["SiteInsightsEventType"]["enum"]
    assert [None, *insights_query.BOTS] == schemas_["SiteInsightsVisitorBot"]["enum"]
    assert list(insights_query.PRESETS) == schemas_["SiteInsightsQueryRangePreset"]["enum"]


def test_ask_answers_validate(sb, check):
    org = sb.ids["org"]
    for fmt in ("markdown", "document"):
        for question in ("How do I install the engine?", "What does the img page say?", "zyzzyva"):
            body = {"query": question}
            _check_request(check, "/orgs/{organizationId}/ask", body)
            answer = _post(sb, f"/orgs/{org}/ask", body, format=fmt).json()
            check.response("/orgs/{organizationId}/ask", "200", answer, method="post")
        stream = requests.get(
            f"{sb.url}/v1/orgs/{org}/ask/stream",
            params={"query": "Bernoulli numbers", "format": fmt},
            headers={"Authorization": f"Bearer {sb.personal_token}"},
            timeout=30,
        )
        blocks = [b for b in stream.text.split("\n\n") if b]
        assert blocks[-1] == "event: done\ndata: {}" and len(blocks) > 2
        for block in blocks[:-1]:  # SearchAIAnswerStream, as the spec's text/event-stream says
            data = json.loads(block.removeprefix("data: "))
            check._check(_pointer("components", "schemas", "SearchAIAnswerStream"), data, fmt)
    questions = v1(sb, f"/orgs/{org}/ask/questions").json()
    check.response("/orgs/{organizationId}/ask/questions", "200", questions)
