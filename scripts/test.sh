#!/usr/bin/env bash
# The whole test suite: installs what it needs (.venv, pip packages, chromium), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest "$@"
