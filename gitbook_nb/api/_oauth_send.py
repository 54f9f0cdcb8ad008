"""Sending the OAuth core's requests (token, registration, revocation, discovery), C3.

Split from the client (one concept per module): these requests carry a code, a secret or a
refresh token, so none follows a redirect (a 307 would resend them elsewhere) and none is
retried; timeouts and the token body cap apply, and any status is handed back for the OAuth
core to judge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gitbook_nb.api._transport import Failure, Transport
from gitbook_nb.errors import UnsafeRequestError
from gitbook_nb.protocol.urls import validate_base_url

if TYPE_CHECKING:
    from gitbook_nb.protocol.config import Settings
    from gitbook_nb.protocol.oauth import HTTPRequestSpec

__all__ = ["send_spec"]

log = logging.getLogger("gitbook_nb.api.client")


def send_spec(
    transport: Transport,
    spec: HTTPRequestSpec,
    *,
    settings: Settings,
    user_agent: str,
    clock: Callable[[], float],
    max_body: int | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one OAuth request; transport failures raise clean."""
    method = spec.method.upper()
    validate_base_url(spec.url, what="OAuth endpoint")
    parts = urlsplit(spec.url)
    label = f"{method} {parts.netloc}{parts.path or '/'}"
    s = settings
    cap = s.token_max_body if max_body is None else max_body
    out = transport.send(
        method,
        spec.url,
        label=label,
        headers={"User-Agent": user_agent, **spec.headers},
        bearer=None,
        json=spec.json,
        data=spec.form,
        timeout=(s.connect_timeout, s.read_timeout),
        max_body=cap,
        deadline=clock() + s.deadline,
        clock=clock,
    )
    if isinstance(out, Failure):
        if out.error is None:
            raise KeyboardInterrupt from None
        raise out.error from None
    log.debug("%s -> %s (%d bytes)", label, out.status, len(out.body))
    if 300 <= out.status < 400:
        raise UnsafeRequestError(
            f"{label}: the OAuth server answered with a redirect ({out.status}); "
            "refusing to resend credentials",
            hint="check the OAuth endpoint URLs",
        )
    return out.status, dict(out.headers), out.body
