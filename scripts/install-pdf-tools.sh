#!/usr/bin/env bash
# Install poppler-utils (pdftoppm, pdftotext) for tests/integration/test_report_pdf.py, which
# renders the report PDFs to PNG and reads their text back. Idempotent: does nothing when both
# are on PATH. Runs apt-get as root, or through sudo.
set -euo pipefail

if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-pdf-tools: no pdftoppm and no apt-get; install poppler-utils by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-pdf-tools: installing poppler-utils (apt-get)"
if ! apt-cache show poppler-utils >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends poppler-utils
