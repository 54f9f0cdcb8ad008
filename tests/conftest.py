"""Shared fixtures. Tests never touch $HOME or the internet: Jupyter/IPython dirs point at a
temporary folder, and servers (the sandbox, Jupyter) bind 127.0.0.1 on free ports."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Set before any IPython/Jupyter import can read them (conftest is imported first).
_TMP_HOME = tempfile.mkdtemp(prefix="gitbook_nb-tests-")
for _name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
    os.environ[_name] = os.path.join(_TMP_HOME, _name.lower())
    os.makedirs(os.environ[_name], exist_ok=True)
# A developer's own settings must not leak into tests.
for _name in list(os.environ):
    if _name.startswith("GITBOOK_"):
        del os.environ[_name]
# pip (the Binder environment test) caches downloads in the project, as scripts/bootstrap.sh does.
os.environ.setdefault(
    "PIP_CACHE_DIR",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "pip"),
)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
os.environ["no_proxy"] = os.environ["NO_PROXY"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    """One sandbox for the whole run (tests that change faults must clear them)."""
    from gitbook_nb.sandbox import Sandbox

    # Thousands of calls share tokens across the suite; GitBook's realistic 5,000/hour budget is
    # exercised on a sandbox of its own (test_sandbox_api_v1::test_rate_limit_headers_and_429).
    with Sandbox(rate_limit=1_000_000) as sb:
        yield sb


@pytest.fixture
def sb(sandbox):
    """The shared sandbox, with faults and the request log cleared around the test."""
    sandbox.clear_faults()
    sandbox.clear_log()
    yield sandbox
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def shell():
    """One real IPython shell with %gitbook loaded, HTML outputs captured (the magics tests).

    ``InteractiveShell.instance()`` is a singleton: never mixed with ``globalipapp`` in one
    process (PITFALLS), and its history.sqlite goes under the temporary IPYTHONDIR set above.
    """
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.display_formatter.active_types = sh.display_formatter.format_types
    sh.run_line_magic("load_ext", "gitbook_nb")
    return sh


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright, one per browser test module (never
    ``playwright install``); modules call ``browser_support.require_chromium()`` first."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
