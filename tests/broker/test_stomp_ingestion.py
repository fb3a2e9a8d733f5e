"""Ingestion over STOMP against the real broker, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import OperationalError

from adapters.iso20022.builder import Pacs008Tx, build_pacs008
from application.ledger.app import LedgerApplication
from application.ledger.commands import PaymentInstruction, SubmissionResult
from domain.causation import Causation
from tests.broker.conftest import RunningConsumer, start_consumer, status_of
from tests.broker.support import Producer, collecting, wait_until
from tests.builders import iban, message, open_command

pytestmark = pytest.mark.broker


def _open(app: LedgerApplication, account: str, currency: str = "EUR") -> str:
    app.open_account(open_command(account, currency))
    return account


def _balance(app: LedgerApplication, account: str) -> Decimal:
    return app.get_account(account).balance


def test_a_json_message_is_booked_and_acknowledged(
    running: RunningConsumer, producer: Producer
) -> None:
    creditor = _open(running.app, iban("DE"))
    producer.send(message(creditor=creditor, amount="125.40", external_id="MOB-1"))
    assert wait_until(lambda: status_of(running.app, "MOBILE", "MOB-1"), 20) == "POSTED"
    assert _balance(running.app, creditor) == Decimal("125.40")
    wait_until(lambda: running.metric("ledger_ingestion_booked_payments_total", status="POSTED"))
    # The latency is observed after the ack, a moment after the booked counter: wait for it too.
    wait_until(lambda: running.metric("ledger_ingestion_end_to_end_seconds_count"))
    assert running.metric("ledger_ingestion_end_to_end_seconds_count") == 1


def test_a_pacs008_message_books_every_transaction_it_carries(
    running: RunningConsumer, producer: Producer
) -> None:
    creditor = _open(running.app, iban("DE"))
    transactions = [
        Pacs008Tx(
            end_to_end_id=f"E2E-{n}",
            amount=f"{n}0.25",
            currency="EUR",
            debtor_name="Marie Dupont",
            debtor_iban=iban("FR"),
            creditor_name="Max Mustermann",
            creditor_iban=creditor,
            reference=f"Invoice {n}",
        )
        for n in (1, 2, 3)
    ]
    body = build_pacs008(
        transactions, message_id="MSG-1", created_at=datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    )
    producer.send(body, content_type="application/xml")
    for n in (1, 2, 3):
        key = f"MSG-1/E2E-{n}"  # no UETR, no TxId: the EndToEndId within its message
        assert wait_until(lambda key=key: status_of(running.app, "PACS008", key)) == "POSTED"
    assert _balance(running.app, creditor) == Decimal("60.75")


def test_the_same_message_twice_books_once(running: RunningConsumer, producer: Producer) -> None:
    creditor = _open(running.app, iban("DE"))
    payment = message(creditor=creditor, amount="10.00", external_id="DUP-1")
    producer.send(payment)
    producer.send(payment)
    wait_until(lambda: running.metric("ledger_ingestion_duplicate_payments_total") == 1, 20)
    assert status_of(running.app, "MOBILE", "DUP-1") == "POSTED"
    assert _balance(running.app, creditor) == Decimal("10.00")


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"externalId": "X-1", "channel": ', "application/json", "malformed-json"),
        (b"<Document><unclosed></Document>", "application/xml", "malformed-xml"),
        ("amount-as-number", "application/json", "schema-violation"),
        ("bad-iban", "application/json", "invalid-iban"),
        ("bad-currency", "application/json", "unsupported-currency"),
        (b"payment,please", "text/csv", "unsupported-content-type"),
        (b"\xff\xfe not utf-8", "application/json", "malformed-json"),
        (b"[" * 100_000, "application/json", "malformed-json"),
        ("nul-in-iban", "application/json", "invalid-iban"),
        ("nine-thousand-years", "application/json", "schema-violation"),
    ],
)
def test_an_unbookable_message_is_dead_lettered_with_its_reason_and_body_and_the_consumer_goes_on(
    running: RunningConsumer,
    producer: Producer,
    body: bytes | str,
    content_type: str,
    reason: str,
) -> None:
    creditor = _open(running.app, iban("DE"))
    if body == "amount-as-number":
        raw = json.dumps(message(creditor=creditor, amount=125.4)).encode()  # type: ignore[arg-type]
    elif body == "bad-iban":
        raw = json.dumps(message(creditor="DE00370400440532013000")).encode()
    elif body == "nul-in-iban":  # echoed into the detail header: NUL must not cut the frame
        raw = json.dumps(message(creditor="DE89\u00003704")).encode()
    elif body == "nine-thousand-years":
        raw = json.dumps(message(requestedAt="9999-12-31T23:59:59-23:59")).encode()
    elif body == "bad-currency":
        raw = json.dumps(message(creditor=creditor, currency="XYZ")).encode()
    else:
        assert isinstance(body, bytes)
        raw = body
    with collecting(running.config, running.config.dead_letter_queue) as dlq:
        producer.send(
            raw,
            content_type=content_type,
            headers={"correlation-id": "c-42", "expiration": "600000", "x-app": "teller"},
        )
        producer.send(message(creditor=creditor, amount="1.00", external_id="AFTER-POISON"))
        dead = wait_until(dlq.snapshot, 20, "the dead letter")
        assert wait_until(lambda: status_of(running.app, "MOBILE", "AFTER-POISON")) == "POSTED"
    assert len(dead) == 1
    letter = dead[0]
    assert letter.body == raw
    assert letter.headers["x-dead-letter-reason"] == reason
    assert letter.headers["x-dead-letter-detail"]
    assert letter.headers["x-original-destination"] == running.config.queue
    assert letter.headers["content-type"].startswith(content_type)
    assert letter.headers["correlation-id"] == "c-42"
    # Other sender headers travel renamed, so none acts on the DLQ (here: a TTL).
    assert "expiration" not in letter.headers
    assert letter.headers["x-original-header-expiration"] == "600000"
    assert letter.headers["x-original-header-x-app"] == "teller"
    assert running.metric("ledger_ingestion_dead_lettered_messages_total", reason=reason) == 1
    assert running.thread.is_alive()


def test_a_pacs008_with_one_bad_transaction_is_dead_lettered_whole(
    running: RunningConsumer, producer: Producer
) -> None:
    creditor = _open(running.app, iban("DE"))
    good = Pacs008Tx("OK-1", "5.00", "EUR", "A", iban("FR"), "B", creditor)
    bad = Pacs008Tx("BAD-1", "5.00", "EUR", "A", "FR0000000000000000000000000", "B", creditor)
    body = build_pacs008([good, bad], message_id="MSG-2", created_at=datetime.now(UTC))
    with collecting(running.config, running.config.dead_letter_queue) as dlq:
        producer.send(body, content_type="application/xml")
        letter = wait_until(dlq.snapshot, 20)[0]
    assert letter.headers["x-dead-letter-reason"] == "invalid-iban"
    assert "payment 2 of 2" in letter.headers["x-dead-letter-detail"]
    assert letter.body == body
    assert status_of(running.app, "PACS008", "MSG-2/OK-1") is None


class FlakyBooker:
    """The real ledger behind a database that fails the first ``failures`` commits."""

    def __init__(self, app: LedgerApplication, failures: int, poison: str | None = None) -> None:
        self.app = app
        self.failures = failures
        self.poison = poison
        self.calls = 0

    def submit_payments(
        self,
        instructions: list[PaymentInstruction],
        causations: list[Causation] | None = None,
    ) -> list[SubmissionResult]:
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("connection to server was lost")
        if self.poison and any(i.external_id == self.poison for i in instructions):
            raise KeyError("a bug that only this payment triggers")
        return self.app.submit_payments(instructions, causations)


def test_a_transient_database_failure_is_retried_and_never_dead_lettered(
    ledger: LedgerApplication, producer: Producer, stomp_config: object
) -> None:
    config = producer.config
    creditor = _open(ledger, iban("DE"))
    booker = FlakyBooker(ledger, failures=3)
    running = start_consumer(config, ledger, booker)
    try:
        with collecting(config, config.dead_letter_queue) as dlq:
            producer.send(message(creditor=creditor, external_id="FLAKY-1"))
            assert wait_until(lambda: status_of(ledger, "MOBILE", "FLAKY-1"), 20) == "POSTED"
            assert dlq.snapshot() == []
        assert running.metric("ledger_ingestion_retried_batches_total") == 3
    finally:
        running.halt()


def test_a_message_that_breaks_booking_is_isolated_and_dead_lettered_the_rest_booked(
    ledger: LedgerApplication, producer: Producer
) -> None:
    config = producer.config
    creditor = _open(ledger, iban("DE"))
    running = start_consumer(config, ledger, FlakyBooker(ledger, failures=0, poison="BUG-1"))
    try:
        with collecting(config, config.dead_letter_queue) as dlq:
            for n in range(20):
                external_id = "BUG-1" if n == 10 else f"OK-{n}"
                producer.send(message(creditor=creditor, external_id=external_id), confirm=False)
            letter = wait_until(dlq.snapshot, 20)[0]
            for n in range(20):
                if n != 10:
                    assert wait_until(lambda n=n: status_of(ledger, "MOBILE", f"OK-{n}"))
        assert letter.headers["x-dead-letter-reason"] == "processing-error"
        assert "KeyError" in letter.headers["x-dead-letter-detail"]
        assert status_of(ledger, "MOBILE", "BUG-1") is None
        assert _balance(ledger, creditor) == Decimal("190.00")
    finally:
        running.halt()


def test_booked_outcomes_are_published_to_the_events_topic(
    running: RunningConsumer, producer: Producer, database: object, tmp_path: object
) -> None:
    import threading

    from adapters.messaging.outbox import OutboxPublisher
    from adapters.persistence import read_model_engine
    from projections.runner.sources import EventSource

    creditor = _open(running.app, iban("DE"))
    engine = read_model_engine(database)  # type: ignore[arg-type]
    outbox = OutboxPublisher(
        running.config,
        EventSource(running.app),
        engine,
        running.metrics,
        lock_dir=tmp_path,  # type: ignore[arg-type]
    )
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run, args=(stop,), daemon=True)
    try:
        with collecting(running.config, running.config.events_topic) as events:
            thread.start()
            wait_until(outbox.leader.is_set, 15)
            producer.send(message(creditor=creditor, external_id="PUB-1", amount="7.00"))
            producer.send(
                message(debtor=iban("DE"), creditor=iban("FR"), external_id="PUB-2")
            )  # neither party ours: rejected
            received = wait_until(lambda: len(events.snapshot()) >= 2 and events.snapshot(), 20)
        bodies = {json.loads(m.body)["externalId"]: json.loads(m.body) for m in received}
        assert bodies["PUB-1"]["type"] == "transaction.posted"
        assert bodies["PUB-1"]["amount"] == "7.00"
        assert bodies["PUB-2"]["type"] == "transaction.rejected"
        assert all(m.headers["x-event-id"] == json.loads(m.body)["eventId"] for m in received)
        wait_until(lambda: outbox.position() == running.app.recorder.max_notification_id())
    finally:
        stop.set()
        thread.join(10)
        engine.dispose()


def test_a_key_reused_for_another_payment_is_dead_lettered_the_first_stays(
    running: RunningConsumer, producer: Producer
) -> None:
    creditor = _open(running.app, iban("DE"))
    first = message(creditor=creditor, amount="10.00", external_id="REUSE-1")
    with collecting(running.config, running.config.dead_letter_queue) as dlq:
        producer.send(first)
        producer.send({**first, "amount": "9999.00"})
        letter = wait_until(dlq.snapshot, 20)[0]
    assert letter.headers["x-dead-letter-reason"] == "idempotency-key-reused"
    assert "another amount" in letter.headers["x-dead-letter-detail"]
    assert _balance(running.app, creditor) == Decimal("10.00")
