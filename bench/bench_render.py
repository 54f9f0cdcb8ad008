"""Figure 4: displaying a 100,000-row result, against pandas with its default display limits.

The rows are real API answers: the sandbox's first organisation scaled to ``--rows`` spaces,
fetched once (pages of 1,000) with a raw session, parsed JSON as a notebook would hold it.
Both sides start from that same list and both are built afresh in every round, since a notebook
builds the object and then displays it:
- ``Result(rows)._repr_html_()``
- ``pandas.DataFrame(rows)._repr_html_()`` with pandas' default options (``display.max_rows``
  60, ``min_rows`` 10, ``max_columns`` 20...), which is what ``df`` shows in a cell.
The goal is time <= 1.0x pandas and an HTML output under 100 KB. pandas is imported before
timing (its import is not part of "displaying").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from _harness import Report, interleaved, print_table, sandbox  # noqa: E402


def fetch_rows(n: int) -> list[dict[str, Any]]:
    with sandbox(False, spaces=n) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"Bearer {sb.token}", "User-Agent": "bench"})
        url = f"{sb.url}/v1/orgs/{sb.ids['org']}/spaces"
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000}
        while True:
            data = s.get(url, params=params, timeout=30).json()
            rows.extend(data["items"])
            if not data.get("next"):
                return rows
            params = {"limit": 1000, "page": data["next"]["page"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=11)
    args = ap.parse_args()

    import pandas as pd

    from gitbook_nb.display import Result

    rows = fetch_rows(args.rows)
    assert len(rows) == args.rows, len(rows)
    print(f"{len(rows)} rows, {len(rows[0])} top-level fields, e.g. keys {sorted(rows[0])[:8]}")

    out: dict[str, str] = {}

    def ours() -> None:
        out["ours"] = Result(rows)._repr_html_()

    def theirs() -> None:
        out["pandas"] = pd.DataFrame(rows)._repr_html_()

    cases = {"pandas.DataFrame(rows)._repr_html_()": theirs, "Result(rows)._repr_html_()": ours}
    times = interleaved(cases, rounds=args.rounds)
    med = print_table(
        f"{len(rows)} rows displayed as HTML",
        times,
        base="pandas.DataFrame(rows)._repr_html_()",
        unit="display",
    )
    size_ours = len(out["ours"].encode())
    size_pd = len(out["pandas"].encode())
    print(f"  HTML size: ours {size_ours / 1e3:.1f} KB, pandas {size_pd / 1e3:.1f} KB")
    t = med["Result(rows)._repr_html_()"] / med["pandas.DataFrame(rows)._repr_html_()"]

    report = Report("render")
    report.add(
        "4a. `Result._repr_html_` 100,000 rows vs `pandas.DataFrame(rows)._repr_html_()`",
        "<= 1.0x",
        f"{t:.2f}x",
        t <= 1.0,
        f"{med['Result(rows)._repr_html_()'] * 1e3:.1f} ms vs "
        f"{med['pandas.DataFrame(rows)._repr_html_()'] * 1e3:.1f} ms "
        f"(pandas {pd.__version__}, default display options)",
    )
    report.add(
        "4b. HTML output size, 100,000 rows",
        "< 100 KB",
        f"{size_ours / 1e3:.1f} KB",
        size_ours < 100_000,
        f"pandas' output {size_pd / 1e3:.1f} KB",
    )
    report.notes.append(
        f"render: {args.rounds} interleaved rounds; both sides build their "
        "object from the same parsed list in every round"
    )
    report.emit()


if __name__ == "__main__":
    main()
