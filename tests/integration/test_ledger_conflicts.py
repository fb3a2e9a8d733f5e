"""A conflict costs the conflicting payments, not the batch (issue 14), on SQLite and PostgreSQL.

Two LedgerApplication instances on one store are two writers (two processes, say). Each keeps
a working set of the accounts it last committed or read; when the other writer changed one of
them, the batch's commit conflicts, one query finds which aggregates were stale, and the retry
re-runs the whole batch in memory, reading only those. Reads are counted with a spy on the
application's repository (every aggregate read goes through it), the stale check with a spy on
the recorder's ``current_versions`` (the :class:`~application.ports.StoredVersions` port).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import DatabaseConfig
from application.ledger.app import LedgerApplication
from application.ledger.commands import PaymentInstruction, SubmissionResult
from application.ports import BulkEvents, StoredVersions
from domain.ledger.ids import account_id, transaction_id
from tests.builders import FakeClock, iban, make_app, open_command, payment

ZERO = Decimal(0)
OVERDRAFT = Decimal("300.00")


@dataclass
class Spy:
    """What one application read and checked, in order: ``("read", id)`` per aggregate read
    from the store (alone or in a bulk read), ``("check", ids)`` per stale check after a
    conflict."""

    log: list[tuple[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        self.log.clear()

    @property
    def checks(self) -> int:
        return sum(1 for kind, _ in self.log if kind == "check")

    def reads(self, *, after_first_check: bool = False) -> list[uuid.UUID]:
        """The ids read (all, or those read after the first conflict: the retries' reads)."""
        reads: list[uuid.UUID] = []
        checked = False
        for kind, value in self.log:
            if kind == "check":
                checked = True
            elif kind == "read" and (checked or not after_first_check):
                reads.append(value)
        return reads


def spy_on(app: LedgerApplication, monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy()
    original_get = app.repository.get

    def get(aggregate_id: uuid.UUID, *args: Any, **kwargs: Any) -> Any:
        spy.log.append(("read", aggregate_id))
        return original_get(aggregate_id, *args, **kwargs)

    monkeypatch.setattr(app.repository, "get", get)
    recorder = app.recorder
    assert isinstance(recorder, StoredVersions), "the store's recorder answers the port"
    original_versions = recorder.current_versions

    def current_versions(ids: Any) -> dict[uuid.UUID, int]:
        spy.log.append(("check", set(ids)))
        return original_versions(ids)

    monkeypatch.setattr(recorder, "current_versions", current_versions)
    if isinstance(recorder, BulkEvents):  # a batch reads what it lacks in one query
        original_bulk = recorder.select_events_of

        def select_events_of(ids: Any) -> dict[uuid.UUID, list[Any]]:
            found = original_bulk(ids)
            spy.log.extend(("read", i) for i in ids if i in found)
            return found

        monkeypatch.setattr(recorder, "select_events_of", select_events_of)
    return spy


@pytest.fixture
def writers(database: DatabaseConfig) -> Iterator[tuple[LedgerApplication, LedgerApplication]]:
    clock = FakeClock()
    first, second = make_app(database, clock), make_app(database, clock)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def open_accounts(app: LedgerApplication, count: int) -> list[str]:
    """``count`` customer accounts with an overdraft (transfers between them need no
    funding), and one transfer between two of them, so that ``app``'s working set holds
    whatever a transfer reads besides (such as the clearing account, opened on first use)."""
    keys = [iban("DE") for _ in range(count)]
    for key in keys:
        app.open_account(open_command(key, overdraft=str(OVERDRAFT)))
    app.submit_payment(transfer(keys[0], keys[1], "0.01"))
    return keys


def transfer(debtor: str, creditor: str, amount: str, key: str | None = None) -> PaymentInstruction:
    return payment(debtor=debtor, creditor=creditor, amount=amount, external_id=key)


def check_books(app: LedgerApplication, keys: list[str], instructions: list[PaymentInstruction]):
    """Every payment of ``instructions`` (and of the set-up transfers the accounts' streams
    show) is booked once and moved money at most once; the balances are what the posted ones
    imply, sum to zero and stay within the overdraft."""
    booked = {transaction_id_of(i): i for i in instructions}
    for key in keys:
        for e in app.events.get(account_id(key)):
            if type(e).__name__ in {"Debited", "Credited"} and e.transaction_id not in booked:
                tx = app.get_transaction(e.transaction_id)
                booked[tx.id] = transfer(tx.debtor_iban, tx.creditor_iban, str(tx.amount))
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    posted: set[uuid.UUID] = set()
    for tx_id, instruction in booked.items():
        tx = app.get_transaction(tx_id)
        if str(tx.status) == "POSTED":
            posted.add(tx.id)
            expected[tx.debtor_iban] -= instruction.amount.amount
            expected[tx.creditor_iban] += instruction.amount.amount
    total = ZERO
    for key in keys:
        account = app.get_account(key)
        assert account.balance == expected[key], key
        assert account.balance >= -OVERDRAFT
        total += account.balance
        legs = Counter(
            e.transaction_id
            for e in app.events.get(account.id)
            if type(e).__name__ in {"Debited", "Credited"}
        )
        assert all(n == 1 for n in legs.values()), "a transaction moved money twice here"
        assert set(legs) <= posted
    assert total == 0


def transaction_id_of(instruction: PaymentInstruction) -> uuid.UUID:
    return transaction_id(instruction.channel, instruction.external_id)


# -- one stale account ------------------------------------------------------------------------


def test_stale_accounts_cost_a_read_each_not_the_batch(writers, monkeypatch):
    a, b = writers
    keys = open_accounts(a, 41)  # a's working set now holds all of them
    hot, others = keys[0], keys[1:]
    b.submit_payment(transfer(hot, keys[-1], "5.00"))  # b changes two accounts a has cached
    batch = [transfer(hot if n % 4 == 0 else others[n], others[n - 1], "7.00") for n in range(40)]
    spy = spy_on(a, monkeypatch)

    results = a.submit_payments(batch)

    assert [r.status for r in results] == ["POSTED"] * len(batch)
    assert not any(r.duplicate for r in results)
    assert spy.checks == 1, "one conflict, one stale check"
    assert spy.reads(after_first_check=True) == spy.reads(), "the first attempt read nothing"
    assert sorted(spy.reads()) == sorted({account_id(hot), account_id(keys[-1])})
    check_books(a, keys, batch)


def test_the_stale_check_is_one_query_for_every_aggregate_of_the_batch(writers, monkeypatch):
    a, b = writers
    keys = open_accounts(a, 11)
    b.submit_payment(transfer(keys[0], keys[1], "1.00"))
    batch = [transfer(keys[n], keys[n + 1], "2.00") for n in range(10)]
    spy = spy_on(a, monkeypatch)
    a.submit_payments(batch)
    [(_, ids)] = [entry for entry in spy.log if entry[0] == "check"]
    # every account and transaction of the batch (and what routing reads besides: clearing)
    assert ids >= {account_id(k) for k in keys} | {transaction_id_of(i) for i in batch}


# -- a duplicate booked meanwhile --------------------------------------------------------------


def test_a_payment_booked_meanwhile_by_the_other_writer_is_answered_as_a_duplicate(
    writers, monkeypatch
):
    a, b = writers
    keys = open_accounts(a, 21)
    twice = transfer(keys[0], keys[1], "9.00")
    first = b.submit_payment(twice)
    batch = [transfer(keys[n], keys[n + 1], "3.00") for n in range(2, 20)]
    batch.insert(7, twice)
    spy = spy_on(a, monkeypatch)

    results = a.submit_payments(batch)

    answer = results[7]
    assert answer.duplicate and answer.transaction_id == first.transaction_id
    assert answer.status == first.status == "POSTED"
    assert all(r.status == "POSTED" and not r.duplicate for r in results[:7] + results[8:])
    # Stale: the transaction and its two accounts. The retry reads only those: the
    # transaction, which answers the duplicate, and (on a store with bulk reads, in the
    # batch's one read of what its working set lacks) the two accounts.
    stale = {transaction_id_of(twice), account_id(keys[0]), account_id(keys[1])}
    assert transaction_id_of(twice) in spy.reads() and set(spy.reads()) <= stale
    check_books(a, keys, batch)


# -- the other writer commits between this one's reads and its commit --------------------------


@contextmanager
def booking_during_first_commit(
    app: LedgerApplication, other: LedgerApplication, batch: list[PaymentInstruction]
) -> Iterator[list[list[SubmissionResult]]]:
    """While in the block, ``other`` books ``batch`` just before ``app``'s first commit reaches
    the store (after ``app`` read, decided and wrote in memory); yields the list that
    ``other``'s results go to."""
    answers: list[list[SubmissionResult]] = []
    original_save = app.save

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        if not answers:
            answers.append(other.submit_payments(batch))
        return original_save(*aggregates, **kwargs)

    app.save = save  # type: ignore[method-assign]
    try:
        yield answers
    finally:
        del app.save


def test_a_batch_booked_by_the_other_writer_mid_commit(writers, monkeypatch):
    a, b = writers
    keys = open_accounts(a, 30)
    b.submit_payments([transfer(k, keys[0], "1.00") for k in keys[1:]])  # b caches them all
    a.submit_payments([transfer(keys[0], k, "1.00") for k in keys[1:]])  # a: fresh after b
    shared = transfer(keys[3], keys[4], "4.00")
    theirs = [transfer(keys[5], keys[6], "2.00"), shared]
    ours = [transfer(keys[n], keys[n + 1], "6.00") for n in range(10, 29)] + [shared]
    spy = spy_on(a, monkeypatch)

    with booking_during_first_commit(a, b, theirs) as answers:
        results = a.submit_payments(ours)

    assert answers[0][1].duplicate is False and results[-1].duplicate is True
    assert results[-1].transaction_id == answers[0][1].transaction_id
    assert all(r.status == "POSTED" and not r.duplicate for r in results[:-1])
    # Stale: the shared payment and its two accounts; the retry answers it from the read of
    # the transaction (the two accounts may come in the batch's bulk read of what it lacks).
    # Nothing else is read again.
    stale = {transaction_id_of(shared), account_id(keys[3]), account_id(keys[4])}
    assert transaction_id_of(shared) in spy.reads() and set(spy.reads()) <= stale
    check_books(a, keys, [*ours, *theirs])


# -- random interleavings of two writers' batches ---------------------------------------------

ACCOUNTS = 6
PAYMENTS = 14


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[Any]]:
    """A table of payments (debtor, creditor, amount in cents) by key, and steps: which writer
    books which keys (repeats allowed, across writers and within a batch), and which keys the
    other writer books in the middle of that batch's first commit (or none)."""
    table = [
        draw(
            st.tuples(
                st.integers(0, ACCOUNTS - 1), st.integers(1, ACCOUNTS - 1), st.integers(1, 25_000)
            )
        )
        for _ in range(PAYMENTS)
    ]
    table = [(d, (d + c) % ACCOUNTS, cents) for d, c, cents in table]
    keys = st.lists(st.integers(0, PAYMENTS - 1), min_size=1, max_size=8)
    steps = draw(
        st.lists(st.tuples(st.integers(0, 1), keys, st.none() | keys), min_size=1, max_size=6)
    )
    return table, steps


def _property_settings() -> settings:
    return settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@_property_settings()
@given(case=interleavings())
def test_random_interleavings_of_two_writers_conserve_money_and_book_once(writers, case):
    table, steps = case
    apps = list(writers)
    keys = open_accounts(apps[0], ACCOUNTS)
    run = uuid.uuid4().hex[:8]
    instructions = [
        transfer(keys[d], keys[c], str(Decimal(cents).scaleb(-2)), f"P-{run}-{n}")
        for n, (d, c, cents) in enumerate(table)
    ]
    answers: list[SubmissionResult] = []
    for writer, batch, during in steps:
        app, other = apps[writer], apps[1 - writer]
        meanwhile = [instructions[k] for k in during or []]
        with booking_during_first_commit(app, other, meanwhile) as theirs:
            answers += app.submit_payments([instructions[k] for k in batch])
        for results in theirs:
            answers += results
    booked = {k for _, batch, during in steps for k in [*batch, *(during or [])]}
    firsts = Counter(a.transaction_id for a in answers if not a.duplicate)
    assert set(firsts.values()) == {1}, "exactly one first answer per payment"
    assert len(firsts) == len(booked)
    for answer in answers:
        assert (
            str(apps[0].get_transaction(uuid.UUID(answer.transaction_id)).status) == answer.status
        )
    check_books(apps[0], keys, [instructions[k] for k in booked])
