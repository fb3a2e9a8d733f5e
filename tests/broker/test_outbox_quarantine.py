"""The outbox does not retry one event forever (issue #12, 1b): an event it cannot decode
or turn into a message is parked as ``outbox`` and the rest is published; a retry publishes
a parked event once its fault is fixed."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from prometheus_client import CollectorRegistry

from adapters.messaging.connection import StompSession
from adapters.messaging.metrics import IngestionMetrics
from adapters.messaging.outbox import OutboxPublisher
from adapters.persistence import DatabaseConfig, read_model_engine
from domain.ledger.transactions import Transaction
from projections.events import Envelope
from projections.quarantine import QuarantineStore
from projections.runner.sources import EventSource
from tests.broker.support import collecting, unique_config, wait_until
from tests.builders import iban, make_app, open_command, payment

pytestmark = pytest.mark.broker


def test_an_event_the_outbox_cannot_handle_is_parked_and_the_rest_published(
    database: DatabaseConfig, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = unique_config()
    app = make_app(database)
    engine = read_model_engine(database)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    try:
        flaky = app.submit_payment(payment(creditor=creditor, external_id="FLAKY")).transaction_id
        app.recorder.insert_events(
            [StoredEvent(uuid.uuid4(), 3, get_topic(Transaction.Posted), b"\x00 not json")]
        )
        unreadable = int(app.recorder.max_notification_id())
        app.submit_payment(payment(creditor=creditor, external_id="AFTER"))
        original = OutboxPublisher._message

        def failing(self: OutboxPublisher, envelope: Envelope) -> Any:
            if envelope.stream_id == flaky and envelope.event_type == "Transaction.Posted":
                raise RuntimeError("a bug met by one event only")
            return original(self, envelope)

        monkeypatch.setattr(OutboxPublisher, "_message", failing)
        publisher = OutboxPublisher(
            config,
            EventSource(app),
            engine,
            IngestionMetrics(CollectorRegistry()),
            lock_dir=tmp_path,
            scope=database.schema or "",
            poll_interval=0.05,
        )
        publisher.create_table()
        stop = threading.Event()
        with collecting(config, config.events_topic) as events:
            thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
            thread.start()
            try:
                head = int(app.recorder.max_notification_id())
                wait_until(lambda: publisher.position() == head, 20, "the position at the head")
            finally:
                stop.set()
                thread.join(15)
            store = QuarantineStore(engine)
            entries = store.entries()
            assert [(e.follower, e.error_type) for e in entries] == [
                ("outbox", "RuntimeError"),
                ("outbox", "UnreadableEventError"),
            ]
            assert entries[1].position == unreadable
            wait_until(lambda: len(events.snapshot()) >= 1, 20, "the later outcome")
            assert [json.loads(m.body)["externalId"] for m in events.snapshot()] == ["AFTER"]

            monkeypatch.setattr(OutboxPublisher, "_message", original)  # fixed
            session = StompSession(config).open()
            try:
                publisher.retry(session, entries[0].position)
            finally:
                session.close()
            wait_until(lambda: len(events.snapshot()) >= 2, 20, "the retried outcome")
            assert json.loads(events.snapshot()[1].body)["externalId"] == "FLAKY"
    finally:
        engine.dispose()
        app.close()
