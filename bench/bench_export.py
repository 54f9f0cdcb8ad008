"""Figure 8: export of a 1,000-page space with 20 ms added to every request.

The sandbox runs in its own process (``--serve``, below) with ``Sandbox(pages=1000,
latency=0.02)``: every answer waits 20 ms, as a far server would, so what is measured is how
well the export overlaps its requests, not loopback speed.

Cases, interleaved rounds, medians:
- ``gitbook_nb.export``: the tree, then 1,000 page bodies, 4 at a time (the default);
- ``raw loop``: what a careful person writes by hand with ``requests``: the tree, then each
  page's markdown in turn (one keep-alive session, no concurrency);
- ``raw loop, N threads``: the same fetches from a ``ThreadPoolExecutor`` of the export's
  concurrency, one session per thread: the floor this machine and server allow, so the gap
  between it and ``export`` is the library's own cost.

Goals (issue 11): wall time within 1.3x of the ideal, ``requests x latency / concurrency``;
peak memory (tracemalloc, this process only, one separate untimed run) at most 2x the
exported markdown (the UTF-8 bytes of every page's text). Context: the same export written
to files (``--to DIR``, fsync per file) and its rerun, where every page is unchanged.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from _harness import ROOT, Report, interleaved, point_library_at, print_table, reveal  # noqa: E402


def serve(pages: int, latency: float) -> None:
    """The sandbox process: one JSON line once listening, then serve until stdin closes."""
    from gitbook_nb.sandbox import Sandbox

    with Sandbox(pages=pages, latency=latency, rate_limit=10**9) as sb:
        info = {"url": sb.url, "token": reveal(sb.personal_token), "space": sb.ids["bulk_space"]}
        print(json.dumps(info), flush=True)
        sys.stdin.read()


class Server:
    def __init__(self, pages: int, latency: float) -> None:
        args = ["--serve", "--pages", str(pages), "--latency", str(latency)]
        self.argv = [sys.executable, str(Path(__file__).resolve()), *args]
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, str] = {}

    def __enter__(self) -> dict[str, str]:
        self.proc = subprocess.Popen(  # noqa: S603 - this very script
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until listening
        if not line:
            raise RuntimeError("the sandbox process did not start")
        self.info = json.loads(line)
        return self.info

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def raw_export(s: requests.Session, base: str, space: str) -> list[dict[str, Any]]:
    """The hand-written loop: walk the tree, fetch each document page's markdown in turn."""
    tree = s.get(f"{base}/spaces/{space}/content", timeout=30).json()
    rows, stack = [], [(p, 0) for p in reversed(tree["pages"])]
    while stack:
        page, depth = stack.pop()
        stack.extend((c, depth + 1) for c in reversed(page.get("pages") or []))
        if page.get("type") != "document":
            continue
        url = f"{base}/spaces/{space}/content/page/{page['id']}"
        md = s.get(url, params={"format": "markdown"}, timeout=30).json()["markdown"]
        rows.append({"path": page["path"], "title": page["title"], "depth": depth, "markdown": md})
    return rows


def raw_threads(token: str, base: str, space: str, threads: int) -> list[str]:
    """The same fetches, ``threads`` at a time, one keep-alive session per thread."""
    local = threading.local()

    def session() -> requests.Session:
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "bench"})
        return s

    tree = session().get(f"{base}/spaces/{space}/content", timeout=30).json()
    ids, stack = [], list(reversed(tree["pages"]))
    while stack:
        page = stack.pop()
        stack.extend(reversed(page.get("pages") or []))
        if page.get("type") == "document":
            ids.append(page["id"])

    def one(pid: str) -> str:
        url = f"{base}/spaces/{space}/content/page/{pid}"
        return session().get(url, params={"format": "markdown"}, timeout=30).json()["markdown"]

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, ids))


def peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak traced bytes during ``fn`` (this process only), and its result."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    out = fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top - base, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.pages, args.latency)
        return

    import gitbook_nb

    with Server(args.pages, args.latency) as info:
        base, space = info["url"] + "/v1", info["space"]
        point_library_at(info["url"], info["token"])
        raw = requests.Session()
        raw.headers.update({"Authorization": f"Bearer {info['token']}", "User-Agent": "bench"})

        def lib() -> Any:
            return gitbook_nb.export(space, concurrency=args.concurrency)

        first = lib()
        expect = raw_export(raw, base, space)
        assert [r["markdown"] for r in expect] == first.texts()
        n_pages = len(first.data)
        requests_sent = first.requests
        assert requests_sent == n_pages + 1, (requests_sent, n_pages)
        text_bytes = sum(len(text.encode()) for text in first.texts())
        threads = f"raw loop, {args.concurrency} threads"
        assert raw_threads(info["token"], base, space, args.concurrency) == first.texts()
        times = interleaved(
            {
                "gitbook_nb.export": lib,
                "raw loop": lambda: raw_export(raw, base, space),
                threads: lambda: raw_threads(info["token"], base, space, args.concurrency),
            },
            rounds=args.rounds,
            warmup=0,
        )
        med = print_table(
            f"export of {n_pages} pages, {args.latency * 1e3:.0f} ms per request, "
            f"concurrency {args.concurrency} ({requests_sent} requests)",
            times,
            base="raw loop",
            unit="export",
        )
        ideal = requests_sent * args.latency / args.concurrency
        mem, _ = peak(lib)
        print(f"\n  ideal (requests x latency / concurrency): {ideal:.2f} s")
        print(f"  exported markdown: {text_bytes / 1e6:.2f} MB; export peak {mem / 1e6:.2f} MB")

        folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
        try:
            to_files = interleaved(
                {"--to DIR": lambda: gitbook_nb.export(space, to=str(folder))}, rounds=1, warmup=0
            )["--to DIR"][0]
            rerun = interleaved(
                {"rerun": lambda: gitbook_nb.export(space, to=str(folder))}, rounds=1, warmup=0
            )["rerun"][0]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    report = Report("export")
    t = med["gitbook_nb.export"]
    report.add(
        f"8a. `export` {n_pages:,} pages, {args.latency * 1e3:.0f} ms/request: wall time / ideal",
        "<= 1.3x",
        f"{t / ideal:.2f}x",
        t / ideal <= 1.3,
        f"{t:.2f} s vs ideal {ideal:.2f} s ({requests_sent} requests x "
        f"{args.latency * 1e3:.0f} ms / {args.concurrency})",
    )
    report.add(
        "8b. `export` peak memory / exported markdown",
        "<= 2x",
        f"{mem / text_bytes:.2f}x",
        mem / text_bytes <= 2,
        f"{mem / 1e6:.2f} MB peak for {text_bytes / 1e6:.2f} MB of markdown (tracemalloc)",
    )
    report.add(
        "8c. hand-written `requests` loop, page by page",
        "context",
        f"{med['raw loop']:.2f} s",
        None,
        f"{med['raw loop'] / t:.1f}x the export's time",
    )
    report.add(
        f"8d. hand-written loop, {args.concurrency} threads (this machine's floor)",
        "context",
        f"{med[threads]:.2f} s",
        None,
        f"export takes {t / med[threads]:.2f}x its time; it is {med[threads] / ideal:.2f}x ideal",
    )
    report.add(
        "8e. `export --to DIR` (fsync per file), then its rerun",
        "context",
        f"{to_files:.2f} s, rerun {rerun:.2f} s",
        None,
        "the rerun reads the tree only: every page unchanged",
    )
    report.notes.append(
        "figure 8: sandbox in its own process with 20 ms added per request; medians of "
        f"{args.rounds} interleaved rounds; memory in a separate untimed run"
    )
    report.emit()


if __name__ == "__main__":
    main()
