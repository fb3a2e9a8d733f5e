#!/usr/bin/env bash
# A local PostgreSQL HA cluster managed by a real failover engine: pg_auto_failover (a
# monitor and two nodes, primary + synchronous standby), each on its own port with its data
# directory under var/ha/ (gitignored). It stands in for Aurora's managed failover in the
# DR drill (scripts/dr-drill.sh, docs/operations.md §8). Idempotent; nothing by hand.
#
#   scripts/ha-cluster.sh up        create (first time) or start the monitor and both nodes,
#                                   wait for a primary and a streaming standby
#   scripts/ha-cluster.sh down      stop everything (keeps the data; --purge removes it)
#   scripts/ha-cluster.sh status    roles, states and replication lag (bytes and seconds)
#   scripts/ha-cluster.sh url       the application's URL: both nodes, target_session_attrs
#   scripts/ha-cluster.sh primary   the port of the current primary
#   scripts/ha-cluster.sh kill-primary   SIGKILL the primary node (keeper and postgres): the
#                                   node is lost, the monitor promotes the standby
#   scripts/ha-cluster.sh async|sync     asynchronous / synchronous replication to the standby
#
# Environment (all optional):
#   LEDGER_HA_DIR        default <repo>/var/ha
#   LEDGER_HA_PORT       first port, default 6540 (monitor; nodes on +1 and +2)
#   LEDGER_HA_DBNAME     default ledger
#   LEDGER_HA_WAIT       seconds to wait for the cluster, default 120
#   LEDGER_HA_PG_BIN     default /usr/lib/postgresql/<newest installed>/bin
# Needs Debian's postgresql-<major>-auto-failover for the installed major (apt-get install);
# runs the PostgreSQL binaries as the postgres user when started as root.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${LEDGER_HA_DIR:-$repo/var/ha}"
base_port="${LEDGER_HA_PORT:-6540}"
dbname="${LEDGER_HA_DBNAME:-ledger}"
wait_s="${LEDGER_HA_WAIT:-120}"
monitor_port="$base_port"
node_ports=("$((base_port + 1))" "$((base_port + 2))")

die() {
    echo "ha-cluster: ERROR: $*" >&2
    exit 1
}
say() { echo "ha-cluster: $*" >&2; }

if [ -z "${LEDGER_HA_PG_BIN:-}" ]; then
    major="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)"
    [ -n "$major" ] || die "no PostgreSQL server installed under /usr/lib/postgresql"
    LEDGER_HA_PG_BIN="/usr/lib/postgresql/$major/bin"
fi
pg_bin="$LEDGER_HA_PG_BIN"
major="$("$pg_bin/pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
command -v pg_autoctl >/dev/null 2>&1 ||
    die "pg_autoctl not found: apt-get install postgresql-$major-auto-failover"

# Run as the postgres user (PostgreSQL refuses root), with pg_autoctl's configuration and
# state under $dir rather than the user's home.
as_pg() {
    local env=(env "XDG_CONFIG_HOME=$dir/config" "XDG_DATA_HOME=$dir/share" "PATH=$pg_bin:$PATH"
        "PG_CONFIG=$pg_bin/pg_config")
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "${env[@]}" "$@"
    else
        "${env[@]}" "$@"
    fi
}

monitor_uri() { echo "postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"; }
psql_at() { psql -X -qAt -h 127.0.0.1 -p "$1" -U postgres -d "${2:-postgres}" -c "$3" 2>/dev/null; }
keeper_pid() { pgrep -f -x "pg_autoctl run --pgdata $1" | head -n 1 || true; }

