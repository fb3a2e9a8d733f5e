"""What the fraud projection needs of other contexts' read models (typing.Protocol ports).

The fraud queue shows each case's payment (amount, currency, debtor, creditor): facts the
ledger's transactions projection holds. The fraud projection asks for them through
:class:`TransactionFacts` instead of reading the ledger's tables, so the contexts' read models
stay independent (the import-linter independence contract); the projector's registry
(:mod:`projections.runner.registry`) wires the ledger's
:func:`~projections.ledger.transactions.payment_facts` in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from sqlalchemy import Connection


class PaymentFacts(Protocol):
    """What a payment is about."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...

    @property
    def debtor_iban(self) -> str: ...

    @property
    def creditor_iban(self) -> str: ...


class TransactionFacts(Protocol):
    """The facts of a transaction as projected so far in the caller's read-model transaction
    (``conn``), or None when the transaction is unknown."""

    def __call__(self, conn: Connection, transaction_id: str, /) -> PaymentFacts | None: ...
