"""Shared pieces of the benchmarks: interleaved timing, medians, the machine, a sandbox process.

Why interleaved rounds: on a shared 2-core machine the speed drifts (CPU boost, neighbours,
the page cache). Timing case A for a minute and then case B for a minute lets the drift land
on one side. Here every round runs every case once, in a rotated order, and each case's figure
is the median over rounds, so a slow moment costs every case about equally and one outlier
round changes nothing.

Each benchmark script prints a human-readable report and, last, one ``RESULT {json}`` line
that ``run_all.py`` collects into the results table.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(1, str(ROOT))


# ----------------------------------------------------------------------------- timing
def interleaved(
    cases: Mapping[str, Callable[[], Any]],
    *,
    rounds: int,
    warmup: int = 1,
    collect: bool = True,
) -> dict[str, list[float]]:
    """Run every case once per round, rotating the order; return each case's round times (s).

    ``warmup`` rounds run first and are discarded (connection set-up, first imports, caches).
    ``collect`` runs ``gc.collect()`` before each timed call so one case's garbage is not
    charged to the next; the collector stays enabled inside the timed call (that is real life).
    """
    names = list(cases)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if collect:
                gc.collect()
            fn = cases[name]
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if r >= warmup:
                times[name].append(dt)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    """Inter-quartile range relative to the median, as a hint of how noisy a figure is."""
    if len(xs) < 4:
        return "n/a"
    q = statistics.quantiles(xs, n=4)
    return f"±{(q[2] - q[0]) / 2 / statistics.median(xs) * 100:.0f}%"


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def print_table(
    title: str,
    times: dict[str, list[float]],
    *,
    per: int = 1,
    base: str | None = None,
    unit: str = "call",
) -> dict[str, float]:
    """Print median per-``unit`` times and ratios to ``base``; return the medians per unit."""
    med = {n: median(t) / per for n, t in times.items()}
    print(f"\n{title}")
    width = max(len(n) for n in med)
    for n, m in med.items():
        r = f"  {m / med[base]:.2f}x {base}" if base else ""
        print(f"  {n:<{width}}  {fmt_time(m):>10} per {unit}  {spread(times[n]):>5}{r}")
    return med


# ----------------------------------------------------------------------------- machine
def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "arch": platform.machine(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ----------------------------------------------------------------------------- results
@dataclass
class Figure:
    """One row of the results table."""

    name: str
    goal: str
    measured: str
    ok: bool | None  # None: context only, no goal
    detail: str = ""


@dataclass
class Report:
    bench: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, goal: str, measured: str, ok: bool | None, detail: str = "") -> None:
        self.figures.append(Figure(name, goal, measured, ok, detail))

    def emit(self) -> None:
        print()
        for f in self.figures:
            mark = {True: "met", False: "MISSED", None: "context"}[f.ok]
            print(f"  [{mark}] {f.name}: {f.measured} (goal {f.goal}) {f.detail}")
        payload = {
            "bench": self.bench,
            "figures": [f.__dict__ for f in self.figures],
            "notes": self.notes,
        }
        print("RESULT " + json.dumps(payload), flush=True)


# ----------------------------------------------------------------------------- sandbox
class SandboxProcess:
    """The sandbox in its own process (``bench/_sandbox_proc.py``), so the server's work does
    not share the benchmark's GIL or its tracemalloc accounting.

    It prints one JSON line with ``url``, ``token`` (the seeded personal access token: random
    per start, lives only in this pipe) and ``ids``, then serves until its stdin closes.
    """

    def __init__(
        self, *, books: int | None = None, spaces: int | None = None, script: str = ""
    ) -> None:
        self.args = [sys.executable, str(BENCH / (script or "_sandbox_proc.py"))]
        if books is not None:
            self.args += ["--books", str(books)]
        if spaces is not None:
            self.args += ["--spaces", str(spaces)]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.token = ""
        self.ids: dict[str, Any] = {}

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(  # noqa: S603 - our own fixed argv
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the server is listening
        if not line:
            self.proc.wait()
            raise RuntimeError(f"sandbox process exited with {self.proc.returncode}")
        info = json.loads(line)
        self.url, self.token, self.ids = info["url"], info["token"], info.get("ids", {})
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the child's signal to stop
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SandboxInProcess:
    """The same interface with the sandbox in this process (its server thread shares our GIL)."""

    def __init__(self, *, books: int | None = None, spaces: int | None = None) -> None:
        from gitbook_nb.sandbox import Sandbox

        self.sb = Sandbox(books=books, spaces=spaces, rate_limit=10**9)
        self.url = ""
        self.token = ""
        self.ids: dict[str, Any] = {}

    def __enter__(self) -> SandboxInProcess:
        self.sb.__enter__()
        self.url = self.sb.url
        self.token = reveal(self.sb.personal_token)
        self.ids = dict(self.sb.ids)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sb.__exit__(*exc)


def reveal(value: Any) -> str:
    """The plain text of a token that may be a masked ``Secret``."""
    r = getattr(value, "reveal", None)
    return str(r()) if callable(r) else str(value)


def sandbox(in_process: bool, **kw: Any) -> SandboxProcess | SandboxInProcess:
    return SandboxInProcess(**kw) if in_process else SandboxProcess(**kw)


def stdlib_server() -> SandboxProcess:
    """A plain stdlib HTTP/1.1 keep-alive server answering /v1/user, in its own process."""
    return SandboxProcess(script="_stdlib_server.py")


def point_library_at(url: str, token: str) -> None:
    """Configure the kernel session for a sandbox started outside it (current API + flow)."""
    import gitbook_nb
    from gitbook_nb.kernel import session

    session.reset_session()
    # rate limits and page caps are the sandbox's and the library's defaults otherwise;
    # max_pages is raised per call where a benchmark needs more pages.
    gitbook_nb.configure(api_url=url + "/v1", oauth_url=url, flow="current")
    gitbook_nb.login_with_token(token)
