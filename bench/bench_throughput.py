"""Figure 5 (context): the sandbox's own throughput, 8 keep-alive clients on loopback.

The sandbox runs in its own process; the 8 clients are threads in this process, each with one
keep-alive ``http.client.HTTPConnection`` (lighter than requests, so the figure says more about
the server than the client) sending ``GET /v1/user`` with the personal token. Each round runs
for ``--seconds`` (and at most ``--max-requests`` requests per client, so the loop is bounded
in count and time); the figure is the median requests per second over rounds. On a 2-core
machine the client and the server each get about one core: read it as an order of magnitude,
and as proof the sandbox is not what limits figures 1 and 3.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Report, sandbox  # noqa: E402


def client_loop(
    host: str,
    port: int,
    headers: dict[str, str],
    deadline: float,
    cap: int,
    counts: list[int],
    errors: list[str],
    i: int,
    start: threading.Barrier,
) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    n = 0
    start.wait()
    try:
        while n < cap and time.perf_counter() < deadline:
            conn.request("GET", "/v1/user", headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(f"status {resp.status}")
                break
            n += 1
    except OSError as e:  # report, do not hide: a dropped keep-alive connection is a finding
        errors.append(repr(e))
    finally:
        conn.close()
        counts[i] = n


def one_round(
    url: str, token: str, clients: int, seconds: float, cap: int
) -> tuple[float, list[str]]:
    parts = urlsplit(url)
    headers = {
        "Authorization": f"Bearer {token}",
        "User-Agent": "bench",
        "Accept": "application/json",
    }
    counts = [0] * clients
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    t0 = time.perf_counter()
    deadline = t0 + seconds + 1.0  # threads start within the extra second
    threads = [
        threading.Thread(
            target=client_loop,
            args=(parts.hostname, parts.port, headers, deadline, cap, counts, errors, i, start),
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0), errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--max-requests", type=int, default=20_000, help="per client per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    rates: list[float] = []
    with sandbox(False) as sb:
        one_round(sb.url, sb.token, args.clients, 0.5, 200)  # warm-up
        for _ in range(args.rounds):
            rps, errors = one_round(sb.url, sb.token, args.clients, args.seconds, args.max_requests)
            if errors:
                print(f"  errors: {errors[:3]}")
            rates.append(rps)
            print(f"  round: {rps:,.0f} requests/s, {len(errors)} errors")
    med = statistics.median(rates)
    print(f"\nSandbox throughput, {args.clients} keep-alive clients: {med:,.0f} requests/s")
    report = Report("throughput")
    report.add(
        f"5. sandbox throughput, {args.clients} keep-alive clients, GET /v1/user",
        "context",
        f"{med:,.0f} req/s",
        None,
        f"median of {args.rounds} rounds of {args.seconds:.0f} s; server in its own "
        "process, clients are threads with http.client",
    )
    report.emit()


if __name__ == "__main__":
    main()
