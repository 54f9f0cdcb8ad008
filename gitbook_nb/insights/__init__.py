"""Site analytics and Ask: ``insights(org, site, ...)``, ``ask(org, question)``, ``sites(org)``,
``site(org, site)``, ``search(org, query)``; built on the kernel session and the API client,
shown by ``%gitbook sites | site | insights | ask | search --org`` (notebook/_cmd_insights.py).

``gitbook_nb.insights`` is both this package and the function of the same name (DESIGN.md
section 2). Python's import system sets ``gitbook_nb.insights`` to the *package* whenever it is
imported, so the package itself is the export: it is callable (``gitbook_nb.insights(org,
site, by="page")`` runs :func:`~gitbook_nb.insights.analytics.insights`, whose signature it
carries) and ``gitbook_nb.insights.sites(org)`` still reaches the rest.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from gitbook_nb.insights.analytics import insights as _insights
from gitbook_nb.insights.ask import ask
from gitbook_nb.insights.query import InsightsQuery, build_query
from gitbook_nb.insights.results import AskResult, InsightsResult
from gitbook_nb.insights.sites import SiteResult, search, site, sites

__all__ = [
    "AskResult",
    "InsightsQuery",
    "InsightsResult",
    "SiteResult",
    "ask",
    "build_query",
    "insights",
    "search",
    "site",
    "sites",
]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> InsightsResult:
        return _insights(*args, **kwargs)


__signature__ = inspect.signature(_insights)
sys.modules[__name__].__class__ = _CallableModule
insights = sys.modules[__name__]  # the callable package: see the docstring
