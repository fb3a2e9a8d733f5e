"""Partitioned ingestion's routing and the two-step posting's domain rules (no database).

* A message goes to the partition of the account it debits: the debtor's when the debtor
  holds an account here, else the creditor's; held partitions are booked, the others
  forwarded by partition; a message debiting accounts of several partitions is unscoped.
* A forwarded copy keeps what the booking reads and renames what a broker would act on.
* ``Posted`` with a pending credit, then ``CreditApplied``: balanced legs at each step, the
  credit applied once, no reversal in between; an old ``Posted`` (no ``credit_pending``)
  still replays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.messaging.connection import Delivery
from adapters.messaging.consumer import _forwarded_headers
from adapters.messaging.partitioning import PartitionRouter, debit_key, partition_queue
from adapters.partitions.fencing import Lease
from application.ledger.commands import PaymentInstruction
from domain.errors import InvalidTransition, NotReversible
from domain.iban import Iban
from domain.ledger import booking
from domain.ledger.accounts import Account
from domain.ledger.partitions import partition_of
from domain.ledger.transactions import ScreeningOutcome, Transaction
from tests.builders import iban, payment

P = 8


class FakeLeases:
    """What the router reads of a lease member: its partitions and their leases."""

    def __init__(self, held: Iterable[int]) -> None:
        self.partitions = P
        self._owned = {p: Lease("ingestion", p, 1, "me") for p in held}

    def owned(self) -> Mapping[int, Lease]:
        return self._owned


class Directory:
    def __init__(self, ours: Iterable[str]) -> None:
        self.ours = set(ours)
        self.asked: list[set[str]] = []

    def existing_accounts(self, keys: Iterable[str]) -> set[str]:
        wanted = set(keys)
        self.asked.append(wanted)
        return wanted & self.ours


def router(held: Iterable[int], ours: Iterable[str]) -> tuple[PartitionRouter, Directory]:
    directory = Directory(ours)
    return PartitionRouter(FakeLeases(held), directory, schema=None), directory  # type: ignore[arg-type]


def instructions(message: list[PaymentInstruction]) -> list[PaymentInstruction]:
    return message


def test_a_payment_goes_to_its_debtor_partition_or_its_creditors_when_the_debtor_is_elsewhere() -> (
    None
):
    debtor, creditor, outsider = iban("DE"), iban("DE"), iban("FR")
    internal = payment(debtor=debtor, creditor=creditor)
    incoming = payment(debtor=outsider, creditor=creditor)
    ours = {debtor, creditor}
    assert debit_key(internal, ours) == debtor
    assert debit_key(incoming, ours) == creditor


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=30), st.sets(st.integers(0, P - 1)))
def test_every_message_is_booked_here_or_forwarded_to_its_partition(
    numbers: list[int], held: set[int]
) -> None:
    keys = [iban("DE", 100_000 + n) for n in numbers]
    messages = [[payment(debtor=key, creditor=iban("FR", 5))] for key in keys]
    route, directory = router(held, keys)
    routed = route.split(messages, instructions)
    assert len(directory.asked) == 1  # one directory question per batch
    assert routed.unscoped == []
    forwarded = [m for batch in routed.forward.values() for m in batch]
    assert sorted(map(id, routed.local + forwarded)) == sorted(map(id, messages))
    for message in routed.local:
        assert partition_of(message[0].debtor.iban.value, P) in held
    for partition, forwarded in routed.forward.items():
        assert partition not in held
        assert all(partition_of(m[0].debtor.iban.value, P) == partition for m in forwarded)


def test_a_message_debiting_several_partitions_is_booked_here_unscoped() -> None:
    first = iban("DE", 1)
    second = next(
        key
        for n in range(2, 500)
        if partition_of(key := iban("DE", n), P) != partition_of(first, P)
    )
    message = [
        payment(debtor=first, creditor=iban("FR")),
        payment(debtor=second, creditor=iban("FR")),
    ]
    route, _ = router(range(P), {first, second})
    assert route.split([message], instructions).unscoped == [message]


def test_the_partition_queue_sits_next_to_the_inbound_queue() -> None:
    assert (
        partition_queue("/queue/ledger.transactions.in", 7) == "/queue/ledger.transactions.in.p007"
    )


def test_a_forwarded_copy_keeps_what_booking_reads_and_renames_what_a_broker_acts_on() -> None:
    delivery = Delivery(
        message_id="m-1",
        ack_id="a-1",
        destination="/queue/ledger.transactions.in",
        headers={
            "content-type": "application/json",
            "correlation-id": "c-1",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-message-ttl": "1",
            "expiration": "5",
            "message-id": "m-1",
            "subscription": "s",
            "ack": "a-1",
        },
        body=b"{}",
        session=1,
    )
    headers = _forwarded_headers(delivery)
    assert headers["content-type"] == "application/json"
    assert headers["correlation-id"] == "c-1"
    assert headers["traceparent"].startswith("00-")
    assert "x-message-ttl" not in headers and headers["x-original-header-x-message-ttl"] == "1"
    assert "expiration" not in headers and headers["x-original-header-expiration"] == "5"
    assert not {"message-id", "subscription", "ack"} & headers.keys()
    assert headers["x-forwarded-from"] == "/queue/ledger.transactions.in"


def _posted_in_transit(amount: str = "40.00") -> tuple[Transaction, Account, Account]:
    debtor = Account.open_customer(Iban(iban("DE")), "D", "EUR", Decimal("1000"))
    creditor = Account.open_customer(Iban(iban("DE")), "C", "EUR", Decimal(0))
    tx = Transaction(
        channel="MOBILE", external_id="X-1", amount=Decimal(amount), currency="EUR",
        debtor_iban=debtor.key, debtor_name="D", creditor_iban=creditor.key, creditor_name="C",
        reference="r", requested_at=None, metadata={}, reverses=None,
    )  # fmt: skip
    tx.record_screening(ScreeningOutcome.APPROVE, [], None, None)
    booking.post_payment_in_transit(tx, booking.Route(debtor, creditor), "2026-12-07")
    return tx, debtor, creditor


def test_the_first_step_debits_the_debtor_to_transit_and_leaves_the_credit_pending() -> None:
    tx, debtor, creditor = _posted_in_transit()
    assert tx.credit_pending == creditor.key
    assert debtor.balance == Decimal("-40.00") and creditor.balance == 0
    assert {leg.account_key: leg.amount for leg in tx.legs()} == {
        debtor.key: Decimal("-40.00"),
        "in-transit:EUR": Decimal("40.00"),
    }
    with pytest.raises(NotReversible, match="in transit"):
        tx.check_reversible()


def test_the_second_step_credits_out_of_transit_once() -> None:
    tx, _debtor, creditor = _posted_in_transit()
    booking.apply_pending_credit(tx, creditor, "2026-12-07")
    assert creditor.balance == Decimal("40.00") and tx.credit_pending is None
    totals: dict[str, Decimal] = {}
    for leg in tx.legs():
        totals[leg.account_key] = totals.get(leg.account_key, Decimal(0)) + leg.amount
    assert totals["in-transit:EUR"] == 0 and sum(totals.values()) == 0
    with pytest.raises(InvalidTransition):
        booking.apply_pending_credit(tx, creditor, "2026-12-07")
    tx.check_reversible()  # now it can be reversed


def test_a_creditor_gone_in_between_is_credited_to_suspense() -> None:
    tx, _debtor, _creditor = _posted_in_transit()
    booking.apply_pending_credit(tx, None, "2026-12-07")
    suspense = [leg for leg in tx.legs() if leg.account_key == "suspense:EUR"]
    assert [leg.amount for leg in suspense] == [Decimal("40.00")]
    event: Any = tx.pending_events[-1]
    assert "does not exist" in event.suspense_reason


def test_an_old_posted_event_without_a_pending_credit_replays() -> None:
    """As the event store's mapper rebuilds a stored event (its state dict, no __init__)."""
    tx, _debtor, _creditor = _posted_in_transit()
    events = list(tx.pending_events)
    posted = next(e for e in events if type(e).__name__ == "Posted")
    old = object.__new__(type(posted))
    old.__dict__.update({k: v for k, v in posted.__dict__.items() if k != "credit_pending"})
    replayed: Any = None
    for event in events:
        replayed = (old if event is posted else event).mutate(replayed)
    assert replayed.credit_pending is None and replayed.status == "POSTED"
