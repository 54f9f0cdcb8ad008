"""Docs as data, the parts without a server: file names, front matter, rendering, the gate."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gitbook_nb.content._front_matter import render, split
from gitbook_nb.content._gate import RateGate, TooLong
from gitbook_nb.content._paths import page_by_id, page_by_path
from gitbook_nb.content._render import page_link_resolver, render_markdown, target_path
from gitbook_nb.content._safe_names import MAX_SEGMENT_BYTES, UnsafeName, file_for, inside
from gitbook_nb.content._writer import ExportFolder
from gitbook_nb.content.results import PageResult, word_count
from gitbook_nb.errors import UnsafeRequestError

# ------------------------------------------------------------------ file names

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "a/../../b",
    "a\x00b",
    "CON",
    "nul",
    "aux.txt",
    "com1",
    "LPT9/x",
    "guides/Con",
    "trailing. ",
    ".git/config",
    "a\\..\\..\\b",
    "C:/Windows/system32",
    "x" * 400,
    "bidi\u202egnp.exe",
    "zero\u200bwidth",
    'q<u>o:t"e|s?*',
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_page_paths_become_safe_names_inside_the_folder(tmp_path: Path, path: str) -> None:
    rel = file_for(path)
    parts = rel.split("/")
    assert rel.endswith(".md")
    for part in parts:
        assert part not in ("", ".", "..")
        assert not part.startswith(".")
        assert len(part.encode()) <= MAX_SEGMENT_BYTES + 12
        assert not any(ord(c) < 32 or c in '<>:"|?*\\' for c in part)
        stem = part.split(".")[0].upper()
        assert stem not in {"CON", "NUL", "AUX", "COM1", "LPT9", "PRN"}
        assert "\u202e" not in part and "\u200b" not in part
    root = tmp_path / "out"
    root.mkdir()
    assert str(inside(root, rel)).startswith(str(root.resolve()) + os.sep)


def test_safe_names_keep_ordinary_paths_and_tell_changed_ones_apart() -> None:
    assert file_for("getting-started/installation") == "getting-started/installation.md"
    assert file_for("guides/מדריך-בעברית") == "guides/מדריך-בעברית.md"
    # two different hostile names never share a file
    assert file_for("a:b") != file_for("a|b")
    assert file_for("..") != file_for(".")


def test_names_too_long_or_empty_are_refused() -> None:
    with pytest.raises(UnsafeName):
        file_for("/".join(["x" * 100] * 12))
    with pytest.raises(UnsafeName):
        file_for("///")


def test_inside_refuses_a_symlinked_folder_pointing_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "guides").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeName):
        inside(root, "guides/install.md")


def test_case_insensitive_clash_gets_the_page_id(tmp_path: Path) -> None:
    folder = ExportFolder(tmp_path)
    first = folder.plan("id1", "Guide")
    second = folder.plan("id2", "guide")
    assert first.rel == "Guide.md"
    assert second.rel != first.rel and second.rel.casefold() != first.rel.casefold()
    assert folder.plan("id1", "Guide").rel == "Guide.md"  # the same page keeps its name


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    folder = ExportFolder(tmp_path)
    planned = folder.plan("p1", "a/b")
    folder.write(planned, {"id": "p1", "title": "B", "documentId": "d1"}, "# B\n")
    assert (tmp_path / "a" / "b.md").read_text().endswith("---\n# B\n")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.md"]
    assert folder.unchanged(planned, {"id": "p1", "documentId": "d1"}) == "# B\n"
    assert folder.unchanged(planned, {"id": "p1", "documentId": "d2"}) is None
    assert folder.unchanged(planned, {"id": "other", "documentId": "d1"}) is None


def test_a_failing_write_keeps_the_old_file_whole(tmp_path: Path) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    ExportFolder(tmp_path).write(ExportFolder(tmp_path).plan("p1", "page"), {"id": "p1"}, "old\n")
    folder = ExportFolder(tmp_path, fsync=full_disk)
    with pytest.raises(OSError):
        folder.write(folder.plan("p1", "page"), {"id": "p1"}, "new text\n")
    assert split((tmp_path / "page.md").read_text())[1] == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.md"]  # no temporary file left


# ------------------------------------------------------------------ front matter


def test_front_matter_round_trips_and_is_yaml() -> None:
    yaml = pytest.importorskip("yaml")
    fields = {"title": 'Say "hi": <b>', "id": "p1", "revision": "r1", "updatedAt": "2024-01-01"}
    text = render(fields, "# Body\n---\nnot front matter\n")
    assert yaml.safe_load(text.split("---\n")[1]) == fields
    got, body = split(text)
    assert got == fields and body == "# Body\n---\nnot front matter\n"
    assert split("---\nsomething: else\n---\nx") == ({}, "---\nsomething: else\n---\nx")


# ------------------------------------------------------------------ rendering (E6)


def test_E6_raw_html_in_a_page_is_text_and_scripts_never_run() -> None:
    html = render_markdown(
        "# Title <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[x](javascript:alert(1)) `<b>` [ok](https://example.com)\n"
    )
    assert "<h1>" in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "href=\"javascript" not in html  # left as plain text, never a link
    assert 'rel="noopener noreferrer"' in html


def test_relative_links_resolve_to_the_space() -> None:
    assert target_path("getting-started/installation", "../faq.md") == "faq"
    assert target_path("guides", "guides/README.md") == "guides"
    assert target_path("a/b", "./c.md#anchor") == "a/c"
    assert target_path("a", "../../x.md") is None
    assert target_path("a", "https://example.com") is None
    resolve = page_link_resolver(
        "getting-started/installation", "https://app.example/s/S/getting-started/installation"
    )
    assert resolve("../faq.md#top") == "https://app.example/s/S/faq#top"
    assert resolve("https://other.example/") == "https://other.example/"
    assert page_link_resolver("x", "javascript:alert(1)")("../y.md") == "../y.md"


def test_page_result_shows_headings_as_html_and_its_text_form_is_plain() -> None:
    res = PageResult(
        {"id": "p", "title": "<b>T</b>", "path": "a", "markdown": "# Head\n\nx\x1b[31m\n"},
        method="GET",
        path="/spaces/s/content/path/a",
    )
    html = res._repr_html_()
    assert "<h1>Head</h1>" in html and "&lt;b&gt;T&lt;/b&gt;" in html
    assert "\x1b" not in repr(res) and "\\u001b" in repr(res)
    raw = PageResult(res.data, raw=True)._repr_html_()
    assert "<pre" in raw and "# Head" in raw and "<h1>" not in raw
    assert res.markdown.startswith("# Head") and res.path == "a" and res.id == "p"
    assert word_count("Don't stop — 3 words? 四") == 5


# ------------------------------------------------------------------ API paths (D4)


def test_D4_page_paths_and_ids_cannot_climb_or_hide_a_slash() -> None:
    assert page_by_path("s", "/a/b c/") == "/spaces/s/content/path/a/b%20c"
    assert page_by_id("s", "a/b") == "/spaces/s/content/page/a%2Fb"
    for bad in ("..", "a/../b", "", "a//b"):
        with pytest.raises(UnsafeRequestError):
            page_by_path("s", bad)
    with pytest.raises(UnsafeRequestError):
        page_by_id("..", "x")


# ------------------------------------------------------------------ the rate gate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


def test_gate_holds_every_worker_until_the_reset_and_sleeps_once() -> None:
    clock = Clock()
    gate = RateGate(max_wait=60, wall=clock, sleep=clock.sleep)
    gate.observe(remaining=0, reset=1030)
    threads = [threading.Thread(target=gate.wait) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert clock.now >= 1030 and len(clock.slept) == 1 and gate.paused == 1
    gate.observe(remaining=5, reset=2000)  # budget left: no pause
    gate.wait()
    assert len(clock.slept) == 1


def test_gate_refuses_a_wait_beyond_its_bound() -> None:
    clock = Clock()
    gate = RateGate(max_wait=60, wall=clock, sleep=clock.sleep)
    with pytest.raises(TooLong) as err:
        gate.observe(remaining=0, reset=1000 + 3600)
    assert err.value.seconds > 3600
    gate.cancel()
    gate.wait()
    assert clock.slept == []
