#!/usr/bin/env bash
# Make sure the local PostgreSQL is up and the test database exists. Idempotent.
#
# Environment (all optional):
#   LEDGER_TEST_DB_HOST   default 127.0.0.1
#   LEDGER_TEST_DB_PORT   default 5432
#   LEDGER_TEST_DB_USER   default postgres   (also the owner of the created database)
#   LEDGER_TEST_DB_NAME   default ledger_test
#   LEDGER_TEST_DB_WAIT   seconds to wait for the server, default 30
#   LEDGER_TEST_DB_CLUSTER  Debian cluster name to start if the server is down, default main
#   LEDGER_TEST_DB_MIN_CONNECTIONS  max_connections the suite needs, default 300 (a local
#                           server below it is reconfigured and restarted once; every test
#                           container opens about 22 connections across its five event stores
#                           and the read-model engine, and replica tests run three at once)
set -euo pipefail

host="${LEDGER_TEST_DB_HOST:-127.0.0.1}"
port="${LEDGER_TEST_DB_PORT:-5432}"
user="${LEDGER_TEST_DB_USER:-postgres}"
dbname="${LEDGER_TEST_DB_NAME:-ledger_test}"
wait_s="${LEDGER_TEST_DB_WAIT:-30}"
cluster="${LEDGER_TEST_DB_CLUSTER:-main}"
min_connections="${LEDGER_TEST_DB_MIN_CONNECTIONS:-300}"

export PGCONNECT_TIMEOUT=5

die() {
    echo "setup-test-db: ERROR: $*" >&2
    exit 1
}
say() { echo "setup-test-db: $*"; }

for tool in pg_isready psql; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found; install the PostgreSQL client (Debian: apt-get install postgresql-client)."
done

is_ready() { pg_isready -q -h "$host" -p "$port" -U "$user" >/dev/null 2>&1; }

try_start() {
    # Only a local server can be started from here.
    case "$host" in 127.0.0.1 | localhost | ::1) ;; *) return 0 ;; esac
    command -v pg_ctlcluster >/dev/null 2>&1 || return 0
    [ -d /etc/postgresql ] || return 0
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    [ -n "$version" ] || return 0
    say "PostgreSQL is not answering on $host:$port; trying: pg_ctlcluster --skip-systemctl-redirect $version $cluster start"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start ||
        say "pg_ctlcluster could not start the cluster (continuing to wait)"
}

if ! is_ready; then
    try_start
    say "waiting up to ${wait_s}s for PostgreSQL on $host:$port ..."
    deadline=$((SECONDS + wait_s))
    until is_ready; do
        if ((SECONDS >= deadline)); then
            die "PostgreSQL is not reachable on $host:$port as user '$user' after ${wait_s}s.
  Start it (e.g. 'pg_ctlcluster --skip-systemctl-redirect <version> main start') or point
  LEDGER_TEST_DB_HOST / LEDGER_TEST_DB_PORT / LEDGER_TEST_DB_USER at a running server."
        fi
        sleep 1
    done
fi

psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d postgres "$@"
}

# Enough connections for the suite: raise max_connections on a local Debian cluster (restart).
current_max="$(psql_admin -tA -c "SHOW max_connections" 2>/dev/null || echo 0)"
if [ "${current_max:-0}" -lt "$min_connections" ]; then
    case "$host" in
    127.0.0.1 | localhost | ::1)
        if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
            version="$(ls /etc/postgresql | sort -V | tail -n 1)"
            say "max_connections is $current_max, the suite needs $min_connections: ALTER SYSTEM and restart $version/$cluster"
            psql_admin -c "ALTER SYSTEM SET max_connections = $min_connections"
            pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart
            deadline=$((SECONDS + wait_s))
            until is_ready; do
                ((SECONDS < deadline)) || die "PostgreSQL did not come back after the restart"
                sleep 1
            done
        else
            say "WARNING: max_connections is $current_max (< $min_connections); PostgreSQL tests may run out of connections"
        fi
        ;;
    *) say "WARNING: max_connections on $host is $current_max (< $min_connections); PostgreSQL tests may run out of connections" ;;
    esac
fi

db_exists() {
    [ "$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '${dbname//\'/\'\'}'")" = "1" ]
}

exists_out="$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '${dbname//\'/\'\'}'" 2>&1)" ||
    die "cannot query PostgreSQL on $host:$port as user '$user': $exists_out"

if [ "$exists_out" = "1" ]; then
    say "database '$dbname' already exists on $host:$port"
else
    ident="\"${dbname//\"/\"\"}\""
    owner="\"${user//\"/\"\"}\""
    if ! create_out="$(psql_admin -c "CREATE DATABASE $ident OWNER $owner" 2>&1)"; then
        # Another process may have created it in the meantime.
        db_exists || die "could not create database '$dbname': $create_out"
    fi
    say "created database '$dbname' (owner $user) on $host:$port"
fi
