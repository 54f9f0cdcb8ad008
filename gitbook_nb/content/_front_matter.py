"""The front matter of an exported page: what it is, and which version of it the file holds.

Written as ``key: "value"`` lines where every value is a JSON string: JSON strings are valid
YAML scalars, so Git Sync, static site generators and ``yaml.safe_load`` read it, and reading
it back needs only ``json`` (no YAML dependency, and no YAML tags to worry about). Only our
own keys are read back; a file whose header does not parse is simply exported again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["KEYS", "render", "split"]

# title, id, revision and updatedAt are what the issue promises; documentId is the marker that
# changes exactly when the page body changes (GitBook: "ID of the document with the page body").
KEYS = ("title", "id", "path", "revision", "documentId", "updatedAt")


def render(fields: Mapping[str, object], body: str) -> str:
    """Front matter for ``fields`` (``None`` values left out) followed by ``body``."""
    lines = ["---"]
    for key in KEYS:
        value = fields.get(key)
        if value is not None:
            lines.append(f"{key}: {json.dumps(str(value), ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + body


def split(text: str) -> tuple[dict[str, str], str]:
    """(our front matter fields, the markdown after it); ``({}, text)`` when there is none."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return {}, text
    fields: dict[str, str] = {}
    for line in text[4:end].split("\n"):
        key, sep, value = line.partition(": ")
        if not sep or key not in KEYS:
            return {}, text  # not a header we wrote
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}, text
        if not isinstance(parsed, str):
            return {}, text
        fields[key] = parsed
    return fields, text[end + 5 :]
