#!/usr/bin/env bash
# Install Debian's Chromium for the browser test of the MLflow UI (tests/service/test_mlflow_ui.py).
# Playwright drives this system browser: its own browser download is not reachable from our
# machines, while the Debian mirror is. Never fails: without apt or root the test skips and says
# why, so setup goes on.
set -uo pipefail

for browser in chromium chromium-browser; do
  if command -v "$browser" >/dev/null 2>&1; then
    echo "browser ready: $("$browser" --version 2>/dev/null | head -n 1)"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install Chromium yourself for the MLflow UI test (it skips without it)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "not root and no password-less sudo: run 'sudo apt-get install chromium' for the MLflow UI test (it skips without it)"
  exit 0
fi

echo "installing Debian's chromium for the MLflow UI test..."
log="$(mktemp)"
export DEBIAN_FRONTEND=noninteractive
# --no-install-recommends: the recommended extras (fonts, drivers for a desktop) are ~100 MB the
# headless test does not need.
if "${as_root[@]}" apt-get update -qq >"$log" 2>&1 \
  && "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1; then
  echo "browser ready: $(chromium --version 2>/dev/null | head -n 1)"
else
  echo "could not install chromium with apt-get (the MLflow UI test will skip); last lines:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
