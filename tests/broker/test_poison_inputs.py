"""The poison-input suite over a real broker (issue #12, "It must show" 2): the hostile payment
table of tests/poison_support.py as STOMP JSON and hostile pacs.008 documents, each dead-lettered
with a reason naming the field, nothing recorded in any context, the consumer still running, and
a normal payment afterwards reaching every read model (waited on, see tests/poison_support.py;
the ingestion consumer over a full container's ledger, the projector following the log in the
background)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from adapters.iso20022.builder import Pacs008Tx, build_pacs008
from adapters.messaging.config import StompConfig
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from domain.ledger.transactions import Transaction
from tests.broker.conftest import RunningConsumer, start_consumer
from tests.broker.support import Producer, collecting, wait_until
from tests.builders import FakeClock, iban, message, open_command
from tests.poison_support import (
    BODY_100K_DEEP,
    HOSTILE_PAYMENTS,
    projector_running,
    wait_visible,
)

pytestmark = pytest.mark.broker


@pytest.fixture
def container(database: DatabaseConfig) -> Iterator[Container]:
    built = bootstrap(Settings().with_database(database), clock=FakeClock())
    try:
        with projector_running(built):
            yield built
    finally:
        built.close()


@pytest.fixture
def consumer(stomp_config: StompConfig, container: Container) -> Iterator[RunningConsumer]:
    running = start_consumer(stomp_config, container.ledger)
    try:
        yield running
    finally:
        running.halt()


@pytest.fixture
def creditor(container: Container) -> str:
    account = iban("DE")
    container.ledger.open_account(open_command(account))
    return account


def send_and_expect_dead_letter(
    consumer: RunningConsumer,
    producer: Producer,
    container: Container,
    creditor: str,
    raw: bytes,
    content_type: str,
) -> tuple[str, str]:
    """Send ``raw``, then a normal payment; returns the dead letter's (reason, detail) after
    checking that nothing of ``raw`` was recorded and the normal payment reaches every read
    model."""
    before = container.heads()
    after_id = f"AFTER-{datetime.now(UTC).timestamp()}"
    with collecting(consumer.config, consumer.config.dead_letter_queue) as dlq:
        producer.send(raw, content_type=content_type)
        [letter] = wait_until(dlq.snapshot, 20, "the dead letter")
        assert letter.body == raw
        assert container.heads() == before  # nothing half-booked, in no context
        producer.send(message(creditor=creditor, external_id=after_id))
        tx_id = str(Transaction.create_id("MOBILE", after_id))
        wait_until(lambda: container.ledger.recorder.max_notification_id() != before["ledger"], 20)
        wait_visible(container, tx_id, "after a dead-lettered message")
    assert consumer.thread.is_alive()
    return letter.headers["x-dead-letter-reason"], letter.headers["x-dead-letter-detail"]


@pytest.mark.parametrize(
    ("build", "field"),
    [pytest.param(build, field, id=name) for name, build, field in HOSTILE_PAYMENTS],
)
def test_a_hostile_json_payment_is_dead_lettered_naming_the_field(
    consumer: RunningConsumer,
    producer: Producer,
    container: Container,
    creditor: str,
    build: Callable[[str], bytes],
    field: str,
) -> None:
    raw = build(creditor)
    reason, detail = send_and_expect_dead_letter(
        consumer, producer, container, creditor, raw, "application/json"
    )
    assert reason in {"schema-violation", "unsupported-currency"}
    assert detail.startswith(field), detail


def test_a_json_body_nested_100000_deep_is_dead_lettered_as_malformed(
    consumer: RunningConsumer, producer: Producer, container: Container, creditor: str
) -> None:
    reason, detail = send_and_expect_dead_letter(
        consumer, producer, container, creditor, BODY_100K_DEEP, "application/json"
    )
    assert (reason, detail) == ("malformed-json", "nested too deeply")


def pacs008(creditor: str, created_at: datetime | str, **changes: str) -> bytes:
    fields = {
        "end_to_end_id": "E2E-1",
        "amount": "5.00",
        "currency": "EUR",
        "debtor_name": "A",
        "debtor_iban": iban("FR"),
        "creditor_name": "B",
        "creditor_iban": creditor,
    } | changes
    when = created_at if isinstance(created_at, datetime) else datetime(2026, 11, 23, tzinfo=UTC)
    body = build_pacs008([Pacs008Tx(**fields)], message_id="MSG-P", created_at=when)
    if isinstance(created_at, str):
        written = b"2026-11-23T00:00:00+00:00"
        assert written in body
        body = body.replace(written, created_at.encode())
    return body


NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("build", "reason", "field"),
    [
        pytest.param(
            lambda c: pacs008(c, "0001-01-01T00:00:00+01:00"),
            "schema-violation",
            "GrpHdr/CreDtTm: 0001-01-01T00:00:00+01:00 is not representable in UTC",
            id="CreDtTm-year-1-east",
        ),
        pytest.param(
            lambda c: pacs008(c, "1066-10-14T09:00:00Z"),
            "schema-violation",
            "GrpHdr/CreDtTm: year 1066 is outside 1900..2200",
            id="CreDtTm-1066",
        ),
        pytest.param(
            lambda c: pacs008(c, NOW, amount="9" * 10_000),
            "schema-violation",
            "amount: amount '99999",
            id="amount-10000-digits",
        ),
        pytest.param(
            lambda c: pacs008(c, NOW, amount="NaN"),
            "schema-violation",
            "amount: not a finite amount",
            id="amount-NaN",
        ),
        pytest.param(
            lambda c: pacs008(c, NOW, end_to_end_id="E" * 2000),
            "schema-violation",
            "metadata.endToEndId: a string of 2000 characters",
            id="endToEndId-oversized",
        ),
        pytest.param(
            lambda _c: b"<a>" * 100_000 + b"</a>" * 100_000,
            "malformed-xml",
            "",
            id="xml-100k-deep",
        ),
        pytest.param(lambda _c: b"\x00\xffgarbage", "malformed-xml", "", id="garbage"),
    ],
)
def test_a_hostile_pacs008_is_dead_lettered_naming_the_element_or_field(
    consumer: RunningConsumer,
    producer: Producer,
    container: Container,
    creditor: str,
    build: Callable[[str], bytes],
    reason: str,
    field: str,
) -> None:
    found, detail = send_and_expect_dead_letter(
        consumer, producer, container, creditor, build(creditor), "application/xml"
    )
    assert found == reason, detail
    assert detail.startswith(field), detail
