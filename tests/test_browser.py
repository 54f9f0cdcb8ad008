"""End to end in a real browser: JupyterLab + headless Chromium, the quick start, a real click.

Two runs of the same story (issue 6, item 4):

1. **local**: JupyterLab on 127.0.0.1; open ``01-quickstart.ipynb``, run it cell by cell, click
   *Sign in with GitBook*, click *Approve* on the sandbox's consent page in the new tab, see
   the widget say "Signed in as ...", run the ``%gitbook`` cells and find the table in which
   the title ``<img src=x onerror=alert(1)>`` is shown as text (E6).
2. **binder**: the same under a hub's base URL (``/user/ada/``) with jupyter-server-proxy and
   ``JUPYTERHUB_SERVICE_PREFIX`` in the kernel's environment, while the browser may reach
   *only* the Jupyter server's port: every other request is aborted, so the sign-in link, the
   consent page and the redirect must all go through ``/user/ada/proxy/PORT/...``.

Playwright drives Debian's /usr/bin/chromium (never ``playwright install``). Each step leaves a
screenshot under ``test-artifacts/browser-<run>/``; a failing step leaves ``NN-...-FAILED.png``.
Waits are on explicit page conditions, never fixed sleeps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_support import ROOT, JupyterLab, Steps, copy_without_outputs, require_chromium
from frontend_pages import answer_consent, direct_probe, gate_to, new_page, open_in_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]
require_chromium()

QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
HTML_TITLE = "<img src=x onerror=alert(1)>"
LINK_TEXT = "Sign in with GitBook"
SIGNED_IN = re.compile(r"Signed in as Ada Lovelace")
MS = 1000  # Playwright timeouts are in milliseconds


def fresh_quickstart(root: Path) -> tuple[str, int, int]:
    """Copy the quick start without its saved outputs (so only live output is on the page).

    Returns the file name, and the positions (among all cells) of the login cell and of the
    last cell, to know how many times to press Shift+Enter.
    """
    nb = copy_without_outputs(QUICKSTART, root)
    sources = ["".join(c["source"]) for c in nb["cells"]]
    login_at = next(
        i
        for i, s in enumerate(sources)
        if "%gitbook login" in s and nb["cells"][i]["cell_type"] == "code"
    )
    return QUICKSTART.name, login_at, len(sources) - 1


def run_cells(page: Any, count: int) -> None:
    """Shift+Enter ``count`` times from the selected cell (runs it, selects the next)."""
    for _ in range(count):
        page.keyboard.press("Shift+Enter")


def quickstart_story(
    browser: Any, lab: JupyterLab, name: str, tmp: Path, *, only_jupyter: bool
) -> dict[str, Any]:
    """The whole story; returns facts for the test to assert on."""
    facts: dict[str, Any] = {"aborted": [], "alerts": [], "consent_url": None}
    context, page = new_page(browser, facts["alerts"])
    if only_jupyter:  # Binder: the browser sees only the Jupyter server, nothing else
        gate_to(context, lab.host_port(), facts["aborted"])
    steps = Steps(f"browser-{name}", page)
    nb_name, login_at, last = fresh_quickstart(tmp)
    try:
        with steps("open the quick start and wait for the kernel"):
            open_in_lab(page, lab.lab_url(nb_name))

        with steps("run up to the login widget"):
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on
            run_cells(page, login_at + 1)
            link = page.get_by_role("link", name=LINK_TEXT)
            link.wait_for(timeout=60 * MS)
            facts["link_href"] = link.get_attribute("href")
            facts["link_rel"] = link.get_attribute("rel")

        with steps("click the sign-in link"), context.expect_page(timeout=30 * MS) as new_tab:
            link.click()
        consent = new_tab.value
        with steps("consent page in the new tab", consent):
            consent.get_by_role("button", name="Approve").wait_for(timeout=30 * MS)
            facts["consent_url"] = consent.url
            facts["consent_has_user"] = consent.get_by_text("Ada Lovelace").count() > 0

        facts["after_approve_url"] = answer_consent(steps, consent)

        with steps("the widget says signed in"):
            page.bring_to_front()
            page.get_by_text(SIGNED_IN).first.wait_for(timeout=30 * MS)

        with steps("run the rest and find the table"):
            page.locator(".jp-Notebook .jp-Cell").nth(login_at + 1).click()
            page.keyboard.press("Escape")
            run_cells(page, last - login_at)
            cell = page.locator("table.gitbook-nb-table td", has_text=HTML_TITLE).first
            cell.wait_for(timeout=60 * MS)
            cell.scroll_into_view_if_needed()
            facts["title_visible"] = cell.is_visible()
            facts["title_text"] = cell.inner_text()
            facts["img_x_count"] = page.locator("img[src=x]").count()
            facts["tables"] = page.locator("table.gitbook-nb-table").count()

        if only_jupyter:
            # Prove the gate was real: the sandbox's own port, which served the consent page
            # through the proxy, is not reachable directly from this page.
            facts["aborted_during_story"] = list(facts["aborted"])
            facts["direct_probe"] = direct_probe(page, facts["consent_url"])
    finally:
        context.close()
    return facts


def check_story(facts: dict[str, Any]) -> None:
    assert facts["link_rel"] and {"noopener", "noreferrer"} <= set(facts["link_rel"].split())
    assert facts["consent_has_user"]
    assert facts["title_visible"] and facts["title_text"].strip() == HTML_TITLE
    assert facts["img_x_count"] == 0, "the HTML-looking title was rendered as an element"
    assert facts["alerts"] == [], "a script from API data ran in the page"
    assert facts["tables"] >= 2


def test_browser_quickstart_local_sign_in_with_a_real_click_E6(browser, tmp_path) -> None:
    """Local JupyterLab: click, approve in the new tab, signed in, tables escaped (A8, E6)."""
    with JupyterLab(tmp_path, log_path=tmp_path / "lab.log") as lab:
        facts = quickstart_story(browser, lab, "local", tmp_path, only_jupyter=False)
    check_story(facts)
    # Locally the link leads straight to the sandbox's authorize page on its own port.
    assert re.match(r"http://127\.0\.0\.1:\d+/authorize\?", facts["link_href"])
    assert "/callback?" in facts["after_approve_url"]


def test_browser_binder_base_url_and_proxy_only_A9(browser, tmp_path) -> None:
    """Binder-like: base URL /user/ada/, jupyter-server-proxy, only the Jupyter port reachable.

    The whole sign-in goes through the Jupyter server: the widget's link is
    ``/user/ada/proxy/PORT/start``, the consent page is served at
    ``/user/ada/proxy/SBPORT/...``, and the redirect comes back through the proxy (A9).
    """
    prefix = "/user/ada/"
    env = {"JUPYTERHUB_SERVICE_PREFIX": prefix}
    with JupyterLab(tmp_path, base_url=prefix, env=env, log_path=tmp_path / "lab.log") as lab:
        facts = quickstart_story(browser, lab, "binder", tmp_path, only_jupyter=True)
        origin = lab.origin
    check_story(facts)
    assert re.fullmatch(r"/user/ada/proxy/\d+/start\?n=[^&]+", facts["link_href"])
    assert facts["consent_url"].startswith(f"{origin}{prefix}proxy/")
    assert facts["after_approve_url"].startswith(f"{origin}{prefix}proxy/")
    # Nothing on the sign-in path was blocked, and the gate did block a direct request.
    assert not [u for u in facts["aborted_during_story"] if "127.0.0.1" in u]
    assert facts["direct_probe"] == "blocked"
    assert any(u.startswith("http://127.0.0.1:") for u in facts["aborted"])
