"""Helpers for the real-browser tests: a throw-away JupyterLab server and step screenshots.

Kept out of the test modules so the harness (start a Jupyter server on a free port with its own
config, wait for it, stop it; write a notebook, or copy one without its outputs) can be read and
fixed in one place; ``frontends`` adds Notebook 7, Voila and JupyterHub on the same parts, and
``frontend_pages`` holds what is done on a page.
Nothing here touches $HOME: every Jupyter directory is a temporary one, and the announcements
pop-up (which would cover the notebook) is disabled through a ``labconfig/page_config.json`` in
that temporary config dir. The ``browser`` fixture (headless Chromium) is in conftest.py.
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
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nbformat
import pytest
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
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # CI containers: Jupyter refuses root
_S = TypeVar("_S", bound="ServerProcess")


def require_chromium() -> Any:
    """Skip the calling test module unless Debian's Chromium and Playwright are here; returns
    ``playwright.sync_api``. Call at module level."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is missing: scripts/bootstrap.sh test installs Debian's chromium "
            "(needs root); browser tests skipped",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def write_notebook(path: Path, cells: list[str]) -> str:
    """A notebook of these code cells, for the python3 kernel; returns its file name."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path.name


def copy_without_outputs(notebook: Path, root: Path) -> dict[str, Any]:
    """Copy ``notebook`` into ``root`` without its saved outputs and widget state, so that
    everything on the page is live output of this run; returns the copy as JSON."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    (root / notebook.name).write_text(json.dumps(nb))
    return dict(nb)


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


def disable_announcements(config_dir: Path) -> None:
    """JupyterLab's news pop-up covers the notebook: turn it off in this config dir."""
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {ANNOUNCEMENTS: True}})
    )


def wait_serving(server: Any, serving: Any, *, what: str, timeout: float) -> None:
    """Wait until ``serving()``; a process that exits first fails at once with its log's
    tail. On any failure the server is stopped before the error goes on."""

    def ready() -> bool:
        if server.proc is not None and server.proc.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{server.log_tail()}")
        return bool(serving())

    try:
        wait_until(ready, timeout=timeout, what=f"{what} to serve", interval=0.2)
    except BaseException:
        server.stop()
        raise


def end_process(proc: subprocess.Popen[bytes] | None, *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def log_tail(path: Path, secret: str, mask: str, n: int = 60) -> str:
    """The last ``n`` lines of a server's log, with ``secret`` (its token or password)
    replaced by ``mask``: never shown in a test report."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return re.sub(re.escape(secret), mask, "\n".join(lines[-n:]))


class ServerProcess:
    """A Jupyter-family server on 127.0.0.1 for one test, run as ``python -m MODULE`` with
    temporary Jupyter directories; subclasses give the command line (``argv``) and, if not
    ``/api/status``, the sign that it serves (``serving``).

    ``base_url`` plays a hub's path prefix (``/user/ada/``); ``env`` adds variables to the
    server's (and so the kernel's) environment, e.g. ``JUPYTERHUB_SERVICE_PREFIX``.
    """

    module = ""

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
        self.log_path = log_path or self._tmp / f"{self.module}.log"

    # ------------------------------------------------------------------ addresses
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The server's root URL, base URL included, with a trailing slash."""
        return f"{self.origin}{self.base_url}"

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
        disable_announcements(dirs["JUPYTER_CONFIG_DIR"])
        # Workspaces live in the temporary data dir too: no layout restored from elsewhere.
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(self._tmp / "workspaces")
        env.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
        env["no_proxy"] = env["NO_PROXY"]
        # Our own settings must come from the test, never from the developer's shell.
        for name in [n for n in env if n.startswith("GITBOOK_")]:
            del env[name]
        env.update(self.extra_env)
        return env

    def argv(self) -> list[str]:
        raise NotImplementedError

    def server_args(self) -> list[str]:
        """A Jupyter server's options: 127.0.0.1, this port only, base URL, root, token."""
        args = [
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
        ]
        return [*args, "--allow-root"] if IS_ROOT else args

    def serving(self) -> bool:
        try:
            r = requests.get(
                f"{self.url}api/status", timeout=2, headers={"Authorization": f"token {self.token}"}
            )
        except requests.RequestException:
            return False
        return r.status_code == 200

    def start(self: _S, *, timeout: float = 60.0) -> _S:
        self.port = free_port()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [self.python, "-m", self.module, *self.argv()],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self._environment(),
            cwd=self.root_dir,
        )
        wait_serving(self, self.serving, what=self.module, timeout=timeout)
        return self

    def log_tail(self, n: int = 60) -> str:
        return log_tail(self.log_path, self.token, "<token>", n)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        end_process(proc, timeout=15)
        with contextlib.suppress(Exception):
            self._log.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class JupyterLab(ServerProcess):
    """``python -m jupyterlab``: notebooks at ``lab/tree/NAME``."""

    module = "jupyterlab"

    def argv(self) -> list[str]:
        return [
            *self.server_args(),
            "--ServerApp.open_browser=False",
            # No "Build recommended" or update checks against the network.
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    def lab_url(self, notebook: str) -> str:
        """Open ``notebook`` (relative to root_dir) in JupyterLab, logging in with the token."""
        return f"{self.url}lab/tree/{notebook}?token={self.token}"


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
