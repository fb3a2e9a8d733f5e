#!/usr/bin/env bash
# Smoke test of the built image: every `ledger serve` role starts in a hardened container, answers
# /healthz and /readyz, and stops cleanly on SIGTERM. Not part of `make test` (needs an engine).
#
#   scripts/image-smoke.sh                 # every role that `ledger serve --help` lists
#   ROLES="api projector" scripts/image-smoke.sh
#
# Each role runs as production would: --read-only with tmpfs /tmp and /var/lib/ledger, UID 10001,
# no capabilities, no-new-privileges, host network (an engine without a bridge works too), on its
# own port (LEDGER_PORT). Before the roles, `ledger migrate` runs from the same image.
# LEDGER_ENV=production by default, with the required LEDGER_AUTH_ISSUER and a JWKS file holding
# a key pair made here for the run (SMOKE_ENV=development uses the local issuer instead).
# The database is a scratch one, created on the local PostgreSQL and dropped at the end.
# A broker role (ingestion) needs STOMP: when nothing answers on the SMOKE_STOMP_URL port, that
# role is reported as skipped; this script never starts or restarts a broker.
#
# Environment (all optional):
#   IMAGE            default backoffice-ledger:dev
#   DOCKER           docker client command, default docker
#   ROLES            space separated roles; default: the choices of `ledger serve --role`
#   BROKER_ROLES     roles that need STOMP, default "ingestion"
#   SMOKE_ENV        production (default) or development
#   SMOKE_DB_HOST, SMOKE_DB_PORT, SMOKE_DB_USER   default 127.0.0.1, 5432, postgres (trust auth)
#   SMOKE_STOMP_URL  default stomp://guest:guest@127.0.0.1:61613
#   SMOKE_BASE_PORT  the first role listens on it, the next on +1, ...; default 18100
#   START_TIMEOUT    seconds a role has to answer /readyz 200, default 120
#   STOP_GRACE       seconds a role has to exit after SIGTERM, default 30
# Exit status: 0 when every role that was not skipped passed, 1 otherwise.
set -euo pipefail

image="${IMAGE:-backoffice-ledger:dev}"
docker_cmd="${DOCKER:-docker}"
broker_roles=" ${BROKER_ROLES:-ingestion} "
smoke_env="${SMOKE_ENV:-production}"
db_host="${SMOKE_DB_HOST:-127.0.0.1}"
db_port="${SMOKE_DB_PORT:-5432}"
db_user="${SMOKE_DB_USER:-postgres}"
stomp_url="${SMOKE_STOMP_URL:-stomp://guest:guest@127.0.0.1:61613}"
base_port="${SMOKE_BASE_PORT:-18100}"
start_timeout="${START_TIMEOUT:-120}"
stop_grace="${STOP_GRACE:-30}"
run_id="$$"
db_name="ledger_smoke_$run_id"
db_url="postgresql://$db_user@$db_host:$db_port/$db_name"

die() {
    echo "image-smoke: ERROR: $*" >&2
    exit 1
}
say() { echo "image-smoke: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

for tool in curl psql; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done
case "$smoke_env" in production | development) ;; *) die "SMOKE_ENV: production or development" ;; esac
$docker_cmd info >/dev/null 2>&1 || die "no Docker engine answers to '$docker_cmd info'"
$docker_cmd image inspect "$image" >/dev/null 2>&1 || die "image $image not found (make image)"

workdir="$(mktemp -d /tmp/ledger-smoke.XXXXXX)"
containers=()
db_created=0
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local c
    for c in "${containers[@]}"; do $docker_cmd rm -f "$c" >/dev/null 2>&1 || true; done
    if [ "$db_created" = 1 ]; then
        psql -h "$db_host" -p "$db_port" -U "$db_user" -d postgres -v ON_ERROR_STOP=1 -qc \
            "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null ||
            echo "image-smoke: WARNING: could not drop database $db_name" >&2
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

# --- roles: from the image's own CLI unless given
if [ -z "${ROLES:-}" ]; then
    help="$($docker_cmd run --rm --network host --read-only --user 10001:10001 \
        --entrypoint ledger "$image" serve --help)"
    ROLES="$(printf '%s\n' "$help" | sed -n 's/.*--role {\([^}]*\)}.*/\1/p' | head -n 1 | tr ',' ' ')"
    [ -n "$ROLES" ] || die "could not read the roles from 'ledger serve --help'"
fi
read -r -a roles <<<"$ROLES"
say "image $image, roles: ${roles[*]}, LEDGER_ENV=$smoke_env"

# --- common container settings
# shellcheck disable=SC2054  # the commas are tmpfs mount options
hardening=(--read-only --tmpfs /tmp --tmpfs /var/lib/ledger:uid=10001,gid=10001,mode=0700
    --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges --network host)
env_args=(-e "LEDGER_ENV=$smoke_env" -e "LEDGER_DATABASE_URL=$db_url" -e LEDGER_LOG_LEVEL=INFO)
if [ "$smoke_env" = production ]; then
    # A key pair for this run only: the JWKS (public key) goes into the container read-only.
    $docker_cmd run --rm --network host --read-only --user 10001:10001 --entrypoint python3 \
        "$image" -c '
