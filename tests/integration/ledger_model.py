"""A plain model of the ledger's booking rules, for the state-machine test (no tests here).

It predicts, from what the test did so far, the outcome of every operation (posted, held,
rejected with which reason, or refused with ``Conflict``) and every balance, hold and
status, so the test can assert the application's answers instead of accepting whatever
comes back. The rules, written out independently of ``domain/ledger``:

* routing: same account -> ``SAME_ACCOUNT``; an account in another currency ->
  ``CURRENCY_MISMATCH``; an external side books against ``clearing:<CCY>`` (opened by the
  first payment in that currency, whatever its outcome; never limited, never frozen);
* a payment whose debtor is ours and whose amount is above the review limit is held:
  the funds are reserved on the debtor (checked like a debit);
* debit: closed -> ``ACCOUNT_CLOSED``, frozen -> ``ACCOUNT_FROZEN``, available minus the
  amount below minus the overdraft -> ``INSUFFICIENT_FUNDS``; credit: closed only;
* release of a held payment re-checks the debit with its own hold counted as available;
  a refusal rejects it and gives the hold back;
* a reversal (once, of a POSTED payment) debits the original creditor and credits the
  original debtor under the same checks; any refusal is a ``Conflict``;
* freeze: OPEN only; unfreeze: FROZEN only; close: not closed, zero balance, no holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class ModelAccount:
    currency: str
    overdraft: Decimal | None
    """None for the clearing account (no limit)."""
    status: str = "OPEN"
    balance: Decimal = Decimal(0)
    holds: dict[str, Decimal] = field(default_factory=dict)

    @property
    def held(self) -> Decimal:
        return sum(self.holds.values(), Decimal(0))

    def debit_refusal(self, amount: Decimal, releasing: str | None = None) -> str | None:
        if self.status == "CLOSED":
            return "ACCOUNT_CLOSED"
        if self.status == "FROZEN":
            return "ACCOUNT_FROZEN"
        if self.overdraft is None:
            return None
        available = self.balance - self.held + self.holds.get(releasing or "", Decimal(0))
        return "INSUFFICIENT_FUNDS" if available - amount < -self.overdraft else None

    def credit_refusal(self) -> str | None:
        return "ACCOUNT_CLOSED" if self.status == "CLOSED" else None


@dataclass
class ModelTx:
    amount: Decimal
    debit: str
    credit: str
    status: str


@dataclass
class LedgerModel:
    review_above: dict[str, Decimal]
    accounts: dict[str, ModelAccount] = field(default_factory=dict)
    txs: dict[str, ModelTx] = field(default_factory=dict)

    def open(self, key: str, currency: str, overdraft: Decimal) -> None:
        self.accounts[key] = ModelAccount(currency, overdraft)

    def pay(
        self, tx_id: str, debtor: str, creditor: str, amount: Decimal, currency: str
    ) -> tuple[str, str | None]:
        """Book a payment (keys not in the model are external); the expected (status, reason)."""
        clearing = f"clearing:{currency}"
        self.accounts.setdefault(clearing, ModelAccount(currency, None))
        ours = {key for key in (debtor, creditor) if key in self.accounts}
        debit = debtor if debtor in ours else clearing
        credit = creditor if creditor in ours else clearing
        if debtor == creditor:
            return self._tx(tx_id, amount, debit, credit, "REJECTED", "SAME_ACCOUNT")
        if any(self.accounts[key].currency != currency for key in ours):
            return self._tx(tx_id, amount, debit, credit, "REJECTED", "CURRENCY_MISMATCH")
        held = debtor in ours and amount > self.review_above[currency]
        refusal = (
            self.accounts[debit].debit_refusal(amount) or self.accounts[credit].credit_refusal()
        )
        if refusal:
            return self._tx(tx_id, amount, debit, credit, "REJECTED", refusal)
        if held:
            self.accounts[debit].holds[tx_id] = amount
            return self._tx(tx_id, amount, debit, credit, "HELD", None)
        self._move(debit, credit, amount)
        return self._tx(tx_id, amount, debit, credit, "POSTED", None)

    def release(self, tx_id: str) -> tuple[str, str | None] | None:
        """Release a held payment; None when it is not HELD (the application: Conflict)."""
        tx = self.txs[tx_id]
        if tx.status != "HELD":
            return None
        debit = self.accounts[tx.debit]
        refusal = (
            debit.debit_refusal(tx.amount, releasing=tx_id)
            or self.accounts[tx.credit].credit_refusal()
        )
        del debit.holds[tx_id]
        if refusal:
            tx.status = "REJECTED"
            return ("REJECTED", refusal)
        self._move(tx.debit, tx.credit, tx.amount)
        tx.status = "POSTED"
        return ("POSTED", None)

    def reject(self, tx_id: str) -> bool:
        """Reject a held payment (False when it is not HELD: Conflict)."""
        tx = self.txs[tx_id]
        if tx.status != "HELD":
            return False
        del self.accounts[tx.debit].holds[tx_id]
        tx.status = "REJECTED"
        return True

    def reversible(self, tx_id: str) -> bool:
        tx = self.txs[tx_id]
        return (
            tx.status == "POSTED"
            and self.accounts[tx.credit].debit_refusal(tx.amount) is None
            and self.accounts[tx.debit].credit_refusal() is None
        )

    def reverse(self, tx_id: str) -> bool:
        """Reverse a posted payment (False: refused with Conflict, nothing booked)."""
        if not self.reversible(tx_id):
            return False
        tx = self.txs[tx_id]
        self._move(tx.credit, tx.debit, tx.amount)
        tx.status = "REVERSED"
        return True

    # -- what may succeed next (for the rules that aim at a success) -------------------

    def held(self) -> list[str]:
        return [tx_id for tx_id, tx in self.txs.items() if tx.status == "HELD"]

    def reversible_txs(self) -> list[str]:
        return [tx_id for tx_id in self.txs if self.reversible(tx_id)]

    def can_pay(self, key: str, amount: Decimal) -> bool:
        return self.accounts[key].debit_refusal(amount) is None

    def in_status(self, status: str) -> list[str]:
        """Customer accounts in ``status``."""
        return [
            key
            for key, a in self.accounts.items()
            if a.overdraft is not None and a.status == status
        ]

    def closable(self) -> list[str]:
        return [
            key
            for key, a in self.accounts.items()
            if a.overdraft is not None and a.status != "CLOSED" and a.balance == 0 and not a.holds
        ]

    def change_status(self, key: str, action: str) -> bool:
        """freeze / unfreeze / close; False when refused (Conflict)."""
        account = self.accounts[key]
        if action == "freeze" and account.status == "OPEN":
            account.status = "FROZEN"
        elif action == "unfreeze" and account.status == "FROZEN":
            account.status = "OPEN"
        elif (
            action == "close"
            and account.status != "CLOSED"
            and account.balance == 0
            and not account.holds
        ):
            account.status = "CLOSED"
        else:
            return False
        return True

    def _move(self, debit: str, credit: str, amount: Decimal) -> None:
        self.accounts[debit].balance -= amount
        self.accounts[credit].balance += amount

    def _tx(
        self, tx_id: str, amount: Decimal, debit: str, credit: str, status: str, reason: str | None
    ) -> tuple[str, str | None]:
        self.txs[tx_id] = ModelTx(amount, debit, credit, status)
        return (status, reason)
