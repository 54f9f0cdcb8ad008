"""The login widget in every front end, in a real browser: Notebook 7, Voila and JupyterHub.

Each test signs in as a person would (a click on *Sign in with GitBook*, *Approve* on the
sandbox's consent page in the new tab) and then shows a table whose HTML-looking title stays
text (E6). Along the way the widget's four states (ready, waiting, signed in, failed) are
pictured under ``test-artifacts/frontends-*/state-*.png`` and checked by size, by not being
blank, and by the widget's text at that moment.

- **Notebook 7** (``python -m notebook``): *Run All* on ``%gitbook login --wait``; the table
  cell runs by itself once the sign-in is approved. With ``UPDATE_DOCS=1`` this
  test also saves the README's picture, ``docs/signed-in.png``.
- **Voila**: ``examples/voila-signin.ipynb`` runs once at page load and shows a table with no
  cell run again; a second page proves that Cancel reaches a kernel blocked in the waiting
  cell (jupyter-ui-poll).
- **JupyterHub** (DummyAuthenticator, SimpleLocalProcessSpawner, configurable-http-proxy):
  the browser may reach only the hub's public address, so the link, the consent page and the
  redirect all go through ``/user/ada/proxy/PORT/`` (A9); Deny, Start again, then Approve.

Playwright drives Debian's /usr/bin/chromium (never ``playwright install``); waits are on page
conditions only.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_support import ROOT, Steps, require_chromium, write_notebook
from frontend_pages import (
    MS,
    answer_consent,
    capture_state,
    consent_tab,
    direct_probe,
    gate_to,
    kernel_connects,
    link_fits,
    login_box,
    new_page,
    run_all,
    run_cell,
    save_docs_picture,
)
from frontends import CHP, Hub, Notebook7, Voila

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]
require_chromium()

VOILA_EXAMPLE = ROOT / "examples" / "voila-signin.ipynb"
DOCS_PICTURE = ROOT / "docs" / "signed-in.png"
HTML_TITLE = "<img src=x onerror=alert(1)>"
LINK_TEXT = "Sign in with GitBook"
TABLE = "table.gitbook-nb-table"


def front_end_page(browser: Any, facts: dict[str, Any], width: int = 1100) -> tuple[Any, Any]:
    """A page of the front ends' size whose alerts go to ``facts["alerts"]``."""
    return new_page(browser, facts.setdefault("alerts", []), width=width, height=900)


def table_facts(page: Any) -> dict[str, Any]:
    """The orgs table is on the page and its HTML-looking title is text, not an element (E6)."""
    cell = page.locator(f"{TABLE} td", has_text=HTML_TITLE).first
    cell.wait_for(timeout=60 * MS)
    cell.scroll_into_view_if_needed()
    return {
        "title_text": cell.inner_text().strip(),
        "img_x": page.locator("img[src=x]").count(),
        "tables": page.locator(TABLE).count(),
    }


def check_table(facts: dict[str, Any]) -> None:
    assert facts["title_text"] == HTML_TITLE
    assert facts["img_x"] == 0, "the HTML-looking title was rendered as an element"
    assert facts["alerts"] == [], "a script from API data ran in the page"
    assert facts["tables"] == 1


# --------------------------------------------------------------------------- Notebook 7
def test_notebook7_run_all_waits_for_the_sign_in_then_shows_a_table_E6(browser, tmp_path) -> None:
    """Run All stops at ``%gitbook login --wait`` until Approve, then runs the table cell."""
    name = write_notebook(
        tmp_path / "sign-in.ipynb",
        ["%load_ext gitbook_nb", "%gitbook login --profile sandbox --wait 120", "%gitbook orgs"],
    )
    facts: dict[str, Any] = {}
    with Notebook7(tmp_path, log_path=tmp_path / "notebook.log") as server:
        context, page = front_end_page(browser, facts)
        steps = Steps("frontends-notebook7", page)
        cells = page.locator(".jp-Notebook .jp-Cell")
        try:
            with steps("open the notebook in Notebook 7"):
                with kernel_connects(page):
                    page.goto(server.notebook_url(name))
            with steps("run all: the login cell waits, the table cell is queued"):
                run_all(page)
                waiting = capture_state(steps, "waiting", login_box(page, "Waiting for GitBook"))
                link = page.get_by_role("link", name=LINK_TEXT)
                facts["link_fits"] = link_fits(link)
                facts["queued_prompt"] = cells.nth(2).locator(".jp-InputPrompt").inner_text()
            answer_consent(steps, consent_tab(context, link))
            with steps("signed in, and the table cell ran by itself"):
                page.bring_to_front()
                signed = capture_state(steps, "signed-in", login_box(page, "Signed in as"))
                facts.update(table_facts(page))
                facts["errors"] = page.locator(
                    "[data-mime-type*=stderr], .jp-RenderedError"
                ).count()
                save_docs_picture(page, [cells.nth(1), cells.nth(2)], DOCS_PICTURE, os.environ)
        finally:
            context.close()
    check_table(facts)
    assert re.fullmatch(r"\[\*\]:?", facts["queued_prompt"].strip())
    assert facts["errors"] == 0
    assert facts["link_fits"], "the sign-in button's label is cut off"
    assert "Local mode" in waiting["text"] and "on 127.0.0.1:" in signed["text"]


