#!/usr/bin/env bash
# The main job: the quick-start tutorial against the embedded GitBook sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh demo
exec .venv/bin/python -m gitbook_nb.demo "$@"
