"""The sandbox's /v1 answers validate against GitBook's own OpenAPI 3.1 spec.

The spec ships in the npm package ``@gitbook/api`` (``spec/openapi.json``) and has no licence,
so it is never committed: it is fetched at run time with ``npm pack`` into a temporary folder
(npm's cache too, so $HOME is not touched). Without npm or the registry the test skips and
says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.network

openapi_schema_validator = pytest.importorskip("openapi_schema_validator")
referencing = pytest.importorskip("referencing")
from referencing.jsonschema import DRAFT202012  # noqa: E402

SPEC_URI = "urn:gitbook-openapi"


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch @gitbook/api's OpenAPI spec")
    tmp = tmp_path_factory.mktemp("gitbook-api")
    env = {
        **os.environ,
        "npm_config_cache": str(tmp / "npm-cache"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_loglevel": "error",
    }
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, npm found on PATH
            [npm, "pack", "@gitbook/api", "--pack-destination", str(tmp)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm pack @gitbook/api timed out: the npm registry seems unreachable")
    tarballs = list(tmp.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"npm pack @gitbook/api failed (registry unreachable?): {reason[0]}")
    with tarfile.open(tarballs[0]) as tar:
        member = next(
            (m for m in tar.getmembers() if m.isfile() and m.name.endswith("spec/openapi.json")),
            None,
        )
        if member is None:
            pytest.fail("the @gitbook/api tarball has no spec/openapi.json")
        fileobj = tar.extractfile(member)
        assert fileobj is not None
        data = json.load(fileobj)
    assert data["openapi"].startswith("3.1")
    return data


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class SpecValidator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = referencing.Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry = referencing.Registry().with_resource(SPEC_URI, resource)

    def _check(self, ref: str, instance: Any, what: str) -> None:
        validator = openapi_schema_validator.OAS31Validator(
            {"$ref": SPEC_URI + ref},
            registry=self.registry,
            format_checker=openapi_schema_validator.OAS31Validator.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            from jsonschema.exceptions import best_match

            err = best_match(errors)
            pytest.fail(
                f"{what}: {err.message[:300]} at {list(err.absolute_path)} "
                f"(schema path {list(err.absolute_schema_path)[:12]})"
            )

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


def test_spaces_content_and_pages_validate(sb, check):
    for space_id in (sb.ids["space"], sb.ids["html_space"]):
        check.response("/spaces/{spaceId}", "200", v1(sb, f"/spaces/{space_id}").json())
        rev = v1(sb, f"/spaces/{space_id}/content").json()
        check.response("/spaces/{spaceId}/content", "200", rev)
        stack = list(rev["pages"])
        while stack:
            node = stack.pop()
            stack += node.get("pages", [])
            if node["type"] == "link":
                continue
            for fmt in ("document", "markdown"):
                page = v1(sb, f"/spaces/{space_id}/content/page/{node['id']}", format=fmt)
                check.response("/spaces/{spaceId}/content/page/{pageId}", "200", page.json())


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
        spec_path = pattern.pattern.replace("([^/]+)", "{}", 2)
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
