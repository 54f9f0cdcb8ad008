"""Small helpers shared by the test modules (imported as ``support``; tests/ is on sys.path)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
from typing import Any


class FakeClock:
    """A clock the test moves by hand (STYLE 1: inject time, never patch it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) computed independently of gitbook_nb (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# The end of a worker's code (``Worker``): it says it is ready, then answers each JSON line on
# stdin with one JSON line, ``run(cmd)``'s dict or the exception it raised, until "quit".
# The code before it imports json and sys and defines ``run``.
WORKER_LOOP = r"""
def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

reply({"ready": True})
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "quit":
        break
    try:
        out = run(cmd)
    except Exception as exc:
        out = {"exception": f"{type(exc).__name__}: {exc}"}
    reply(out)
"""


class Worker:
    """A fresh interpreter (``python -c code *args``; the code ends with :data:`WORKER_LOOP`)
    driven over stdin/stdout by JSON lines, so every step between processes waits on an
    explicit reply, never on a fixed sleep. Several kernels on one store are several workers.
    """

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ready(self) -> None:
        """Wait for the worker's first line (separate from starting it, so that several
        workers start at once and then all are waited for)."""
        assert self.recv() == {"ready": True}

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        """The next reply; a command that raised in the worker fails the test here."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker ended: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        out: dict[str, Any] = json.loads(line)
        assert "exception" not in out, out
        return out

    def call(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.recv()

    def close(self) -> None:
        """Ask it to quit, then drain and close its pipes (``communicate``)."""
        if self.proc.poll() is None:
            try:
                self.send(op="quit")
            except BrokenPipeError:
                pass
        self.proc.communicate()
