"""``Sandbox.approve``: answer a consent page over real HTTP, the way a browser would.

It GETs the authorize URL, parses the returned HTML form (stdlib ``html.parser``), and POSTs
the chosen button, returning the ``Location`` of the redirect without following it. Going
through HTTP (instead of calling the store directly) means a non-interactive run exercises the
same page, escaping and form as a person clicking would.
"""

from __future__ import annotations

import http.client
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin, urlsplit

if TYPE_CHECKING:
    from .app import Sandbox

_REDIRECTS = (301, 302, 303, 307, 308)


class ConsentError(ValueError):
    """The authorize request was refused (unknown client, unregistered redirect URI, ...)."""


class _ConsentForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # value -> (name, value)
        self.texts: dict[str, str] = {}  # element id -> its text (error pages)
        self._current_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.buttons[a.get("value", "")] = (a["name"], a.get("value", ""))
        self._current_id = a.get("id") or self._current_id

    def handle_data(self, data: str) -> None:
        if self._current_id:
            self.texts[self._current_id] = self.texts.get(self._current_id, "") + data

    def handle_endtag(self, tag: str) -> None:
        self._current_id = None


def _send(
    sb: Sandbox,
    method: str,
    target: str,
    body: bytes | None = None,
) -> tuple[int, str | None, str]:
    conn = http.client.HTTPConnection(sb.host, sb.port, timeout=30)
    headers = {"User-Agent": "gitbook_nb-sandbox-approve/1.0", "Accept": "text/html"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return resp.status, resp.getheader("Location"), text
    finally:
        conn.close()


def drive_consent(sb: Sandbox, authorize_url: str, approve: bool = True) -> str:
    parts = urlsplit(authorize_url)
    if parts.scheme != "http" or parts.hostname != sb.host.strip("[]") or parts.port != sb.port:
        raise ConsentError(f"the authorize URL does not point at this sandbox ({sb.url})")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    status, location, html = _send(sb, "GET", target)
    if status in _REDIRECTS and location:
        return location  # the server refused with an error redirect: what a browser lands on
    page = _ConsentForm()
    page.feed(html)
    if status != 200 or page.action is None:
        title = page.texts.get("error-title", f"HTTP {status}").strip()
        message = page.texts.get("error-message", "").strip()
        raise ConsentError(f"the sandbox refused the authorize request: {title}. {message}")
    choice = page.buttons.get("approve" if approve else "deny")
    if choice is None:
        raise ConsentError("the consent page has no Approve/Deny buttons")
    fields = {**page.fields, choice[0]: choice[1]}
    post_target = urljoin(parts.path, page.action or parts.path)
    status, location, html = _send(sb, "POST", post_target, urlencode(fields).encode())
    if status not in _REDIRECTS or not location:
        page = _ConsentForm()
        page.feed(html)
        raise ConsentError(
            f"the consent decision was refused (HTTP {status}): "
            f"{page.texts.get('error-message', '').strip()}"
        )
    return location
