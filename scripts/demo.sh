#!/usr/bin/env bash
# The main job: JupyterLab on the quick-start tutorial against the embedded GitBook sandbox.
#   scripts/demo.sh               open it (prints the address with its token when no browser)
#   scripts/demo.sh --no-browser  only print the address
#   scripts/demo.sh --check       run the quick start headless and print one line (smoke check)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh demo
exec .venv/bin/python scripts/demo.py "$@"
