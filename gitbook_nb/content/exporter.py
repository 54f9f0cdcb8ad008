"""Export a whole space: every page's markdown into a DataFrame and, with ``to=``, into files.

One request reads the content tree (``GET /spaces/{id}/content``: the current revision, whose
pages carry no bodies on GitBook), then each document page's body comes from
``GET .../content/page/{pageId}?format=markdown``, ``concurrency`` at a time (default 4).
GitBook's rate limit is honoured for all workers together (see :mod:`._gate`): when an answer
says nothing remains, or a 429 comes (with or without ``Retry-After``), every worker waits
until the window resets, up to ``max_wait``.

With ``to=DIR`` each page goes to ``DIR/<its path>.md`` with front matter (title, id, path,
revision, documentId, updatedAt); names are made safe and can never leave DIR; files are
written atomically, as soon as each page arrives; a rerun skips pages whose body has not
changed (same ``documentId``, else same ``updatedAt``) and reads them from the file instead.

A page that cannot be exported (gone since the tree was read, a name no file system takes)
is listed in ``.failed`` and the rest goes on. Anything that stops the export (sign-in,
permission, network, a rate-limit wait beyond ``max_wait``, Ctrl-C) raises
:class:`ExportError`, whose ``.result`` holds what was done; every file written stays.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from gitbook_nb.content._gate import RateGate, TooLong
from gitbook_nb.content._paths import page_by_id, space_path
from gitbook_nb.content._safe_names import UnsafeName
from gitbook_nb.content._writer import ExportFolder, Planned
from gitbook_nb.content.results import ExportResult, word_count
from gitbook_nb.errors import (
    GitBookError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
)

__all__ = ["DEFAULT_CONCURRENCY", "ExportError", "export"]

DEFAULT_CONCURRENCY = 4
MAX_WAIT = 900.0  # seconds an export may pause for the rate limit (GitBook: hourly windows)
MAX_TRIES = 6  # per page, counting waits for the rate limit
# Errors of one file, not of the export: a name the file system refuses, a file/folder clash.
_PAGE_OS_ERRORS = {errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EINVAL, errno.EILSEQ}


class ExportError(GitBookError):
    """The export stopped part-way; ``.result`` is an ExportResult of what was done."""

    def __init__(self, message: str, *, result: ExportResult, hint: str = "") -> None:
        self.result = result
        super().__init__(message, hint=hint)


@dataclass(slots=True)
class _Page:
    id: str
    path: str
    title: str
    depth: int
    updated_at: str | None
    document_id: str | None
    planned: Planned | None = None
    # The body as UTF-8: a Python str takes 2 or 4 bytes a character as soon as one é or emoji
    # is in it, and 1,000 pages are held at once (bench/README.md figure 8b).
    text: bytes | None = None
    row: dict[str, Any] = field(default_factory=dict)  # the result's row, made once

    def __post_init__(self) -> None:
        self.row = {
            "path": self.path,
            "title": self.title,
            "depth": self.depth,
            "words": 0,
            "updatedAt": self.updated_at,
            "id": self.id,
        }

    def keep(self, markdown: str) -> None:
        self.row["words"] = word_count(markdown)
        self.text = markdown.encode("utf-8", "surrogatepass")

    def marker(self) -> dict[str, str]:
        return {
            "id": self.id,
            "documentId": self.document_id or "",
            "updatedAt": self.updated_at or "",
        }


def _walk(pages: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    for node in pages if isinstance(pages, list) else ():
        if isinstance(node, dict):
            yield node, depth
            yield from _walk(node.get("pages"), depth + 1)  # `pages` may be missing (GITBOOK.md)


def _documents(revision: Any) -> list[_Page]:
    """The document pages of a revision, in tree order (groups and links have no body)."""
    out = []
    for node, depth in _walk(revision.get("pages") if isinstance(revision, dict) else None):
        if node.get("type", node.get("kind")) not in ("document", "sheet"):
            continue
        if not isinstance(node.get("id"), str):
            continue
        out.append(
            _Page(
                id=node["id"],
                path=str(node.get("path") or node.get("slug") or node["id"]),
                title=str(node.get("title") or ""),
                depth=depth,
                updated_at=node.get("updatedAt")
                if isinstance(node.get("updatedAt"), str)
                else None,
                document_id=node.get("documentId")
                if isinstance(node.get("documentId"), str)
                else None,
            )
        )
    return out


def _session_api() -> Any:
    from gitbook_nb.kernel import session

    return session


class _Run:
    """One export's shared state: the gate, the stop flag, counters (workers share it)."""

    def __init__(self, api: Any, gate: RateGate, stop: threading.Event) -> None:
        self.api = api
        self.gate = gate
        self.stop = stop
        self.requests = 0
        self._lock = threading.Lock()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET through the gate; 429s wait for the window and try again (bounded)."""
        for attempt in range(MAX_TRIES):
            self.gate.wait()
            if self.stop.is_set():
                raise _Stopped
            with self._lock:
                self.requests += 1
            try:
                res = self.api.request("GET", path, params=params)
            except RateLimitedError as err:
                # The client already waited where it could (Retry-After up to its cap); what
                # arrives here is a longer wait, or none said (see RateGate.after_429).
                rl = err.rate_limit or _latest_rate_limit(self.api)
                seconds = self.gate.after_429(
                    err.retry_after,
                    attempt,
                    getattr(rl, "remaining", None),
                    getattr(rl, "reset", None),
                )
                self.gate.pause(seconds)  # TooLong when beyond max_wait: the export stops
                continue
            rl = getattr(res, "rate_limit", None)
            self.gate.observe(getattr(rl, "remaining", None), getattr(rl, "reset", None))
            return res
        raise RateLimitedError(
            f"GET {path}: still rate limited after {MAX_TRIES} tries", status=429, path=path
        )


def _latest_rate_limit(api: Any) -> Any:
    """``X-RateLimit-*`` of the session client's latest answer: for an error raised by an API
    client that did not attach the 429's own headers (``RateLimitedError.rate_limit``)."""
    try:
        kernel = api.get_session()
        return kernel.client_for(kernel.settings).rate_limit
    except (AttributeError, GitBookError):
        return None


