"""The ledger bounded context: accounts, transactions, postings and holds."""

from domain.ledger.accounts import Account, AccountStatus, AccountType, internal_code
from domain.ledger.transactions import (
    Leg,
    ScreeningOutcome,
    Transaction,
    TransactionStatus,
)

__all__ = [
    "Account",
    "AccountStatus",
    "AccountType",
    "Leg",
    "ScreeningOutcome",
    "Transaction",
    "TransactionStatus",
    "internal_code",
]
