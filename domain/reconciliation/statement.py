"""A core-banking account statement (camt.053) as plain typed values.

The reader in ``adapters/statements`` builds these from XML; the reconciliation records them
in its events as plain data (:meth:`Statement.as_data`) and rebuilds them from it.
Amounts are ``Decimal`` at the currency's scale, never float; an entry's amount is positive
and its :class:`Direction` says which way the money went.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.errors import DomainError

NOT_PROVIDED = "NOTPROVIDED"
"""What ISO 20022 writes where a reference is not known; never used for matching."""


class StatementError(DomainError, ValueError):
    """A statement that cannot be read: not XML, not a camt.053, or missing what is needed.

    ``reason`` is the human-readable why (also the message).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StatementConflict(StatementError):
    """A statement imported before (same account and statement id) sent again with other
    content: refused, the first import stands."""


def masked_account(account: str) -> str:
    """``account`` with all but its first and last four characters hidden (IBAN style)."""
    if len(account) <= 8:
        return "*" * len(account)
    return f"{account[:4]}{'*' * (len(account) - 8)}{account[-4:]}"


def _amount_text(value: Decimal | None) -> str | None:
    return format(value.normalize(), "f") if value is not None else None


class Direction(StrEnum):
    """Which way an entry moved money on the statement's account."""

    CREDIT = "CRDT"
    DEBIT = "DBIT"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked entry (``Ntry`` with status BOOK)."""

    amount: Decimal
    """Positive, at the currency's scale."""
    currency: str
    direction: Direction
    booking_date: date
    value_date: date | None = None
    account_servicer_ref: str | None = None
    end_to_end_id: str | None = None
    references: tuple[tuple[str, str], ...] = ()
    """Every reference found on the entry and its transaction details, as (kind, value),
    e.g. ``("EndToEndId", "E2E-1")``; ``NOTPROVIDED`` values are left out."""
    remittance: str = ""
    reversal: bool = False

    @property
    def signed_amount(self) -> Decimal:
        """Negative for a debit."""
        return self.amount if self.direction is Direction.CREDIT else -self.amount

    def reference_values(self) -> frozenset[str]:
        return frozenset(value for _kind, value in self.references)

    def as_data(self) -> dict[str, Any]:
        return {
            "amount": format(self.amount, "f"),
            "currency": self.currency,
            "direction": self.direction.value,
            "booking_date": self.booking_date.isoformat(),
            "value_date": self.value_date.isoformat() if self.value_date else None,
            "account_servicer_ref": self.account_servicer_ref,
            "end_to_end_id": self.end_to_end_id,
            "references": [[kind, value] for kind, value in self.references],
            "remittance": self.remittance,
            "reversal": self.reversal,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> StatementEntry:
        value_date = data.get("value_date")
        return cls(
            amount=Decimal(data["amount"]),
            currency=str(data["currency"]),
            direction=Direction(data["direction"]),
            booking_date=date.fromisoformat(data["booking_date"]),
            value_date=date.fromisoformat(value_date) if value_date else None,
            account_servicer_ref=data.get("account_servicer_ref"),
            end_to_end_id=data.get("end_to_end_id"),
            references=tuple((str(k), str(v)) for k, v in data.get("references") or ()),
            remittance=str(data.get("remittance") or ""),
            reversal=bool(data.get("reversal")),
        )


@dataclass(frozen=True, slots=True)
class Statement:
    """One ``Stmt`` of a camt.053 document: an account's booked entries over a period."""

    statement_id: str
    created_at: datetime
    account: str
    """The account's IBAN (compact), or its other identification (``Othr/Id``)."""
    currency: str
    from_date: date
    to_date: date
    closing_balance: Decimal
    """Closing booked balance (CLBD), signed (negative when its CdtDbtInd is DBIT)."""
    opening_balance: Decimal | None = None
    """Opening booked balance (OPBD, or PRCD when the bank gives that instead), signed."""
    entries: tuple[StatementEntry, ...] = ()
    message_id: str = ""
    version: str = ""
    """The message version read, e.g. ``camt.053.001.02``."""
    account_is_iban: bool = True
    skipped_entries: int = 0
    """Entries not booked (PDNG, INFO ...) that the reader left out."""

    def digest(self) -> str:
        """sha256 of the statement's facts: account, id, currency, period, balances and each
        entry's amount, direction, dates and references. Not the message id, creation time
        or version: the same statement re-sent in another camt.053 version has the same
        digest."""
        facts = {
            "account": self.account,
            "statement_id": self.statement_id,
            "currency": self.currency,
            "from_date": self.from_date.isoformat(),
            "to_date": self.to_date.isoformat(),
            "opening_balance": _amount_text(self.opening_balance),
            "closing_balance": _amount_text(self.closing_balance),
            "entries": [
                {
                    "amount": _amount_text(entry.amount),
                    "currency": entry.currency,
                    "direction": entry.direction.value,
                    "booking_date": entry.booking_date.isoformat(),
                    "value_date": entry.value_date.isoformat() if entry.value_date else None,
                    "reversal": entry.reversal,
                    "account_servicer_ref": entry.account_servicer_ref,
                    "end_to_end_id": entry.end_to_end_id,
                    "references": sorted([kind, value] for kind, value in entry.references),
                }
                for entry in self.entries
            ],
        }
        canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def summary_data(self) -> dict[str, Any]:
        """Everything but the entries, as plain data."""
        return {
            "statement_id": self.statement_id,
            "created_at": self.created_at.isoformat(),
            "account": self.account,
            "currency": self.currency,
            "from_date": self.from_date.isoformat(),
            "to_date": self.to_date.isoformat(),
            "closing_balance": format(self.closing_balance, "f"),
            "opening_balance": (
                format(self.opening_balance, "f") if self.opening_balance is not None else None
            ),
            "message_id": self.message_id,
            "version": self.version,
            "account_is_iban": self.account_is_iban,
            "skipped_entries": self.skipped_entries,
        }

    @classmethod
    def from_data(cls, summary: dict[str, Any], entries: list[dict[str, Any]]) -> Statement:
        opening = summary.get("opening_balance")
        return cls(
            statement_id=str(summary["statement_id"]),
            created_at=datetime.fromisoformat(summary["created_at"]),
            account=str(summary["account"]),
            currency=str(summary["currency"]),
            from_date=date.fromisoformat(summary["from_date"]),
            to_date=date.fromisoformat(summary["to_date"]),
            closing_balance=Decimal(summary["closing_balance"]),
            opening_balance=Decimal(opening) if opening is not None else None,
            entries=tuple(StatementEntry.from_data(e) for e in entries),
            message_id=str(summary.get("message_id") or ""),
            version=str(summary.get("version") or ""),
            account_is_iban=bool(summary.get("account_is_iban", True)),
            skipped_entries=int(summary.get("skipped_entries") or 0),
        )
