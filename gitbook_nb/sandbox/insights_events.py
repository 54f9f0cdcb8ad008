"""Reader events of a docs site: 90 days of deterministic, realistic traffic for insights.

Why generated and not stored: a site has ~100k events, and the sandbox must start at once,
so a site's events are built on its first insights query (about a quarter of a second for the
busiest site) and kept. Each day's traffic comes from its own seeded ``random.Random`` (site key
+ date), so a date always holds the same events, whatever "today" is; the window is the 90
days ending today on the sandbox clock, cut at the moment of generation (no future events).

What makes it realistic enough to analyse: weekdays are busier than weekends, visits follow
the hours of the day, popular pages get most views (a Zipf law), some visits hit broken URLs
(404s: ``page`` is None), searches with and without results (only queries that match the
site's content lead to ``search_open_result``), page feedback with ratings and comments, Ask
questions and their ratings, link clicks, returning visitors, countries, devices, referrers.

Storage is columnar (lists per field, sessions and visitors in their own tables) so the
aggregation in ``insights_agg`` reads only the columns a query names.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, NamedTuple

from .data import Dataset, walk
from .data_sites import SiteSeed, site_spaces
from .site_objects import space_prefix

DAYS = 90
WEEKDAY_FACTOR = (1.0, 1.08, 1.1, 1.04, 0.93, 0.44, 0.38)  # Monday .. Sunday
# fmt: off
_HOURS = (2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4.5, 5.5, 6, 6, 5.5, 6, 6.5, 6.5, 6, 5, 4, 3.5, 3, 2.8,
          2.5, 2.2)  # visits per UTC hour, relative
# fmt: on
_COUNTRIES = (  # (ISO code, language, weight); None: GitBook could not place the visitor
    ("US", "en-US", 26),
    ("IN", "en-IN", 9),
    ("GB", "en-GB", 8),
    ("DE", "de-DE", 8),
    ("FR", "fr-FR", 6),
    ("JP", "ja-JP", 4),
    ("BR", "pt-BR", 4),
    ("CA", "en-CA", 4),
    ("NL", "nl-NL", 3),
    ("ES", "es-ES", 3),
    ("IL", "he-IL", 3),
    ("AU", "en-AU", 3),
    ("EG", "ar-EG", 2),
    ("SA", "ar-SA", 2),
    ("CH", "de-CH", 2),
    ("SE", "sv-SE", 2),
    ("PL", "pl-PL", 2),
    ("KR", "ko-KR", 2),
    ("CN", "zh-CN", 2),
    (None, None, 1),
)  # fmt: skip
_DEVICES = (("desktop", 66), ("mobile", 28), ("tablet", 5), ("unknown", 1))
_OS = {
    "desktop": (("windows", 50), ("macos", 38), ("linux", 12)),
    "mobile": (("ios", 50), ("android", 50)),
    "tablet": (("ios", 70), ("android", 30)),
    "unknown": (("unknown", 1),),
}
_BROWSERS = {
    "windows": (("chrome", 65), ("edge", 25), ("firefox", 9), ("opera", 1)),
    "macos": (("safari", 45), ("chrome", 45), ("firefox", 10)),
    "linux": (("chrome", 55), ("firefox", 45)),
    "ios": (("safari", 85), ("chrome", 15)),
    "android": (("chrome", 90), ("opera", 5), ("unknown", 5)),
    "unknown": (("unknown", 1),),
}
_BOTS = ("googlebot", "bingbot", "gptbot", "claudebot", "perplexity")
_REFERRERS = (
    ("", 38), ("https://www.google.com/", 34), ("https://github.com/ada/engine", 9),
    ("https://stackoverflow.com/questions/42", 5), ("https://duckduckgo.com/", 4),
    ("https://chatgpt.com/", 4), ("https://www.bing.com/", 3), ("https://news.ycombinator.com/", 3),
)  # fmt: skip
_NO_UTM = ("", "", "", "", "")
_UTMS = (
    (_NO_UTM, 93),
    (("newsletter", "email", "spring-update", "", ""), 5),
    (("mastodon", "social", "launch", "", "header-link"), 2),
)
MISSED_QUERIES = ("pricing", "api key", "docker", "dark mode", "<script>alert('q')</script>")
_BROKEN_PATHS = ("old/getting-started", "v1/install.html", "guides/loops", "faq.html")
_COMMENTS = (
    "The example is out of date.",
    "Missing a diagram of the mill.",
    "<b>Broken</b> link in step 2 <script>alert('c')</script>",
    "Très utile, merci !",
)
_LINKS = (
    ("https://example.com/babbage", "content"),
    ("https://github.com/ada/engine", "header"),
    ("https://example.com/engine", "content"),
    ("https://example.com/babbage", "sidebar"),
    ("https://github.com/ada/engine/issues", "footer"),
)


class InsightEvent(NamedTuple):
    """One event as a test or tutorial sees it (``Sandbox.site_events``), every column resolved."""

    timestamp: datetime
    type: str
    session: str
    visitor: str
    url_path: str
    page: tuple[str, str] | None  # (space id, page id); None: a 404
    site_section: str | None
    site_space: str | None
    display_context: str
    country: str | None
    language: str | None
    device: str
    browser: str
    os: str
    bot: str | None
    referrer: str
    utm: tuple[str, str, str, str, str]  # source, medium, campaign, term, content
    search_query: str | None
    feedback_rating: str | None  # good | ok | bad
    feedback_comment: str | None
    ask_rating: int | None  # 1 or -1
    link: tuple[str, str] | None  # (url, position)


@dataclass(frozen=True)
class SitePage:
    space: str
    page: str
    path: str  # URL path of the page below the sandbox root
    title: str
    text: str  # casefolded title and body, for search
    site_section: str | None
    site_space: str


def site_pages(site: SiteSeed, data: Dataset) -> list[SitePage]:
    """The documents a reader can open, in tree order (the first ones are the most read)."""
    root = f"/pub/sites/{site.basename}/"
    pages = []
    for seed, space in site_spaces(site, data.space):
        prefix = root + space_prefix(site, seed)
        section = site.section_id(seed.section) if seed.section else None
        for node, ancestors in walk(data.tree(space)):
            if node.kind != "document":
                continue
            path = "/".join(a.slug for a in (*ancestors, node))
            text = f"{node.title}\n{node.body}".casefold()
            pages.append(
                SitePage(
                    space.id,
                    node.id,
                    prefix + path,
                    node.title,
                    text,
                    section,
                    site.site_space_id(seed.space_key),
                )
            )
    return pages


@dataclass
class EventLog:
    """A site's events in time order, one list per field (see the module docstring)."""

    site: SiteSeed
    pages: list[SitePage]
    start: datetime
    time: list[int] = field(default_factory=list)  # epoch seconds, ascending
    type: list[str] = field(default_factory=list)
    session: list[int] = field(default_factory=list)
    page: list[int] = field(default_factory=list)  # index in pages; -1: none (a 404)
    path: list[str] = field(default_factory=list)
    query: list[str | None] = field(default_factory=list)
    detail: list[Any] = field(default_factory=list)  # rating, comment, ask rating, link
    # sessions
    visitor: list[int] = field(default_factory=list)
    referrer: list[str] = field(default_factory=list)
    utm: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    display: list[str] = field(default_factory=list)
    session_key: list[str] = field(default_factory=list)
    # visitors
    country: list[str | None] = field(default_factory=list)
    language: list[str | None] = field(default_factory=list)
    device: list[str] = field(default_factory=list)
    os: list[str] = field(default_factory=list)
    browser: list[str] = field(default_factory=list)
    bot: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time)

    def event(self, i: int) -> InsightEvent:
        s = self.session[i]
        v = self.visitor[s]
        p = self.pages[self.page[i]] if self.page[i] >= 0 else None
        kind, detail = self.type[i], self.detail[i]
        return InsightEvent(
            datetime.fromtimestamp(self.time[i], timezone.utc),
            kind,
            self.session_key[s],
            f"{self.site.key}-v{v}",
            self.path[i],
            (p.space, p.page) if p else None,
            p.site_section if p else None,
            p.site_space if p else None,
            self.display[s],
            self.country[v],
            self.language[v],
            self.device[v],
            self.browser[v],
            self.os[v],
            self.bot[v],
            self.referrer[s],
            self.utm[s],
            self.query[i],
            detail if kind == "page_post_feedback" else None,
            detail if kind == "page_post_feedback_comment" else None,
            detail if kind == "ask_rate_response" else None,
            detail if kind == "link_click" else None,
        )


