"""Matching a statement against the ledger's side of the same account and period.

Pure and deterministic: the same statement over the same ledger facts gives the same
matches and breaks, in the same order. Rules, in order:

1. **Reference**: an entry whose references (EndToEndId, AcctSvcrRef, InstrId, ...) meet a
   ledger posting's references (the transaction's end-to-end id, external id or id) in the
   same direction. Two passes: first every such pair with equal amounts matches (across all
   entries); then, among the entries and postings left, a pair with different amounts is an
   ``AMOUNT_MISMATCH`` break (the posting is accounted for by that break). So a fee entry
   quoting its payment's reference never takes the payment's posting. Among several
   candidates the earliest posting (booking date, transaction id) is taken; entries are
   taken in a canonical order of their facts, so the order of the statement's entries never
   changes the result (only the entry numbers).
2. **Amount and date**: an entry left over matches a left-over posting of the same signed
   amount and booking date only when that key is unique on both sides.
3. What is left: entries are ``MISSING_IN_LEDGER``, postings ``MISSING_IN_CORE``.

Then the statement's closing booked balance is compared with the ledger's balance of the
account at the end of the period (``CLOSING_BALANCE_MISMATCH``). An account the ledger does
not hold gives one ``UNKNOWN_ACCOUNT`` break and nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.reconciliation.statement import Direction, Statement, StatementEntry


class BreakKind(StrEnum):
    MISSING_IN_LEDGER = "MISSING_IN_LEDGER"
    """A statement entry with no ledger posting."""
    MISSING_IN_CORE = "MISSING_IN_CORE"
    """A ledger posting in the period with no statement entry."""
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    """Same reference and direction, different amount."""
    CLOSING_BALANCE_MISMATCH = "CLOSING_BALANCE_MISMATCH"
    """The statement's closing booked balance differs from the ledger's at period end."""
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    """The ledger holds no account of that IBAN (or holds it in another currency)."""


class MatchRule(StrEnum):
    REFERENCE = "REFERENCE"
    AMOUNT_AND_DATE = "AMOUNT_AND_DATE"


@dataclass(frozen=True, slots=True)
class LedgerPosting:
    """One posting on the account, as the ledger's read models record it."""

    transaction_id: str
    amount: Decimal
    """Signed: negative is a debit."""
    booking_date: date
    references: frozenset[str] = frozenset()

    @property
    def direction(self) -> Direction:
        return Direction.CREDIT if self.amount > 0 else Direction.DEBIT


