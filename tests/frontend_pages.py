"""Page steps and pictures for the browser tests (servers: ``browser_support``, ``frontends``).

What a person does on the page (open a notebook once its kernel is connected, run a cell, Run
All, open the consent tab), what the test watches there (alerts, requests a gate let through),
and how a picture of the login widget is checked: big enough, not blank, and the widget's text
at that moment carries its state's markers. Waits are on page conditions only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from browser_support import host_port_of

MS = 1000  # Playwright timeouts are in milliseconds


def new_page(
    browser: Any, alerts: list[str], *, width: int = 1400, height: int = 1000
) -> tuple[Any, Any]:
    """A fresh browser context and its page; every JavaScript dialog (an ``alert`` that data
    shown as HTML would raise, E6) is recorded in ``alerts`` and dismissed."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    return context, page


def open_in_lab(page: Any, url: str, *, timeout: float = 60.0) -> None:
    """Open a notebook in JupyterLab and wait for its kernel to be idle and its first cell."""
    page.goto(url)
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=timeout * MS)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()


@contextlib.contextmanager
def kernel_connects(page: Any, *, timeout: float = 90.0) -> Iterator[None]:
    """Around the navigation that opens a notebook (JupyterLab or Notebook 7): wait until the
    page has opened its kernel's websocket and the toolbar's indicator says idle.

    The indicator alone is not enough: it can read "idle" before the page has a kernel, and a
    Run All then skips every cell (seen 1 run in 12; the websocket started 0.4 s later).
    Once the websocket exists, execute requests are queued until it is connected.
    """
    with page.expect_websocket(lambda ws: "/api/kernels/" in ws.url, timeout=timeout * MS):
        yield
    page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]").first.wait_for(
        timeout=timeout * MS
    )
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()


_RAN = re.compile(r"\[(\*|\d+)\]")


def run_cell(page: Any, index: int) -> None:
    """Select cell ``index`` by its prompt, Shift+Enter, and wait until the prompt shows it
    queued or run (``[*]`` / ``[n]``): pressing keys faster than the notebook takes them
    can leave a cell unrun."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")
    cell.locator(".jp-InputPrompt", has_text=_RAN).wait_for(timeout=30 * MS)


def run_all(page: Any) -> None:
    """Run > Run All Cells from the menu bar (Notebook 7 and JupyterLab)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


def login_box(page: Any, text: str | re.Pattern[str]) -> Any:
    """The login widget (its VBox) once it shows ``text``."""
    return page.locator(".widget-vbox").filter(has_text=text).last


def consent_tab(context: Any, link: Any) -> Any:
    """Click the sign-in link; return the sandbox's consent page that opens in a new tab."""
    with context.expect_page(timeout=30 * MS) as new_tab:
        link.click()
    consent = new_tab.value
    consent.get_by_role("button", name="Approve").wait_for(timeout=30 * MS)
    return consent


_TEXT_FITS = """e => {
    const text = document.createRange();
    text.selectNodeContents(e);
    const cs = getComputedStyle(e);
    const edges = ["paddingLeft", "paddingRight", "borderLeftWidth", "borderRightWidth"];
    const box = e.getBoundingClientRect().width;
    const room = edges.reduce((w, k) => w - parseFloat(cs[k]), box);
    return text.getBoundingClientRect().width <= room + 0.5;
}"""


def link_fits(link: Any) -> bool:
    """The sign-in button's label is drawn whole, not cut to "Sign in with GitBo..." (the
    ipywidgets button class gives it a fixed width; text-overflow draws the ellipsis)."""
    return bool(link.evaluate(_TEXT_FITS))


# --------------------------------------------------------------------------- state pictures
# What each state of the login widget must show, and what it must no longer show.
Marker = str | re.Pattern[str]
STOP = re.compile(r"Cancel|interrupt the kernel")
STATES: dict[str, tuple[tuple[Marker, ...], tuple[Marker, ...]]] = {
    "ready": (("Sign in with GitBook",), ("Waiting for GitBook", "Signed in as", "Start again")),
    "waiting": (
        # how to stop: Cancel, or, while a cell blocks in --wait (no click can reach the
        # kernel then), the advice to interrupt the kernel
        ("Waiting for GitBook", re.compile(r"\d+:\d\d left"), STOP),
        ("Signed in as", "Start again"),
    ),
    "signed-in": (
        ("Signed in as Ada Lovelace", "Sign out"),
        ("Waiting for GitBook", "Sign in with GitBook", "Paste the address", "Cancel"),
    ),
    "failed": (("Start again",), ("Waiting for GitBook", "Signed in as", "Cancel")),
}
MIN_SIZE = (300, 30)  # a widget row at least; a blank or collapsed output is smaller
MIN_STDDEV = 8.0  # grey-level spread; a blank picture has 0, a text widget 20 to 60
MIN_COLOURS = 16  # anti-aliased text alone gives dozens


