"""``--json``: an answer as bounded, pretty JSON that displays as escaped ``<pre>`` HTML.

Split from :mod:`gitbook_nb.display.result` (one concept per module); re-exported there.
"""

from __future__ import annotations

import html
import json
from typing import Any

from gitbook_nb.display._tables import clean_text, prune_json

__all__ = ["JSONView", "render_json"]


class JSONView:
    """Pretty JSON that displays as escaped ``<pre>`` HTML and as plain text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return f'<pre class="gitbook-nb-json">{html.escape(self.text, quote=True)}</pre>'

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def render_json(
    data: Any, *, max_items: int | None = None, max_chars: int | None = None
) -> JSONView:
    """``data`` as indented JSON with sorted keys, bounded, secrets masked, controls escaped.

    Lists keep their first ``max_items`` items plus a marker string saying how many were left
    out; the whole text is cut at ``max_chars``. The result is stable between runs.
    """
    items = max_items if max_items is not None else _defaults().max_json_items
    chars = max_chars if max_chars is not None else _defaults().max_json_chars
    pruned = prune_json(data, items)
    text = json.dumps(pruned, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    cut = len(text) > chars
    # json.dumps escapes C0 controls inside strings but not C1 controls or bidi overrides.
    text = "\n".join(clean_text(line) for line in text[:chars].split("\n"))
    if cut:
        text += f"\n… (cut at {chars} characters; the full answer is in .data)"
    return JSONView(text)


def _defaults() -> Any:
    from gitbook_nb.display.result import options  # module-wide options live with Result

    return options
