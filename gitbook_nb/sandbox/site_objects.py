"""JSON shapes of docs sites, following @gitbook/api's ``Site``, ``SiteStructure``,
``SiteSection``, ``SiteSpace`` and ``PublishedContentSite`` schemas (every required field;
``tests/test_openapi_spec.py`` validates them against the real spec).

A published site lives at ``{sandbox}/pub/sites/{basename}/``; its default site space at that
root, the others under their own path (and their section's path), as GitBook lays out URLs.
"""

from __future__ import annotations

from typing import Any

from . import v1_objects as obj
from .data import Dataset, stamp
from .data_sites import SiteSeed, SiteSpaceSeed, site_spaces
from .data_spaces import Space

_PERMISSIONS = (
    "view",
    "access",
    "edit",
    "create",
    "admin",
    "installIntegration",
    "viewAdaptiveSchema",
    "editAdaptiveSchema",
)
_PREMIUM_FEATURES = (
    "sites-page-traffic-insights",
    "sites-search-insights",
    "sites-page-feedback",
    "sites-ai-search",
    "sites-sections",
)


def site_url(base: str, site: SiteSeed) -> str:
    return f"{base}/pub/sites/{site.basename}/"


def space_prefix(site: SiteSeed, seed: SiteSpaceSeed) -> str:
    """The URL path of a site space below the site root ("" for the default one)."""
    section = next((s for s in site.sections if s.key == seed.section), None)
    first_in_section = [x for x in site.spaces if x.section == seed.section][0]
    parts = []
    if section is not None and section.key != site.sections[0].key:
        parts.append(section.path)
    if seed != first_in_section:
        parts.append(seed.path)
    return "".join(p + "/" for p in parts)


def site(base: str, s: SiteSeed, data: Dataset) -> dict[str, Any]:
    urls = {
        "location": f"{base}/v1/orgs/{s.org}/sites/{s.id}",
        "app": f"{base}/app/o/{s.org}/sites/{s.id}/",
        "preview": f"{base}/preview/{s.id}/",
    }
    if s.published:
        urls["published"] = site_url(base, s)
    features = [
        {"id": f, "plan": "premium", "frozen": False}
        for f in (_PREMIUM_FEATURES if s.kind == "premium" else ())
    ]
    return {
        "object": "site",
        "id": s.id,
        "type": s.kind,
        "appliedType": s.kind,
        "title": s.title,
        "basename": s.basename,
        "visibility": s.visibility,
        "defaultLevel": "inherit",
        "permissions": {p: True for p in _PERMISSIONS},
        "published": s.published,
        "siteSpaces": len(site_spaces(s, data.space)),
        "createdAt": stamp(s.hours),
        "features": features,
        "urls": urls,
    }


def site_space(
    base: str, s: SiteSeed, seed: SiteSpaceSeed, space: Space, data: Dataset, default: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "object": "site-space",
        "id": s.site_space_id(seed.space_key),
        "path": seed.path,
        "space": obj.space(base, space, data),
        "title": seed.title,
        "default": default,
        "draft": False,
        "urls": {"published": site_url(base, s) + space_prefix(s, seed)} if s.published else {},
    }
    if seed.section is not None:
        out["section"] = s.section_id(seed.section)
    return out


def structure(base: str, s: SiteSeed, data: Dataset) -> dict[str, Any]:
    spaces = site_spaces(s, data.space)
    if not s.sections:
        return {
            "type": "siteSpaces",
            "structure": [
                site_space(base, s, seed, space, data, i == 0)
                for i, (seed, space) in enumerate(spaces)
            ],
        }
    sections: list[dict[str, Any]] = []
    for section in s.sections:
        inside = [(seed, sp) for seed, sp in spaces if seed.section == section.key]
        if not inside:
            continue  # its spaces are absent from this dataset
        out: dict[str, Any] = {
            "object": "site-section",
            "id": s.section_id(section.key),
            "title": section.title,
            "path": section.path,
            "default": not sections,
            "draft": False,
            "siteSpaces": [
                site_space(base, s, seed, sp, data, i == 0) for i, (seed, sp) in enumerate(inside)
            ],
            "urls": {},
        }
        if s.published:
            out["urls"]["published"] = site_url(base, s) + space_prefix(s, inside[0][0])
        sections.append(out)
    return {"type": "sections", "structure": sections}


def customization(s: SiteSeed) -> dict[str, Any]:
    """GitBook's default look (``SiteCustomizationSettings``), titled after the site."""
    color = {"light": "#346DDB", "dark": "#346DDB"}
    return {
        "title": s.title,
        "styling": {
            "theme": "clean",
            "primaryColor": color,
            "infoColor": {"light": "#787878", "dark": "#787878"},
            "successColor": {"light": "#02A302", "dark": "#02A302"},
            "warningColor": {"light": "#FE9A00", "dark": "#FE9A00"},
            "dangerColor": {"light": "#FB2C36", "dark": "#FB2C36"},
            "corners": "rounded",
            "depth": "subtle",
            "links": "default",
            "font": "Inter",
            "monospaceFont": "IBMPlexMono",
            "background": "plain",
            "icons": "regular",
            "codeTheme": {
                "default": {"light": "default-light", "dark": "default-dark"},
                "openapi": {"light": "default-light", "dark": "default-dark"},
            },
            "sidebar": {"background": "default", "list": "default"},
            "search": "subtle",
        },
        "internationalization": {"locale": "en"},
        "favicon": {},
        "header": {"preset": "default", "links": []},
        "footer": {"groups": []},
        "themes": {"default": "system", "toggeable": True},
        "feedback": {"enabled": True},
        "ai": {"mode": "assistant"},
        "advancedCustomization": {"enabled": s.kind == "premium"},
        "pageActions": {"items": ["assistant", "markdown"]},
        "externalLinks": {"target": "self"},
        "pagination": {"enabled": True},
        "trademark": {"enabled": True},
        "privacyPolicy": {},
        "socialPreview": {},
        "socialAccounts": [],
        "insights": {"trackingCookie": True},
        "updatedAt": stamp(s.hours + 1),
    }


def published(base: str, s: SiteSeed, data: Dataset) -> dict[str, Any]:
    settings = customization(s)
    return {
        "object": "published-content-site",
        "site": site(base, s, data),
        "structure": structure(base, s, data),
        "customizations": {
            "site": settings,
            "siteSpaces": {
                s.site_space_id(seed.space_key): settings for seed, _ in site_spaces(s, data.space)
            },
        },
        "scripts": [],
    }
