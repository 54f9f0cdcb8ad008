"""One decoder for both pagination envelopes: the same JSON reads the same everywhere."""

from __future__ import annotations

import pytest

from gitbook_nb.api.pagination import next_page
from gitbook_nb.display import Result
from gitbook_nb.protocol.envelopes import decode, items_of, total_of

API = "https://api.gitbook.com/v1"


def test_current_envelope_with_cursor_and_count():
    env = decode({"items": [1, 2], "next": {"page": "c2"}, "count": 9})
    assert (env.kind, env.items, env.total, env.next_page, env.has_more) == (
        "current", [1, 2], 9, "c2", True
    )
    assert decode({"items": [], "count": 0}).has_more is False


def test_legacy_envelope_counts_pages_from_page_limit_total():
    env = decode({"list": [1, 2], "page": 0, "limit": 2, "total": 5})
    assert (env.kind, env.total, env.next_page) == ("legacy", 5, 1)
    assert decode({"list": [5], "page": 2, "limit": 2, "total": 5}).next_page is None


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "x", "items": [1, 2], "title": "an object with an items field"},
        {"list": [1], "name": "an object with a list field"},
        {"items": "not a list"},
        [1, 2],
        None,
    ],
)
def test_an_object_with_an_items_field_is_not_an_envelope(obj):
    assert decode(obj) is None and items_of(obj) is None and total_of(obj) is None


def test_the_same_object_reads_as_an_object_in_pagination_and_in_tables():
    obj = {"id": "x", "items": [{"a": 1}], "title": "T", "next": {"page": "c"}}
    assert next_page(obj, {}, API) is None  # --all: nothing to follow
    res = Result(obj)  # a table: one row per field, not one row per item
    assert res.total is None
    assert res.columns == ["field", "value"]
    assert [r["field"] for r in res.rows] == ["id", "items", "title", "next.page"][: len(res.rows)]


def test_count_and_total_mean_the_same_in_every_reader():
    current = {"items": [{"a": 1}], "count": 7}
    legacy = {"list": [{"a": 1}], "page": 0, "limit": 1, "total": 7}
    assert total_of(current) == total_of(legacy) == 7
    assert Result(current).total == Result(legacy).total == 7


def test_next_link_to_another_host_is_refused_D3():
    from gitbook_nb.errors import UnsafeRequestError

    with pytest.raises(UnsafeRequestError):
        next_page({"items": [1], "next": {"url": "https://evil.example/v1/x?page=2"}}, {}, API)
    assert next_page({"items": [1], "next": {"url": API + "/orgs?page=2"}}, {}, API) == (
        "url", API + "/orgs?page=2"
    )


def test_legacy_walk_uses_our_own_page_counter():
    page0 = {"list": [1], "page": 0, "limit": 1, "total": 3}
    assert next_page(page0, {"page": "1"}, API) == ("params", {"page": 2})
    assert next_page(page0, {"page": "2"}, API) is None  # the server repeating page 0 ends it
