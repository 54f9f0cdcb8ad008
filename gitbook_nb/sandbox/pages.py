"""The sandbox's three HTML pages: consent, error, and the "copy this address" callback.

Every value that came from a request or from seeded data is passed through ``html.escape``
(quotes too, since some land in attributes): an app called ``<img src=x onerror=alert(1)>``
must render as text. The consent form carries only a server-side consent id, never the raw
authorize parameters, so the decision cannot be tampered with from the page. Form actions are
relative so the pages also work behind a path-prefix proxy (Binder, jupyter-server-proxy).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccd;border-radius:8px;padding:1.5rem}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:6px;cursor:pointer}
.approve{background:#346ddb;color:#fff;border:0}.deny{background:#fff;border:1px solid #888}
code,input{font-family:ui-monospace,monospace;word-break:break-all}
input{width:100%;padding:.4rem}.muted{color:#666;font-size:.9rem}
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><div class="box">{body}</div>'
        f'<p class="muted">GitBook sandbox (gitbook_nb): a local test server, not GitBook.'
        f"</p></body></html>"
    )


def consent_page(
    *,
    app_name: str,
    scopes: Sequence[str],
    redirect_uri: str,
    consent_id: str,
    action: str,
    user: str,
) -> str:
    """Approve / Deny form. ``action`` is a relative URL (see module docstring)."""
    if scopes:
        items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes)
        scope_html = f'<p>It asks for these permissions:</p><ul id="scopes">{items}</ul>'
    else:
        scope_html = '<p id="scopes">It asks for full access to your account.</p>'
    body = (
        f'<h1>Authorize <span id="app-name">{escape(app_name)}</span>?</h1>'
        f"<p>Signed in as <b>{escape(user)}</b>. The application "
        f"<b>{escape(app_name)}</b> wants to access your GitBook account.</p>{scope_html}"
        f'<p class="muted">After your decision you will be sent to '
        f"<code>{escape(redirect_uri)}</code></p>"
        f'<form method="post" action="{escape(action, quote=True)}">'
        f'<input type="hidden" name="consent_id" value="{escape(consent_id, quote=True)}">'
        f'<button class="approve" type="submit" name="decision" value="approve">Approve'
        f"</button>"
        f'<button class="deny" type="submit" name="decision" value="deny">Deny</button>'
        f"</form>"
    )
    return _page(f"Authorize {app_name}", body)


def error_page(title: str, message: str) -> str:
    body = (
        f'<h1 id="error-title">{escape(title)}</h1>'
        f'<p id="error-message">{escape(message)}</p>'
        f"<p>The request was not redirected back to the application, because the "
        f"application or its redirect address could not be verified.</p>"
    )
    return _page(title, body)


# Behind a proxy (Binder, jupyter-server-proxy) the sandbox cannot know the address the browser
# used, so the page shows the browser's own location when scripts run (the only script
# allowed by the page's CSP hash), and the server-side guess otherwise.
CALLBACK_SCRIPT = 'document.getElementById("address").value = window.location.href;'


def callback_page(address: str, params: dict[str, list[str]]) -> str:
    """Where the sandbox's own redirect URI lands: show the address to paste in the notebook."""
    error = (params.get("error") or [""])[0]
    if error:
        desc = (params.get("error_description") or [""])[0]
        lead = (
            f'<p>The sign-in ended with <code id="error">{escape(error)}</code>'
            f"{': ' + escape(desc) if desc else ''}. Paste the address anyway: the "
            f"notebook will explain.</p>"
        )
    else:
        lead = "<p>Sign-in approved. One step left.</p>"
    body = (
        f"<h1>Copy this address into your notebook</h1>{lead}"
        f"<p>Copy the whole address of this page (below, or from the address bar) and "
        f"paste it into the login box in <b>your own notebook</b>. Do not paste it "
        f"anywhere else: it contains a one-time sign-in code.</p>"
        f'<input id="address" readonly value="{escape(address, quote=True)}">'
        f'<p class="muted">You can close this tab afterwards.</p>'
        f"<script>{CALLBACK_SCRIPT}</script>"
    )
    return _page("Copy this address into your notebook", body)
