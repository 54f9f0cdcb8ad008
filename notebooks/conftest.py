"""pytest --nbval runs these notebooks. Their kernels inherit this process's environment, so
Jupyter/IPython dirs point at a temporary folder (never $HOME) and a developer's GITBOOK_*
settings are dropped: the tutorials choose the sandbox themselves. tests/conftest.py does the
same when the whole suite runs; this file covers ``pytest notebooks/`` on its own (and Binder,
where only notebooks/ is tested)."""

from __future__ import annotations

import os
import tempfile

if "gitbook_nb-tests-" not in os.environ.get("IPYTHONDIR", ""):
    _tmp = tempfile.mkdtemp(prefix="gitbook_nb-tests-")
    for _name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        os.environ[_name] = os.path.join(_tmp, _name.lower())
        os.makedirs(os.environ[_name], exist_ok=True)
for _name in [n for n in os.environ if n.startswith("GITBOOK_")]:
    del os.environ[_name]
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost,::1")
