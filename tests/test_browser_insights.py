"""Tutorial 06 in a real JupyterLab (headless Chromium): the insights charts are drawn as
images and the Ask answer is rendered (Markdown, linked sources), with nothing from the API run
as HTML or script (E6).

The notebook is opened without its saved outputs and run cell by cell with Shift+Enter, so
everything on the page is live output from this run. Waits are on page conditions only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import ROOT, JupyterLab, Steps, copy_without_outputs, require_chromium
from frontend_pages import new_page, open_in_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]
require_chromium()
pytest.importorskip("matplotlib", reason="the charts need the plot extra")

TUTORIAL = ROOT / "notebooks" / "06-site-analytics.ipynb"
MS = 1000


def without_outputs(root: Path) -> tuple[str, int]:
    nb = copy_without_outputs(TUTORIAL, root)
    return TUTORIAL.name, len(nb["cells"])


def test_browser_tutorial_06_shows_charts_and_the_rendered_answer_E6(browser, tmp_path) -> None:
    facts: dict[str, Any] = {"alerts": []}
    name, cells = without_outputs(tmp_path)
    with JupyterLab(tmp_path, log_path=tmp_path / "lab.log") as lab:
        context, page = new_page(browser, facts["alerts"])
        steps = Steps("browser-insights", page)
        try:
            with steps("open tutorial 06 and wait for the kernel"):
                open_in_lab(page, lab.lab_url(name))
                page.locator(".jp-Notebook .jp-Cell").first.click()
                page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on
            with steps("run every cell"):
                for _ in range(cells):
                    page.keyboard.press("Shift+Enter")
            with steps("the Ask answer is rendered with its linked sources"):
                answer = page.locator(".gitbook-nb-ask")
                answer.get_by_text("Follow-up questions").wait_for(timeout=120 * MS)
                answer.scroll_into_view_if_needed()
                facts["bold"] = answer.locator(".gitbook-nb-answer strong").all_inner_texts()
                link = answer.locator(".gitbook-nb-sources a").first
                facts["link_text"] = link.inner_text()
                facts["link_href"] = link.get_attribute("href")
                facts["link_rel"] = link.get_attribute("rel")
                facts["live_left"] = page.get_by_text("GitBook is still answering").count()
            with steps("the charts are images that loaded"):
                images = page.locator(".jp-RenderedImage img")
                images.nth(1).wait_for(timeout=30 * MS)
                images.first.scroll_into_view_if_needed()
                facts["images"] = images.count()
                facts["sizes"] = [
                    images.nth(i).evaluate("img => [img.naturalWidth, img.naturalHeight]")
                    for i in range(images.count())
                ]
                facts["srcs"] = [images.nth(i).get_attribute("src")[:22] for i in range(2)]
            with steps("HTML-looking data stayed text"):
                facts["script_text"] = page.get_by_text("<script>alert('q')</script>").count()
                facts["img_x"] = page.locator("img[src=x]").count()
        finally:
            context.close()
    assert facts["images"] == 2, "page views per day (line) and top pages (bars)"
    assert all(w >= 600 and h >= 250 for w, h in facts["sizes"]), facts["sizes"]
    assert all(s.startswith("data:image/png") for s in facts["srcs"]), facts["srcs"]
    assert "Installation" in facts["bold"], "the answer's Markdown was rendered"
    assert facts["link_text"] == "Installation"
    assert facts["link_href"].endswith("/getting-started/installation")
    assert "noopener" in facts["link_rel"].split()  # JupyterLab's sanitizer sets rel itself
    assert facts["live_left"] == 0, "the live display of the stream ends empty"
    assert facts["script_text"] >= 1 and facts["img_x"] == 0
    assert facts["alerts"] == [], "a script from API data ran in the page"