start_keeper() { # name pgdata create-args...
    local name="$1" pgdata="$2"
    shift 2
    if [ -n "$(keeper_pid "$pgdata")" ]; then
        return 0
    fi
    if [ ! -f "$pgdata/PG_VERSION" ] || [ ! -f "$dir/created-$name" ]; then
        say "creating $name"
        rm -rf "$pgdata"
        as_pg pg_autoctl "$@" --pgdata "$pgdata" >>"$dir/log/$name-create.log" 2>&1 ||
            die "pg_autoctl $* failed; see $dir/log/$name-create.log"
        touch "$dir/created-$name"
    fi
    [ "$name" = monitor ] || tune_node "$pgdata"
    say "starting $name"
    # setsid: the keeper survives this script; its exact command line is what keeper_pid finds.
    as_pg setsid pg_autoctl run --pgdata "$pgdata" >>"$dir/log/$name.log" 2>&1 </dev/null &
}

wait_for() { # description command...
    local what="$1"
    shift
    local deadline=$((SECONDS + wait_s))
    until "$@"; do
        ((SECONDS < deadline)) || die "timed out after ${wait_s}s waiting for $what (logs: $dir/log)"
        sleep 1
    done
}

monitor_ready() { psql_at "$monitor_port" pg_auto_failover "select 1" | grep -q 1; }

node_states() { # "port reported assigned" per node
    psql_at "$monitor_port" pg_auto_failover \
        "select nodeport, reportedstate, goalstate from pgautofailover.node order by nodeid" |
        tr '|' ' '
}

cluster_healthy() {
    local states
    states="$(node_states)"
    echo "$states" | grep -q ' primary primary$' &&
        echo "$states" | grep -q ' secondary secondary$'
}

# Detection and demotion times of the failover engine. The defaults (health check every 5 s,
# unhealthy after 20 s, then 30 s for the lost primary to demote itself) fail over in about
# 52 s here; these fail over in about 15 s. A primary that cannot reach the monitor nor its
# standby demotes itself after network_partition_timeout (5 s, set on every node below),
# well before the monitor gives up waiting for it (primary_demote_timeout, 10 s): no two
# primaries, even when the "lost" node is only cut off.
MONITOR_SETTINGS=(
    "pgautofailover.health_check_period=1000"
    "pgautofailover.health_check_timeout=1000"
    "pgautofailover.health_check_max_retries=1"
    "pgautofailover.health_check_retry_delay=500"
    "pgautofailover.node_considered_unhealthy_timeout=5000"
    "pgautofailover.primary_demote_timeout=10000"
)
NODE_TIMEOUTS=(
    "timeout.network_partition_timeout=5"
)

tune_monitor() {
    local setting
    for setting in "${MONITOR_SETTINGS[@]}"; do
        psql_at "$monitor_port" pg_auto_failover \
            "alter system set ${setting%%=*} = '${setting#*=}'" >/dev/null ||
            die "cannot set $setting on the monitor"
    done
    psql_at "$monitor_port" pg_auto_failover "select pg_reload_conf()" >/dev/null
}

tune_node() { # pgdata
    local setting
    for setting in "${NODE_TIMEOUTS[@]}"; do
        as_pg pg_autoctl config set --pgdata "$1" "${setting%%=*}" "${setting#*=}" >/dev/null
    done
}

up() {
    mkdir -p "$dir/log" "$dir/config" "$dir/share"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    start_keeper monitor "$dir/monitor" create monitor --pgport "$monitor_port" \
        --hostname 127.0.0.1 --auth trust --no-ssl --pgctl "$pg_bin/pg_ctl"
    wait_for "the monitor" monitor_ready
    tune_monitor
    local i
    for i in 0 1; do
        start_keeper "node$((i + 1))" "$dir/node$((i + 1))" create postgres \
            --pgport "${node_ports[$i]}" --hostname 127.0.0.1 --name "node$((i + 1))" \
            --dbname "$dbname" --auth trust --no-ssl --pgctl "$pg_bin/pg_ctl" \
            --monitor "$(monitor_uri)"
        # The second node clones the first: wait for the first to be a primary.
        [ "$i" = 0 ] && wait_for "node1 to register" bash -c \
            "psql -X -qAt -h 127.0.0.1 -p $monitor_port -U postgres -d pg_auto_failover \
             -c 'select 1 from pgautofailover.node' 2>/dev/null | grep -q 1"
    done
    wait_for "a primary and a streaming standby" cluster_healthy
    say "up: $(url)"
}

