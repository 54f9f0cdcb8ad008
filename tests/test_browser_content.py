"""End to end in a real browser: ``%gitbook page`` in JupyterLab + headless Chromium (issue 11).

A notebook signs in to the embedded sandbox (the sandbox's stand-in for the Approve click:
this test is about showing pages, test_browser.py clicks for real), then shows two pages:
``getting-started/installation``, whose headings must be real HTML headings and whose link to
``../faq.md`` must point at the space's FAQ page, and the page titled
``<img src=x onerror=alert(1)>``, whose raw HTML (``<img onerror>``, ``<script>``, an
``<iframe src=javascript:>``, a ``javascript:`` link) must be shown as text and never run (E6).

Playwright drives Debian's /usr/bin/chromium (never ``playwright install``). Steps leave
screenshots under ``test-artifacts/browser-content/``. Waits are on page conditions only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, JupyterLab, Steps

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is missing: scripts/bootstrap.sh test installs Debian's chromium "
        "(needs root); browser tests skipped",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

MS = 1000
HTML_TITLE = "<img src=x onerror=alert(1)>"
CELLS = [
    "%load_ext gitbook_nb",
    "login = %gitbook login --profile sandbox",
    "login.complete_with_sandbox()  # stands in for the Approve click",
    'orgs = %gitbook orgs\norg = orgs[0]["id"]\nspaces = %gitbook spaces {org} --limit 1\n'
    'space = spaces[0]["id"]',
    "%gitbook page {space} getting-started/installation",
    "%gitbook page {space} img-src-x-onerror-alert-1",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def write_notebook(root: Path) -> str:
    cells = [
        {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
        for src in CELLS
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "pages.ipynb").write_text(json.dumps(nb))
    return "pages.ipynb"


def test_browser_page_renders_headings_and_shows_html_as_text_E6(browser, tmp_path) -> None:
    alerts: list[str] = []
    with JupyterLab(tmp_path) as lab:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        steps = Steps("browser-content", page)
        try:
            with steps("open the notebook and wait for the kernel"):
                page.goto(lab.lab_url(write_notebook(tmp_path)))
                page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=60 * MS)
                page.locator(".jp-Notebook .jp-Cell").first.click()
                page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on

            with steps("run every cell"):
                for _ in CELLS:
                    page.keyboard.press("Shift+Enter")
                pages = page.locator(".gitbook-nb-page")
                pages.nth(1).wait_for(timeout=90 * MS)

            with steps("the installation page: real headings and resolved links"):
                first = pages.nth(0).locator(".gitbook-nb-markdown")
                heading = first.locator("h1")
                assert heading.inner_text().strip() == "Installation"
                assert heading.is_visible()
                assert first.locator("ol > li").count() == 3
                assert first.locator("pre code").inner_text().startswith("pip install")
                faq = first.get_by_role("link", name="FAQ")
                href = faq.get_attribute("href") or ""
                assert href.startswith("http://127.0.0.1:") and href.endswith("/faq"), href
                # JupyterLab rewrites rel to its own "noopener" on links of HTML outputs
                assert "noopener" in (faq.get_attribute("rel") or "").split()
                assert faq.get_attribute("target") == "_blank"

            with steps("the HTML-titled page: every tag shown as text, nothing run"):
                second = pages.nth(1)
                second.scroll_into_view_if_needed()
                body = second.locator(".gitbook-nb-markdown")
                assert body.locator("h1").inner_text().strip() == HTML_TITLE
                text = body.inner_text()
                assert "<script>alert(2)</script>" in text
                assert '<iframe src="javascript:alert(5)"></iframe>' in text
                assert second.locator("img, iframe, script").count() == 0
                assert page.locator(".jp-OutputArea img[src=x]").count() == 0
                assert body.locator("a[href^='javascript']").count() == 0
                assert second.locator(".gitbook-nb-caption b").inner_text() == HTML_TITLE
        finally:
            context.close()
    assert alerts == [], "a script from a page ran in the notebook"
