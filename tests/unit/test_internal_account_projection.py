"""Internal accounts in the ``accounts`` projection: balance, postings and history from the
transactions' legs (never from the internal aggregate), however the legs and batches fall.

* Old logs (the clearing aggregate also got ``Debited``/``Credited``, and was opened after
  the first payment's events) give the same balance as new ones: no leg counts twice.
* Legs that reach the log out of ``recorded_at`` order (concurrent writers) still give the
  right balance as of every instant, and the same rows however the batches are split.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool

from domain.causation import recording_at
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id
from domain.ledger.transactions import Leg, ScreeningOutcome, Transaction
from projections.events import Envelope
from projections.ledger.account_queries import AccountQueries
from projections.ledger.accounts import AccountsProjection
from projections.ledger.tables import rm_account_history, rm_accounts, rm_postings
from projections.tables import metadata

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
CLEARING = "clearing:EUR"
CUSTOMER = "DE89370400440532013000"


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def posted(n: int, amount: str, at: datetime) -> tuple[Transaction, list[Any]]:
    """A payment of ``amount`` from outside (clearing pays) recorded at ``at``: its events."""
    value = Decimal(amount)
    with recording_at(at):
        tx = Transaction(
            channel="TEST",
            external_id=f"p{n}",
            amount=value,
            currency="EUR",
            debtor_iban="FR7630006000011234567890189",
            debtor_name="Out",
            creditor_iban=CUSTOMER,
            creditor_name="Ann",
            reference="r",
            requested_at=None,
            metadata={},
            reverses=None,
        )
        tx.record_screening(ScreeningOutcome.APPROVE, [], None, None)
        legs = [
            Leg(account_id(CLEARING), CLEARING, -value),
            Leg(account_id(CUSTOMER), CUSTOMER, value),
        ]
        tx.post(legs, "2026-05-04")
    return tx, list(tx.collect_events())


def opened(at: datetime) -> tuple[Account, list[Any]]:
    with recording_at(at):
        account = Account.open_internal(CLEARING)
    return account, list(account.collect_events())


def envelopes(events: list[Any]) -> list[Envelope]:
    return [Envelope("ledger", n, e) for n, e in enumerate(events, start=1)]


def project(engine: Engine, events: list[Envelope], splits: list[int]) -> None:
    projection = AccountsProjection()
    bounds = [0, *sorted(set(splits)), len(events)]
    for start, end in itertools.pairwise(bounds):
        with engine.begin() as conn:
            projection.apply(conn, events[start:end])


def rows(engine: Engine) -> tuple[list[Any], list[Any], list[Any]]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in (rm_accounts, rm_account_history, rm_postings)
        )


def test_an_old_log_counts_each_leg_once_like_a_new_one(engine: Engine) -> None:
    """Old code debited the clearing aggregate too (and opened it after the first payment's
    events); the legs are the source, so old and new logs give one balance."""
    tx1, tx1_events = posted(1, "100.00", T0)
    tx2, tx2_events = posted(2, "40.00", T0 + timedelta(seconds=1))
    account, account_events = opened(T0)
    with recording_at(T0):
        account.debit(tx1.id, Decimal("100.00"), "2026-05-04")
    with recording_at(T0 + timedelta(seconds=1)):
        account.debit(tx2.id, Decimal("40.00"), "2026-05-04")
    legacy = [*tx1_events, *account_events, *account.collect_events(), *tx2_events]
    project(engine, envelopes(legacy), [])
    clearing = AccountQueries(engine).account(CLEARING)
    assert clearing is not None and clearing.balance == Decimal("-140.00")
    assert clearing.type == "INTERNAL" and clearing.holder_name == "clearing account EUR"
    postings = [item for _, item in AccountQueries(engine).postings(CLEARING).edges]
    assert [(p.amount, p.balance_after) for p in postings] == [
        (Decimal("-40.00"), Decimal("-140.00")),
        (Decimal("-100.00"), Decimal("-100.00")),
    ]


def test_a_new_log_opens_first_and_never_writes_the_aggregate(engine: Engine) -> None:
    _, account_events = opened(T0)
    _, tx_events = posted(1, "25.50", T0 + timedelta(seconds=1))
    project(engine, envelopes([*account_events, *tx_events]), [])
    queries = AccountQueries(engine)
    assert queries.account(CLEARING, as_of=T0) is not None
    assert queries.account(CLEARING, as_of=T0).balance == 0  # type: ignore[union-attr]
    now = queries.account(CLEARING)
    assert now is not None and now.balance == Decimal("-25.50")


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 6), min_size=1, max_size=8),
    splits=st.lists(st.integers(0, 12), max_size=3),
)
def test_late_legs_give_the_balance_as_of_every_instant_however_batches_fall(
    offsets: list[int], splits: list[int]
) -> None:
    """Legs in log order with ``recorded_at`` out of order (writers that no longer serialise
    on clearing): as of every instant the balance is the sum of the legs recorded by then,
    and the rows are those one batch writes."""
    _, account_events = opened(T0)
    legs: list[tuple[datetime, Decimal]] = []
    events = list(account_events)
    for n, offset in enumerate(offsets):
        at = T0 + timedelta(seconds=1 + offset)
        amount = Decimal(n + 1)
        legs.append((at, -amount))
        events += posted(n, str(amount), at)[1]
    log = envelopes(events)
    results = []
    for batches in ([], splits):
        engine = create_engine("sqlite://", poolclass=StaticPool)
        metadata.create_all(engine)
        project(engine, log, [s for s in batches if s < len(log)])
        queries = AccountQueries(engine)
        for second in range(9):
            instant = T0 + timedelta(seconds=second)
            view = queries.account(CLEARING, as_of=instant)
            assert view is not None
            expected = sum((amount for at, amount in legs if at <= instant), Decimal(0))
            assert view.balance == expected, (second, legs)
            page = [p for _, p in queries.postings(CLEARING, first=100, as_of=instant).edges]
            assert sum((p.amount for p in page), Decimal(0)) == expected
            if page:
                assert page[0].balance_after == expected
        results.append(rows(engine))
        engine.dispose()
    assert results[0] == results[1]