# --------------------------------------------------------------------------- Voila
@pytest.fixture(scope="module")
def voila(tmp_path_factory) -> Iterator[Voila]:
    root = tmp_path_factory.mktemp("voila")
    shutil.copy(VOILA_EXAMPLE, root / VOILA_EXAMPLE.name)
    with Voila(root, VOILA_EXAMPLE.name, log_path=root / "voila.log") as server:
        yield server


def open_voila(browser: Any, voila: Voila, facts: dict[str, Any], name: str) -> tuple[Any, ...]:
    context, page = front_end_page(browser, facts)
    facts["off_machine"] = []

    def local_only(route: Any) -> None:  # Voila's page links a web font CDN: not here
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            facts["off_machine"].append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    steps = Steps(f"frontends-voila-{name}", page)
    with steps("open the page: the login cell has ended, the next one waits"):
        page.goto(voila.url)
        box = login_box(page, "Waiting for GitBook")
        box.wait_for(timeout=60 * MS)
    return context, page, steps, box


def all_cells_reported(page: Any) -> None:
    """Voila's progressive page drops a cell's placeholder when that cell has run."""
    page.locator("[cell-index]").first.wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('.voila-skeleton-container').length === 0",
        timeout=60 * MS,
    )


def test_voila_page_signs_in_and_shows_a_table_without_a_rerun_E6(browser, voila) -> None:
    """One page load: the widget is live while the next cell waits; Approve; the table."""
    facts: dict[str, Any] = {}
    context, page, steps, box = open_voila(browser, voila, facts, "approve")
    try:
        with steps("the waiting widget"):
            waiting = capture_state(steps, "waiting", box)
            link = page.get_by_role("link", name=LINK_TEXT)
            facts["link_fits"] = link_fits(link)
            facts["tables_while_waiting"] = page.locator(TABLE).count()
        answer_consent(steps, consent_tab(context, link))
        with steps("signed in, then the table, every cell run once"):
            page.bring_to_front()
            signed = capture_state(steps, "signed-in", login_box(page, "Signed in as"))
            facts.update(table_facts(page))
            all_cells_reported(page)
            facts["widgets"] = page.locator(".widget-vbox").count()
            facts["body"] = page.inner_text("body")
    finally:
        context.close()
    check_table(facts)
    assert facts["tables_while_waiting"] == 0, "the table cell ran before the sign-in"
    assert facts["widgets"] == 1
    assert "There was an error" not in facts["body"] and "Error" not in facts["body"]
    assert facts["link_fits"], "the sign-in button's label is cut off"
    assert "Waiting for GitBook" in waiting["text"] and "Ada Lovelace" in signed["text"]


def test_voila_cancel_reaches_the_kernel_while_a_cell_waits(browser, voila) -> None:
    """Cancel is a widget message, sent while the kernel is in the waiting cell: it gets in
    because that cell awaits (ipykernel 7.4+ runs widget events then; a blocking cell would
    hold it back). The waiting cell then fails, so the table cell finds no sign-in."""
    facts: dict[str, Any] = {}
    context, page, steps, box = open_voila(browser, voila, facts, "cancel")
    try:
        with steps("click Cancel while the next cell waits"):
            box.get_by_role("button", name="Cancel").click()
            failed = capture_state(
                steps, "failed", login_box(page, "Sign-in cancelled"), also=("Sign-in cancelled",)
            )
        with steps("the page ends without a table"):
            all_cells_reported(page)
            facts["tables"] = page.locator(TABLE).count()
            facts["body"] = page.inner_text("body")
    finally:
        context.close()
    assert facts["tables"] == 0
    assert "not signed in" in facts["body"]
    assert "Sign in with GitBook" not in failed["text"]


