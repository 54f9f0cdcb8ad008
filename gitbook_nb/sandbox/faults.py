"""Switchable faults: the ways real servers fail, on demand, for the whole server or one path.

A fault matches every request (``path=None``) or those whose path (without query) equals
``path``; ``times=N`` lets it fire on N requests only. Kinds and their parameters:

- ``latency(seconds=1.0)``: wait before answering (the answer itself is normal).
- ``status(code=500, message=...)``: answer with that status, in the path's API error shape.
- ``rate_limit(retry_after=30)``: 429 with ``Retry-After``.
- ``revoked``: every token answers 401 as revoked, in each API's own error shape.
- ``redirect(location=..., code=307)``: redirect, e.g. to another loopback server.
- ``huge(size=20 MiB)``: a valid JSON body of about ``size`` bytes.
- ``non_json(status=200)``: an HTML body where JSON was expected (a proxy's error page).
- ``drip(seconds=2.0, chunks=10)``: the normal body, sent slowly in ``chunks`` pieces.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .messages import Request, Response, error_for_path, json_response, redirect_response

_DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"seconds": 1.0},
    "status": {"code": 500, "message": None},
    "rate_limit": {"retry_after": 30},
    "revoked": {},
    "redirect": {"location": None, "code": 307},
    "huge": {"size": 20 * 1024 * 1024},
    "non_json": {"status": 200},
    "drip": {"seconds": 2.0, "chunks": 10},
}
KINDS = tuple(_DEFAULTS)


@dataclass
class Fault:
    id: int
    kind: str
    path: str | None
    times: int | None
    params: dict[str, Any] = field(default_factory=dict)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)

    def add(
        self, kind: str, path: str | None = None, times: int | None = None, **params: Any
    ) -> int:
        if kind not in _DEFAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(KINDS)}")
        unknown = set(params) - set(_DEFAULTS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no parameter {sorted(unknown)[0]!r}")
        if kind == "redirect" and not params.get("location"):
            raise ValueError("the redirect fault needs location=...")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for always)")
        if path is not None and not path.startswith("/"):
            raise ValueError("path must start with / (and has no query)")
        with self._lock:
            fault = Fault(next(self._ids), kind, path, times, {**_DEFAULTS[kind], **params})
            self._faults[fault.id] = fault
        return fault.id

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> list[Fault]:
        """The faults that fire for this request; each use counts against ``times``."""
        fired = []
        with self._lock:
            for fault in list(self._faults.values()):
                if fault.path is not None and fault.path != path:
                    continue
                fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[fault.id]
        return fired


def apply(
    faults: list[Fault],
    req: Request,
    handle: Callable[[Request], Response],
    sleep: Callable[[float], None] = time.sleep,
) -> Response:
    """Run ``handle`` under the fired faults. Faults that replace the answer win in order."""
    for f in faults:
        if f.kind == "latency":
            sleep(float(f.params["seconds"]))
    for f in faults:
        p = f.params
        if f.kind == "status":
            code = int(p["code"])
            return error_for_path(req.path, code, p["message"] or f"Fault injected: {code}")
        if f.kind == "rate_limit":
            resp = error_for_path(req.path, 429, "API rate limit exceeded, please retry later")
            return resp.header("Retry-After", str(p["retry_after"]))
        if f.kind == "redirect":
            return redirect_response(str(p["location"]), int(p["code"]))
    req.revoked_fault = any(f.kind == "revoked" for f in faults)
    resp = handle(req)
    for f in faults:
        p = f.params
        if f.kind == "huge":
            size = int(p["size"])
            resp = json_response(200, {"items": [], "padding": "x" * max(0, size - 25)})
        elif f.kind == "non_json":
            resp = Response(
                int(p["status"]),
                b"<html><head><title>502 Bad Gateway</title>"
                b"</head><body><h1>Bad Gateway</h1><p>The proxy got no answer."
                b"</p></body></html>",
                "text/html; charset=utf-8",
            )
        elif f.kind == "drip":
            resp.drip = (float(p["seconds"]), max(1, int(p["chunks"])))
    return resp
