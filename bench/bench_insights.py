"""Figure 6: an insights answer of 100,000 aggregated rows -> DataFrame + chart, against the
same done by hand with pandas and matplotlib from the raw JSON.

The answer is GitBook's columnar ``SiteInsightsQueryEventsAggregationResult`` for page views
per hour (``--rows`` hours, ~11 years for 100,000), as the API would send it. Both sides start
from the same bytes in every round and end with a typed DataFrame (UTC datetimes, int64
counts) and the same PNG line chart (8x3.6 in at 100 dpi, title, axis labels, grid):
- ours: ``InsightsResult(json.loads(raw), query)``, ``.to_dataframe()``, ``.chart()``;
- by hand: ``json.loads``, ``pd.DataFrame`` from the columns, ``pd.to_datetime(utc=True)``,
  ``astype("int64")``, a matplotlib ``Figure`` drawn and saved as PNG.
The goal is at most 1.2x the hand-written version.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Report, interleaved, print_table  # noqa: E402


def answer_bytes(rows: int) -> bytes:
    start = datetime(2015, 1, 1, tzinfo=timezone.utc)
    stamps = [
        (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for i in range(rows)
    ]
    counts = [(i * 7919) % 500 + 20 for i in range(rows)]
    return json.dumps(
        {
            "columns": [
                {"column": "datetime", "values": stamps},
                {"column": "eventsCount", "values": counts},
            ]
        }
    ).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()

    import pandas as pd
    from matplotlib.figure import Figure

    from gitbook_nb.insights import InsightsResult, build_query

    raw = answer_bytes(args.rows)
    query = build_query(by="hour", since="1y")
    print(f"{args.rows} rows, {len(raw) / 1e6:.1f} MB of JSON")
    out: dict[str, object] = {}

    def ours() -> None:
        res = InsightsResult(json.loads(raw), query)
        df = res.to_dataframe()
        chart = res.chart()
        assert chart is not None and len(df) == args.rows
        out["ours"] = (df, chart.png)

    def by_hand() -> None:
        cols = {c["column"]: c["values"] for c in json.loads(raw)["columns"]}
        df = pd.DataFrame(
            {
                "hour": pd.to_datetime(
                    pd.Series(cols["datetime"], dtype=object), utc=True, format="ISO8601"
                ),
                "events": pd.Series(cols["eventsCount"]).astype("int64"),
            }
        )
        fig = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.plot(df["hour"].dt.tz_localize(None), df["events"], color="#346ddb", linewidth=1.6)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        fig.autofmt_xdate()
        ax.set_title("Page views per hour, last 1 year")
        ax.set_xlabel("hour (UTC)")
        ax.set_ylabel("events per hour (count)")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        out["hand"] = (df, buf.getvalue())

    cases = {"pandas + matplotlib by hand": by_hand, "InsightsResult": ours}
    times = interleaved(cases, rounds=args.rounds)
    med = print_table(
        f"{args.rows} aggregated rows -> DataFrame + PNG chart",
        times,
        base="pandas + matplotlib by hand",
        unit="answer",
    )
    ours_df, _ = out["ours"]  # type: ignore[misc]
    hand_df, _ = out["hand"]  # type: ignore[misc]
    assert list(ours_df.dtypes.astype(str)) == list(hand_df.dtypes.astype(str))
    ratio = med["InsightsResult"] / med["pandas + matplotlib by hand"]
    report = Report("insights")
    report.add(
        "6. insights: DataFrame + chart, 100,000 aggregated rows, vs pandas + matplotlib by hand",
        "<= 1.2x",
        f"{ratio:.2f}x",
        ratio <= 1.2,
        f"{med['InsightsResult'] * 1e3:.0f} ms vs {med['pandas + matplotlib by hand'] * 1e3:.0f} ms"
        f" (pandas {pd.__version__}; both from the same JSON bytes)",
    )
    report.notes.append(
        f"insights: {args.rounds} interleaved rounds; same dtypes and same chart on both sides"
    )
    report.emit()


if __name__ == "__main__":
    main()
