"""Send markdown written in a notebook back to the docs, as a change request for review.

Two writes, as GitBook's API has them (scope ``space:write``):

1. ``POST /spaces/{id}/change-requests`` with ``{subject}`` -> the change request (201);
2. ``POST .../change-requests/{cr}/content?compat=false`` with ``{changes: [...]}``: one
   ``insert_page`` (a new page; title from ``title=`` or the markdown's heading) or
   ``update_page`` (``page=`` a path, looked up first) with ``document: {markdown}``.

Then ``GET .../changes`` lists what the change request changes. Nothing is merged unless
``merge=True`` (``POST .../merge``, scope ``change-request:merge``). When step 2 (or the merge)
fails, the error names the change request already created and how to finish or discard it.
``dry_run=True`` returns the exact requests instead (a ``page=`` lookup, a read, still runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gitbook_nb.content import _front_matter as fm
from gitbook_nb.content._paths import cr_path, page_by_path
from gitbook_nb.content.results import ChangeRequestResult
from gitbook_nb.errors import GitBookError, NotFoundError, PermissionDeniedError

__all__ = ["PublishError", "PublishPlan", "publish", "scope_hint"]

WRITE_SCOPE = "space:write"
MERGE_SCOPE = "change-request:merge"
CR_PLACEHOLDER = "CHANGE_REQUEST_ID"  # in a dry run: the id the first request would return


class PublishError(GitBookError):
    """A write failed after the change request was created; ``.change_request`` is its JSON."""

    def __init__(self, message: str, *, change_request: dict[str, Any], hint: str = "") -> None:
        self.change_request = change_request
        super().__init__(message, hint=hint)


@dataclass
class PublishPlan:
    """The requests ``publish`` would send (Authorization masked); nothing was written."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def text(self) -> str:
        out = []
        for i, r in enumerate(self.requests, 1):
            lines = [f"# {i}. {r['method']} {r['url']}"]
            if r.get("json") is not None:
                lines.append(json.dumps(r["json"], ensure_ascii=False, indent=2))
            out.append("\n".join(lines))
        if self.note:
            out.append(f"# {self.note}")
        return "\n\n".join(out)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        import html

        return f'<pre class="gitbook-nb-dry-run">{html.escape(self.text())}</pre>'


def scope_hint(scope: str) -> str:
    """How to sign in again with ``scope`` (OAuth scopes are fixed when a sign-in is made)."""
    return f"sign in again asking for it: %gitbook login --scopes {scope}"


def _session_api() -> Any:
    from gitbook_nb.kernel import session

    return session


def _check_scope(api: Any, scope: str) -> None:
    """Refuse before any write when the token's known scopes lack ``scope`` (personal access
    tokens carry none: GitBook then answers 403 itself, and that says the same)."""
    try:
        token = api.get_session().token
    except (GitBookError, AttributeError):
        return  # not signed in: the first request says so
    scopes = tuple(getattr(token, "scope", ()) or ())
    if scopes and scope not in scopes:
        raise PermissionDeniedError(
            f"publishing needs the {scope} scope, which this sign-in did not ask for; "
            + scope_hint(scope),
            scope=scope,
            status=403,
            hint=scope_hint(scope),
        )


def _missing_scope(err: PermissionDeniedError, scope: str) -> PermissionDeniedError:
    """GitBook's 403, said with the next step in the message itself (shown as one line)."""
    wanted = err.scope or scope
    return PermissionDeniedError(
        f"{err.method or 'POST'} {err.path or ''}: 403, this sign-in lacks the {wanted} scope; "
        + scope_hint(wanted),
        scope=wanted,
        status=403,
        code=err.code,
        method=err.method,
        path=err.path,
        hint=scope_hint(wanted),
    )


def _title_of(markdown: str) -> str | None:
    for line in markdown.splitlines():
        if line.strip():
            return line.lstrip("#").strip() if line.startswith("# ") else None
    return None


