#!/usr/bin/env bash
# Create .venv and install the project with pinned versions (requirements/constraints.txt pins the
# CPU build of torch, so no multi-GB CUDA download). Safe to run again: it only tops up.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
.venv/bin/python -c "import summarizer, torch; print(f'summarizer ready (torch {torch.__version__})')"
