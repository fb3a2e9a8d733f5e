"""Two-step postings across partitions, on a real PostgreSQL (issue 14; docs/scale-out.md).

Two writers, each a LedgerApplication with the scope of the partitions its lease member holds
(members stepped by hand, so the split is deterministic). A payment whose creditor is in the
other writer's partition posts its debit side to ``in-transit:<CCY>`` and records a pending
credit in the same transaction; the creditor's writer applies it. Asserted on the log and the
``transit_credits`` table: conserved at every step, applied once, nothing committed by a
writer whose lease moved.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import pytest
from sqlalchemy import Engine, func, select

from adapters import migrations
from adapters.partitions import LeaseLost, PartitionLeases
from adapters.partitions.scope import LeaseScope, PendingCredits
from adapters.partitions.tables import transit_credits
from adapters.persistence import DatabaseConfig, read_model_engine
from application.errors import Conflict, OutsideScope
from application.ledger.app import LedgerApplication
from domain.ledger.ids import transaction_id
from domain.ledger.partitions import partition_of
from tests.builders import ibans, internal_balances, make_app, open_command, payment

pytestmark = pytest.mark.postgres

P = 8
GROUP = "ingestion"
OUTSIDE = "FR7630006000011234567890189"
"""A debtor of another bank: funds the accounts through clearing."""


@dataclass
class Writer:
    app: LedgerApplication
    leases: PartitionLeases
    schema: str

    def scope(self) -> LeaseScope:
        return LeaseScope(self.leases.owned(), P, self.schema)


@pytest.fixture
def engine(postgres_database: DatabaseConfig) -> Iterator[Engine]:
    engine = read_model_engine(postgres_database)
    migrations.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def writers(postgres_database: DatabaseConfig, engine: Engine) -> tuple[Writer, Writer]:
    a = PartitionLeases(engine, GROUP, partitions=P, lease_ttl=30, member_id="a")
    b = PartitionLeases(engine, GROUP, partitions=P, lease_ttl=30, member_id="b")
    a.step()
    b.step()  # joins: a must release b's share first
    a.step()
    b.step()
    assert a.owned() and b.owned() and not set(a.owned()) & set(b.owned())
    schema = postgres_database.schema or ""
    return (
        Writer(make_app(postgres_database), a, schema),
        Writer(make_app(postgres_database), b, schema),
    )


_numbers = itertools.count(70_000, 10_000)


def accounts_in(owner: Writer, count: int, opener: LedgerApplication) -> list[str]:
    """``count`` new funded accounts in ``owner``'s partitions (opened and funded unscoped)."""
    found: list[str] = []
    for key in ibans("DE", next(_numbers)):
        if partition_of(key, P) in owner.leases.owned():
            opener.open_account(open_command(key))
            opener.submit_payment(payment(debtor=OUTSIDE, creditor=key, amount="100.00"))
            found.append(key)
            if len(found) == count:
                return found
    raise AssertionError("unreachable")


def trial_balance(app: LedgerApplication, keys: list[str]) -> Decimal:
    customer = sum((Decimal(app.get_account(k).balance) for k in keys), Decimal(0))
    return customer + sum(internal_balances(app).values(), Decimal(0))


def pending_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(transit_credits)).scalar())


def test_a_credit_in_another_partition_posts_in_two_conserved_steps(
    writers: tuple[Writer, Writer], engine: Engine
) -> None:
    a, b = writers
    [debtor] = accounts_in(a, 1, a.app)
    [creditor] = accounts_in(b, 1, a.app)
    keys = [debtor, creditor]

    result = a.app.submit_payments(
        [payment(debtor=debtor, creditor=creditor, amount="30.00")], scope=a.scope()
    )[0]

    assert result.status == "POSTED"
    tx = a.app.get_transaction(UUID(result.transaction_id))
    assert tx.credit_pending == creditor
    assert a.app.get_account(debtor).balance == Decimal("70.00")
    assert a.app.get_account(creditor).balance == Decimal("100.00")
    assert internal_balances(a.app)["in-transit:EUR"] == Decimal("30.00")
    assert trial_balance(a.app, keys) == 0
    pending = PendingCredits(engine).of(b.leases.owned(), 100)
    assert [c.transaction_id for c in pending] == [tx.id]
    assert PendingCredits(engine).of(a.leases.owned(), 100) == []

    assert b.app.apply_pending_credits(pending, b.scope()) == 1

    assert b.app.get_account(creditor).balance == Decimal("130.00")
    assert internal_balances(b.app)["in-transit:EUR"] == 0
    assert trial_balance(b.app, keys) == 0
    assert pending_rows(engine) == 0
    kinds = [stored.topic.rsplit(".", 1)[-1] for stored in b.app.recorder.select_events(tx.id)]
    assert kinds == ["Received", "Screened", "Posted", "CreditApplied"]

    # The same list again (a stale read): cleared, never credited twice.
    assert b.app.apply_pending_credits(pending, b.scope()) == 0
    assert b.app.get_account(creditor).balance == Decimal("130.00")


