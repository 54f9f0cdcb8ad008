"""The tutorial notebooks: committed with outputs, and clean after a run with widget state saved.

``pytest --nbval`` (wired in pyproject.toml) re-runs ``notebooks/*.ipynb`` and compares every
output with the committed one. This module checks what nbval cannot:

- the notebooks are committed *with* outputs (nbval silently compares nothing otherwise);
- executed the way nbconvert/nbclient save them (``store_widget_state=True``), the saved files
  hold no secret: ``gitbook_nb.notebook.audit`` finds nothing, with the kernel's own live
  token and the sandbox's client secret and personal token given to it, and no ``gb_api_`` or
  ``client_secret=`` value appears anywhere (SECURITY.md E4).

``python tests/test_notebooks.py --refresh`` re-executes the notebooks in place (outputs and
widget state), for a maintainer who changed one.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]-*.ipynb"))
EXPECTED = [
    "01-quickstart.ipynb",
    "02-web-flow-step-by-step.ipynb",
    "03-todays-gitbook.ipynb",
    "04-sharing-safely.ipynb",
    "05-docs-as-data.ipynb",
    "06-site-analytics.ipynb",
]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Appended to each executed copy, run, then removed before saving: it hands the kernel's live
# secrets to this test through a side file (never through the notebook), so the saved file
# can be searched for the exact values.
_SPY = """
import json as _json
from gitbook_nb.kernel.session import get_session as _gs
_k = _gs()
_sb = _k._sandbox
_tok = _k.token
_vals = {{"personal_token": _sb.personal_token if _sb else None,
          "client_secret": _sb.client_secret if _sb else None,
          "access_token": _tok.access_token.reveal() if _tok else None,
          "refresh_token": _tok.refresh_token.reveal() if _tok and _tok.refresh_token else None}}
with open({path!r}, "w") as _f:
    _json.dump(_vals, _f)
"""


def execute(path: Path, *, timeout: int = 180, spy: Path | None = None) -> dict:
    """Run ``path`` top to bottom in its own folder as nbclient saves it; write it back."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if spy is not None:
        nb.cells.append(nbformat.v4.new_code_cell(_SPY.format(path=str(spy))))
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    if spy is not None:
        nb.cells.pop()
    nbformat.write(nb, path)
    return nb


def test_tutorials_exist_with_python3_kernelspec() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_so_nbval_compares_them(path: Path) -> None:
    """PITFALLS: nbval compares nothing for cells saved without outputs."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    with_outputs = [c for c in code if c.get("outputs")]
    assert code and all(c.get("execution_count") for c in code), "not executed top to bottom"
    # A few cells (imports, %load_ext) print nothing; most must show their answer.
    assert len(with_outputs) >= 0.6 * len(code), f"{len(with_outputs)}/{len(code)} with outputs"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "outputs must come from one clean run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tutorial_says_how_to_switch_to_real_gitbook_and_when_a_cell_stands_in(path: Path) -> None:
    text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert "real GitBook" in text or "real GitBook app" in text
    if "approve" in text.lower() and ("complete_with_sandbox" in text or "sb.approve" in text):
        assert "stands in for" in text, "a cell that approves must say it stands in for the click"


def test_E5_committed_notebooks_hold_no_token_or_secret() -> None:
    from gitbook_nb.notebook.audit import audit_notebook

    for path in NOTEBOOKS:
        assert audit_notebook(path) == [], path.name
        raw = path.read_text()
        assert not re.search(r"gb_api_[A-Za-z0-9_\-]{8,}", raw), path.name


def test_sanitize_file_patterns_compile_and_leave_content_alone() -> None:
    """Sanitizers must only hide what changes between runs, not the answers themselves."""
    from nbval.plugin import get_sanitize_patterns  # parse exactly as nbval does

    text = (NB_DIR / "sanitize.cfg").read_text()
    patterns = [(re.compile(rx), rep) for rx, rep in get_sanitize_patterns(text)]
    sections = re.findall(r"^\[[^\]]+\]$", text, flags=re.MULTILINE)
    # nbval needs "regex:" directly followed by "replace:"; anything else drops a rule silently.
    assert patterns and len(patterns) == len(sections)

    def clean(text: str) -> str:
        for rx, rep in patterns:
            text = rx.sub(rep, text)
        return text

    assert clean("http://127.0.0.1:41575/v1/user") == "http://127.0.0.1:PORT/v1/user"
    assert clean("GET /orgs · 200 · 1 page · 2 ms · rate limit 4998/5000") == (
        "GET /orgs · 200 · 1 page · ELAPSED · rate limit N/M"
    )
    assert clean("x:   0%|          | 0/57 [00:00<?, ? items/s]") == "x:   PROGRESS"
    kept = "Qk4EqMBd5HjtBx6K4gZL  Analytical Engines Ltd  <img src=x onerror=alert(1)>"
    assert clean(kept) == kept


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, dict]]:
    """Copies of the tutorials, executed with widget state stored, plus the kernels' secrets."""
    work = tmp_path_factory.mktemp("executed")
    out = []
    for path in NOTEBOOKS:
        copy = work / path.name
        shutil.copy(path, copy)
        spy = work / f"{path.stem}.secrets.json"
        execute(copy, spy=spy)
        secrets_seen = json.loads(spy.read_text())
        spy.unlink()
        out.append((copy, secrets_seen))
    return out


