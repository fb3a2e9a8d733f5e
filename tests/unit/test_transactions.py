"""Transactions as in-memory aggregates: lifecycle, balanced postings, causation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.causation import Causation, caused_by, recording_at
from domain.errors import InvalidTransition, RejectionReason, UnbalancedPostings
from domain.ledger.ids import transaction_id
from domain.ledger.transactions import (
    Leg,
    ScreeningOutcome,
    Transaction,
    TransactionStatus,
    check_balanced,
)
from tests.builders import iban

S = TransactionStatus
A = uuid.uuid4()
B = uuid.uuid4()


def new_tx(external_id: str = "EXT-1", channel: str = "MOBILE", amount: str = "10.00"):
    return Transaction(
        channel=channel,
        external_id=external_id,
        amount=Decimal(amount),
        currency="EUR",
        debtor_iban=iban("DE"),
        debtor_name="D",
        creditor_iban=iban("FR"),
        creditor_name="C",
        reference="ref",
        requested_at=datetime(2026, 11, 23, 10, 15, tzinfo=UTC),
        metadata={"deviceId": "d-1"},
        reverses=None,
    )


def legs(amount: str = "10.00") -> list[Leg]:
    return [Leg(A, "a", -Decimal(amount)), Leg(B, "b", Decimal(amount))]


def screen(t: Transaction) -> None:
    t.record_screening(ScreeningOutcome.APPROVE, [], None, None)


TRANSITIONS = {
    S.SCREENED: screen,
    S.POSTED: lambda t: t.post(legs(), "2026-11-23"),
    S.HELD: lambda t: t.hold(A, Decimal("10.00")),
    S.REJECTED: lambda t: t.reject(RejectionReason.OPERATOR_REJECTED, "no"),
    S.SETTLED: lambda t: t.settle("SETTLE-1"),
    S.REVERSED: lambda t: t.mark_reversed(uuid.uuid4(), "mistake"),
}

PATHS: dict[TransactionStatus, list[TransactionStatus]] = {
    S.RECEIVED: [],
    S.SCREENED: [S.SCREENED],
    S.HELD: [S.SCREENED, S.HELD],
    S.POSTED: [S.SCREENED, S.POSTED],
    S.REJECTED: [S.REJECTED],
    S.SETTLED: [S.SCREENED, S.POSTED, S.SETTLED],
    S.REVERSED: [S.SCREENED, S.POSTED, S.REVERSED],
}

# The lifecycle of the issue, spelled out independently of the implementation.
ALLOWED = {
    (S.RECEIVED, S.SCREENED),
    (S.RECEIVED, S.REJECTED),
    (S.SCREENED, S.POSTED),
    (S.SCREENED, S.HELD),
    (S.SCREENED, S.REJECTED),
    (S.HELD, S.POSTED),
    (S.HELD, S.REJECTED),
    (S.POSTED, S.SETTLED),
    (S.POSTED, S.REVERSED),
}


def tx_in(status: TransactionStatus) -> Transaction:
    t = new_tx()
    for step in PATHS[status]:
        TRANSITIONS[step](t)
    assert t.status == status
    t.collect_events()
    return t


ALL_PAIRS = [(a, b) for a in S for b in TRANSITIONS]


@pytest.mark.parametrize(("start", "target"), [p for p in ALL_PAIRS if p in ALLOWED])
def test_allowed_transitions(start, target):
    t = tx_in(start)
    TRANSITIONS[target](t)
    assert t.status == target
    assert len(t.collect_events()) == 1


@pytest.mark.parametrize(("start", "target"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_disallowed_transition_raises_invalid_transition(start, target):
    t = tx_in(start)
    with pytest.raises(InvalidTransition):
        TRANSITIONS[target](t)
    assert t.status == start
    assert t.collect_events() == []


def test_new_transaction_is_received_with_its_details():
    t = new_tx("EXT-9", "MOBILE", "12.34")
    assert t.status == S.RECEIVED
    assert t.id == transaction_id("MOBILE", "EXT-9")
    assert t.amount == Decimal("12.34")
    assert t.metadata == {"deviceId": "d-1"}
    assert t.reverses is None
    (received,) = t.collect_events()
    assert type(received).__name__ == "Received"


def test_transaction_id_is_the_idempotency_key():
    assert new_tx("X", "MOBILE").id == new_tx("X", "MOBILE").id
    assert new_tx("X", "MOBILE").id != new_tx("X", "WEB").id
    assert new_tx("X", "MOBILE").id != new_tx("Y", "MOBILE").id
    # The separator keeps ("AB", "C") and ("A", "BC") apart.
    assert transaction_id("AB", "C") != transaction_id("A", "BC")


def test_posting_records_balanced_legs():
    t = tx_in(S.SCREENED)
    t.post(legs("10.00"), "2026-11-23")
    assert t.status == S.POSTED
    assert {(leg.account_id, leg.amount) for leg in t.legs()} == {
        (A, Decimal("-10.00")),
        (B, Decimal("10.00")),
    }
    (posted,) = t.collect_events()
    assert posted.booking_date == "2026-11-23"
    assert sum(Decimal(p["amount"]) for p in posted.postings) == 0


@pytest.mark.parametrize(
    "bad_legs",
    [
        [Leg(A, "a", Decimal("-10.00")), Leg(B, "b", Decimal("9.99"))],
        [Leg(A, "a", Decimal("10.00")), Leg(B, "b", Decimal("10.00"))],
        [Leg(A, "a", Decimal("0"))],
        [],
    ],
)
def test_unbalanced_postings_are_refused(bad_legs):
    t = tx_in(S.SCREENED)
    with pytest.raises(UnbalancedPostings):
        t.post(bad_legs, "2026-11-23")
    assert t.status == S.SCREENED
    assert t.collect_events() == []


def test_check_balanced_accepts_multi_leg_postings():
    check_balanced(
        [
            Leg(A, "a", Decimal("-10.00")),
            Leg(B, "b", Decimal("7.50")),
            Leg(uuid.uuid4(), "c", Decimal("2.50")),
        ]
    )


def test_screening_records_outcome():
    t = new_tx()
    t.record_screening(ScreeningOutcome.REVIEW, ["amount-review"], Decimal("0.7"), "m-1")
    assert t.status == S.SCREENED
    assert t.screening_outcome == "REVIEW"
    events = t.collect_events()
    screened = events[-1]
    assert screened.rule_hits == ["amount-review"]
    assert screened.score == Decimal("0.7")
    assert screened.model_version == "m-1"


def test_hold_then_reject_records_the_reason_and_drops_the_hold():
    t = tx_in(S.HELD)
    assert t.hold_account_id == A
    t.reject(RejectionReason.OPERATOR_REJECTED, "analyst said no")
    assert t.rejection_reason == "OPERATOR_REJECTED"
    assert t.hold_account_id is None


def test_hold_then_post_drops_the_hold():
    t = tx_in(S.HELD)
    t.post(legs(), "2026-11-23")
    assert t.status == S.POSTED
    assert t.hold_account_id is None


def test_reject_records_reason_and_detail():
    t = new_tx()
    t.reject(RejectionReason.UNKNOWN_ACCOUNT, "nobody here")
    rejected = t.collect_events()[-1]
    assert rejected.reason == "UNKNOWN_ACCOUNT"
    assert rejected.detail == "nobody here"
    assert t.rejection_reason == "UNKNOWN_ACCOUNT"


def test_mark_reversed_links_the_reversal():
    t = tx_in(S.POSTED)
    reversal_id = uuid.uuid4()
    t.mark_reversed(reversal_id, "customer complaint")
    assert t.reversed_by == reversal_id
    assert t.status == S.REVERSED


def test_events_carry_causation_and_share_the_recording_time():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    causation = Causation(actor="service:ingestion", correlation_id="c-7", channel="STOMP")
    with caused_by(causation), recording_at(at):
        t = new_tx()
        screen(t)
        t.post(legs(), "2026-01-02")
    events = t.collect_events()
    assert [type(e).__name__ for e in events] == ["Received", "Screened", "Posted"]
    for e in events:
        assert e.actor == "service:ingestion"
        assert e.correlation_id == "c-7"
        assert e.via_channel == "STOMP"
        assert e.timestamp == at


def test_state_is_rebuilt_from_events():
    t = tx_in(S.POSTED)
    t2 = new_tx()
    screen(t2)
    t2.post(legs(), "2026-11-23")
    t2.settle("S-1")
    rebuilt = None
    for e in t2.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.status == S.SETTLED
    assert rebuilt.legs() == t2.legs()
    assert t.id == rebuilt.id