# --------------------------------------------------------------------------- JupyterHub
@pytest.mark.skipif(not CHP.exists(), reason="configurable-http-proxy: scripts/bootstrap.sh test")
def test_jupyterhub_sign_in_through_the_hub_only_A9_E6(browser, tmp_path) -> None:
    """A real hub; the browser reaches only its public address. Ready, waiting, Deny (failed),
    Start again, Approve (signed in), then a table."""
    facts: dict[str, Any] = {"aborted": []}
    with Hub(log_path=tmp_path / "hub.log") as hub:
        name = write_notebook(
            hub.home / "sign-in.ipynb",
            ["%load_ext gitbook_nb", "login = %gitbook login --profile sandbox", "%gitbook orgs"],
        )
        context, page = front_end_page(browser, facts, width=1300)
        gate_to(context, hub.host_port(), facts["aborted"])
        steps = Steps("frontends-jupyterhub", page)
        prefix = f"{hub.origin}/user/{hub.user}/"
        try:
            with steps("log in to the hub; the server spawns; the notebook opens"):
                with kernel_connects(page, timeout=120):
                    hub.sign_in(page, name)
                facts["lab_url"] = page.url
            with steps("ready: proxy mode waits for the click"):
                run_cell(page, 0)
                run_cell(page, 1)
                link = page.get_by_role("link", name=LINK_TEXT)
                ready = capture_state(steps, "ready", login_box(page, LINK_TEXT))
                facts["first_href"] = link.get_attribute("href")
                facts["link_fits"] = link_fits(link)
            consent = consent_tab(context, link)
            facts["consent_url"] = consent.url
            with steps("waiting while the consent tab is open"):
                page.bring_to_front()
                capture_state(steps, "waiting", login_box(page, "Waiting for GitBook"))
            answer_consent(steps, consent, "Deny")
            with steps("failed, with Start again"):
                page.bring_to_front()
                failed = capture_state(
                    steps, "failed", login_box(page, "Sign-in failed"), also=("Sign-in failed",)
                )
                page.get_by_role("button", name="Start again").click()
                link = page.get_by_role("link", name=LINK_TEXT)
                link.wait_for(timeout=30 * MS)
                facts["second_href"] = link.get_attribute("href")
            facts["after_approve_url"] = answer_consent(steps, consent_tab(context, link))
            with steps("signed in; the table"):
                page.bring_to_front()
                capture_state(steps, "signed-in", login_box(page, "Signed in as"))
                run_cell(page, 2)
                facts.update(table_facts(page))
            # The gate was real: the sandbox's port, reached above only through the hub,
            # cannot be reached directly from this page.
            facts["aborted_during_story"] = list(facts["aborted"])
            facts["direct_probe"] = direct_probe(page, facts["consent_url"])
        finally:
            context.close()
    check_table(facts)
    assert facts["lab_url"].startswith(prefix)
    for href in (facts["first_href"], facts["second_href"]):
        assert re.fullmatch(rf"/user/{hub.user}/proxy/\d+/start\?n=[^&]+", href)
    assert facts["first_href"] != facts["second_href"], "Start again must make a new link"
    assert facts["consent_url"].startswith(f"{prefix}proxy/")
    assert facts["after_approve_url"].startswith(f"{prefix}proxy/")
    assert "Proxy mode" in ready["text"]
    assert "Approve" not in failed["text"], "after Deny the consent page is gone"
    assert facts["link_fits"], "the sign-in button's label is cut off"
    assert not [u for u in facts["aborted_during_story"] if "127.0.0.1" in u]
    assert facts["direct_probe"] == "blocked"
    assert any(u.startswith("http://127.0.0.1:") for u in facts["aborted"])


def test_docs_picture_is_small_and_shows_the_signed_in_widget() -> None:
    """The README's picture (made by the Notebook 7 test with UPDATE_DOCS=1)."""
    from frontend_pages import check_picture

    assert DOCS_PICTURE.exists(), "run the Notebook 7 test with UPDATE_DOCS=1"
    assert DOCS_PICTURE.stat().st_size < 200_000
    facts = check_picture(DOCS_PICTURE, "README picture")
    assert facts["size"][0] >= 600 and facts["size"][1] >= 200
    readme = (ROOT / "README.md").read_text().splitlines()
    assert "docs/signed-in.png" in "\n".join(readme[:6])