def picture_facts(path: Path) -> dict[str, Any]:
    from PIL import Image, ImageStat

    with Image.open(path) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16)
        return {
            "size": rgb.size,
            "stddev": ImageStat.Stat(rgb.convert("L")).stddev[0],
            "colours": len(colours) if colours is not None else 1 << 16,
        }


def check_picture(path: Path, what: str) -> dict[str, Any]:
    facts = picture_facts(path)
    (w, h), (min_w, min_h) = facts["size"], MIN_SIZE
    assert w >= min_w and h >= min_h, f"{what}: {path.name} is only {w}x{h}"
    assert facts["stddev"] >= MIN_STDDEV, f"{what}: {path.name} is blank ({facts})"
    assert facts["colours"] >= MIN_COLOURS, f"{what}: {path.name} is nearly blank ({facts})"
    return facts


def _shows(text: str, marker: Marker) -> bool:
    return marker in text if isinstance(marker, str) else marker.search(text) is not None


def capture_state(
    steps: Any, state: str, box: Any, *, also: tuple[Marker, ...] = ()
) -> dict[str, Any]:
    """Picture the login widget in ``state`` (``state-NAME.png`` in the step folder) and
    check it: big enough, not blank, and the widget's text at that moment has the state's
    markers (plus ``also``) and none of the other states' markers."""
    must, must_not = STATES[state]
    box.get_by_text(must[0]).first.wait_for(timeout=30 * MS)
    box.scroll_into_view_if_needed()
    path = steps.dir / f"state-{state}.png"
    box.screenshot(path=str(path))
    text = box.inner_text()
    for marker in (*must, *also):
        assert _shows(text, marker), f"{state}: {marker!r} missing from {text!r}"
    for marker in must_not:
        assert not _shows(text, marker), f"{state}: {marker!r} still shown in {text!r}"
    return {"path": path, "text": text, **check_picture(path, state)}


def answer_consent(steps: Any, consent: Any, button: str = "Approve") -> str:
    """Click ``button`` (Approve or Deny) on the consent page as a step of its own; returns
    the address the consent tab ends on (where the redirect went)."""
    with steps(button.lower(), consent):
        consent.get_by_role("button", name=button).click()
        consent.wait_for_load_state()
    return str(consent.url)


def gate_to(context: Any, allowed: str, aborted: list[str]) -> None:
    """Let the browser reach only ``allowed`` (host:port); every other request is aborted
    and recorded, as on Binder or a hub where only the public address is reachable."""

    def gate(route: Any) -> None:
        if host_port_of(route.request.url) == allowed:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    context.route("**/*", gate)


def direct_probe(page: Any, consent_url: str | None) -> str:
    """Prove a gate is real: from the page, fetch the sandbox's own port (the one the consent
    page was proxied to, in ``consent_url``) directly; ``"blocked"`` or ``"reached"``."""
    m = re.search(r"/proxy/(\d+)/", consent_url or "")
    assert m, consent_url
    return str(
        page.evaluate(
            "url => fetch(url, {mode: 'no-cors'}).then(() => 'reached', () => 'blocked')",
            f"http://127.0.0.1:{m.group(1)}/",
        )
    )


def save_docs_picture(page: Any, parts: list[Any], path: Path, env: Mapping[str, str]) -> None:
    """With UPDATE_DOCS=1, save the area around ``parts`` (locators) as the README's
    picture: a 64-colour palette PNG keeps it well under 200 KB. Emoji need Debian's
    fonts-noto-color-emoji (headless Chromium draws boxes without it)."""
    if env.get("UPDATE_DOCS") != "1":
        return
    from PIL import Image

    # For people, not for checks: no cell toolbar or selection bar in the picture.
    page.mouse.move(0, 0)
    page.add_style_tag(content=".jp-cell-toolbar, .jp-Collapser { visibility: hidden; }")
    boxes = [part.bounding_box() for part in parts]
    left, top = min(b["x"] for b in boxes) - 8, min(b["y"] for b in boxes) - 2
    right = max(b["x"] + b["width"] for b in boxes) + 8
    bottom = max(b["y"] + b["height"] for b in boxes) + 8
    clip = {"x": max(left, 0), "y": max(top, 0), "width": right - left, "height": bottom - top}
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), clip=clip)
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
