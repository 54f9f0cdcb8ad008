"""``ask(org, question)``: GitBook's Ask, streamed where it can be, with its sources resolved.

The spec offers ``GET /orgs/{id}/ask/stream?query=`` (server-sent events, each a
``SearchAIAnswerStream`` holding the answer so far) and ``POST /orgs/{id}/ask`` (``{query}``,
the whole answer at once); both take ``format=markdown`` and need the scope
``organization:ask``. The streamed form is used first, through the kernel's streamed call (so
a token is refreshed, retried once after a 401 or forgotten exactly as for any call), and
``on_update`` sees each partial answer; only a server without the stream route (404, 405)
gets the plain POST instead.

Sources name pages by id (``{space, page}``); each is looked up once
(``GET /spaces/{id}/content/page/{pageId}``) for its title and link, so the table can link
to the pages. A source that cannot be looked up keeps its ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from gitbook_nb.errors import GitBookError, UnsafeRequestError
from gitbook_nb.insights import _stream
from gitbook_nb.insights.results import AskResult
from gitbook_nb.insights.scopes import needs
from gitbook_nb.kernel import session as kernel_session

__all__ = ["ask", "segment"]

MAX_QUESTION = 2000


def segment(value: Any, what: str) -> str:
    """One encoded path segment for an id (D4: no ``/``, ``.`` or ``..`` gets through)."""
    text = str(value).strip()
    if text in ("", ".", "..") or any(ch.isspace() for ch in text):
        raise UnsafeRequestError(f"{what} {text[:40]!r} is not a usable id")
    return quote(text, safe="")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _markdown(doc: Any) -> str:
    """The answer's text: ``{"markdown"}``, or the leaves of a JSON ``{"document"}``."""
    if not isinstance(doc, dict):
        return ""
    if isinstance(doc.get("markdown"), str):
        return doc["markdown"]
    out: list[str] = []
    stack = [doc.get("document")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("object") == "block" and out and not out[-1].endswith("\n"):
                out.append("\n\n")
            for leaf in node.get("leaves") or []:
                if isinstance(leaf, dict) and isinstance(leaf.get("text"), str):
                    out.append(leaf["text"])
            stack.extend(reversed(node.get("nodes") or []))
    return "".join(out).strip()


def _source_rows(sources: Any, resolve: bool, cache: dict[tuple[str, str], dict]) -> list[dict]:
    rows = []
    for src in sources if isinstance(sources, list) else []:
        if not isinstance(src, dict):
            continue
        if src.get("type") == "record":
            rows.append({"title": src.get("title"), "url": src.get("url"), "space": "",
                         "page": src.get("record"), "reason": src.get("reason", "")})  # fmt: skip
            continue
        space, page = str(src.get("space", "")), str(src.get("page", ""))
        row = {"title": "", "url": "", "space": space, "page": page,
               "reason": src.get("reason", "")}  # fmt: skip
        if resolve and space and page:
            if (space, page) not in cache:
                cache[(space, page)] = _lookup(space, page)
            row.update(cache[(space, page)])
        rows.append(row)
    return rows


def _lookup(space: str, page: str) -> dict[str, Any]:
    try:
        res = kernel_session.request(
            "GET", f"/spaces/{segment(space, 'space')}/content/page/{segment(page, 'page')}"
        )
    except GitBookError:
        return {}  # the table keeps the ids: a source is still worth showing
    data = res.data if isinstance(res.data, dict) else {}
    urls = _dict(data.get("urls"))
    return {"title": data.get("title") or "", "url": urls.get("app") or ""}


def ask(
    org: str,
    question: str,
    *,
    stream: bool = True,
    on_update: Callable[[AskResult], None] | None = None,
    sources: bool = True,
) -> AskResult:
    """Ask GitBook a question over ``org``'s content; the answer with its sources.

    ``on_update(partial)`` is called with each partial answer while it streams (the notebook
    updates one display with it). ``sources=False`` skips looking up the sources' titles.
    """
    text = " ".join(str(question).split())
    if not text:
        raise UnsafeRequestError('ask needs a question, e.g. ask(org, "How do I install it?")')
    if len(text) > MAX_QUESTION:
        raise UnsafeRequestError(f"the question is longer than {MAX_QUESTION} characters")
    base = f"/orgs/{segment(org, 'organization')}/ask"
    started = time.monotonic()
    with needs("ask"):
        if stream:
            try:
                return _streamed(base, text, on_update, sources, started)
            except _stream.StreamRefused:
                pass  # no stream route on this server: the plain call below
        res = kernel_session.request("POST", base, params={"format": "markdown"},
                                     json={"query": text})  # fmt: skip
    answer = res.data.get("answer") if isinstance(res.data, dict) else None
    return _result(text, answer, sources, {}, path=base, method="POST", status=res.status,
                   elapsed=res.elapsed, rate_limit=res.rate_limit, data=res.data)  # fmt: skip


def _result(question: str, answer: Any, resolve: bool, cache: dict, **kw: Any) -> AskResult:
    answer = answer if isinstance(answer, dict) else {}
    return AskResult(
        question,
        _markdown(answer.get("answer")),
        _source_rows(answer.get("sources"), resolve, cache),
        [q for q in answer.get("followupQuestions") or [] if isinstance(q, str)],
        **kw,
    )


def _streamed(
    base: str,
    question: str,
    on_update: Callable[[AskResult], None] | None,
    resolve: bool,
    started: float,
) -> AskResult:
    path = base + "/stream"
    last: Any = None
    rate_limit = None
    cache: dict[tuple[str, str], dict] = {}
    for data, limits in _stream.json_events(path, {"query": question, "format": "markdown"}):
        if not isinstance(data, dict) or not isinstance(data.get("answer"), dict):
            continue
        last, rate_limit = data, limits
        if on_update is not None:
            on_update(_result(question, data["answer"], False, cache, path=path, partial=True))
    return _result(question, last["answer"] if last else None, resolve, cache, path=path,
                   elapsed=time.monotonic() - started, rate_limit=rate_limit,
                   data=last)  # fmt: skip
