"""%gitbook audit's scanner (SECURITY.md E7), as a pure function over notebook files and dicts."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from gitbook_nb.notebook.audit import AuditError, audit_notebook, preview, scan_text
from gitbook_nb.protocol.tokens import Secret


def new_token() -> str:
    return "gb_api_" + secrets.token_urlsafe(24)


def notebook(cells=(), metadata=None) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": list(cells)}


def code(source="", outputs=(), **extra) -> dict:
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "outputs": list(outputs),
        "execution_count": None,
        **extra,
    }


def kinds(findings) -> set[tuple]:
    return {(f.cell, f.part, f.kind) for f in findings}


def assert_never_full(findings, *values: str) -> None:
    text = repr(findings)
    for value in values:
        assert value not in text


def test_E7_finds_live_token_in_source_split_over_lines():
    tok = new_token()
    nb = notebook([code(["x = 1\n", f"t = '{tok[:12]}", f"{tok[12:]}'\n"])])
    found = audit_notebook(nb, live_token=tok)
    assert kinds(found) == {(0, "source", "live token")}
    assert found[0].preview == tok[:9] + "…"
    assert_never_full(found, tok)


def test_E7_finds_tokens_in_every_output_kind():
    live = new_token()
    legacy = secrets.token_hex(20)
    bearer = secrets.token_urlsafe(20)
    access = secrets.token_urlsafe(16)
    client = secrets.token_urlsafe(16)
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": [f"token: {legacy}\n"]},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                "text/html": f"<td>Authorization: Bearer {bearer}</td>",
                "text/plain": f"'{live}'",
            },
        },
        {
            "output_type": "execute_result",
            "metadata": {},
            "execution_count": 1,
            "data": {"application/json": {"access_token": access, "token_type": "bearer"}},
        },
        {
            "output_type": "error",
            "ename": "E",
            "evalue": "x",
            "traceback": [f"\x1b[0;31mclient_secret={client}\x1b[0m"],
        },
    ]
    found = audit_notebook(notebook([code("", outputs)]), live_token=live)
    assert kinds(found) == {
        (0, "outputs[0].text", "legacy token"),
        (0, "outputs[1].data.text/html", "bearer token"),
        (0, "outputs[1].data.text/plain", "live token"),
        (0, "outputs[2].data.application/json.access_token", "access_token"),
        (0, "outputs[3].traceback", "client_secret"),
    }
    assert_never_full(found, live, legacy, bearer, access, client)


def test_E7_finds_token_in_widget_state_metadata():
    tok = new_token()
    state = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {"abc": {"model_name": "TextModel", "state": {"value": tok}}},
        }
    }
    found = audit_notebook(notebook([], {"widgets": state}), live_token=tok)
    assert [(f.cell, f.kind) for f in found] == [(None, "live token")]
    assert found[0].part.startswith("metadata.widgets.application/vnd.jupyter.widget-state+json")


def test_E7_finds_token_in_cell_metadata_and_attachments():
    tok = new_token()
    png = b"\x89PNG\r\n\x1a\n" + b"tEXtComment\x00" + tok.encode() + b"\x00\x00"
    cell = {
        "cell_type": "markdown",
        "source": "![x](attachment:x.png)",
        "metadata": {"note": f"Bearer {tok}"},
        "attachments": {"x.png": {"image/png": base64.b64encode(png).decode()}},
    }
    found = audit_notebook(notebook([cell]), live_token=tok)
    assert kinds(found) == {
        (0, "metadata.note", "live token"),
        (0, "attachments.x.png.image/png (decoded)", "live token"),
    }


def test_E7_client_secret_and_shapes_without_a_live_token():
    secret = secrets.token_urlsafe(32)
    pat = new_token()
    nb = notebook(
        [
            code(
                f"print('{pat}')",
                [{"output_type": "stream", "name": "stdout", "text": f"secret is {secret}"}],
            )
        ]
    )
    found = audit_notebook(nb, client_secrets=[Secret(secret)])
    assert kinds(found) == {(0, "source", "gb_api token"), (0, "outputs[0].text", "client secret")}
    assert_never_full(found, secret, pat)


def test_E7_masked_values_and_env_references_are_not_findings():
    nb = notebook(
        [
            code(
                'curl -H "Authorization: Bearer $GITBOOK_TOKEN"',
                [
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "Authorization: Bearer ********\naccess_token=********\n",
                    }
                ],
            )
        ]
    )
    assert audit_notebook(nb) == []


def test_E7_audit_reads_a_saved_file(tmp_path):
    tok = new_token()
    path = tmp_path / "saved notebook.ipynb"
    path.write_text(json.dumps(notebook([code(), code(f"x = '{tok}'")])), encoding="utf-8")
    found = audit_notebook(path, live_token=Secret(tok))
    assert [(f.cell, f.part, f.kind) for f in found] == [(1, "source", "live token")]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no notebook"),
        ("not json", "cannot read"),
        ("[1, 2]", "not a notebook"),
    ],
)
def test_audit_errors_are_clear(tmp_path, content, message):
    path = tmp_path / "x.ipynb"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AuditError, match=message):
        audit_notebook(path)


def test_preview_never_shows_more_than_a_quarter():
    for value in ("abcd", "a" * 12, new_token(), secrets.token_hex(20)):
        shown = preview(value)
        assert shown.endswith("…") and len(shown) - 1 <= max(len(value) // 4, 0)
        assert len(shown) - 1 <= 9


def test_scan_text_reports_overlaps_once():
    tok = new_token()
    found = scan_text(f"Bearer {tok}", [("live token", tok)])
    assert found == [("live token", preview(tok))]


def test_deep_widget_state_does_not_hit_the_recursion_limit():
    deep: dict = {"v": new_token()}
    for _ in range(5000):
        deep = {"d": deep}
    found = audit_notebook(notebook([], {"widgets": deep}))
    assert [f.kind for f in found] == ["gb_api token"]