down() {
    local name pgdata pid
    for name in node2 node1 monitor; do
        pgdata="$dir/$name"
        pid="$(keeper_pid "$pgdata")"
        if [ -n "$pid" ]; then
            as_pg pg_autoctl stop --pgdata "$pgdata" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        fi
    done
    for name in node2 node1 monitor; do
        pgdata="$dir/$name"
        local deadline=$((SECONDS + 30))
        while [ -n "$(keeper_pid "$pgdata")" ] && ((SECONDS < deadline)); do sleep 0.5; done
        if [ -f "$pgdata/postmaster.pid" ]; then
            as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
        fi
    done
    if [ "${1:-}" = "--purge" ]; then
        rm -rf "$dir"
        say "down (purged $dir)"
    else
        say "down"
    fi
}

primary_port() {
    psql_at "$monitor_port" pg_auto_failover \
        "select nodeport from pgautofailover.node where reportedstate in ('primary','wait_primary','single') and goalstate = reportedstate order by nodeid limit 1"
}

url() {
    echo "postgresql://postgres@127.0.0.1:${node_ports[0]},127.0.0.1:${node_ports[1]}/$dbname?target_session_attrs=read-write&connect_timeout=2"
}

status() {
    if ! monitor_ready; then
        echo "monitor: down (port $monitor_port)"
        return 1
    fi
    echo "monitor: up (port $monitor_port)"
    as_pg pg_autoctl show state --pgdata "$dir/monitor" 2>/dev/null || true
    echo
    printf '%-6s %-6s %-14s %-14s %s\n' node port reported assigned "replication (standby, mode, lag)"
    local name port reported assigned lag
    while IFS='|' read -r name port reported assigned; do
        lag=""
        if [ "$reported" = primary ] || [ "$reported" = wait_primary ]; then
            lag="$(psql_at "$port" postgres "select coalesce(string_agg(application_name || ' ' || sync_state || ' ' || pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) || ' bytes, replay ' || coalesce(extract(epoch from replay_lag)::text, '0') || ' s', '; '), 'no standby') from pg_stat_replication" || echo unreachable)"
        fi
        printf '%-6s %-6s %-14s %-14s %s\n' "$name" "$port" "$reported" "$assigned" "$lag"
    done < <(psql_at "$monitor_port" pg_auto_failover \
        "select nodename, nodeport, reportedstate, goalstate from pgautofailover.node order by nodeid")
}

kill_primary() {
    local port
    port="$(primary_port)"
    [ -n "$port" ] || die "no primary"
    local name=node1
    [ "$port" = "${node_ports[1]}" ] && name=node2
    local pgdata="$dir/$name" keeper
    keeper="$(keeper_pid "$pgdata")"
    [ -n "$keeper" ] || die "no keeper runs for $name"
    # The whole node is lost at once: its keeper (which would restart postgres), postgres and
    # every backend. setsid made the keeper a session leader, so its session is the node.
    pkill -KILL -s "$(ps -o sid= -p "$keeper" | tr -d ' ')" || true
    echo "$port"
}

set_sync() { # true|false
    local port
    for port in "${node_ports[@]}"; do
        as_pg pg_autoctl set node replication-quorum "$1" --pgdata "$dir/node$(( port - base_port ))" \
            >/dev/null 2>&1 || true
    done
}

case "${1:-}" in
    up) up ;;
    down) down "${2:-}" ;;
    status) status ;;
    url) url ;;
    primary) primary_port ;;
    kill-primary) kill_primary ;;
    async) set_sync false ;;
    sync) set_sync true ;;
    *) die "usage: $0 up|down [--purge]|status|url|primary|kill-primary|async|sync" ;;
esac
