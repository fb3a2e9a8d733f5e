#!/usr/bin/env bash
# Install a headless browser for tests/e2e/test_browser_pages.py: Debian's chromium (the
# test drives it over the Chrome DevTools Protocol; no chromedriver needed). Idempotent: does
# nothing when chromium is already on PATH. Runs apt-get as root, or through sudo.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no chromium and no apt-get; install Chromium by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-browser: installing chromium (apt-get)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
