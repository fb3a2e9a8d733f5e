"""Reconciliation never matches different amounts: one cent is a break, whichever rule looks.

The matching tests elsewhere use differences of whole euros, so a matcher that let a
0.01 difference count as a match would pass them. Here: the one-cent cases by hand (by
reference, by amount and date, and the closing balance), and a property that any non-zero
difference is a break and never a match, with equal amounts as the control that matches.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.reconciliation.matching import (
    BreakKind,
    LedgerPosting,
    LedgerSide,
    MatchRule,
    match_statement,
)
from domain.reconciliation.statement import Direction, Statement, StatementEntry

DAY = date(2026, 11, 23)
IBAN = "DE89370400440532013000"


def entry(signed: Decimal, ref: str | None) -> StatementEntry:
    return StatementEntry(
        amount=abs(signed),
        currency="EUR",
        direction=Direction.CREDIT if signed > 0 else Direction.DEBIT,
        booking_date=DAY,
        end_to_end_id=ref,
        references=(("EndToEndId", ref),) if ref else (),
    )


def statement(*entries: StatementEntry, closing: Decimal = Decimal("0")) -> Statement:
    return Statement(
        statement_id="S-1",
        created_at=datetime(2026, 11, 24, tzinfo=UTC),
        account=IBAN,
        currency="EUR",
        from_date=DAY,
        to_date=DAY,
        closing_balance=closing,
        entries=entries,
    )


def ledger(*postings: LedgerPosting, closing: Decimal = Decimal("0")) -> LedgerSide:
    return LedgerSide(IBAN, "EUR", closing, postings)


@pytest.mark.parametrize(
    ("on_statement", "in_ledger"),
    [("10.00", "10.01"), ("10.01", "10.00"), ("-10.00", "-10.01"), ("-10.01", "-10.00")],
)
def test_one_cent_apart_with_the_same_reference_is_an_amount_mismatch(
    on_statement: str, in_ledger: str
) -> None:
    result = match_statement(
        statement(entry(Decimal(on_statement), "E2E-1"), closing=Decimal("5.00")),
        ledger(
            LedgerPosting("t1", Decimal(in_ledger), DAY, frozenset({"E2E-1"})),
            closing=Decimal("5.00"),
        ),
    )
    assert result.matches == ()
    [finding] = result.findings
    assert finding.kind is BreakKind.AMOUNT_MISMATCH
    assert (finding.statement_amount, finding.ledger_amount) == (
        Decimal(on_statement),
        Decimal(in_ledger),
    )
    assert (finding.entry_index, finding.transaction_id) == (0, "t1")


@pytest.mark.parametrize(
    ("on_statement", "in_ledger"),
    [("10.00", "10.01"), ("10.01", "10.00"), ("-10.00", "-10.01"), ("-10.01", "-10.00")],
)
def test_one_cent_apart_without_a_reference_matches_nothing_by_amount_and_date(
    on_statement: str, in_ledger: str
) -> None:
    result = match_statement(
        statement(entry(Decimal(on_statement), None)),
        ledger(LedgerPosting("t1", Decimal(in_ledger), DAY)),
    )
    assert result.matches == ()
    assert [(f.kind, f.statement_amount, f.ledger_amount) for f in result.findings] == [
        (BreakKind.MISSING_IN_LEDGER, Decimal(on_statement), None),
        (BreakKind.MISSING_IN_CORE, None, Decimal(in_ledger)),
    ]


def test_closing_balances_one_cent_apart_are_a_break() -> None:
    result = match_statement(statement(closing=Decimal("10.00")), ledger(closing=Decimal("10.01")))
    assert [(f.kind, f.statement_amount, f.ledger_amount) for f in result.findings] == [
        (BreakKind.CLOSING_BALANCE_MISMATCH, Decimal("10.00"), Decimal("10.01"))
    ]


cents = st.integers(min_value=1, max_value=10_000_000)
# one cent either way, drawn often; then any difference up to 100 000.00
differences = st.one_of(st.sampled_from([-1, 1]), st.integers(-10_000_000, 10_000_000).filter(bool))


@pytest.mark.parametrize(
    ("entry_ref", "posting_refs"),
    [
        ("E2E-1", frozenset({"E2E-1"})),  # the reference rule looks
        ("E2E-1", frozenset({"OTHER"})),  # references differ: amount and date looks
        (None, frozenset({"E2E-1"})),
        (None, frozenset()),
    ],
    ids=["same-reference", "other-reference", "posting-reference-only", "no-reference"],
)
@given(
    amount=cents,
    difference=st.one_of(st.just(0), differences),
    debit=st.booleans(),
    closing_difference=st.one_of(st.just(0), differences),
)
def test_any_non_zero_difference_is_a_break_and_never_a_match(
    entry_ref: str | None,
    posting_refs: frozenset[str],
    amount: int,
    difference: int,
    debit: bool,
    closing_difference: int,
) -> None:
    """One entry, one posting in the same direction; equal amounts (the control) match."""
    ledger_cents = amount + difference
    if ledger_cents <= 0:
        ledger_cents = amount - difference  # stays in the same direction, still different
    sign = -1 if debit else 1
    on_statement = sign * Decimal(amount).scaleb(-2)
    in_ledger = sign * Decimal(ledger_cents).scaleb(-2)
    closing = Decimal("123.45")
    result = match_statement(
        statement(entry(on_statement, entry_ref), closing=closing),
        ledger(
            LedgerPosting("t1", in_ledger, DAY, posting_refs),
            closing=closing + Decimal(closing_difference).scaleb(-2),
        ),
    )
    kinds = [f.kind for f in result.findings]
    assert (BreakKind.CLOSING_BALANCE_MISMATCH in kinds) is (closing_difference != 0)
    entry_kinds = [k for k in kinds if k is not BreakKind.CLOSING_BALANCE_MISMATCH]
    if in_ledger == on_statement:
        assert entry_kinds == []
        rule = MatchRule.REFERENCE if entry_ref in posting_refs else MatchRule.AMOUNT_AND_DATE
        assert [(m.entry_index, m.transaction_id, m.rule) for m in result.matches] == [
            (0, "t1", rule)
        ]
        return
    assert result.matches == ()
    if entry_ref in posting_refs:
        assert entry_kinds == [BreakKind.AMOUNT_MISMATCH]
    else:
        assert entry_kinds == [BreakKind.MISSING_IN_LEDGER, BreakKind.MISSING_IN_CORE]
