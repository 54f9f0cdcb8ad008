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


# The layers of DESIGN.md section 6, bottom to top. A module may import its own layer and the
# layers below it, never one above; a private module (``_name``) only from its own layer. Every
# module is checked, so a new module is covered the day it is added.
LAYERS = ["errors", "protocol", "display", "api", "kernel", "features", "notebook"]
FEATURES = {"content", "insights"}  # feature packages: built on kernel + api, shown by notebook
# Pure layers and modules: no HTTP, no notebook, no sandbox.
PURE_LAYERS = {"errors", "protocol", "display"}
PURE_MODULES = {"notebook._magic_parse", "notebook._magic_interp", "notebook.audit"}
NOTEBOOK_LIBS_ALLOWED = {"notebook.widget", "notebook.magics", "notebook._magic_output",
                         "notebook._display_live"}


def _modules() -> list[Path]:
    return sorted(
        p for p in PKG.rglob("*.py") if "sandbox" not in p.relative_to(PKG).parts
    )


def _dotted(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [x for x in rel.parts if x != "__init__"]
    return ".".join(parts)


def _layer(dotted: str) -> str | None:
    top = dotted.split(".")[0] if dotted else ""
    if top in FEATURES:
        return "features"
    return top if top in LAYERS else None


def _ours(mods: set[str]) -> set[str]:
    return {m[len("gitbook_nb."):] for m in mods if m.startswith("gitbook_nb.")}


def test_layering_every_module_sits_in_a_layer():
    loose = [_dotted(p) for p in _modules() if _dotted(p) and _layer(_dotted(p)) is None]
    assert loose == [], "every module lives in a layer folder (or is errors.py)"


def test_layering_imports_point_down_only():
    for path in _modules():
        me = _dotted(path)
        if not me:
            continue  # the package root re-exports lazily from every layer
        mine = LAYERS.index(_layer(me))
        for mod in _ours(_all_imports(path)):
            if mod.split(".")[0] == "sandbox" or not mod:
                continue
            theirs = _layer(mod)
            assert theirs is not None, (me, mod)
            assert LAYERS.index(theirs) <= mine, f"{me} imports {mod} from a layer above it"
            if theirs == "features" and mine == "features":
                assert mod.split(".")[0] == me.split(".")[0], (me, mod)


def test_layering_private_modules_stay_in_their_package():
    for path in _modules():
        me = _dotted(path)
        for mod in _ours(_all_imports(path)):
            parts = mod.split(".")
            private = [i for i, x in enumerate(parts) if x.startswith("_")]
            if private and parts[0] != "sandbox":
                owner = ".".join(parts[: private[0]])
                assert me == owner or me.startswith(owner + "."), f"{me} reaches into {mod}"


def test_layering_pure_modules_import_no_http_notebook_or_sandbox():
    for path in _modules():
        me = _dotted(path)
        if not me or not (_layer(me) in PURE_LAYERS or me in PURE_MODULES):
            continue
        bad = _top(_all_imports(path), NOTEBOOK_LIBS + HTTP_LIBS)
        assert not bad, (me, bad)


def test_layering_only_the_notebook_front_knows_notebooks():
    for path in _modules():
        me = _dotted(path)
        if me in NOTEBOOK_LIBS_ALLOWED:
            continue
        mods = _imports(path)
        assert not _top(mods, NOTEBOOK_LIBS), (me, _top(mods, NOTEBOOK_LIBS))


def test_layering_core_never_imports_the_sandbox():
    starter = PKG / "kernel" / "session.py"
    for path in _modules():
        if path == starter:
            continue
        assert not any("sandbox" in m for m in _all_imports(path)), path.name
    # the one place that starts it imports it inside a function, never at module level
    assert not any("sandbox" in m for m in _imports(starter))
    assert any("sandbox" in m for m in _all_imports(starter))


def test_build_backend_packages_every_subpackage():
    import tomllib

    conf = tomllib.loads((PKG.parent / "pyproject.toml").read_text())
    include = conf["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["gitbook_nb*"]


def test_no_openapi_spec_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PKG.parent, capture_output=True, text=True
    ).stdout.split()
    assert not [f for f in tracked if Path(f).name.lower().startswith("openapi.")]
    assert json.dumps(tracked)  # the listing itself worked
