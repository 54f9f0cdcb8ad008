"""The consent and callback pages in a real (headless) Chromium: the form, the CSP and the
redirect work as a person would use them. Skips where Playwright or Debian's chromium is
missing (never ``playwright install``)."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def test_approve_in_a_browser_lands_on_the_callback_page(sb, browser):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    url = f"{sb.url}/oauth/authorize?" + urlencode(
        {
            "client_id": sb.client_id,
            "redirect_uri": sb.redirect_uri,
            "response_type": "code",
            "state": "s<1>",
        }
    )
    page.goto(url)
    assert page.text_content("#app-name") == "gitbook_nb demo app"
    page.click("button.approve")
    page.wait_for_url("**/callback?**")
    q = parse_qs(urlsplit(page.url).query)
    assert q["state"] == ["s<1>"] and q["code"]
    assert page.input_value("#address") == page.url
    assert problems == []
    page.close()


def test_callback_page_shows_the_browsers_own_address(sb, browser):
    """Behind a proxy the server cannot know the public address; the page's script can."""
    page = browser.new_page()
    other_host = f"http://localhost:{sb.port}/callback?code=abc&state=xyz"
    page.goto(other_host)
    assert page.input_value("#address") == other_host
    page.close()


def test_E6_html_client_name_renders_as_text(sb, browser):
    import requests

    reg = requests.post(
        sb.url + "/register",
        timeout=10,
        json={
            "client_name": "<img src=x onerror=alert(1)>",
            "redirect_uris": ["http://127.0.0.1:9/callback"],
        },
    ).json()
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(
        f"{sb.url}/authorize?"
        + urlencode(
            {
                "client_id": reg["client_id"],
                "redirect_uri": "http://127.0.0.1:9/callback",
                "response_type": "code",
                "state": "s",
                "code_challenge": "a" * 43,
                "code_challenge_method": "S256",
                "scope": "user:read",
            }
        )
    )
    assert page.text_content("#app-name") == "<img src=x onerror=alert(1)>"
    assert page.locator("img").count() == 0 and dialogs == []
    page.close()
