"""Rerun every benchmark and write the results table.

    .venv/bin/python bench/run_all.py            # full run (~3-5 minutes on 2 cores)
    .venv/bin/python bench/run_all.py --quick    # smaller counts, for a smoke check

Each ``bench_*.py`` runs in its own fresh process (no benchmark warms another's caches), prints
its report, and ends with a ``RESULT {json}`` line. This script gathers those lines into
``bench/RESULTS.md`` (the table, the machine, the date, every script's full log) and, on a full
run, rewrites the table between the markers in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import BENCH, ROOT, machine  # noqa: E402

FULL: list[tuple[str, list[str]]] = [
    ("bench_calls.py", []),
    ("bench_calls.py", ["--server", "stdlib"]),
    ("bench_import.py", []),
    ("bench_paginate.py", []),
    ("bench_render.py", []),
    ("bench_throughput.py", []),
    ("bench_insights.py", []),
    ("bench_export.py", []),
]
QUICK: list[tuple[str, list[str]]] = [
    ("bench_calls.py", ["--calls", "200", "--rounds", "10"]),
    ("bench_calls.py", ["--calls", "200", "--rounds", "10", "--server", "stdlib"]),
    ("bench_import.py", ["--runs", "5"]),
    ("bench_paginate.py", ["--items", "2000", "--rounds", "5"]),
    ("bench_render.py", ["--rows", "20000", "--rounds", "5"]),
    ("bench_throughput.py", ["--seconds", "1", "--rounds", "2"]),
    ("bench_insights.py", ["--rows", "20000", "--rounds", "3"]),
    ("bench_export.py", ["--pages", "300", "--rounds", "1"]),
]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def run(script: str, extra: list[str], env: dict[str, str]) -> tuple[dict | None, str]:
    print(f"\n=== {script} {' '.join(extra)}", flush=True)
    proc = subprocess.Popen(  # noqa: S603 - our own scripts, fixed argv
        [sys.executable, str(BENCH / script), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            continue
        print(line, end="", flush=True)
        lines.append(line)
    proc.wait()
    if proc.returncode != 0 or result is None:
        result = {
            "bench": script,
            "figures": [
                {
                    "name": f"{script} failed (exit {proc.returncode})",
                    "goal": "-",
                    "measured": "not measured",
                    "ok": False,
                    "detail": "see the log in RESULTS.md",
                }
            ],
            "notes": [],
        }
    return result, "".join(lines)


def table(results: list[dict], m: dict[str, str]) -> str:
    out = [
        f"Measured {m['date']} on {m['arch']}, {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, {m['os']}; 1-minute load average {m.get('load', '?')}.",
        "",
        "| figure | goal | measured | verdict | detail |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for f in r["figures"]:
            verdict = {True: "met", False: "**missed**", None: "context"}[f["ok"]]
            detail = f["detail"].replace("|", "\\|")
            out.append(f"| {f['name']} | {f['goal']} | {f['measured']} | {verdict} | {detail} |")
    notes = [n for r in results for n in r.get("notes", [])]
    if notes:
        out += ["", "Method notes: " + "; ".join(notes) + "."]
    return "\n".join(out) + "\n"


def load() -> float:
    """The 1-minute load average (other work on the machine skews every figure)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def wait_quiet(limit_s: float, threshold: float = 1.0) -> None:
    """Poll the load average until it drops below ``threshold`` or ``limit_s`` passes."""
    deadline = time.monotonic() + limit_s
    while load() >= threshold and time.monotonic() < deadline:
        print(
            f"  load average {load():.2f} >= {threshold}: waiting for a quieter machine", flush=True
        )
        time.sleep(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small counts; README left as is")
    ap.add_argument("--only", nargs="*", help="script names to run (e.g. bench_calls.py)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the 1-minute load average to drop below 1",
    )
    args = ap.parse_args()

    env = dict(os.environ)
    env["IPYTHONDIR"] = tempfile.mkdtemp(prefix="bench-ipython-")  # never the user's $HOME
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    plan = QUICK if args.quick else FULL
    if args.only:
        plan = [p for p in plan if p[0] in args.only]

    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    m = machine()
    load_before = load()
    results, logs = [], []
    for script, extra in plan:
        result, log = run(script, extra, env)
        results.append(result)
        logs.append(f"### {script} {' '.join(extra)}\n\n```\n{log.rstrip()}\n```\n")

    m["load"] = f"{load_before:.2f} at the start"
    text = table(results, m)
    # Only the load *before* says whether others were busy: during the run the benchmark's own
    # client and sandbox processes keep both cores busy, so the load after is ~2 by itself.
    if load_before >= 1.0:
        text = (
            f"**Warning: the machine was busy when this run started (load average "
            f"{load_before:.2f} on {m['cores']} cores); the ratios may be skewed. Rerun "
            "with `--wait-quiet 300`.**\n\n" + text
        )
    print("\n" + text)
    mode = "quick run (`--quick`)" if args.quick else "full run"
    (BENCH / "RESULTS.md").write_text(
        f"# Benchmark results ({mode})\n\nRerun: `.venv/bin/python bench/run_all.py`\n\n"
        + text
        + "\n## Logs\n\n"
        + "\n".join(logs),
        encoding="utf-8",
    )
    readme = BENCH / "README.md"
    if not args.quick and not args.only and readme.exists():
        body = readme.read_text(encoding="utf-8")
        if START in body and END in body:
            head, rest = body.split(START, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(head + START + "\n" + text + END + tail, encoding="utf-8")
            print(f"table written to {readme.relative_to(ROOT)} and bench/RESULTS.md")
    failed = [f for r in results for f in r["figures"] if f["ok"] is False]
    print(f"{len(failed)} goal(s) missed" if failed else "all goals met")


if __name__ == "__main__":
    main()
