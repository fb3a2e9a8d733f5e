"""Stateful property-based test of the ledger application (hypothesis RuleBasedStateMachine).

The machine drives two LedgerApplication instances on one store (two processes; a fresh
store per example) with random opens, incoming payments, internal transfers, outgoing
payments, REVIEW holds with release/reject, reversals, settlements, freezes/unfreezes/
closes, repeats of earlier messages, switches between the instances and clock advances.
It keeps its own model of the ledger and predicts the outcome of every command from the
rules of the issue; after every step it checks:

* per currency, the balances of all accounts (customer + clearing) sum to zero;
* no customer account is below minus its overdraft limit;
* available = balance - held;
* the model's balances, holds and statuses equal the application's.

At the end of every example a new LedgerApplication on the same store must reproduce
the state of every account and transaction (replay).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from adapters.persistence import DatabaseConfig, ensure_schema
from application.errors import AlreadyExists, Conflict, NotFound
from application.ledger.app import LedgerApplication
from application.ledger.commands import PaymentInstruction, SubmissionResult
from domain.ledger.ids import transaction_id
from tests.builders import (
    COUNTRIES,
    FakeClock,
    iban,
    ledger_balance,
    make_app,
    message,
    open_command,
)

ZERO = Decimal(0)
REVIEW_ABOVE = Decimal(1000)  # EUR, as configured by tests.builders.default_screening
DECLINE_ABOVE = Decimal(5000)
DAILY_LIMIT = Decimal(8000)
CURRENCIES = ("EUR", "JPY")
SCALE = {"EUR": 2, "JPY": 0}
PG_URL = os.environ.get(
    "LEDGER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ledger_test"
)

OPEN, FROZEN, CLOSED = "OPEN", "FROZEN", "CLOSED"


def amounts(currency: str, *, incoming: bool = False) -> st.SearchStrategy[Decimal]:
    """Mostly ordinary amounts; for EUR payments out, some above the review limit and a
    few around the decline limit. Incoming payments bring larger sums."""
    if currency == "JPY":
        return st.integers(1, 300_000 if incoming else 80_000).map(Decimal)
    if incoming:
        cents = st.integers(10_000, 400_000)
    else:
        cents = st.sampled_from(["small", "small", "small", "review", "decline"]).flatmap(
            lambda size: {
                "small": st.integers(1, 60_000),  # up to 600.00
                "review": st.integers(95_000, 200_000),  # around the review limit
                "decline": st.integers(490_000, 510_000),  # around the decline limit
            }[size]
        )
    return cents.map(lambda c: Decimal(c).scaleb(-2))


def payment_currency(account_currency: str) -> st.SearchStrategy[str]:
    """Usually the account's currency, now and then the other one (a mismatch)."""
    other = next(c for c in CURRENCIES if c != account_currency)
    return st.sampled_from([account_currency] * 7 + [other])


@dataclass
class ModelAccount:
    key: str
    currency: str
    overdraft: Decimal | None  # None: internal (clearing)
    status: str = OPEN
    balance: Decimal = ZERO
    holds: dict[str, Decimal] = field(default_factory=dict)
    outflow_day: str = ""
    outflow: Decimal = ZERO

    @property
    def held(self) -> Decimal:
        return sum(self.holds.values(), ZERO)

    @property
    def available(self) -> Decimal:
        return self.balance - self.held

    def outflow_on(self, day: str) -> Decimal:
        return self.outflow if day == self.outflow_day else ZERO

    def debit_refusal(self, amount: Decimal, releasing: str | None = None) -> str | None:
        if self.status == CLOSED:
            return "ACCOUNT_CLOSED"
        if self.status == FROZEN:
            return "ACCOUNT_FROZEN"
        if self.overdraft is None:
            return None
        available = self.available + (self.holds.get(releasing, ZERO) if releasing else ZERO)
        if available - amount < -self.overdraft:
            return "INSUFFICIENT_FUNDS"
        return None

    def credit_refusal(self) -> str | None:
        return "ACCOUNT_CLOSED" if self.status == CLOSED else None

    def debit(self, amount: Decimal, day: str) -> None:
        self.balance -= amount
        if day != self.outflow_day:
            self.outflow_day, self.outflow = day, ZERO
        self.outflow += amount

    def credit(self, amount: Decimal) -> None:
        self.balance += amount


