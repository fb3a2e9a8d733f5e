"""Causation and recording time reach every event a use case triggers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.causation import Causation, caused_by, current_causation, recording_at
from domain.iban import Iban
from domain.ledger.accounts import Account


def test_events_carry_the_causation_set_at_the_edge() -> None:
    causation = Causation(actor="user:alice", correlation_id="corr-1", channel="GRAPHQL")
    with caused_by(causation):
        account = Account.open_customer(
            Iban("DE89370400440532013000"), "Max Mustermann", "EUR", Decimal("0")
        )
        account.freeze("fraud suspicion")
    events = account.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "Frozen"]
    for event in events:
        assert event.actor == "user:alice"  # type: ignore[attr-defined]
        assert event.correlation_id == "corr-1"  # type: ignore[attr-defined]
        assert event.via_channel == "GRAPHQL"  # type: ignore[attr-defined]


def test_causation_is_restored_after_the_block() -> None:
    outer = current_causation()
    with caused_by(Causation(actor="user:bob")):
        assert current_causation().actor == "user:bob"
    assert current_causation().actor == outer.actor


def test_events_of_one_unit_of_work_share_the_recording_time() -> None:
    instant = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    with recording_at(instant):
        account = Account.open_internal("clearing:EUR")
        account.credit(Account.create_id("x"), Decimal("1.00"))
    assert {e.timestamp for e in account.collect_events()} == {instant}
