"""The ledger's invariants under random operations, on SQLite and PostgreSQL.

A hypothesis state machine opens accounts, books incoming, outgoing and internal
payments, holds (payments above the review limit), releases and rejects held
payments, reverses, freezes, unfreezes and closes. After every step:

* per currency, the sum of every account balance is zero (write side and read side);
* no customer account is below minus its overdraft limit; available = balance - held;
* the read models, caught up, equal the aggregates.

At the end:

* ``account(asOf)`` and ``trialBalance(asOf)`` at every recorded instant equal
  the state the test observed at that instant;
* each projection rebuilt from zero equals the incrementally built one;
* a fresh application on the same store replays to the same aggregates;
* ``replay_to_sqlite`` at a recorded instant holds the read models as they were.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, select

from adapters.persistence import DatabaseConfig, ensure_schema, event_store_env, read_model_engine
from application.commands import OpenAccount, Party, PaymentInstruction
from application.errors import Conflict
from application.ledger import LedgerApplication
from application.screening import AmountLimits, RulesScreening
from domain.iban import Iban
from domain.money import Money
from projections.queries import LedgerQueries
from projections.replay import replay_to_sqlite
from projections.runner import EventSource, Projector
from projections.tables import metadata
from tests.builders import FakeClock, iban
from tests.conftest import TEST_DATABASE_URL

CURRENCIES = ("EUR", "JPY")
REVIEW_ABOVE = {"EUR": Decimal("500"), "JPY": Decimal("50000")}
EXTERNAL = {"EUR": Iban(iban("FR", 999)), "JPY": Iban(iban("NL", 999))}

amounts = st.integers(min_value=1, max_value=80_000)  # minor units


def as_money(minor: int, currency: str) -> Money:
    return Money(Decimal(minor).scaleb(-2) if currency == "EUR" else Decimal(minor), currency)


class LedgerMachine(RuleBasedStateMachine):
    backend = "sqlite"
    tmp_root: Path = Path("/tmp")

    accounts = Bundle("accounts")
    posted = Bundle("posted")
    held = Bundle("held")

    def __init__(self) -> None:
        super().__init__()
        self.schema: str | None = None
        data_dir = self.tmp_root / uuid.uuid4().hex
        if self.backend == "postgres":
            self.schema = f"sm_{uuid.uuid4().hex[:12]}"
            self.config = DatabaseConfig(data_dir, url=TEST_DATABASE_URL, schema=self.schema)
            ensure_schema(self.config)
        else:
            self.config = DatabaseConfig(data_dir)
        self.clock = FakeClock()
        limits = AmountLimits(review_above=REVIEW_ABOVE)
        self.app = self._new_app(limits)
        self.engine = read_model_engine(self.config)
        self.projector = Projector(self.engine, [EventSource(self.app)], batch_size=7)
        self.projector.create_tables()
        self.queries = LedgerQueries(self.engine)
        self.keys: dict[str, str] = {}  # account key -> currency
        self.counter = 0
        self.observed: list[tuple[datetime, dict[str, tuple[Decimal, Decimal, str]]]] = []

    def _new_app(self, limits: AmountLimits | None = None) -> LedgerApplication:
        return LedgerApplication(
            env=event_store_env(self.config, "ledger"),
            clock=self.clock,
            screening=RulesScreening(limits or AmountLimits(review_above=REVIEW_ABOVE)),
        )

    # -- helpers ---------------------------------------------------------------------

    def _next_id(self) -> str:
        self.counter += 1
        return f"SM-{self.counter}"

    def _pay(self, debtor: Iban, creditor: Iban, money: Money) -> Any:
        self.clock.advance(1)
        return self.app.submit_payment(
            PaymentInstruction(
                external_id=self._next_id(),
                channel="TEST",
                debtor=Party(debtor, "Debtor"),
                creditor=Party(creditor, "Creditor"),
                amount=money,
            )
        )

    def _all_keys(self) -> list[str]:
        return list(self.keys) + [f"clearing:{ccy}" for ccy in CURRENCIES]

    def _state(self) -> dict[str, tuple[Decimal, Decimal, str]]:
        state = {}
        for key in self._all_keys():
            try:
                account = self.app.get_account(key)
            except Exception:  # clearing account not opened yet
                continue
            state[key] = (account.balance, account.held, str(account.status))
        return state

    # -- rules -----------------------------------------------------------------------

    @initialize(target=accounts)
    def open_first(self) -> str:
        return self.open_account(currency="EUR", overdraft=0)

    @rule(target=accounts, currency=st.sampled_from(CURRENCIES), overdraft=st.integers(0, 2000))
    def open_account(self, currency: str, overdraft: int) -> str:
        key = iban("DE", 1000 + len(self.keys))
        self.clock.advance(1)
        self.app.open_account(OpenAccount(Iban(key), "Holder", currency, Decimal(overdraft)))
        self.keys[key] = currency
        return key

    @rule(target=posted, key=accounts, minor=amounts)
    def incoming(self, key: str, minor: int) -> str:
        currency = self.keys[key]
        result = self._pay(EXTERNAL[currency], Iban(key), as_money(minor, currency))
        return result.transaction_id if result.status == "POSTED" else "none"

    @rule(target=posted, key=accounts, minor=amounts)
    def outgoing(self, key: str, minor: int) -> str:
        currency = self.keys[key]
        result = self._pay(Iban(key), EXTERNAL[currency], as_money(minor, currency))
        return result.transaction_id if result.status == "POSTED" else "none"

    @rule(target=posted, debtor=accounts, creditor=accounts, minor=amounts)
    def transfer(self, debtor: str, creditor: str, minor: int) -> str:
        currency = self.keys[debtor]
        result = self._pay(Iban(debtor), Iban(creditor), as_money(minor, currency))
        return result.transaction_id if result.status == "POSTED" else "none"

    @rule(target=held, debtor=accounts, creditor=accounts, minor=st.integers(50_001, 90_000))
    def large_transfer(self, debtor: str, creditor: str, minor: int) -> str:
        currency = self.keys[debtor]
        result = self._pay(Iban(debtor), Iban(creditor), as_money(minor, currency))
        return result.transaction_id if result.status == "HELD" else "none"

    @rule(tx=held, release=st.booleans())
    def decide_held(self, tx: str, release: bool) -> None:
        if tx == "none":
            return
        self.clock.advance(1)
        try:
            if release:
                self.app.release_held(uuid.UUID(tx))
            else:
                self.app.reject_held(uuid.UUID(tx), "review failed")
        except Conflict:
            pass  # already decided in an earlier step

    @rule(tx=posted)
    def reverse(self, tx: str) -> None:
        if tx == "none":
            return
        self.clock.advance(1)
        # Conflict: already reversed, or the funds are gone: refused and nothing booked.
        with contextlib.suppress(Conflict):
            self.app.reverse(uuid.UUID(tx), "customer complaint")

    @rule(key=accounts, action=st.sampled_from(["freeze", "unfreeze", "close"]))
    def change_status(self, key: str, action: str) -> None:
        self.clock.advance(1)
        with contextlib.suppress(Conflict):
            getattr(self.app, f"{action}_account")(key, "test")

    # -- after every step ------------------------------------------------------------

    @invariant()
    def balances_sum_to_zero_and_limits_hold(self) -> None:
        totals: dict[str, Decimal] = {}
        for key in self._all_keys():
            try:
                account = self.app.get_account(key)
            except Exception:
                continue
            totals[account.currency] = totals.get(account.currency, Decimal(0)) + account.balance
            assert account.available == account.balance - account.held
            if account.overdraft_limit is not None:
                assert account.available >= -account.overdraft_limit, key
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def read_models_follow_the_aggregates(self) -> None:
        self.projector.catch_up()
        state = self._state()
        for key, (balance, held, status) in state.items():
            view = self.queries.account(key)
            assert view is not None, key
            assert (view.balance, view.held, view.status) == (balance, held, status), key
        trial = self.queries.trial_balance(None, None)
        assert all(total.balance_sum == 0 for total in trial.totals)
        self.observed.append((self.clock(), state))

    # -- at the end ------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self._check_history()
        finally:
            self.engine.dispose()
            if self.schema:
                with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def _check_history(self) -> None:
        if not self.observed:
            return
        self.projector.catch_up()
        for instant, state in self.observed:
            for key, (balance, held, status) in state.items():
                view = self.queries.account(key, as_of=instant)
                assert view is not None, (key, instant)
                assert (view.balance, view.held, view.status) == (balance, held, status), (
                    key,
                    instant,
                )
            trial = self.queries.trial_balance(instant, None)
            assert all(total.balance_sum == 0 for total in trial.totals)
        # Nothing existed before the first recorded instant.
        before = self.observed[0][0] - timedelta(days=1)
        assert self.queries.account(next(iter(self.keys)), as_of=before) is None

        incremental = _rows(self.engine)
        for projection in ("accounts", "transactions", "audit"):
            self.projector.rebuild(projection)
        assert _rows(self.engine) == incremental

        replayed = self._new_app()
        for key in self._all_keys():
            try:
                original = self.app.get_account(key)
            except Exception:
                continue
            again = replayed.get_account(key)
            assert again.state() == original.state()
            assert again.version == original.version

        instant, state = self.observed[len(self.observed) // 2]
        out = self.config.data_dir / "replay.sqlite"
        replay_to_sqlite([EventSource(self.app)], instant, out)
        offline = LedgerQueries(create_engine(f"sqlite:///{out}"))
        for key, (balance, held, status) in state.items():
            view = offline.account(key)
            assert view is not None and (view.balance, view.held, view.status) == (
                balance,
                held,
                status,
            )


def _rows(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table except tracking, in a stable order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if "tracking" in table.name:
                continue
            rows[table.name] = sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
    return rows


def _run(backend: str, tmp_path: Path, examples: int, steps: int) -> None:
    machine = type(
        f"LedgerMachine_{backend}", (LedgerMachine,), {"backend": backend, "tmp_root": tmp_path}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_ledger_invariants_on_sqlite(tmp_path: Path) -> None:
    _run("sqlite", tmp_path, examples=30, steps=25)


@pytest.mark.postgres
def test_ledger_invariants_on_postgres(tmp_path: Path) -> None:
    _run("postgres", tmp_path, examples=12, steps=20)
