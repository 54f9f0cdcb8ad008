"""Before/after of a library change: run one benchmark alternately from two source trees.

    git archive <old-commit> | tar -x -C /tmp/before
    .venv/bin/python bench/compare_trees.py /tmp/before . --runs 3 -- bench_calls.py

A library cannot be loaded twice in one process, so the comparison alternates whole runs of
the script (before, after, before, after...) and takes the median of each figure over runs.
Each tree's own ``gitbook_nb`` is imported (``_harness`` puts the tree first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def run(tree: Path, script: str, extra: list[str]) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - our own script, fixed argv
        [sys.executable, str(tree / "bench" / script), *extra],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            figures = json.loads(line[7:])["figures"]
            return {
                f["name"]: float(f["measured"].rstrip("x").replace(",", "").split()[0])
                for f in figures
                if f["measured"][:1].isdigit()
            }
    raise RuntimeError(f"{tree}: {script} gave no RESULT line\n{out.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("script", nargs="+", help="benchmark script and its arguments (after --)")
    args = ap.parse_args()
    script, extra = args.script[0], args.script[1:]
    got: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.runs):
        got["before"].append(run(args.before.resolve(), script, extra))
        got["after"].append(run(args.after.resolve(), script, extra))
    names = list(got["after"][0])
    width = max(len(n) for n in names)
    print(f"{'figure':<{width}}  before  after  (medians of {args.runs} alternating runs)")
    for n in names:
        b = statistics.median(r[n] for r in got["before"] if n in r)
        a = statistics.median(r[n] for r in got["after"] if n in r)
        print(f"{n:<{width}}  {b:6.2f}  {a:5.2f}")


if __name__ == "__main__":
    main()
