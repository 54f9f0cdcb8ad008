"""Checking JSON against GitBook's OpenAPI spec: schemas, fields it does not define, requests.

Used by ``test_openapi_spec.py`` (and any test that wants to hold a request or an answer to
the spec, e.g. the client's): ``fetch_spec(folder)``, ``undefined_fields(...)``,
``validate_request_body(spec, method, path_template, body)`` and ``typescript_unions(spec)``.
The spec has no licence, so it is fetched at run time and never committed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

SPEC_URI = "urn:gitbook-openapi"


class SpecUnavailable(RuntimeError):
    """npm or the registry is missing: callers skip with this message."""


def fetch_spec(folder: Path) -> dict[str, Any]:
    """``npm pack @gitbook/api`` into ``folder`` (npm's cache too: $HOME stays untouched)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SpecUnavailable("npm is not installed: cannot fetch @gitbook/api's OpenAPI spec")
    env = {
        **os.environ,
        "npm_config_cache": str(folder / "npm-cache"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_loglevel": "error",
    }
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, npm found on PATH
            [npm, "pack", "@gitbook/api", "--pack-destination", str(folder)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        raise SpecUnavailable(
            "npm pack @gitbook/api timed out: the registry seems unreachable"
        ) from None
    tarballs = list(folder.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SpecUnavailable(f"npm pack @gitbook/api failed (registry unreachable?): {reason[0]}")
    with tarfile.open(tarballs[0]) as tar:
        member = next(
            (m for m in tar.getmembers() if m.isfile() and m.name.endswith("spec/openapi.json")),
            None,
        )
        if member is None:
            raise AssertionError("the @gitbook/api tarball has no spec/openapi.json")
        fileobj = tar.extractfile(member)
        assert fileobj is not None
        return json.load(fileobj)


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def typescript_unions(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with two TypeScript unions read as TypeScript means them, not as JSON Schema.

    The spec is generated from TypeScript types, and two unions came out as ``oneOf``s that
    no real answer can satisfy:

    - ``Document`` is ``oneOf [MarkdownDocument, {document}, Empty]`` with ``Empty`` (from
      TypeScript's ``{}``) as ``additionalProperties: false``. That rejects every document
      page without a body, yet GitBook's trees carry none (``documentId``: "If undefined,
      the page is empty"; bodies come from the page endpoints). Here ``Empty`` means "no
      ``markdown`` and no ``document``".
    - ``RevisionSemanticChangePageEdited.attributes`` is a ``oneOf`` of three open object
      schemas (document, group, link attributes): any attributes object matches all three,
      so ``oneOf`` always fails. Here it is ``anyOf``.

    Use it for content trees (and page answers, whose subpages are a tree) and for semantic
    changes; a page's own body is still checked against the unchanged spec.
    """
    schemas = dict(spec["components"]["schemas"])
    document = json.loads(json.dumps(schemas["Document"]))
    for i, branch in enumerate(document["oneOf"]):
        if branch.get("title") == "Empty":
            document["oneOf"][i] = {
                "type": "object",
                "title": "Empty",
                "not": {"anyOf": [{"required": ["markdown"]}, {"required": ["document"]}]},
            }
    schemas["Document"] = document
    edited = json.loads(json.dumps(schemas["RevisionSemanticChangePageEdited"]))
    attributes = edited["properties"]["attributes"]
    attributes["anyOf"] = attributes.pop("oneOf")
    schemas["RevisionSemanticChangePageEdited"] = edited
    return {**spec, "components": {**spec["components"], "schemas": schemas}}


class Schemas:
    """Validators and the undefined-field walk over one spec (built once per spec)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import openapi_schema_validator
        import referencing
        from referencing.jsonschema import DRAFT202012

        self.spec = spec
        self._osv = openapi_schema_validator
        resource = referencing.Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry = referencing.Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Any] = {}

    def validator(self, ref: str) -> Any:
        found = self._validators.get(ref)
        if found is None:
            cls = self._osv.OAS31Validator
            found = cls(
                {"$ref": SPEC_URI + ref}, registry=self.registry, format_checker=cls.FORMAT_CHECKER
            )
            self._validators[ref] = found
        return found

    def errors(self, ref: str, instance: Any) -> list[str]:
        """Schema errors, best first, each with where it is."""
        from jsonschema.exceptions import best_match

        errors = list(self.validator(ref).iter_errors(instance))
        if not errors:
            return []
        err = best_match(errors)
        return [f"{err.message[:300]} at {list(err.absolute_path)}"]

    def node(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref[2:].split("/") if ref != "#" else []:
            node = node[int(part)] if isinstance(node, list) else node[_unescape(part)]
        return node

    def _applicable(self, ref: str, instance: Any) -> list[str]:
        """``ref`` and every subschema that applies to ``instance``: ``$ref``, ``allOf``, and
        the ``oneOf``/``anyOf`` branches the instance validates against."""
        node = self.node(ref)
        if not isinstance(node, dict):
            return []
        out = [ref]
        if "$ref" in node:
            out += self._applicable(node["$ref"], instance)
        for i, _ in enumerate(node.get("allOf", [])):
            out += self._applicable(f"{ref}/allOf/{i}", instance)
        for key in ("oneOf", "anyOf"):
            for i, _ in enumerate(node.get(key, [])):
                branch = f"{ref}/{key}/{i}"
                if self.validator(branch).is_valid(instance):
                    out += self._applicable(branch, instance)
        return out

    def undefined_fields(self, ref: str, instance: Any, where: str = "$") -> list[str]:
        """Paths of object keys no applicable schema defines (additionalProperties-style).

        A key is defined when a schema that applies lists it in ``properties`` (or matches a
        ``patternProperties``), when one allows ``additionalProperties``, or when no schema
        that applies names any property at all (a free-form object).
        """
        refs = self._applicable(ref, instance)
        nodes = [(r, self.node(r)) for r in refs]
        out: list[str] = []
        if isinstance(instance, dict):
            import re

            named = any("properties" in n or "patternProperties" in n for _, n in nodes)
            for key, value in instance.items():
                subs = [
                    f"{r}/properties/{key.replace('~', '~0').replace('/', '~1')}"
                    for r, n in nodes
                    if key in n.get("properties", {})
                ]
                subs += [
                    f"{r}/patternProperties/{p.replace('~', '~0').replace('/', '~1')}"
                    for r, n in nodes
                    for p in n.get("patternProperties", {})
                    if re.search(p, key)
                ]
                extra = [r for r, n in nodes if isinstance(n.get("additionalProperties"), dict)]
                subs += [f"{r}/additionalProperties" for r in extra]
                loose = any(n.get("additionalProperties") is True for _, n in nodes)
                if not subs and not loose and named:
                    out.append(f"{where}.{key}")
                for sub in subs:
                    out += self.undefined_fields(sub, value, f"{where}.{key}")
        elif isinstance(instance, list):
            items = [f"{r}/items" for r, n in nodes if isinstance(n.get("items"), dict)]
            for i, value in enumerate(instance):
                for sub in items:
                    out += self.undefined_fields(sub, value, f"{where}[{i}]")
        return sorted(set(out))


_CACHE: list[tuple[dict[str, Any], Schemas]] = []


def schemas(spec: dict[str, Any]) -> Schemas:
    """One ``Schemas`` per spec object, so its validators are built once."""
    for known, found in _CACHE:
        if known is spec:
            return found
    found = Schemas(spec)
    _CACHE.append((spec, found))
    del _CACHE[:-4]
    return found


def request_body_ref(spec: dict[str, Any], method: str, path_template: str) -> str:
    operation = spec["paths"][path_template][method.lower()]
    body = operation.get("requestBody")
    if body is None:
        raise AssertionError(f"{method.upper()} {path_template} takes no request body")
    base = pointer("paths", path_template, method.lower(), "requestBody")
    if "$ref" in body:
        base = body["$ref"]
    return base + "/content/application~1json/schema"


def validate_request_body(
    spec: dict[str, Any], method: str, path_template: str, body: Any, *, strict: bool = True
) -> None:
    """Raise ``AssertionError`` unless ``body`` is what the spec's requestBody schema accepts.

    ``path_template`` is the spec's own path, e.g. ``/spaces/{spaceId}/change-requests``.
    With ``strict`` (the default) a key the schema does not define fails too: GitBook
    ignores such keys, so a typo (``markdwon``) would be lost without a word.
    """
    checker = schemas(spec)
    ref = request_body_ref(spec, method, path_template)
    what = f"{method.upper()} {path_template} request body"
    problems = checker.errors(ref, body)
    if problems:
        raise AssertionError(f"{what}: {problems[0]}")
    if strict:
        extra = checker.undefined_fields(ref, body)
        if extra:
            raise AssertionError(f"{what}: fields the spec does not define: {extra[:5]}")