class _Table:
    """Weighted choices drawn with one ``random()`` and a bisect: ``Random.choices`` costs
    several times more, and generation draws about a million times for the busiest site."""

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        pairs = list(pairs)
        self.items = [p[0] for p in pairs]
        self.cum = list(accumulate(p[1] for p in pairs))
        self.total = self.cum[-1]

    def pick(self, rnd: Callable[[], float]) -> Any:
        return self.items[bisect.bisect_right(self.cum, rnd() * self.total)]


_T_COUNTRIES = _Table(((c, lang), w) for c, lang, w in _COUNTRIES)
_T_DEVICES = _Table(_DEVICES)
_T_OS = {k: _Table(v) for k, v in _OS.items()}
_T_BROWSERS = {k: _Table(v) for k, v in _BROWSERS.items()}
_T_HOURS = _Table(enumerate(_HOURS))
_T_REFERRERS = _Table(_REFERRERS)
_T_UTMS = _Table(_UTMS)
_T_LINKS = _Table((link, 1) for link in _LINKS)
_T_RATINGS = {bad: _Table((("good", 0.8 - bad), ("ok", 0.2), ("bad", bad))) for bad in (0.2, 0.6)}


class _Generator:
    """Builds one site's ``EventLog``; the per-day seeds make each date reproducible."""

    def __init__(self, site: SiteSeed, pages: list[SitePage], start: datetime) -> None:
        self.log = EventLog(site, pages, start)
        self.site = site
        self.pages = _Table((i, 1 / (i + 1) ** 0.9) for i in range(len(pages)))  # Zipf
        queries = [p.title.casefold() for p in pages] + list(MISSED_QUERIES)
        self.queries = _Table((q, 1.0 if q in MISSED_QUERIES else 3.0) for q in queries)
        self.query_hit = {
            q: next((i for i, p in enumerate(pages) if q in p.text), -1) for q in queries
        }
        self.asks = [f"What is {p.title}?" for p in pages[:4]] + ["How much does it cost?"]
        self._visitors(max(50, site.sessions * 20))

    def _visitors(self, count: int) -> None:
        rng, log = random.Random(f"{self.site.key}|visitors"), self.log  # noqa: S311 - seeded data
        rnd = rng.random
        for _ in range(count):
            if rnd() < 0.03:  # crawlers and AI agents
                country, language, device, os_, browser = (
                    "US",
                    None,
                    "unknown",
                    "unknown",
                    "unknown",
                )
                bot: str | None = _BOTS[int(rnd() * len(_BOTS))]
            else:
                country, language = _T_COUNTRIES.pick(rnd)
                device = _T_DEVICES.pick(rnd)
                os_ = _T_OS[device].pick(rnd)
                browser = _T_BROWSERS[os_].pick(rnd)
                bot = None
            log.country.append(country)
            log.language.append(language)
            log.device.append(device)
            log.os.append(os_)
            log.browser.append(browser)
            log.bot.append(bot)

    def day(self, d: date) -> None:
        rng = random.Random(f"{self.site.key}|{d.isoformat()}")  # noqa: S311 - seeded data
        trend = 1 + 0.12 * math.sin(2 * math.pi * d.toordinal() / 120)
        factor = WEEKDAY_FACTOR[d.weekday()] * trend * rng.uniform(0.92, 1.08)
        midnight = int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())
        rnd = rng.random
        for n in range(round(self.site.sessions * factor)):
            start = midnight + _T_HOURS.pick(rnd) * 3600 + int(rnd() * 3600)
            self._session(rnd, f"{self.site.key}-{d.isoformat()}-{n}", start)

    def _session(self, rnd: Callable[[], float], key: str, t: int) -> None:
        log, pages = self.log, self.log.pages
        nvis = len(log.country)
        visitor = int(rnd() * (nvis // 20 if rnd() < 0.3 else nvis))  # 30%: regulars
        s = len(log.visitor)
        log.visitor.append(visitor)
        log.referrer.append(_T_REFERRERS.pick(rnd))
        log.utm.append(_T_UTMS.pick(rnd))
        log.display.append("embed" if rnd() < 0.04 else "site")
        log.session_key.append(key)

        def add(
            kind: str, page: int, path: str = "", query: str | None = None, detail: Any = None
        ) -> None:
            nonlocal t
            log.time.append(t)
            log.type.append(kind)
            log.session.append(s)
            log.page.append(page)
            log.path.append(path or pages[page].path)
            log.query.append(query)
            log.detail.append(detail)
            t += 5 + int(rnd() * 86)  # 5 to 90 seconds to the next event

        def view(page: int) -> None:
            add("page_view", page)
            if rnd() < 0.08:
                add("link_click", page, detail=_T_LINKS.pick(rnd))

        if rnd() < 0.015:  # an old link to a page that no longer exists
            broken = _BROKEN_PATHS[int(rnd() * len(_BROKEN_PATHS))]
            add("page_view", -1, f"/pub/sites/{self.site.basename}/{broken}")
            if rnd() < 0.5:
                return
        current = self.pages.pick(rnd)
        view(current)
        if log.bot[visitor] is not None:
            return
        if rnd() < 0.2:
            query = self.queries.pick(rnd)
            add("search_open", current)
            add("search_type_query", current, query=query)
            hit = self.query_hit[query]
            if hit >= 0 and rnd() < 0.65:  # only a search with results can be opened
                add("search_open_result", current, query=query)
                current = hit
                view(current)
        while rnd() < 0.45:
            current = self.pages.pick(rnd)
            view(current)
        if rnd() < 0.06:
            rating = _T_RATINGS[0.6 if "<" in pages[current].title else 0.2].pick(rnd)
            add("page_post_feedback", current, detail=rating)
            if rating == "bad" and rnd() < 0.35:
                add("page_post_feedback_comment", current, detail=_COMMENTS[int(rnd() * 4)])
        if rnd() < 0.03:
            add("ask_question", current, detail=self.asks[int(rnd() * len(self.asks))])
            if rnd() < 0.5:
                add("ask_rate_response", current, detail=1 if rnd() < 0.7 else -1)


def generate(site: SiteSeed, data: Dataset, now: float) -> EventLog:
    """The 90 days of events ending at ``now`` (epoch seconds, UTC days)."""
    today = datetime.fromtimestamp(now, timezone.utc).date()
    first = today - timedelta(days=DAYS - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    pages = site_pages(site, data)
    gen = _Generator(site, pages, start)
    if site.published and site.sessions and pages:
        for k in range(DAYS):
            gen.day(first + timedelta(days=k))
    log = gen.log
    order = sorted(range(len(log.time)), key=log.time.__getitem__)  # sessions overlap
    cut = int(now)
    order = [i for i in order if log.time[i] < cut]
    for name in ("time", "type", "session", "page", "path", "query", "detail"):
        column = getattr(log, name)
        setattr(log, name, [column[i] for i in order])
    return log
