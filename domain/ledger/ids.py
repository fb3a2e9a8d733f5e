"""Deterministic aggregate ids.

An account's id derives from its key (IBAN or internal code) and a
transaction's from its idempotency key ``(channel, externalId)``: creating the
same aggregate twice then collides in the event store instead of booking twice.
"""

from __future__ import annotations

from uuid import UUID, uuid5

LEDGER_NAMESPACE = UUID("6f1c1a52-4d0b-4c55-9d35-0d7c2b7b1e01")


def account_id(key: str) -> UUID:
    """Id of the account whose key is an IBAN (compact form) or an internal code."""
    return uuid5(LEDGER_NAMESPACE, f"account:{key}")


def transaction_id(channel: str, external_id: str) -> UUID:
    """Id of the transaction with idempotency key ``(channel, external_id)``."""
    return uuid5(LEDGER_NAMESPACE, f"transaction:{channel}\x1f{external_id}")
