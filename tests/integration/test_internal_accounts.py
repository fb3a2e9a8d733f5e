"""No hot aggregate: payments of concurrent writers do not conflict on ``clearing:<CCY>``,
whose balance is projected from the transactions' legs; on SQLite and PostgreSQL.

* Two writers (two LedgerApplications on one store) whose units interleave (both book via
  clearing, the unit recorded first commits last) both commit: nothing version-checks the
  clearing account, whose aggregate stays at its ``Opened`` event.
* Clearing's projected balance, postings and balance as of every instant are its legs', even
  when legs reach the log out of recording order.
* Property: for mixed sequences of incoming, outgoing and internal payments by two writers
  interleaved in any order, the trial balance sums to zero per currency (debits = credits)
  now and as of every instant, and a rebuild gives the rows incremental processing gave.
* On PostgreSQL, two writers booking concurrently via clearing never retry a unit.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import DatabaseConfig, event_store_env
from application.ledger.app import LedgerApplication
from application.ledger.payments import book_payment
from application.ledger.screening import RulesScreening
from application.ledger.unit_of_work import LedgerUnitOfWork
from domain.causation import recording_at
from domain.ledger.transactions import ScreeningOutcome, Transaction
from projections.runner.registry import PROJECTIONS
from tests.builders import ledger_balance
from tests.integration.test_projection_support import (
    LIMITS,
    START,
    Ledger,
    SteppingClock,
    fresh_like,
    iban,
    make_ledger,
)

CLEARING = "clearing:EUR"
OUTSIDER = iban(70, "FR")


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


def second_writer(ledger: Ledger) -> LedgerApplication:
    """Another LedgerApplication on the same store (another process, say), whose clock is
    ahead of the first's (so that its units never wait for a stream's time to pass)."""
    app = LedgerApplication(
        env=event_store_env(ledger.database, "ledger"),
        clock=SteppingClock(START + timedelta(days=1)),
        screening=RulesScreening(LIMITS),
    )
    app.ensure_internal_accounts([CLEARING])
    return app


def unit(app: LedgerApplication) -> LedgerUnitOfWork:
    return LedgerUnitOfWork(app, app.working_set, app.unit_ended)


def book(ledger: Ledger, uow: LedgerUnitOfWork, name: str, debtor: str, creditor: str,
         amount: str, at: datetime) -> str:  # fmt: skip
    """Book one payment in ``uow`` recorded at ``at`` (not committed); its status."""
    with recording_at(at):
        result = book_payment(
            uow,
            ledger.payment(name, debtor, creditor, amount),
            uow.app.screening,  # type: ignore[attr-defined]
            at.date().isoformat(),
        )
    return result.status


def test_interleaved_writers_do_not_conflict_on_clearing(ledger: Ledger) -> None:
    a, b = ledger.open(1, overdraft="500"), ledger.open(2, overdraft="500")
    assert ledger.pay("fund", OUTSIDER, a, "100.00").status == "POSTED"  # opens clearing
    other = second_writer(ledger)
    try:
        early, late = START + timedelta(hours=1), START + timedelta(hours=1, seconds=2)
        first, second = unit(ledger.app), unit(other)
        assert book(ledger, first, "w1", a, OUTSIDER, "30.00", early) == "POSTED"
        assert book(ledger, second, "w2", b, iban(71, "FR"), "12.50", late) == "POSTED"
        second.commit()  # the unit recorded later commits first ...
        first.commit()  # ... and the other still commits: clearing is not version-checked
        assert other.get_account(CLEARING).version == 1  # only Opened: no payment wrote it
        assert ledger_balance(other, CLEARING) == Decimal("-57.50")

        ledger.projector.catch_up()
        q = ledger.queries
        clearing = q.account(CLEARING)
        assert clearing is not None and clearing.balance == Decimal("-57.50")
        expected = {
            early - timedelta(seconds=1): Decimal("-100.00"),
            early: Decimal("-70.00"),
            early + timedelta(seconds=1): Decimal("-70.00"),
            late: Decimal("-57.50"),
        }
        for instant, balance in expected.items():
            then = q.account(CLEARING, as_of=instant)
            assert then is not None and then.balance == balance, instant
            trial = q.trial_balance(as_of=instant)
            assert [t.balance_sum for t in trial.totals] == [0], instant
        postings = [p for _, p in q.postings(CLEARING).edges]
        assert [(p.amount, p.balance_after) for p in postings] == [
            (Decimal("12.50"), Decimal("-57.50")),
            (Decimal("30.00"), Decimal("-70.00")),
            (Decimal("-100.00"), Decimal("-100.00")),
        ]
    finally:
        other.close()


# A round: each writer books one payment (kind, amount in cents, second within the round),
# then the two units commit in the drawn order.
payments = st.tuples(
    st.sampled_from(["in", "out", "internal"]), st.integers(1, 90_000), st.integers(0, 9)
)
rounds = st.lists(st.tuples(payments, payments, st.booleans()), min_size=1, max_size=8)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=rounds, batch_size=st.sampled_from([1, 2, 5, 500]))
def test_trial_balance_sums_to_zero_at_every_instant_with_interleaved_writers(
    database: DatabaseConfig, plan: list[Any], batch_size: int
) -> None:
    base = Path(tempfile.mkdtemp(prefix="internal-prop-"))
    try:
        with fresh_like(database, base) as db:
            ledger = make_ledger(db)
            try:
                check_interleaved(ledger, plan, batch_size)
            finally:
                ledger.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check_interleaved(ledger: Ledger, plan: list[Any], batch_size: int) -> None:
    own = [[ledger.open(n, overdraft="100000") for n in (1, 2)],
           [ledger.open(n, overdraft="100000") for n in (3, 4)]]  # fmt: skip
    ledger.app.ensure_internal_accounts([CLEARING])
    apps = [ledger.app, second_writer(ledger)]
    legs: list[tuple[datetime, Decimal]] = []  # clearing's legs: when, signed amount
    instants: list[datetime] = []
    try:
        for number, (first, second, b_commits_first) in enumerate(plan):
            units = []
            for writer, (kind, cents, second_in_round) in enumerate((first, second)):
                at = START + timedelta(hours=1, seconds=10 * number + second_in_round)
                amount = Decimal(cents) / 100
                debtor, creditor = {
                    "in": (OUTSIDER, own[writer][0]),
                    "out": (own[writer][1], OUTSIDER),
                    "internal": (own[writer][0], own[writer][1]),
                }[kind]
                uow = unit(apps[writer])
                name = f"r{number}w{writer}"
                status = book(ledger, uow, name, debtor, creditor, f"{amount:.2f}", at)
                assert status in ("POSTED", "HELD"), status
                if status == "POSTED" and kind != "internal":
                    legs.append((at, amount if kind == "out" else -amount))
                units.append(uow)
                instants.append(at)
            for uow in reversed(units) if b_commits_first else units:
                uow.commit()  # never a conflict: the writers share only clearing
        projector = ledger.projector_for(batch_size=batch_size)
        projector.catch_up()
        q = ledger.queries
        assert ledger_balance(ledger.app, CLEARING) == sum((a for _, a in legs), Decimal(0))
        for instant in sorted({*instants, *(i - timedelta(microseconds=1) for i in instants)}):
            clearing = q.account(CLEARING, as_of=instant)
            expected = sum((amount for at, amount in legs if at <= instant), Decimal(0))
            assert clearing is not None and clearing.balance == expected, instant
            trial = q.trial_balance(as_of=instant)
            for totals in trial.totals:
                assert totals.balance_sum == 0, instant
                assert totals.debits == totals.credits, instant
        for totals in q.trial_balance().totals:
            assert totals.balance_sum == 0 and totals.debits == totals.credits
        incremental = ledger.dump()
        for name in PROJECTIONS:
            projector.rebuild(name)
        assert ledger.dump() == incremental
    finally:
        apps[1].close()


@pytest.mark.postgres
def test_concurrent_writers_via_clearing_never_retry(
    postgres_database: DatabaseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers, each with its own customers, book outgoing and incoming payments via
    clearing at the same time: no unit is ever retried (before, every such pair of units
    conflicted on the clearing aggregate's version)."""
    ledger = make_ledger(postgres_database)
    failures: list[str] = []  # the exception of every unit that did not commit
    original = LedgerUnitOfWork.failed

    def counting(self: LedgerUnitOfWork) -> None:
        failures.append(repr(sys.exc_info()[1]))
        original(self)

    monkeypatch.setattr(LedgerUnitOfWork, "failed", counting)
    try:
        ledger.app.ensure_internal_accounts([CLEARING])
        own = [ledger.open(n, overdraft="100000") for n in range(1, 5)]
        apps = [ledger.app, second_writer(ledger)]
        start = threading.Barrier(2)

        def write(writer: int) -> None:
            app = apps[writer]
            start.wait()
            for n in range(40):
                customer = own[2 * writer + n % 2]
                pair = (customer, OUTSIDER) if n % 3 else (OUTSIDER, customer)
                result = app.submit_payment(ledger.payment(f"c{writer}-{n}", *pair, "1.00"))
                assert result.status == "POSTED", result

        threads = [threading.Thread(target=write, args=(w,)) for w in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert apps[0].get_account(CLEARING).version == 1
        ledger.projector.catch_up()
        totals = ledger.queries.trial_balance().totals
        assert [(t.currency, t.balance_sum) for t in totals] == [("EUR", 0)]
        apps[1].close()
    finally:
        ledger.close()


@pytest.mark.parametrize("decision", ["release", "reject"])
def test_a_hold_an_older_version_placed_on_clearing_is_given_back(
    ledger: Ledger, decision: str
) -> None:
    """Older code reserved a held incoming payment's funds on the clearing aggregate; releasing
    or rejecting it now gives that hold back too, so none lingers on clearing."""
    a = ledger.open(1)
    ledger.app.ensure_internal_accounts([CLEARING])
    uow = unit(ledger.app)
    tx = Transaction(
        channel="MOBILE",
        external_id="old-hold",
        amount=Decimal("70.00"),
        currency="EUR",
        debtor_iban=OUTSIDER,
        debtor_name="Out",
        creditor_iban=a,
        creditor_name="Ann",
        reference="r",
        requested_at=None,
        metadata={},
        reverses=None,
    )
    uow.add(tx)
    tx.record_screening(ScreeningOutcome.REVIEW, ["old"], None, None)
    clearing = uow.find_account(CLEARING)
    assert clearing is not None
    clearing.place_hold(tx.id, tx.amount)  # what the older booking did
    tx.hold(clearing.id, tx.amount)
    uow.commit()
    ledger.projector.catch_up()
    assert ledger.queries.account(CLEARING).held == Decimal("70.00")  # type: ignore[union-attr]

    if decision == "release":
        assert ledger.app.release_held(tx.id).status == "POSTED"
    else:
        assert ledger.app.reject_held(tx.id, "no").status == "REJECTED"
    assert ledger.app.get_account(CLEARING).holds == {}
    ledger.projector.catch_up()
    view = ledger.queries.account(CLEARING)
    assert view is not None and view.held == 0
    posted = decision == "release"
    assert view.balance == (Decimal("-70.00") if posted else 0)
    assert ledger_balance(ledger.app, a) == (Decimal("70.00") if posted else 0)
