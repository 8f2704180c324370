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
# Headless Chromium for the MLflow UI test (Debian's package, where apt is available).
bash scripts/install-browser.sh

# `dvc exp run --queue` and `--temp` run in a copy under .dvc/tmp/exps/, where the relative url of
# the `datasets` remote in .dvc/config points nowhere; DVC copies .dvc/config.local into that copy
# with absolute paths, so the remote is repeated there. A url already set locally is kept.
if ! .venv/bin/dvc remote list --local 2>/dev/null | grep -q '^datasets[[:space:]]'; then
  .venv/bin/dvc remote add --local datasets "$(.venv/bin/dvc remote list --project | awk '$1 == "datasets" {print $2}')"
fi
.venv/bin/python -c "import summarizer, torch; print(f'summarizer ready (torch {torch.__version__})')"
