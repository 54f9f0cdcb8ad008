"""``python -m gitbook_nb.sandbox [--port N] [--books N] [--spaces N]``: run a sandbox.

Prints the URL, the demo app's credentials and a personal access token, then serves until
Ctrl-C. The credentials are random per run and only valid for this local server.
"""

from __future__ import annotations

import argparse
import threading

from .app import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gitbook_nb.sandbox", description="Run the GitBook sandbox on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--books", type=int, default=None, help="number of books of 'ada'")
    parser.add_argument("--spaces", type=int, default=None, help="spaces in the first org")
    parser.add_argument("--error-style", choices=("github", "rfc6749"), default="github")
    args = parser.parse_args(argv)
    try:  # Ctrl-C may come at any moment, even while starting or stopping
        with Sandbox(
            args.port, books=args.books, spaces=args.spaces, error_style=args.error_style
        ) as sb:
            # Printing credentials is the point of this command (issue 2): they are random per
            # run, valid only on this loopback server, and die with it. Library code never prints.
            print(f"GitBook sandbox running at {sb.url}  (current API: {sb.url}/v1)")
            print(f"  demo client id:     {sb.client_id}")
            print(f"  demo client secret: {sb.client_secret}")
            print(f"  redirect URI:       {sb.redirect_uri}")
            print(f"  personal token:     {sb.personal_token}")
            print(f"  try: curl -H 'Authorization: Bearer {sb.personal_token}' {sb.url}/v1/user")
            print("Press Ctrl-C to stop.", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
