"""The ingestion role as an app: probes that include the broker, metrics, and settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.messaging.config import StompConfig
from api.http.app import create_app
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings, SettingsError
from tests.broker.support import Producer, unique_config, wait_until
from tests.builders import iban, message, open_command

pytestmark = pytest.mark.broker


def _client(tmp_path: Path, stomp: StompConfig) -> tuple[TestClient, object]:
    settings = Settings(data_dir=tmp_path / "var").updated(stomp=stomp)
    container = bootstrap(settings)
    app = create_app(container, run_ingestion=True, operations_only=True)
    return TestClient(app), container


def test_readiness_follows_the_broker_connection_and_metrics_count_bookings(
    tmp_path: Path,
) -> None:
    config = unique_config()
    client, container = _client(tmp_path, config)
    ledger = container.ledger  # type: ignore[attr-defined]
    creditor = iban("DE")
    ledger.open_account(open_command(creditor))
    producer = Producer(config)
    try:
        with client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 20, "ready")
            body = client.get("/readyz").json()
            assert body["checks"]["broker"]["state"] == "subscribed"
            assert body["checks"]["broker"]["flavour"] == "rabbitmq"
            assert client.get("/v1/accounts").status_code == 404  # no API on this role
            producer.send(message(creditor=creditor, external_id="ROLE-1"))
            wait_until(
                lambda: (
                    'ledger_ingestion_booked_payments_total{status="POSTED"} 1.0'
                    in client.get("/metrics").text
                ),
                20,
                "the booking to show in the metrics",
            )
    finally:
        producer.close()
        container.close()  # type: ignore[attr-defined]


def test_an_unreachable_broker_makes_the_role_unready_not_dead(tmp_path: Path) -> None:
    client, container = _client(tmp_path, unique_config(port=1))  # nothing listens on port 1
    try:
        with client:
            assert client.get("/healthz").status_code == 200
            response = client.get("/readyz")
            assert response.status_code == 503
            broker = response.json()["checks"]["broker"]
            assert broker["state"] == "disconnected"
            wait_until(lambda: client.get("/readyz").json()["checks"]["broker"]["lastError"])
    finally:
        container.close()  # type: ignore[attr-defined]


def test_stomp_settings_are_parsed_and_every_problem_named() -> None:
    config = Settings.from_env(
        {
            "LEDGER_STOMP_URL": "stomp+ssl://user:p%40ss@mq.internal:61614/prod",
            "LEDGER_INGEST_BATCH_SIZE": "300",
            "LEDGER_INGEST_BATCH_WAIT_MS": "0",
            "LEDGER_STOMP_QUEUE": "/queue/payments.in",
        }
    ).stomp
    assert config is not None
    assert (config.host, config.port, config.username, config.password) == (
        "mq.internal",
        61614,
        "user",
        "p@ss",
    )
    assert config.use_ssl and config.vhost == "prod"
    assert (config.batch_size, config.batch_wait_ms, config.prefetch) == (300, 0, 600)
    assert config.queue == "/queue/payments.in"
    assert Settings.from_env({}).stomp is None
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "LEDGER_STOMP_URL": "amqp://127.0.0.1",
                "LEDGER_STOMP_PREFETCH": "10",
                "LEDGER_STOMP_QUEUE": "payments",
                "LEDGER_OUTBOX": "maybe",
            }
        )
    text = json.dumps(raised.value.problems)
    for name in (
        "LEDGER_STOMP_URL",
        "LEDGER_STOMP_PREFETCH",
        "LEDGER_STOMP_QUEUE",
        "LEDGER_OUTBOX",
    ):
        assert name in text
