"""The fraud case aggregate's rules and the escalation beside it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.fraud.cases import CaseError, Escalation, case_id, escalate, escalation_id

HELD_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_an_escalation_is_its_own_aggregate_named_after_the_transaction():
    escalation = escalate("tx-1", HELD_AT, 60)
    assert escalation.id == escalation_id("tx-1") != case_id("tx-1")
    assert escalate("tx-1", HELD_AT, 90).id == escalation.id  # a second one would conflict
    (created,) = escalation.collect_events()
    assert type(created).__name__ == "Escalated"
    assert (created.transaction_id, created.waiting_since, created.deadline_minutes) == (
        "tx-1",
        HELD_AT,
        60,
    )
    replayed = created.mutate(None)
    assert isinstance(replayed, Escalation) and replayed.deadline_minutes == 60


def test_an_escalation_needs_a_positive_deadline():
    with pytest.raises(CaseError, match="positive"):
        escalate("tx-3", HELD_AT, 0)
