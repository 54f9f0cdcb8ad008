"""Profile the library's side of a benchmark, to find where a missed goal's time goes.

    .venv/bin/python bench/profile_hot.py get        # gitbook_nb.get('/user') x N
    .venv/bin/python bench/profile_hot.py magic      # %gitbook GET /user + display formatting
    .venv/bin/python bench/profile_hot.py paginate   # paginate 10,000 items
    .venv/bin/python bench/profile_hot.py raw        # the raw session, for comparison

cProfile (deterministic, so small per-call costs add up visibly; it inflates call-heavy code,
so compare against ``raw`` under the same profiler) or ``--pyinstrument`` (sampling) when
installed. The sandbox runs in its own process, so only the client's work shows.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from _harness import point_library_at, sandbox  # noqa: E402
from bench_calls import in_cell, magic_call, make_shell  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=["get", "magic", "paginate", "raw"])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--pyinstrument", action="store_true")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument(
        "--ours", action="store_true", help="only gitbook_nb's own functions, by cumulative time"
    )
    args = ap.parse_args()

    import gitbook_nb

    spaces = 10_000 if args.what == "paginate" else None
    with sandbox(False, spaces=spaces) as sb:
        point_library_at(sb.url, sb.token)
        raw = requests.Session()
        raw.headers.update({"Authorization": f"Bearer {sb.token}", "User-Agent": "bench"})
        url = sb.url + "/v1/user"
        sh = make_shell() if args.what == "magic" else None
        org = sb.ids["org"]

        def work() -> None:
            if args.what == "get":
                for _ in range(args.n):
                    gitbook_nb.get("/user")
            elif args.what == "raw":
                for _ in range(args.n):
                    raw.get(url, timeout=10).json()
            elif args.what == "magic":
                with in_cell(sh):  # as a notebook cell runs it (see bench_calls.py)
                    for _ in range(args.n):
                        magic_call(sh, "GET /user")
            else:
                for _ in range(max(1, args.n // 200)):
                    gitbook_nb.paginate(f"/orgs/{org}/spaces", limit=100, max_pages=200)

        work()  # warm
        if args.pyinstrument:
            from pyinstrument import Profiler

            p = Profiler(interval=0.0005)
            p.start()
            work()
            p.stop()
            print(p.output_text(unicode=True, color=False, show_all=False))
        else:
            prof = cProfile.Profile()
            prof.enable()
            work()
            prof.disable()
            if args.ours:
                pstats.Stats(prof).sort_stats("cumulative").print_stats("gitbook_nb", args.top)
            else:
                pstats.Stats(prof).strip_dirs().sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
