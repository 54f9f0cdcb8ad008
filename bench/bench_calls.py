"""Figure 1: what one call costs, 1,000 calls of ``GET /v1/user`` on loopback.

Cases, interleaved per round (``--rounds`` rounds of ``--calls / --rounds`` calls each):
- ``raw session``: ``requests.Session().get(url).json()`` with the header set by hand: the floor
  for a requests-based stack (keep-alive, no checks).
- ``naive requests.get``: ``requests.get(url, headers=...).json()`` per call, what people write
  by hand (a new connection each time).
- ``gitbook_nb.get``: the library's Python API (settings, token, host pinning, retries, body
  cap, error mapping, a ``Result``).
- ``%gitbook magic``: ``%gitbook GET /user`` in an ``InteractiveShell``, plus the table
  rendering a notebook would do: the shell's display formatter (HTML and plain text) applied to
  the ``Result``, as the display hook does.

Every case runs the way a notebook cell runs it: inside the shell's builtin trap, which
``run_cell`` holds for a whole cell. ``run_line_magic`` called outside a cell puts IPython's
builtins (``get_ipython``, ``exit``, ``quit``) into ``builtins`` and takes them out again on
every call; each change to the builtins dict throws away CPython 3.11's specialised global
lookups, so everything inside the magic (requests, urllib3, the library) ran ~200k
instructions (~6% of a raw call) slower than in a notebook. The breakdown keeps that old way
of measuring as ``%gitbook, outside a cell``, for comparison.

The sandbox runs in its own process by default so its request handling does not take the GIL
from the client being measured (``--in-process`` puts it in this process, for comparison).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from _harness import (  # noqa: E402
    Report,
    interleaved,
    point_library_at,
    print_table,
    sandbox,
    stdlib_server,
)

# Every side sends with a timeout, as the library does (its timeouts are part of its cost too).
T = 10.0


def make_shell():  # type: ignore[no-untyped-def]
    """A bare IPython shell with the extension loaded and HTML formatting on (like a kernel).

    IPYTHONDIR goes to a temporary folder unless set, so a benchmark never writes to $HOME.
    """
    import os
    import tempfile

    os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="bench-ipython-"))
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.display_formatter.active_types = sh.display_formatter.format_types
    sh.run_line_magic("load_ext", "gitbook_nb")
    return sh


def magic_call(sh, line: str):  # type: ignore[no-untyped-def]
    """One magic call as a cell would make it, with its output formatted for display.

    ``run_line_magic`` is what ``%gitbook ...`` compiles to; the display formatter call is what
    the display hook does with a cell's value (``_repr_html_`` and ``__repr__``). When the magic
    displays its table itself and returns None, the formatting already happened inside it.
    """
    result = sh.run_line_magic("gitbook", line)
    if result is not None:
        sh.display_formatter.format(result)
    return result


def in_cell(sh):  # type: ignore[no-untyped-def]
    """The state a notebook cell runs in: IPython's builtin trap held (``run_cell`` holds it
    for the whole cell, so a magic inside does not swap the builtins on every call)."""
    import contextlib

    return sh.builtin_trap if sh is not None else contextlib.nullcontext()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=1000, help="calls per case (all rounds)")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--in-process", action="store_true", help="sandbox in this process")
    ap.add_argument("--no-magic", action="store_true")
    ap.add_argument(
        "--server",
        choices=("sandbox", "stdlib"),
        default="sandbox",
        help="answer from the sandbox, or from a plain stdlib HTTP/1.1 keep-alive server",
    )
    args = ap.parse_args()
    per_round = max(1, args.calls // args.rounds)

    import gitbook_nb

    stdlib = args.server == "stdlib"
    report = Report("calls-stdlib" if stdlib else "calls")
    where = "in this process" if args.in_process else "in its own process"
    if stdlib:
        where = "a plain stdlib HTTP/1.1 server in its own process"
    with stdlib_server() if stdlib else sandbox(args.in_process) as sb:
        url = sb.url + "/v1/user"
        auth = {"Authorization": f"Bearer {sb.token}", "User-Agent": "bench"}
        raw = requests.Session()
        raw.headers.update(auth)
        point_library_at(sb.url, sb.token)
        sh = None if args.no_magic else make_shell()

        # same answer from every side before timing anything
        expect = raw.get(url, timeout=T).json()
        assert requests.get(url, headers=auth, timeout=T).json() == expect
        assert gitbook_nb.get("/user").data == expect
        if sh is not None:
            r = magic_call(sh, "GET /user")
            if r is not None:
                assert r.data == expect, r

        def run(fn, cell: bool = True):  # type: ignore[no-untyped-def]
            def chunk() -> None:
                with in_cell(sh) if cell else contextlib.nullcontext():
                    for _ in range(per_round):
                        fn()

            return chunk

        bare = requests.Session()  # no proxy lookup per call: the lowest floor requests offers
        bare.trust_env = False
        bare.headers.update(auth)
        cases = {
            "raw session": run(lambda: raw.get(url, timeout=T).json()),
            "  raw session, trust_env=False": run(lambda: bare.get(url, timeout=T).json()),
            "naive requests.get": run(lambda: requests.get(url, headers=auth, timeout=T).json()),
            "gitbook_nb.get": run(lambda: gitbook_nb.get("/user")),
        }
        if sh is not None:
            cases["%gitbook GET /user"] = run(lambda: magic_call(sh, "GET /user"))
            # the breakdown: where the magic's extra time goes (printed, not goals)
            fmt = sh.display_formatter.format
            cases["  get + display formatter"] = run(lambda: fmt(gitbook_nb.get("/user")))
            cases["  %gitbook, no rendering"] = run(
                lambda: sh.run_line_magic("gitbook", "GET /user")
            )
            cases["  %gitbook + _repr_html_ only"] = run(
                lambda: sh.run_line_magic("gitbook", "GET /user")._repr_html_()
            )
            # the old way of measuring: run_line_magic outside a cell (see the docstring)
            cases["  %gitbook, outside a cell"] = run(lambda: magic_call(sh, "GET /user"), False)
            # apples to apples: a notebook cell `s.get(url).json()` displays its dict too
            cases["  raw session, dict displayed"] = run(
                lambda: fmt(raw.get(url, timeout=T).json())
            )
        times = interleaved(cases, rounds=args.rounds)
        med = print_table(
            f"GET /v1/user, {per_round * args.rounds} calls per case, sandbox {where}",
            times,
            per=per_round,
            base="raw session",
        )

    def label(name: str) -> str:
        """Figure names for the stdlib run: 1a -> 1a-s., with the server named."""
        if not stdlib:
            return name
        num, text = name.split(". ", 1)
        return f"{num}-s. {text}, plain stdlib server"

    floor, naive = med["raw session"], med["naive requests.get"]
    bare_floor = med["  raw session, trust_env=False"]
    lib = med["gitbook_nb.get"]
    ctx = f"{floor * 1e3:.2f} ms/call raw, sandbox {where}"
    report.add(
        label("1a. `gitbook_nb.get('/user')` vs raw `requests.Session`"),
        "<= 1.15x",
        f"{lib / floor:.2f}x",
        lib / floor <= 1.15,
        f"{lib * 1e3:.2f} ms/call; {ctx}; {lib / bare_floor:.2f}x a session with "
        f"trust_env=False ({bare_floor * 1e3:.2f} ms/call: no proxy lookup per call)",
    )
    report.add(
        label("1b. `gitbook_nb.get` vs naive `requests.get`"),
        "< 1.00x",
        f"{lib / naive:.2f}x",
        lib < naive,
        f"naive {naive * 1e3:.2f} ms/call",
    )
    if sh is not None:
        mag = med["%gitbook GET /user"]
        parts = {k.strip(): v for k, v in med.items() if k.startswith("  ")}
        report.add(
            label("1c. `%gitbook GET /user` + table rendering vs raw session"),
            "<= 1.5x",
            f"{mag / floor:.2f}x",
            mag / floor <= 1.5,
            f"{mag * 1e3:.2f} ms/call with IPython's display formatter (HTML + text); "
            f"{mag / bare_floor:.2f}x a trust_env=False session; "
            + "; ".join(f"{k} {v / floor:.2f}x" for k, v in parts.items()),
        )
        report.add(
            label("1d. `%gitbook GET /user` vs naive `requests.get`"),
            "< 1.00x",
            f"{mag / naive:.2f}x",
            mag < naive,
            "",
        )
        cell = med["  raw session, dict displayed"]
        report.add(
            label("1e. `%gitbook GET /user` vs a raw-session cell whose dict is displayed"),
            "context",
            f"{mag / cell:.2f}x",
            None,
            f"the same display formatter applied to `s.get(url).json()`: {cell * 1e3:.2f} ms/call",
        )
    report.notes.append(
        f"calls: sandbox {where}; {args.rounds} interleaved rounds of "
        f"{per_round} calls per case, median round; every case inside IPython's builtin trap, "
        "as a notebook cell runs"
    )
    report.emit()


if __name__ == "__main__":
    main()
