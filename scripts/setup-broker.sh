#!/usr/bin/env bash
# Make the local RabbitMQ speak STOMP on 127.0.0.1:61613 for the ingestion tests.
# Idempotent: enables the rabbitmq_stomp plugin only when it is off, starts the broker
# only when it is down, then waits until the STOMP port answers.
set -euo pipefail

HOST="${LEDGER_TEST_STOMP_HOST:-127.0.0.1}"
PORT="${LEDGER_TEST_STOMP_PORT:-61613}"

port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if port_open; then
    echo "setup-broker: STOMP already answers on $HOST:$PORT"
    exit 0
fi
if ! command -v rabbitmq-plugins >/dev/null 2>&1; then
    echo "setup-broker: rabbitmq-plugins not found; install RabbitMQ (Debian: rabbitmq-server)" >&2
    exit 1
fi
if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "setup-broker: RabbitMQ is not running; starting it"
    rabbitmq-server -detached
    rabbitmqctl -q wait --timeout 60 "$(rabbitmqctl -q eval 'node().' 2>/dev/null || echo rabbit@localhost)" >/dev/null 2>&1 || true
fi
if ! rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_stomp; then
    echo "setup-broker: enabling rabbitmq_stomp"
    rabbitmq-plugins enable rabbitmq_stomp >/dev/null
fi
for _ in $(seq 1 120); do
    if port_open; then
        echo "setup-broker: STOMP answers on $HOST:$PORT"
        exit 0
    fi
    sleep 0.5
done
echo "setup-broker: STOMP did not come up on $HOST:$PORT within 60 s" >&2
exit 1
