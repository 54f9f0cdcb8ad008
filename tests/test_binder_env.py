"""The Binder environment, built the way repo2docker builds it, runs the tutorials under nbval.

repo2docker (checked with ``repo2docker --no-build --debug``, see below) copies the repository
to ``${REPO_DIR}``, runs ``pip install --no-cache-dir -r "binder/requirements.txt"`` from the
repository root (after the copy, because the file names the local package ``.``), then
``./binder/postBuild``. This test does the same in a fresh virtual environment made from a copy
of the working tree, then runs ``pytest --nbval`` on ``notebooks/`` *inside* that environment,
so a missing dependency in ``binder/requirements.txt`` fails here and not on mybinder.org.

The test stays off the network: ``scripts/bootstrap.sh test`` (the README's test command) fetches
every wheel this environment needs into ``.cache/wheels`` beforehand, and pip runs here with
``--no-index --find-links .cache/wheels``. Without those wheels the test skips and says how to
get them. Marked ``slow``: it builds a virtual environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "test-artifacts",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "node_modules",
    ".cache",
)


def _runtime_version() -> tuple[int, int]:
    text = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert m, f"binder/runtime.txt must read python-X.Y, not {text!r}"
    return int(m.group(1)), int(m.group(2))


def _base_python() -> str:
    """An interpreter with binder/runtime.txt's version (Binder's Python), or skip."""
    want = _runtime_version()
    if sys.version_info[:2] == want:
        return sys.executable
    found = shutil.which(f"python{want[0]}.{want[1]}")
    if found is None:
        pytest.skip(
            f"binder/runtime.txt asks for Python {want[0]}.{want[1]}, which is not installed here"
        )
    return found


WHEELS = ROOT / ".cache" / "wheels"


def _env(tmp: Path, venv_dir: Path | None = None) -> dict[str, str]:
    if not (WHEELS / ".complete").exists():
        pytest.skip(
            "no offline wheels in .cache/wheels: run scripts/bootstrap.sh test (the README's "
            "test command does) so this test can build the Binder environment without a network"
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITBOOK_", "VIRTUAL_ENV", "PYTHON", "JUPYTER", "IPYTHON"))
    }
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(tmp / "home" / name.lower())
    if venv_dir is not None:
        env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv_dir)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Offline: only the wheels the bootstrap fetched (also for pip's isolated build of ".").
    env["PIP_NO_INDEX"] = "1"
    env["PIP_FIND_LINKS"] = str(WHEELS)
    env.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
    return env


def _run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        text=True,
        capture_output=True,  # noqa: S603
        timeout=timeout,
        check=False,
    )


def _freeze(py: Path, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    out = _run([str(py), "-m", "pip", "list", "--format=freeze"], cwd=cwd, env=env).stdout
    return dict(line.split("==", 1) for line in out.splitlines() if "==" in line)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as repo2docker copies it (without .git, .venv and caches)."""
    dest = tmp_path_factory.mktemp("binder") / "repo"
    shutil.copytree(ROOT, dest, ignore=_IGNORE, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def binder_venv(repo_copy: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh venv with binder/requirements.txt installed from the repo root, then postBuild."""
    tmp = repo_copy.parent
    vdir = tmp / "venv"
    base = _base_python()
    if base == sys.executable:
        venv.EnvBuilder(with_pip=True, clear=True).create(vdir)
    else:
        subprocess.run([base, "-m", "venv", str(vdir)], check=True)  # noqa: S603
    env = _env(tmp, vdir)
    py = vdir / "bin" / "python"
    r = _run(
        [str(py), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=repo_copy,
        env=env,
        timeout=900,
    )
    assert r.returncode == 0, f"pip install -r binder/requirements.txt failed:\n{r.stderr[-3000:]}"
    post = repo_copy / "binder" / "postBuild"
    if post.exists():
        assert os.access(post, os.X_OK), "repo2docker runs ./binder/postBuild: make it executable"
        r = _run(["./binder/postBuild"], cwd=repo_copy, env=env)
        assert r.returncode == 0, f"binder/postBuild failed:\n{r.stdout}\n{r.stderr}"
    yield py, env


def test_binder_env_installs_the_package_with_pandas_jupyterlab_and_server_proxy(
    binder_venv, repo_copy
) -> None:
    py, env = binder_venv
    probe = (
        "import gitbook_nb, pandas, jupyterlab, jupyter_server_proxy, ipywidgets, sys;"
        "print(gitbook_nb.__file__); print(sys.version_info[:2])"
    )
    r = _run([str(py), "-c", probe], cwd=Path("/"), env=env)
    assert r.returncode == 0, r.stderr
    where, version = r.stdout.splitlines()
    # Installed into the venv (not imported from the copy's source tree by accident).
    assert where.startswith(str(py.parent.parent)), where
    assert version == str(_runtime_version())
    r = _run([str(py), "-m", "pip", "check"], cwd=repo_copy, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_binder_postbuild_disables_the_announcements_popup(binder_venv) -> None:
    """postBuild writes the venv's (sys-prefix) labconfig, which every JupyterLab there reads."""
    py, _ = binder_venv
    page_config = py.parent.parent / "etc" / "jupyter" / "labconfig" / "page_config.json"
    assert page_config.exists(), "postBuild did not write the sys-prefix labconfig"
    disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
    assert disabled.get(ANNOUNCEMENTS) is True, disabled


def test_binder_env_runs_the_tutorials_under_nbval(binder_venv, repo_copy) -> None:
    """The README's promise: the notebooks run on Binder. nbval compares every output."""
    py, env = binder_venv
    before = _freeze(py, repo_copy, env)
    # The test runner is not part of Binder's image; it must not change what Binder installed.
    r = _run(
        [str(py), "-m", "pip", "install", "--quiet", "pytest", "nbval"], cwd=repo_copy, env=env
    )
    assert r.returncode == 0, r.stderr[-2000:]
    after = _freeze(py, repo_copy, env)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert not changed, f"installing pytest/nbval changed Binder's packages: {changed}"
    r = _run(
        [
            str(py),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            "notebooks/sanitize.cfg",
            "notebooks/",
            "-q",
        ],
        cwd=repo_copy,
        env=env,
        timeout=600,
    )
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    m = re.search(r"(\d+) passed", r.stdout)
    code_cells = sum(
        p.read_text().count('"cell_type": "code"')
        for p in (repo_copy / "notebooks").glob("*.ipynb")
    )
    assert m and int(m.group(1)) == code_cells, tail


def test_repo2docker_reads_the_binder_folder_as_intended(repo_copy, tmp_path) -> None:
    """``repo2docker --no-build --debug .`` checks the configuration (no Docker needed)."""
    tool = tmp_path / "r2d"
    venv.EnvBuilder(with_pip=True).create(tool)
    env = _env(tmp_path, tool)
    r = _run(
        [str(tool / "bin" / "python"), "-m", "pip", "install", "--quiet", "jupyter-repo2docker"],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    if r.returncode != 0:
        pytest.skip(f"jupyter-repo2docker did not install here: {r.stderr.strip()[-300:]}")
    r = _run(
        [str(tool / "bin" / "repo2docker"), "--no-build", "--debug", "."],
        cwd=repo_copy,
        env=env,
        timeout=300,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    major, minor = _runtime_version()
    assert f"python={major}.{minor}" in out, "runtime.txt was not honoured"
    install = out.find('pip install --no-cache-dir -r "binder/requirements.txt"')
    copy = out.find("src/ ${REPO_DIR}/")
    assert install > 0, "binder/requirements.txt is not installed"
    # "." is a local requirement: it must be installed after the repository is copied in.
    assert 0 < copy < install
    assert "./binder/postBuild" in out
