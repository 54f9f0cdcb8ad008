#!/usr/bin/env bash
# Prepare .venv with gitbook_nb and what the chosen job needs. Idempotent and quiet when
# nothing changed. Usage: scripts/bootstrap.sh demo|test
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-test}"
PY="${PYTHON:-python3}"
# pip's download cache lives in the project (tests reuse it to build the Binder venv), not $HOME.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.cache/pip}"

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi

extras="pandas"
[ "$job" = "test" ] && extras="test"
stamp=".venv/.gitbook_nb-$job"
want="$(cat pyproject.toml binder/requirements.txt 2>/dev/null | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing gitbook_nb[$extras] and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]" jupyterlab jupyter-server-proxy
  echo "$want" > "$stamp"
fi

# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
if [ "$job" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "bootstrap: installing Debian's chromium for the browser tests (sudo)"
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: /usr/bin/chromium is missing and apt-get needs root; browser tests will skip"
  fi
fi
