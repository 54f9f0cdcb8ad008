"""Servers for the front-end browser tests: Notebook 7, Voila and a real JupyterHub.

Kept apart from ``browser_support`` (ServerProcess, JupyterLab, Steps, wait_until), whose parts
they reuse, so that each server a test needs reads as one class: start it on 127.0.0.1 with a
free port and temporary Jupyter directories, wait for an explicit sign that it serves, stop it.
Nothing here writes to $HOME: the hub, its proxy and the single-user server all get a
temporary HOME.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from browser_support import (
    IS_ROOT,
    ROOT,
    ServerProcess,
    disable_announcements,
    end_process,
    free_port,
    log_tail,
    wait_serving,
)

CHP = ROOT / ".cache" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"


# --------------------------------------------------------------------------- servers
class Notebook7(ServerProcess):
    """``python -m notebook`` (Notebook 7): one notebook per page at ``/notebooks/NAME``."""

    module = "notebook"

    def argv(self) -> list[str]:
        return self.server_args()

    def notebook_url(self, name: str) -> str:
        return f"{self.url}notebooks/{name}?token={self.token}"


class Voila(ServerProcess):
    """Voila serving one notebook at ``/``, with progressive rendering.

    Without it Voila 0.5 sends the page only once every cell has run (the cells are streamed
    into a hidden block and the widget manager loads after the last one), so a login widget
    whose sign-in a later cell waits for could never be seen. With it, each cell's outputs
    reach the page when that cell ends.
    """

    module = "voila"

    def __init__(self, root_dir: Path, notebook: str, **kw: Any) -> None:
        super().__init__(root_dir, **kw)
        self.notebook = notebook

    def argv(self) -> list[str]:
        return [
            self.notebook,
            "--no-browser",
            "--Voila.ip=127.0.0.1",
            f"--Voila.port={self.port}",
            "--progressive_rendering=True",
        ]

    def serving(self) -> bool:
        # Any request to "/" would run the notebook: wait for the listening socket instead.
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True


class Hub:
    """A real JupyterHub on 127.0.0.1: DummyAuthenticator, SimpleLocalProcessSpawner and
    configurable-http-proxy (npm), each on its own free port, everything in a temporary dir.

    The browser is meant to reach only :attr:`origin` (the proxy's public side); the hub's own
    port, the proxy's API, the single-user server and the kernel's ports stay behind it.
    """

    def __init__(self, *, user: str = "ada", log_path: Path | None = None) -> None:
        self.user = user
        self.password = secrets.token_urlsafe(12)
        self.tmp = Path(tempfile.mkdtemp(prefix="gitbook_nb-hub-"))
        self.home = self.tmp / "home" / user
        self.home.mkdir(parents=True)
        self.log_path = log_path or self.tmp / "jupyterhub.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _config(self, hub_port: int, api_port: int) -> str:
        user_config = self.tmp / "user-jupyter-config"
        disable_announcements(user_config)
        user_env = {
            "JUPYTER_CONFIG_DIR": str(user_config),
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
        }
        args = ["--allow-root"] if IS_ROOT else []  # the single-user server refuses root too
        settings = {
            "JupyterHub.bind_url": f"http://127.0.0.1:{self.port}",
            "JupyterHub.hub_bind_url": f"http://127.0.0.1:{hub_port}",
            "JupyterHub.db_url": f"sqlite:///{self.tmp / 'jupyterhub.sqlite'}",
            "JupyterHub.cookie_secret_file": str(self.tmp / "cookie_secret"),
            "JupyterHub.pid_file": str(self.tmp / "jupyterhub.pid"),
            "JupyterHub.authenticator_class": "dummy",
            "DummyAuthenticator.password": self.password,
            "Authenticator.allow_all": True,
            "JupyterHub.spawner_class": "simple",
            "SimpleLocalProcessSpawner.home_dir_template": str(self.tmp / "home" / "{username}"),
            "Spawner.cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
            "Spawner.args": args,
            "Spawner.default_url": "/lab",
            "Spawner.environment": user_env,
            "ConfigurableHTTPProxy.command": [str(CHP)],
            "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{api_port}",
            "ConfigurableHTTPProxy.pid_file": str(self.tmp / "proxy.pid"),
        }
        lines = ["c = get_config()  # noqa: F821"]
        lines += [f"c.{key} = {value!r}" for key, value in settings.items()]
        return "\n".join(lines) + "\n"

    def start(self, *, timeout: float = 90.0) -> Hub:
        self.port = free_port()
        config = self.tmp / "jupyterhub_config.py"
        config.write_text(self._config(free_port(), free_port()))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITBOOK_")}
        # The hub and its proxy write nothing outside the temporary dir, not even to $HOME.
        env.update(HOME=str(self.tmp), CONFIGPROXY_AUTH_TOKEN=secrets.token_hex(24))
        env.update(NO_PROXY="127.0.0.1,localhost,::1", no_proxy="127.0.0.1,localhost,::1")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.tmp,
        )

        def health() -> bool:  # through the proxy: the route to the hub is in place too
            try:
                return requests.get(f"{self.origin}/hub/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_serving(self, health, what="JupyterHub", timeout=timeout)
        return self

    def sign_in(self, page: Any, notebook: str) -> None:
        """The hub's login form, then spawn the server and open ``notebook`` in JupyterLab
        (JupyterHub 5+ no longer spawns on a visit to /user/NAME/, hence /hub/spawn)."""
        target = f"/hub/spawn?next=/user/{self.user}/lab/tree/{notebook}"
        page.goto(f"{self.origin}/hub/login?next={quote(target, safe='')}")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.password)
        page.click("#login_submit")

    def log_tail(self, n: int = 60) -> str:
        return log_tail(self.log_path, self.password, "<password>", n)

    def stop(self) -> None:
        """SIGTERM: the hub stops the single-user server and the proxy it started itself."""
        proc, self.proc = self.proc, None
        end_process(proc, timeout=30)
        # A hub that had to be killed leaves its proxy: end it by the pid it wrote, if alive.
        pid_file = self.tmp / "proxy.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ValueError, OSError):
                pass
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
