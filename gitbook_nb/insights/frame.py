"""GitBook's columnar insights answer -> rows for the table and a typed pandas DataFrame.

The API answers ``{"columns": [{"column": "datetime", "values": [...]}, {"column":
"eventsCount", "values": [...]}]}`` (``SiteInsightsQueryEventsAggregationResult``): one list per
column, the groupBy columns first. That shape is already what pandas wants, so the DataFrame
is built column by column (no row dicts in between: 100,000 rows cost what pandas costs), with
datetimes parsed as UTC and counts as integers. Rows (flat dicts) are made only for the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from gitbook_nb.errors import InvalidResponseError

__all__ = ["Columns", "columns_of"]

_AGGREGATES = {"eventsCount": "events", "visitorsCount": "visitors", "sessionsCount": "sessions"}
_COUNTS = frozenset(_AGGREGATES.values())
_INTEGERS = frozenset({"dayOfWeek", "hourOfDay", "weekday", "hourofday", "eventAskResponseRating"})
_TIME_FORMAT = {"hour": 16, "day": 10, "week": 10, "month": 7}  # ISO prefix shown in the table


class Columns:
    """The answer's columns under friendly names (``day``, ``path``, ``events``...).

    A ``page`` dimension (``{page, space}`` ids, or null for a 404) becomes two columns,
    ``page`` and ``space``.
    """

    def __init__(self, names: list[str], values: list[Sequence[Any]], time: str | None) -> None:
        self.names = names
        self.values = values
        self.time = time  # the name of the datetime column (its interval), if any
        self._times: Any = None

    def __len__(self) -> int:
        return len(self.values[0]) if self.values else 0

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Rows for the table; datetimes cut to the bucket (``2024-06-01`` for a day)."""
        cut = _TIME_FORMAT.get(self.time or "", 0)
        names = self.names
        for row in zip(*self.values, strict=True):
            item = dict(zip(names, row, strict=True))
            if self.time is not None and isinstance(item.get(self.time), str) and cut:
                item[self.time] = item[self.time][:cut].replace("T", " ")
            yield item

    def times(self) -> Any:
        """The time column parsed as UTC datetimes, once (the DataFrame and the chart share it)."""
        if self._times is None:
            import pandas as pd  # optional extra: only when a DataFrame or a chart is made

            raw = self.values[self.names.index(self.time)] if self.time else []
            self._times = pd.to_datetime(pd.Series(raw, dtype=object), utc=True, format="ISO8601")
        return self._times

    def to_dataframe(self) -> Any:
        import pandas as pd  # optional extra: only when a DataFrame is asked for

        data: dict[str, Any] = {}
        for name, values in zip(self.names, self.values, strict=True):
            if name == self.time:
                data[name] = self.times()
            elif name in _COUNTS or name in _INTEGERS:
                data[name] = _numbers(pd, values)
            else:
                data[name] = pd.Series(values, dtype=object)
        return pd.DataFrame(data, columns=self.names)


def _numbers(pd: Any, values: Sequence[Any]) -> Any:
    """int64 when every value is whole (counts are), else float64; nullable Int64 with gaps."""
    series = pd.Series(values, dtype="int64" if not values else None)
    if series.dtype.kind == "i":
        return series
    if series.dtype.kind == "f" and series.notna().all() and (series % 1 == 0).all():
        return series.astype("int64")
    if series.isna().any() and (series.dropna() % 1 == 0).all():
        return series.astype("Int64")
    return series


def columns_of(answer: Any, by: Sequence[str], label: str = "") -> Columns:
    """Read the answer; ``by`` are the friendly names of the groupBy columns, in order."""
    if not isinstance(answer, dict) or not isinstance(answer.get("columns"), list):
        raise InvalidResponseError(
            f"{label}: the answer has no columns list (SiteInsightsQueryEventsAggregationResult)",
            hint="check the API URL; this does not look like GitBook's insights answer",
        )
    names: list[str] = []
    values: list[Sequence[Any]] = []
    time: str | None = None
    dims = iter(by)
    length: int | None = None
    for col in answer["columns"]:
        name = col.get("column") if isinstance(col, dict) else None
        vals = col.get("values") if isinstance(col, dict) else None
        if not isinstance(name, str) or not isinstance(vals, list):
            raise InvalidResponseError(f"{label}: a column without a name or values")
        if length is None:
            length = len(vals)
        elif len(vals) != length:
            raise InvalidResponseError(f"{label}: the answer's columns differ in length")
        if name in _AGGREGATES:
            names.append(_AGGREGATES[name])
            values.append(vals)
            continue
        friendly = next(dims, name)
        if name == "page":  # {page, space} ids, or null: a view that found no page (a 404)
            names += ["page", "space"]
            values.append([v.get("page") if isinstance(v, dict) else None for v in vals])
            values.append([v.get("space") if isinstance(v, dict) else None for v in vals])
            continue
        if name == "datetime":
            time = friendly
        names.append(friendly)
        values.append(vals)
    return Columns(names, values, time)
