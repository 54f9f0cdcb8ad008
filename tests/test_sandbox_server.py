"""The sandbox as a server: keep-alive, TCP_NODELAY, concurrency, lifecycle, log, CLI."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter

import pytest
import requests

from gitbook_nb.sandbox import ConsentError, Sandbox


def test_binds_loopback_only():
    with pytest.raises(ValueError):
        Sandbox(host="0.0.0.0")  # noqa: S104 - the point of the test
    with Sandbox() as sb:
        assert sb.url == f"http://127.0.0.1:{sb.port}" and not sb.url.endswith("/")
        assert sb.redirect_uri == sb.url + "/callback"
        assert "secret" not in repr(sb) and sb.client_secret not in repr(sb)


def test_error_style_is_validated():
    sb = Sandbox(error_style="rfc6749")
    assert sb.error_style == "rfc6749"
    with pytest.raises(ValueError):
        sb.error_style = "xml"
    with pytest.raises(ValueError):
        Sandbox(error_style="github-ish")


def test_url_needs_a_started_server():
    sb = Sandbox()
    with pytest.raises(RuntimeError):
        _ = sb.url
    sb.start()
    try:
        assert requests.get(sb.url + "/v1/", timeout=5).ok
    finally:
        sb.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{sb.port}/v1/", timeout=5)


def test_each_instance_has_its_own_secret_and_token():
    a, b = Sandbox(), Sandbox()
    assert a.client_secret != b.client_secret and len(a.client_secret) >= 32
    assert a.personal_token != b.personal_token and a.personal_token.startswith("gb_api_")


def test_keep_alive_on_one_connection(sb):
    conn = http.client.HTTPConnection(sb.host, sb.port, timeout=10)
    try:
        for _ in range(20):
            conn.request(
                "GET", "/v1/user", headers={"Authorization": f"Bearer {sb.personal_token}"}
            )
            resp = conn.getresponse()
            assert resp.status == 200 and resp.version == 11
            assert resp.getheader("Connection") != "close"
            resp.read()
        first_sock = conn.sock
        conn.request("GET", "/v1/")
        conn.getresponse().read()
        assert conn.sock is first_sock  # the same TCP connection all along
    finally:
        conn.close()


def test_tcp_nodelay_on_accepted_sockets(sb):
    """PITFALLS "40 ms stall": the server must set TCP_NODELAY on each connection."""
    session = requests.Session()
    session.get(sb.url + "/v1/").raise_for_status()
    live = list(sb._server.live)
    assert live, "a keep-alive connection should be open"
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in live)
    session.close()


def test_headers_and_body_leave_in_one_send(sb):
    """The whole response arrives in the first segment: no separate header write."""
    raw = socket.create_connection((sb.host, sb.port), timeout=10)
    try:
        raw.sendall(b"GET /v1/ HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n")
        data = raw.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        assert len(body) == length > 0
    finally:
        raw.close()


def test_concurrency_8_threads_2000_requests(sb):
    errors: list[str] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    paths = [
        "/v1/user",
        "/v1/orgs",
        f"/v1/spaces/{sb.ids['space']}/content",
        f"/v1/orgs/{sb.ids['org']}/spaces",
        "/account",
        "/books?limit=5",
    ]

    def worker(n: int) -> None:
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {sb.mint_token()}"
            for i in range(250):
                try:
                    r = s.get(sb.url + paths[(n + i) % len(paths)], timeout=30)
                    r.json()
                    with lock:
                        statuses[r.status_code] += 1
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    with lock:
                        errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and statuses == Counter({200: 2000})
    assert sb.errors == []


def test_request_log(sb):
    requests.post(
        sb.url + "/oauth/access_token", data={"code": "abc", "client_id": "x"}, timeout=10
    )
    entry = sb.requests[-1]
    assert (entry.method, entry.path, entry.status) == ("POST", "/oauth/access_token", 200)
    assert entry.form["code"] == ["abc"] and b"code=abc" in entry.body
    assert entry.headers["content-type"].startswith("application/x-www-form-urlencoded")
    requests.get(sb.url + "/v1/user?x=1", timeout=10)
    assert sb.requests[-1].query == "x=1" and sb.requests[-1].params == {"x": ["1"]}
    sb.clear_log()
    assert sb.requests == []


def test_approve_refuses_foreign_urls_and_reports_bad_requests(sb):
    with pytest.raises(ConsentError):
        sb.approve("http://127.0.0.1:1/oauth/authorize?client_id=x")
    with pytest.raises(ConsentError, match="Unknown application"):
        sb.approve(sb.url + "/oauth/authorize?client_id=nope&redirect_uri=x")


def test_command_line_prints_url_and_credentials():
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitbook_nb.sandbox", "--port", "0", "--books", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    try:
        lines = []
        assert proc.stdout is not None
        while not any(line.startswith("Press Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            assert line, "the command ended early"
            lines.append(line)
        text = "".join(lines)
        url = text.split("running at ")[1].split()[0]
        token = text.split("personal token:")[1].split()[0]
        assert "demo client id:" in text and "demo client secret:" in text
        books = requests.get(
            url + "/books", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert books["total"] == 120
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
