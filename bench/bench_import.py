"""Figure 2: what importing costs, in fresh processes, against ``import requests``.

Method (why it is fair): every sample is a fresh ``python`` process (no warm ``sys.modules``)
that times only the statement under test with ``time.perf_counter`` around it, so interpreter
start-up (the same for everyone, ~15 ms) does not dilute the ratio. Cases run interleaved,
``--runs`` samples each, medians compared. The byte-code cache is warm (one discarded warm-up
round), as it is after ``pip install``.

- ``import gitbook_nb`` against ``import requests``, both in a plain interpreter.
- ``import gitbook_nb`` *and everything a first call loads* (session, client, display, hence
  requests) against ``import requests``: the honest comparison, since the package's own import
  is lazy and would otherwise look free.
- ``%load_ext gitbook_nb``: in a fresh process an ``InteractiveShell`` is created first (a
  notebook kernel has IPython loaded already), then ``run_line_magic('load_ext', 'gitbook_nb')``
  is timed, against ``import requests`` timed in the same situation. This is the delta method
  inside one process, rather than subtracting two whole-process wall times (which would add
  the noise of two IPython start-ups to a difference of a few milliseconds).

Every sample also reports whether ``ipywidgets`` or ``pandas`` got imported; both must not be.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ROOT, Report, median, spread  # noqa: E402

PRELUDE = "import sys, time, json\n"
PROBE = (
    "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'pandas'))\n"
    "print(json.dumps({'s': dt, 'heavy': heavy, 'n': len(sys.modules)}))\n"
)
SHELL = (
    "from IPython.core.interactiveshell import InteractiveShell\nsh = InteractiveShell.instance()\n"
)

CASES: dict[str, str] = {
    "import requests": "t = time.perf_counter(); import requests; dt = time.perf_counter() - t\n",
    "import gitbook_nb": (
        "t = time.perf_counter(); import gitbook_nb; dt = time.perf_counter() - t\n"
    ),
    "import gitbook_nb + first-call modules": (
        "t = time.perf_counter()\n"
        "import gitbook_nb\n"
        "from gitbook_nb import get, paginate, Result\n"
        "import gitbook_nb.api.client\n"
        "dt = time.perf_counter() - t\n"
    ),
    "IPython: import requests": SHELL
    + ("t = time.perf_counter(); import requests; dt = time.perf_counter() - t\n"),
    "IPython: %load_ext gitbook_nb": SHELL
    + (
        "t = time.perf_counter(); sh.run_line_magic('load_ext', 'gitbook_nb')\n"
        "dt = time.perf_counter() - t\n"
        "assert 'gitbook' in sh.magics_manager.magics['line'], 'magic not registered'\n"
    ),
    # the extension registers the magic without importing the HTTP stack; the first
    # %gitbook call then imports it. This case counts both, for honesty.
    "IPython: %load_ext + first-call modules": SHELL
    + (
        "t = time.perf_counter(); sh.run_line_magic('load_ext', 'gitbook_nb')\n"
        "import gitbook_nb.kernel.session, gitbook_nb.api.client, gitbook_nb.display\n"
        "dt = time.perf_counter() - t\n"
    ),
}


def sample(code: str, env: dict[str, str]) -> dict:
    out = subprocess.run(  # noqa: S603 - fixed argv, our own code
        [sys.executable, "-c", PRELUDE + code + PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def importtime_top(stmt: str, env: dict[str, str], n: int = 12) -> list[str]:
    """The slowest modules (cumulative µs) under ``-X importtime``, for finding a cause."""
    out = subprocess.run(  # noqa: S603 - fixed argv, our own code
        [sys.executable, "-X", "importtime", "-c", stmt],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            self_us, cum_us, name = line[len("import time:") :].split("|", 2)
            rows.append((int(cum_us), int(self_us), name.rstrip()))
    rows.sort(reverse=True)
    return [f"{cum / 1e3:7.2f} ms cum {s / 1e3:6.2f} ms self  {name}" for cum, s, name in rows[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--importtime", action="store_true", help="print -X importtime top lists")
    args = ap.parse_args()

    env = dict(os.environ)
    env.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="bench-ipython-"))
    env["PYTHONPATH"] = str(ROOT)
    # A warm byte-code cache for everyone, as after `pip install` (which compiles requests but,
    # with PYTHONDONTWRITEBYTECODE=1 as on these machines, never our checkout's modules, which
    # would then be compiled from source in every sample). The cache goes to a temporary
    # prefix so the checkout stays clean; stdlib and requests are cached there too: same rules.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")

    names = []
    for name, code in CASES.items():  # a case that cannot run yet is reported, not fatal
        try:
            sample(code, env)
            names.append(name)
        except RuntimeError as e:
            print(f"  {name}: cannot run: {str(e).strip().splitlines()[-1]}")
    samples: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.runs + 1):  # round 0: warm-up (byte-code, page cache)
        k = r % len(names)
        for name in names[k:] + names[:k]:
            s = sample(CASES[name], env)
            if r:
                samples[name].append(s)

    med = {n: median([s["s"] for s in v]) for n, v in samples.items()}
    heavy = {n: sorted({m for s in v for m in s["heavy"]}) for n, v in samples.items()}
    print(f"\nImport, fresh processes, {args.runs} samples per case (median, IQR/2)")
    for n in names:
        xs = [s["s"] for s in samples[n]]
        print(
            f"  {n:<40} {med[n] * 1e3:7.2f} ms {spread(xs):>5}  modules {samples[n][0]['n']}"
            f"  heavy={heavy[n] or 'none'}"
        )

    report = Report("import")
    req = med["import requests"]
    ireq = med["IPython: import requests"]
    missing = [n for n in CASES if n not in med]
    for label, case, base, base_label in (
        ("2a. `import gitbook_nb`", "import gitbook_nb", req, "import requests"),
        (
            "2b. `import gitbook_nb` + first-call modules (incl. requests)",
            "import gitbook_nb + first-call modules",
            req,
            "import requests",
        ),
        (
            "2c. `%load_ext gitbook_nb` (IPython already up)",
            "IPython: %load_ext gitbook_nb",
            ireq,
            "import requests in the same shell",
        ),
        (
            "2d. `%load_ext gitbook_nb` + first-call modules (IPython already up)",
            "IPython: %load_ext + first-call modules",
            ireq,
            "import requests in the same shell",
        ),
    ):
        if case in missing:
            report.add(
                label,
                "<= 1.3x, no ipywidgets/pandas",
                "not measured",
                False,
                "the case failed to run (see the log)",
            )
            continue
        ratio = med[case] / base
        clean = not heavy[case]
        goal = "<= 1.3x, no ipywidgets/pandas"
        if "first-call" in case:
            goal += " (stricter reading)"
        report.add(
            label,
            goal,
            f"{ratio:.2f}x",
            ratio <= 1.3 and clean,
            f"{med[case] * 1e3:.1f} ms vs {base * 1e3:.1f} ms ({base_label}); "
            f"ipywidgets/pandas loaded: {', '.join(heavy[case][:3]) or 'none'}",
        )
    report.notes.append(
        f"import: {args.runs} fresh processes per case, interleaved, "
        "perf_counter around the statement only, median"
    )

    if args.importtime:
        for stmt in (
            "import gitbook_nb, gitbook_nb.kernel.session, gitbook_nb.api.client",
            "from IPython.core.interactiveshell import InteractiveShell as S; "
            "S.instance().run_line_magic('load_ext', 'gitbook_nb')",
        ):
            print(f"\n-X importtime, slowest cumulative, for: {stmt}")
            for line in importtime_top(stmt, env):
                print("  " + line)
    report.emit()


if __name__ == "__main__":
    main()
