#!/usr/bin/env bash
# Install promtool into .tools/bin for tests/infra/test_prometheus_rules.py (`promtool check rules`,
# `promtool test rules` on the chart's alerting rules). promtool comes from Debian's `prometheus`
# package: the package is downloaded and only its promtool binary is unpacked (installing the
# package would also install and start a Prometheus server). Idempotent: does nothing when
# .tools/bin/promtool runs. apt-get download needs no root; apt-get update runs only when the
# package lists do not know the package yet (as root, or through sudo).
#
# Variables: LEDGER_TOOLS_DIR (default <repo>/.tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LEDGER_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"

say() { printf 'install-promtool: %s\n' "$*"; }

if "$BIN/promtool" --version >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get; put a promtool binary into $BIN by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
if ! apt-cache show prometheus >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
chmod 777 "$WORK" # apt's download user writes here
(cd "$WORK" && apt-get download -qq prometheus 2>/dev/null)
dpkg-deb -x "$WORK"/prometheus_*.deb "$WORK/root"
mkdir -p "$BIN"
install -m 0755 "$WORK/root/usr/bin/promtool" "$BIN/promtool"
say "$("$BIN/promtool" --version 2>&1 | head -1)"