class _Stopped(Exception):
    """A worker noticed the export is stopping and did not start its page."""


def _fetch(run: _Run, space: str, page: _Page, folder: ExportFolder | None, fields: dict) -> None:
    res = run.get(page_by_id(space, page.id), {"format": "markdown"})
    data = res.data if isinstance(res.data, dict) else {}
    markdown = data.get("markdown")
    if not isinstance(markdown, str):
        raise InvalidResponseError(
            f"page {page.path}: the answer has no markdown", status=res.status
        )
    if folder is not None and page.planned is not None:
        folder.write(
            page.planned,
            {
                **fields,
                "title": page.title,
                "id": page.id,
                "path": page.path,
                "documentId": page.document_id,
                "updatedAt": page.updated_at,
            },
            markdown,
        )
    page.keep(markdown)  # in the worker: the answer's JSON is freed as soon as it returns


def export(
    space: str,
    to: str | None = None,
    *,
    concurrency: int | None = None,
    progress: Callable[[int, int, int | None], None] | None = None,
    max_wait: float = MAX_WAIT,
    api: Any = None,
    sleep: Callable[[float], object] | None = None,
    wall: Callable[[], float] = time.time,
    fsync: Callable[[int], object] | None = os.fsync,
) -> ExportResult:
    """Every page of ``space`` with its markdown; with ``to``, also one ``.md`` file per page.

    ``concurrency`` pages are fetched at once (None: the ``export_concurrency`` setting, 4 by
    default); ``progress(done, done, total)`` is called from
    this thread as pages complete (the magic's progress bar). ``max_wait`` caps a rate-limit
    pause. ``api`` (the kernel session module), ``sleep`` and ``wall`` are injectable for tests.
    """
    api = api or _session_api()
    if concurrency is None:
        concurrency = api.get_session().settings.export_concurrency
    if int(concurrency) < 1:
        raise ValueError("concurrency must be at least 1")
    stop = threading.Event()
    gate = RateGate(max_wait=max_wait, wall=wall, sleep=sleep or stop.wait)
    run = _Run(api, gate, stop)
    try:
        folder = ExportFolder(to, fsync=fsync) if to is not None else None
    except OSError as err:
        raise GitBookError(
            f"cannot use {str(to)[:120]!r} as the export folder: {err.strerror or err}",
            hint="choose a folder you can write to",
        ) from None
    try:
        revision = run.get(f"{space_path(space)}/content").data
    except TooLong as err:
        raise RateLimitedError(
            f"GET {space_path(space)}/content: rate limited for {err.seconds:.0f} s more",
            status=429,
            retry_after=err.seconds,
            hint="run the export again later",
        ) from None
    pages = _documents(revision)
    rev_id = revision.get("id") if isinstance(revision, dict) else None
    del revision  # the tree can be large; only the fields above are kept
    failed: list[tuple[str, str]] = []
    written: list[str] = []
    unchanged: list[str] = []
    todo: list[_Page] = []
    for p in pages:
        if folder is not None:
            try:
                p.planned = folder.plan(p.id, p.path)
            except UnsafeName as err:
                failed.append((p.path, str(err)))
                continue
            kept = folder.unchanged(p.planned, p.marker())
            if kept is not None:
                p.keep(kept)
                unchanged.append(p.planned.rel)
                continue
        todo.append(p)

    done = len(pages) - len(todo)
    total = len(pages)
    fields = {"revision": rev_id}

    def result(note: str | None = None) -> ExportResult:
        finished = [p for p in pages if p.text is not None]
        return ExportResult(
            [p.row for p in finished],
            texts=[p.text or b"" for p in finished],
            space=str(space),
            revision=rev_id,
            directory=str(folder.root) if folder else None,
            written=written,
            unchanged=unchanged,
            failed=failed,
            requests=run.requests,
            method="GET",
            path=f"{space_path(space)}/content",
            **({"note": note} if note else {}),
        )

    if progress is not None:
        progress(done, done, total)
    pool = ThreadPoolExecutor(max_workers=int(concurrency), thread_name_prefix="gitbook-export")
    # A few pages queued ahead of the workers, not all of them: a Future costs about 1 kB,
    # a thousand of them would outweigh the markdown of a small space (figure 8b).
    queue = iter(todo)
    pending: dict[Future[None], _Page] = {}

    def submit(n: int) -> None:
        for page in islice(queue, n):
            pending[pool.submit(_fetch, run, str(space), page, folder, fields)] = page

    stopped: BaseException | None = None
    try:
        submit(2 * int(concurrency))
        while pending and stopped is None:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                page = pending.pop(fut)
                try:
                    fut.result()
                    if page.planned is not None:
                        written.append(page.planned.rel)
                except (NotFoundError, InvalidResponseError, UnsafeName) as err:
                    failed.append((page.path, getattr(err, "message", None) or str(err)))
                except OSError as err:
                    if err.errno not in _PAGE_OS_ERRORS:
                        stopped = stopped or err
                    failed.append((page.path, err.strerror or type(err).__name__))
                except _Stopped:
                    pass
                except (GitBookError, TooLong) as err:
                    stopped = stopped or err
                done += 1
                if progress is not None:
                    progress(done, done, total)
            if stopped is None:
                submit(len(finished))
    except KeyboardInterrupt as err:
        stopped = err
    finally:
        if stopped is not None:
            stop.set()  # workers finish the page in hand (written whole) and take no other
            gate.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    if stopped is None:
        return result()
    for fut, page in pending.items():  # pages that finished while the others stopped
        if fut.done() and not fut.cancelled() and fut.exception() is None and page.planned:
            if page.planned.rel not in written:
                written.append(page.planned.rel)
    raise _stop_error(stopped, result(), total, folder)


def _stop_error(
    cause: BaseException, partial: ExportResult, total: int, folder: ExportFolder | None
) -> ExportError:
    if isinstance(cause, TooLong):
        why = f"GitBook's rate limit asks to wait {cause.seconds / 60:.0f} min more"
    elif isinstance(cause, KeyboardInterrupt):
        why = "interrupted"
    elif isinstance(cause, GitBookError):
        why = cause.message
    else:
        why = f"{type(cause).__name__}: {getattr(cause, 'strerror', None) or cause}"
    got = len(partial.data)
    where = (
        f"; {len(partial.written)} files written to {folder.root}, none half-written"
        if folder is not None
        else ""
    )
    hint = getattr(cause, "hint", "") or ""
    step = (
        "run the same export again to continue (unchanged pages are skipped)"
        if folder
        else ("run it again (with --to DIR, a rerun continues where it stopped)")
    )
    return ExportError(
        f"export stopped ({why}): {got} of {total} pages done, {total - got} not{where}",
        result=partial,
        hint=f"{hint}; {step}" if hint else step,
    )
