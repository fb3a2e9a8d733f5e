"""Reconciliation against a real ledger, on SQLite and PostgreSQL.

Payments are booked through the ledger; the statement core banking would send for the
account is generated from what the test booked (not from the read models the matching reads),
then altered one way per break kind.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.persistence import DatabaseConfig
from adapters.statements import read_camt053
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.errors import Conflict, InvalidCommand, NotFound, ReadModelsBehind
from domain.causation import Causation, caused_by
from domain.reconciliation.matching import BreakKind, MatchRule
from domain.reconciliation.reconciliation import BreakStatus
from domain.reconciliation.statement import StatementConflict, StatementError
from projections.audit.chain_verify import verify_chains
from projections.reconciliation.read_model import rm_reconciliation_breaks, rm_reconciliations
from tests.builders import FakeClock, iban, open_command, payment
from tests.camt053_support import Entry, StatementSpec, build_camt053

DAY_BEFORE = date(2026, 11, 22)
DAY = date(2026, 11, 23)
RECONCILER = Causation(actor="user:rita", correlation_id="corr-recon", channel="CLI")
_ids = (f"E2E-{n:06d}" for n in itertools.count(1))


@pytest.fixture
def container(database: DatabaseConfig) -> Iterator[Container]:
    clock = FakeClock()
    clock.now = clock.now.replace(day=22)
    built = bootstrap(Settings().with_database(database), clock=clock)
    try:
        yield built
    finally:
        built.close()


@dataclass
class Booked:
    """What the test booked on one account, per booking day."""

    account: str
    entries: dict[date, list[Entry]] = field(default_factory=dict)
    balance: dict[date, Decimal] = field(default_factory=dict)

    def spec(self, day: date, statement_id: str, **overrides: Any) -> StatementSpec:
        days = sorted(d for d in self.balance if d <= day)
        before = [d for d in days if d < day]
        opening = self.balance[before[-1]] if before else Decimal(0)
        base = StatementSpec(
            account=self.account,
            currency="EUR",
            from_date=day,
            to_date=day,
            opening=opening,
            closing=self.balance[days[-1]] if days else Decimal(0),
            entries=list(self.entries.get(day, [])),
            statement_id=statement_id,
        )
        return replace(base, **overrides)


def clock_of(container: Container) -> FakeClock:
    clock = container.ledger.clock
    assert isinstance(clock, FakeClock)
    return clock


def book(container: Container, booked: Booked, amount: str, *, with_ref: bool = True) -> str:
    """A payment into (positive) or out of (negative) the account; returns its external id."""
    value = Decimal(amount)
    external_id = next(_ids)
    if value > 0:
        instruction = payment(
            debtor=iban("NL"), creditor=booked.account, amount=amount, external_id=external_id
        )
    else:
        instruction = payment(
            debtor=booked.account, creditor=iban("FR"), amount=str(-value), external_id=external_id
        )
    result = container.ledger.submit_payment(instruction)
    assert result.status == "POSTED", result
    day = clock_of(container).now.date()
    booked.entries.setdefault(day, []).append(
        Entry(value, day, external_id if with_ref else None, remittance=f"payment {external_id}")
    )
    previous = [booked.balance[d] for d in sorted(booked.balance) if d <= day]
    booked.balance[day] = (previous[-1] if previous else Decimal(0)) + value
    clock_of(container).advance(60)
    return external_id


def new_account(container: Container, overdraft: str = "1000") -> Booked:
    account = iban("DE")
    container.ledger.open_account(open_command(account, overdraft=overdraft))
    return Booked(account)


def next_day(container: Container) -> None:
    clock = clock_of(container)
    clock.now = clock.now.replace(day=clock.now.day + 1, hour=9)


def reconcile(container: Container, spec: StatementSpec, version: int = 8) -> Any:
    assert container.reconciliation is not None
    [statement] = read_camt053(build_camt053(spec, version))
    with caused_by(RECONCILER):
        return container.reconciliation.import_statement(statement)


def kinds(outcome: Any) -> list[BreakKind]:
    return [b.finding.kind for b in outcome.reconciliation.breaks]


@pytest.fixture
def booked(container: Container) -> Booked:
    """Two days of payments on one account; the statement day has one without reference."""
    account = new_account(container)
    book(container, account, "500.00")
    book(container, account, "-20.00")
    next_day(container)
    book(container, account, "125.40")
    book(container, account, "-75.10")
    book(container, account, "-33.33", with_ref=False)
    book(container, account, "12.00")
    return account


def test_the_statement_of_the_ledger_reconciles_and_a_reimport_is_idempotent(
    container: Container, booked: Booked
) -> None:
    first = reconcile(container, booked.spec(DAY, "S-OK"), version=2)
    rec = first.reconciliation
    assert first.created
    assert kinds(first) == []
    assert rec.ledger_closing_balance == "508.97"
    rules = [m.rule for m in rec.matches]
    assert rules.count(MatchRule.REFERENCE) == 3
    assert rules.count(MatchRule.AMOUNT_AND_DATE) == 1
    events_before = container.reconciliation.recorder.max_notification_id()  # type: ignore[union-attr]

    # core banking sends the same statement again (any version): the first result, no new run
    again = reconcile(container, booked.spec(DAY, "S-OK"), version=8)
    assert not again.created
    assert again.reconciliation.id == rec.id
    assert container.reconciliation.recorder.max_notification_id() == events_before  # type: ignore[union-attr]

    # the previous day reconciles too (only its postings; its own closing balance)
    earlier = reconcile(container, booked.spec(DAY_BEFORE, "S-DAY-1"))
    assert kinds(earlier) == []
    assert len(earlier.reconciliation.matches) == 2

    container.projector.catch_up()
    reports = verify_chains(container.sources, container.read_engine, None)
    assert {r.context for r in reports} >= {"ledger", "reconciliation"}
    assert all(r.ok for r in reports), [r.describe() for r in reports]


def test_the_same_statement_id_with_other_content_is_refused(
    container: Container, booked: Booked
) -> None:
    first = reconcile(container, booked.spec(DAY, "S-1"))
    assert first.created and kinds(first) == []
    events_before = container.reconciliation.recorder.max_notification_id()  # type: ignore[union-attr]
    # core banking corrects the statement but reuses its id: an extra debit, another balance
    spec = booked.spec(DAY, "S-1")
    changed = replace(
        spec,
        entries=[*spec.entries, Entry(Decimal("-999.99"), DAY, "E2E-NOT-IN-LEDGER")],
        closing=spec.closing - Decimal("999.99"),
    )
    with pytest.raises(StatementConflict) as raised:
        reconcile(container, changed)
    assert isinstance(raised.value, StatementError)
    masked = f"{booked.account[:4]}{'*' * (len(booked.account) - 8)}{booked.account[-4:]}"
    assert raised.value.reason == (
        f"statement S-1 of {masked} was imported before with different content"
    )
    assert booked.account not in raised.value.reason
    assert container.reconciliation.recorder.max_notification_id() == events_before  # type: ignore[union-attr]
    # the same statement re-sent in another version, message id and time: still a duplicate
    again = reconcile(
        container,
        replace(spec, message_id="MSG-RESENT", created_at=spec.created_at.replace(hour=9)),
        3,
    )
    assert not again.created and again.reconciliation.id == first.reconciliation.id


def test_each_break_kind(container: Container, booked: Booked) -> None:
    base = booked.spec(DAY, "S-BASE")
    entries = base.entries

    removed = reconcile(container, replace(base, statement_id="S-1", entries=entries[1:]))
    assert kinds(removed) == [BreakKind.MISSING_IN_CORE]
    finding = removed.reconciliation.breaks[0].finding
    assert finding.ledger_amount == Decimal("125.40")

    unknown_entry = Entry(Decimal("-9.99"), DAY, "E2E-NOT-OURS")
    extra = reconcile(
        container, replace(base, statement_id="S-2", entries=[*entries, unknown_entry])
    )
    assert kinds(extra) == [BreakKind.MISSING_IN_LEDGER]
    assert extra.reconciliation.breaks[0].finding.statement_amount == Decimal("-9.99")
    assert extra.reconciliation.breaks[0].finding.reference == "E2E-NOT-OURS"

    changed = [replace(entries[0], amount=Decimal("125.04")), *entries[1:]]
    mismatch = reconcile(container, replace(base, statement_id="S-3", entries=changed))
    assert kinds(mismatch) == [BreakKind.AMOUNT_MISMATCH]
    finding = mismatch.reconciliation.breaks[0].finding
    assert (finding.statement_amount, finding.ledger_amount) == (
        Decimal("125.04"),
        Decimal("125.40"),
    )

    wrong = reconcile(container, replace(base, statement_id="S-4", closing=Decimal("508.98")))
    assert kinds(wrong) == [BreakKind.CLOSING_BALANCE_MISMATCH]
    finding = wrong.reconciliation.breaks[0].finding
    assert (finding.statement_amount, finding.ledger_amount) == (
        Decimal("508.98"),
        Decimal("508.97"),
    )

    stranger = reconcile(container, replace(base, statement_id="S-5", account=iban("DE")))
    assert kinds(stranger) == [BreakKind.UNKNOWN_ACCOUNT]


def test_resolving_a_break(container: Container, booked: Booked) -> None:
    app = container.reconciliation
    assert app is not None
    outcome = reconcile(container, booked.spec(DAY, "S-R", closing=Decimal("1.00")))
    [item] = outcome.reconciliation.breaks
    with caused_by(RECONCILER), pytest.raises(InvalidCommand):
        app.resolve_break(item.id, "  ")
    with caused_by(RECONCILER):
        rec, resolved = app.resolve_break(item.id, "core banking corrected on 24 Nov")
    assert resolved.status is BreakStatus.RESOLVED
    assert resolved.resolved_by == "user:rita"
    assert app.get(rec.id).open_breaks == []
    with caused_by(RECONCILER), pytest.raises(Conflict):
        app.resolve_break(item.id, "twice")
    with pytest.raises(NotFound):
        app.resolve_break(f"{rec.id}:7", "no such break")
    with pytest.raises(NotFound):
        app.resolve_break("nonsense", "no such break")


def dump(container: Container) -> dict[str, list[dict[str, Any]]]:
    with container.read_engine.connect() as conn:
        return {
            table.name: [
                dict(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
                .mappings()
                .all()
            ]
            for table in (rm_reconciliations, rm_reconciliation_breaks)
        }


def test_read_models_and_rebuild_equal_incremental(container: Container, booked: Booked) -> None:
    queries = container.reconciliation_queries
    assert queries is not None
    good = reconcile(container, booked.spec(DAY, "S-A"))
    container.projector.catch_up()  # incremental, in several batches
    bad = reconcile(container, booked.spec(DAY, "S-B", closing=Decimal("0"), entries=[]))
    with caused_by(RECONCILER):
        container.reconciliation.resolve_break(  # type: ignore[union-attr]
            bad.reconciliation.breaks[0].id, "checked by phone"
        )
    container.projector.catch_up()

    view = queries.reconciliation(str(good.reconciliation.id))
    assert view is not None
    assert (view.status, view.entry_count, view.matched_count, view.break_count) == (
        "RECONCILED",
        4,
        4,
        0,
    )
    assert view.imported_by == "user:rita"
    assert all(e.transaction_id for e in view.entries)
    other = queries.reconciliation(str(bad.reconciliation.id))
    assert other is not None
    assert (other.status, other.break_count, other.open_break_count) == ("OPEN_BREAKS", 5, 4)
    page = queries.reconciliations(booked.account, 1, None)
    assert [v.id for _c, v in page.edges] == [other.id] and page.has_next_page
    rest = queries.reconciliations(booked.account, 5, page.end_cursor)
    assert [v.id for _c, v in rest.edges] == [view.id]
    assert queries.reconciliations(iban("DE"), 5, None).edges == []
    open_ = queries.breaks("OPEN", None, 50, None)
    assert len(open_.edges) == 4
    resolved = queries.breaks("RESOLVED", None, 50, None)
    [(_cursor, done)] = resolved.edges
    assert (done.resolved_by, done.reason) == ("user:rita", "checked by phone")
    assert [b.kind for _c, b in queries.breaks(None, "MISSING_IN_CORE", 50, None).edges] == [
        "MISSING_IN_CORE"
    ] * 4

    incremental = dump(container)
    container.projector.rebuild("reconciliation")
    assert dump(container) == incremental


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amounts=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=99_999).map(lambda c: Decimal(c).scaleb(-2)),
            st.booleans(),
            st.booleans(),
        ),
        min_size=0,
        max_size=6,
    )
)
def test_a_statement_of_any_booked_payments_reconciles(
    container: Container, amounts: list[tuple[Decimal, bool, bool]]
) -> None:
    account = new_account(container, overdraft="100000")
    for amount, outgoing, with_ref in amounts:
        book(container, account, str(-amount if outgoing else amount), with_ref=with_ref)
    day = clock_of(container).now.date()
    outcome = reconcile(container, account.spec(day, f"P-{account.account}"))
    # identical amounts without references are ambiguous by design: they stay breaks
    blind = [e.amount for e in account.entries.get(day, []) if e.end_to_end_id is None]
    if len(blind) == len(set(blind)):
        assert kinds(outcome) == []
        assert len(outcome.reconciliation.matches) == len(amounts)
    else:
        assert set(kinds(outcome)) <= {BreakKind.MISSING_IN_LEDGER, BreakKind.MISSING_IN_CORE}


def test_matching_never_runs_on_lagging_read_models(container: Container) -> None:
    account = new_account(container)
    book(container, account, "10.00")
    # without a projector in the process, the read models are caught up before matching
    outcome = reconcile(container, account.spec(DAY_BEFORE, "S-LAG-1"))
    assert kinds(outcome) == []
    # with one following the log elsewhere, it waits for it, and gives up rather than match
    book(container, account, "5.00")
    container.projector_active = True
    try:
        with pytest.raises(ReadModelsBehind):
            container.sync_ledger_read_models(timeout=0.05)
    finally:
        container.projector_active = False


def test_the_reconciliation_keeps_a_small_connection_pool(
    container: Container, database: DatabaseConfig
) -> None:
    """Every process builds every context, and eventsourcing opens a pool's minimum at once."""
    if database.url is None:
        pytest.skip("SQLite has no connection pool")
    app: Any = container.reconciliation
    pool = app.factory.datastore.pool
    assert (pool.min_size, pool.max_size) == (1, 3)
    assert container.ledger.factory.datastore.pool.min_size == database.pool_size  # type: ignore[attr-defined]