import json
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
jwk = json.loads(RSAAlgorithm.to_jwk(key))
jwk.update(kid="image-smoke", use="sig", alg="RS256")
print(json.dumps({"keys": [jwk]}))' >"$workdir/jwks.json"
    chmod 0644 "$workdir/jwks.json"
    chmod 0755 "$workdir"
    env_args+=(-e LEDGER_AUTH_ISSUER=https://idp.invalid/image-smoke
        -e LEDGER_AUTH_JWKS_FILE=/etc/ledger/jwks.json
        -v "$workdir/jwks.json:/etc/ledger/jwks.json:ro")
fi
stomp_hostport="${stomp_url#*://}"
stomp_hostport="${stomp_hostport#*@}"
stomp_hostport="${stomp_hostport%%/*}"
broker_up=0
if port_open "${stomp_hostport%:*}" "${stomp_hostport##*:}"; then
    broker_up=1
    env_args+=(-e "LEDGER_STOMP_URL=$stomp_url")
    say "STOMP answers on $stomp_hostport: broker roles run against it"
else
    say "nothing answers on $stomp_hostport: broker roles (${broker_roles# }) are skipped"
fi

# --- scratch database, then the migration from the image
pg_isready -q -h "$db_host" -p "$db_port" -U "$db_user" || die "PostgreSQL is not up on $db_host:$db_port"
psql -h "$db_host" -p "$db_port" -U "$db_user" -d postgres -v ON_ERROR_STOP=1 -qc \
    "CREATE DATABASE $db_name" >/dev/null
db_created=1
say "scratch database $db_name; ledger migrate:"
t0="$(now)"
$docker_cmd run --rm "${hardening[@]}" "${env_args[@]}" --entrypoint ledger "$image" migrate ||
    die "ledger migrate failed"
say "migrate took $(elapsed "$t0" "$(now)") s"

http_code() { # URL -> status code, 000 when nothing answers
    curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true
}

# --- each role in turn
rows=()
failed=0
i=0
for role in "${roles[@]}"; do
    port=$((base_port + i))
    i=$((i + 1))
    if [[ "$broker_roles" == *" $role "* ]] && [ "$broker_up" = 0 ]; then
        rows+=("$role|skipped (no STOMP broker)|-|-|-|-")
        continue
    fi
    port_open 127.0.0.1 "$port" && die "port $port is already in use (set SMOKE_BASE_PORT)"
    name="ledger-smoke-$role-$run_id"
    containers+=("$name")
    t0="$(now)"
    if ! $docker_cmd run -d --name "$name" "${hardening[@]}" "${env_args[@]}" \
        -e "LEDGER_PORT=$port" "$image" --role "$role" >/dev/null; then
        rows+=("$role|no (docker run failed)|-|-|-|-")
        failed=1
        continue
    fi
    started=yes healthz=000 readyz=000 seconds=-
    deadline=$(($(date +%s) + start_timeout))
    while :; do
        if [ "$($docker_cmd inspect -f '{{.State.Running}}' "$name")" != true ]; then
            started="no (exited $($docker_cmd inspect -f '{{.State.ExitCode}}' "$name"))"
            break
        fi
        [ "$healthz" = 200 ] || healthz="$(http_code "http://127.0.0.1:$port/healthz")"
        if [ "$healthz" = 200 ]; then
            readyz="$(http_code "http://127.0.0.1:$port/readyz")"
            if [ "$readyz" = 200 ]; then
                seconds="$(elapsed "$t0" "$(now)")"
                break
            fi
        fi
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 0.5
    done
    # SIGTERM, then up to STOP_GRACE seconds for a clean exit (code 0)
    stop="-"
    if [ "$($docker_cmd inspect -f '{{.State.Running}}' "$name")" = true ]; then
        t1="$(now)"
        $docker_cmd kill --signal TERM "$name" >/dev/null
        # shellcheck disable=SC2086  # DOCKER may be a command with arguments
        code="$(timeout "$stop_grace" $docker_cmd wait "$name" 2>/dev/null || true)"
        if [ -z "$code" ]; then
            $docker_cmd kill "$name" >/dev/null 2>&1 || true
            stop="no exit in ${stop_grace}s (killed)"
        else
            stop="exit $code in $(elapsed "$t1" "$(now)") s"
        fi
    fi
    rows+=("$role|$started|$healthz|$readyz|$seconds|$stop")
    if [ "$started" != yes ] || [ "$healthz" != 200 ] || [ "$readyz" != 200 ] ||
        [[ "$stop" != "exit 0 in"* ]]; then
        failed=1
        echo "---- $role: last log lines" >&2
        $docker_cmd logs --tail 30 "$name" >&2 2>&1 || true
    fi
    $docker_cmd rm -f "$name" >/dev/null 2>&1 || true
done

echo
printf '%-16s | %-26s | %-7s | %-6s | %-7s | %s\n' role started healthz readyz seconds "SIGTERM"
printf '%s\n' "-----------------+----------------------------+---------+--------+---------+------------------"
for row in "${rows[@]}"; do
    IFS='|' read -r r s h y sec st <<<"$row"
    printf '%-16s | %-26s | %-7s | %-6s | %-7s | %s\n' "$r" "$s" "$h" "$y" "$sec" "$st"
done
echo
if [ "$failed" = 0 ]; then say "PASS"; else say "FAIL"; fi
exit "$failed"