@dataclass
class ModelTx:
    id: str
    status: str
    amount: Decimal
    currency: str
    debit_key: str | None = None  # the routed accounts (customer or clearing)
    credit_key: str | None = None
    reason: str | None = None
    message: dict | None = None
    is_reversal: bool = False  # a reversal cannot itself be reversed


class LedgerMachine(RuleBasedStateMachine):
    """Subclasses say which backend to use through ``new_database``/``drop_database``."""

    def new_database(self) -> DatabaseConfig:
        raise NotImplementedError

    def drop_database(self) -> None:
        pass

    def __init__(self) -> None:
        super().__init__()
        self.database = self.new_database()
        self.clock = FakeClock()
        self.apps: list[LedgerApplication] = []
        # Two instances on one store, as two processes would be; rules run on either.
        self.processes = [self.start_app(), self.start_app()]
        self.app = self.processes[0]
        self.accounts: dict[str, ModelAccount] = {}
        self.customers: list[str] = []
        self.txs: dict[str, ModelTx] = {}
        # Per-example counters: generated data must not depend on earlier examples.
        self.serial = 0
        self.healthy = True

    # -- plumbing ------------------------------------------------------------------------

    def start_app(self) -> LedgerApplication:
        app = make_app(self.database, self.clock)
        self.apps.append(app)
        return app

    def day(self) -> str:
        return self.clock().date().isoformat()

    def clearing(self, currency: str) -> ModelAccount:
        key = f"clearing:{currency}"
        if key not in self.accounts:
            self.accounts[key] = ModelAccount(key, currency, None)
        return self.accounts[key]

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def external_iban(self) -> str:
        return iban("FR", 900_000 + self.next_serial())

    def step(self) -> None:
        self.healthy = False

    def txs_in(self, *statuses: str) -> list[str]:
        return [t.id for t in self.txs.values() if t.status in statuses]

    def customers_where(self, *statuses: str) -> list[str]:
        return [k for k in self.customers if self.accounts[k].status in statuses]

    # -- prediction ------------------------------------------------------------------------

    def predict_payment(self, debtor_key: str, creditor_key: str, amount: Decimal, ccy: str):
        """(status, reason, debit account, credit account) as the issue's rules say."""
        debtor = self.accounts.get(debtor_key)
        creditor = self.accounts.get(creditor_key)
        if debtor is None and creditor is None:
            return "REJECTED", "UNKNOWN_ACCOUNT", None, None
        for account in (debtor, creditor):
            if account is not None and account.currency != ccy:
                return "REJECTED", "CURRENCY_MISMATCH", None, None
        debit = debtor or self.clearing(ccy)
        credit = creditor or self.clearing(ccy)
        review = False
        if debtor is not None and ccy == "EUR":
            if amount > DECLINE_ABOVE or debtor.outflow_on(self.day()) + amount > DAILY_LIMIT:
                return "REJECTED", "SCREENING_DECLINED", None, None
            review = amount > REVIEW_ABOVE
        refusal = debit.debit_refusal(amount) or credit.credit_refusal()
        if refusal:
            return "REJECTED", refusal, None, None
        return ("HELD" if review else "POSTED"), None, debit, credit

    def submit(self, msg: dict) -> SubmissionResult:
        return self.app.submit_payment(PaymentInstruction.from_message(msg))

    def expect(self, debtor_key: str, creditor_key: str, amount: Decimal, ccy: str):
        """A new message, its predicted (id, status, reason, duplicate), model updated."""
        external_id = f"PROP-{self.next_serial()}"
        msg = message(
            debtor=debtor_key,
            creditor=creditor_key,
            amount=str(amount),
            currency=ccy,
            external_id=external_id,
        )
        tx_id = str(transaction_id("MOBILE", external_id))
        status, reason, debit, credit = self.predict_payment(debtor_key, creditor_key, amount, ccy)
        tx = ModelTx(tx_id, status, amount, ccy, reason=reason, message=msg)
        if debit is not None and credit is not None:
            tx.debit_key, tx.credit_key = debit.key, credit.key
            if status == "POSTED":
                debit.debit(amount, self.day())
                credit.credit(amount)
            else:  # HELD
                debit.holds[tx_id] = amount
        self.txs[tx_id] = tx
        return msg, (tx_id, status, reason, False)

    def expect_repeat(self, tx_id: str):
        tx = self.txs[tx_id]
        return tx.message, (tx_id, tx.status, tx.reason, True)

    def draw_repeat(self, data) -> str:
        """An earlier message to deliver again: first a status, then a transaction, so that
        rare statuses (HELD, REVERSED ...) are repeated as often as common ones."""
        by_status: dict[str, list[str]] = {}
        for t in self.txs.values():
            if t.message:
                by_status.setdefault(t.status, []).append(t.id)
        status = data.draw(st.sampled_from(sorted(by_status)), label="repeat status")
        return data.draw(st.sampled_from(by_status[status]), label="repeat")

    @staticmethod
    def answer(result: SubmissionResult):
        return (result.transaction_id, result.status, result.reason, result.duplicate)

    def book(self, debtor_key: str, creditor_key: str, amount: Decimal, ccy: str) -> None:
        msg, expected = self.expect(debtor_key, creditor_key, amount, ccy)
        assert self.answer(self.submit(msg)) == expected, msg

    # -- rules ---------------------------------------------------------------------------------

    @initialize(
        overdraft=st.integers(0, 500),
        country=st.sampled_from(COUNTRIES),
        funds=st.integers(0, 600_000).map(lambda c: Decimal(c).scaleb(-2)),
    )
    def first_account(self, overdraft, country, funds):
        self.open_account("EUR", overdraft, country)
        if funds:
            self.book(self.external_iban(), self.customers[-1], funds, "EUR")

    @initialize(
        currency=st.sampled_from(CURRENCIES),
        overdraft=st.integers(0, 500),
        country=st.sampled_from(COUNTRIES),
    )
    def second_account(self, currency, overdraft, country):
        self.open_account(currency, overdraft, country)

    @rule(
        currency=st.sampled_from(CURRENCIES),
        overdraft=st.integers(0, 500),
        country=st.sampled_from(COUNTRIES),
        data=st.data(),
    )
    def open_another(self, currency, overdraft, country, data):
        self.step()
        if data.draw(st.integers(0, 4), label="reuse") == 0:
            # An IBAN that already has an account is refused.
            key = data.draw(st.sampled_from(self.customers), label="existing")
            with pytest.raises(AlreadyExists):
                self.app.open_account(open_command(key, self.accounts[key].currency))
            return
        self.open_account(currency, overdraft, country)

    def open_account(self, currency, overdraft, country):
        self.step()
        key = iban(country, self.next_serial())
        limit = (Decimal(overdraft) * (100 if currency == "JPY" else 1)).quantize(
            Decimal(1).scaleb(-SCALE[currency])
        )
        account = self.app.open_account(open_command(key, currency, str(limit)))
        assert account.key == key
        self.accounts[key] = ModelAccount(key, currency, limit)
        self.customers.append(key)

    @rule(data=st.data())
    def incoming(self, data):
        self.step()
        key = data.draw(st.sampled_from(self.customers), label="creditor")
        ccy = data.draw(payment_currency(self.accounts[key].currency), label="currency")
        amount = data.draw(amounts(ccy, incoming=True), label="amount")
        self.book(self.external_iban(), key, amount, ccy)

    @precondition(lambda self: len(self.customers) >= 2)
    @rule(data=st.data())
    def transfer(self, data):
        self.step()
        debtor = data.draw(st.sampled_from(self.customers), label="debtor")
        ccy = data.draw(payment_currency(self.accounts[debtor].currency), label="currency")
        others = [k for k in self.customers if k != debtor]
        same = [k for k in others if self.accounts[k].currency == ccy]
        creditor = data.draw(st.sampled_from(same or others), label="creditor")
        self.book(debtor, creditor, data.draw(amounts(ccy), label="amount"), ccy)

    @rule(data=st.data())
    def outgoing(self, data):
        self.step()
        key = data.draw(st.sampled_from(self.customers), label="debtor")
        ccy = data.draw(payment_currency(self.accounts[key].currency), label="currency")
        self.book(key, self.external_iban(), data.draw(amounts(ccy), label="amount"), ccy)

    def can_pay_for_review(self) -> list[str]:
        return [
            k
            for k in self.customers_where(OPEN)
            if self.accounts[k].currency == "EUR"
            and self.accounts[k].available + self.accounts[k].overdraft > REVIEW_ABOVE
        ]

    @precondition(lambda self: self.can_pay_for_review())
    @rule(data=st.data())
    def payment_for_review(self, data):
        """An outgoing payment or transfer above the review limit that the debtor can fund."""
        self.step()
        key = data.draw(st.sampled_from(self.can_pay_for_review()), label="debtor")
        account = self.accounts[key]
        top = min(account.available + account.overdraft, DECLINE_ABOVE)
        cents = data.draw(st.integers(int(REVIEW_ABOVE * 100) + 1, int(top * 100)), label="c")
        eur = [k for k in self.customers if k != key and self.accounts[k].currency == "EUR"]
        creditor = data.draw(st.sampled_from([self.external_iban(), *eur]), label="creditor")
        self.book(key, creditor, Decimal(cents).scaleb(-2), "EUR")

    @precondition(lambda self: self.txs_in("HELD"))
    @rule(data=st.data())
    def release_held(self, data):
        self.step()
        tx = self.txs[data.draw(st.sampled_from(self.txs_in("HELD")), label="held")]
        debit, credit = self.accounts[tx.debit_key], self.accounts[tx.credit_key]
        refusal = debit.debit_refusal(tx.amount, releasing=tx.id) or credit.credit_refusal()
        result = self.app.release_held(uuid.UUID(tx.id))
        del debit.holds[tx.id]
        if refusal:
            assert (result.status, result.reason) == ("REJECTED", refusal)
            tx.status, tx.reason = "REJECTED", refusal
        else:
            assert (result.status, result.reason) == ("POSTED", None)
            debit.debit(tx.amount, self.day())
            credit.credit(tx.amount)
            tx.status = "POSTED"

    @precondition(lambda self: self.txs_in("HELD"))
    @rule(data=st.data())
    def reject_held(self, data):
        self.step()
        tx = self.txs[data.draw(st.sampled_from(self.txs_in("HELD")), label="held")]
        result = self.app.reject_held(uuid.UUID(tx.id), "analyst rejected")
        assert (result.status, result.reason) == ("REJECTED", "OPERATOR_REJECTED")
        del self.accounts[tx.debit_key].holds[tx.id]
        tx.status, tx.reason = "REJECTED", "OPERATOR_REJECTED"

    @precondition(lambda self: self.txs)
    @rule(data=st.data())
    def reverse(self, data):
        self.step()
        # Mostly posted transactions, sometimes any other (which must be refused).
        posted = self.txs_in("POSTED")
        use_posted = posted and data.draw(st.integers(0, 3), label="any") > 0
        pool = posted if use_posted else list(self.txs)
        tx = self.txs[data.draw(st.sampled_from(pool), label="tx")]
        if tx.status != "POSTED" or tx.is_reversal:
            with pytest.raises(Conflict):
                self.app.reverse(uuid.UUID(tx.id), "property test")
            return
        # The reversal takes the money back from the original credit account.
        back_from, back_to = self.accounts[tx.credit_key], self.accounts[tx.debit_key]
        refusal = back_from.debit_refusal(tx.amount) or back_to.credit_refusal()
        try:
            result = self.app.reverse(uuid.UUID(tx.id), "property test")
        except Conflict:
            assert refusal, f"reversal of {tx.id} refused although nothing forbids it"
            return
        assert refusal is None, f"reversal of {tx.id} should have been refused: {refusal}"
        assert (result.status, result.duplicate) == ("POSTED", False)
        back_from.debit(tx.amount, self.day())
        back_to.credit(tx.amount)
        tx.status = "REVERSED"
        self.txs[result.transaction_id] = ModelTx(
            result.transaction_id,
            "POSTED",
            tx.amount,
            tx.currency,
            debit_key=back_from.key,
            credit_key=back_to.key,
            is_reversal=True,
        )
        reversal = self.app.get_transaction(uuid.UUID(result.transaction_id))
        assert str(reversal.reverses) == tx.id
        assert str(self.app.get_transaction(uuid.UUID(tx.id)).reversed_by) == result.transaction_id

    @precondition(lambda self: self.txs_in("POSTED"))
    @rule(data=st.data())
    def settle(self, data):
        self.step()
        tx = self.txs[data.draw(st.sampled_from(self.txs_in("POSTED")), label="tx")]
        assert self.app.settle(uuid.UUID(tx.id), "CB-1").status == "SETTLED"
        tx.status = "SETTLED"

    @precondition(lambda self: any(t.message for t in self.txs.values()))
    @rule(data=st.data())
    def repeat_a_message(self, data):
        """At-least-once delivery: an earlier message arrives again."""
        self.step()
        msg, expected = self.expect_repeat(self.draw_repeat(data))
        assert self.answer(self.submit(msg)) == expected

    @rule(data=st.data(), size=st.integers(2, 5))
    def batch(self, data, size):
        """Several payments in one ``submit_payments`` call, repeats among them; each is
        booked seeing the ones before it."""
        self.step()
        messages, expected = [], []
        for _ in range(size):
            kind = data.draw(st.sampled_from(["in", "out", "transfer", "repeat"]), label="kind")
            if kind == "repeat" and any(t.message for t in self.txs.values()):
                msg, answer = self.expect_repeat(self.draw_repeat(data))
            else:
                key = data.draw(st.sampled_from(self.customers), label="account")
                ccy = self.accounts[key].currency
                amount = data.draw(amounts(ccy, incoming=kind == "in"), label="amount")
                others = [
                    k for k in self.customers if k != key and self.accounts[k].currency == ccy
                ]
                if kind == "in":
                    parties = (self.external_iban(), key)
                elif kind == "transfer" and others:
                    parties = (key, data.draw(st.sampled_from(others), label="creditor"))
                else:
                    parties = (key, self.external_iban())
                msg, answer = self.expect(*parties, amount, ccy)
            messages.append(PaymentInstruction.from_message(msg))
            expected.append(answer)
        results = self.app.submit_payments(messages)
        assert [self.answer(r) for r in results] == expected

    @rule(data=st.data(), action=st.sampled_from(["freeze", "unfreeze", "unfreeze", "close"]))
    def change_status(self, data, action):
        self.step()
        # Mostly an account the action applies to; sometimes any (which may be refused).
        fitting = {
            "freeze": self.customers_where(OPEN),
            "unfreeze": self.customers_where(FROZEN),
            "close": self.customers_where(OPEN, FROZEN),
        }[action]
        any_account = not fitting or data.draw(st.integers(0, 3), label="any") == 0
        key = data.draw(st.sampled_from(self.customers if any_account else fitting), label="acc")
        account = self.accounts[key]
        allowed, target = {
            "freeze": (account.status == OPEN, FROZEN),
            "unfreeze": (account.status == FROZEN, OPEN),
            "close": (
                account.status != CLOSED and account.balance == 0 and not account.holds,
                CLOSED,
            ),
        }[action]
        change = getattr(self.app, f"{action}_account")
        if allowed:
            assert str(change(key, "property test").status) == target
            account.status = target
        else:
            with pytest.raises(Conflict):
                change(key, "property test")

    @rule(data=st.data())
    def empty_and_close(self, data):
        """Pay out an open account's whole balance, then close it (closing needs zero)."""
        self.step()
        candidates = [
            k
            for k in self.customers_where(OPEN)
            if self.accounts[k].balance > 0 and not self.accounts[k].holds
        ]
        if not candidates:
            return
        key = data.draw(st.sampled_from(candidates), label="acc")
        account = self.accounts[key]
        self.book(key, self.external_iban(), account.balance, account.currency)
        if account.balance == 0 and not account.holds:
            assert str(self.app.close_account(key, "emptied").status) == CLOSED
            account.status = CLOSED

    @rule()
    def switch_process(self):
        """The next commands arrive at the other instance (another process)."""
        self.step()
        self.app = self.processes[1] if self.app is self.processes[0] else self.processes[0]

    @rule(seconds=st.sampled_from([1, 59, 3600, 6 * 3600, 86_400, 2 * 86_400]))
    def advance_clock(self, seconds):
        self.step()
        self.clock.advance(seconds)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def ledger_is_consistent(self):
        totals: dict[str, Decimal] = {}
        for key, model in self.accounts.items():
            try:
                account = self.app.get_account(key)
            except NotFound:
                assert model.overdraft is None and model.balance == 0, key
                continue
            # an internal account's balance is its legs': payments never write its aggregate
            balance = ledger_balance(self.app, key) if account.is_internal else account.balance
            totals[account.currency] = totals.get(account.currency, ZERO) + balance
            assert account.available == account.balance - account.held
            if not account.is_internal:
                assert account.balance >= -account.overdraft_limit, account.state()
                assert account.available >= -account.overdraft_limit, account.state()
            assert balance == model.balance, (key, balance, model.balance)
            assert dict(account.holds) == model.holds, key
            assert str(account.status) == model.status, key
        for currency, total in totals.items():
            assert total == 0, f"{currency} balances sum to {total}"
        self.healthy = True

    def teardown(self):
        try:
            if self.healthy:
                self.check_replay()
        finally:
            for app in self.apps:
                app.close()
            self.drop_database()

    def check_replay(self):
        fresh = self.start_app()
        for key in self.accounts:
            try:
                original = self.app.get_account(key)
            except NotFound:
                continue
            replayed = fresh.get_account(key)
            assert replayed.state() == original.state(), key
            assert dict(replayed.holds) == dict(original.holds), key
            assert replayed.version == original.version, key
        for tx_id, model in self.txs.items():
            original = self.app.get_transaction(uuid.UUID(tx_id))
            replayed = fresh.get_transaction(uuid.UUID(tx_id))
            assert str(replayed.status) == str(original.status) == model.status, tx_id
            assert replayed.rejection_reason == original.rejection_reason == model.reason
            assert replayed.legs() == original.legs()
            assert replayed.reversed_by == original.reversed_by
            assert replayed.version == original.version