def build_change(
    markdown: str, *, page_id: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """The one content change: ``update_page`` of ``page_id``, else ``insert_page``."""
    change: dict[str, Any] = (
        {"operation": "update_page", "page": page_id} if page_id else {"operation": "insert_page"}
    )
    if title:
        change["title"] = title
    change["document"] = {"markdown": markdown}
    return change


def publish(
    space: str,
    markdown: str,
    page: str | None = None,
    merge: bool = False,
    *,
    title: str | None = None,
    subject: str | None = None,
    dry_run: bool = False,
    api: Any = None,
) -> ChangeRequestResult | PublishPlan:
    """Open a change request in ``space`` that adds ``markdown`` as a page (or updates the
    page at path ``page``); merge it only when ``merge=True``. See the module docstring."""
    api = api or _session_api()
    if not isinstance(markdown, str) or not markdown.strip():
        raise GitBookError("nothing to publish: the markdown is empty")
    header, body = fm.split(markdown)  # an exported file: our front matter is not page text
    if header:
        markdown, title = body, title or header.get("title")
    title = (title or "").strip() or None
    page_id = None
    if page:
        try:
            found = api.request("GET", page_by_path(space, page))
        except NotFoundError:
            raise NotFoundError(
                f"no page {page[:80]!r} in space {str(space)[:40]} to update; nothing was created",
                status=404,
                hint="check the path with %gitbook pages SPACE, or leave out --page to add a page",
            ) from None
        page_id = found.data.get("id") if isinstance(found.data, dict) else None
    subject = (
        subject
        or f"{'Update' if page else 'Add'} {title or _title_of(markdown) or page or 'a page'}"
    )
    subject = subject[:100]  # the spec's ChangeRequestSubject maxLength
    change = build_change(markdown, page_id=page_id, title=title)
    content_path = f"{cr_path(space, CR_PLACEHOLDER)}/content"
    if dry_run:
        steps = [
            api.prepare("POST", cr_path(space), json={"subject": subject}),
            api.prepare(
                "POST", content_path, params={"compat": "false"}, json={"changes": [change]}
            ),
        ]
        if merge:
            steps.append(api.prepare("POST", f"{cr_path(space, CR_PLACEHOLDER)}/merge"))
        note = f"{CR_PLACEHOLDER} is the id the first request returns; nothing was written"
        return PublishPlan(
            steps, note + (" (the page id was looked up with a GET)" if page else "")
        )

    _check_scope(api, WRITE_SCOPE)
    if merge:
        _check_scope(api, MERGE_SCOPE)
    try:
        created = api.request("POST", cr_path(space), json={"subject": subject}).data
    except PermissionDeniedError as err:
        raise _missing_scope(err, WRITE_SCOPE) from None
    cr = created if isinstance(created, dict) else {}
    cr_id = str(cr.get("id", ""))
    base = cr_path(space, cr_id)
    try:
        updated = api.request(
            "POST", f"{base}/content", params={"compat": "false"}, json={"changes": [change]}
        ).data
    except GitBookError as err:
        raise _after_create(space, cr, "its content could not be added", err) from None
    if isinstance(updated, dict):
        cr = updated.get("changeRequest", updated) if "changes" in updated else updated
    heading = "Opened "
    if merge:
        try:
            api.request("POST", f"{base}/merge")
            cr = api.request("GET", base).data
        except GitBookError as err:
            raise _after_create(space, cr, "it could not be merged", err, merge=True) from None
        heading = "Merged "
    return review_changes(api, space, cr, heading=heading)


def review_changes(
    api: Any, space: str, cr: dict[str, Any], *, heading: str = ""
) -> ChangeRequestResult:
    """The change request with its semantic changes (``GET .../changes``)."""
    res = api.request("GET", f"{cr_path(space, cr.get('id', ''))}/changes", params={"limit": "50"})
    data = res.data if isinstance(res.data, dict) else {}
    changes = [c for c in data.get("changes", []) if isinstance(c, dict)]
    more = data["more"] if isinstance(data.get("more"), int) else 0
    return ChangeRequestResult(cr, changes, more=more, heading=heading, path="", method="")


def _after_create(
    space: str, cr: dict[str, Any], what: str, err: GitBookError, *, merge: bool = False
) -> PublishError:
    number = f"#{cr['number']} " if cr.get("number") is not None else ""
    cr_id = str(cr.get("id", "?"))
    urls = cr.get("urls")
    where = (urls.get("app") if isinstance(urls, dict) else None) or f"change request {cr_id}"
    if merge:
        step = f"review and merge it in GitBook ({where})"
    else:
        step = (
            f"finish it in GitBook ({where}), or discard it: gitbook_nb.patch("
            f"'{cr_path(space, cr_id)}', json={{'status': 'archived'}})"
        )
    return PublishError(
        f"change request {number}({cr_id}) was created, but {what}: {err.message}",
        change_request=cr,
        hint=step,
    )
