"""Seeded page bodies: realistic markdown, varied update times, and the 1,000-page space.

Bodies carry what a notebook user will meet in real docs: headings, lists, a table, code
blocks, links to other pages (stored as ``/pages/<id>``, see ``content_md``) and to the web,
right-to-left text, emoji, and text that looks like HTML (it must always be shown as text).
Update times spread over two years so "which page is the stalest" has an answer; every page
was updated no later than its revision was created (``SPAN_HOURS`` after its space).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from .data_base import HTML_TITLE, gid, stamp
from .data_spaces import PageNode, Space, _slugify

SPAN_HOURS = 24 * 700  # seeded revisions are created this long after their space
_CODE = "```"

_MAIN: dict[str, str] = {
    "Getting started": """## What you need

- A **mill** to compute and a **store** to remember: see [Installation]({Installation}).
- A deck of punched cards, described in [First steps 🚀]({First steps 🚀}).
- Curiosity. The [Analytical Engine](https://en.wikipedia.org/wiki/Analytical_engine) was
  never finished, but its programs were written.

## The parts at a glance

| Part | Role | Capacity |
| --- | --- | --- |
| Store | holds numbers | 1,000 numbers of 50 digits |
| Mill | does arithmetic | one addition a second |
| Reader | takes the cards | 3 kinds of card |

Next: [Installation]({Installation}), then the [FAQ]({FAQ}).
""",
    "Installation": f"""1. Level the frame.
2. Mount the mill on the left and the store on the right.
3. Connect the barrels, then turn the crank once by hand.

{_CODE}bash
pip install analytical-engine==1843.0
engine --check
{_CODE}

> Keep the gears oiled. The [FAQ]({{FAQ}}) explains what to do when a carry sticks.
""",
    "First steps 🚀": f"""Your first program adds two numbers 🎉:

{_CODE}python
def add(store: list[int], a: int, b: int) -> int:
    store.append(a + b)  # the mill adds, the store keeps
    return store[-1]
{_CODE}

Then continue with [Bernoulli numbers]({{Bernoulli numbers}}) ✨.
""",
    "Bernoulli numbers": """The engine computes them one after the other:

| n | B(n) |
| --- | --- |
| 0 | 1 |
| 1 | -1/2 |
| 2 | 1/6 |
| 4 | -1/30 |
| 8 | -1/30 |

- Odd ones after B(1) are zero.
- [Note G]({Note G}) lists every operation.
- See also [Bernoulli number](https://en.wikipedia.org/wiki/Bernoulli_number).
""",
    "Note G": f"""> "The Analytical Engine weaves algebraical patterns just as the Jacquard
> loom weaves flowers and leaves." (Ada Lovelace, 1843)

1. Set the variables V1, V2 and V3.
2. Multiply, subtract, divide: 25 operations in all.
3. Repeat for the next number.

{_CODE}text
V4 = V5 = V6 = 2 * n
V4 = V4 - 1
V5 = V5 + 1
{_CODE}

## History

Ada Lovelace translated Luigi Menabrea's article on the engine in 1842 and added seven notes,
lettered A to G, that came out three times longer than the article itself. Note G works
through the computation of the Bernoulli numbers step by step, in a table that names each
operation, the variables it reads, the variable that receives the result, and how the
variables change along the way. Many call it the first computer program, and it is certainly
the first published one written for a general-purpose machine.

The table contains a bug: operation 4 divides V5 by V4 where V4 by V5 was meant. Nobody could
have found it by running the program, because the engine was never built. It was spotted much
later, by people who reran the table by hand and then on modern computers.

Lovelace also wrote that the engine "might act upon other things besides number", such as
music, if the relations between sounds could be expressed in its notation. That remark, more
than the table, is why the note is still read: it describes a machine that manipulates
symbols according to rules, not a calculator.

Back to [Bernoulli numbers]({{Bernoulli numbers}}).
""",
    "מדריך בעברית": """## התקנה

- מתקינים את [המנוע]({Getting started}) לפי ההוראות.
- קוראים את [השאלות הנפוצות]({FAQ}).

טקסט מימין לשמאל עם מספרים 1843 ומילה באנגלית: engine.
""",
    "دليل باللغة العربية": """## المحتويات

| الجزء | الوظيفة |
| --- | --- |
| المخزن | يحفظ الأرقام |
| الطاحونة | تحسب |

- اقرأ [البداية]({Getting started}) أولا.
- ثم [الأسئلة الشائعة]({FAQ}) 📐.
""",
    HTML_TITLE: f"""Raw HTML in a page is text, never markup:

<img src=x onerror=alert(1)>

<iframe src="javascript:alert(5)"></iframe>

{_CODE}html
<script>alert("in a code block")</script>
{_CODE}

A [link that hides a script](javascript:alert(6)) must not run either.
""",
    "FAQ": """## Why does my page show `<script>alert(1)</script>`?

Because it is text: <script>alert(1)</script> is shown, never run.

## Where do I start?

At [Getting started]({Getting started}), or on the
[GitBook docs](https://gitbook.com/docs) for the real thing.

## Can I write right-to-left?

Yes: עברית and العربية work, and so do emoji 🧮🚀.
""",
}
_SMALL = {
    "Welcome": "## Contents\n\n- [Notes]({Notes})\n- [Homepage](https://example.com/{key})\n",
    "Notes": (
        "- A first note.\n- A second note, with an emoji ✍️.\n\nBack to [Welcome]({Welcome}).\n"
    ),
}
_HTML = {
    HTML_TITLE: "<script>alert('page')</script>\n\n**Bold** text next to raw HTML.\n",
}
_TEMPLATES = {"main": _MAIN, "small": _SMALL, "html": _HTML}


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def _times(space: Space, page_id: str, index: int) -> tuple[str, str]:
    """(createdAt, updatedAt): created in the space's first weeks, updated any time after."""
    created = space.hours + 24 * (index % 30)
    updated = created + (_hash(page_id) % (SPAN_HOURS - 24 * 30))
    return stamp(created), stamp(updated)


def dress(space: Space, tree: tuple[PageNode, ...]) -> tuple[PageNode, ...]:
    """Give a seeded tree its bodies and times; links are stored as ``/pages/<id>``."""
    by_title: dict[str, str] = {}

    def collect(nodes: tuple[PageNode, ...]) -> None:
        for node in nodes:
            by_title.setdefault(node.title, node.id)
            collect(node.children or ())

    collect(tree)
    refs = {title: f"/pages/{pid}" for title, pid in by_title.items()}
    templates = _TEMPLATES.get(space.template, {})
    counter = iter(range(10**6))

    def one(node: PageNode) -> PageNode:
        created, updated = _times(space, node.id, next(counter))
        kids = None if node.children is None else tuple(one(k) for k in node.children)
        if node.kind != "document":
            return replace(node, children=kids, created_at=created, updated_at=updated)
        extra = templates.get(node.title, "")
        extra = extra.replace("{key}", space.key)
        for title, ref in refs.items():
            extra = extra.replace("{" + title + "}", ref)
        markdown = f"{node.body}\n\n{extra}" if extra else f"{node.body}\n"
        return replace(
            node,
            children=kids,
            markdown=markdown,
            created_at=created,
            updated_at=updated,
        )

    return tuple(one(n) for n in tree)


_TOPICS = (
    "The mill",
    "The store",
    "Punched cards",
    "Carriage",
    "Barrels",
    "Variables",
    "Loops 🔁",
    "Printing",
    "Tables of logarithms",
    "Errors",
    "Maintenance",
    "Notation",
    "History",
    "Jacquard looms",
    "Difference engines",
    "الخوارزميات",
    "אלגוריתמים",
    "Zürich notes",
)
_SENTENCES = (
    "The mill performs one operation at a time on numbers brought from the store.",
    "Each card names an operation, and the variables it reads and writes.",
    "A carry that sticks is the most common fault; oil the anticipating carriage.",
    "Numbers have fifty decimal digits, with the sign kept on a separate wheel.",
    "Loops are made by stepping the card reader backwards a fixed number of cards.",
    "Results can be printed, punched on cards, or stamped into a stereotype mould.",
    "The engine never ran, yet every program written for it has been checked since.",
    "Lovelace saw that the engine could act on symbols as well as on numbers.",
    "Some pages mention <b>markup</b> and <script>alert(1)</script> as plain text.",
    "Right-to-left text appears too: مرحبا بالعالم and שלום עולם.",
    "Emoji are part of many titles 🚀 and some sentences ✨.",
    "Tables of functions were the first job Babbage had in mind for his engines.",
)


def _bulk_markdown(j: int, parent: str | None, words: int) -> str:
    sentences: list[str] = []
    count = 0
    while count < words:
        sentence = _SENTENCES[(j * 7 + len(sentences) * 5) % len(_SENTENCES)]
        sentences.append(sentence)
        count += len(sentence.split())
    half = len(sentences) // 2 or 1
    parts = [" ".join(sentences[:half]), "## Details", " ".join(sentences[half:])]
    if parent:
        parts.append(
            f"- Up: [the parent page](/pages/{parent})\n- [Wikipedia]"
            f"(https://en.wikipedia.org/wiki/Analytical_engine)"
        )
    if j % 4 == 0:
        parts.append(f"{_CODE}python\nprint({j} * 2)\n{_CODE}")
    return "\n\n".join(p for p in parts if p) + "\n"


def bulk_tree(space: Space, count: int) -> tuple[PageNode, ...]:
    """``count`` document pages: chapters of 25, each with 4 sections of 5 pages (depth 3)."""

    def title(j: int) -> str:
        chapter, rest = divmod(j, 25)
        topic = _TOPICS[(chapter + rest) % len(_TOPICS)]
        if rest == 0:
            return f"Chapter {chapter + 1}: {topic}"
        if rest % 5 == 0:
            return f"{chapter + 1}.{rest // 5} {topic}"
        return f"{chapter + 1}.{rest // 5}.{rest % 5} {topic}"

    ids = [gid("page", f"{space.key}/{j}") for j in range(count)]

    def parent_of(j: int) -> int | None:
        rest = j % 25
        if rest == 0:
            return None
        return j - rest if rest % 5 == 0 else j - rest % 5

    kids: dict[int | None, list[int]] = {}
    for j in range(count):
        kids.setdefault(parent_of(j), []).append(j)

    def make(j: int) -> PageNode:
        text = title(j)
        up = parent_of(j)
        created, updated = _times(space, ids[j], j)
        words = 40 + _hash(ids[j]) % 900
        return PageNode(
            id=ids[j],
            title=text,
            slug=_slugify(text, j),
            kind="document",
            body=f"Notes on {text}.",
            children=tuple(make(k) for k in kids.get(j, ())),
            markdown=f"Notes on {text}.\n\n"
            + _bulk_markdown(j, None if up is None else ids[up], words),
            created_at=created,
            updated_at=updated,
        )

    return tuple(make(j) for j in kids.get(None, ()))
