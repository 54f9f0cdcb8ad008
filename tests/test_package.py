"""The package's shape: public names, import cost and the layering rules of DESIGN.md §6."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import gitbook_nb

PKG = Path(gitbook_nb.__file__).parent

# DESIGN.md §2 promises these names; removing one is a breaking change.
PROMISED = {
    "configure",
    "profile",
    "login",
    "logout",
    "whoami",
    "status",
    "get",
    "post",
    "patch",
    "delete",
    "paginate",
    "Result",
    "GitBookError",
    "LoginError",
    "StateMismatchError",
    "NotLoggedInError",
    "APIError",
    "RateLimitedError",
    "load_ipython_extension",
}


def test_all_is_sorted_and_complete():
    assert gitbook_nb.__all__ == sorted(gitbook_nb.__all__)
    assert PROMISED <= set(gitbook_nb.__all__)


def test_every_exported_name_resolves():
    for name in gitbook_nb.__all__:
        assert getattr(gitbook_nb, name) is not None, name


def test_errors_form_one_tree():
    from gitbook_nb import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.GitBookError), name


def test_py_typed_is_shipped():
    assert (PKG / "py.typed").exists()


_PROBE = r"""
import builtins, json, os, socket, sys
opened, sockets = [], []
real_open, real_socket = builtins.open, socket.socket
def spy_open(file, mode="r", *a, **k):
    if any(c in mode for c in "wax+"):
        opened.append(str(file))
    return real_open(file, mode, *a, **k)
class SpySocket(real_socket):
    def __init__(self, *a, **k):
        sockets.append(a)
        super().__init__(*a, **k)
builtins.open = spy_open
socket.socket = SpySocket
import gitbook_nb
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               ("ipywidgets", "pandas", "IPython", "gitbook_nb.sandbox", "requests", "tqdm")
               or m == "gitbook_nb.sandbox")
print(json.dumps({"opened": opened, "sockets": len(sockets), "heavy": heavy}))
"""


def test_import_opens_no_socket_writes_no_file_and_stays_light():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin"},
    )
    report = json.loads(out.stdout)
    assert report == {"opened": [], "sockets": 0, "heavy": []}


def _imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions) by one file."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks do not run
            continue
        for n in nodes:
            if isinstance(n, ast.Import):
                found |= {a.name for a in n.names}
            elif isinstance(n, ast.ImportFrom):
                mod = n.module or ""
                if n.level:
                    mod = "gitbook_nb." + mod if mod else "gitbook_nb"
                    found |= {f"{mod}.{a.name}" if not n.module else mod for a in n.names}
                else:
                    found.add(mod)
    return found


def _all_imports(path: Path) -> set[str]:
    """Every import anywhere in the file, including inside functions."""
    found: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            mod = n.module or ""
            found.add(("gitbook_nb." + mod) if n.level else mod)
    return found


NOTEBOOK_LIBS = ("IPython", "ipywidgets", "ipykernel", "traitlets")
HTTP_LIBS = ("requests", "urllib3", "http.client", "socket")


def _top(mods: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in mods if any(m == p or m.startswith(p + ".") for p in prefixes)}


# Pure layers: no HTTP, no notebook, no sandbox (DESIGN.md §6). Every other module is checked
# by the rules below, so a new module is covered the day it is added.
PURE = {
    "oauth",
    "oauth_types",
    "paste",
    "discovery",
    "tokens",
    "stores",
    "keyring_store",
    "display",
    "tables",
    "errors",
    "urls",
    "magic_parse",
    "magic_interp",
}
NOTEBOOK_LAYERS = {"widget", "magics", "magic_output"}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.glob("*.py") if p.name != "__init__.py")


def test_layering_pure_modules_import_no_http_notebook_or_sandbox():
    names = {p.stem for p in _modules()}
    assert PURE - names == set(), "a pure module listed here no longer exists"
    for name in sorted(PURE):
        mods = _imports(PKG / f"{name}.py")
        bad = _top(mods, NOTEBOOK_LIBS + HTTP_LIBS)
        assert not bad, (name, bad)


def test_layering_only_widget_and_magics_know_notebooks():
    for path in _modules():
        if path.stem in NOTEBOOK_LAYERS:
            continue
        mods = _imports(path)
        assert not _top(mods, NOTEBOOK_LIBS), (path.name, _top(mods, NOTEBOOK_LIBS))


def test_layering_core_never_imports_the_sandbox():
    for path in _modules():
        if path.stem == "session":
            continue
        assert not any("sandbox" in m for m in _all_imports(path)), path.name
    # the one place that starts it imports it inside a function, never at module level
    assert not any("sandbox" in m for m in _imports(PKG / "session.py"))
    assert any("sandbox" in m for m in _all_imports(PKG / "session.py"))


def test_build_backend_packages_only_gitbook_nb():
    import tomllib

    conf = tomllib.loads((PKG.parent / "pyproject.toml").read_text())
    pkgs = conf["tool"]["setuptools"]["packages"]
    assert all(p.split(".")[0] == "gitbook_nb" for p in pkgs)
    assert "gitbook_nb.sandbox" in pkgs


def test_no_openapi_spec_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PKG.parent, capture_output=True, text=True
    ).stdout.split()
    assert not [f for f in tracked if Path(f).name.lower().startswith("openapi.")]
    assert json.dumps(tracked)  # the listing itself worked
