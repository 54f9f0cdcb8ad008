"""A plain stdlib HTTP/1.1 keep-alive server answering ``GET /v1/user``: a second floor.

Issue 14's figure 1c is also measured against a server that does almost nothing (no token
checks, no routing, no rate-limit bookkeeping), where a client's own overhead weighs more than
against the sandbox. It answers any ``/v1/user`` or ``/user`` GET with a fixed user object,
headers and body in one write with TCP_NODELAY (PITFALLS: the 40 ms stall otherwise).

Prints one JSON line (``url``, a throwaway ``token`` the server does not check) once listening,
then serves until stdin closes. Never used by tests.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER = json.dumps(
    {
        "object": "user",
        "id": "u-bench",
        "displayName": "Ada Lovelace",
        "email": "ada@example.com",
        "photoURL": "https://example.com/ada.png",
        "urls": {"location": "https://app.gitbook.com/u/ada"},
    }
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        ok = path in ("/v1/user", "/user")
        body = USER if ok else b'{"error":{"code":404,"message":"Not found"}}'
        head = (
            f"HTTP/1.1 {200 if ok else 404} {'OK' if ok else 'Not Found'}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.wfile.write(head + body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "token": "bench-not-checked"}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