def test_E4_saved_after_run_with_widget_state_audit_finds_nothing(executed) -> None:
    """E4: executed with store_widget_state=True, the saved files hold no secret at all."""
    from gitbook_nb.notebook.audit import audit_notebook

    for path, seen in executed:
        nb = json.loads(path.read_text())
        findings = audit_notebook(
            path,
            live_token=seen["access_token"],
            client_secrets=[seen["refresh_token"], seen["client_secret"], seen["personal_token"]],
        )
        assert findings == [], f"{path.name}: {[f.as_row() for f in findings]}"
        raw = path.read_text()
        for name, value in seen.items():
            if value:
                assert value not in raw, f"{path.name} holds the kernel's {name}"
        assert "gb_api_" not in raw.replace('"gb_api_"', ""), path.name
        for m in re.finditer(r"client_secret\W{0,4}[:=]\W{0,3}([A-Za-z0-9\-._~+/]{8,})", raw):
            pytest.fail(f"{path.name}: a client_secret value is saved ({m.group(1)[:4]}...)")
        if path.name != "02-web-flow-step-by-step.ipynb":  # 02 uses no widget
            state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
            assert state, f"{path.name}: no widget state was saved, so E4 was not exercised"


def test_E4_login_widget_state_says_signed_in_and_holds_no_link(executed) -> None:
    """The saved login widget shows the outcome, not the (used) sign-in link with its state."""
    for path, _ in executed:
        if path.name == "02-web-flow-step-by-step.ipynb":
            continue
        state = json.loads(path.read_text())["metadata"]["widgets"][WIDGET_STATE]["state"]
        values = [str(m["state"].get("value", "")) for m in state.values()]
        assert any(v.startswith("Signed in as Ada Lovelace") for v in values), path.name
        assert not any("state=" in v or "code_challenge" in v for v in values), path.name


def test_demo_check_runs_the_quickstart_headless_and_signs_in() -> None:
    """``scripts/demo.sh --check``: the README's one command, as a smoke check without a browser."""
    import subprocess

    r = subprocess.run(  # noqa: S603 - our own script with our interpreter
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("demo check:")]
    assert r.returncode == 0 and lines and lines[-1].startswith("demo check: OK"), (
        r.stdout[-2000:] + r.stderr[-2000:]
    )
    assert "signed in" in lines[-1]


def refresh(only: list[str] | None = None) -> None:
    """Re-execute the committed notebooks in place (outputs and widget state); ``only``: the
    notebooks whose names start with one of these (e.g. ``02``), so others' stay as they are."""
    import os
    import tempfile

    tmp = tempfile.mkdtemp(prefix="gitbook_nb-refresh-")
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        os.environ[name] = os.path.join(tmp, name.lower())  # the kernel inherits these
    for name in [n for n in os.environ if n.startswith("GITBOOK_")]:
        del os.environ[name]  # the notebooks choose the sandbox themselves
    for path in NOTEBOOKS:
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        execute(path)
        print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--refresh"]:
        sys.exit("usage: python tests/test_notebooks.py --refresh [02 05 ...]")
    refresh(sys.argv[2:])
