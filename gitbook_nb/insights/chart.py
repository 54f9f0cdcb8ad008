"""The insights chart: a static PNG drawn with matplotlib (the optional ``plot`` extra).

A line over time when the first dimension is a time bucket, horizontal bars (biggest at the
top) for a category. Always a title, labelled axes and the unit. matplotlib's object API is
used (``Figure``, no pyplot): no global figure state, no GUI backend, nothing left open.

``LOADER`` is the import seam: a function returning matplotlib's ``Figure`` class or raising
ImportError. Tests replace it (or pass ``loader=``) to see the table-only answer without
uninstalling matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BARS_SHOWN", "INSTALL_HINT", "LOADER", "Chart", "figure_class", "render_png"]

INSTALL_HINT = 'Install the chart extra to see a chart here: pip install "gitbook_nb[plot]"'
BARS_SHOWN = 20  # bars drawn at most; the table holds every group


def figure_class() -> Any:
    from matplotlib.figure import Figure  # optional extra: only when a chart is drawn

    return Figure


LOADER: Callable[[], Any] = figure_class


class Chart:
    """A rendered chart: PNG bytes plus a one-line description for the text form."""

    def __init__(self, png: bytes, title: str) -> None:
        self.png = png
        self.title = title

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/png": self.png, "text/plain": f"<chart: {self.title}>"}

    def __repr__(self) -> str:
        return f"<chart: {self.title}>"


def render_png(
    x: Sequence[Any],
    y: Sequence[float],
    *,
    kind: str,
    title: str,
    xlabel: str,
    ylabel: str,
    loader: Callable[[], Any] | None = None,
) -> Chart | None:
    """The chart, or None when matplotlib is not installed (the caller shows the hint).

    ``kind`` is ``"line"`` (``x``: datetimes) or ``"bars"`` (``x``: labels, biggest first).
    """
    try:
        figure = (loader or LOADER)()
    except ImportError:
        return None
    fig = figure(figsize=(8, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if kind == "line":
        ax.plot(
            x, y, color="#346ddb", linewidth=1.6, marker="o" if len(x) <= 60 else None, markersize=3
        )
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        fig.autofmt_xdate()
    else:
        labels = [_label(v) for v in x[:BARS_SHOWN]][::-1]
        ax.barh(range(len(labels)), list(y[:BARS_SHOWN])[::-1], color="#346ddb")
        ax.set_yticks(range(len(labels)), labels)
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(plain(title))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    buf = io.BytesIO()
    # No Software/date metadata: the same data gives the same bytes.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return Chart(buf.getvalue(), title)


def _label(value: Any, width: int = 40) -> str:
    text = "(none)" if value is None or value == "" else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return plain(text)


def plain(text: str) -> str:
    """Text matplotlib draws as it is: a ``$`` pair would otherwise start math mode."""
    return text.replace("$", r"\$")
