"""The fraud case aggregate's rules (assignment, decision, escalation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.fraud.cases import CaseError, CaseStatus, FraudCase, Verdict

HELD_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_an_undecided_case_is_escalated_once_and_keeps_its_status():
    case = FraudCase("tx-1")
    case.assign("fran")
    case.escalate(HELD_AT, 60)
    assert case.escalated and case.status is CaseStatus.ASSIGNED
    with pytest.raises(CaseError, match="already escalated"):
        case.escalate(HELD_AT, 60)
    case.decide(Verdict.FALSE_POSITIVE, "known customer")  # escalation does not block it
    assert case.status is CaseStatus.DECIDED


def test_a_decided_case_cannot_be_escalated():
    case = FraudCase("tx-2")
    case.decide(Verdict.CONFIRMED_FRAUD, "")
    with pytest.raises(CaseError, match="decided"):
        case.escalate(HELD_AT, 60)
    assert not case.escalated


def test_an_escalation_needs_a_positive_deadline():
    case = FraudCase("tx-3")
    with pytest.raises(CaseError, match="positive"):
        case.escalate(HELD_AT, 0)


def test_escalation_replays_from_the_events():
    case = FraudCase("tx-4")
    case.escalate(HELD_AT, 45)
    events = case.collect_events()
    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)
    assert replayed is not None and replayed.escalated
    assert events[-1].waiting_since == HELD_AT and events[-1].deadline_minutes == 45
