"""The outbox: outcomes published once per event id, one publisher at a time, resumable."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from adapters.messaging.config import StompConfig
from adapters.messaging.metrics import IngestionMetrics
from adapters.messaging.outbox import OutboxPublisher
from adapters.persistence import DatabaseConfig, read_model_engine
from application.ledger.app import LedgerApplication
from projections.runner.sources import EventSource
from tests.broker.support import collecting, unique_config, wait_until
from tests.builders import iban, make_app, open_command, payment
from tests.tracing_support import finished, traced

pytestmark = pytest.mark.broker


@contextmanager
def publishing(
    config: StompConfig, app: LedgerApplication, database: DatabaseConfig, lock_dir: Path
) -> Iterator[OutboxPublisher]:
    engine = read_model_engine(database)
    publisher = OutboxPublisher(
        config,
        EventSource(app),
        engine,
        IngestionMetrics(CollectorRegistry()),
        lock_dir=lock_dir,
        scope=database.schema or "",
        poll_interval=0.05,
    )
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield publisher
    finally:
        stop.set()
        thread.join(15)
        engine.dispose()


def _outcomes(collector: object) -> list[dict[str, object]]:
    return [json.loads(m.body) for m in collector.snapshot()]  # type: ignore[attr-defined]


def test_two_publishers_elect_one_and_every_outcome_is_published_once_even_across_a_restart(
    database: DatabaseConfig, tmp_path: Path
) -> None:
    config = unique_config()
    app = make_app(database)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    try:
        with collecting(config, config.events_topic) as events:
            with (
                publishing(config, app, database, tmp_path) as first,
                publishing(config, app, database, tmp_path) as second,
            ):
                wait_until(lambda: first.leader.is_set() or second.leader.is_set(), 20)
                for n in range(30):
                    app.submit_payment(payment(creditor=creditor, external_id=f"OB-{n}"))
                wait_until(lambda: len(_outcomes(events)) >= 30, 20, "30 outcomes")
                assert first.leader.is_set() != second.leader.is_set()
            # Restart: a new publisher resumes from the saved position.
            for n in range(30, 40):
                app.submit_payment(payment(creditor=creditor, external_id=f"OB-{n}"))
            app.submit_payment(payment(debtor=iban("DE"), creditor=iban("FR"), external_id="OB-X"))
            with publishing(config, app, database, tmp_path) as third:
                wait_until(lambda: len(_outcomes(events)) >= 41, 20, "41 outcomes")
                head = app.recorder.max_notification_id()
                wait_until(lambda: third.position() == head, 20, "the position at the head")
        outcomes = _outcomes(events)
        ids = [o["eventId"] for o in outcomes]
        assert len(ids) == len(set(ids)) == 41
        kinds = {o["externalId"]: o["type"] for o in outcomes}
        assert kinds["OB-0"] == kinds["OB-39"] == "transaction.posted"
        assert kinds["OB-X"] == "transaction.rejected"
    finally:
        app.close()


def test_held_and_reversed_outcomes_are_published(database: DatabaseConfig, tmp_path: Path) -> None:
    config = unique_config()
    app = make_app(database)
    debtor = iban("DE")
    app.open_account(open_command(debtor))
    try:
        app.submit_payment(payment(creditor=debtor, amount="3000.00", external_id="FUND"))
        held = app.submit_payment(payment(debtor=debtor, amount="1500.00", external_id="BIG"))
        posted = app.submit_payment(payment(debtor=debtor, amount="5.00", external_id="SMALL"))
        assert held.status == "HELD"
        app.reverse(UUID(posted.transaction_id), "customer complaint")
        with (
            collecting(config, config.events_topic) as events,
            publishing(config, app, database, tmp_path),
        ):
            wait_until(lambda: len(_outcomes(events)) >= 5, 20, "five outcomes")
        types = sorted(str(o["type"]) for o in _outcomes(events))
        assert types == [
            "transaction.held",
            "transaction.posted",
            "transaction.posted",
            "transaction.posted",
            "transaction.reversed",
        ]
    finally:
        app.close()


def test_published_outcomes_carry_the_trace_of_their_publishing_batch(
    database: DatabaseConfig, tmp_path: Path
) -> None:
    """With tracing on, each batch is an ``outbox.publish`` PRODUCER span and every message
    carries its W3C ``traceparent``; with tracing off, no such header is sent."""
    config = unique_config()
    app = make_app(database)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    try:
        app.submit_payment(payment(creditor=creditor, amount="10.00", external_id="T1"))
        with (
            traced() as exporter,
            collecting(config, config.events_topic) as events,
            publishing(config, app, database, tmp_path),
        ):
            wait_until(lambda: len(events.snapshot()) >= 1, 20, "a traced outcome")
        (message,) = events.snapshot()
        spans = [s for s in finished(exporter) if s.name == "outbox.publish"]
        assert spans, "no outbox.publish span"
        span_context = spans[0].context
        _, trace_id, span_id, _ = message.headers["traceparent"].split("-")
        assert (int(trace_id, 16), int(span_id, 16)) == (
            span_context.trace_id,
            span_context.span_id,
        )
        assert spans[0].attributes["messaging.batch.message_count"] == 1

        app.submit_payment(payment(creditor=creditor, amount="20.00", external_id="T2"))
        untraced = unique_config()
        with (
            collecting(untraced, untraced.events_topic) as events,
            publishing(untraced, app, database, tmp_path / "second"),
        ):
            wait_until(lambda: len(events.snapshot()) >= 2, 20, "two untraced outcomes")
        assert all("traceparent" not in m.headers for m in events.snapshot())
    finally:
        app.close()
