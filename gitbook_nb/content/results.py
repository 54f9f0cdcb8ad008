"""What the content functions return: a page, an export, a change request. All are Results.

Each keeps the API's JSON in ``.data`` like any :class:`~gitbook_nb.display.Result`, adds the
attributes its kind needs, and displays itself safely: page text is written by other people,
so its raw HTML is shown as text (SECURITY.md E6) and control characters are neutralised in
the plain-text form. Nothing here does I/O; pandas is imported only by ``to_dataframe()``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from gitbook_nb.content._render import page_link_resolver, render_markdown
from gitbook_nb.display import MissingDependencyError, Result

__all__ = ["EXPORT_COLUMNS", "ChangeRequestResult", "ExportResult", "PageResult", "word_count"]

MAX_SHOWN = 200_000  # characters of a page drawn in the notebook; .markdown keeps everything
EXPORT_COLUMNS = ("path", "title", "depth", "words", "updatedAt", "markdown", "id")
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def word_count(markdown: str) -> int:
    """Words in a page (letters and digits runs; ``don't`` is one)."""
    return sum(1 for _ in _WORD.finditer(markdown))


def plain(text: str) -> str:
    """Multi-line text with control and invisible format characters shown as escapes (E6)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"):
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError(
            "to_dataframe() needs pandas, which is not installed",
            hint="pip install gitbook_nb[pandas]",
        ) from None
    return pd


def _link(url: str | None, text: str) -> str:
    if not url or not url.startswith(("https://", "http://")):
        return ""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" '
        f'rel="noopener noreferrer">{html.escape(text)}</a>'
    )


class PageResult(Result):
    """One page: ``.markdown``, ``.title``, ``.path``, ``.id``, ``.url``; shown rendered.

    ``raw=True`` shows the markdown source instead of rendering it.
    """

    def __init__(self, data: Any, *, space: str = "", raw: bool = False, **kw: Any) -> None:
        super().__init__(data, **kw)
        self.space = space
        self.raw = raw

    def _field(self, name: str) -> str:
        value = self.data.get(name) if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def markdown(self) -> str:
        return self._field("markdown")

    @property
    def title(self) -> str:
        return self._field("title")

    @property
    def path(self) -> str:  # type: ignore[override]  # Result.path is the API path
        return self._field("path")

    @path.setter
    def path(self, value: str) -> None:
        self._api_path = value  # Result.__init__ sets it; kept for its caption

    @property
    def id(self) -> str:
        return self._field("id")

    @property
    def url(self) -> str | None:
        urls = self.data.get("urls") if isinstance(self.data, dict) else None
        app = urls.get("app") if isinstance(urls, dict) else None
        return app if isinstance(app, str) else None

    @property
    def words(self) -> int:
        return word_count(self.markdown)

    def to_dataframe(self) -> Any:
        """One row: id, path, title, words, updatedAt, markdown."""
        row = {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "words": self.words,
            "updatedAt": self._field("updatedAt") or None,
            "markdown": self.markdown,
        }
        return _pandas().DataFrame([row])

    def _shown_text(self) -> tuple[str, str]:
        text = self.markdown
        note = ""
        if len(text) > MAX_SHOWN:
            text = text[:MAX_SHOWN]
            note = f"cut at {MAX_SHOWN:,} characters; the whole page is in .markdown"
        return text, note

    def _repr_html_(self) -> str:
        text, note = self._shown_text()
        head = [f"<b>{html.escape(self.title or self.id)}</b>"]
        if self.path:
            head.append(f"<code>{html.escape(self.path)}</code>")
        link = _link(self.url, "open in GitBook")
        if link:
            head.append(link)
        if self.raw:
            body = f'<pre class="gitbook-nb-markdown-source">{html.escape(text)}</pre>'
        else:
            body = render_markdown(text, page_link_resolver(self.path, self.url))
        foot = f'<div style="font-size:smaller">{html.escape(note)}</div>' if note else ""
        return (
            '<div class="gitbook-nb-page">'
            f'<div class="gitbook-nb-caption" style="font-size:smaller;opacity:0.75">'
            f"{' · '.join(head)}</div>"
            f'<div class="gitbook-nb-markdown">{body}</div>{foot}</div>'
        )

    def __repr__(self) -> str:
        text, note = self._shown_text()
        head = f"{self.title or self.id} ({self.path})" if self.path else self.title
        return plain("\n".join(x for x in (head, "", text.rstrip("\n"), note) if x is not None))

    __str__ = __repr__


class ExportResult(Result):
    """Every exported page: a table here, one row per page in ``to_dataframe()``.

    ``.data`` has one row per page (path, title, depth, words, updatedAt, id); the texts are
    kept apart, as UTF-8 (see ``exporter._Page``), and come back as ``str`` from
    ``to_dataframe()`` (a ``markdown`` column), ``markdown(path)`` and ``texts()``.
    ``written``, ``unchanged`` and ``failed`` (``(path, reason)`` pairs) say what happened to
    each page; ``directory`` is where files went (None without ``to=``).
    """

    SHOWN = ("path", "title", "depth", "words", "updatedAt")

    def __init__(
        self,
        rows: list[dict[str, Any]],
        *,
        texts: Sequence[bytes] = (),
        space: str,
        revision: str | None,
        directory: str | None,
        written: Sequence[str] = (),
        unchanged: Sequence[str] = (),
        failed: Sequence[tuple[str, str]] = (),
        requests: int = 0,
        **kw: Any,
    ) -> None:
        if len(texts) != len(rows):
            raise ValueError("one text per row")
        self.space = space
        self.revision = revision
        self.directory = directory
        self.written = list(written)
        self.unchanged = list(unchanged)
        self.failed = list(failed)
        self.requests = requests
        self._texts = list(texts)
        self._count_rows = len(rows)
        kw.setdefault("note", self.summary())
        super().__init__(rows, columns=list(self.SHOWN) if rows else None, **kw)

    def summary(self) -> str:
        n = self._count_rows
        parts = [f"{n} page{'s' if n != 1 else ''} exported"]
        if self.directory is not None:
            parts.append(
                f"{len(self.written)} written, {len(self.unchanged)} unchanged (skipped) "
                f"in {self.directory}"
            )
        if self.failed:
            first = "; ".join(f"{p}: {r}" for p, r in self.failed[:3])
            more = f" and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            parts.append(f"{len(self.failed)} not exported ({first}{more}; see .failed)")
        return ", ".join(parts)

    def texts(self) -> list[str]:
        """Every page's markdown, in the order of ``.data``."""
        return [t.decode("utf-8", "surrogatepass") for t in self._texts]

    def markdown(self, path: str) -> str:
        """The markdown of the page at ``path``."""
        for row, text in zip(self.data, self._texts, strict=True):
            if row.get("path") == path:
                return text.decode("utf-8", "surrogatepass")
        raise KeyError(path)

    def to_dataframe(self) -> Any:
        """path, title, depth, words, updatedAt (a UTC datetime), markdown, id."""
        pd = _pandas()
        df = pd.DataFrame(list(self.data), columns=[c for c in EXPORT_COLUMNS if c != "markdown"])
        df.insert(EXPORT_COLUMNS.index("markdown"), "markdown", self.texts())
        df["updatedAt"] = pd.to_datetime(df["updatedAt"], utc=True, errors="coerce")
        return df


class ChangeRequestResult(Result):
    """A change request and its semantic changes (``publish``, ``cr``).

    The table lists the changes; the caption names the change request with its link.
    ``.change_request`` is the change request's JSON, ``.changes`` the changes.
    """

    COLUMNS = ("type", "page.title", "page.path")  # ids are in .changes

    def __init__(
        self,
        change_request: dict[str, Any],
        changes: list[dict[str, Any]],
        *,
        more: int = 0,
        heading: str = "",
        **kw: Any,
    ) -> None:
        self.change_request = change_request
        self.changes = changes
        self.more = more
        self.heading = heading
        if more and "note" not in kw:
            kw["note"] = f"{more} more change{'s' if more != 1 else ''} not listed"
        cols = [c for c in self.COLUMNS if any(_dotted(ch, c) is not None for ch in changes)]
        super().__init__(changes, columns=cols or None, **kw)

    @property
    def id(self) -> str:
        return str(self.change_request.get("id", ""))

    @property
    def number(self) -> Any:
        return self.change_request.get("number")

    @property
    def status_text(self) -> str:
        return str(self.change_request.get("status", ""))

    @property
    def url(self) -> str | None:
        urls = self.change_request.get("urls")
        app = urls.get("app") if isinstance(urls, dict) else None
        return app if isinstance(app, str) else None

    @property
    def merged(self) -> bool:
        return self.status_text == "merged"

    def _title(self) -> str:
        subject = self.change_request.get("subject") or "(no subject)"
        number = f"#{self.number} " if self.number is not None else ""
        return f"change request {number}{subject!s} ({self.status_text})"

    def _repr_html_(self) -> str:
        head = html.escape(f"{self.heading}{self._title()}")
        link = _link(self.url, "open in GitBook")
        table = super()._repr_html_()
        return (
            f'<div class="gitbook-nb-change-request"><div>{head}'
            f"{' · ' + link if link else ''}</div>{table}</div>"
        )

    def __repr__(self) -> str:
        lines = [plain(f"{self.heading}{self._title()}")]
        if self.url:
            lines.append(plain(self.url))
        lines.append(super().__repr__())
        return "\n".join(lines)

    __str__ = __repr__


def _dotted(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
