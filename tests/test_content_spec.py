"""Every request the content features send is one GitBook's OpenAPI spec defines: the
operation (method and path), each query parameter (declared, and in its enum), and each JSON
body (validated with ``spec_support.validate_request_body``, unknown fields refused).

The spec is fetched at run time (``npm pack @gitbook/api``), never committed; the test skips
with the reason when npm or the registry cannot be reached.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import gitbook_nb
from gitbook_nb.kernel.session import KernelSession, reset_session
from gitbook_nb.sandbox import Sandbox

pytestmark = pytest.mark.network

pytest.importorskip("openapi_schema_validator")
from spec_support import SpecUnavailable, fetch_spec, validate_request_body  # noqa: E402


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        return fetch_spec(tmp_path_factory.mktemp("gitbook-api"))
    except SpecUnavailable as exc:
        pytest.skip(str(exc))


def _operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec's (path template, operation) for a concrete request path under /v1."""
    found = []
    for template, ops in spec["paths"].items():
        if method.lower() not in ops:
            continue
        pattern = re.sub(
            r"\{([^}]+)\}", lambda m: "(.+)" if m[1] == "pagePath" else "([^/]+)", template
        )
        if re.fullmatch(pattern, path):
            found.append((template.count("{"), template, ops[method.lower()]))
    assert found, f"{method} {path}: no such operation in the spec"
    _, template, op = min(found)  # the most literal template (".../content/pages" over {id})
    return template, op


def _parameters(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for p in op.get("parameters", []):
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        if p.get("in") == "query":
            out[p["name"]] = p.get("schema", {})
    return out


def _enum(spec: dict[str, Any], schema: dict[str, Any]) -> list[Any] | None:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("enum")


def test_every_request_of_page_export_publish_and_review_is_in_the_spec(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    with Sandbox(rate_limit=1_000_000) as sb:
        k = reset_session(KernelSession(environ={}))
        k.configure(api_url=sb.url + "/v1", oauth_url=sb.url)
        k.login_with_token(sb.mint_token())
        sb.clear_log()
        space = sb.ids["space"]
        gitbook_nb.page(space, "getting-started/installation")
        gitbook_nb.page(space, sb.ids["page"])
        gitbook_nb.export(space, to=str(tmp_path))
        gitbook_nb.publish(space, "# Summary\n\nFrom a notebook.\n", title="Summary")
        gitbook_nb.publish(space, "# FAQ\n\nShorter.\n", page="faq", merge=True, subject="FAQ")
        gitbook_nb.change_requests(space, "merged", filters={"orderBy": "createdAt"})
        gitbook_nb.change_requests(space, all_pages=True, limit=2)
        gitbook_nb.change_request(space, sb.ids["change_request"])
        reset_session(KernelSession(environ={}))
        seen = set()
        for r in sb.requests:
            template, op = _operation(spec, r.method, r.path[len("/v1") :])
            seen.add((r.method, template))
            declared = _parameters(spec, op)
            for name, values in r.params.items():
                assert name in declared, f"{r.method} {template}: ?{name} is not in the spec"
                allowed = _enum(spec, declared[name])
                if allowed is not None:
                    assert all(v in map(str, allowed) for v in values), (template, name, values)
            if r.body:
                validate_request_body(spec, r.method, template, json.loads(r.body))
            else:
                assert "requestBody" not in op or not op["requestBody"].get("required"), template
        assert sb.errors == []
    assert {
        ("GET", "/spaces/{spaceId}/content/path/{pagePath}"),
        ("GET", "/spaces/{spaceId}/content/page/{pageId}"),
        ("GET", "/spaces/{spaceId}/content"),
        ("POST", "/spaces/{spaceId}/change-requests"),
        ("POST", "/spaces/{spaceId}/change-requests/{changeRequestId}/content"),
        ("POST", "/spaces/{spaceId}/change-requests/{changeRequestId}/merge"),
        ("GET", "/spaces/{spaceId}/change-requests/{changeRequestId}/changes"),
        ("GET", "/spaces/{spaceId}/change-requests/{changeRequestId}"),
        ("GET", "/spaces/{spaceId}/change-requests"),
    } <= seen
