"""Fixtures for the ingestion tests: a consumer thread over a fresh ledger and its own queues."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from adapters.messaging.config import StompConfig
from adapters.messaging.consumer import IngestionConsumer, PaymentBooker
from adapters.messaging.metrics import IngestionMetrics
from adapters.persistence import DatabaseConfig
from application.ledger.app import LedgerApplication
from tests.broker.support import ACTIVEMQ_PORT, Producer, unique_config, wait_until
from tests.builders import make_app

pytestmark = pytest.mark.broker


@dataclass
class RunningConsumer:
    config: StompConfig
    app: LedgerApplication
    consumer: IngestionConsumer
    metrics: IngestionMetrics
    registry: CollectorRegistry
    stop: threading.Event
    thread: threading.Thread

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels or None)
        return float(value or 0.0)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the consumer did not stop"


def start_consumer(
    config: StompConfig,
    app: LedgerApplication,
    booker: PaymentBooker | None = None,
) -> RunningConsumer:
    registry = CollectorRegistry()
    metrics = IngestionMetrics(registry)
    consumer = IngestionConsumer(
        config,
        booker or app,
        metrics,
        database_probe=app.recorder.max_notification_id,
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    wait_until(consumer.subscribed.is_set, 15, "the consumer to subscribe")
    return RunningConsumer(config, app, consumer, metrics, registry, stop, thread)


@pytest.fixture(params=["rabbitmq", "activemq"])
def stomp_config(request: pytest.FixtureRequest) -> StompConfig:
    """The same behavioural suite on both brokers Amazon MQ offers (ActiveMQ runs on 61614,
    started by ``scripts/setup-activemq.sh``)."""
    if request.param == "activemq":
        return unique_config(port=ACTIVEMQ_PORT)
    return unique_config()


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[LedgerApplication]:
    app = make_app(database)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def running(stomp_config: StompConfig, ledger: LedgerApplication) -> Iterator[RunningConsumer]:
    running = start_consumer(stomp_config, ledger)
    try:
        yield running
    finally:
        running.halt()


@pytest.fixture
def producer(stomp_config: StompConfig) -> Iterator[Producer]:
    producer = Producer(stomp_config)
    try:
        yield producer
    finally:
        producer.close()


def status_of(app: LedgerApplication, channel: str, external_id: str) -> Any:
    """The transaction's status, or None when it was never booked."""
    from application.errors import NotFound
    from domain.ledger.transactions import Transaction

    try:
        return str(app.get_transaction(Transaction.create_id(channel, external_id)).status)
    except NotFound:
        return None