def test_statement_text_of_any_length_projects(container: Container) -> None:
    """The reader refuses identifiers beyond their ISO 20022 lengths; the read models hold
    whatever a recorded statement says anyway (an event is forever, a projector that cannot
    write it stops for good): an 80-character account and references project on both
    backends."""
    app = container.reconciliation
    assert app is not None
    [read] = read_camt053(
        build_camt053(
            StatementSpec(
                account="CORE-1",
                currency="EUR",
                from_date=DAY,
                to_date=DAY,
                closing=Decimal("-1.00"),
                entries=[Entry(Decimal("-1.00"), DAY, "E2E-1")],
                other_id=True,
                statement_id="S-LONG",
            )
        )
    )
    long = "X" * 80
    entry = replace(read.entries[0], end_to_end_id=long, references=(("EndToEndId", long),))
    statement = replace(
        read, account=long, statement_id="S" * 80, message_id="M" * 80, entries=(entry,)
    )
    with caused_by(RECONCILER):
        outcome = app.import_statement(statement)
    assert kinds(outcome) == [BreakKind.UNKNOWN_ACCOUNT]
    container.projector.catch_up()
    queries = container.reconciliation_queries
    assert queries is not None
    [(_cursor, view)] = queries.reconciliations(long, 5, None).edges
    assert (view.account, view.statement_id, view.message_id) == (long, "S" * 80, "M" * 80)
    assert view.entries[0].end_to_end_id == long
    [item] = queries.breaks_of(view.id)
    assert item.account == long
