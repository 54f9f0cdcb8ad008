"""The README's demo: JupyterLab on the quick-start tutorial, signed in against the sandbox.

    scripts/demo.sh               start JupyterLab (127.0.0.1, free port) on the quick start
    scripts/demo.sh --no-browser  print the address (with its token) instead of opening a browser
    scripts/demo.sh --check       run the quick start headless with nbclient; one line, exit code

The server gets ``GITBOOK_PROFILE=sandbox`` in its environment, so the tutorial's kernel talks
to the embedded GitBook sandbox: no account, no secret. Jupyter's config and runtime files go to
a temporary folder (the user's own ~/.jupyter is neither read nor written), where a labconfig
disables the announcements pop-up that would otherwise cover the notebook on first start.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = "notebooks/01-quickstart.ipynb"
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        path = tmp / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    labconfig = tmp / "jupyter_config_dir" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {ANNOUNCEMENTS: True}})
    )
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp / "workspaces")
    env["GITBOOK_PROFILE"] = "sandbox"
    env.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
    return env


def _has_gui_browser() -> bool:
    """Open a browser only where one can show a window.

    On a headless Linux box ``webbrowser`` would fall back to a console browser (lynx, w3m)
    and take over the terminal, so there we only print the address.
    """
    if sys.platform in ("darwin", "win32"):
        return True
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        return not isinstance(webbrowser.get(), webbrowser.GenericBrowser)
    except webbrowser.Error:
        return False


def _wait_ready(url: str, token: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 built above
        f"{url}api/status", headers={"Authorization": f"token {token}"}
    )
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: JupyterLab exited (code {proc.returncode}); see above")
        try:
            with urllib.request.urlopen(req, timeout=2) as r:  # noqa: S310 - our loopback URL
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)  # polling an explicit condition (server answers), not a guess
    raise SystemExit(f"demo: JupyterLab did not answer within {timeout:.0f}s")


def serve(*, port: int | None, open_browser: bool) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gitbook_nb-demo-"))
    port = port or _free_port()
    token = secrets.token_urlsafe(24)
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={ROOT}",
        f"--IdentityProvider.token={token}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers often run as root; Jupyter refuses otherwise
    base = f"http://127.0.0.1:{port}/"
    url = f"{base}lab/tree/{QUICKSTART}?token={token}"
    proc = subprocess.Popen(args, cwd=ROOT, env=_environment(tmp))  # noqa: S603
    # `kill PID` (SIGTERM) must also stop the server, not orphan it: exit through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        _wait_ready(base, token, proc, timeout=90)
        print(
            f"\ngitbook_nb demo: JupyterLab is running the quick start against the sandbox.\n"
            f"  Open: {url}\n  Stop: Ctrl+C\n",
            flush=True,
        )
        if open_browser and _has_gui_browser():
            webbrowser.open(url, new=2)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()  # Jupyter shuts its kernels down cleanly on SIGTERM
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


def check(timeout: float = 180.0) -> int:
    """Run the quick start headless as the browser would (sandbox profile); print one line."""
    import nbclient
    import nbformat

    tmp = Path(tempfile.mkdtemp(prefix="gitbook_nb-demo-check-"))
    env = _environment(tmp)
    # The kernel inherits these: temporary Jupyter dirs (no ~/.jupyter kernelspec shadows the
    # venv's python3) and the sandbox profile.
    for name in ("IPYTHONDIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "GITBOOK_PROFILE"):
        os.environ[name] = env[name]
    nb = nbformat.read(ROOT / QUICKSTART, as_version=4)
    started = time.monotonic()
    try:
        nbclient.NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT / "notebooks")}},
            # the kernel's own start-up warnings (e.g. TCP transport on loopback) are not
            # something a person running the check can act on
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        ).execute()
    except Exception as exc:  # noqa: BLE001 - one line for a smoke check, then the exit code
        print(f"demo check: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    texts = [
        str(out.get("text", "")) + json.dumps(out.get("data", {}))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    ]
    signed_in = any("Signed in as" in t for t in texts)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    took = time.monotonic() - started
    if not signed_in:
        print(f"demo check: FAILED: {QUICKSTART} ran {cells} cells but never said 'Signed in as'")
        return 1
    print(
        f"demo check: OK: {QUICKSTART} ran {cells} cells against the sandbox in {took:.1f}s "
        f"and signed in"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check",
        action="store_true",
        help="run the quick start headless (nbclient) and print one line",
    )
    ap.add_argument("--no-browser", action="store_true", help="only print the address")
    ap.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    opts = ap.parse_args(argv)
    if opts.check:
        return check()
    return serve(port=opts.port, open_browser=not opts.no_browser)


if __name__ == "__main__":
    sys.exit(main())
