"""Display objects (pure): ``Result`` and its tables. No HTTP, no IPython, no widgets."""

from gitbook_nb.display.result import (
    ColumnError,
    JSONView,
    MissingDependencyError,
    Result,
    render_json,
)

__all__ = ["ColumnError", "JSONView", "MissingDependencyError", "Result", "render_json"]
