"""Seeded docs sites (GITBOOK.md section 2, "Sites"): a site or two per organisation.

A site publishes one or more spaces. Each site space sits either directly in the site
(structure ``siteSpaces``, e.g. language variants) or inside a section (structure
``sections``). Titles repeat the data's traps: unicode, right-to-left, HTML-looking text.
``sessions`` is the number of reader visits on an ordinary weekday; it drives how many
insights events ``insights_events`` generates (0: the site has no traffic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .data_base import HTML_TITLE, gid
from .data_spaces import ORGS, Space

SpaceLookup = Callable[[str], "Space | None"]  # Dataset.space


@dataclass(frozen=True)
class SiteSpaceSeed:
    space_key: str
    path: str  # SiteSpacePath: where the space lives under its section or the site
    title: str
    section: str | None = None  # a section key of the site, or None


@dataclass(frozen=True)
class SectionSeed:
    key: str
    title: str
    path: str


@dataclass(frozen=True)
class SiteSeed:
    key: str
    org: str  # org id
    title: str
    basename: str
    kind: str  # SiteType: basic | premium | ...
    visibility: str  # public | unlisted | share-link | visitor-auth
    published: bool
    spaces: tuple[SiteSpaceSeed, ...]
    sections: tuple[SectionSeed, ...] = ()
    sessions: int = 0
    hours: float = 0.0

    @property
    def id(self) -> str:
        return "site_" + gid("site", self.key, 5)

    def section_id(self, key: str) -> str:
        return "sitesc_" + gid("section", f"{self.key}/{key}", 5)

    def site_space_id(self, space_key: str) -> str:
        return "sitesp_" + gid("site-space", f"{self.key}/{space_key}", 5)


_ENGINES, _UNICODE, _ARABIC, _HTML = (o.id for o in ORGS)
SITES: tuple[SiteSeed, ...] = (
    SiteSeed(
        "handbook",
        _ENGINES,
        "Engine handbook",
        "handbook",
        "premium",
        "public",
        True,
        (
            SiteSpaceSeed("main", "handbook", "Engine handbook", "handbook"),
            SiteSpaceSeed("emoji", "rockets", "Rockets & stars 🚀", "rockets"),
        ),
        (
            SectionSeed("handbook", "Handbook", "handbook"),
            SectionSeed("rockets", "Rockets & stars 🚀", "rockets"),
        ),
        sessions=500,
        hours=50,
    ),
    SiteSeed(
        "html-notes",
        _ENGINES,
        HTML_TITLE,
        "html-notes",
        "basic",
        "unlisted",
        True,
        (SiteSpaceSeed("html", "notes", HTML_TITLE),),
        sessions=25,
        hours=51,
    ),
    SiteSeed(
        "arabic-draft",
        _ENGINES,
        "دليل المحرك",
        "arabic",
        "basic",
        "public",
        False,  # never published: no URL, no traffic
        (
            SiteSpaceSeed("arabic", "ar", "العربية"),
            SiteSpaceSeed("hebrew", "he", "עברית"),
        ),
        hours=52,
    ),
    SiteSeed(
        "cafe",
        _UNICODE,
        "Zürich café notes ☕",
        "cafe",
        "basic",
        "public",
        True,
        (SiteSpaceSeed("u1", "de", "Deutsch"), SiteSpaceSeed("u2", "ja", "日本語")),
        sessions=40,
        hours=60,
    ),
    SiteSeed(
        "algorithms",
        _ARABIC,
        "خوارزميات",
        "algorithms",
        "basic",
        "public",
        True,
        (SiteSpaceSeed("a1", "ar", "العربية"), SiteSpaceSeed("a2", "he", "עברית")),
        sessions=30,
        hours=70,
    ),
    SiteSeed(
        "xss",
        _HTML,
        "<script>alert(1)</script>",
        "xss",
        "basic",
        "share-link",
        True,
        (SiteSpaceSeed("h1", "main", "<b>main</b>"),),
        sessions=10,
        hours=80,
    ),
)
SITES_BY_ID = {s.id: s for s in SITES}


def space_id(key: str) -> str:
    """The id of a seeded space by key (the same hash ``data_spaces.Space.id`` uses)."""
    return gid("space", key)


def site_spaces(site: SiteSeed, lookup: SpaceLookup) -> list[tuple[SiteSpaceSeed, Space]]:
    """The site's spaces that exist in this dataset (``Sandbox(spaces=2)`` drops some)."""
    found = []
    for seed in site.spaces:
        space = lookup(space_id(seed.space_key))
        if space is not None:
            found.append((seed, space))
    return found


def sites_of(org_id: str, lookup: SpaceLookup) -> Sequence[SiteSeed]:
    """An organisation's sites, leaving out those whose spaces all are absent."""
    return [s for s in SITES if s.org == org_id and site_spaces(s, lookup)]
