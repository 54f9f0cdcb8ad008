"""The kernel's settings and the embedded sandbox: one part of the kernel session.

``configure()`` keeps only normalised values, so a client secret lives here as a
:class:`~gitbook_nb.protocol.tokens.Secret`, never as the text it was given as (E1), and no
frame below holds that text (E2). A sandbox profile starts the embedded sandbox once per
kernel, lazily, through the session (the one place the core imports it, DESIGN.md §6).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from gitbook_nb.protocol import config
from gitbook_nb.protocol.tokens import Secret
from gitbook_nb.protocol.urls import host_key

__all__ = ["KernelSettings"]


class KernelSettings:
    """Settings resolved once per change (explicit > configure > environment > profile)."""

    def __init__(self, environ: Mapping[str, str], *, start_sandbox: Callable[[], Any]) -> None:
        self._environ = environ
        self._start_sandbox = start_sandbox  # session.py: the one place that imports it
        self._lock = threading.RLock()
        self._configured: dict[str, Any] = {}  # normalised: secrets only as Secret (E1)
        self._settings: config.Settings | None = None
        self.started: Any = None  # the sandbox this kernel started, if any
        self._sandbox_url: str | None = None  # kept after stop(): settings still point there

    def __repr__(self) -> str:
        s = self._settings
        return f"<KernelSettings profile={s.profile if s else '?'}>"

    def configure(self, **settings: Any) -> config.Settings:
        """Set session-wide settings (below explicit arguments, above the environment)."""
        settings = config.seal_secrets(settings)
        if "profile" in settings and settings["profile"] is None:
            settings.pop("profile")
        merged = {**self._configured, **config.normalize(settings)}
        resolved = self._resolve(merged, {})  # validates before anything changes
        with self._lock:
            self._configured = merged
            self._settings = resolved
        return resolved

    @property
    def resolved(self) -> config.Settings | None:
        """The settings if they were resolved already (a repr must not start a sandbox)."""
        return self._settings

    @property
    def current(self) -> config.Settings:
        if self._settings is None:
            self._settings = self._resolve(self._configured, {})
        return self._settings

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> config.Settings:
        if not overrides:
            return self.current
        return self._resolve(self._configured, config.seal_secrets(overrides))

    def _resolve(self, configured: Mapping[str, Any], overrides: dict) -> config.Settings:
        s = config.resolve(overrides=overrides, configured=dict(configured), environ=self._environ)
        if s.api_url == config.SANDBOX_MARKER:
            sb = self._ensure_sandbox()
            # The sandbox's demo client is a legacy-flow client; the current flow registers its
            # own public client (RFC 7591), as with real GitBook.
            legacy = s.flow == "legacy"
            s = config.with_sandbox(
                s,
                url=sb.url,
                client_id=sb.client_id if legacy else None,
                client_secret=Secret(sb.client_secret) if legacy else None,
                redirect_uri=sb.redirect_uri,
            )
        return s

    def _ensure_sandbox(self) -> Any:
        """Start (once per kernel) the embedded sandbox; the only place the core imports it."""
        with self._lock:
            if self.started is None:
                sb = self._start_sandbox()
                self.started, self._sandbox_url = sb, sb.url
            return self.started

    def sandbox_for(self, s: config.Settings) -> Any:
        """The running sandbox when ``s`` is a sandbox profile, else None."""
        return self.started if self.is_sandbox(s) else None

    def is_sandbox(self, s: config.Settings) -> bool:
        base = self._sandbox_url
        return base is not None and (s.api_url == base or s.api_url.startswith(base + "/"))

    def sandbox_redirect(self, s: config.Settings, redirect: str) -> None:
        if self.is_sandbox(s) and s.flow == "legacy":
            self.started.register_redirect_uri(redirect)  # stands in for the app's settings

    def target(self, s: config.Settings) -> dict[str, Any]:
        flow_word = "current OAuth" if s.flow == "current" else "legacy web flow"
        where = host_key((s.oauth_url if s.flow == "current" else s.authorize_url) or s.api_url)
        name = "the embedded sandbox" if self.is_sandbox(s) else "GitBook"
        return {
            "profile": s.profile,
            "flow": s.flow,
            "host": host_key(s.api_url),
            "description": f"{name} ({flow_word}) at {where}",
        }

    def stop_sandbox(self) -> None:
        with self._lock:
            sb, self.started = self.started, None
        if sb is not None:
            sb.stop()