@dataclass(frozen=True, slots=True)
class LedgerSide:
    """What the ledger knows of the statement's account for the statement's period."""

    account: str
    currency: str
    closing_balance: Decimal
    """The account's booked balance after the last posting booked on or before the period's
    last day (zero when there is none)."""
    postings: tuple[LedgerPosting, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    entry_index: int
    """Position of the entry in the statement (0-based)."""
    transaction_id: str
    rule: MatchRule

    def as_data(self) -> dict[str, Any]:
        return {
            "entry_index": self.entry_index,
            "transaction_id": self.transaction_id,
            "rule": self.rule.value,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Match:
        return cls(int(data["entry_index"]), str(data["transaction_id"]), MatchRule(data["rule"]))


@dataclass(frozen=True, slots=True)
class Finding:
    """A break as the matching finds it (numbered by the aggregate when recorded)."""

    kind: BreakKind
    detail: str
    entry_index: int | None = None
    transaction_id: str | None = None
    statement_amount: Decimal | None = None
    """Signed, as the statement has it (entry amount, or closing balance)."""
    ledger_amount: Decimal | None = None
    """Signed, as the ledger has it (posting amount, or balance at period end)."""
    booking_date: date | None = None
    reference: str | None = None

    def as_data(self) -> dict[str, Any]:
        def amount(value: Decimal | None) -> str | None:
            return format(value, "f") if value is not None else None

        return {
            "kind": self.kind.value,
            "detail": self.detail,
            "entry_index": self.entry_index,
            "transaction_id": self.transaction_id,
            "statement_amount": amount(self.statement_amount),
            "ledger_amount": amount(self.ledger_amount),
            "booking_date": self.booking_date.isoformat() if self.booking_date else None,
            "reference": self.reference,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Finding:
        def amount(value: Any) -> Decimal | None:
            return Decimal(value) if value is not None else None

        booked = data.get("booking_date")
        index = data.get("entry_index")
        return cls(
            kind=BreakKind(data["kind"]),
            detail=str(data["detail"]),
            entry_index=int(index) if index is not None else None,
            transaction_id=data.get("transaction_id"),
            statement_amount=amount(data.get("statement_amount")),
            ledger_amount=amount(data.get("ledger_amount")),
            booking_date=date.fromisoformat(booked) if booked else None,
            reference=data.get("reference"),
        )


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...] = ()
    findings: tuple[Finding, ...] = ()
    ledger_closing_balance: Decimal | None = None
    account_known: bool = True


def _entry_reference(entry: StatementEntry) -> str | None:
    return (
        entry.end_to_end_id
        or entry.account_servicer_ref
        or next((value for _kind, value in entry.references), None)
    )


def _entry_key(entry: StatementEntry) -> tuple[Any, ...]:
    """Every fact of an entry the matching may look at: entries with equal keys are
    interchangeable, so processing in key order makes the result independent of the
    statement's order."""
    return (
        entry.booking_date,
        entry.signed_amount,
        entry.value_date or entry.booking_date,
        entry.value_date is None,
        tuple(sorted(entry.references)),
        entry.end_to_end_id or "",
        entry.account_servicer_ref or "",
        entry.reversal,
        entry.remittance,
    )


def match_statement(statement: Statement, ledger: LedgerSide | None) -> MatchResult:
    """Match ``statement`` against ``ledger`` (None: the ledger has no such account)."""
    if ledger is None or ledger.currency != statement.currency:
        detail = (
            f"the ledger holds no account {statement.account}"
            if ledger is None
            else f"the ledger's account {statement.account} is in {ledger.currency}, "
            f"the statement in {statement.currency}"
        )
        finding = Finding(
            BreakKind.UNKNOWN_ACCOUNT, detail, statement_amount=statement.closing_balance
        )
        return MatchResult(findings=(finding,), account_known=False)

    postings = sorted(ledger.postings, key=lambda p: (p.booking_date, p.transaction_id))
    taken: set[int] = set()  # indexes into postings
    done: set[int] = set()  # entry indexes accounted for
    matches: list[Match] = []
    findings: list[Finding] = []

    # 1. references, in two passes over the entries in a canonical order (so their order on
    # the statement never changes the result): equal amounts first, across all entries;
    # then, among what is left, the same reference with another amount
    order = sorted(range(len(statement.entries)), key=lambda i: _entry_key(statement.entries[i]))
    mismatches: list[Finding] = []
    for equal_amounts in (True, False):
        for index in order:
            if index in done:
                continue
            entry = statement.entries[index]
            refs = entry.reference_values()
            if not refs:
                continue
            candidates = [
                i
                for i, posting in enumerate(postings)
                if i not in taken
                and posting.direction is entry.direction
                and refs & posting.references
                and (posting.amount == entry.signed_amount) is equal_amounts
            ]
            if not candidates:
                continue
            chosen = candidates[0]
            posting = postings[chosen]
            taken.add(chosen)
            done.add(index)
            if equal_amounts:
                matches.append(Match(index, posting.transaction_id, MatchRule.REFERENCE))
                continue
            mismatches.append(
                Finding(
                    BreakKind.AMOUNT_MISMATCH,
                    f"entry {index + 1}: statement {entry.signed_amount} {entry.currency}, "
                    f"ledger {posting.amount} for the same reference",
                    entry_index=index,
                    transaction_id=posting.transaction_id,
                    statement_amount=entry.signed_amount,
                    ledger_amount=posting.amount,
                    booking_date=entry.booking_date,
                    reference=_entry_reference(entry),
                )
            )
    findings.extend(sorted(mismatches, key=lambda f: f.entry_index or 0))

    # 2. amount + direction + booking date, when unique on both sides
    entries_by_key: dict[tuple[Decimal, date], list[int]] = defaultdict(list)
    for index, entry in enumerate(statement.entries):
        if index not in done:
            entries_by_key[(entry.signed_amount, entry.booking_date)].append(index)
    postings_by_key: dict[tuple[Decimal, date], list[int]] = defaultdict(list)
    for i, posting in enumerate(postings):
        if i not in taken:
            postings_by_key[(posting.amount, posting.booking_date)].append(i)
    for key, indexes in entries_by_key.items():
        found = postings_by_key.get(key, [])
        if len(indexes) == 1 and len(found) == 1:
            matches.append(
                Match(indexes[0], postings[found[0]].transaction_id, MatchRule.AMOUNT_AND_DATE)
            )
            done.add(indexes[0])
            taken.add(found[0])

    # 3. what is left
    for index, entry in enumerate(statement.entries):
        if index in done:
            continue
        findings.append(
            Finding(
                BreakKind.MISSING_IN_LEDGER,
                f"entry {index + 1}: {entry.signed_amount} {entry.currency} booked "
                f"{entry.booking_date} has no ledger posting",
                entry_index=index,
                statement_amount=entry.signed_amount,
                booking_date=entry.booking_date,
                reference=_entry_reference(entry),
            )
        )
    for i, posting in enumerate(postings):
        if i in taken:
            continue
        findings.append(
            Finding(
                BreakKind.MISSING_IN_CORE,
                f"ledger posting of transaction {posting.transaction_id}: {posting.amount} "
                f"{ledger.currency} booked {posting.booking_date} is not on the statement",
                transaction_id=posting.transaction_id,
                ledger_amount=posting.amount,
                booking_date=posting.booking_date,
            )
        )
    if ledger.closing_balance != statement.closing_balance:
        findings.append(
            Finding(
                BreakKind.CLOSING_BALANCE_MISMATCH,
                f"closing booked balance {statement.closing_balance} {statement.currency} on "
                f"{statement.to_date}; the ledger has {ledger.closing_balance}",
                statement_amount=statement.closing_balance,
                ledger_amount=ledger.closing_balance,
                booking_date=statement.to_date,
            )
        )
    matches.sort(key=lambda m: m.entry_index)
    return MatchResult(
        matches=tuple(matches),
        findings=tuple(findings),
        ledger_closing_balance=ledger.closing_balance,
    )
