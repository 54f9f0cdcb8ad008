"""Helpers for the real-browser tests: a throw-away JupyterLab server and step screenshots.

Kept out of the test module so the harness (start JupyterLab on a free port with its own config,
wait for it, stop it) can be read and fixed on its own. Nothing here touches $HOME: every
Jupyter directory is a temporary one, and the announcements pop-up (which would cover the
notebook) is disabled through a ``labconfig/page_config.json`` in that temporary config dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Flags from the machine notes: without the background-networking ones Chromium keeps trying
# Google's hosts on this closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def free_port() -> int:
    """A port that was free a moment ago (the server is also told not to retry others)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Any, *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``condition()`` until it returns something truthy; fail with ``what`` on timeout.

    Polling an explicit condition, not sleeping a guessed time (house rule).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 for one test, with temporary Jupyter directories.

    ``base_url`` plays a hub's path prefix (``/user/ada/``); ``env`` adds variables to the
    server's (and so the kernel's) environment, e.g. ``JUPYTERHUB_SERVICE_PREFIX``.
    """

    def __init__(
        self,
        root_dir: Path,
        *,
        base_url: str = "/",
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        log_path: Path | None = None,
    ) -> None:
        self.root_dir = Path(root_dir)
        self.base_url = "/" + "".join(f"{p}/" for p in base_url.split("/") if p)
        self.extra_env = dict(env or {})
        self.python = python
        self.token = secrets.token_urlsafe(24)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="gitbook_nb-lab-"))
        self.log_path = log_path or self._tmp / "jupyterlab.log"

    # ------------------------------------------------------------------ addresses
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The server's root URL, base URL included, with a trailing slash."""
        return f"{self.origin}{self.base_url}"

    def lab_url(self, notebook: str) -> str:
        """Open ``notebook`` (relative to root_dir) in JupyterLab, logging in with the token."""
        return f"{self.url}lab/tree/{notebook}?token={self.token}"

    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle
    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": self._tmp / "config",
            "JUPYTER_DATA_DIR": self._tmp / "data",
            "JUPYTER_RUNTIME_DIR": self._tmp / "runtime",
            "IPYTHONDIR": self._tmp / "ipython",
        }
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
        labconfig.mkdir(exist_ok=True)
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {ANNOUNCEMENTS: True}})
        )
        # Workspaces live in the temporary data dir too: no layout restored from elsewhere.
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(self._tmp / "workspaces")
        env.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
        env["no_proxy"] = env["NO_PROXY"]
        # Our own settings must come from the test, never from the developer's shell.
        for name in [n for n in env if n.startswith("GITBOOK_")]:
            del env[name]
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 60.0) -> JupyterLab:
        self.port = free_port()
        args = [
            self.python,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            # No "Build recommended" or update checks against the network.
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # CI containers run as root; Jupyter refuses otherwise
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._environment(),
            cwd=self.root_dir,
        )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_tail()}")
            try:
                r = requests.get(
                    f"{self.url}api/status",
                    timeout=2,
                    headers={"Authorization": f"token {self.token}"},
                )
            except requests.RequestException:
                return False
            return r.status_code == 200

        try:
            wait_until(ready, timeout=timeout, what="JupyterLab's /api/status", interval=0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        # Never show the server's token in a test report.
        return re.sub(re.escape(self.token), "<token>", "\n".join(lines[-n:]))

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        with contextlib.suppress(Exception):
            self._log.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class Steps:
    """Numbered screenshots of each step under ``test-artifacts/<name>/``.

    ``with steps("open notebook"):`` takes a screenshot when the step ends, and when it fails
    saves a ``-FAILED`` screenshot before re-raising, so a red run leaves its last picture.
    """

    def __init__(self, name: str, page: Any) -> None:
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.page = page
        self.n = 0

    def shot(self, label: str, page: Any | None = None) -> Path:
        self.n += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        path = self.dir / f"{self.n:02d}-{slug}.png"
        with contextlib.suppress(Exception):  # a closed page must not hide the real error
            (page or self.page).screenshot(path=str(path), full_page=True)
        return path

    @contextlib.contextmanager
    def __call__(self, label: str, page: Any | None = None) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.shot(f"{label}-FAILED", page)
            raise
        self.shot(label, page)


def host_port_of(url: str) -> str:
    """``host:port`` of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"
