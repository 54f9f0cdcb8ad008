"""``%gitbook`` / ``%%gitbook``: a thin router from a magic line to the session and display.

Modelled on IPython's ``extensions/storemagic.py`` (STYLE.md 7): a ``Magics`` class with config
traits, one small method per subcommand, a one-line ``load_ipython_extension``. Parsing lives
in ``_magic_parse`` (pure; its vocabulary in ``_magic_vocab``, hints in ``_magic_hints``), the
notebook scan in ``audit`` (pure), messages and the dry run in ``_magic_output``, feature
subcommands in ``_cmd_<feature>``. Every gitbook_nb error becomes a one-line IPython
``UsageError`` (no traceback); a bad line sends nothing (SECURITY.md G1, D4).

Config (``%config GitBookMagics.<name> = value``)::

    autopandas  bind and show pandas DataFrames instead of Results
    max_rows    rows drawn per table
    timeout     read timeout in seconds for API calls (the session's read_timeout)
    profile     the session profile (current, legacy, sandbox, sandbox-legacy)
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from IPython.core import magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, Unicode, observe

from gitbook_nb.display.result import Result
from gitbook_nb.errors import AuthenticationError, GitBookError
from gitbook_nb.kernel import session as _session
from gitbook_nb.notebook._line_memo import LineMemo
from gitbook_nb.notebook._login_flow import waiting_login
from gitbook_nb.notebook._magic_interp import LiveSecrets, MagicLineError
from gitbook_nb.notebook._magic_output import (
    DryRun,
    ErrorNote,
    Progress,
    explain,
    sandbox_auth_file,
)
from gitbook_nb.notebook._magic_parse import FEATURES, OPTION_SPECS, Command
from gitbook_nb.protocol.tokens import MASK, Secret

__all__ = ["GitBookMagics", "load_ipython_extension", "unload_ipython_extension"]

# --flow picks the profile of the same family, since a profile bundles a flow with its URLs.
_FLOW_PROFILES = {
    ("legacy", False): "legacy",
    ("current", False): "current",
    ("legacy", True): "sandbox-legacy",
    ("current", True): "sandbox",
}


def _magic_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Declare OPTION_SPECS (the parser's own list) as magic_arguments, for ``%gitbook?``."""
    func = magic_arguments.argument(
        "words",
        nargs="*",
        help="a subcommand (login, whoami, status, logout, config, history, audit, orgs, "
        "spaces ORG_ID, pages SPACE_ID, search SPACE_ID QUERY, books, page, export, publish, "
        "crs, cr, sites, site, insights, search --org, ask) or [METHOD] /path "
        "[key=value ...]; {name} is read from the notebook",
    )(func)
    for flags, kwargs in reversed(OPTION_SPECS):
        func = magic_arguments.argument(*flags, **kwargs)(func)
    func = magic_arguments.magic_arguments()(func)
    # magic_arguments writes reStructuredText ("::" before the usage); %gitbook? shows the
    # docstring as plain text, so say "Usage:" instead.
    func.__doc__ = (func.__doc__ or "").replace("::\n\n", "Usage:\n\n", 1)
    return func


