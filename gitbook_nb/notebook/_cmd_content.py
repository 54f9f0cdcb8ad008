"""``%gitbook page | export | publish | crs | cr``: docs as data in the notebook (issue 11).

Each handler turns a parsed :class:`Command` into one call of :mod:`gitbook_nb.content` through
the magic's kernel API (``magics.api``, injected by tests) and returns ``(shown, bound)``.
Everything that can go wrong ends as a :class:`GitBookError`, which the magic shows as one
line; an export that stops part-way still binds what it did to ``-o VAR``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gitbook_nb import content
from gitbook_nb.content.review import FILTERS
from gitbook_nb.display import MissingDependencyError, Result
from gitbook_nb.errors import GitBookError
from gitbook_nb.notebook._magic_interp import MagicLineError, interpolate
from gitbook_nb.notebook._magic_output import Progress
from gitbook_nb.notebook._magic_parse import FEATURES, Command

__all__ = ["cr", "crs", "export", "page", "publish"]

_VAR_BODY = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


def _opt(magics: Any, cmd: Command, name: str) -> str | None:
    """An option's text with ``{name}`` read from the notebook, like the positional values
    (``--to {folder}``, ``--page {path}``); the parser leaves option values as typed."""
    value = cmd.options.get(name)
    if value is None:
        return None
    ns = magics.shell.user_ns if magics.shell is not None else {}
    return interpolate(str(value), ns, str, secrets=magics._live_secrets())


def _show(magics: Any, res: Result, cmd: Command) -> tuple[Any, Any]:
    """Like the magic's own tables (--columns, --json, max_rows, autopandas), but the bound
    value keeps its class (an ExportResult's DataFrame has every column, markdown included)."""
    opts = cmd.options
    shown = res.with_options(columns=list(opts.columns)) if opts.columns else res
    shown.max_rows = magics.max_rows
    bound = res.to_dataframe() if magics.autopandas else res
    if opts.json:
        return res.to_json(), bound
    return (bound if magics.autopandas else shown), bound


def page(magics: Any, cmd: Command) -> tuple[Any, Any]:
    space, path = cmd.args
    res = content.page(space, path, raw=bool(cmd.options.get("raw")), api=magics.api)
    return res, (res.to_dataframe() if magics.autopandas else res)


def export(magics: Any, cmd: Command) -> tuple[Any, Any]:
    (space,) = cmd.args
    to = _opt(magics, cmd, "to")
    concurrency = cmd.options.get("concurrency")  # None: the export_concurrency setting
    try:
        with Progress(f"export {space}") as bar:
            res = content.export(
                space,
                to,
                concurrency=None if concurrency is None else int(concurrency),
                progress=bar,
                api=magics.api,
            )
    except content.ExportError as err:
        name = cmd.options.output
        if name and magics.shell is not None:  # what was done is kept, and said
            magics.shell.user_ns[name] = err.result
            err.hint = f"{err.hint}; the pages done are in {name}"
        raise
    return _show(magics, res, cmd)


def _notebook_markdown(path: str) -> str:
    """A saved notebook as markdown, with nbconvert's markdown exporter (outputs included)."""
    try:
        from nbconvert import MarkdownExporter
    except ImportError:
        raise MissingDependencyError(
            "--notebook needs nbconvert, which is not installed", hint="pip install nbconvert"
        ) from None
    file = Path(path).expanduser()
    if file.suffix != ".ipynb" or not file.is_file():
        raise MagicLineError(
            f"--notebook needs a saved .ipynb file, not {path[:80]!r}",
            hint="give the notebook's path (save it first)",
        )
    try:
        body, _ = MarkdownExporter().from_filename(str(file))
    except (OSError, ValueError) as err:
        raise GitBookError(f"cannot convert {path[:80]}: {err}") from None
    return str(body)


def _markdown(magics: Any, cmd: Command) -> str:
    notebook = _opt(magics, cmd, "notebook")
    body = cmd.body
    usage = FEATURES["publish"].usage
    if notebook and body is not None:
        raise MagicLineError("give the markdown in the cell or with --notebook, not both")
    if notebook:
        return _notebook_markdown(notebook)
    if body is None:
        raise MagicLineError(
            "publish needs markdown: write it in the cell below %%gitbook publish SPACE, "
            "put {variable} there, or use --notebook FILE.ipynb",
            hint=f"usage: %%gitbook {usage}",
        )
    match = _VAR_BODY.fullmatch(body.strip())
    if match is None:
        return body
    ns = magics.shell.user_ns if magics.shell is not None else {}
    if match[1] not in ns:
        raise MagicLineError(f"{{{match[1]}}}: no variable named {match[1]} in the notebook")
    value = ns[match[1]]
    text = getattr(value, "markdown", value)  # a PageResult publishes its markdown
    if not isinstance(text, str):
        raise MagicLineError(f"{{{match[1]}}} is a {type(value).__name__}, not markdown text")
    return text


def publish(magics: Any, cmd: Command) -> tuple[Any, Any]:
    (space,) = cmd.args
    opts = cmd.options
    res = content.publish(
        space,
        _markdown(magics, cmd),
        page=_opt(magics, cmd, "page"),
        merge=bool(opts.get("merge")),
        title=_opt(magics, cmd, "title"),
        subject=_opt(magics, cmd, "subject"),
        dry_run=opts.dry_run,
        api=magics.api,
    )
    return res, res


def _filters(words: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:  # `crs SPACE merged` reads as status=merged
            key, value = "status", word
        if key not in FILTERS:
            raise MagicLineError(
                f"unknown filter {key[:40]!r}", hint=f"filters: {', '.join(FILTERS)}"
            )
        out[key] = value
    return out


def crs(magics: Any, cmd: Command) -> tuple[Any, Any]:
    space, *rest = cmd.args
    filters = _filters(tuple(rest))
    status = filters.pop("status", "open")
    opts = cmd.options
    if opts.all:
        with Progress(f"change requests {space}") as bar:
            res = content.change_requests(
                space,
                status,
                filters=filters,
                all_pages=True,
                limit=opts.limit,
                max_pages=opts.max_pages,
                progress=bar,
                api=magics.api,
            )
    else:
        res = content.change_requests(
            space, status, filters=filters, limit=opts.limit, api=magics.api
        )
    return _show(magics, res, cmd)


def cr(magics: Any, cmd: Command) -> tuple[Any, Any]:
    space, cr_id = cmd.args
    res = content.change_request(space, cr_id, api=magics.api)
    return _show(magics, res, cmd)
