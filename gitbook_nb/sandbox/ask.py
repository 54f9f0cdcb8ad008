"""GitBook's Ask under /v1, answered from the seeded content (scope ``organization:ask``).

- ``POST /orgs/{orgId}/ask?format=document|markdown`` with ``SearchAIQuery`` ``{query}``
  answers ``{"answer": SearchAIAnswer}``: ``answer`` (a ``Document``: ``{"markdown"}`` or
  ``{"document"}``), ``sources`` (``SearchAIAnswerSourcePage``) and ``followupQuestions``.
  A question no page matches answers ``{}`` (the spec's ``answer`` is optional).
- ``GET /orgs/{orgId}/ask/stream?query=...`` streams the same answer as server-sent events,
  the way @gitbook/api's own client reads them: each ``data:`` line is a
  ``SearchAIAnswerStream`` (``{"type": "answer", "answer": ...}``) holding the answer so far,
  one HTTP chunk per event; the last one adds the follow-up questions; then ``event: done``.
- ``GET /orgs/{orgId}/ask/questions``: ``SearchAIRecommendedQuestions``.

Not a language model: the sources are the pages that contain the most of the question's
words, and the answer quotes their summaries verbatim, so an HTML-looking page (ask about
"img") yields an answer with HTML-looking text, which a client must show as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import v1_objects as obj
from .data import PageNode, Space, User, walk
from .messages import Request, Response, json_response, v1_error
from .sites import Route, is_member, route_into

if TYPE_CHECKING:
    from .app import Sandbox

ROUTES: list[Route] = []
route = route_into(ROUTES)
MAX_SOURCES = 3
_STOP = frozenset(
    "a an and are about can does for from have how into is it its of on or say says tell the "
    "this to what when where which who why with you your page pages".split()
)


@dataclass(frozen=True)
class Hit:
    space: Space
    node: PageNode
    score: float


def words(question: str) -> list[str]:
    """The question's meaningful words (casefolded, no stop words, no one-letter words)."""
    found = re.findall(r"\w+", question.casefold())
    return list(dict.fromkeys(w for w in found if len(w) > 1 and w not in _STOP))


def page_text(node: PageNode) -> str:
    """What a question's words are looked for in: title, summary and, where the content store
    provides it, the whole page (``markdown``; the seeded trees alone have none)."""
    return f"{node.title}\n{node.body}\n{getattr(node, 'markdown', '')}".casefold()


def search(sb: Sandbox, org_id: str, question: str) -> list[Hit]:
    """Pages of the organisation holding the question's words, best first."""
    wanted = words(question)
    hits = []
    for space in sb.data.org_spaces.get(org_id, ()):
        for node, _ in walk(sb.data.tree(space)):
            if node.kind != "document":
                continue
            title, text = node.title.casefold(), page_text(node)
            matched = [w for w in wanted if w in text]
            if matched:
                score = len(matched) + 0.5 * sum(w in title for w in matched)
                hits.append(Hit(space, node, score))
    hits.sort(key=lambda h: -h.score)  # stable: ties keep the content's order
    return hits[:MAX_SOURCES]


def _markdown(org_title: str, question: str, hits: list[Hit]) -> str:
    lines = [f"From the documentation of {org_title}, about “{question.strip()}”:", ""]
    lines += [
        f"- **{h.node.title}** ({h.space.title}): {h.node.body or h.node.title}" for h in hits
    ]
    lines += ["", "The sources below hold the full pages."]
    return "\n".join(lines)


def _document(markdown: str) -> dict[str, Any]:
    """A JSONDocument with one paragraph per line of text (enough for an answer)."""
    return {
        "object": "document",
        "data": {},
        "nodes": [
            {
                "object": "block",
                "type": "paragraph",
                "data": {},
                "nodes": [
                    {"object": "text", "leaves": [{"object": "leaf", "text": line, "marks": []}]}
                ],
            }
            for line in markdown.splitlines()
            if line
        ],
    }


def _followups(sb: Sandbox, hits: list[Hit]) -> list[str]:
    cited = {h.node.id for h in hits}
    seen: list[str] = []
    for space in dict.fromkeys(h.space for h in hits):
        for node, _ in walk(sb.data.tree(space)):
            if node.kind == "document" and node.id not in cited and len(seen) < 3:
                seen.append(f"What does “{node.title}” explain?")
    return seen