def test_the_same_partition_books_in_one_step(writers: tuple[Writer, Writer]) -> None:
    a, _ = writers
    debtor, creditor = accounts_in(a, 2, a.app)
    result = a.app.submit_payments(
        [payment(debtor=debtor, creditor=creditor, amount="5.00")], scope=a.scope()
    )[0]
    tx = a.app.get_transaction(UUID(result.transaction_id))
    assert tx.credit_pending is None
    assert a.app.get_account(creditor).balance == Decimal("105.00")


def test_a_debtor_of_another_partition_is_refused_unbooked(writers: tuple[Writer, Writer]) -> None:
    a, b = writers
    [debtor] = accounts_in(b, 1, a.app)
    [creditor] = accounts_in(a, 1, a.app)
    instruction = payment(debtor=debtor, creditor=creditor, amount="5.00")
    with pytest.raises(OutsideScope):
        a.app.submit_payments([instruction], scope=a.scope())
    # Nothing was booked: the right writer books it afterwards.
    assert b.app.submit_payments([instruction], scope=b.scope())[0].duplicate is False


def test_a_writer_whose_lease_moved_commits_nothing(
    writers: tuple[Writer, Writer], engine: Engine
) -> None:
    a, b = writers
    [debtor] = accounts_in(a, 1, a.app)
    [creditor] = accounts_in(b, 1, a.app)
    stale = a.scope()
    a.leases.leave()  # a's partitions go to b with new tokens
    b.leases.step()
    assert set(stale.leases) <= set(b.leases.owned())
    instruction = payment(debtor=debtor, creditor=creditor, amount="5.00")
    with pytest.raises(LeaseLost):
        a.app.submit_payments([instruction], scope=stale)
    tx_id = transaction_id(instruction.channel, instruction.external_id)
    assert list(a.app.recorder.select_events(tx_id)) == []
    assert a.app.get_account(debtor).balance == Decimal("100.00")
    assert pending_rows(engine) == 0
    assert b.app.submit_payments([instruction], scope=b.scope())[0].status == "POSTED"


def test_a_creditor_closed_in_between_is_credited_to_suspense(
    writers: tuple[Writer, Writer], engine: Engine
) -> None:
    a, b = writers
    [debtor] = accounts_in(a, 1, a.app)
    [creditor] = accounts_in(b, 1, a.app)
    a.app.submit_payments(
        [payment(debtor=debtor, creditor=creditor, amount="30.00")], scope=a.scope()
    )
    b.app.submit_payment(payment(debtor=creditor, creditor=OUTSIDE, amount="100.00"))
    b.app.close_account(creditor, "customer left")  # emptied first: only then can it close
    pending = PendingCredits(engine).of(b.leases.owned(), 100)
    assert b.app.apply_pending_credits(pending, b.scope()) == 1
    balances = internal_balances(b.app)
    assert balances["suspense:EUR"] == Decimal("30.00")
    assert balances["in-transit:EUR"] == 0
    assert b.app.get_account(creditor).balance == 0
    assert pending_rows(engine) == 0


def test_a_payment_in_transit_cannot_be_reversed_until_credited(
    writers: tuple[Writer, Writer], engine: Engine
) -> None:
    a, b = writers
    [debtor] = accounts_in(a, 1, a.app)
    [creditor] = accounts_in(b, 1, a.app)
    result = a.app.submit_payments(
        [payment(debtor=debtor, creditor=creditor, amount="30.00")], scope=a.scope()
    )[0]
    tx_id = UUID(result.transaction_id)
    with pytest.raises(Conflict, match="in transit"):
        a.app.reverse(tx_id, "customer asked")
    b.app.apply_pending_credits(PendingCredits(engine).of(b.leases.owned(), 100), b.scope())
    a.app.reverse(tx_id, "customer asked")
    assert a.app.get_account(debtor).balance == Decimal("100.00")
    assert a.app.get_account(creditor).balance == Decimal("100.00")
    assert sum(internal_balances(a.app).values(), Decimal(0)) == Decimal("-200.00")