@magics_class
class GitBookMagics(Magics):
    """Query GitBook from a notebook: ``%gitbook orgs``, ``%gitbook GET /user``, ..."""

    autopandas = Bool(False, help="Return pandas DataFrames instead of Results.").tag(config=True)
    max_rows = Int(50, min=1, help="Rows drawn per table.").tag(config=True)
    timeout = Float(
        None, allow_none=True, help="Read timeout (s) of API calls; None keeps the session's."
    ).tag(config=True)
    profile = Unicode("", help="Session profile; empty keeps the session's.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        # Injected, not patched (STYLE.md 3): tests swap in a recording API or a prompt.
        self.api: Any = _session
        # None: getpass.getpass looked up at call time, since ipykernel swaps it in per request
        self.secret_prompt: Callable[[str], str] | None = None
        # None: gitbook_nb.notebook.widget.login
        self.widget_factory: Callable[[], Any] | None = None
        self._memo = LineMemo()  # parsed lines and live secrets kept between calls (figure 1c)
        if shell is not None:
            shell.configurables.append(self)
        if self.profile:  # values from ipython_config.py arrive before the observers exist
            self._push(self.api.profile, self.profile)
        if self.timeout is not None:
            self._push(self._set_timeout, self.timeout)

    # ------------------------------------------------------------------ config traits
    @staticmethod
    def _push(setter: Callable[[Any], Any], value: Any) -> None:
        try:
            setter(value)
        except GitBookError as err:
            raise UsageError(explain(err)) from None

    @observe("profile")
    def _profile_changed(self, change: Any) -> None:
        if change["new"]:
            self._push(self.api.profile, change["new"])

    @observe("timeout")
    def _timeout_changed(self, change: Any) -> None:
        if change["new"] is not None:
            self._push(self._set_timeout, change["new"])

    def _set_timeout(self, seconds: float) -> None:
        deadline = self.api.get_session().settings.deadline
        extra = {"deadline": seconds} if seconds > deadline else {}
        self.api.configure(read_timeout=seconds, **extra)

    # ------------------------------------------------------------------ the magic
    @_magic_options
    @no_var_expand  # {name} is ours: URL- or JSON-encoded, never IPython's plain expansion
    @line_cell_magic
    def gitbook(self, line: str = "", cell: str | None = None) -> Any:
        """Call GitBook and show the answer as a table.

        Examples:

            %gitbook login [--profile sandbox|current|legacy] [--token] [--wait [SECONDS]]
            %gitbook whoami | status | logout | config | history
            %gitbook orgs | spaces ORG_ID | pages SPACE_ID | search SPACE_ID "query" | books
            %gitbook GET /path key=value --all --max-pages 5 --columns id,title -o result
            %gitbook GET /path --columns all
            %gitbook GET /path --dry-run
            %gitbook audit notebook.ipynb
            %gitbook page SPACE_ID PATH_OR_PAGE_ID [--raw]
            %gitbook export SPACE_ID [--to DIR] [-o VAR]
            %%gitbook publish SPACE_ID [--page PATH] [--title T] [--merge] [--dry-run]
            %gitbook crs SPACE_ID | cr SPACE_ID CR_ID
            %gitbook sites ORG_ID | site ORG_ID SITE_ID
            %gitbook insights ORG_ID SITE_ID [--by day|page|country] [--since 30d]
            %gitbook search --org ORG_ID "query" | ask ORG_ID "question"

        %%gitbook POST /path sends the cell body as JSON. {name} reads a variable of the
        notebook: URL-encoded in paths and queries, JSON-encoded in bodies; {{ is a brace.
        """
        live = self._live_secrets()
        debug = "--debug" in line.split()
        try:
            cmd = self._memo.parse(line, cell, self.shell.user_ns if self.shell else {}, live)
            if cmd.feature:
                shown, bound = self._do_feature(cmd)
            else:
                shown, bound = getattr(self, "_do_" + cmd.action)(cmd)
        except GitBookError as err:
            raise self._usage_error(explain(err, debug=debug, live=live, **self._where())) from None
        if cmd.options.output and bound is not None and self.shell is not None:
            self.shell.user_ns[cmd.options.output] = bound
        return shown

    def _where(self) -> dict[str, bool]:
        """Where the user is, for "not signed in": a waiting widget here? the sandbox?"""
        try:
            kernel = self.api.get_session()
            return {"waiting": waiting_login(kernel), "sandbox": kernel.sandbox is not None}
        except (GitBookError, AttributeError):
            return {"waiting": waiting_login(), "sandbox": False}

    def _usage_error(self, message: str) -> UsageError:
        """The one-line error. In a kernel it is also shown as HTML, which wraps between words
        (Jupyter's error box breaks lines anywhere, mid-word), and the error line itself is
        kept short; elsewhere (a terminal, tests) the message is the error's own text."""
        shell = self.shell
        if shell is None or getattr(shell, "kernel", None) is None or "\n" in message:
            return UsageError(message)
        from IPython.display import display

        display(ErrorNote(message))
        return UsageError("%gitbook stopped; the message above says why")

    def _live_secrets(self) -> LiveSecrets:
        """The live token and client secret (as Secrets), to refuse and scrub them (E5, E2)."""
        values: list[Any] = [
            os.environ.get("GITBOOK_TOKEN"),
            os.environ.get("GITBOOK_CLIENT_SECRET"),
        ]
        try:
            kernel = self.api.get_session()
            tok = kernel.token
            if tok is not None:
                values += [tok.access_token, tok.refresh_token]
            values.append(kernel.settings.client_secret)
        except (GitBookError, AttributeError):
            pass  # no usable settings yet: nothing live to compare with
        return self._memo.live(values)  # the same object while the values stay the same

    def _table(self, res: Result, cmd: Command) -> tuple[Any, Any]:
        """(what to show, what to bind) for a Result, honouring the options and traits."""
        opts = cmd.options
        if cmd.render == "pages":
            res = res.pages_table()
        if opts.columns:
            res = res.with_options(
                columns=list(opts.columns), tree=True if cmd.render == "pages" else None
            )
        res.max_rows = self.max_rows
        bound = res.to_dataframe() if self.autopandas else res
        return (res.to_json() if opts.json else bound), bound

    # ------------------------------------------------------------------ subcommands
    def _do_feature(self, cmd: Command) -> tuple[Any, Any]:
        """A FEATURES subcommand: its handler (imported on first use) does the work.

        A handler is ``handler(magics, cmd) -> (shown, bound)``; it may use ``magics.api``,
        ``magics.shell``, ``magics._table(result, cmd)`` and the config traits.
        """
        import importlib

        module, _, func = FEATURES[cmd.action].handler.partition(":")
        handler = getattr(importlib.import_module(f"gitbook_nb.notebook.{module}"), func)
        return handler(self, cmd)

    def _do_call(self, cmd: Command) -> tuple[Any, Any]:
        if cmd.api is not None:
            flow = self.api.get_session().settings.flow
            if flow != cmd.api:
                raise MagicLineError(
                    f"this shortcut is a {cmd.api} API call, but the session uses the {flow} API",
                    hint=f"%gitbook login --flow {cmd.api}, or use a raw path",
                )
        opts = cmd.options
        if opts.dry_run:
            sandbox = getattr(self.api.get_session(), "sandbox", None)
            view = DryRun(
                self.api.prepare(cmd.method, cmd.path, params=cmd.query, json=cmd.body),
                auth_file=sandbox_auth_file(sandbox) if sandbox is not None else None,
            )
            return view, view
        if opts.all:
            with Progress(f"{cmd.method} {cmd.path}") as bar:
                res = self.api.paginate(
                    cmd.path,
                    params=cmd.query,
                    max_pages=opts.max_pages,
                    limit=opts.limit,
                    progress=bar,
                )
        else:
            res = self.api.request(cmd.method, cmd.path, params=cmd.query, json=cmd.body)
        return self._table(res, cmd)

    def _do_login(self, cmd: Command) -> tuple[Any, Any]:
        opts = cmd.options
        if opts.profile:
            self.api.profile(opts.profile)
        if opts.flow:
            current = self.api.get_session().settings.profile
            sandbox = current.startswith("sandbox")
            self.api.profile(_FLOW_PROFILES[(opts.flow, sandbox)])
        if opts.get("scopes"):  # --scopes a,b: ask for these too (e.g. site:insights:read)
            asked = self.api.get_session().settings.scopes
            extra = [w for w in opts.get("scopes").replace(",", " ").split() if w not in asked]
            self.api.configure(scopes=[*asked, *extra])
        if not opts.token:
            factory = self.widget_factory or _widget_login
            widget = factory()  # displays itself; returning it binds it without a 2nd drawing
            wait = opts.get("wait")
            if wait is not None:  # --wait [SECONDS]: hold the cell until the sign-in ends
                from gitbook_nb.notebook.widget import wait_for

                wait_for(widget, None if wait == float("inf") else wait)
            return widget, widget
        host = self.api.status().get("host", "GitBook")
        try:  # wrapped at once: the typed token never sits in a plain local (E1)
            prompt = self.secret_prompt or getpass.getpass
            secret = Secret(prompt(f"GitBook personal access token for {host}: "))
        except (EOFError, KeyboardInterrupt, OSError, RuntimeError):
            raise MagicLineError(
                "no token was entered", hint="set GITBOOK_TOKEN, or use %gitbook login"
            ) from None
        try:
            self.api.login_with_token(secret)
        except AuthenticationError as err:
            raise AuthenticationError(
                f"{host} refused that token ({err.status or 401}); the previous sign-in is kept",
                status=err.status,
                hint="check the token (it may be expired or revoked) and run %gitbook login "
                "--token again",
            ) from None
        who = self.api.whoami().get("name")
        where = self.api.status().get("token_stored_in") or "kernel memory"
        print(f"Signed in as {who} on {host}; the token is kept in {where}.")
        return None, None

    def _do_whoami(self, cmd: Command) -> tuple[Any, Any]:
        # Only the fields that have a value (the legacy API has no username on GitBook v1).
        who = self.api.whoami()
        shown = {k: v for k, v in who.items() if v not in (None, "")}
        return self._table(Result(shown, method="", path=""), cmd)

    def _do_status(self, cmd: Command) -> tuple[Any, Any]:
        return self._table(Result(self.api.status(), method="", path=""), cmd)

    def _do_logout(self, cmd: Command) -> tuple[Any, Any]:
        info = self.api.logout()
        self._memo.forget()  # the memo holds no reference to the token that was signed out
        text = (
            f"Signed out of {info.get('host')}." if info.get("was_signed_in") else "Not signed in."
        )
        if info.get("note"):
            text += f" Note: {info['note']}."
        print(text)
        return None, None

    def _do_config(self, cmd: Command) -> tuple[Any, Any]:
        if cmd.settings:
            changes = {k: _setting_value(v) for k, v in cmd.settings}
            self.api.configure(**changes)
        settings = self.api.get_session().settings
        shown = {f.name: _masked(getattr(settings, f.name)) for f in fields(settings)}
        return self._table(Result(shown, method="", path=""), cmd)

    def _do_history(self, cmd: Command) -> tuple[Any, Any]:
        calls = self.api.history()
        note = None if calls else "no calls yet in this kernel"
        return self._table(Result(calls, method="", path="", note=note), cmd)

    def _do_audit(self, cmd: Command) -> tuple[Any, Any]:
        path = cmd.args[0] if cmd.args else self._current_notebook()
        live = []
        try:
            kernel = self.api.get_session()
            tok = kernel.token
            if tok is not None:
                live += [tok.access_token] + ([tok.refresh_token] if tok.refresh_token else [])
            extra = [kernel.settings.client_secret]
        except (GitBookError, AttributeError):
            extra = []
        extra.append(os.environ.get("GITBOOK_CLIENT_SECRET"))
        from gitbook_nb.notebook.audit import (
            audit_notebook,  # only `%gitbook audit` needs it: keep %load_ext light
        )

        findings = audit_notebook(
            path, live_token=live[0] if live else None, client_secrets=[*live[1:], *extra]
        )
        rows = [f.as_row() for f in findings]
        note = (
            f"{len(rows)} finding(s) in the saved file {path}: remove them, clear the "
            "outputs, and revoke the token"
            if rows
            else f"no tokens or secrets found in the saved file {path}"
        )
        return self._table(Result(rows, method="", path="", note=note), cmd)

    def _current_notebook(self) -> str:
        ns = self.shell.user_ns if self.shell else {}
        path = ns.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
        if not path or not str(path).endswith(".ipynb"):
            raise MagicLineError(
                "which notebook? its path is not known here",
                hint="%gitbook audit path/to/notebook.ipynb (save it first)",
            )
        return str(path)


def _widget_login() -> Any:
    from gitbook_nb.notebook.widget import login  # ipywidgets only when a login widget is wanted

    return login()


def _setting_value(text: str) -> Any:
    """``config key=value``: the text as typed; config.normalize coerces numbers and lists."""
    return None if text.strip().lower() in ("none", "null", "") else text


def _masked(value: Any) -> Any:
    if isinstance(value, Secret):
        return f"{MASK} (set)"
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return value


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(GitBookMagics)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.pop("GitBookMagics", None)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("gitbook", None)
    if magics is not None and magics in ipython.configurables:
        ipython.configurables.remove(magics)
