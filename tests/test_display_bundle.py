"""One layout for both forms of a displayed Result (display/_view.py).

IPython asks a displayed Result for its text and its HTML in one call; both forms share the
shown rows and cells, each cell cleaned once at the tooltip's length and then cut per form.
These tests pin the rule that makes that sharing exact (cutting a cleaned text equals cleaning
at the shorter length) and that the bundle carries what ``__repr__`` and ``_repr_html_`` give,
also for subclasses that draw a form their own way.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitbook_nb.display import Result
from gitbook_nb.display import result as display
from gitbook_nb.display._tables import clean_text, text_grid, text_width, truncate_width
from gitbook_nb.display._view import cut, make_layout, view
from gitbook_nb.protocol.tokens import MASK, Secret

# Characters that make cleaning and cutting interesting: escapes (controls, bidi), wide CJK,
# combining marks, an ellipsis of its own, HTML specials.
TRICKY = st.text(
    alphabet=st.sampled_from(
        ["a", "Z", " ", "é", "中", "\u0301", "\x00", "\n", "\t", "\u202e", "\u200b", "…",
         "<", "&", '"', "\x7f", "\u2028", "😀"]  # fmt: skip
    ),
    max_size=120,
)
VALUES = st.one_of(TRICKY, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())


@pytest.fixture(autouse=True)
def default_options(monkeypatch):
    monkeypatch.setattr(display, "options", display.Options())


@settings(max_examples=400, deadline=None)
@given(value=VALUES, longer=st.integers(1, 250), shorter=st.integers(1, 250))
def test_cutting_a_cleaned_cell_equals_cleaning_it_shorter(value, longer, shorter):
    longer, shorter = max(longer, shorter), min(longer, shorter)
    assert cut(clean_text(value, longer), shorter) == clean_text(value, shorter)


def test_a_secret_cell_is_the_mask_at_any_length():
    layout = make_layout([{"a": Secret("x" * 40)}], ["a"], "1 row", 200)
    assert view(layout, 3).cells == [[MASK]]
    assert view(layout, 3, tooltip=200).titles is None


def test_a_view_never_shows_more_than_its_layout_cleaned():
    layout = make_layout([{"a": "x" * 90}], ["a"], "1 row", 60)
    with pytest.raises(ValueError):
        view(layout, 40, tooltip=200)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(st.lists(TRICKY, min_size=2, max_size=2), max_size=4),
    width=st.integers(1, 40),
)
def test_text_grid_aligns_by_display_width(cells, width):
    cleaned = [[clean_text(c) for c in row] for row in cells]
    lines = text_grid(["name", "中文"], cleaned, [False, False], width)
    rule = lines[1]
    widths = [len(part) for part in rule.split("  ")]
    assert all(w <= width for w in widths)
    for row, line in zip(cleaned, lines[2:], strict=True):
        first = truncate_width(row[0], width)
        # the second column starts after the first column's width and two spaces (a line
        # loses its trailing spaces)
        pad = widths[0] - text_width(first)
        assert (line + " " * 100).startswith(first + " " * pad + "  ")


def results() -> list[Result]:
    long_url = "https://example.com/" + "p" * 120
    return [
        Result({"object": "user", "id": "u1", "displayName": "Ada", "urls": {"a": long_url}}),
        Result([{"id": i, "title": f"<b>{i}</b>", "n": i * 1.5} for i in range(70)], path="/x"),
        Result({"items": [{"id": "s", "title": "中文" * 30}], "count": 9, "next": None}),
        Result({"object": "revision", "pages": [{"id": "p", "title": "T", "pages": []}]}),
        Result("a scalar\x00with a control", note="a note " * 40, max_cell=12),
        Result(None),
        Result([{'"q"': '"' * 300} for _ in range(60)], max_cell=300),
    ]


@pytest.mark.parametrize("res", results(), ids=lambda r: type(r.data).__name__)
def test_the_bundle_carries_exactly_repr_and_html(res):
    both = res._repr_mimebundle_()
    assert both == {"text/plain": repr(res), "text/html": res._repr_html_()}
    assert res._repr_mimebundle_(include={"text/html"}) == {"text/html": both["text/html"]}
    assert res._repr_mimebundle_(exclude={"text/html"}) == {"text/plain": both["text/plain"]}
    assert res._repr_mimebundle_(include=set()) == {}


class OwnHTML(Result):
    """A subclass that draws its HTML itself (as content's PageResult does)."""

    def _repr_html_(self) -> str:
        return "<p>my own page</p>"


class OwnText(Result):
    def __repr__(self) -> str:
        return "my own text"


@pytest.mark.parametrize("cls", [OwnHTML, OwnText])
def test_a_subclass_form_of_its_own_is_what_the_bundle_carries(cls: Any):
    res = cls({"id": "x", "title": "T"}, path="/x")
    assert res._repr_mimebundle_() == {"text/plain": repr(res), "text/html": res._repr_html_()}
