#!/usr/bin/env bash
# The database failover drill (issue #19, docs/operations.md §8): a STOMP load of payments
# (20,000 by default) into the ingestion role on the local pg_auto_failover cluster
# (scripts/ha-cluster.sh, brought up if needed), the primary node SIGKILLed mid-load, the
# standby promoted by the failover engine; prints RTO, RPO (and the replication lag at the
# kill), exactly-once and conservation. Exit code 1 when a check or a target fails.
#
#   scripts/dr-drill.sh                          # synchronous replication, 20,000 payments
#   scripts/dr-drill.sh --replication async      # asynchronous: RPO reported, not required 0
#   scripts/dr-drill.sh --payments 3000 --kill-at 0.3
#
# Needs RabbitMQ's STOMP on 127.0.0.1:61613 (scripts/setup-broker.sh) and Debian's
# postgresql-<major>-auto-failover. The cluster stays up afterwards (ha-cluster.sh down).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m benchmarks.dr "$@"
