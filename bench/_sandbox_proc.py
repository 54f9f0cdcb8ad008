"""Run the sandbox in its own process for the benchmarks (see ``_harness.SandboxProcess``).

Prints one JSON line (url, the seeded personal token, the well-known ids) once listening,
then serves until stdin closes. The rate limit is lifted: benchmarks send tens of thousands
of requests with one token, and a 429 would measure the limiter, not the stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import reveal  # noqa: E402

from gitbook_nb.sandbox import Sandbox  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--books", type=int, default=None)
    ap.add_argument("--spaces", type=int, default=None)
    args = ap.parse_args()
    with Sandbox(books=args.books, spaces=args.spaces, rate_limit=10**9) as sb:
        info = {"url": sb.url, "token": reveal(sb.personal_token), "ids": dict(sb.ids)}
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # returns when the parent closes our stdin (or dies)


if __name__ == "__main__":
    main()
