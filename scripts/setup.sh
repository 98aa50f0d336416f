#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: the bot's Python 3.11+ environment from the lock file.
# Re-running is cheap: nothing is reinstalled unless requirements.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "SafeStep needs Python 3.11 or newer (python3 --version)" >&2
  exit 1
}

if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
stamp=".venv/.requirements-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps -e .
  rm -f .venv/.requirements-*
  touch "$stamp"
fi
