#!/usr/bin/env bash
# Install pg_auto_failover (Debian's postgresql-<major>-auto-failover, for the newest installed
# PostgreSQL server major) for scripts/ha-cluster.sh, the DR drill and their slow tests.
# Idempotent: does nothing when pg_autoctl runs. apt-get update runs only when the package
# lists do not know the package yet (as root, or through sudo).
set -euo pipefail

say() { printf 'install-auto-failover: %s\n' "$*"; }

if pg_autoctl --version >/dev/null 2>&1; then
    exit 0
fi
major="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)"
if [ -z "$major" ]; then
    say "no PostgreSQL server under /usr/lib/postgresql" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get; install pg_auto_failover for PostgreSQL $major by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
package="postgresql-$major-auto-failover"
if ! apt-cache show "$package" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
say "apt-get install $package"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >/dev/null
pg_autoctl --version >/dev/null
