"""Result and table rendering: what rows an answer becomes, and that showing it is safe and
bounded (SECURITY.md E1, E6)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitbook_nb.display import ColumnError, MissingDependencyError, Result, render_json
from gitbook_nb.display import result as display
from gitbook_nb.display._tables import (
    clean_text,
    count_pages,
    flatten_pages,
    flatten_row,
    looks_secret,
    text_width,
)
from gitbook_nb.errors import GitBookError
from gitbook_nb.protocol.tokens import MASK, Secret

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def default_options(monkeypatch):
    """Each test starts from the built-in display defaults, whatever another test changed."""
    monkeypatch.setattr(display, "options", display.Options())


def books(n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"alice/book-{i}", "title": f"Book {i}", "author": {"username": "alice"}}
        for i in range(n)
    ]


class CountingItem(Mapping):
    """A JSON object that counts how often it is read, to prove rendering is lazy."""

    reads = 0

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        CountingItem.reads += 1
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


# -- envelopes and rows -------------------------------------------------------------------------


def test_legacy_envelope_unwraps_list_and_uses_total():
    r = Result({"list": books(3), "page": 0, "limit": 3, "total": 10}, path="/books")
    assert [row["id"] for row in r.rows] == ["alice/book-0", "alice/book-1", "alice/book-2"]
    assert len(r) == 3
    assert "showing 3 of 10 rows" in repr(r)
    assert "showing 3 of 10 rows" in r._repr_html_()


def test_current_envelope_unwraps_items_and_uses_count():
    r = Result({"items": books(2), "next": {"page": "cursor"}, "count": 7}, path="/v1/orgs")
    assert r.columns == ["id", "title", "author.username"]
    assert r.rows[1]["title"] == "Book 1"
    assert "showing 2 of 7 rows" in repr(r)


def test_session_total_after_all_overrides_envelope():
    r = Result(books(120), total=120, pages=3)
    assert "showing 50 of 120 rows" in repr(r)
    assert "120 fetched" not in repr(r)
    r2 = Result(books(120), total=500)
    assert "showing 50 of 500 rows (120 fetched)" in repr(r2)


def test_everything_shown_footer_counts_rows():
    assert repr(Result(books(3))).endswith("3 rows")
    assert repr(Result(books(1))).endswith("1 row")


def test_object_with_unrelated_items_field_is_not_an_envelope():
    order = {"id": "o1", "items": [1, 2], "customer": "bob"}
    r = Result(order)
    assert r.columns == ["field", "value"]
    assert {"field": "items", "value": "1, 2"} in r.rows


def test_nested_dicts_flatten_to_dotted_columns_and_lists_are_summarised():
    row = flatten_row(
        {
            "id": 1,
            "author": {"username": "alice", "urls": {"profile": "https://x"}},
            "tags": ["a", "b", 3],
            "members": [{"id": 1}, {"id": 2}, {"id": 3}],
            "one": [{"id": 1}],
            "empty": [],
            "meta": {},
        }
    )
    assert row == {
        "id": 1,
        "author.username": "alice",
        "author.urls.profile": "https://x",
        "tags": "a, b, 3",
        "members": "[3 items]",
        "one": "[1 item]",
        "empty": "",
        "meta": None,
    }


def test_non_object_items_become_value_cells():
    assert Result(["a", 2, None]).rows == [{"value": "a"}, {"value": 2}, {"value": None}]


def test_deeply_nested_object_flattens_without_recursion_limit():
    obj: dict[str, Any] = {"leaf": "bottom"}
    for _ in range(5000):
        obj = {"n": obj}
    row = flatten_row(obj)
    ((key, value),) = row.items()
    assert key == ".".join(["n"] * 5000 + ["leaf"]) and value == "bottom"
    assert "bottom" in repr(Result([obj]))


def test_columns_in_first_seen_order_across_rows():
    r = Result([{"b": 1, "a": 2}, {"c": 3, "a": 4}, {"d": 5, "b": 6}])
    assert r.columns == ["b", "a", "c", "d"]
    header = repr(r).splitlines()[0]
    assert header.split() == ["b", "a", "c", "d"]


def test_columns_selection_orders_and_filters_rows_and_dataframe():
    r = Result(books(3), columns="title, author.username")
    assert r.columns == ["title", "author.username"]
    assert r.rows[0] == {"title": "Book 0", "author.username": "alice"}
    assert repr(r).splitlines()[0].split() == ["title", "author.username"]
    assert list(r.to_dataframe().columns) == ["title", "author.username"]
    assert Result(books(2), columns=["id"]).rows == [{"id": "alice/book-0"}, {"id": "alice/book-1"}]


def test_unknown_column_error_lists_available_columns():
    with pytest.raises(ColumnError) as info:
        Result(books(2), columns=["title", "autor.username"])
    message = str(info.value)
    assert "autor.username" in message
    assert "available: id, title, author.username" in message
    assert isinstance(info.value, GitBookError) and isinstance(info.value, KeyError)
    assert "\n" not in message


def test_single_object_is_a_field_value_table():
    user = {"object": "user", "id": "u1", "displayName": "Ada", "urls": {"location": "https://a"}}
    r = Result(user, path="/v1/user")
    assert r.columns == ["field", "value"]
    assert r.rows == [
        {"field": "object", "value": "user"},
        {"field": "id", "value": "u1"},
        {"field": "displayName", "value": "Ada"},
        {"field": "urls.location", "value": "https://a"},
    ]
    text = repr(r)
    assert re.search(r"^urls\.location\s+https://a$", text, re.M)
    assert r["displayName"] == "Ada"  # __getitem__ reads the JSON
    selected = Result(user, columns="displayName,id")
    assert [row["field"] for row in selected.rows] == ["displayName", "id"]
    with pytest.raises(ColumnError, match="available: object, id"):
        Result(user, columns="email")


def test_field_selection_reaches_past_max_rows():
    obj = {f"f{i}": i for i in range(120)}
    r = Result(obj, columns="f100,f3", max_rows=5)
    assert [line.split() for line in repr(r).splitlines()[2:4]] == [["f100", "100"], ["f3", "3"]]
    assert repr(r).endswith("2 rows")


def test_tree_columns_selection_and_error():
    assert Result(REVISION, columns="path,id").rows[1] == {"path": "Guide / Install", "id": "p2"}
    with pytest.raises(ColumnError, match="available: depth, path, title, type, id, slug"):
        Result(REVISION, columns="name")


def test_scalar_is_one_cell_and_none_is_empty():
    r = Result(42)
    assert r.rows == [{"value": 42}] and len(r) == 1
    assert "42" in repr(r) and "<td>42</td>" in r._repr_html_()
    empty = Result(None, status=204, method="DELETE", path="/x")
    assert empty.rows == [] and len(empty) == 0
    assert repr(empty) == "DELETE /x · 204 · 1 page\n0 rows"
    assert "<table" not in empty._repr_html_()


def test_getitem_len_iter():
    r = Result({"list": books(4), "page": 0, "limit": 4, "total": 4})
    assert r["total"] == 4
    assert r[0]["id"] == "alice/book-0" and len(r[1:3]) == 2
    assert len(r) == 4
    assert [row["title"] for row in r] == [f"Book {i}" for i in range(4)]


# -- page trees ---------------------------------------------------------------------------------

REVISION = {
    "object": "revision",
    "id": "rev1",
    "pages": [
        {
            "id": "p1",
            "title": "Guide",
            "kind": "sheet",
            "type": "document",
            "path": "guide",
            "pages": [
                {"id": "p2", "title": "Install", "type": "document", "path": "guide/install"},
                {"id": "p3", "title": "Use", "kind": "sheet", "pages": []},
            ],
        },
        {"id": "g1", "title": "Links", "kind": "group"},  # no "pages": GitBook omits it
    ],
}


def test_flatten_pages_depth_path_and_missing_pages():
    rows = flatten_pages(REVISION)
    assert [(r["depth"], r["path"], r["id"], r["type"]) for r in rows] == [
        (0, "Guide", "p1", "document"),
        (1, "Guide / Install", "p2", "document"),
        (1, "Guide / Use", "p3", "sheet"),  # kind when type is missing
        (0, "Links", "g1", "group"),
    ]
    assert rows[1]["slug"] == "guide/install"
    assert count_pages(REVISION) == 4
    assert flatten_pages(REVISION["pages"]) == rows  # a list of pages works too
    single = flatten_pages(REVISION["pages"][0])  # one page is its own root
    assert [r["path"] for r in single] == ["Guide", "Guide / Install", "Guide / Use"]


def test_revision_renders_as_page_tree_by_default_and_on_request():
    r = Result(REVISION, path="/v1/spaces/s/content")
    assert r.columns == ["depth", "path", "title", "type", "id", "slug"]
    assert len(r) == 4
    assert "Guide / Install" in repr(r)
    plain = Result(REVISION, tree=False)
    assert plain.columns == ["field", "value"]
    assert plain.pages_table().rows == r.rows
    # tree=True flattens a bare list of pages too
    assert Result(REVISION["pages"], tree=True).rows == r.rows


def test_page_tree_5000_levels_deep_is_iterative():
    node: dict[str, Any] = {"id": "p4999", "title": "t4999"}
    for i in range(4998, -1, -1):
        node = {"id": f"p{i}", "title": f"t{i}", "pages": [node]}
    tree = {"object": "revision", "pages": [node]}
    rows = flatten_pages(tree)
    assert len(rows) == 5000 and count_pages(tree) == 5000
    assert rows[-1]["depth"] == 4999 and rows[-1]["title"] == "t4999"
    # the path keeps its last parts behind an ellipsis instead of growing quadratically
    assert rows[-1]["path"].startswith("… / ") and rows[-1]["path"].endswith("t4998 / t4999")
    assert len(rows[-1]["path"]) < 200
    r = Result(tree)
    assert "showing 50 of 5000 rows" in repr(r)


def test_page_tree_cycle_does_not_hang():
    a: dict[str, Any] = {"id": "a", "title": "A"}
    a["pages"] = [a]
    assert [r["id"] for r in flatten_pages([a])] == ["a"]
    assert count_pages([a]) == 1


# -- escaping (E6) ------------------------------------------------------------------------------


def test_E6_html_looking_title_is_escaped_in_html():
    r = Result([{"title": XSS, XSS: "key too"}], path="/books/<b>", note="<script>x</script>")
    out = r._repr_html_()
    assert "<img" not in out and "<script" not in out and "<b>" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "<th>&lt;img src=x onerror=alert(1)&gt;</th>" in out
    assert "&lt;b&gt;" in out and "&lt;script&gt;" in out


def test_E6_quotes_are_escaped_in_html():
    out = Result([{"t": '" onmouseover="alert(1)'}])._repr_html_()
    assert '" onmouseover' not in out and "&quot; onmouseover=&quot;" in out


CONTROL = "a\x1bb\u202ec\u2066d\nx\ty\r\x85\x00\u2028"


def test_E6_control_chars_and_bidi_overrides_neutralised_in_text():
    display.options.max_colwidth = 80  # room for the whole escaped cell
    r = Result([{"name": CONTROL, "k\x1b": 1}], path="/p\x1bq", note="n\u202e")
    text = repr(r)
    for raw in ("\x1b", "\u202e", "\u2066", "\t", "\r", "\x85", "\x00", "\u2028"):
        assert raw not in text
    assert "a\\x1bb\\u202ec\\u2066d\\nx\\ty\\r\\x85\\x00\\u2028" in text
    assert "k\\x1b" in text and "/p\\x1bq" in text and "n\\u202e" in text
    assert len(text.splitlines()) == 6  # caption, header, rule, one row, footer, note
    html_out = r._repr_html_()
    assert "\x1b" not in html_out and "\u202e" not in html_out


def test_clean_text_keeps_ordinary_unicode():
    assert clean_text("Ünïcödé 李小龍 👩‍💻") == "Ünïcödé 李小龍 👩‍💻"  # ZWJ kept


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
        max_leaves=30,
    )
)
@settings(max_examples=300, deadline=None)
def test_E6_any_json_renders_escaped_and_one_row_per_line(data):
    r = Result(data, path="/x")
    out = r._repr_html_()
    markup = re.sub(r"</?(div|table|thead|tbody|tr|th|td)\b[^>]*>", "", out)
    assert "<" not in markup and ">" not in markup.replace("&gt;", "")
    text = repr(r)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert repr(r) == text


# -- caps and footer ----------------------------------------------------------------------------


def test_max_rows_per_result_and_module_wide():
    assert "showing 50 of 200 rows" in repr(Result(books(200)))
    small = Result(books(200), max_rows=5)
    assert "showing 5 of 200 rows" in repr(small) and small._repr_html_().count("<tr>") == 6
    display.options.max_rows = 10
    assert "showing 10 of 200 rows" in Result(books(200))._repr_html_()
    assert len(Result(books(200)).rows) == 200  # .rows is never capped


def test_long_cells_capped_with_ellipsis_and_a_tooltip():
    long = "x" * 5000
    r = Result([{"body": long}])
    html_out = r._repr_html_()
    # the cell shows 60 characters; its tooltip (title attribute) up to max_cell (200)
    assert ">" + "x" * 59 + "…</td>" in html_out
    assert 'title="' + "x" * 199 + '…"' in html_out and "x" * 200 not in html_out
    text_line = repr(r).splitlines()[2]
    assert text_line == "x" * 39 + "…"  # the text form caps columns at max_colwidth
    small = Result([{"body": long}], max_cell=10)._repr_html_()
    assert ">" + "x" * 9 + "…<" in small and "title=" not in small  # nothing more to show
    assert r.rows[0]["body"] == long  # the data is not cut


def test_E6_tooltip_is_escaped_and_short_cells_have_none():
    evil = '"><img src=x onerror=alert(1)> ' + "y" * 80
    out = Result([{"title": evil, "id": "short"}])._repr_html_()
    assert "<img" not in out and "&quot;&gt;&lt;img" in out
    assert out.count("title=") == 1  # only the cut cell has a tooltip


def test_wide_table_scrolls_inside_its_output_and_cells_do_not_wrap():
    out = Result([{"id": 1, "url": "https://example.org/" + "a" * 300}])._repr_html_()
    assert '<div class="gitbook-nb-scroll" style="overflow-x:auto' in out
    assert 'style="white-space:nowrap"' in out


def test_unknown_kind_shows_id_and_title_first_and_caps_columns():
    wide = [{**{f"c{i}": i for i in range(100)}, "title": "T", "id": 7, "object": "thing"}]
    r = Result(wide)
    html_out = r._repr_html_()
    assert html_out.count("<th>") == 12
    assert (
        html_out.index("<th>id</th>")
        < html_out.index("<th>title</th>")
        < html_out.index("<th>c0</th>")
    )
    assert "<th>object</th>" not in html_out
    assert "showing 1 of 1 row, 12 of 103 columns (--columns all)" in repr(r)
    assert len(Result(wide, columns=[f"c{i}" for i in range(40)]).columns) == 40
    every = Result(wide, columns="all")
    assert every._repr_html_().count("<th>") == 103 and repr(every).endswith("\n1 row")
    assert len(r.columns) == 103  # .columns (and to_dataframe) keep every column


def test_footer_names_both_hints_when_rows_and_columns_are_hidden():
    rows = [{"object": "organization", "id": i, "title": f"o{i}", "extra": 1} for i in range(7)]
    r = Result({"items": rows, "count": 20}, max_rows=3)
    assert repr(r).splitlines()[-1] == (
        "showing 3 of 20 rows (7 fetched), 2 of 4 columns "
        "(--columns all, %config GitBookMagics.max_rows)"
    )
    assert (
        Result(rows[:2]).__repr__().splitlines()[-1]
        == "showing 2 of 2 rows, 2 of 4 columns (--columns all)"
    )
    assert Result(rows, max_rows=3, columns="id,title").__repr__().splitlines()[-1] == (
        "showing 3 of 7 rows (%config GitBookMagics.max_rows)"
    )


def test_caption_and_note_lines():
    r = Result(
        books(2),
        method="GET",
        path="/books",
        status=200,
        pages=5,
        elapsed=0.0421,
        note="stopped at --max-pages 5; more pages exist",
    )
    text = repr(r)
    assert text.splitlines()[0] == "GET /books · 200 · 5 pages"
    assert text.splitlines()[-1] == "note: stopped at --max-pages 5; more pages exist"
    out = r._repr_html_()
    assert "GET /books · 200 · 5 pages · 42 ms" in out
    assert "stopped at --max-pages 5; more pages exist" in out
    assert Result(books(1), truncated_note="older name").note == "older name"


def test_text_repr_is_stable_between_runs():
    class RateLimit:
        def __init__(self, remaining: int) -> None:
            self.limit, self.remaining, self.reset = 5000, remaining, time.time()

    a = Result(books(3), path="/books", elapsed=0.012, rate_limit=RateLimit(4999))
    b = Result(books(3), path="/books", elapsed=1.5, rate_limit=RateLimit(12))
    assert repr(a) == repr(a) == repr(b) == str(b)
    assert " ms" not in repr(a) and "0x" not in repr(a) and "4999" not in repr(a)
    assert "rate limit 4999/5000" in a._repr_html_()


def test_unicode_wide_characters_stay_aligned():
    r = Result([{"name": "李小龍", "n": 1}, {"name": "ab", "n": 22}])
    lines = repr(r).splitlines()
    widths = {text_width(line) for line in lines[0:4]}
    assert len(widths) == 1, lines  # header, rule and rows are equally wide
    assert lines[2] == "李小龍   1"


# -- bounded output (100,000 rows) --------------------------------------------------------------


def test_100k_rows_render_bounded_and_fast():
    data = {"items": books(100_000), "count": 100_000}
    r = Result(data, path="/v1/orgs/o/spaces")
    start = time.perf_counter()
    html_out, text = r._repr_html_(), repr(r)
    ours = time.perf_counter() - start
    assert len(html_out.encode()) < 100_000 and len(text.encode()) < 100_000
    assert "showing 50 of 100000 rows" in html_out and "showing 50 of 100000 rows" in text
    pd = pytest.importorskip("pandas")
    start = time.perf_counter()
    pd.DataFrame(books(100_000))._repr_html_()
    theirs = time.perf_counter() - start
    assert ours < theirs, (ours, theirs)


def test_worst_case_cells_still_fit_the_byte_budget():
    """1,500 cells of quotes (6x when escaped) or CJK (3 bytes each) stay under 100 KB."""
    for text in ('"' * 5000, "李" * 5000, "\x1b" * 5000):
        rows = [{f"c{i}": text for i in range(30)} for _ in range(60)]
        r = Result(rows)
        html_out, plain = r._repr_html_(), repr(r)
        assert len(html_out.encode()) < 100_000 and len(plain.encode()) < 100_000
        assert "showing 50 of 60 rows" in html_out and "showing 50 of 60 rows" in plain
        assert "…" in html_out


def test_rendering_flattens_only_the_shown_rows():
    items = [CountingItem(b) for b in books(100_000)]
    CountingItem.reads = 0
    r = Result(items, path="/books")
    assert CountingItem.reads == 0  # nothing happens in the constructor
    r._repr_html_()
    repr(r)
    assert 0 < CountingItem.reads <= 2 * 50 * 2  # two renders of 50 rows (outer + nested)
    assert len(r) == 100_000
    assert CountingItem.reads <= 200


def test_column_check_scans_a_bounded_prefix():
    items = [CountingItem(b) for b in books(100_000)]
    CountingItem.reads = 0
    Result(items, columns="title")
    assert CountingItem.reads <= 2 * 1000


# -- secrets (E1) -------------------------------------------------------------------------------


def test_E1_secret_values_show_their_mask():
    secret = Secret("gb_api_" + "s3cr3t" * 4)
    r = Result([{"id": 1, "key": secret, "nested": {"k": secret}, "list": [secret]}])
    for out in (repr(r), r._repr_html_(), str(r.rows), str(render_json(r.data))):
        assert "s3cr3t" not in out
    assert r.rows[0]["key"] == MASK and r.rows[0]["list"] == MASK


def test_E1_credential_looking_keys_are_masked_in_rows_not_in_data():
    answer = {
        "access_token": "at-123",
        "refresh_token": "rt-456",
        "token_type": "bearer",
        "client_secret": "cs-789",
        "user": {"password": "pw-0"},
        "accessToken": "at-2",
        "token": {"value": "tv-1"},
        "expires_in": 3600,
    }
    r = Result(answer)
    shown = repr(r) + r._repr_html_() + str(r.rows) + str(render_json(answer))
    for leaked in ("at-123", "rt-456", "cs-789", "pw-0", "at-2", "tv-1"):
        assert leaked not in shown
    assert "bearer" in repr(r) and "3600" in repr(r)
    assert r.data["access_token"] == "at-123"  # .data is the untouched JSON


def test_looks_secret_names():
    for key in (
        "access_token",
        "refresh_token",
        "client_secret",
        "password",
        "token",
        "auth.accessToken",
        "id-token",
        "api_key",
        "code_verifier",
    ):
        assert looks_secret(key), key
    for key in ("token_type", "tokens", "title", "passwordChangedAt", "id", "secretary"):
        assert not looks_secret(key), key


# -- render_json, pandas, purity ----------------------------------------------------------------


def test_render_json_sorted_bounded_escaped():
    data = {"b": list(range(80)), "a": {"title": XSS, "ctl": "x\u202ey"}}
    view = render_json(data)
    text = repr(view)
    assert text == repr(render_json(data))
    assert text.index('"a"') < text.index('"b"')  # sorted keys
    assert '"… 30 more items"' in text and "\u202e" not in text and "\\u202e" in text
    out = view._repr_html_()
    assert out.startswith('<pre class="gitbook-nb-json">') and "<img" not in out
    assert "&lt;img" in out
    big = repr(render_json(books(50), max_chars=500))
    assert len(big) < 600 and big.endswith("the full answer is in .data)")
    assert "Book 0" in repr(Result(books(1)).to_json())


def test_to_dataframe_with_pandas():
    pytest.importorskip("pandas")
    frame = Result({"list": books(3), "total": 3}).to_dataframe()
    assert frame.shape == (3, 3)
    assert list(frame.columns) == ["id", "title", "author.username"]
    assert frame.loc[2, "title"] == "Book 2"


def test_to_dataframe_without_pandas_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(MissingDependencyError, match=r"pip install gitbook_nb\[pandas\]") as e:
        Result(books(1)).to_dataframe()
    assert isinstance(e.value, ImportError) and isinstance(e.value, GitBookError)


def test_display_module_is_pure():
    code = (
        "import sys, gitbook_nb.display as d; d.Result([{'a': 1}])._repr_html_(); "
        "bad = [m for m in ('pandas', 'IPython', 'requests', 'ipywidgets', 'urllib3', "
        "'gitbook_nb.sandbox', 'gitbook_nb.api.client') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],  # noqa: S603 - fixed code
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


def test_render_json_deep_nesting_and_odd_values():
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"n": deep}
    text = repr(render_json({"deep": deep, "secret": [Secret("hidden-value")], "raw": b"x"}))
    assert "bottom" not in text and '"…"' in text  # levels past the depth cap are elided
    assert "hidden-value" not in text and MASK in text


def test_E6_page_titles_are_escaped_in_the_tree_table():
    tree = {
        "object": "revision",
        "pages": [{"id": "x", "title": XSS, "pages": [{"id": "y", "title": "child\u202e"}]}],
    }
    r = Result(tree)
    out = r._repr_html_()
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt; / child\\u202e" in out
    assert "\u202e" not in repr(r)


def test_empty_envelopes():
    assert repr(Result({"list": [], "page": 0, "limit": 50, "total": 0})) == "0 rows"
    assert repr(Result({"items": []})) == "0 rows"
    assert Result({"items": []}).rows == []
