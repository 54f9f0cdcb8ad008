#!/usr/bin/env bash
# Prepare .venv with gitbook_nb and what the chosen job needs. Idempotent and quiet when
# nothing changed. Usage: scripts/bootstrap.sh demo|test
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-test}"
PY="${PYTHON:-python3}"
# pip's download cache lives in the project (tests reuse it to build the Binder venv), not $HOME.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.cache/pip}"
mkdir -p .cache
# pip's notices (index locations, build-backend warnings) go to a log a person reads only when
# an install fails; the command then prints its tail and stops.
pip_quiet() {
  if ! .venv/bin/python -m pip "$@" --quiet --disable-pip-version-check >.cache/pip.log 2>&1; then
    tail -n 30 .cache/pip.log >&2
    echo "bootstrap: pip failed (full log: .cache/pip.log)" >&2
    return 1
  fi
}

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
  pip_quiet install --upgrade pip
  pip_quiet install -e ".[$extras]" jupyterlab jupyter-server-proxy
  echo "$want" > "$stamp"
fi

# The Binder environment test builds a venv offline: fetch every wheel it needs now (the test
# itself never touches the network). jupyter-repo2docker is optional: its check skips without it.
wheels=.cache/wheels
if [ "$job" = "test" ] && { [ ! -f "$wheels/.complete" ] || [ "$(cat "$wheels/.complete")" != "$want" ]; }; then
  echo "bootstrap: fetching wheels for the offline Binder environment test into $wheels"
  rm -rf "$wheels" && mkdir -p "$wheels"
  grep -vE '^[[:space:]]*(#|\.|$)' binder/requirements.txt > "$wheels/binder-requirements.txt"
  pip_quiet wheel -w "$wheels" \
    ".[pandas,plot]" -r "$wheels/binder-requirements.txt" pytest nbval "setuptools>=77" wheel
  pip_quiet wheel -w "$wheels" jupyter-repo2docker \
    || echo "bootstrap: jupyter-repo2docker could not be fetched; its configuration check will skip"
  echo "$want" > "$wheels/.complete"
fi

# The JupyterHub browser test routes through configurable-http-proxy, an npm package.
if [ "$job" = "test" ] && [ ! -x .cache/chp/node_modules/.bin/configurable-http-proxy ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian's nodejs and npm for configurable-http-proxy"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    echo "bootstrap: installing configurable-http-proxy (npm) into .cache/chp"
    npm install --silent --no-audit --no-fund --prefix .cache/chp configurable-http-proxy@5 \
      >.cache/npm.log 2>&1 || echo "bootstrap: npm could not install configurable-http-proxy; the JupyterHub test will skip"
  else
    echo "bootstrap: npm is missing; the JupyterHub browser test will skip"
  fi
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
