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

import pytest
from browser_support import JupyterLab, Steps, require_chromium, write_notebook
from frontend_pages import new_page, open_in_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]
require_chromium()

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


def test_browser_page_renders_headings_and_shows_html_as_text_E6(browser, tmp_path) -> None:
    alerts: list[str] = []
    with JupyterLab(tmp_path) as lab:
        context, page = new_page(browser, alerts)
        steps = Steps("browser-content", page)
        try:
            with steps("open the notebook and wait for the kernel"):
                open_in_lab(page, lab.lab_url(write_notebook(tmp_path / "pages.ipynb", CELLS)))
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
