"""The HTTP layer: a threaded HTTP/1.1 keep-alive server on loopback, and request routing.

Two details matter for speed (PITFALLS "40 ms stall"): every accepted socket gets
``TCP_NODELAY``, and a response's status line, headers and body leave in a single
``sendall`` (``http.server``'s own ``send_response``/``end_headers`` would write headers and
body separately, and Nagle plus delayed ACK then hold each keep-alive answer ~40 ms).
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Iterator
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import api_legacy, api_v1, oauth_current, oauth_legacy
from . import v1_change_requests as _change_request_routes  # noqa: F401 - adds /v1 routes
from . import v1_content as _content_routes  # noqa: F401 - adds /v1 routes
from .faults import apply
from .messages import Headers, Request, Response, error_for_path, html_response
from .pages import CALLBACK_SCRIPT, callback_page

if TYPE_CHECKING:
    from .app import Sandbox

MAX_BODY = 1024 * 1024  # request bodies the sandbox accepts (token forms, small JSON)


def route(sb: Sandbox, req: Request) -> Response:
    path = req.path
    if path == "/v1" or path.startswith("/v1/"):
        return api_v1.route(sb, req)
    for module in (oauth_current, oauth_legacy):
        resp = module.route(sb, req)
        if resp is not None:
            return resp
    if path == "/callback":
        address = sb.url + path + (f"?{req.query}" if req.query else "")
        return html_response(200, callback_page(address, req.params), (CALLBACK_SCRIPT,))
    return api_legacy.route(sb, req)


def dispatch(sb: Sandbox, req: Request) -> Response:
    """Route one request under the faults that fire for it; never raises."""
    try:
        if sb.latency > 0:
            sb.sleep(sb.latency)
        faults = sb.faults.take(req.path)
        if faults:
            return apply(faults, req, lambda r: route(sb, r), sleep=sb.sleep)
        return route(sb, req)
    except Exception:  # a sandbox bug must still answer, and be visible to tests
        sb.errors.append(traceback.format_exc())
        return error_for_path(req.path, 500, "Internal sandbox error")


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive connections never block interpreter exit
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sb: Sandbox, family: int) -> None:
        self.address_family = family
        self.sandbox = sb
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request is normal (timeouts, tests); stay quiet then."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        self.sandbox.errors.append(traceback.format_exc())

    def close_connections(self) -> None:
        with self.live_lock:
            conns, self.live = list(self.live), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitBookSandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.live_lock:
            self.server.live.add(self.connection)

    def finish(self) -> None:
        with self.server.live_lock:
            self.server.live.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _serve(self, head: bool = False) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._write(Response(411, b'{"error":"Length required"}'))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._write(Response(413 if length > 0 else 400, b'{"error":"Bad body length"}'))
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        req = Request(
            self.command if not head else "GET", path, query, Headers(self.headers.items()), body
        )
        sb = self.server.sandbox
        resp = dispatch(sb, req)
        sb.log(req, resp.status)
        self._write(resp, head=head)

    def _write(self, resp: Response, head: bool = False) -> None:
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {resp.content_type}",
            "Transfer-Encoding: chunked"
            if resp.stream is not None
            else f"Content-Length: {len(resp.body)}",
        ]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        try:
            if head:
                self.wfile.write(head_bytes)
            elif resp.stream is not None:
                self._stream(head_bytes, resp.stream)
            elif resp.drip is None:
                self.wfile.write(head_bytes + resp.body)  # one write: no Nagle stall
            else:
                self._drip(head_bytes, resp.body, *resp.drip)
        except OSError:
            self.close_connection = True

    def _stream(self, head: bytes, pieces: Iterator[bytes]) -> None:
        """Chunked transfer encoding, one chunk per piece: each leaves the socket at once
        (unbuffered writer, TCP_NODELAY), so a client sees the body grow."""
        self.wfile.write(head)
        try:
            for piece in pieces:
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a client that hung up stops the generator too

    def _drip(self, head: bytes, body: bytes, seconds: float, chunks: int) -> None:
        self.wfile.write(head)
        step = max(1, -(-len(body) // chunks))
        pieces = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
        for piece in pieces:
            time.sleep(seconds / len(pieces))
            self.wfile.write(piece)