@dataclass(frozen=True)
class Answer:
    markdown: str
    sources: list[dict[str, Any]]
    followups: list[str]

    def body(self, fmt: str, text: str | None = None, followups: bool = True) -> dict[str, Any]:
        """A ``SearchAIAnswer``; ``text`` replaces the answer (a partial one while streaming)."""
        text = self.markdown if text is None else text
        doc = {"markdown": text} if fmt == "markdown" else {"document": _document(text)}
        return {
            "answer": doc,
            "sources": self.sources,
            "followupQuestions": self.followups if followups else [],
        }


def answer(sb: Sandbox, org_id: str, question: str) -> Answer | None:
    hits = search(sb, org_id, question)
    if not hits:
        return None
    org = sb.data.org(org_id)
    sources = []
    for h in hits:
        text = page_text(h.node)
        sources.append(
            {
                "type": "page",
                "page": h.node.id,
                "revision": obj.space(sb.url, h.space, sb.data)["revision"],
                "space": h.space.id,
                "sections": [],
                "reason": "Mentions " + ", ".join(w for w in words(question) if w in text),
            }
        )
    title = org.title if org else org_id
    return Answer(_markdown(title, question, hits), sources, _followups(sb, hits))


def _options(req: Request) -> str | Response:
    fmt = req.arg("format") or "document"
    if fmt not in ("document", "markdown"):
        return v1_error(400, "format must be document or markdown")
    if req.arg("details") not in (None, "true", "false"):
        return v1_error(400, "details must be true or false")
    return fmt


@route("POST", r"/orgs/([^/]+)/ask", "organization:ask")
def _ask(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not is_member(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    fmt = _options(req)
    if isinstance(fmt, Response):
        return fmt
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return v1_error(400, 'The body must be JSON: {"query": "..."}')
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip():
        return v1_error(400, "query is required: a question as a non-empty string")
    previous = body.get("previousQueries", [])
    if (
        not isinstance(previous, list)
        or len(previous) > 10
        or not all(isinstance(p, str) for p in previous)
    ):
        return v1_error(400, "previousQueries must be at most 10 strings")
    found = answer(sb, m[1], query)
    return json_response(200, {} if found is None else {"answer": found.body(fmt)})


def _event(data: dict[str, Any] | None = None, name: str | None = None) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data or {}, ensure_ascii=False)}\n\n".encode()


def pieces(text: str, count: int = 8) -> list[str]:
    """The growing prefixes a stream sends: about ``count`` of them, cut after a word."""
    cuts = [m.end() for m in re.finditer(r"\S+\s*", text)]
    step = max(1, len(cuts) // count)
    ends = cuts[step - 1 :: step]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    return [text[:e] for e in ends]


def _stream(sb: Sandbox, found: Answer | None, fmt: str) -> Iterator[bytes]:
    if found is not None:
        parts = pieces(found.markdown)
        for i, text in enumerate(parts):
            if i:
                sb.ask_pace(i)  # a pause between chunks, so a reader sees the answer grow
            last = i == len(parts) - 1
            yield _event({"type": "answer", "answer": found.body(fmt, text, followups=last)})
    yield _event(name="done")


@route("GET", r"/orgs/([^/]+)/ask/stream", "organization:ask")
def _ask_stream(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not is_member(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    fmt = _options(req)
    if isinstance(fmt, Response):
        return fmt
    query = req.arg("query")
    if not query or not query.strip():
        return v1_error(400, "The query parameter is required")
    found = answer(sb, m[1], query)
    headers = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
    return Response(
        200, b"", "text/event-stream; charset=utf-8", headers, stream=_stream(sb, found, fmt)
    )


@route("GET", r"/orgs/([^/]+)/ask/questions", "organization:ask")
def _questions(sb: Sandbox, req: Request, m: re.Match[str], viewer: User) -> Response:
    if not is_member(sb, viewer, m[1]):
        return v1_error(404, "Organization not found")
    titles = []
    for space in sb.data.org_spaces.get(m[1], ())[:3]:
        titles += [n.title for n, _ in walk(sb.data.tree(space)) if n.kind == "document"][:2]
    return json_response(200, {"questions": [f"What does “{t}” explain?" for t in titles]})