class SqliteLedgerMachine(LedgerMachine):
    def new_database(self) -> DatabaseConfig:
        self.tmp = tempfile.TemporaryDirectory(prefix="ledger-prop-")
        return DatabaseConfig(data_dir=Path(self.tmp.name))

    def drop_database(self) -> None:
        self.tmp.cleanup()


class PostgresLedgerMachine(LedgerMachine):
    def new_database(self) -> DatabaseConfig:
        self.tmp = tempfile.TemporaryDirectory(prefix="ledger-prop-")
        self.schema = f"p_{uuid.uuid4().hex[:12]}"
        config = DatabaseConfig(data_dir=Path(self.tmp.name), url=PG_URL, schema=self.schema)
        ensure_schema(config)
        return config

    def drop_database(self) -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.tmp.cleanup()


_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

TestLedgerPropertiesSqlite = SqliteLedgerMachine.TestCase
TestLedgerPropertiesSqlite.settings = settings(max_examples=50, stateful_step_count=30, **_COMMON)

# No shrinking on PostgreSQL: it could take minutes there; the SQLite run shrinks the same
# bugs, and a PostgreSQL failure is still printed step by step with every draw labelled.
TestLedgerPropertiesPostgres = pytest.mark.postgres(PostgresLedgerMachine.TestCase)
TestLedgerPropertiesPostgres.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    **_COMMON,
)
