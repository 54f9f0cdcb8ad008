"""Docs as data (issue 11): read pages, export a space, publish back as a change request.

Built on the kernel's public calls (``gitbook_nb.kernel.session.request``...); shown by the
``%gitbook page | export | publish | crs | cr`` magics (``notebook/_cmd_content.py``). The
Python forms are ``gitbook_nb.page``, ``export``, ``publish``, ``change_requests`` and
``change_request``; each returns a :class:`~gitbook_nb.display.Result` (or a subclass).
"""

from gitbook_nb.content.exporter import ExportError, export
from gitbook_nb.content.pages import page
from gitbook_nb.content.publisher import PublishError, PublishPlan, publish
from gitbook_nb.content.results import ChangeRequestResult, ExportResult, PageResult
from gitbook_nb.content.review import change_request, change_requests

__all__ = [
    "ChangeRequestResult",
    "ExportError",
    "ExportResult",
    "PageResult",
    "PublishError",
    "PublishPlan",
    "change_request",
    "change_requests",
    "export",
    "page",
    "publish",
]
