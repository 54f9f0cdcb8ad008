"""Figure 3: 10,000 items in pages of 100, time and peak memory, against a hand-written loop.

Cases (the sandbox's first organisation scaled to ``--items`` spaces, current API envelope
``{items, next{page}}``):
- ``raw loop``: a ``requests.Session`` following ``next.page`` by hand and extending one list.
- ``gitbook_nb.paginate``: ``paginate('/orgs/{org}/spaces', limit=100, max_pages=...)``.
- ``%gitbook --all``: ``%gitbook GET /orgs/{org}/spaces --all --limit 100 --max-pages N`` in an
  ``InteractiveShell``, with its output formatted for display as in figure 1 (progress bar
  output goes to a null stream).

Time: interleaved rounds, one full walk per case per round, medians.
Memory: ``tracemalloc`` around one walk per case, in this process (which is why the sandbox
runs in its own process here: its allocations must not be counted). "The data itself" is what
the raw loop's list of parsed items holds once the walk is over (traced bytes retained by the
list, the connection pool already warm); a case's figure is its peak traced memory during the
walk (including the Result it returns) divided by that.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from _harness import Report, interleaved, point_library_at, print_table, sandbox  # noqa: E402
from bench_calls import magic_call, make_shell  # noqa: E402


def raw_walk(s: requests.Session, url: str, limit: int) -> list[Any]:
    """What a careful person writes by hand."""
    items: list[Any] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        data = s.get(url, params=params, timeout=30).json()
        items.extend(data["items"])
        nxt = data.get("next")
        if not nxt:
            return items
        params = {"limit": limit, "page": nxt["page"]}


def traced(fn: Callable[[], Any]) -> tuple[int, int, Any]:
    """(bytes still held after ``fn`` while its result lives, peak bytes during it, result)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    out = fn()
    gc.collect()
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return cur - base, peak - base, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--no-magic", action="store_true")
    args = ap.parse_args()
    pages = -(-args.items // args.limit)
    cap = pages + 5

    import gitbook_nb

    where = "in this process" if args.in_process else "in its own process"
    with sandbox(args.in_process, spaces=args.items) as sb:
        org = sb.ids["org"]
        url = f"{sb.url}/v1/orgs/{org}/spaces"
        raw = requests.Session()
        raw.headers.update({"Authorization": f"Bearer {sb.token}", "User-Agent": "bench"})
        point_library_at(sb.url, sb.token)
        sh = None if args.no_magic else make_shell()
        sink = io.StringIO()

        def lib() -> Any:
            return gitbook_nb.paginate(f"/orgs/{org}/spaces", limit=args.limit, max_pages=cap)

        def magic() -> Any:
            with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
                r = magic_call(
                    sh, f"GET /orgs/{org}/spaces --all --limit {args.limit} --max-pages {cap}"
                )
            sink.seek(0)
            sink.truncate()
            return r

        expect = raw_walk(raw, url, args.limit)
        assert len(expect) == args.items, f"sandbox has {len(expect)} spaces, not {args.items}"
        got = lib()
        assert got.data == expect and got.pages == pages, (len(got.data), got.pages)
        cases: dict[str, Callable[[], Any]] = {
            "raw loop": lambda: raw_walk(raw, url, args.limit),
            "gitbook_nb.paginate": lib,
        }
        if sh is not None:
            r = magic()
            if r is not None:
                assert r.data == expect
            cases["%gitbook --all"] = magic
        times = interleaved(cases, rounds=args.rounds)
        med = print_table(
            f"{args.items} items, pages of {args.limit} ({pages} requests), sandbox {where}",
            times,
            base="raw loop",
            unit="walk",
        )

        print("\nPeak memory (tracemalloc, this process only)")
        data_bytes, raw_peak, kept = traced(cases["raw loop"])
        del kept
        mem: dict[str, int] = {"raw loop": raw_peak}
        print(f"  the data itself (raw loop's list, retained): {data_bytes / 1e6:.2f} MB")
        for name, fn in cases.items():
            if name != "raw loop":
                _, mem[name], kept = traced(fn)
                del kept
        for name, peak in mem.items():
            print(f"  {name:<22} peak {peak / 1e6:7.2f} MB  {peak / data_bytes:.2f}x the data")

    report = Report("paginate")
    base = med["raw loop"]
    for key, (a, b), label in (
        ("gitbook_nb.paginate", ("3a", "3b"), "`paginate` 10,000 items"),
        ("%gitbook --all", ("3c", "3d"), "`%gitbook GET ... --all` 10,000 items"),
    ):
        if key not in med:
            continue
        t = med[key] / base
        m = mem[key] / data_bytes
        report.add(
            f"{a}. {label}: time vs raw loop",
            "<= 1.1x",
            f"{t:.2f}x",
            t <= 1.1,
            f"{med[key] * 1e3:.0f} ms vs {base * 1e3:.0f} ms per walk",
        )
        report.add(
            f"{b}. {label}: peak memory / the data",
            "<= 2.0x",
            f"{m:.2f}x",
            m <= 2.0,
            f"peak {mem[key] / 1e6:.1f} MB, data {data_bytes / 1e6:.1f} MB "
            f"(raw loop's own peak {mem['raw loop'] / data_bytes:.2f}x)",
        )
    report.notes.append(
        f"paginate: sandbox {where}; {args.rounds} interleaved rounds; "
        "memory by tracemalloc in the client process"
    )
    report.emit()


if __name__ == "__main__":
    main()
