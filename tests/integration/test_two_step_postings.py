"""Two-step postings in the read models, on SQLite and PostgreSQL (issue 14).

A writer whose scope does not hold the creditor posts the debit side to ``in-transit:<CCY>``
and leaves the credit pending; the creditor's writer applies it. The scopes here are plain
sets of accounts (the leases and their fence are PostgreSQL's, tested in
``test_partitioned_booking``): what is checked is what the projections make of both steps.
The trial balance sums to zero now and as of every instant, the transaction's status history
shows both steps, and a rebuild gives the rows incremental processing gave.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from adapters.persistence import DatabaseConfig, event_store_env
from application.ledger.app import LedgerApplication
from application.ledger.ports import PendingCredit
from application.ledger.screening import RulesScreening
from projections.runner.registry import PROJECTIONS
from tests.integration.test_projection_support import (
    LIMITS,
    START,
    Ledger,
    SteppingClock,
    make_ledger,
)

TRANSIT = "in-transit:EUR"


class Accounts:
    """A scope that holds the accounts it names (no fence: that is the leases')."""

    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)

    def owns(self, account_key: str) -> bool:
        return account_key in self.keys


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


def other_writer(ledger: Ledger) -> LedgerApplication:
    """The creditor's writer: another LedgerApplication on the store, its clock ahead."""
    return LedgerApplication(
        env=event_store_env(ledger.database, "ledger"),
        clock=SteppingClock(START + timedelta(days=1)),
        screening=RulesScreening(LIMITS),
    )


def test_a_two_step_posting_is_conserved_at_every_instant_and_rebuilds_the_same(
    ledger: Ledger,
) -> None:
    debtor = ledger.open(1, overdraft="1000")
    creditor = ledger.open(2)
    creditors_writer = other_writer(ledger)
    try:
        instruction = ledger.payment("TWO-1", debtor, creditor, "25.00")
        result = ledger.app.submit_payments([instruction], scope=Accounts(debtor))[0]
        assert result.status == "POSTED"
        tx_id = UUID(result.transaction_id)
        ledger.projector.catch_up()
        q = ledger.queries
        in_transit = q.account(TRANSIT)
        assert in_transit is not None and in_transit.balance == Decimal("25.00")
        between = datetime_of_last_change(ledger, tx_id)

        credit = PendingCredit(tx_id, creditor, "EUR")
        assert creditors_writer.apply_pending_credits([credit], Accounts(creditor)) == 1
        assert creditors_writer.apply_pending_credits([credit], Accounts(creditor)) == 0

        ledger.projector.catch_up()
        assert q.account(TRANSIT).balance == 0  # type: ignore[union-attr]
        assert q.account(creditor).balance == Decimal("25.00")  # type: ignore[union-attr]
        assert q.account(debtor).balance == Decimal("-25.00")  # type: ignore[union-attr]
        done = q.transaction(str(tx_id))
        assert done is not None and done.status == "POSTED"
        history = q.status_history([str(tx_id)])[str(tx_id)]
        statuses = [change.status for change in history]
        assert statuses == ["RECEIVED", "SCREENED", "POSTED", "POSTED"]
        assert "credit pending to" in str(history[2].detail)
        assert f"credited {creditor}" == history[3].detail
        for instant in (between, None):
            for totals in q.trial_balance(as_of=instant).totals:
                assert totals.balance_sum == 0 and totals.debits == totals.credits
        as_of_between = q.account(TRANSIT, as_of=between)
        assert as_of_between is not None and as_of_between.balance == Decimal("25.00")

        incremental = ledger.dump()
        for name in PROJECTIONS:
            ledger.projector.rebuild(name)
        assert ledger.dump() == incremental
    finally:
        creditors_writer.close()


def datetime_of_last_change(ledger: Ledger, tx_id: UUID):  # type: ignore[no-untyped-def]
    history = ledger.queries.status_history([str(tx_id)])[str(tx_id)]
    return history[-1].at
